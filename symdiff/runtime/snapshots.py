"""Snapshots of values and their comparison, for :mod:`symdiff.runtime.freshness`: what the content of an array,
list, dict, set or ``functools.partial`` is compared with on each call, and its hash for the in-memory key.

>>> import numpy as np
>>> a = np.arange(3.0)
>>> snap = snapshot(a)
>>> a.tobytes() == snap[2]
True
>>> values = [1.0, a]
>>> frozen = freeze(values)
>>> same(values, frozen)
True
>>> a[0] = 5.0
>>> same(values, frozen)
False
"""
from __future__ import annotations

import functools
import hashlib
import types
from typing import Any

import numpy as np

from .fingerprint import Unpinnable, _value

#: Arrays up to BYTES_LIMIT bytes are checked against a stored copy of their bytes (``tobytes``: about
#: 0.1 us for 5 elements, 0.4 us for 1000); up to COPY_LIMIT bytes with ``np.array_equal`` against a
#: stored copy (about 0.5 ms per 8 MB, and the copy's memory); larger ones by a BLAKE2 digest of their
#: content (about 20 ms per 8 MB, no copy). Each is one pass over the array on every call.
BYTES_LIMIT = 1 << 16
COPY_LIMIT = 1 << 28

_IMMUTABLE = (bool, int, float, complex, str, bytes, type(None), np.generic, types.ModuleType, type,
              types.FunctionType, types.BuiltinFunctionType, range)


def digest(a: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(a).data).digest()


def equal(a: np.ndarray, copy: np.ndarray) -> bool:
    return a.shape == copy.shape and bool(np.array_equal(a, copy, equal_nan=a.dtype.kind in "fc"))


def snapshot(v: Any) -> Any:
    """What the content of ``v`` is compared with on each call; None: identity is enough."""
    if isinstance(v, np.ndarray):
        if v.nbytes <= BYTES_LIMIT or v.dtype.kind not in "biufc":
            return (v.shape, v.dtype, v.tobytes(), "b")
        return (v.shape, v.dtype, v.copy(), "c") if v.nbytes <= COPY_LIMIT else (v.shape, v.dtype, digest(v), "d")
    if isinstance(v, (list, dict, set, tuple, functools.partial)) and not _flat(v):
        return freeze(v)
    return None


def _flat(v: Any) -> bool:
    """A tuple of immutable values: identity says it all."""
    return isinstance(v, tuple) and all(isinstance(x, _IMMUTABLE) and not isinstance(x, np.ndarray) for x in v)


def freeze(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return ("nd", v.shape, v.dtype, v.tobytes())
    if isinstance(v, (list, tuple)):
        return (type(v), tuple(freeze(x) for x in v))
    if isinstance(v, dict):
        return (dict, tuple((k, freeze(x)) for k, x in v.items()))
    if isinstance(v, set):
        return (set, frozenset(v))
    if isinstance(v, functools.partial):
        return (functools.partial, freeze((v.func, v.args, v.keywords)))
    return ("id", v)


def same(v: Any, frozen: Any) -> bool:
    try:
        return _eq(v, frozen)
    except Exception:
        return False


def _eq(v: Any, f: Any) -> bool:
    if isinstance(v, np.ndarray):
        return f[0] == "nd" and v.shape == f[1] and v.dtype == f[2] and v.tobytes() == f[3]
    if isinstance(v, (list, tuple)):
        return type(v) is f[0] and len(v) == len(f[1]) and all(_eq(x, y) for x, y in zip(v, f[1]))
    if isinstance(v, dict):
        return f[0] is dict and len(v) == len(f[1]) and all(k in v and _eq(v[k], x) for k, x in f[1])
    if isinstance(v, set):
        return f[0] is set and frozenset(v) == f[1]
    if isinstance(v, functools.partial):
        return f[0] is functools.partial and _eq((v.func, v.args, v.keywords), f[1])
    return f[0] == "id" and f[1] is v


def memo_value(v: Any, h: "hashlib._Hash") -> None:
    """Hash ``v`` for the in-memory key: what the per-call check compares by content (arrays, containers,
    a partial's arguments) by content, any other object by identity (it is kept alive by its Reads)."""
    if isinstance(v, (list, tuple, set, dict, functools.partial)):
        h.update(type(v).__name__.encode())
        if isinstance(v, functools.partial):
            v = (v.func, v.args, v.keywords)
        for x in (v.items() if isinstance(v, dict) else v):
            memo_value(x, h)
        return
    try:
        _value(v, h, set())
    except (Unpinnable, OSError, RecursionError):
        h.update(f"id {id(v)}".encode())
