"""Generated modules on disk: written atomically to the cache folder, imported from there,
so tracebacks, ``inspect.getsource`` and pdb show the generated lines.

The folder is ``$SYMDIFF_CACHE_DIR`` when set, else ``symdiff`` under the user cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import linecache
import os
import sys
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import CacheWarning

from ..escape import check_compiles


def cache_dir() -> Path:
    env = os.environ.get("SYMDIFF_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symdiff"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, text: str | bytes) -> Path:
    """Write ``text`` (or bytes) to ``path`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary open() would have made it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def store_module(source: str, stem: str, folder: Path | None = None, arrays=()) -> Path:
    """Store ``source`` in the cache folder (or ``folder``), named by its hash; return the path. The
    text is compiled first: a module that does not compile is never written. ``arrays``: the constants
    stored beside it (``<module>.<name>.npy``, see :func:`write_module`)."""
    data = source.encode()
    path = (folder or cache_dir()) / f"{stem}_{hashlib.sha256(data).hexdigest()[:16]}.py"
    check_compiles(source, os.fspath(path))
    try:
        same = path.read_bytes() == data and all(_same_file(path, a) for a in arrays)
    except OSError:
        same = False
    if not same:
        write_module(path, source, arrays)
    return path


def _same_file(module: Path, array) -> bool:
    try:
        return module.with_name(array.file_name(module.stem)).read_bytes() == array.npy
    except OSError:
        return False


def write_module(path: str | os.PathLike, source: str, arrays=()) -> Path:
    """Write a module and the ``.npy`` files of its stored constants (each ``array`` has ``file_name(stem)``
    and the ``npy`` bytes) beside it, each atomically: the data files first, then the module; if any
    write fails, the data files this call wrote are removed again, and the module is not written."""
    path = Path(path)
    written: list[Path] = []
    try:
        for a in arrays:
            target = path.with_name(a.file_name(path.stem))
            existed = target.exists()
            write_atomic(target, a.npy)
            if not existed:
                written.append(target)
        write_atomic(path, source)
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        raise
    return path


def import_file(path: Path, text: str | None = None) -> ModuleType:
    """Import the module at ``path``; with ``text``, run that text (already verified) as its code. The
    code is compiled (and checked) before anything of it runs."""
    code = check_compiles(Path(path).read_text(encoding="utf-8") if text is None else text, os.fspath(path))
    spec = importlib.util.spec_from_file_location(f"symdiff_generated_{path.stem}", path)
    assert spec is not None  # (a .py file's path always has one)
    module = importlib.util.module_from_spec(spec)
    # importable by its name (numba's on-disk cache finds a kernel's module by name in a new process)
    sys.modules[spec.name] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - our module: compiled above, checked by sha256 on a disk hit
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return module


def import_text(text: str, stem: str, arrays=()) -> ModuleType:
    """A module run from ``text`` alone (no folder could be written), its lines kept for tracebacks. A
    module with stored constants (``arrays``) cannot be: it loads them from files beside it."""
    if arrays:
        from ..errors import UnsupportedError
        names = ", ".join(a.describe() for a in arrays)
        raise UnsupportedError(f"{stem}: no folder could be written for its generated module, which keeps its "
                               f"large constants in .npy files beside it ({names}); set SYMDIFF_CACHE_DIR to a "
                               "writable folder, or pass the arrays as arguments")
    name = f"<symdiff generated {stem}>"
    linecache.cache[name] = (len(text), None, text.splitlines(keepends=True), name)
    module = ModuleType(f"symdiff_generated_{stem}")
    module.__file__ = name
    exec(compile(text, name, "exec"), module.__dict__)  # noqa: S102 - code symdiff just generated
    return module


# ---- when the cache folder cannot be written: a temporary folder for this process, one warning ----

_broken: set[str] = set()
_fallback: Path | None = None
_warned = False


def _fallback_dir(exc: OSError) -> Path | None:
    """A folder for this process's modules when the cache folder cannot be written (None: none can)."""
    global _fallback, _warned
    _broken.add(str(cache_dir()))
    if _fallback is None:
        try:
            _fallback = Path(tempfile.mkdtemp(prefix="symdiff-"))
        except OSError:
            pass
    if not _warned:
        _warned = True
        where = f"kept in {_fallback} for this process only" if _fallback else "kept in memory only"
        warnings.warn(f"symdiff cannot write its cache folder {cache_dir()} ({exc}); compiled gradients are {where}. "
                      "Set SYMDIFF_CACHE_DIR to a writable folder to reuse them in later processes.",
                      CacheWarning, stacklevel=7)  # the call of the transformed function
    return _fallback


def save(source: str, stem: str, key: str | None, guard, graph: str, paths, dot: str = "",
         arrays=()) -> Path | None:
    """Store a compiled module (and its stored constants ``arrays``; with ``key``, its index entry); if the
    cache folder cannot be written, store it in a temporary folder instead; None if no folder can be written."""
    if str(cache_dir()) not in _broken:
        try:
            path = store_module(source, stem, None, arrays)
            if key:
                remember(key, path, stem, guard, graph, paths, dot)
            return path
        except OSError as exc:
            folder = _fallback_dir(exc)
    else:
        folder = _fallback
    try:
        return store_module(source, stem, folder, arrays) if folder else None
    except OSError:
        return None


# ---- the index: which module serves which (function fingerprint, signature) ----

def _index_path(key: str) -> Path:
    return cache_dir() / "index" / f"{key}.json"


def _valid(e: Any) -> bool:
    """An index entry of the right shape (anything else in an index file is ignored)."""
    def ints(g: Any) -> bool:
        return isinstance(g, list) and len(g) == 3 and all(type(i) is int for i in g)
    return (isinstance(e, dict) and isinstance(e.get("module"), str) and e["module"].endswith(".py")
            and e["module"] == Path(e["module"]).name and isinstance(e.get("func_name"), str)
            and e["func_name"].isidentifier() and isinstance(e.get("graph"), str) and isinstance(e.get("dot"), str)
            and isinstance(e.get("sha256"), str) and isinstance(e.get("guard"), list) and all(map(ints, e["guard"]))
            and isinstance(e.get("paths"), list) and len(e["paths"]) > 0
            and all(isinstance(p, list) and all(type(b) is bool for b in p) for p in e["paths"]))


def lookup(key: str) -> list[dict]:
    """Entries stored under ``key``: dicts with ``module`` (file name), ``func_name``, ``guard``, ``graph``,
    ``dot`` (the graph picture), ``paths`` and ``sha256`` (of the module's bytes). An unreadable index,
    or entries of the wrong shape, count as none."""
    try:
        entries = json.loads(_index_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if _valid(e)] if isinstance(entries, list) else []


def load(entry: dict) -> tuple[Path, str] | None:
    """The path and text of an index entry's module, if its bytes still have the recorded sha256."""
    path = cache_dir() / entry["module"]
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return (path, text) if hashlib.sha256(data).hexdigest() == entry["sha256"] else None


def from_disk(key: str, fits, entry_point: str) -> tuple[Any, Any]:
    """The first module stored under ``key`` whose guard ``fits`` the arguments, verified and imported, as
    ``(Compiled, module)``; ``(None, None)`` if there is none. A module that fails its check or its import
    is skipped (and replaced when the code is compiled again)."""
    from .specs import Compiled
    for entry in lookup(key):
        guard = tuple(tuple(g) for g in entry["guard"])
        found = load(entry) if fits(guard) else None
        if found is None:
            continue
        try:
            module = import_file(*found)
        except Exception:  # noqa: BLE001 - a broken file is a cache miss, never an error of the call
            continue
        if callable(getattr(module, f"{entry['func_name']}_{entry_point}", None)):
            return Compiled(found[1], entry["graph"], entry["func_name"], guard,
                            tuple(tuple(p) for p in entry["paths"]), entry["dot"]), module
    return None, None


def remember(key: str, module: Path, func_name: str, guard, graph: str, paths=((),), dot: str = "") -> None:
    """Record ``module`` under ``key`` (replacing the entry with the same guard: a module grown by
    another branch replaces the one it grew from)."""
    entries = [e for e in lookup(key) if e["guard"] != [list(g) for g in guard]]
    entries.append({"module": module.name, "func_name": func_name, "guard": [list(g) for g in guard], "graph": graph,
                    "dot": dot,
                    "paths": [list(p) for p in paths], "sha256": hashlib.sha256(module.read_bytes()).hexdigest()})
    write_atomic(_index_path(key), json.dumps(entries, indent=1))
