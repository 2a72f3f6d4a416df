"""The user's names of the large arrays a function reads (module globals, closure cells, attributes of
``self``), so a constant stored beside the generated module is called ``DATA``, not ``C0``, and an error
can say where it was assigned (``model.py:12``). Only names and places: nothing here decides staleness
(see :mod:`symdiff.runtime.freshness`)."""
from __future__ import annotations

import ast
import inspect
import os
import types
from functools import lru_cache
from typing import Any, Callable

import numpy as np


def _codes(code: types.CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _codes(c)


@lru_cache(maxsize=64)
def _assignments(filename: str, mtime: float) -> dict[str, int]:
    """The line of the last top-level assignment of each name in a source file."""
    try:
        with open(filename, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    lines: dict[str, int] = {}
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else \
            [stmt.target] if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    lines[n.id] = stmt.lineno
    return lines


def _where(filename: str | None, name: str) -> str | None:
    if not filename:
        return None
    try:
        line = _assignments(filename, os.stat(filename).st_mtime).get(name)
    except OSError:
        return None
    return f"{os.path.basename(filename)}:{line}" if line else None


def read_arrays(fn: Callable, min_size: int) -> list[tuple[str, np.ndarray, str | None]]:
    """``(name, array, where)`` of the arrays of more than ``min_size`` elements that ``fn`` reads by a
    name: its globals, its closure cells, attributes of ``self`` (a bound method); ``where`` is the
    ``file:line`` of a global's assignment when the module's source shows it."""
    self = getattr(fn, "__self__", None)
    fn = inspect.unwrap(getattr(fn, "__func__", fn))
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    out: list[tuple[str, np.ndarray, str | None]] = []
    names = {n for c in _codes(code) for n in c.co_names}
    g = getattr(fn, "__globals__", {})
    try:
        filename = inspect.getsourcefile(fn)
    except TypeError:
        filename = None

    def add(name: str, value: Any, where: str | None) -> None:
        if isinstance(value, np.ndarray) and value.size > min_size:
            out.append((name, value, where))

    for name in sorted(names):
        if name in g:
            add(name, g[name], _where(filename, name))
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            add(name, cell.cell_contents, None)
        except ValueError:  # an empty cell
            pass
    attrs = getattr(self, "__dict__", None)
    if isinstance(attrs, dict):
        for name in sorted(names & set(attrs)):
            add(name, attrs[name], None)
    return out
