"""The command line that regenerates a module, written in its header (``Regenerate (from this file's
folder): symdiff grad ../model.py:loss --wrt w,b --shape x=5 -o loss_grad.py``) and read back by
``symdiff check`` (:mod:`symdiff.check`).

Paths in it are relative to the folder of the generated module, so a module and its source can move
together (a repository checked out anywhere). Every part is quoted with :func:`shlex.quote`; the whole
line is user text and reaches the module only through :func:`symdiff.escape.comment`.
"""
from __future__ import annotations

import inspect
import os
import shlex
from typing import Any, Callable, Sequence

#: The words that start the line in a module's docstring.
PREFIX = "Regenerate (from this file's folder): "


def command_line(kind: str, source: str, name: str, wrt: Sequence[str] | None, shapes: Sequence[tuple[str, str]],
                 static: Sequence[tuple[str, str]], has_aux: bool, output: str | None,
                 folder: str | None = None, dtype: str = "float64", annotate: bool = False,
                 backend: str = "numpy", checkpoint: int | str | None = None) -> str:
    """``symdiff KIND SOURCE:NAME --wrt ... --shape NAME=SIZES ... --static NAME=VALUE ... [--has-aux] [-o OUT]``,
    ``source`` and ``output`` relative to ``folder`` (the output's folder; the working folder without one)."""
    folder = folder or (os.path.dirname(os.path.abspath(output)) if output else os.getcwd())
    words = ["symdiff", kind, f"{_relative(source, folder)}:{name}"]
    if wrt:
        words += ["--wrt", ",".join(wrt)]
    for key, dims in shapes:
        words += ["--shape", f"{key}={dims}"]
    for key, value in static:
        words += ["--static", f"{key}={value}"]
    if has_aux:
        words.append("--has-aux")
    if dtype != "float64":
        words += ["--dtype", dtype]
    if annotate:
        words.append("--annotate")
    if backend != "numpy":
        words += ["--backend", backend]
    if checkpoint is not None:
        words += ["--checkpoint", str(checkpoint)]
    if output:
        words += ["-o", os.path.basename(output)]
    return " ".join(shlex.quote(w) for w in words)


def _relative(path: str, folder: str) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), folder)
    except ValueError:  # another drive (Windows): the absolute path
        return os.path.abspath(path)


def _by_path(shapes: dict[str, Any], prefix: str = ""):
    """``(path, shape)`` pairs of export's shapes, nested declarations of containers' leaves flattened into
    the command line's paths (``{"params": {"W1": (2, 3)}}`` -> ``("params.W1", (2, 3))``)."""
    for key, value in shapes.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _by_path(value, path + ".")
        elif isinstance(value, (list, tuple)) and not all(isinstance(d, (int, str)) for d in value):
            names = getattr(value, "_fields", None) or range(len(value))  # a namedtuple's leaves by field
            yield from _by_path(dict(zip(map(str, names), value)), path + ".")
        else:
            yield path, value


def _dims(value: Any) -> str:
    if isinstance(value, str):
        return value.replace(" ", "")
    return ",".join(str(d) for d in value)


def for_export(fn: Callable, output: str | os.PathLike, wrt: Any, shapes: dict[str, Any] | None, kind: str,
               has_aux: bool, static: dict[str, Any] | None, params: Sequence[str],
               dtype: str = "float64", annotate: bool = False, backend: tuple = ("numpy", ()),
               checkpoint: int | str | None = None) -> str | None:
    """The command of ``symdiff.export(fn, output, ...)``; None when the command line cannot name ``fn``
    (a function defined inside another, in a session without a file, a partial) or its static values."""
    qualname = getattr(fn, "__qualname__", None)
    module = inspect.getmodule(fn)
    try:
        source = inspect.getsourcefile(fn)
    except TypeError:
        return None
    if not isinstance(qualname, str) or "<" in qualname or module is None or source is None:
        return None
    obj: Any = module
    for part in qualname.split("."):  # what `symdiff grad file.py:qualname` would load
        obj = getattr(obj, part, None)
    if obj is not fn:  # (a method is named through its instance on the command line)
        return None
    name, options = backend
    if options and not (name == "numba-parallel" and options == (("parallel", True),)):
        return None  # backend_options have no words on the command line (beyond numba-parallel)
    shapes = dict(_by_path(shapes or {}))  # a container's leaves declared nested: by path, as the CLI takes them
    statics = []
    for key, value in (static or {}).items():
        if not isinstance(value, (bool, int, str)):
            return None
        statics.append((key, repr(value)))
    names = None
    if wrt is not None:
        items = [wrt] if isinstance(wrt, (str, int)) else list(wrt)
        names = [params[w] if isinstance(w, int) else w for w in items]
        if len(names) == 1 and not isinstance(wrt, (str, int)):
            return None  # a one-element tuple returns a tuple of one gradient; the command line gives it bare
    order = {p: k for k, p in enumerate(params)}
    shape_items = sorted(((k, _dims(v)) for k, v in (shapes or {}).items()), key=lambda kv: order.get(kv[0], 0))
    return command_line(kind, source, qualname, names, shape_items, statics, has_aux, os.fspath(output),
                        dtype=dtype, annotate=annotate, backend=name, checkpoint=checkpoint)
