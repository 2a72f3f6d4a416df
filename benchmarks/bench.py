"""Benchmark symdiff-generated value-and-gradient code against hand-written NumPy.

Run from the repository root::

    python benchmarks/bench.py [--quick] [--write] [--dump DIR]

For every workload the script

1. checks the hand-written value against the loss, the hand-written gradient
   against central finite differences of the loss along a random direction,
   and symdiff's value and gradient against the hand-written ones;
2. measures the cold compile time of ``symdiff.value_and_grad`` (construction
   plus first call, with ``SYMDIFF_CACHE_DIR`` pointing at a fresh empty
   directory and SymPy's in-process cache cleared);
3. times side by side, in batches that alternate between them, symdiff, the
   hand-written code, the plain NumPy loss (forward only) and, when they are
   importable, ``jax.jit(jax.value_and_grad)``, PyTorch eager
   (forward + ``torch.autograd.grad``) and HIPS ``autograd`` on the same loss
   function with ``np`` bound to their NumPy-like namespace; the reported
   figure is the median per-call time over batches, so machine noise affects
   all of them alike.

The result is printed as a Markdown table, preceded by a machine line and the
exact command, and followed by the targets of the performance issue.

A second section times higher derivatives the same way (after checking them):
``symdiff.hessian`` against ``scipy.optimize.rosen_hess`` (a hand-written banded
NumPy Hessian when SciPy is missing) and a hand-written logistic-regression
Hessian, and ``symdiff.hvp`` against one ``symdiff.grad`` call, each row with
its target ratio and PASS/MISS.
Everything runs single-threaded and in float64.  ``--write`` also saves the
report to ``benchmarks/RESULTS.md``; ``--dump DIR`` writes each row's generated
module there, to read next to the timings.
"""

from __future__ import annotations

import os

# Pin BLAS/OpenMP/XLA to one thread; this must happen before NumPy (or JAX) is imported.
os.environ.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"), "1"))
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1").strip()

import argparse
import datetime
import functools
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
try:
    import scipy.linalg as sla  # the GP row's loss calls scipy.linalg as sla
except ImportError:  # pragma: no cover  (SciPy is a test extra: the GP row then reports the error)
    sla = None

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # benchmark the checked-out package
RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

Array = np.ndarray
Grads = tuple[Any, ...]
LossFn = Callable[..., Any]
HandFn = Callable[..., tuple[Any, Grads]]

FD_EPS = 1e-6        # central finite-difference step
FD_RTOL = 1e-6       # tolerance: hand gradient vs finite differences
MATCH_RTOL = 1e-9    # tolerance: symdiff gradient vs hand gradient
OTHER_RTOL = 1e-7    # tolerance: jax / torch / autograd vs hand (they may sum in another order)
CHAIN_OPS = (50, 100, 200, 400)   # compile-time rows: elementwise ops in the sin chain
TARGET_MEDIAN, TARGET_MAX, TARGET_CHEAP = 1.0, 1.15, 2.5
FRAMEWORK_TITLES = {"jax": "jax.jit", "torch": "torch eager", "autograd": "autograd"}


class Workload(NamedTuple):
    """One benchmark row.

    ``loss_fn`` is the preferred user-level loss; ``fallback`` (if given) is an
    equivalent formulation tried when symdiff rejects ``loss_fn``.
    ``timed=False`` marks compile-time-only rows (``ops``: their number of
    elementwise operations); ``big=True`` rows get fewer timing batches.
    """

    name: str
    loss_fn: LossFn
    hand_fn: HandFn
    args: tuple[Any, ...]
    wrt: tuple[str, ...]
    fallback: tuple[str, LossFn] | None = None
    timed: bool = True
    big: bool = False
    ops: int | None = None


class Row(NamedTuple):
    """One line of the results table; ``us`` maps a column key to µs/call (None prints as a dash)."""

    name: str
    us: dict[str, float | None]
    compile_s: float | None
    status: str           # "ok", or "FAIL"/"ERROR" with a footnote marker
    timed: bool
    ops: int | None       # elementwise ops of a compile-only chain row


