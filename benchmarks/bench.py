"""Benchmark symdiff-generated value-and-gradient code against hand-written NumPy.

Run from the repository root::

    python benchmarks/bench.py [--quick]

For every workload the script

1. checks the hand-written value against the loss, the hand-written gradient
   against central finite differences of the loss along a random direction,
   and symdiff's value and gradient against the hand-written ones;
2. measures the cold compile time of ``symdiff.value_and_grad`` (construction
   plus first call, with ``SYMDIFF_CACHE_DIR`` pointing at a fresh empty
   directory);
3. times both implementations side by side: batches of calls alternate between
   the two, and the reported figure is the median per-call time over batches,
   so machine noise affects both equally.

The result is printed as a Markdown table, preceded by a machine line and the
exact command.  Everything runs single-threaded and in float64.
"""

from __future__ import annotations

import os

# Pin BLAS/OpenMP to one thread; this must happen before NumPy is imported.
os.environ.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"), "1"))

import argparse
import datetime
import functools
import platform
import shlex
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # benchmark the checked-out package

Array = np.ndarray
Grads = tuple[Any, ...]
LossFn = Callable[..., Any]
HandFn = Callable[..., tuple[Any, Grads]]

FD_EPS = 1e-6        # central finite-difference step
FD_RTOL = 1e-6       # tolerance: hand gradient vs finite differences
MATCH_RTOL = 1e-9    # tolerance: symdiff gradient vs hand gradient
CHAIN_STEPS = (25, 50, 100, 200)


class Workload(NamedTuple):
    """One benchmark row.

    ``loss_fn`` is the preferred user-level loss; ``fallback`` (if given) is an
    equivalent formulation tried when symdiff rejects ``loss_fn``.
    ``timed=False`` marks compile-time-only rows.
    """

    name: str
    loss_fn: LossFn
    hand_fn: HandFn
    args: tuple[Any, ...]
    wrt: tuple[str, ...]
    fallback: tuple[str, LossFn] | None = None
    timed: bool = True


class Row(NamedTuple):
    """One line of the results table (None prints as a dash)."""

    name: str
    symdiff_us: float | None
    hand_us: float | None
    compile_s: float | None
    status: str           # "ok", or "FAIL"/"ERROR" with a footnote marker


