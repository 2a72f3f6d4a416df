"""Stage 5 of the NumPy backend: the module text from the Jinja template in the top-level ``templates/``
folder, checked (names are identifiers, the whole text compiles) before anyone writes or imports it."""
from __future__ import annotations

import dataclasses
import os
import textwrap
from typing import Sequence

import jinja2

from ... import escape
from ...runtime.paths import templates_dir
from .codegen import Function, ModuleText
from .constants import loader_source
from .linebreak import wrap, wrap_lines, wrap_source
from .same_code import loads_name
from .prose import wrap_text


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(os.fspath(templates_dir())),
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, autoescape=False)
        # the only ways user text enters the module text: see symdiff.escape
        _ENV.filters.update(comment=escape.comment, docstring=escape.docstring, wrap=wrap_text)
    return _ENV


def render_module(header: dict, functions: list[Function], module: ModuleText,
                  filename: str = "<symdiff generated module>", imports: Sequence[str] | None = None) -> str:
    """The module text, checked: every function and parameter name an identifier, and the whole text
    compiled (as ``filename``) before anyone writes or imports it (see :mod:`symdiff.escape`). ``imports``:
    the module's import lines (default: NumPy's, and ``scipy.linalg`` where the code calls it)."""
    try:
        for f in functions:
            escape.name(f.name)
            for p in f.params:
                escape.name(p.partition("=")[0].partition(":")[0].strip())
    except escape.NotALiteral as exc:
        from ...errors import InternalError
        raise InternalError(f"internal error: a generated function or parameter name: {exc}; nothing was "
                            "written. Please report this with the function") from exc
    functions = [dataclasses.replace(f, body=wrap_lines(f.body)) for f in functions]  # within 100 columns
    body_text = "\n".join(line for f in functions for line in f.body)
    if imports is None:
        uses_np = _reads_np(functions) or bool(module.constants) or bool(module.helpers)
        uses_numba = any(f.decorator.startswith("numba.") for f in functions)
        imports = (["import numpy as np"] * uses_np + ["import numba"] * uses_numba
                   + ["import scipy.integrate"] * ("scipy.integrate." in body_text)
                   + ["import scipy.linalg"] * ("scipy.linalg." in body_text))
    text = environment().get_template("module.py.j2").render(
        header=header, functions=functions,
        signatures=["\n".join(wrap(f"def {f.name}({', '.join(f.params)}){f.hint}:")) for f in functions],
        constants=["\n".join(wrap(f"{name} = {code}")) for name, code in module.constants],
        helpers=[wrap_source(h) for h in module.helpers.sources()], imports=imports,
        loader=wrap_source(loader_source(module.loader)) if module.data else "")
    escape.check_compiles(text, filename)
    return text


def _reads_np(functions: list[Function]) -> bool:
    """Whether some function's code reads ``np`` (comments quoting the user's ``np.mean`` do not count:
    a module with no NumPy call imports no NumPy)."""
    for f in functions:
        text = "\n".join(f.body)
        if "np" not in text:
            continue
        try:
            if loads_name(textwrap.dedent(text), "np"):
                return True
        except SyntaxError:  # not a statement list by itself: the text decides
            return True
    return False
