"""Stage 5 of the NumPy backend: the module text from the Jinja template in the top-level ``templates/``
folder, checked (names are identifiers, the whole text compiles) before anyone writes or imports it."""
from __future__ import annotations

import ast
import dataclasses
import os
import textwrap
import types
from typing import Sequence

import jinja2

from ... import escape
from ...errors import InternalError
from ...runtime.paths import templates_dir
from .codegen import Function, ModuleText
from .constants import loader_source
from .linebreak import lay_out, wrap, wrap_source
from .same_code import code_key, loads_name
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
        raise InternalError(f"internal error: a generated function or parameter name: {exc}; nothing was "
                            "written. Please report this with the function") from exc
    # Laid out within 100 columns, then checked: each function computes what it computed as written (the
    # same bytecode, read from the module compiled as written and as laid out: two compilations of a long
    # module, not four); a function that would change is laid out again statement by statement, checked.
    # (Python 3.11+ compiles a call of a name bound by an import, ``np.sin(x)``, otherwise than a method
    # call: the module as written is compiled with every import the module may have.)
    provisional = list(_IMPORTS if imports is None else imports)
    written = _function_codes(_compiled(_text(header, functions, module, provisional)))
    laid = [dataclasses.replace(f, body=lay_out(f.body)) for f in functions]
    if imports is None:
        imports = _imports(laid, module, written)
    text = _text(header, laid, module, imports)
    after = _function_codes(_compiled(text, filename))
    changed = {f.name for f in functions if not _same(written, after, f.name)}
    if changed:
        laid = [dataclasses.replace(f, body=lay_out(f.body, checked=True)) if f.name in changed else g
                for f, g in zip(functions, laid)]
        text = _text(header, laid, module, imports)
        escape.check_compiles(text, filename)
    return text


def _text(header: dict, functions: list[Function], module: ModuleText, imports: Sequence[str]) -> str:
    return environment().get_template("module.py.j2").render(
        header=header, functions=functions,
        signatures=["\n".join(wrap(f"def {f.name}({', '.join(f.params)}){f.hint}:")) for f in functions],
        constants=["\n".join(wrap(f"{name} = {code}")) for name, code in module.constants],
        helpers=[wrap_source(h) for h in module.helpers.sources()], imports=imports,
        loader=wrap_source(loader_source(module.loader)) if module.data else "")


def _compiled(text: str, filename: str | None = None) -> types.CodeType | None:
    """``text`` compiled (with ``filename``: by :func:`symdiff.escape.check_compiles`, which remembers it for
    the import), or None if it does not compile."""
    try:
        if filename is not None:
            return escape.check_compiles(text, filename)
        return compile(text, "<layout>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, InternalError):
        return None


def _function_codes(code: types.CodeType | None) -> dict[str, types.CodeType | None] | None:
    """The code of each top-level function of a module's ``code`` (None for a name two functions have)."""
    if code is None:
        return None
    out: dict[str, types.CodeType | None] = {}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out[c.co_name] = c if c.co_name not in out else None
    return out


def _same(written: dict | None, after: dict | None, name: str) -> bool:
    """Whether the function ``name`` computes the same as written and as laid out."""
    a, b = (written or {}).get(name), (after or {}).get(name)
    return a is not None and b is not None and code_key(a) == code_key(b)


#: Every import line :func:`_imports` may choose.
_IMPORTS = ("import numpy as np", "import numba", "import scipy.integrate", "import scipy.linalg")


def _imports(functions: list[Function], module: ModuleText, written: dict | None) -> list[str]:
    """NumPy's import where the code reads ``np`` (comments quoting the user's ``np.mean`` do not count: a
    module with no NumPy call imports no NumPy), numba's, and SciPy's parts the code calls."""
    body_text = "\n".join(line for f in functions for line in f.body)
    uses_np = _reads_np(functions, written) or bool(module.constants) or bool(module.helpers)
    uses_numba = any(f.decorator.startswith("numba.") for f in functions)
    chosen = (uses_np, uses_numba, "scipy.integrate." in body_text, "scipy.linalg." in body_text)
    return [line for line, used in zip(_IMPORTS, chosen) if used]


def _reads_np(functions: list[Function], written: dict | None) -> bool:
    """Whether some function's code reads ``np``: asked of its code as written, compiled (or, where the
    module did not compile as written, of its text)."""
    for f in functions:
        code = (written or {}).get(f.name)
        if code is not None:
            if loads_name(code, "np"):
                return True
            continue
        text = "\n".join(f.body)
        if "np" not in text:
            continue
        try:
            tree = ast.parse(textwrap.dedent(text))
        except SyntaxError:  # not a statement list by itself: the text decides
            return True
        if any(isinstance(n, ast.Name) and n.id == "np" for n in ast.walk(tree)):
            return True
    return False
