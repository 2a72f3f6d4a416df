"""What a traced function reads besides its arguments, and whether it still reads the same values.

Compiled code bakes in the values the trace saw: module globals, closure cells, attributes reached
through ``module.name``, the attributes of objects it reads (``self`` of a bound method included),
the defaults of the functions it calls. :func:`collect` finds them by reading the bytecode of the
function and of every Python function reachable from it, and snapshots each one. The snapshot gives

* ``check``: the condition, as Python source, that every value is still the one the code was made
  from: by identity (immutable values), identity plus the bytes of an array (arrays up to
  ``snapshots.COPY_LIMIT`` bytes, a BLAKE2 digest of larger ones), identity plus a deep comparison
  (lists, dicts, sets, tuples of arrays). The fast path runs it on every call;
* ``memo``: the key of the in-memory cache, and ``disk``: the key of the on-disk cache (None when a
  value cannot be hashed across processes, e.g. an object without ``__dict__``): both are hashes of
  the values read, so a changed global gives new keys and a restored one finds the old code.

Reading the process environment (``os.environ``, ``os.getenv``) inside a traced function is refused
with :class:`~symdiff.errors.EnvironmentReadError`: nothing tells symdiff when it changes.

>>> import numpy as np
>>> SCALE = 2.0
>>> def f(x):
...     return np.sum(x) * SCALE
>>> reads = collect(f)
>>> reads.fresh()
True
>>> SCALE = 3.0
>>> reads.fresh(), collect(f).memo != reads.memo
(False, True)
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
import site
import sysconfig
import types
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import EnvironmentReadError
from .opcodes import name_loads
from .fingerprint import Unpinnable, _code, _value, file_digest, symdiff_digest
from .snapshots import digest, equal, memo_value, same, snapshot


#: A name that is not there (a global deleted, an empty cell).
ABSENT = type("Absent", (), {"__repr__": lambda self: "<absent>"})()

_LIBRARIES = {"numpy", "math", "builtins", "symdiff", "scipy", "sympy", "cmath", *sys.stdlib_module_names}
_ENV = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _site_folders() -> set[str]:
    """Where installed packages live: this environment's, and the system's a venv made with
    --system-site-packages also reads (and the user's site folder)."""
    folders = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    folders.update(getattr(site, "getsitepackages", lambda: [])())
    if getattr(site, "ENABLE_USER_SITE", False):
        folders.add(site.getusersitepackages())
    return folders


_INSTALLED = tuple(str(Path(p).resolve()) + os.sep for p in _site_folders())


@lru_cache(maxsize=None)
def _installed(top: str) -> bool:
    """Whether the top-level module ``top`` is the standard library or an installed package (its
    code is taken as fixed) rather than the user's own code."""
    if top in _LIBRARIES:
        return True
    path = getattr(sys.modules.get(top), "__file__", None)
    return path is not None and bool(path) and str(Path(path).resolve()).startswith(_INSTALLED)


_METHODS = (types.FunctionType, staticmethod, classmethod, property)


def _library(v: Any) -> bool:
    name = getattr(v, "__name__", "") if isinstance(v, types.ModuleType) else getattr(v, "__module__", None)
    if not isinstance(name, str):
        name = type(v).__module__
    return _installed(name.split(".")[0])


def _env_message(where: str) -> str:
    return (f"{where}: the function reads the process environment, which symdiff cannot watch: compiled code "
            "would silently keep the value of its first call. Read the variable outside the function and pass "
            "it as an argument, or store it in a module constant the function reads (constants are tracked)")


def _env_object(v: Any) -> bool:
    return isinstance(v, (os._Environ, types.BuiltinFunctionType, types.FunctionType)) and any(
        v is getattr(os, n, ABSENT) for n in _ENV)


@lru_cache(maxsize=1024)
def _compiled_check(source: str) -> types.CodeType:
    return compile(source, "<symdiff freshness>", "exec")


@lru_cache(maxsize=4096)
def _chains(code: types.CodeType) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """``(kind, name, attributes)`` of each global (``"g"``) or closure (``"c"``) name the code and
    its nested code objects load, with the attribute names read from it right after (``a.b.c``)."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    for c in [code, *(k for k in code.co_consts if isinstance(k, types.CodeType))]:
        if c is not code:
            out.extend(_chains(c))
            continue
        for opname, name, attrs in name_loads(c):
            out.append(("c" if "DEREF" in opname else "g", name, attrs))
    return tuple(sorted(set(out)))


class Reads:
    """The values one trace reads, snapshotted: see the module docstring."""

    def __init__(self, items: list[tuple], disk: str | None, memo: str, keep: list[Any]) -> None:
        self.items, self.disk, self.memo, self._keep = items, disk, memo, keep
        names: dict[str, Any] = {"ABSENT": ABSENT, "_same": same, "_digest": digest, "_equal": equal}
        conds = []
        for i, (label, kind, where, name, value, snap) in enumerate(items):
            names[f"W{i}"], names[f"V{i}"] = where, value
            cur = {"ns": f"W{i}[{name!r}]", "cell": f"W{i}.cell_contents", "attr": f"W{i}.{name}",
                   "len": f"len(W{i})"}[kind]  # a name gone raises: caught, not fresh
            if kind == "ns" and value is ABSENT:
                conds.append(f"{name!r} not in W{i}")
            elif kind == "len":
                conds.append(f"{cur} == V{i}")
            elif isinstance(value, np.ndarray):
                names[f"S{i}"] = snap
                test = {"b": f"V{i}.tobytes() == S{i}[2]", "c": f"_equal(V{i}, S{i}[2])",
                        "d": f"_digest(V{i}) == S{i}[2]"}[snap[3]]
                conds.append(f"({cur} is V{i} and V{i}.shape == S{i}[0] and V{i}.dtype == S{i}[1] and {test})")
            elif snap is not None:
                names[f"S{i}"] = snap
                conds.append(f"({cur} is V{i} and _same(V{i}, S{i}))")
            else:
                conds.append(f"{cur} is V{i}")
        #: ``(condition, names)``: Python source true while every value read is unchanged.
        self.check = (" and ".join(conds) or "True", names)
        source = (f"def fresh():\n    try:\n        return {self.check[0]}\n"
                  "    except Exception:\n        return False\n")
        exec(_compiled_check(source), names)  # noqa: S102 - built from our own items
        self.fresh: Callable[[], bool] = names.pop("fresh")

    def changed(self) -> list[str]:
        """Labels of the values that are no longer the ones read (for messages and tests)."""
        return [item[0] for item in self.items if not Reads([item], None, "", []).fresh()]


def _current(kind: str, where: Any, name: str | None) -> Any:
    try:
        if kind == "ns":
            return where.get(name, ABSENT)
        if kind == "cell":
            return where.cell_contents
        if kind == "attr":
            return getattr(where, str(name))
        return len(where)
    except (ValueError, AttributeError):  # an empty cell
        return ABSENT



class _Collector:
    def __init__(self) -> None:
        self.items: list[tuple] = []
        self.keep: list[Any] = []
        self.seen: set[int] = set()
        self.done: set[tuple] = set()
        self.disk = hashlib.sha256(symdiff_digest().encode())
        self.memo = hashlib.sha256()
        self.pinned = True

    def token(self, text: str, data: bytes = b"") -> None:
        for h in (self.disk, self.memo):
            h.update(text.encode() + b"\0" + data)

    def read(self, label: str, kind: str, where: Any, name: str | None) -> Any:
        if (id(where), kind, name) in self.done:
            return _current(kind, where, name)
        self.done.add((id(where), kind, name))
        self.keep.append(where)
        value = _current(kind, where, name)
        if _env_object(value):
            raise EnvironmentReadError(_env_message(label))
        self.items.append((label, kind, where, name, value, snapshot(value) if kind != "len" else None))
        self.pin(label, value)
        self.expand(label, value)
        return value

    def pin(self, label: str, v: Any) -> None:
        """Hash ``v`` into both keys; an object that cannot be hashed across processes only into ``memo``."""
        self.keep.append(v)
        if v is ABSENT:
            return self.token(f"{label} absent")
        if isinstance(v, types.ModuleType):
            path = getattr(v, "__file__", None)
            digest = file_digest(path) if path and not _library(v) and Path(path).is_file() else ""
            return self.token(f"{label} module {v.__name__} {digest}")
        if isinstance(v, types.CodeType):
            return self.token(f"{label} code")  # hashed by function()
        if isinstance(v, type):
            return self.token(f"{label} class {v.__module__}.{v.__qualname__}")
        if isinstance(v, (types.FunctionType, types.MethodType)) or (
                _library(v) and isinstance(v, (types.BuiltinFunctionType, np.ufunc))):
            return self.token(f"{label} callable {getattr(v, '__module__', '')}.{getattr(v, '__qualname__', '')}")
        if type(v).__module__.split(".")[0] == "symdiff" and hasattr(v, "fn"):
            return self.token(f"{label} transformed {getattr(v, 'entry', '')} {getattr(v, 'wrt', '')}")
        if hasattr(v, "__dict__") and not _library(v) and not isinstance(v, (list, dict, tuple, set,
                                                                              functools.partial)):
            return self.token(f"{label} object {type(v).__module__}.{type(v).__qualname__}")  # attributes: read
        h = hashlib.sha256()
        try:
            _value(v, h, set())
        except (Unpinnable, OSError, RecursionError):
            self.pinned = False  # this process only: the content of containers, other objects by identity
            h = hashlib.sha256(label.encode())
            memo_value(v, h)
            self.memo.update(h.digest())
            return None
        self.token(f"{label} value", h.digest())
        return None

    def expand(self, label: str, v: Any) -> None:
        """Read what ``v`` makes the trace read in turn: a function's globals, an object's attributes."""
        if id(v) in self.seen or v is ABSENT or isinstance(v, (str, bytes, int, float, np.ndarray)):
            return
        self.seen.add(id(v))
        self.keep.append(v)  # its id stays its own while the collection runs
        if isinstance(v, (list, tuple, set)) or isinstance(v, dict):
            for k, x in enumerate(v.values() if isinstance(v, dict) else v):
                if not isinstance(x, (str, bytes, int, float, np.ndarray)):
                    self.expand(f"{label}[{k}]", x)
        elif _library(v) and not isinstance(v, (types.MethodType, staticmethod, classmethod, functools.partial,
                                                 property)):
            wrapped = getattr(v, "__wrapped__", None)  # functools.lru_cache and other wrappers
            if isinstance(wrapped, types.FunctionType):
                self.expand(f"{label}.__wrapped__", wrapped)
        elif isinstance(v, types.FunctionType):
            self.function(v, label)
        elif isinstance(v, types.MethodType):
            self.expand(f"{label}.__self__", v.__self__)
            self.expand(label, v.__func__)
        elif type(v).__module__.split(".")[0] == "symdiff" and callable(getattr(v, "fn", None)):
            self.expand(f"{label}.fn", v.fn)
        elif isinstance(v, (staticmethod, classmethod)):
            self.expand(label, v.__func__)
        elif isinstance(v, property):
            for part in (v.fget, v.fset, v.fdel):
                self.expand(label, part)
        elif isinstance(v, functools.partial):
            self.expand(f"{label}.func", v.func)
            self.expand(f"{label}.args", (v.args, v.keywords))
        elif isinstance(v, type):
            for cls in v.__mro__:
                if not _library(cls):
                    for name, x in sorted(vars(cls).items()):
                        if not (name.startswith("__") and name.endswith("__")) or isinstance(x, _METHODS):
                            self.read(f"{cls.__qualname__}.{name}", "ns", vars(cls), name)
        elif not isinstance(v, types.ModuleType) and isinstance(getattr(v, "__dict__", None), dict):
            self.read(f"{label}.__class__", "attr", v, "__class__")
            attrs = vars(v)
            self.read(f"len(vars({label}))", "len", attrs, None)
            for name in sorted(attrs):
                self.read(f"{label}.{name}", "ns", attrs, name)

    def function(self, fn: types.FunctionType, label: str, top: bool = False) -> None:
        self.seen.add(id(fn))
        try:
            path = inspect.getsourcefile(fn)
        except TypeError:
            path = None
        if path and Path(path).is_file():
            self.token(f"fn {fn.__module__}.{fn.__qualname__} {file_digest(path)}")
        else:
            self.pinned = False  # no source file (a REPL): this process only
            self.memo.update(f"fn {id(fn.__code__)}".encode())
        code = hashlib.sha256()
        _code(fn.__code__, code)
        self.token(f"code {fn.__qualname__}", code.digest())
        for attr in ("__defaults__", "__kwdefaults__") if not top else ():  # the transformed function's own
            if getattr(fn, attr) is not None:                                  # are arguments, not baked in
                self.read(f"{fn.__qualname__}.{attr}", "attr", fn, attr)
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        for kind, name, attrs in _chains(fn.__code__):
            if kind == "c" and name not in cells:
                continue  # a cell of this function itself: a local variable
            where = f"{fn.__qualname__}: {'closure' if kind == 'c' else 'global'} {name}"
            if kind == "c":
                v = self.read(where, "cell", cells[name], None)
            else:
                v = self.read(where, "ns", fn.__globals__, name)
            for attr in attrs:  # module.name: follow modules (user modules; os for the environment)
                if not isinstance(v, types.ModuleType):
                    break
                if v is os and attr in _ENV:
                    raise EnvironmentReadError(_env_message(f"{where}.{attr}"))
                if _library(v):
                    break
                where = f"{where}.{attr}"
                v = self.read(where, "ns", vars(v), attr)


def after_compile(fn: Callable, reads: Reads) -> None:
    """Warn (once per function) when tracing ``fn`` changed values it reads (a global counter, a list it
    appends to): its code is then compiled again on every call, never served stale, but slowly."""
    if reads.fresh() or id(fn) in _warned:
        return
    _warned.add(id(fn))
    name = getattr(fn, "__qualname__", repr(fn))
    warnings.warn(f"{name} changes values it reads while it runs ({', '.join(reads.changed())}): symdiff compiles "
                  "its gradient again on every call. Keep that state outside the function, or pass it as an argument",
                  stacklevel=4)


_warned: set[int] = set()


def collect(fn: Callable) -> Reads:
    """Snapshot what ``fn`` (a function, bound method or transformed function) reads, now."""
    c = _Collector()
    while type(fn).__module__.split(".")[0] == "symdiff" and hasattr(fn, "fn"):
        c.token(f"transformed {getattr(fn, 'entry', '')} {getattr(fn, 'wrt', '')}")
        fn = fn.fn
    if isinstance(fn, types.MethodType):
        c.expand("self", fn.__self__)
        fn = fn.__func__
    if isinstance(fn, types.FunctionType):
        c.function(fn, fn.__qualname__, top=True)
    else:  # a callable object: its own state is not visible, so this process only
        c.pinned = False
        c.memo.update(f"callable {id(fn)}".encode())
        c.keep.append(fn)
    return Reads(c.items, c.disk.hexdigest() if c.pinned else None, c.memo.hexdigest(), c.keep)


#: Reads that are never fresh: the state of a transformed function before its first call.
NEVER = Reads([("never", "len", (), None, -1, None)], None, "", [])
