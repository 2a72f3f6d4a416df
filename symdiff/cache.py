"""Generated modules on disk: written atomically to the cache folder, imported from there,
so tracebacks, ``inspect.getsource`` and pdb show the generated lines.

The folder is ``$SYMDIFF_CACHE_DIR`` when set, else ``symdiff`` under the user cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path
from types import ModuleType

from .escape import check_compiles


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


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary open() would have made it
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def store_module(source: str, stem: str) -> Path:
    """Store ``source`` in the cache folder, named by its hash; return the path."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    path = cache_dir() / f"{stem}_{digest}.py"
    check_compiles(source, os.fspath(path))
    if not path.exists() or path.read_text(encoding="utf-8") != source:
        write_atomic(path, source)
    return path


def import_file(path: Path) -> ModuleType:
    check_compiles(Path(path).read_text(encoding="utf-8"), os.fspath(path))
    spec = importlib.util.spec_from_file_location(f"symdiff_generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- the index: which module serves which (function fingerprint, signature) ----

def _index_path(key: str) -> Path:
    return cache_dir() / "index" / f"{key}.json"


def lookup(key: str) -> list[dict]:
    """Entries stored under ``key``: dicts with ``module`` (file name), ``func_name``, ``guard``, ``graph``."""
    try:
        entries = json.loads(_index_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries if (cache_dir() / e.get("module", "")).is_file()]


def remember(key: str, module: Path, func_name: str, guard, graph: str, paths=((),)) -> None:
    """Record ``module`` under ``key`` (replacing the entry with the same guard: a module grown by
    another branch replaces the one it grew from)."""
    entries = [e for e in lookup(key) if e["guard"] != [list(g) for g in guard]]
    entries.append({"module": module.name, "func_name": func_name, "guard": [list(g) for g in guard], "graph": graph,
                    "paths": [list(p) for p in paths]})
    write_atomic(_index_path(key), json.dumps(entries, indent=1))
