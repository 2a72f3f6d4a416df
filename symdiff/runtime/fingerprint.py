"""Hashes of what a compiled gradient depends on. The cache keys themselves come from
:mod:`symdiff.runtime.freshness`, which snapshots the values a trace reads and hashes them with the helpers here
(``_value``, ``_code``, ``file_digest``, ``symdiff_digest``); :func:`fingerprint` is the older whole-function
hash, taken from the function's current state.

It covers the source file of the function (so an edit anywhere in it, helpers included, makes a
new key), the values the function reads from its closure and from module globals (arrays by
content), the source files of functions it calls from other modules, and the versions of
symdiff (its own source files), NumPy and Python. Anything it cannot pin down (an object whose
state it cannot hash, a function without a source file) makes the fingerprint ``None``: that
function is then compiled in every process, never served stale.

>>> import numpy as np
>>> fingerprint(np.sum) is None  # no Python source file: never cached on disk
True
"""
from __future__ import annotations

import hashlib
import inspect
import sys
import types
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .paths import templates_dir

_PKG = Path(__file__).resolve().parent.parent  # the symdiff package


@lru_cache(maxsize=None)
def _file_digest(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_digest(path: str | Path) -> str:
    p = Path(path)
    return _file_digest(str(p), p.stat().st_mtime_ns)


@lru_cache(maxsize=1)
def symdiff_digest() -> str:
    """Hash of symdiff's own sources and templates: a changed symdiff never serves old code."""
    h = hashlib.sha256(f"{sys.version_info[:2]} numpy {np.__version__}".encode())
    # paths relative to their folder: the same symdiff installed elsewhere (site-packages, a checkout) has the same key
    for root, pattern in ((_PKG, "*.py"), (templates_dir(), "*.j2")):
        for path in sorted(root.rglob(pattern)):
            h.update(path.relative_to(root).as_posix().encode() + file_digest(path).encode())
    return h.hexdigest()


class Unpinnable(Exception):
    """A value the fingerprint cannot hash reliably."""


def _value(v: Any, h: "hashlib._Hash", seen: set[int]) -> None:
    if isinstance(v, (bool, int, float, complex, str, bytes, type(None), np.generic)):
        h.update(repr((type(v).__name__, v)).encode())
    elif isinstance(v, np.ndarray):
        h.update(f"nd{v.dtype}{v.shape}".encode() + np.ascontiguousarray(v).tobytes())
    elif isinstance(v, (tuple, list, frozenset)):
        h.update(f"{type(v).__name__}{len(v)}".encode())
        for x in (sorted(v, key=repr) if isinstance(v, frozenset) else v):
            _value(x, h, seen)
    elif isinstance(v, dict):
        h.update(f"dict{len(v)}".encode())
        for k in sorted(v, key=repr):
            _value(k, h, seen)
            _value(v[k], h, seen)
    elif isinstance(v, types.ModuleType):
        h.update(f"module {v.__name__}".encode())
    elif callable(v) and (getattr(v, "__module__", "") or "").split(".")[0] in _LIBRARIES:
        h.update(f"lib {v.__module__}.{getattr(v, '__qualname__', repr(v))}".encode())
    elif isinstance(v, types.FunctionType):
        _function(v, h, seen)
    elif type(v).__module__.split(".")[0] == "symdiff" and hasattr(v, "fn"):
        _function(v.fn, h, seen)  # a transformed function used inside another
    else:
        raise Unpinnable(type(v).__name__)


_LIBRARIES = ("numpy", "math", "builtins", "symdiff", "scipy")


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _code(code: types.CodeType, h: "hashlib._Hash") -> None:
    h.update(f"{code.co_firstlineno} {code.co_names} {code.co_varnames}".encode() + code.co_code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code(const, h)
        else:
            h.update(repr(const).encode())


def _function(fn: types.FunctionType, h: "hashlib._Hash", seen: set[int]) -> None:
    if id(fn) in seen:
        h.update(f"again {fn.__qualname__}".encode())
        return
    seen.add(id(fn))
    try:
        path = inspect.getsourcefile(fn)
    except TypeError:
        path = None
    if not path or not Path(path).is_file():
        raise Unpinnable(f"{fn.__qualname__} has no source file")
    h.update(f"fn {fn.__qualname__} {file_digest(path)}".encode())
    _code(fn.__code__, h)  # two lambdas of one file share a qualname, never their code
    for d in (fn.__defaults__ or ()):
        _value(d, h, seen)
    for cell in fn.__closure__ or ():
        try:
            _value(cell.cell_contents, h, seen)
        except ValueError:  # an empty cell
            h.update(b"empty cell")
    for name in sorted(_names(fn.__code__)):
        if name in fn.__globals__:
            h.update(f"global {name}".encode())
            _value(fn.__globals__[name], h, seen)


def fingerprint(fn: Callable) -> str | None:
    """The cache key part that stands for ``fn`` and everything it reads, or None if it cannot be pinned."""
    if not isinstance(fn, types.FunctionType):
        return None
    h = hashlib.sha256(symdiff_digest().encode())
    try:
        _function(fn, h, set())
    except (Unpinnable, OSError):
        return None
    return h.hexdigest()
