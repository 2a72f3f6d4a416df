"""A corpus of realistic NumPy functions, written the way people write them, for differentiation tests.

Each category module registers its functions with :func:`entry` (or :func:`add` for functions made by
factories). An :class:`Entry` knows how to make random arguments inside the function's domain (a
seeded float64 Generator), which arguments to differentiate, and which features (``needs``) it uses
that symdiff may not support yet. Bodies refer to NumPy as the module global ``np`` (and to
``scipy.special`` as ``sp`` or by the names they import from it, ``math`` as ``math``), so
:func:`rebind` can run the very same bodies on ``autograd.numpy`` or ``jax.numpy``.
"""
from __future__ import annotations

import importlib
import inspect
import math
import types
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

#: Features that a corpus function may use and that may not be supported yet.
FEATURES = ("fancy_index", "index_update", "branch", "has_aux", "math", "scipy_special", "np_array_list", "pytree")

CATEGORIES = ("losses", "layers", "physics", "statistics", "geometry", "finance", "control_flow", "numerics",
              "containers", "masks", "models", "loops")

Maker = Callable[[np.random.Generator], Any]


@dataclass(frozen=True)
class Entry:
    """One corpus function with its argument maker, ``wrt`` names and needed features."""

    category: str
    name: str
    fn: Callable
    makers: tuple[Maker, ...]
    wrt: tuple[str, ...]
    needs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.category}.{self.name}"

    @property
    def params(self) -> list[str]:
        return list(inspect.signature(self.fn).parameters)

    @property
    def wrt_positions(self) -> tuple[int, ...]:
        return tuple(self.params.index(w) for w in self.wrt)

    def args(self, seed: int = 0) -> tuple:
        """Random arguments inside the function's domain (the same for the same seed)."""
        rng = np.random.default_rng(seed)
        return tuple(m(rng) for m in self.makers)

    def with_defaults(self, args: tuple) -> tuple:
        """``args`` followed by the default values of the parameters they leave out."""
        defaults = inspect.signature(self.fn).parameters.values()
        return args + tuple(p.default for p in list(defaults)[len(args):])


CORPUS: list[Entry] = []


def add(fn: Callable, *makers: Maker, wrt: str | tuple[str, ...] | None = None, needs: tuple[str, ...] = (),
        name: str | None = None) -> Callable:
    """Register ``fn`` (default ``wrt``: its first argument)."""
    category = fn.__module__.rsplit(".", 1)[-1]
    unknown = set(needs) - set(FEATURES)
    assert not unknown, unknown
    params = list(inspect.signature(fn).parameters)
    defaults = len(fn.__defaults__ or ())
    assert len(params) - defaults <= len(makers) <= len(params), (fn.__name__, len(makers), params)
    wrt = (params[0],) if wrt is None else ((wrt,) if isinstance(wrt, str) else tuple(wrt))
    assert set(wrt) <= set(params), (fn.__name__, wrt)
    name = name or fn.__name__
    assert all(e.id != f"{category}.{name}" for e in CORPUS), name
    CORPUS.append(Entry(category, name, fn, tuple(makers), wrt, tuple(needs)))
    return fn


def entry(*makers: Maker, wrt: str | tuple[str, ...] | None = None, needs: tuple[str, ...] = ()) -> Callable:
    """Decorator form of :func:`add`."""
    return lambda fn: add(fn, *makers, wrt=wrt, needs=needs)


# ---- argument makers -------------------------------------------------------------------------------------


def N(*shape: int, scale: float = 1.0) -> Maker:
    """Standard normal values (a float for no shape)."""
    return lambda rng: float(scale * rng.standard_normal()) if not shape else scale * rng.standard_normal(shape)


def U(lo: float, hi: float, *shape: int) -> Maker:
    """Uniform values in [lo, hi]."""
    return lambda rng: float(rng.uniform(lo, hi)) if not shape else rng.uniform(lo, hi, shape)


def SPD(n: int) -> Maker:
    """A well-conditioned symmetric positive definite matrix."""
    def make(rng: np.random.Generator) -> np.ndarray:
        a = rng.standard_normal((n, n))
        return a @ a.T / n + np.eye(n)
    return make


def ONEHOT(n: int, k: int) -> Maker:
    """One-hot rows (float), n samples of k classes."""
    return lambda rng: np.eye(k)[rng.integers(0, k, n)]