class Notes:
    """Numbered footnotes printed under the table."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> str:
        """Record a footnote and return its marker, e.g. ``[2]``."""
        self.items.append(" ".join(text.split())[:600])
        return f"[{len(self.items)}]"


# --------------------------------------------------------------------------
# Workloads: the loss as a user writes it, a careful hand-written value and
# gradient, and the data.  Losses call NumPy only through the name ``np`` so
# that the other frameworks can run them with ``np`` rebound.
# --------------------------------------------------------------------------

def bce_loss(x, y, w, b):
    z = x @ w + b
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def _bce_value_and_dz(z: Array, y: Array) -> tuple[float, Array]:
    """Mean stable BCE-with-logits of z and its gradient with respect to z."""
    n = z.size
    loss = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum() / n
    dz = 0.5 * np.tanh(0.5 * z) + 0.5      # sigmoid(z), overflow-free
    dz -= y
    dz *= 1.0 / n
    return loss, dz


def seed_hand(x: Array, y: Array, w: Array, b: Array) -> tuple[float, Grads]:
    loss, dz = _bce_value_and_dz(x @ w + b, y)
    return loss, (np.outer(x, dz), dz)


def logreg_hand(X: Array, y: Array, w: Array, b: float) -> tuple[float, Grads]:
    loss, dz = _bce_value_and_dz(X @ w + b, y)
    return loss, (X.T @ dz, dz.sum())


def seed_workload(rng: np.random.Generator, d: int, k: int) -> Workload:
    args = (rng.standard_normal(d), np.zeros(k),
            rng.standard_normal((d, k)) / np.sqrt(d), rng.standard_normal(k))
    return Workload(f"seed x({d}) w({d},{k})", bce_loss, seed_hand, args, ("w", "b"))


def logreg_workload(rng: np.random.Generator, n: int, d: int = 100) -> Workload:
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    args = (X, y, rng.standard_normal(d) / np.sqrt(d), float(rng.standard_normal()))
    return Workload(f"logreg N={n} d={d}", bce_loss, logreg_hand, args, ("w", "b"),
                    big=n * d > 1e6)


def _mean_softmax_ce(logits, Y):
    """Mean softmax cross-entropy of logits against one-hot rows Y (shifted logsumexp)."""
    m = np.max(logits, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True)) + m
    return np.mean(lse - np.sum(Y * logits, axis=1, keepdims=True))


def _mean_softmax_ce_noshift(logits, Y):
    """As _mean_softmax_ce without the max shift (for a symdiff that rejects np.max)."""
    lse = np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return np.mean(lse - np.sum(Y * logits, axis=1, keepdims=True))


def _softmax_ce_value_and_dlogits(logits: Array, Y: Array) -> tuple[float, Array]:
    """Mean softmax cross-entropy and its gradient with respect to the logits."""
    n = logits.shape[0]
    m = logits.max(axis=1, keepdims=True)
    p = np.exp(logits - m)
    s = p.sum(axis=1, keepdims=True)
    loss = (np.sum(np.log(s) + m) - np.vdot(Y, logits)) / n
    p /= s                      # softmax
    p -= Y
    p *= 1.0 / n
    return loss, p


def softmax_loss(X, Y, W, b):
    return _mean_softmax_ce(X @ W + b, Y)


def softmax_loss_noshift(X, Y, W, b):
    return _mean_softmax_ce_noshift(X @ W + b, Y)


def softmax_hand(X: Array, Y: Array, W: Array, b: Array) -> tuple[float, Grads]:
    loss, dlogits = _softmax_ce_value_and_dlogits(X @ W + b, Y)
    return loss, (X.T @ dlogits, dlogits.sum(axis=0))


def softmax_workload(rng: np.random.Generator, n: int = 1000, d: int = 100,
                     classes: int = 10) -> Workload:
    args = (rng.standard_normal((n, d)), np.eye(classes)[rng.integers(0, classes, n)],
            rng.standard_normal((d, classes)) / np.sqrt(d), 0.1 * rng.standard_normal(classes))
    return Workload(f"softmax regression N={n} d={d} k={classes}", softmax_loss, softmax_hand,
                    args, ("W", "b"), fallback=("logsumexp without max-shift", softmax_loss_noshift))


def mlp_loss(X, Y, W1, b1, W2, b2):
    return _mean_softmax_ce(np.tanh(X @ W1 + b1) @ W2 + b2, Y)


def mlp_loss_noshift(X, Y, W1, b1, W2, b2):
    return _mean_softmax_ce_noshift(np.tanh(X @ W1 + b1) @ W2 + b2, Y)


def mlp_hand(X: Array, Y: Array, W1: Array, b1: Array, W2: Array,
             b2: Array) -> tuple[float, Grads]:
    h = np.tanh(X @ W1 + b1)
    loss, dlogits = _softmax_ce_value_and_dlogits(h @ W2 + b2, Y)
    da = dlogits @ W2.T
    da *= 1.0 - h * h           # through tanh
    return loss, (X.T @ da, da.sum(axis=0), h.T @ dlogits, dlogits.sum(axis=0))


def mlp_workload(rng: np.random.Generator, n: int, d: int = 784, hidden: int = 128,
                 classes: int = 10) -> Workload:
    Y = np.eye(classes)[rng.integers(0, classes, n)]
    args = (rng.standard_normal((n, d)), Y,
            rng.standard_normal((d, hidden)) / np.sqrt(d), 0.1 * rng.standard_normal(hidden),
            rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
            0.1 * rng.standard_normal(classes))
    return Workload(f"MLP {d}-{hidden}-{classes} tanh N={n}", mlp_loss, mlp_hand, args,
                    ("W1", "b1", "W2", "b2"),
                    fallback=("logsumexp without max-shift", mlp_loss_noshift), big=n > 256)


def rosenbrock_loss(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hand(x: Array) -> tuple[float, Grads]:
    a, b = x[:-1], x[1:]
    t = b - a * a
    u = 1.0 - a
    loss = 100.0 * np.dot(t, t) + np.dot(u, u)
    g = np.empty_like(x)
    g[:-1] = -400.0 * t * a - 2.0 * u
    g[-1] = 0.0
    g[1:] += 200.0 * t
    return loss, (g,)


def rosenbrock_workload(rng: np.random.Generator, n: int) -> Workload:
    x = 1.0 + 0.5 * rng.standard_normal(n)
    return Workload(f"Rosenbrock n={n}", rosenbrock_loss, rosenbrock_hand, (x,), ("x",),
                    big=n > 1e5)


def lj_loss(X):
    n = X.shape[0]
    d = X[:, None, :] - X[None, :, :]
    r2 = np.sum(d ** 2, axis=-1) + np.eye(n)       # eye: no 0**-6 on the diagonal
    return np.sum(4 * (r2 ** -6 - r2 ** -3) * (1 - np.eye(n))) / 2


def lj_loss_reciprocal(X):
    n = X.shape[0]
    d = X[:, None, :] - X[None, :, :]
    inv3 = (1 / (np.sum(d * d, axis=-1) + np.eye(n))) ** 3
    return np.sum(4 * (inv3 * inv3 - inv3) * (1 - np.eye(n))) / 2


def lj_hand(X: Array) -> tuple[float, Grads]:
    n = X.shape[0]
    d = X[:, None, :] - X[None, :, :]
    r2 = np.einsum("ijk,ijk->ij", d, d)
    r2.flat[::n + 1] = 1.0                 # diagonal: masked below
    s = 1.0 / r2
    s3 = s * s * s
    s3.flat[::n + 1] = 0.0                 # mask i == j (s6 = s3**2 is then 0 there too)
    loss = 2.0 * np.sum(s3 * (s3 - 1.0))
    # dE/dr2_ij = 6 s3 (1 - 2 s3) / r2 (symmetric); dE/dX_i = 2 sum_j 2 dE/dr2_ij (X_i - X_j)
    g = s3 * (1.0 - 2.0 * s3)
    g *= s
    g *= 24.0
    return loss, (g.sum(axis=1)[:, None] * X - g @ X,)


def lj_workload(rng: np.random.Generator, n: int, spacing: float = 1.1) -> Workload:
    side = round(n ** (1 / 3))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    X = spacing * grid + 0.05 * rng.standard_normal((n, 3))   # jittered lattice: no overlaps
    return Workload(f"Lennard-Jones N={n} 3-D", lj_loss, lj_hand, (X,), ("X",),
                    fallback=("1/r2 cubed instead of r2**-6", lj_loss_reciprocal))


def make_chain_loss(steps: int) -> LossFn:
    def chain_loss(x):
        y = x
        for _ in range(steps):
            y = np.sin(y) * 0.5 + x
        return np.sum(y)
    return chain_loss


def make_chain_hand(steps: int) -> HandFn:
    def chain_hand(x: Array) -> tuple[float, Grads]:
        y, cosines = x, []
        for _ in range(steps):
            cosines.append(np.cos(y))
            y = np.sin(y) * 0.5 + x
        gy, gx = np.ones_like(x), np.zeros_like(x)
        for c in reversed(cosines):
            gx += gy
            gy = gy * (0.5 * c)
        return np.sum(y), (gx + gy,)
    return chain_hand


def chain_workload(rng: np.random.Generator, ops: int) -> Workload:
    steps = round(ops / 3)   # sin, *, + per step
    return Workload(f"sin chain {ops} ops ({steps} steps), compile only", make_chain_loss(steps),
                    make_chain_hand(steps), (rng.standard_normal(16),), ("x",), timed=False, ops=ops)


def gp_nlml_loss(theta, X, y):
    """Negative log marginal likelihood of a GP with an RBF kernel; theta = log(lengthscale, signal
    variance, noise variance). Written as people write it: a Cholesky factor and cho_solve."""
    ell, sf2, sn2 = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = sf2 * np.exp(-0.5 * d2 / ell ** 2) + sn2 * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    alpha = sla.cho_solve((L, True), y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * X.shape[0] * np.log(2 * np.pi)


def gp_nlml_hand(theta: Array, X: Array, y: Array) -> tuple[float, Grads]:
    """The textbook gradient: dNLML/dtheta_j = 0.5 tr((K^-1 - alpha alpha^T) dK/dtheta_j)."""
    import scipy.linalg
    ell, sf2, sn2 = np.exp(theta)
    n = X.shape[0]
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    kf = sf2 * np.exp(-0.5 * d2 / ell ** 2)
    K = kf + sn2 * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = scipy.linalg.cho_solve((L, True), y)
    value = 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2 * np.pi)
    W = scipy.linalg.cho_solve((L, True), np.eye(n)) - np.outer(alpha, alpha)
    g = np.array([0.5 * np.sum(W * (kf * d2 / ell ** 2)), 0.5 * np.sum(W * kf), 0.5 * sn2 * np.trace(W)])
    return float(value), (g,)


def gp_workload(rng: np.random.Generator, n: int = 500) -> Workload:
    X = rng.uniform(-3.0, 3.0, size=(n, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.1 * rng.standard_normal(n)
    return Workload(f"GP NLML n={n}", gp_nlml_loss, gp_nlml_hand, (np.array([0.0, 0.0, -2.0]), X, y), ("theta",))


def workloads(rng: np.random.Generator) -> list[Workload]:
    return [seed_workload(rng, 5, 3), seed_workload(rng, 784, 10),
            logreg_workload(rng, 1000), logreg_workload(rng, 100_000),
            mlp_workload(rng, 32), mlp_workload(rng, 1024),
            rosenbrock_workload(rng, 10), rosenbrock_workload(rng, 1_000_000),
            lj_workload(rng, 64), lj_workload(rng, 512),
            softmax_workload(rng), gp_workload(rng),
            *(chain_workload(rng, ops) for ops in CHAIN_OPS)]


# --------------------------------------------------------------------------
# Other frameworks (optional columns): the same loss with ``np`` rebound
# --------------------------------------------------------------------------

def rebind_numpy(fn: LossFn, namespace: Any, linalg: Any = None) -> LossFn:
    """``fn`` with the global ``np`` (also in the module functions it calls) bound to ``namespace``, and
    ``sla`` (scipy.linalg) to ``linalg`` when given."""
    scope = dict(fn.__globals__, np=namespace, **({"sla": linalg} if linalg is not None else {}))
    for name in fn.__code__.co_names:
        helper = scope.get(name)
        if isinstance(helper, types.FunctionType) and helper.__globals__ is fn.__globals__:
            scope[name] = types.FunctionType(helper.__code__, scope, name, helper.__defaults__)
    return types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)


class Framework(NamedTuple):
    """An optional comparison column: ``make(loss_fn, args, wrt_idx)`` returns a
    zero-argument callable giving (value, grads) in types np.asarray accepts."""

    key: str              # a key of FRAMEWORK_TITLES
    version: str
    make: Callable[[LossFn, tuple[Any, ...], list[int]], Callable[[], Any]]


def jax_framework() -> Framework:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def make(loss_fn: LossFn, args: tuple[Any, ...], idx: list[int]) -> Callable[[], Any]:
        import jax.scipy.linalg
        vg = jax.jit(jax.value_and_grad(rebind_numpy(loss_fn, jnp, jax.scipy.linalg), argnums=tuple(idx)))
        device_args = [jnp.asarray(a, dtype=jnp.float64) for a in args]
        return lambda: jax.block_until_ready(vg(*device_args))
    return Framework("jax", jax.__version__, make)


def torch_numpy(torch: Any) -> types.SimpleNamespace:
    """The NumPy functions the losses call, on float64 torch tensors."""
    def reduction(method: str) -> Callable[..., Any]:
        def reduce(x, axis=None, keepdims=False):
            return getattr(x, method)() if axis is None else getattr(x, method)(dim=axis, keepdim=keepdims)
        return reduce

    def maximum(x, y):
        return torch.clamp_min(x, y) if isinstance(y, (int, float)) else torch.maximum(x, y)

    return types.SimpleNamespace(
        sum=reduction("sum"), mean=reduction("mean"), max=reduction("amax"), maximum=maximum,
        exp=torch.exp, log=torch.log, log1p=torch.log1p, tanh=torch.tanh, abs=torch.abs,
        sin=torch.sin, eye=lambda n: torch.eye(n, dtype=torch.float64))


def torch_framework() -> Framework:
    import torch
    torch.set_num_threads(1)
    namespace = torch_numpy(torch)

    def make(loss_fn: LossFn, args: tuple[Any, ...], idx: list[int]) -> Callable[[], Any]:
        fn = rebind_numpy(loss_fn, namespace)
        tensors = [torch.tensor(a, dtype=torch.float64) for a in args]
        params = [tensors[i].requires_grad_() for i in idx]

        def call() -> tuple[Any, Grads]:
            loss = fn(*tensors)
            return loss.detach(), torch.autograd.grad(loss, params)
        return call
    return Framework("torch", torch.__version__, make)


def autograd_framework() -> Framework:
    import autograd
    import autograd.numpy as anp

    def make(loss_fn: LossFn, args: tuple[Any, ...], idx: list[int]) -> Callable[[], Any]:
        vg = autograd.value_and_grad(rebind_numpy(loss_fn, anp), argnum=tuple(idx))
        return functools.partial(vg, *args)
    version = getattr(autograd, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version
        version = dist_version("autograd")
    return Framework("autograd", version, make)


def load_frameworks() -> tuple[list[Framework], list[str]]:
    """The importable frameworks, and a note for each that is not."""
    found, missing = [], []
    for key, loader in (("jax", jax_framework), ("torch", torch_framework),
                        ("autograd", autograd_framework)):
        try:
            found.append(loader())
        except Exception as exc:  # optional: a dash in its column
            missing.append(f"{key} ({type(exc).__name__}: {exc})")
    return found, missing


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

def wrt_indices(fn: LossFn, wrt: Sequence[str]) -> list[int]:
    names = fn.__code__.co_varnames[:fn.__code__.co_argcount]
    return [names.index(w) for w in wrt]


def as_grad_tuple(grads: Any) -> Grads:
    """symdiff returns a bare array for a single wrt name, a tuple otherwise."""
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


def hand_check(w: Workload, hand_out: tuple[Any, Grads],
               rng: np.random.Generator) -> str | None:
    """Check the hand value against the loss, and the hand gradient against a
    central difference of the loss along a random direction."""
    if not np.isclose(hand_out[0], w.loss_fn(*w.args), rtol=1e-12, atol=0):
        return f"hand value {hand_out[0]!r} != loss {w.loss_fn(*w.args)!r}"
    idx = wrt_indices(w.loss_fn, w.wrt)
    dirs = [rng.standard_normal(np.shape(w.args[i])) for i in idx]

    def shifted(t: float) -> float:
        args = list(w.args)
        for i, d in zip(idx, dirs, strict=True):
            args[i] = args[i] + t * d
        return float(w.loss_fn(*args))

    fd = (shifted(FD_EPS) - shifted(-FD_EPS)) / (2 * FD_EPS)
    an = sum(float(np.sum(g * d)) for g, d in zip(hand_out[1], dirs, strict=True))
    err = abs(fd - an) / max(abs(fd), abs(an), 1e-300)
    return None if err <= FD_RTOL else f"hand vs finite differences: rel. err {err:.1e}"


def match_check(got: tuple[Any, Any], ref: tuple[Any, Grads], wrt: Sequence[str],
                who: str = "symdiff", rtol: float = MATCH_RTOL) -> str | None:
    """Compare an implementation's (value, grads) with the hand-written ones."""
    grads = as_grad_tuple(got[1])
    if len(grads) != len(ref[1]):
        return f"{who} returned {len(grads)} gradients, expected {len(ref[1])}"
    pairs = [("value", got[0], ref[0])]
    pairs += [(f"d/d{name}", g, r) for name, g, r in zip(wrt, grads, ref[1], strict=True)]
    for label, g, r in pairs:
        g = np.asarray(g)
        if np.shape(g) != np.shape(r):
            return f"{who} {label}: shape {np.shape(g)} != {np.shape(r)}"
        scale = float(np.max(np.abs(r))) if np.size(r) else 0.0
        if not np.allclose(g, r, rtol=rtol, atol=rtol * scale):
            err = float(np.max(np.abs(g - r))) / max(scale, 1e-300)
            return f"{who} {label} differs from hand: max err {err:.1e} x max|hand|"
    return None


