"""Stand-ins, active only while a function is traced, for what NumPy's dispatch cannot reach.

- Array constructors (``np.zeros``, ``np.ones``, ``np.empty``, ``np.full``, ``np.eye``, ``np.array``
  and the ``*_like`` forms on constants) return constant Tracers, so the function may assign
  traced values into them (``a = np.zeros(n); a[i] = x[i] ** 2``). Constant Tracers behave as the
  arrays they hold: NumPy computes on them at trace time and ``np.asarray`` gives the array back.
- ``np.array``/``np.asarray`` of (lists of) traced values stack them.
- ``math`` functions of traced scalars become their NumPy counterparts.
- ``scipy.special.logsumexp``/``softmax``/``log_softmax`` of traced values become symdiff's, when
  SciPy is loaded; SciPy's ufuncs (``expit``, ``erf``, ``gammaln``, ...) are registry entries.

Calls from symdiff's or NumPy's own code always get the originals. Patching is process-wide but
reference counted and guarded by a lock; outside tracing every stand-in is the original.
"""
from __future__ import annotations

import contextlib
import math
import threading
from typing import Any, Callable, Iterator

import numpy as np

from ..ir.primitives import arange as iota
from . import random_standins
from .dispatch import _holds_tracer, as_node
from ..errors import UnsupportedError, where
from .tracer import _from_user, _tracing, current_trace, user_origin

_LOCK = threading.RLock()
_ACTIVE = [0]
_SAVED: list[tuple[Any, str, Any]] = []


def _values():
    from . import values
    return values


# ---------------------------------------------------------------- NumPy constructors --------------

def _constructor(orig: Callable, fill: str | None = None) -> Callable:
    def make(*args, **kwargs):
        if not (_tracing() and _from_user()):
            return orig(*args, **kwargs)
        v = _values()
        if fill == "full" and len(args) >= 2 and isinstance(args[1], v.Tracer):  # np.full(n, traced value)
            return _typed(np.broadcast_to(args[1], args[0]).copy(), args[2:], kwargs)
        if fill in ("like", "empty") and args and isinstance(args[0], (v.Tracer, v.TracerList)):
            # traced: the registry's entry handles it; np.empty_like gives zeros (never old memory)
            return (_ORIG["zeros_like"] if orig is _ORIG["empty_like"] else orig)(*args, **kwargs)
        if fill == "empty":  # deterministic contents for memory NumPy leaves uninitialised
            result = np.zeros(*args, **kwargs) if orig is _ORIG["empty"] else np.zeros_like(*args, **kwargs)
        else:
            result = orig(*args, **kwargs)
        return v.const_tracer(result) if isinstance(result, np.ndarray) else result
    make.__name__, make.__doc__, make.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore[attr-defined]
    make.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return make


def _array(orig: Callable, fresh: bool) -> Callable:
    def array(obj, *args, **kwargs):
        if not (_tracing() and _from_user()):
            return orig(obj, *args, **kwargs)
        v = _values()
        if isinstance(obj, v.Tracer):
            if obj.is_const():
                return v.const_tracer(orig(obj.node.param("value").array, *args, **kwargs)) if fresh else obj
            return _typed(obj.copy() if fresh else obj, args, kwargs)
        if _holds_tracer(obj):  # a list of traced values: stacked, as NumPy converts it
            return _typed(v.Tracer(as_node(obj)), args, kwargs)
        result = orig(obj, *args, **kwargs)
        return v.const_tracer(result) if fresh and isinstance(result, np.ndarray) else result
    array.__name__, array.__doc__, array.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore[attr-defined]
    array.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return array


def _typed(t: Any, args: tuple, kwargs: dict) -> Any:
    """``t`` with the ``dtype`` given first in ``args`` or by keyword, if any (integer dtypes are refused:
    they would truncate, see :meth:`symdiff.trace.values.Tracer.astype`)."""
    dtype = kwargs.get("dtype", args[0] if args else None)
    return t.astype(dtype) if dtype is not None else t


def _of_list(orig: Callable) -> Callable:
    """A NumPy function given a list holding traced values (``np.mean([a, b])``): NumPy would convert the
    list to one array first, so the stand-in stacks it into one traced array."""
    def reduce(a, *args, **kwargs):
        v = _values()
        if _tracing() and isinstance(a, (list, tuple)) and _holds_tracer(a):
            a = v.Tracer(as_node(a))
        return orig(a, *args, **kwargs)
    reduce.__name__, reduce.__doc__, reduce.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore
    reduce.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return reduce


def _arange(orig: Callable) -> Callable:
    """``np.arange(n)`` of a size with no value at trace time (``--shape X=n,d``): the positions as a traced
    int64 array, ``np.arange(n)`` in the generated code; a size with a value gives the constant, as before."""
    def arange(*args, **kwargs):
        v = _values()
        if _tracing() and _from_user() and len(args) == 1 and isinstance(args[0], v.Size) and \
                set(kwargs) <= {"dtype"} and np.dtype(kwargs.get("dtype", int)).kind == "i":
            tr = current_trace()
            if tr.value(args[0].expr) is None:
                return v.Tracer(tr.note(iota(tr.resolve(args[0].expr), user_origin())))
        if _tracing() and any(isinstance(a, v.Tracer) and not a.is_const() for a in (*args, *kwargs.values())):
            raise UnsupportedError(f"{where(user_origin())}: np.arange with a traced start, stop or step: its length "
                                   "would depend on the values; write start + step * np.arange(n) with a known n, "
                                   "or np.linspace(start, stop, n)")
        return orig(*args, **kwargs)
    arange.__name__, arange.__doc__, arange.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore
    arange.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return arange


