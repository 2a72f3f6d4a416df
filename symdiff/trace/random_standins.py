"""Trace-time stand-ins for ``np.random``: its functions, ``default_rng`` and ``RandomState``.

Installed by :func:`symdiff.trace.patches.active` with the other stand-ins; only the user's code gets them
(NumPy's and libraries' calls get the originals), and outside tracing every one is the original.
NumPy's random functions are compiled code that calls ``np.empty`` itself: handed a traced size
(or called during a trace at all, with ``np.empty`` a stand-in) it crashed the interpreter. Here the
user's calls never reach it: each draw is recorded (:mod:`symdiff.trace.random_draws`) and drawn by the
generated code. A Generator or RandomState passed as an argument is an :class:`ArgumentGenerator`: the
generated code takes it and makes the same calls on it. Generators made outside the function and read
from its globals or closure are refused with :func:`outside_message`. This module does not import SymPy (the API uses
:func:`is_generator` on cache hits).
"""
from __future__ import annotations

import sys
import types
from typing import Any, Callable

import numpy as np

from . import random_draws as D
from .random_draws import _template
from .tracer import _LIBRARIES, _from_user, _tracing

_RANDOM = np.random
#: The classes NumPy's random module defines, before any stand-in replaces them.
GENERATOR_TYPES = (np.random.Generator, np.random.RandomState, np.random.BitGenerator, np.random.SeedSequence)
_CLASSES = ("RandomState", "Generator", "SeedSequence", "BitGenerator", "PCG64", "PCG64DXSM", "MT19937", "Philox",
            "SFC64")
_ORIG: dict[str, Any] = {name: getattr(np.random, name) for name in dir(np.random)
                         if not name.startswith("_") and callable(getattr(np.random, name))
                         and name not in ("test",)}
_ADVICE = ("create the generator inside the function (rng = np.random.default_rng(seed)), pass the generator "
           "as an argument of the function (def f(w, rng)), or pass the noise as an argument")


def is_generator(value: Any) -> bool:
    return isinstance(value, GENERATOR_TYPES)


def argument_flavour(value: Any) -> str | None:
    """``"generator"`` for a ``np.random.Generator``, ``"legacy"`` for a ``RandomState``, passed as an argument
    (the generated code takes it and draws from it); None for anything else."""
    if isinstance(value, GENERATOR_TYPES[0]):
        return "generator"
    if isinstance(value, GENERATOR_TYPES[1]):
        return "legacy"
    return None


def outside_message(name: str, value: Any) -> str:
    return (f"{name!r} is a {type(value).__name__} made outside the function: its state lives outside the generated "
            f"code, which could not draw what the function draws; {_ADVICE}")


def _active() -> bool:
    return _tracing()


def _here() -> str:
    from ..errors import where
    from .tracer import user_origin
    return where(user_origin())


# ---------------------------------------------------------------- generators made inside ----------

class TracedGenerator:
    """A generator made inside the traced function: its methods record draws from its stream."""

    def __init__(self, flavour: str, node) -> None:
        self._flavour, self._node = flavour, node  # "generator" (default_rng) or "legacy" (RandomState)

    def __getattr__(self, name: str) -> Callable:
        kind = "Generator" if self._flavour == "generator" else "RandomState"
        if name.startswith("__") or not hasattr(_template(self._flavour), name):
            raise AttributeError(f"'{kind}' object has no attribute {name!r}")
        if name in D.FLOAT | D.INT | D.SPECIAL:
            return lambda *args, **kwargs: D._draw(self._flavour, self, self._node, name, args, kwargs)
        from ..errors import UnsupportedError
        raise UnsupportedError(f"{_here()}: {kind}.{name} is not supported inside a traced function (symdiff "
                               f"records draws of scalar distributions, choice and permutation); {D.ADVICE}")

    def __repr__(self) -> str:
        return f"TracedGenerator({self._flavour})"


class ArgumentGenerator(TracedGenerator):
    """A generator passed as the argument ``name``: its draws are recorded as a generator made inside
    would be, from a source that the generated code prints as the argument itself (``rng.random(...)``)."""

    def __init__(self, flavour: str, name: str) -> None:
        self._flavour, self._name, self._source = flavour, name, None

    @property
    def _node(self):  # made at the first draw, in the trace that draws
        if self._source is None:
            from ..ir.primitives import random as R
            from .tracer import current_trace
            self._source = current_trace().note(R.source("argument", D._streams().serial(), (self._name,), None,
                                                         None))
        return self._source

    def __repr__(self) -> str:
        return f"ArgumentGenerator({self._name}, {self._flavour})"


def _seed_code(seed: Any, what: str) -> tuple:
    if seed is None:
        return ()
    if isinstance(seed, (TracedGenerator, SeedRefusal)) or is_generator(seed):
        from ..errors import UnsupportedError
        raise UnsupportedError(f"{_here()}: {what} of a generator or seed sequence is not supported inside a traced "
                               f"function; give an int seed")
    node = getattr(seed, "node", None)
    if node is not None and node.op == "input" and node.dtype == "int64" and node.shape == ():
        return (node.param("name"),)  # an int argument read at run time (an iteration counter): by its name
    if D._is_traced(seed):
        from ..errors import UnsupportedError
        raise UnsupportedError(f"{_here()}: the seed of {what} is a traced value; seeds are constants (an int, or "
                               "an int argument, which the generated code is made for)")
    return (D._literal(seed, f"the seed of {what}"),)