class CompileError(Exception):
    """symdiff rejected every formulation of a workload's loss."""


def compile_symdiff(symdiff: Any, loss_fn: LossFn, wrt: tuple[str, ...] | str,
                    args: tuple[Any, ...], cache_root: Path,
                    transform: str = "value_and_grad") -> tuple[Any, float, Any]:
    """Build ``symdiff.<transform>`` cold; return (fn, seconds, first result)."""
    os.environ["SYMDIFF_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root)
    clear_sympy_cache()
    start = time.perf_counter()
    vg = getattr(symdiff, transform)(loss_fn, wrt=wrt)
    first = vg(*args)
    return vg, time.perf_counter() - start, first


def clear_sympy_cache() -> None:
    """Forget SymPy's in-process memo, so each compile is as cold as in a fresh process."""
    cache = sys.modules.get("sympy.core.cache")
    if cache is not None:
        cache.clear_cache()


def compile_first_accepted(symdiff: Any, w: Workload, cache_root: Path
                           ) -> tuple[Any, float, Any, LossFn, str, list[str]]:
    """Try the loss as written, then its fallback; return the first that compiles.

    Returns (fn, compile seconds, first result, loss used, its form, rejection messages).
    """
    rejected: list[str] = []
    for form, fn in [("as written", w.loss_fn), *([w.fallback] if w.fallback else [])]:
        try:
            return (*compile_symdiff(symdiff, fn, w.wrt, w.args, cache_root), fn, form, rejected)
        except Exception as exc:  # any rejection is reported, not fatal
            rejected.append(f"{form}: {type(exc).__name__}: {exc}")
    raise CompileError("; ".join(rejected))


def time_side_by_side(fns: Sequence[Callable[[], Any]], repeat: int,
                      batch_seconds: float) -> list[float]:
    """Median per-call seconds of each fn; batches alternate between the fns."""
    timers = [timeit.Timer(fn) for fn in fns]
    numbers = []
    for t in timers:
        t.timeit(1)  # warm up
        single = min(t.repeat(repeat=3, number=1))
        numbers.append(max(1, int(batch_seconds / max(single, 1e-9))))
    samples: list[list[float]] = [[] for _ in fns]
    for r in range(repeat):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for k in order:
            samples[k].append(timers[k].timeit(numbers[k]) / numbers[k])
    return [statistics.median(s) for s in samples]


def framework_callables(w: Workload, loss_fn: LossFn, frameworks: Sequence[Framework],
                        hand_out: tuple[Any, Grads], notes: Notes
                        ) -> tuple[dict[str, Callable[[], Any]], list[str]]:
    """Build and check each framework's value-and-gradient; return the usable ones and problems."""
    calls, problems = {}, []
    idx = wrt_indices(loss_fn, w.wrt)
    for fw in frameworks:
        try:
            call = fw.make(loss_fn, w.args, idx)
            problem = match_check(call(), hand_out, w.wrt, fw.key, OTHER_RTOL)
        except Exception as exc:  # reported in a footnote, the column gets a dash
            problems.append(notes.add(f"{w.name}: {FRAMEWORK_TITLES[fw.key]} failed: "
                                      f"{type(exc).__name__}: {exc}"))
            continue
        if problem is not None:
            problems.append(notes.add(f"{w.name}: {problem}"))
        calls[fw.key] = call
    return calls, problems


def time_row(w: Workload, vg: Any | None, loss_fn: LossFn, frameworks: Sequence[Framework],
             hand_out: tuple[Any, Grads], opts: argparse.Namespace, notes: Notes
             ) -> tuple[dict[str, float | None], list[str]]:
    """µs/call of every implementation of a workload, and footnote markers of framework problems."""
    calls: dict[str, Callable[[], Any]] = {"hand": functools.partial(w.hand_fn, *w.args),
                                           "fwd": functools.partial(w.loss_fn, *w.args)}
    if vg is not None:
        calls["symdiff"] = functools.partial(vg, *w.args)
    others, markers = framework_callables(w, loss_fn, frameworks, hand_out, notes)
    calls.update(others)
    repeat = opts.repeat_big if w.big else opts.repeat
    times = time_side_by_side(list(calls.values()), repeat, opts.batch_seconds)
    return {key: t * 1e6 for key, t in zip(calls, times, strict=True)}, markers


def run_workload(w: Workload, symdiff: Any | None, frameworks: Sequence[Framework],
                 opts: argparse.Namespace, cache_root: Path, notes: Notes) -> Row:
    name = w.name
    hand_out = w.hand_fn(*w.args)
    problems = [hand_check(w, hand_out, np.random.default_rng(12345))]

    vg, compile_s, error, loss_fn = None, None, None, w.loss_fn
    if symdiff is not None:
        try:
            vg, compile_s, first, loss_fn, form, rejected = compile_first_accepted(
                symdiff, w, cache_root)
        except CompileError as exc:
            error = "ERROR " + notes.add(f"{name}: symdiff rejected the loss: {exc}")
        else:
            if rejected:
                name += " " + notes.add(f"{w.name}: loss form used: {form} "
                                        f"(rejected: {'; '.join(rejected)})")
            problems.append(match_check(first, hand_out, w.wrt))
            if opts.dump is not None:
                slug = re.sub(r"\W+", "_", w.name).strip("_")
                (opts.dump / f"{slug}.py").write_text(vg.source, encoding="utf-8")

    us: dict[str, float | None] = {}
    if w.timed:
        us, markers = time_row(w, vg, loss_fn, frameworks, hand_out, opts, notes)
        name = " ".join([name, *markers])

    failures = [p for p in problems if p is not None]
    status = "FAIL " + notes.add(f"{w.name}: {'; '.join(failures)}") if failures else "ok"
    if error is not None:
        status = error if status == "ok" else f"{error}, {status}"
    return Row(name, us, compile_s, status, w.timed, w.ops)


# --------------------------------------------------------------------------
# Higher derivatives: symdiff.hessian and symdiff.hvp
# --------------------------------------------------------------------------

HESS_ROSEN_RTOL = 1e-10   # symdiff Hessian vs reference, Rosenbrock
HESS_LOGREG_RTOL = 1e-12  # symdiff Hessian vs hand, logistic regression
HVP_RTOL = 1e-10          # symdiff hvp vs reference Hessian @ v
HVP_FD_RTOL = 1e-6        # symdiff hvp vs central differences of the hand gradient
TARGET_HESS_ROSEN, TARGET_HVP_GRAD, TARGET_HESS_LOGREG = 1.5, 4.0, 1.2


class HigherWorkload(NamedTuple):
    """One row of the higher-derivative table.

    ``symdiff.<transform>(loss_fn, wrt=wrt)(*args)`` (hvp: the direction is the last of
    ``args``) is timed against ``reference``, a zero-argument callable, or, when that is None,
    against ``symdiff.grad`` of the same loss on ``args[:-1]`` (the ratio is then the price of
    one hvp in gradients; ``hand_grad`` checks that gradient).  Before timing, symdiff's result
    must equal ``expected()`` (described by ``check``) to ``rtol``, as the largest error over
    the largest entry; ``ref_check`` validates the reference itself.
    """

    name: str
    transform: str
    loss_fn: LossFn
    wrt: str
    args: tuple[Any, ...]
    reference: Callable[[], Any] | None
    expected: Callable[[], Array]
    check: str
    rtol: float
    target: float
    ref_check: Callable[[], str | None] | None = None
    hand_grad: Callable[[], Array] | None = None
    note: str | None = None
    big: bool = False


class HigherRow(NamedTuple):
    name: str
    symdiff_us: float | None
    ref_us: float | None
    target: float
    compile_s: float | None
    status: str           # "PASS"/"MISS", or "FAIL"/"ERROR" with a footnote marker


def rel_err(got: Any, expected: Array) -> float:
    """Largest absolute error over the largest |expected| entry."""
    got = np.asarray(got)
    if got.shape != np.shape(expected):
        return float("inf")
    return float(np.max(np.abs(got - expected))) / max(float(np.max(np.abs(expected))), 1e-300)


def grad_fd(grad_fn: Callable[[Array], Array], x: Array, v: Array) -> Array:
    """Central differences of a gradient along v: the Hessian times v, to O(eps**2)."""
    return (grad_fn(x + FD_EPS * v) - grad_fn(x - FD_EPS * v)) / (2 * FD_EPS)


def hessian_fd_check(H: Array, grad_fn: Callable[[Array], Array], x: Array,
                     rng: np.random.Generator, label: str) -> str | None:
    """Check a reference Hessian: H @ v against central differences of the hand gradient."""
    v = rng.standard_normal(x.shape)
    err = rel_err(H @ v, grad_fd(grad_fn, x, v))
    return None if err <= FD_RTOL else f"{label} @ v vs finite differences: rel. err {err:.1e}"


def rosenbrock_hess_hand(x: Array) -> Array:
    """Dense Rosenbrock Hessian filled band by band (used when SciPy is missing)."""
    n = x.size
    a = x[:-1]
    diag = np.zeros(n)
    diag[:-1] = 1200.0 * a * a - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    H = np.zeros((n, n))
    H.flat[::n + 1] = diag
    H.flat[1::n + 1] = -400.0 * a       # (i, i+1)
    H.flat[n::n + 1] = -400.0 * a       # (i+1, i)
    return H


def rosenbrock_hess_reference() -> tuple[Callable[[Array], Array], str, str | None]:
    """scipy.optimize.rosen_hess if SciPy is importable, else the hand-written banded Hessian."""
    try:
        import scipy
        from scipy.optimize import rosen_hess
    except Exception as exc:  # optional: fall back to NumPy
        return rosenbrock_hess_hand, "hand banded NumPy", (
            f"SciPy is not importable ({type(exc).__name__}: {exc}); the Rosenbrock Hessian is "
            "compared against a hand-written banded NumPy Hessian instead of scipy.optimize.rosen_hess")
    return rosen_hess, f"scipy {scipy.__version__} rosen_hess", None


def rosenbrock_grad_hand(x: Array) -> Array:
    return rosenbrock_hand(x)[1][0]


def logaddexp_logreg_loss(X, y, w):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z)


