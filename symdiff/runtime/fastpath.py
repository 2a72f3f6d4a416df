"""The call fast path of a transformed function: exact keys of a call's arguments, and a guarded
function that runs the generated code when the arguments have the exact key of an earlier call.

A call runs in a few microseconds on small arrays, so the Python around it counts: the guard is one
plain function made for one key (no loop, no tuple built, no dict lookup), e.g. for ``(x, n=3)``::

    def fast(*args):
        if len(args) == 2:
            a0, a1 = args
            if type(a0) is ndarray and a0.dtype is float64 and a0.shape == (10,) and type(a1) is int and a1 == 3:
                try:
                    fresh = W0.get('SCALE', ABSENT) is V0  # the values the code was made from
                except Exception:
                    fresh = False
                if fresh:
                    return func(a0, a1)
        return MISS
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)

#: What a guarded function returns when the arguments do not have its key.
MISS = object()


def miss(*args: Any) -> Any:
    """The guarded function of no key: every call misses."""
    return MISS


def _other_key(a: Any) -> Any:
    t = type(a)
    if t is np.ndarray:  # not float64: float and int64 arrays keep their dtype in the key; others are converted
        return (a.shape, a.dtype) if a.dtype.kind == "f" or a.dtype == _I64 else None
    if t is float:
        return float
    if t is int or t is str:
        return (t, a)
    return None


def exact_key(args: tuple) -> tuple:
    """Exact shapes (and dtypes other than float64; values, for static arguments) of a call; None marks
    an argument that the fast path does not handle. Kept cheap: it runs on every call of a new key."""
    return tuple([a.shape if type(a) is np.ndarray and a.dtype is _F64 else _other_key(a) for a in args])


#: The key part of an int argument read at run time (an iteration counter): its type, not its value.
COUNTER = ("counter",)


def counter_key(key: tuple, positions: frozenset) -> tuple:
    """``key`` with the int arguments at ``positions`` (read at run time by the code) keyed by type only."""
    return tuple(COUNTER if k in positions and isinstance(p, tuple) and p[:1] == (int,) else p
                 for k, p in enumerate(key))


def _test(i: int, part: Any, names: dict[str, Any]) -> str:
    """The condition that argument ``a{i}`` has the key part ``part`` (the exact_key of one argument)."""
    a = f"a{i}"
    if part is float:
        return f"type({a}) is float"
    if part == COUNTER:
        return f"type({a}) is int"
    if isinstance(part, tuple) and len(part) == 2 and part[0] in (int, str):
        names[f"v{i}"] = part[1]
        return f"type({a}) is {part[0].__name__} and {a} == v{i}"
    if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], np.dtype):
        names[f"d{i}"], names[f"s{i}"] = part[1], part[0]
        return f"type({a}) is ndarray and {a}.dtype == d{i} and {a}.shape == s{i}"
    names[f"s{i}"] = part  # a float64 array's shape
    return f"type({a}) is ndarray and {a}.dtype is float64 and {a}.shape == s{i}"


def guarded(key: tuple, func: Callable, check: tuple[str, dict[str, Any]] = ("True", {})) -> Callable:
    """A function that calls ``func(*args)`` when ``exact_key(args) == key`` and the condition
    ``check[0]`` (on the names ``check[1]``: see :mod:`symdiff.runtime.freshness`) holds, and returns
    :data:`MISS` otherwise (``key`` has no None)."""
    names: dict[str, Any] = {**check[1], "ndarray": np.ndarray, "float64": _F64, "func": func, "MISS": MISS}
    params = ", ".join(f"a{i}" for i in range(len(key)))
    tests = " and ".join(_test(i, part, names) for i, part in enumerate(key)) or "True"
    unpack = f"        {params}{',' * (len(key) == 1)} = args\n" if key else ""
    source = (f"def fast(*args):\n"
              f"    if len(args) == {len(key)}:\n"
              f"{unpack}"
              f"        if {tests}:\n"
              f"            try:\n"
              f"                fresh = {check[0]}\n"
              f"            except Exception:\n"
              f"                fresh = False\n"
              f"            if fresh:\n"
              f"                return func({params})\n"
              f"    return MISS\n")
    exec(compile(source, "<symdiff fast path>", "exec"), names)  # noqa: S102 - built from the key alone
    return names["fast"]