def _new_generator(flavour: str, kind: str, seed: Any) -> TracedGenerator:
    from ..ir.primitives import random as R
    from .tracer import current_trace, user_origin
    if flavour == "generator" and isinstance(seed, TracedGenerator) and seed._flavour == "generator":
        return seed  # default_rng(rng) is rng
    args = _seed_code(seed, f"np.random.{kind}")
    node = R.source(kind, D._streams().serial(), args, None, user_origin())
    return TracedGenerator(flavour, current_trace().note(node))


def _seed(seed: Any = None) -> None:
    from ..ir.primitives import random as R
    from .tracer import user_origin
    args = _seed_code(seed, "np.random.seed")
    streams = D._streams()
    streams.tails["global"] = R.source("seed", streams.serial(), args, streams.tails.get("global"), user_origin())


class SeedRefusal:
    """Placeholder type (never made): seeds of these kinds are refused."""


def _global_call(name: str, args: tuple, kwargs: dict) -> Any:
    from ..errors import UnsupportedError
    if name == "seed":
        return _seed(*args, **kwargs)
    if name == "default_rng":
        return _new_generator("generator", "default_rng", *args, **kwargs)
    if name == "RandomState":
        return _new_generator("legacy", "RandomState", *args, **kwargs)
    if name in _CLASSES:
        raise UnsupportedError(f"{_here()}: np.random.{name}(...) inside a traced function is not supported; use "
                               "np.random.default_rng(seed) (a Generator on PCG64, as Generator(PCG64(seed))) or "
                               "np.random.RandomState(seed)")
    if hasattr(_template("legacy"), name) and (name in D.FLOAT | D.INT | D.SPECIAL):
        return D._draw("legacy", "global", None, name, args, kwargs)
    raise UnsupportedError(f"{_here()}: np.random.{name} is not supported inside a traced function; {D.ADVICE}")


# ---------------------------------------------------------------- the stand-ins -------------------

def _function(name: str, orig: Callable) -> Callable:
    def standin(*args, **kwargs):
        if not (_active() and _from_user()):
            return orig(*args, **kwargs)
        return _global_call(name, args, kwargs)
    standin.__name__, standin.__doc__, standin.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore
    standin.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return standin


class _StandinType(type):
    """A class stand-in: calls from the user's code during a trace are recorded; ``isinstance`` and
    everything else see NumPy's class."""

    def __call__(cls, *args, **kwargs):
        if not (_active() and _from_user()):
            return cls._orig(*args, **kwargs)
        return _global_call(cls._name, args, kwargs)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, cls._orig)

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, cls._orig)

    def __getattr__(cls, name):
        return getattr(cls._orig, name)


def _class(name: str, orig: type) -> type:
    return _StandinType(name, (), {"_orig": orig, "_name": name, "__doc__": orig.__doc__,
                                   "__symdiff_standin__": orig})


_STANDINS = {name: (_class(name, orig) if isinstance(orig, type) else _function(name, orig))
             for name, orig in _ORIG.items()}


class _Outside:
    """Stands, during a trace, for a generator made outside the function: any use is refused."""

    def __init__(self, name: str, value: Any) -> None:
        self._message = outside_message(name, value)

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        from ..errors import UnsupportedError
        raise UnsupportedError(f"{_here()}: {self._message}")


def _user_namespaces(glob: Any) -> list[dict]:
    """The globals of ``fn`` and of every loaded module of the user's (not the standard library's, NumPy's,
    an installed package's or symdiff's): a name bound to an original there would reach NumPy's compiled
    code from the user's code."""
    out = [glob] if isinstance(glob, dict) else []
    for name, module in list(sys.modules.items()):
        user = _USER_MODULES.get(name)
        if not isinstance(module, types.ModuleType):
            continue
        if user is None:
            path = getattr(module, "__file__", None)
            user = _USER_MODULES[name] = isinstance(path, str) and not path.startswith(_LIBRARIES)
        namespace = getattr(module, "__dict__", None)
        if user and isinstance(namespace, dict) and namespace is not glob:
            out.append(namespace)
    return out


_USER_MODULES: dict[str, bool] = {}  # module name -> the module is the user's (its file is not a library's)


def install(put: Callable[[Any, str, Any], None], fn: Callable | None) -> None:
    """Put the stand-ins in place with ``put(target, name, value)`` (which remembers what to restore):
    ``np.random``'s functions, the names ``fn``'s module bound to them, and refusals for generators
    made outside ``fn`` that its globals and closure hold."""
    for name, standin in _STANDINS.items():
        put(_RANDOM, name, standin)
    by_id = {id(orig): _STANDINS[name] for name, orig in _ORIG.items()}
    glob = getattr(fn, "__globals__", None)
    for namespace in _user_namespaces(glob):  # from numpy.random import randn, in any module of the user's
        for key, value in list(namespace.items()):
            if id(value) in by_id and not key.startswith("__"):
                put(namespace, key, by_id[id(value)])
    if isinstance(glob, dict):
        for key, value in list(glob.items()):
            if is_generator(value) and not key.startswith("__"):
                put(glob, key, _Outside(key, value))
    code = getattr(fn, "__code__", None)
    for var, cell in zip(code.co_freevars if code else (), getattr(fn, "__closure__", None) or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if is_generator(value):
            put(cell, "cell_contents", _Outside(var, value))