def logaddexp_logreg_grad_hand(X: Array, y: Array, w: Array) -> Array:
    p = 0.5 * np.tanh(0.5 * (X @ w)) + 0.5     # sigmoid, overflow-free
    return X.T @ (p - y) / y.size


def logaddexp_logreg_hess_hand(X: Array, y: Array, w: Array) -> Array:
    p = 0.5 * np.tanh(0.5 * (X @ w)) + 0.5
    return X.T @ (X * (p * (1 - p))[:, None]) / y.size


def logreg_data(rng: np.random.Generator, n: int, d: int) -> tuple[Array, Array, Array]:
    return (rng.standard_normal((n, d)), (rng.random(n) < 0.5).astype(np.float64),
            rng.standard_normal(d) / np.sqrt(d))


def rosen_hessian_workload(rng: np.random.Generator, n: int) -> HigherWorkload:
    x = 1.0 + 0.5 * rng.standard_normal(n)
    ref, label, note = rosenbrock_hess_reference()
    return HigherWorkload(
        f"hessian Rosenbrock n={n} vs {label}", "hessian", rosenbrock_loss, "x", (x,),
        functools.partial(ref, x), functools.partial(ref, x), label, HESS_ROSEN_RTOL,
        TARGET_HESS_ROSEN, note=note,
        ref_check=lambda: hessian_fd_check(ref(x), rosenbrock_grad_hand, x, rng, label))