class Notes:
    """Numbered footnotes printed under the table."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> str:
        """Record a footnote and return its marker, e.g. ``[2]``."""
        self.items.append(" ".join(text.split())[:600])
        return f"[{len(self.items)}]"


# --------------------------------------------------------------------------
# Workloads
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
    return Workload(f"seed {d}x{k}", bce_loss, seed_hand, args, ("w", "b"))


def logreg_workload(rng: np.random.Generator, n: int = 1000, d: int = 100) -> Workload:
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    args = (X, y, rng.standard_normal(d) / np.sqrt(d), float(rng.standard_normal()))
    return Workload(f"logreg N={n} d={d}", bce_loss, logreg_hand, args, ("w", "b"))


def mlp_loss(X, Y, W1, b1, W2, b2):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True)) + m
    return np.mean(lse - np.sum(Y * logits, axis=1, keepdims=True))


def mlp_loss_noshift(X, Y, W1, b1, W2, b2):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    lse = np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return np.mean(lse - np.sum(Y * logits, axis=1, keepdims=True))


def mlp_hand(X: Array, Y: Array, W1: Array, b1: Array, W2: Array,
             b2: Array) -> tuple[float, Grads]:
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = logits.max(axis=1, keepdims=True)
    p = np.exp(logits - m)
    s = p.sum(axis=1, keepdims=True)
    loss = (np.sum(np.log(s) + m) - np.vdot(Y, logits)) / n
    p /= s                      # softmax
    p -= Y
    p *= 1.0 / n                # d loss / d logits
    da = p @ W2.T
    da *= 1.0 - h * h           # through tanh
    return loss, (X.T @ da, da.sum(axis=0), h.T @ p, p.sum(axis=0))


def mlp_workload(rng: np.random.Generator, n: int, d: int = 784, hidden: int = 128,
                 classes: int = 10) -> Workload:
    Y = np.eye(classes)[rng.integers(0, classes, n)]
    args = (rng.standard_normal((n, d)), Y,
            rng.standard_normal((d, hidden)) / np.sqrt(d), 0.1 * rng.standard_normal(hidden),
            rng.standard_normal((hidden, classes)) / np.sqrt(hidden),
            0.1 * rng.standard_normal(classes))
    return Workload(f"MLP {d}-{hidden}-{classes} N={n}", mlp_loss, mlp_hand, args,
                    ("W1", "b1", "W2", "b2"),
                    fallback=("logsumexp without max-shift", mlp_loss_noshift))


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


def chain_workload(rng: np.random.Generator, steps: int) -> Workload:
    return Workload(f"sin chain {steps} steps (compile only)", make_chain_loss(steps),
                    make_chain_hand(steps), (rng.standard_normal(16),), ("x",), timed=False)


def workloads(rng: np.random.Generator) -> list[Workload]:
    return [seed_workload(rng, 5, 3), seed_workload(rng, 784, 10), logreg_workload(rng),
            mlp_workload(rng, 32), mlp_workload(rng, 1024),
            *(chain_workload(rng, s) for s in CHAIN_STEPS)]


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


def match_check(got: tuple[Any, Grads], ref: tuple[Any, Grads],
                wrt: Sequence[str]) -> str | None:
    """Compare symdiff's (value, grads) with the hand-written ones."""
    if len(got[1]) != len(ref[1]):
        return f"symdiff returned {len(got[1])} gradients, expected {len(ref[1])}"
    pairs = [("value", got[0], ref[0])]
    pairs += [(f"d/d{name}", g, r) for name, g, r in zip(wrt, got[1], ref[1], strict=True)]
    for label, g, r in pairs:
        if np.shape(g) != np.shape(r):
            return f"symdiff {label}: shape {np.shape(g)} != {np.shape(r)}"
        scale = float(np.max(np.abs(r))) if np.size(r) else 0.0
        if not np.allclose(g, r, rtol=MATCH_RTOL, atol=MATCH_RTOL * scale):
            err = float(np.max(np.abs(np.asarray(g) - r))) / max(scale, 1e-300)
            return f"symdiff {label} differs from hand: max err {err:.1e} x max|hand|"
    return None


class CompileError(Exception):
    """symdiff rejected every formulation of a workload's loss."""