def SIGNS(*shape: int) -> Maker:
    """Labels in {-1, +1} (float)."""
    return lambda rng: rng.choice([-1.0, 1.0], size=shape)


def BITS(*shape: int) -> Maker:
    """Labels in {0, 1} (float)."""
    return lambda rng: rng.integers(0, 2, size=shape).astype(float)


def MASK(*shape: int, p: float = 0.5) -> Maker:
    """A boolean mask (each element True with probability ``p``)."""
    return lambda rng: rng.uniform(size=shape) < p


def LABELS(k: int, *shape: int) -> Maker:
    """Integer class labels in 0..k-1 (int64)."""
    return lambda rng: rng.integers(0, k, size=shape)


def COUNTS(lam: float, *shape: int) -> Maker:
    """Poisson counts (float)."""
    return lambda rng: rng.poisson(lam, size=shape).astype(float)


def C(value: Any) -> Maker:
    """A constant (an int stays a Python int: a static argument)."""
    return lambda rng: value


def POINTS(n: int, d: int, spacing: float = 1.5) -> Maker:
    """n points in d dimensions on a jittered grid, pairwise distances bounded away from 0."""
    def make(rng: np.random.Generator) -> np.ndarray:
        grid = np.stack(np.meshgrid(*[np.arange(3)] * d, indexing="ij"), -1).reshape(-1, d)[:n] * spacing
        return grid + rng.uniform(-0.2, 0.2, grid.shape)
    return make


def POLYGON(n: int) -> Maker:
    """A convex-ish polygon (n x 2 vertices counter-clockwise around the origin)."""
    def make(rng: np.random.Generator) -> np.ndarray:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(-0.1, 0.1, n)
        r = rng.uniform(1.0, 1.5, n)
        return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    return make


# ---- running the same bodies on another numpy-like module -------------------------------------------------


def _math_like(xnp: Any, xsp: Any) -> types.SimpleNamespace:
    names = ("exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "sqrt", "atan2", "hypot", "sinh", "cosh")
    ns = {n: getattr(xnp, {"atan2": "arctan2"}.get(n, n)) for n in names}
    ns.update(pi=math.pi, e=math.e, inf=math.inf, erf=xsp.erf, fabs=xnp.abs, pow=xnp.power)
    return types.SimpleNamespace(**ns)


def rebind(fn: Callable, xnp: Any, xsp: Any) -> Callable:
    """``fn`` with ``np``, ``sp`` and ``math`` of its module (and of every function of that module it may
    call) replaced by ``xnp``, ``xsp`` and a ``math`` made of ``xnp`` functions."""
    module = importlib.import_module(fn.__module__)
    globs = dict(vars(module))
    globs.update(np=xnp, sp=xsp, math=_math_like(xnp, xsp))

    def copy(f: Callable) -> Callable:
        closure = f.__closure__
        if closure:
            closure = tuple(types.CellType(copy(c.cell_contents) if _is_local(c.cell_contents) else c.cell_contents)
                            for c in closure)
        g = types.FunctionType(f.__code__, globs, f.__name__, f.__defaults__, closure)
        g.__kwdefaults__ = f.__kwdefaults__
        return g

    def _is_local(v: Any) -> bool:
        return isinstance(v, types.FunctionType) and v.__globals__ is vars(module)

    for key, value in list(globs.items()):
        if _is_local(value):
            globs[key] = copy(value)
        elif str(getattr(value, "__module__", "")).startswith("scipy.special") and hasattr(xsp, key):
            globs[key] = getattr(xsp, key)  # from scipy.special import logsumexp
    return copy(fn)


def listing(entries: list[Entry]) -> str:
    """A Markdown listing of the corpus: per category, its functions and the features they need."""
    lines = ["# The corpus", "", f"{len(entries)} functions; regenerate with `python -m corpus` from tests/.", ""]
    for category in CATEGORIES:
        mine = [e for e in entries if e.category == category]
        lines += [f"## {category} ({len(mine)})", ""]
        lines += [f"- `{e.name}`" + (f" (needs: {', '.join(e.needs)})" if e.needs else "") for e in mine]
        lines.append("")
    return "\n".join(lines)


def load() -> list[Entry]:
    """Import every category module and return the whole corpus."""
    for category in CATEGORIES:
        importlib.import_module(f"{__name__}.{category}")
    assert {e.category for e in CORPUS} <= set(CATEGORIES)
    return CORPUS