def rosen_hvp_workload(rng: np.random.Generator, n: int) -> HigherWorkload:
    x, v = 1.0 + 0.5 * rng.standard_normal(n), rng.standard_normal(n)
    if n <= 10_000:
        ref, label, _ = rosenbrock_hess_reference()
        expected, check, rtol = (lambda: ref(x) @ v), f"{label} @ v", HVP_RTOL
    else:  # no dense Hessian at this size
        expected, check, rtol = (lambda: grad_fd(rosenbrock_grad_hand, x, v),
                                 "central differences of the hand gradient", HVP_FD_RTOL)
    return HigherWorkload(f"hvp vs grad, Rosenbrock n={n}", "hvp", rosenbrock_loss, "x", (x, v),
                          None, expected, check, rtol, TARGET_HVP_GRAD,
                          hand_grad=functools.partial(rosenbrock_grad_hand, x), big=n > 1e5)


def logreg_hvp_workload(rng: np.random.Generator, n: int, d: int = 100) -> HigherWorkload:
    X, y, w = logreg_data(rng, n, d)
    v = rng.standard_normal(d)
    return HigherWorkload(f"hvp vs grad, logreg N={n} d={d}", "hvp", logaddexp_logreg_loss, "w",
                          (X, y, w, v), None, lambda: logaddexp_logreg_hess_hand(X, y, w) @ v,
                          "hand Hessian @ v", HVP_RTOL, TARGET_HVP_GRAD,
                          hand_grad=functools.partial(logaddexp_logreg_grad_hand, X, y, w))