def compile_symdiff(symdiff: Any, loss_fn: LossFn, wrt: tuple[str, ...],
                    args: tuple[Any, ...], cache_root: Path) -> tuple[Callable, float, Any]:
    """Build value_and_grad with a cold cache; return (fn, seconds, first result)."""
    os.environ["SYMDIFF_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root)
    start = time.perf_counter()
    vg = symdiff.value_and_grad(loss_fn, wrt=wrt)
    first = vg(*args)
    return vg, time.perf_counter() - start, first


def compile_first_accepted(symdiff: Any, w: Workload, cache_root: Path
                           ) -> tuple[Callable, float, Any, str, list[str]]:
    """Try the loss as written, then its fallback; return the first that compiles.

    Returns (fn, compile seconds, first result, form used, rejection messages).
    """
    rejected: list[str] = []
    for form, fn in [("as written", w.loss_fn), *([w.fallback] if w.fallback else [])]:
        try:
            return (*compile_symdiff(symdiff, fn, w.wrt, w.args, cache_root), form, rejected)
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


def run_workload(w: Workload, symdiff: Any | None, opts: argparse.Namespace,
                 cache_root: Path, notes: Notes) -> Row:
    name = w.name
    problems: list[str | None] = []
    hand_out = w.hand_fn(*w.args)
    problems.append(hand_check(w, hand_out, np.random.default_rng(12345)))

    vg, compile_s, error = None, None, None
    if symdiff is not None:
        try:
            vg, compile_s, first, form, rejected = compile_first_accepted(symdiff, w, cache_root)
        except CompileError as exc:
            error = "ERROR " + notes.add(f"{name}: symdiff rejected the loss: {exc}")
        else:
            if w.fallback is not None:
                detail = f" (rejected: {'; '.join(rejected)})" if rejected else ""
                name += " " + notes.add(f"{w.name}: loss form used: {form}{detail}")
            problems.append(match_check((first[0], as_grad_tuple(first[1])), hand_out, w.wrt))

    symdiff_us = hand_us = None
    if w.timed:
        fns: list[Callable[[], Any]] = [functools.partial(w.hand_fn, *w.args)]
        if vg is not None:
            fns.append(functools.partial(vg, *w.args))
        times = time_side_by_side(fns, opts.repeat, opts.batch_seconds)
        hand_us = times[0] * 1e6
        symdiff_us = times[1] * 1e6 if vg is not None else None

    failures = [p for p in problems if p is not None]
    status = "FAIL " + notes.add(f"{w.name}: {'; '.join(failures)}") if failures else "ok"
    if error is not None:
        status = error if status == "ok" else f"{error}, {status}"
    return Row(name, symdiff_us, hand_us, compile_s, status)


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


def format_table(rows: Sequence[Row]) -> list[str]:
    lines = ["| workload | symdiff µs/call | hand µs/call | symdiff/hand | compile s | check |",
             "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = (r.symdiff_us / r.hand_us
                 if r.symdiff_us is not None and r.hand_us else None)
        lines.append(f"| {r.name} | {fmt(r.symdiff_us, '.1f')} | {fmt(r.hand_us, '.1f')} "
                     f"| {fmt(ratio, '.2f')} | {fmt(r.compile_s, '.2f')} | {r.status} |")
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer and shorter timing batches (whole run well under a minute)")
    ns = parser.parse_args(argv)
    ns.repeat, ns.batch_seconds = (5, 0.02) if ns.quick else (21, 0.1)
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    notes = Notes()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="symdiff-bench-") as tmp:
        cache_root = Path(tmp)
        os.environ["SYMDIFF_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root)
        try:
            import symdiff
            if not hasattr(symdiff, "value_and_grad"):
                raise ImportError("symdiff has no value_and_grad (package incomplete?)")
            sd_version = getattr(symdiff, "__version__", "unversioned")
        except Exception as exc:
            symdiff, sd_version = None, "unavailable " + notes.add(
                f"import symdiff failed: {type(exc).__name__}: {exc}")
        for w in workloads(np.random.default_rng(0)):
            try:
                rows.append(run_workload(w, symdiff, opts, cache_root, notes))
            except Exception as exc:  # keep the table going
                marker = notes.add(f"{w.name}: {type(exc).__name__}: {exc}")
                rows.append(Row(w.name, None, None, None, "ERROR " + marker))

    print(f"Machine: Python {platform.python_version()}, NumPy {np.__version__}, "
          f"symdiff {sd_version}, CPU {cpu_model()}, "
          f"{datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}, 1 thread")
    print(f"Command: `python {shlex.join(sys.argv)}`")
    print()
    print("\n".join(format_table(rows)))
    print()
    print(f"Per-call times are medians over {opts.repeat} alternating batches "
          f"(~{opts.batch_seconds * 1e3:.0f} ms each). Compile = value_and_grad() plus first "
          f"call, cold cache. Checks: hand value vs loss; hand gradient vs central differences "
          f"of the loss along a random direction (eps {FD_EPS:g}, rtol "
          f"{FD_RTOL:g}); symdiff vs hand (rtol {MATCH_RTOL:g}, atol {MATCH_RTOL:g}·max|hand|). "
          f"Targets: symdiff/hand <= 1.2; 100-step chain compiles in < 10 s.")
    for k, note in enumerate(notes.items, 1):
        print(f"\n[{k}] {note}")
    return 0 if all(r.status == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