_LIST_FUNCTIONS = ("sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "cumsum", "average", "ptp")

_ORIG: dict[str, Callable] = {name: getattr(np, name) for name in (
    "zeros", "ones", "empty", "full", "eye", "identity", "zeros_like", "ones_like", "empty_like", "full_like",
    "array", "asarray", "arange", *(n for n in _LIST_FUNCTIONS if hasattr(np, n)))}
_NUMPY_STANDINS = {
    "zeros": _constructor(np.zeros), "ones": _constructor(np.ones), "empty": _constructor(np.empty, "empty"),
    "full": _constructor(np.full, "full"), "eye": _constructor(np.eye), "identity": _constructor(np.identity),
    "zeros_like": _constructor(np.zeros_like, "like"), "ones_like": _constructor(np.ones_like, "like"),
    "empty_like": _constructor(np.empty_like, "empty"), "full_like": _constructor(np.full_like, "like"),
    "array": _array(np.array, fresh=True), "asarray": _array(np.asarray, fresh=False), "arange": _arange(np.arange),
    **{name: _of_list(getattr(np, name)) for name in _LIST_FUNCTIONS if hasattr(np, name)},
}


# ---------------------------------------------------------------- math ----------------------------

def _math_log(x, base=None):
    return np.log(x) if base is None else np.log(x) / np.log(base)


_MATH = {
    "exp": np.exp, "expm1": np.expm1, "log": _math_log, "log1p": np.log1p, "log2": np.log2, "log10": np.log10,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "atan2": np.arctan2, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "hypot": np.hypot, "pow": np.power,
    "fabs": np.fabs, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "degrees": np.degrees,
    "radians": np.radians, "cbrt": np.cbrt, "exp2": np.exp2,
}


def _math_standin(name: str, orig: Callable) -> Callable:
    def standin(*args):
        if _tracing() and any(isinstance(a, (_values().Tracer, _values().Size)) for a in args):
            if name in ("erf", "erfc", "lgamma"):
                import scipy.special as special
                fn = {"erf": special.erf, "erfc": special.erfc, "lgamma": special.gammaln}[name]
                return fn(*args)
            return _MATH[name](*args)
        return orig(*args)
    standin.__name__, standin.__doc__, standin.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore
    return standin


_MATH_ORIG = {name: getattr(math, name) for name in [*_MATH, "erf", "erfc", "lgamma"] if hasattr(math, name)}
_MATH_STANDINS = {name: _math_standin(name, orig) for name, orig in _MATH_ORIG.items()}


# ---------------------------------------------------------------- other libraries -----------------

#: ``provide() -> [(target, name, stand-in)]``: stand-ins of other libraries, asked at each installation
#: (the SciPy registry, :mod:`symdiff.scipy.special`, adds those of ``scipy.special``).
PROVIDERS: list[Callable[[], list[tuple[Any, str, Callable]]]] = []


# ---------------------------------------------------------------- activation ----------------------

@contextlib.contextmanager
def active(fn: Callable | None = None) -> Iterator[None]:
    """Install the stand-ins for the duration of a trace (nested traces share one installation).
    ``fn``'s module globals bound to ``math`` functions (``from math import exp``) are covered too."""
    with _LOCK:
        if _ACTIVE[0] == 0:
            _install(fn)
        _ACTIVE[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[0] -= 1
            if _ACTIVE[0] == 0:
                for target, name, orig in reversed(_SAVED):
                    if isinstance(target, dict):
                        target[name] = orig
                    else:
                        setattr(target, name, orig)
                _SAVED.clear()


def _install(fn: Callable | None) -> None:
    def put(target, name, value):
        old = target[name] if isinstance(target, dict) else getattr(target, name)
        _SAVED.append((target, name, old))
        if isinstance(target, dict):
            target[name] = value
        else:
            setattr(target, name, value)
    for name, standin in _NUMPY_STANDINS.items():
        put(np, name, standin)
    for name, standin in _MATH_STANDINS.items():
        put(math, name, standin)
    random_standins.install(put, fn)  # np.random: draws recorded, generators made outside refused
    provided = {}  # other libraries' functions imported by name (from scipy.signal import convolve2d)
    for provide in PROVIDERS:
        for target, name, standin in provide():
            old = target[name] if isinstance(target, dict) else getattr(target, name)
            if old is not standin:
                provided[id(old)] = standin
            put(target, name, standin)
    glob = getattr(fn, "__globals__", None)
    if isinstance(glob, dict):  # names bound when the user's module was imported (from scipy.special import ...)
        by_id = {id(orig): _MATH_STANDINS[name] for name, orig in _MATH_ORIG.items()}
        by_id.update(provided)
        by_id.update({id(_ORIG[name]): s for name, s in _NUMPY_STANDINS.items()})
        by_id.update(provided)
        for key, value in list(glob.items()):
            if id(value) in by_id and not key.startswith("__"):
                put(glob, key, by_id[id(value)])