def logreg_hessian_workload(rng: np.random.Generator, n: int, d: int = 100) -> HigherWorkload:
    X, y, w = logreg_data(rng, n, d)
    hand = functools.partial(logaddexp_logreg_hess_hand, X, y, w)
    return HigherWorkload(
        f"hessian logreg N={n} d={d} vs hand NumPy", "hessian", logaddexp_logreg_loss, "w",
        (X, y, w), hand, hand, "hand Hessian", HESS_LOGREG_RTOL, TARGET_HESS_LOGREG,
        ref_check=lambda: hessian_fd_check(hand(), lambda w_: logaddexp_logreg_grad_hand(X, y, w_),
                                           w, rng, "hand Hessian"))


def higher_workloads(rng: np.random.Generator) -> list[HigherWorkload]:
    return [rosen_hessian_workload(rng, 1000),
            rosen_hvp_workload(rng, 1000), rosen_hvp_workload(rng, 1_000_000),
            logreg_hvp_workload(rng, 1000),
            logreg_hessian_workload(rng, 1000)]


def dump_source(opts: argparse.Namespace, name: str, fn: Any) -> None:
    if opts.dump is not None:
        slug = re.sub(r"\W+", "_", name).strip("_")
        (opts.dump / f"{slug}.py").write_text(fn.source, encoding="utf-8")


def run_higher(w: HigherWorkload, symdiff: Any | None, opts: argparse.Namespace,
               cache_root: Path, notes: Notes) -> HigherRow:
    name = w.name + (" " + notes.add(w.note) if w.note else "")
    if symdiff is None:
        return HigherRow(name, None, None, w.target, None, "ERROR (symdiff unavailable)")
    problems = [w.ref_check() if w.ref_check else None]
    try:
        fn, compile_s, first = compile_symdiff(symdiff, w.loss_fn, w.wrt, w.args, cache_root,
                                               w.transform)
        dump_source(opts, w.name, fn)
        calls = {"symdiff": functools.partial(fn, *w.args)}
        if w.reference is None:   # hvp row: against one symdiff gradient
            g, _, g_first = compile_symdiff(symdiff, w.loss_fn, w.wrt, w.args[:-1], cache_root,
                                            "grad")
            if w.hand_grad is not None and (err := rel_err(g_first, w.hand_grad())) > MATCH_RTOL:
                problems.append(f"symdiff grad vs hand gradient: rel. err {err:.1e}")
            calls["reference"] = functools.partial(g, *w.args[:-1])
        else:
            calls["reference"] = w.reference
    except Exception as exc:  # keep the table going
        return HigherRow(name, None, None, w.target, None, "ERROR " + notes.add(
            f"{w.name}: symdiff.{w.transform} failed: {type(exc).__name__}: {exc}"))
    if (err := rel_err(first, w.expected())) > w.rtol:
        problems.append(f"symdiff {w.transform} vs {w.check}: rel. err {err:.1e} "
                        f"(tolerance {w.rtol:g})")
    repeat = opts.repeat_big if w.big else opts.repeat
    sd, ref = (t * 1e6 for t in time_side_by_side(list(calls.values()), repeat,
                                                   opts.batch_seconds))
    failures = [p for p in problems if p is not None]
    status = ("FAIL " + notes.add(f"{w.name}: {'; '.join(failures)}") if failures
              else "PASS" if sd / ref <= w.target else "MISS")
    return HigherRow(name, sd, ref, w.target, compile_s, status)


def format_higher_table(rows: Sequence[HigherRow]) -> list[str]:
    head = ["workload", "symdiff µs", "reference µs", "ratio", "target", "PASS/MISS", "compile s"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * 4 + "|---|---:|"]
    for r in rows:
        ratio_ = r.symdiff_us / r.ref_us if r.symdiff_us is not None and r.ref_us else None
        cells = [r.name, fmt(r.symdiff_us, ".1f"), fmt(r.ref_us, ".1f"), fmt(ratio_, ".2f"),
                 f"<= {r.target:g}", r.status, fmt(r.compile_s, ".2f")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def higher_section(rows: Sequence[HigherRow], big: Sequence[str],
                   opts: argparse.Namespace) -> list[str]:
    return ["## Higher derivatives: hessian and hvp", "",
            *format_higher_table(rows), "",
            "symdiff µs: `symdiff.hessian(f)(*args)` or `symdiff.hvp(f)(*args, v)`; reference µs: "
            "the named NumPy/SciPy Hessian for the hessian rows, one `symdiff.grad(f)(*args)` "
            "call for the hvp rows (so ratio = hvp cost in gradients). Both are timed in the "
            f"same alternating batches ({opts.repeat}, {opts.repeat_big} for "
            f"{', '.join(big) or 'none'}; ~{opts.batch_seconds * 1e3:.0f} ms), medians; "
            "PASS when ratio <= target. Compile = the timed transform's construction plus "
            "first call, cold (fresh SYMDIFF_CACHE_DIR, SymPy cache cleared). Checks before "
            "timing (FAIL if not met): reference Hessians @ v vs central differences of the "
            f"hand gradient (rtol {FD_RTOL:g}); symdiff Hessian vs reference (Rosenbrock "
            f"{HESS_ROSEN_RTOL:g}, logreg {HESS_LOGREG_RTOL:g}); hvp vs reference Hessian @ v "
            f"({HVP_RTOL:g}) or, at n=10^6, vs central differences of the hand gradient "
            f"({HVP_FD_RTOL:g}); symdiff grad vs hand gradient ({MATCH_RTOL:g}). Errors are "
            "max|error| / max|reference|. The Rosenbrock loss is the one of the first table "
            "(`100 *` for `100.0 *`, the same function)."]


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def ratio(row: Row, num: str, den: str) -> float | None:
    a, b = row.us.get(num), row.us.get(den)
    return a / b if a is not None and b else None


def format_table(rows: Sequence[Row]) -> list[str]:
    """The Markdown table; every optional framework has its columns, importable or not."""
    head = ["workload", "symdiff µs", "hand µs", "symdiff/hand", "fwd µs", "symdiff/fwd"]
    for title in FRAMEWORK_TITLES.values():
        head += [f"{title} µs", f"{title}/hand"]
    head += ["compile s", "check"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 2) + "|---|"]
    for r in rows:
        cells = [r.name, fmt(r.us.get("symdiff"), ".1f"), fmt(r.us.get("hand"), ".1f"),
                 fmt(ratio(r, "symdiff", "hand"), ".2f"), fmt(r.us.get("fwd"), ".1f"),
                 fmt(ratio(r, "symdiff", "fwd"), ".2f")]
        for key in FRAMEWORK_TITLES:
            cells += [fmt(r.us.get(key), ".1f"), fmt(ratio(r, key, "hand"), ".2f")]
        cells += [fmt(r.compile_s, ".2f"), r.status]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def target_line(label: str, values: Sequence[tuple[float, str]], reduce: str,
                target: float) -> str:
    """One summary line: the median or max of (value, row name) pairs against a target."""
    if not values:
        return f"- {label}: — (no symdiff timings), target <= {target:g}: **MISS**"
    if reduce == "median":
        value, where = statistics.median(v for v, _ in values), f"over {len(values)} rows"
    else:
        value, where = max(values)
        where = f"at {where}"
    mark = "PASS" if value <= target else "MISS"
    return f"- {label}: **{value:.2f}** ({where}), target <= {target:g}: **{mark}**"


def summary_lines(rows: Sequence[Row]) -> list[str]:
    timed = [r for r in rows if r.timed]
    vs_hand = [(v, r.name) for r in timed if (v := ratio(r, "symdiff", "hand")) is not None]
    vs_fwd = [(v, r.name) for r in timed if (v := ratio(r, "symdiff", "fwd")) is not None]
    hand_fwd = [v for r in timed if (v := ratio(r, "hand", "fwd")) is not None]
    lines = [target_line("median symdiff/hand", vs_hand, "median", TARGET_MEDIAN),
             target_line("max symdiff/hand", vs_hand, "max", TARGET_MAX),
             target_line("median cheap-gradient ratio symdiff/fwd", vs_fwd, "median",
                         TARGET_CHEAP)]
    if hand_fwd:
        lines[-1] += f" (hand/fwd for comparison: median {statistics.median(hand_fwd):.2f})"
    chain = [(r.ops, r.compile_s) for r in rows if r.ops and r.compile_s is not None]
    if len(chain) >= 2:
        per_op = ", ".join(f"{ops} ops {s * 1e3 / ops:.1f}" for ops, s in chain)
        (ops0, s0), (ops1, s1) = chain[0], chain[-1]
        lines.append(f"- compile time of the sin chain, ms per op: {per_op}; "
                     f"{ops1 / ops0:g}x the ops took {s1 / s0:.1f}x the time "
                     f"(linear growth: {ops1 / ops0:g}x)")
    return lines


def repo_revision() -> str:
    """The checked-out commit, marked "+ local changes" when symdiff/ or templates/ differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "symdiff", "templates")
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" at {commit}" + (" + local changes" if dirty else "")


def machine_line(sd_version: str, frameworks: Sequence[Framework]) -> str:
    others = "".join(f", {fw.key} {fw.version}" for fw in frameworks)
    blas = os.environ.get("OPENBLAS_CORETYPE")
    blas_note = f", OPENBLAS_CORETYPE={blas}" if blas else ""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    return (f"Machine: Python {platform.python_version()}, NumPy {np.__version__}, "
            f"symdiff {sd_version}{others}, CPU {cpu_model()} x{os.cpu_count()}{blas_note}, "
            f"{now}{load} at start, 1 thread")


def import_symdiff(notes: Notes) -> tuple[Any | None, str]:
    """The checked-out symdiff, warmed up by one throwaway compile (imports, SymPy)."""
    try:
        import symdiff
        if not hasattr(symdiff, "value_and_grad"):
            raise ImportError("symdiff has no value_and_grad (package incomplete?)")
        start = time.perf_counter()
        symdiff.value_and_grad(lambda x: np.sum(np.sin(x)))(np.ones(3))
        warm = time.perf_counter() - start
        version = getattr(symdiff, "__version__", "unversioned")
        return symdiff, f"{version}{repo_revision()} (warm-up {warm:.2f} s)"
    except Exception as exc:
        return None, "unavailable " + notes.add(
            f"import symdiff failed: {type(exc).__name__}: {exc}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter timing batches (whole run well under 90 s)")
    parser.add_argument("--write", action="store_true",
                        help=f"also save the report to {RESULTS_PATH.relative_to(REPO_ROOT)}")
    parser.add_argument("--dump", type=Path, metavar="DIR",
                        help="also write each row's generated module (.source) to DIR")
    parser.add_argument("--higher", action="store_true",
                        help="only the higher-derivative section (hessian, hvp)")
    parser.add_argument("--only", metavar="TEXT",
                        help="only the rows whose name contains TEXT (e.g. 'GP NLML'); no higher section")
    ns = parser.parse_args(argv)
    if ns.dump is not None:
        ns.dump.mkdir(parents=True, exist_ok=True)
    ns.repeat, ns.repeat_big, ns.batch_seconds = (5, 3, 0.02) if ns.quick else (21, 7, 0.1)
    return ns


def build_report(rows: Sequence[Row], big: Sequence[str], sd_version: str,
                 frameworks: Sequence[Framework], missing: Sequence[str], notes: Notes,
                 opts: argparse.Namespace, seconds: float,
                 higher: Sequence[str] = ()) -> list[str]:
    """The machine and command lines, the table, the summary, the lines of the
    higher-derivative section and the footnotes of both, as lines."""
    report = [machine_line(sd_version, frameworks), "",
              f"Command: `python {shlex.join(sys.argv)}`", "",
              *format_table(rows), "",
              *summary_lines(rows), "",
              f"µs are median per-call times over {opts.repeat} alternating batches "
              f"({opts.repeat_big} for the large rows: {', '.join(big)}) of "
              f"~{opts.batch_seconds * 1e3:.0f} ms; all columns of a row are timed in the same "
              "batches. symdiff, hand, jax.jit, torch eager and autograd return the value and the "
              "gradient; fwd is the plain NumPy loss alone, so symdiff/fwd is the cheap-gradient "
              "ratio. Compile = value_and_grad() plus first call, with a fresh SYMDIFF_CACHE_DIR "
              "and SymPy's cache cleared. Checks: hand value vs loss; hand gradient vs central "
              f"differences of the loss along a random direction (eps {FD_EPS:g}, rtol "
              f"{FD_RTOL:g}); symdiff vs hand (rtol {MATCH_RTOL:g}, atol {MATCH_RTOL:g}·max|hand|); "
              f"other frameworks vs hand (rtol {OTHER_RTOL:g}, footnote if not). "
              f"Whole run: {seconds:.0f} s."]
    if missing:
        report += ["", "Not importable (dash in their columns): " + "; ".join(missing) + "."]
    if higher:
        report += ["", *higher]
    return report + [line for k, note in enumerate(notes.items, 1) for line in ("", f"[{k}] {note}")]


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    started = time.perf_counter()
    notes = Notes()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="symdiff-bench-") as tmp:
        cache_root = Path(tmp)
        os.environ["SYMDIFF_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root)
        symdiff, sd_version = import_symdiff(notes)
        frameworks, missing = load_frameworks()
        suite = [] if opts.higher else workloads(np.random.default_rng(0))
        if opts.only:
            suite = [w for w in suite if opts.only in w.name]
        for w in suite:
            try:
                rows.append(run_workload(w, symdiff, frameworks, opts, cache_root, notes))
            except Exception as exc:  # keep the table going
                marker = notes.add(f"{w.name}: {type(exc).__name__}: {exc}")
                rows.append(Row(w.name, {}, None, "ERROR " + marker, w.timed, w.ops))
        higher_suite = [] if opts.only else higher_workloads(np.random.default_rng(1))
        higher_rows: list[HigherRow] = []
        for hw in higher_suite:
            try:
                higher_rows.append(run_higher(hw, symdiff, opts, cache_root, notes))
            except Exception as exc:  # keep the table going
                marker = notes.add(f"{hw.name}: {type(exc).__name__}: {exc}")
                higher_rows.append(HigherRow(hw.name, None, None, hw.target, None,
                                             "ERROR " + marker))

    higher = higher_section(higher_rows, [hw.name for hw in higher_suite if hw.big], opts)
    report = build_report(rows, [w.name for w in suite if w.big], sd_version, frameworks, missing,
                          notes, opts, time.perf_counter() - started, higher)
    print("\n".join(report))
    if opts.write:
        RESULTS_PATH.write_text("# symdiff benchmark results\n\n"
                                "Written by `benchmarks/bench.py --write`; rerun it to refresh.\n\n"
                                + "\n".join(report) + "\n", encoding="utf-8")
        print(f"\nWrote {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return 0 if symdiff is not None and all(r.status == "ok" for r in rows) and all(
        r.status in ("PASS", "MISS") for r in higher_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
