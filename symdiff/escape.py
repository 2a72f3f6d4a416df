r'''The one way user text enters generated code: as a comment, a docstring, a literal or a name.

Argument names, static values, defaults, file and function names, source lines, messages of the
user's exceptions and ``has_aux`` keys are all the user's text. Generated code puts them only
through these functions, so no text can end a comment, a string or a line of the module.

A comment is one line of printable characters; anything else is shown as its escape:

>>> print(comment('if x:  # """\n import os\r\x00\u2028\x85\x0c C:\\Users'))
if x:  # """\n import os\r\x00\u2028\x85\x0c C:\Users

A docstring is a triple-quoted literal whose value is the text:

>>> print(docstring('C:\\Users "q" end\\'))
"""C:\\Users \"q\" end\\"""
>>> import ast; ast.literal_eval(docstring('a"""\\')) == 'a"""\\'
True

A literal is the code of a str, int, float, bool or None (subclasses as their base value) that reads
back to the same value:

>>> literal("it's"), literal(True), literal(2.5), literal(float("-inf")), literal(None)
('"it\'s"', 'True', '2.5', '-1e999', 'None')
>>> literal(object())
Traceback (most recent call last):
...
symdiff.escape.NotALiteral: a object is not a str, int, float, bool or None

Names must be identifiers that are not keywords, in the form Python reads them:

>>> name("x"), name("\uff4e")
('x', 'n')
>>> name("import")
Traceback (most recent call last):
...
symdiff.escape.NotALiteral: 'import' is not a Python identifier (or is a keyword)
'''
from __future__ import annotations

import ast
import keyword
import math
import unicodedata
from types import CodeType
from typing import Any


class NotALiteral(ValueError):
    """A value that generated code cannot hold as a literal, or a name that is not an identifier."""


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def comment(text: Any) -> str:
    """``text`` as one line for a ``#`` comment (or the inside of a docstring line): every character that
    is not printable (newlines, ``\\r``, NUL, form feed, U+2028, U+0085, ...) is written as its escape."""
    return "".join(ch if ch.isprintable() else _NAMED.get(ch) or _escape_char(ch) for ch in str(text))


def source_comment(file: str, line: int, text: Any, grad: bool = False) -> str:
    """The comment naming a line of the user's source, the file by its base name (a Windows path's
    too), every part of it through :func:`comment`.

    >>> source_comment("/home/me/model.py", 7, "z = x @ w + b", grad=True)
    '# Grad of: model.py:7: z = x @ w + b'
    """
    name = str(file).replace("\\", "/").rsplit("/", 1)[-1]
    return f"# {'Grad of: ' if grad else ''}{comment(name)}:{int(line)}: {comment(text)}"


def docstring(text: str, multiline: bool = False) -> str:
    """A ``\"\"\"...\"\"\"`` literal whose value is ``text``: backslashes and quotes escaped, characters that are
    not printable written as escapes (newlines kept as lines only if ``multiline``)."""
    out = []
    for ch in str(text):
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch == "\n" and multiline:
            out.append(ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_NAMED.get(ch) or _escape_char(ch))
    code = '"""' + "".join(out) + '"""'
    if ast.literal_eval(code) != str(text):  # pragma: no cover  (a bug of this function, never user input)
        raise AssertionError(f"docstring escaping failed for {text!r}")
    return code


def plain(value: Any) -> Any:
    """``value`` as a plain str, int, float, bool or None (IntEnum members as ints, NumPy scalars as Python
    ones, str subclasses as their characters), or :class:`NotALiteral`."""
    if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # a NumPy scalar
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, bool):  # pragma: no cover  (bool cannot be subclassed)
        return bool(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    raise NotALiteral(f"a {type(value).__name__} is not a str, int, float, bool or None")


def literal(value: Any) -> str:
    """The code of ``value`` (see :func:`plain`) as a Python literal that ``ast.literal_eval`` reads back
    to the same value. Infinities are ``1e999``; NaN has no literal (:class:`NotALiteral`)."""
    value = plain(value)
    if isinstance(value, float) and math.isinf(value):
        code = "1e999" if value > 0 else "-1e999"
    elif isinstance(value, float) and math.isnan(value):
        raise NotALiteral("NaN has no Python literal")
    else:
        code = repr(value)
    back = ast.literal_eval(code)
    if type(back) is not type(value) or back != value:  # pragma: no cover  (repr of the base types reads back)
        raise NotALiteral(f"{code} does not read back as {value!r}")
    return code


def quoted(text: str) -> str:
    """A str literal whose value is ``text``, spelled as ``ruff format`` spells it: in double quotes unless
    ``text`` holds more double than single quotes, only backslashes and that quote escaped, characters
    that are not printable written as escapes."""
    text = plain(text)
    if not isinstance(text, str):
        raise NotALiteral(f"a {type(text).__name__} is not a str")
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = [quote]
    for ch in text:
        if ch == "\\" or ch == quote:
            out.append("\\" + ch)
        else:
            out.append(ch if ch.isprintable() else _NAMED.get(ch) or _escape_char(ch))
    code = "".join(out) + quote
    if ast.literal_eval(code) != text:  # pragma: no cover  (a bug of this function, never user input)
        raise AssertionError(f"string escaping failed for {text!r}")
    return code


def default_code(value: Any) -> str | None:
    """The code of a parameter's default: a literal, ``float("nan")`` for NaN, or None (no code: the
    generated function then has no default for it). Tuples of those are tuples of their codes."""
    if type(value) is tuple:
        codes = [default_code(v) for v in value]
        parts = [p for p in codes if p is not None]
        if len(parts) != len(codes):
            return None
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    try:
        value = plain(value)
    except NotALiteral:
        return None
    if isinstance(value, float) and math.isnan(value):
        return 'float("nan")'
    return literal(value)


def normal(text: str) -> str:
    """The name Python reads for ``text`` (identifiers are NFKC-normalised: ``ｎ`` is ``n``)."""
    return unicodedata.normalize("NFKC", text)


def name(text: str) -> str:
    """``text`` checked to be an identifier that is not a keyword, in the form Python reads it."""
    out = normal(text) if isinstance(text, str) else text
    if not isinstance(out, str) or not text.isidentifier() or not out.isidentifier() or keyword.iskeyword(out):
        raise NotALiteral(f"{text!r} is not a Python identifier (or is a keyword)")
    return out


def check_compiles(source: str, filename: str) -> CodeType:
    """``compile`` the generated module (the code object is returned): a failure is an internal error
    of symdiff, raised before the module is written or imported."""
    from .errors import InternalError
    global _COMPILED
    last = _COMPILED  # (read once: another thread may compile meanwhile)
    if last is not None and last[0] == source:  # rendered, stored and imported: compiled once
        return _renamed(last[1], filename)
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        _COMPILED = (source, code)
        return code
    except (SyntaxError, ValueError) as exc:
        raise InternalError(f"internal error: the generated module for {comment(filename)} does not compile "
                            f"({type(exc).__name__}: {comment(exc)}); nothing was written. Please report this "
                            "with the function") from exc


#: The last module text compiled and its code object (a module is checked when rendered, when stored and
#: when imported: three compilations of a long module cost seconds).
_COMPILED: tuple[str, CodeType] | None = None


def _renamed(code: CodeType, filename: str) -> CodeType:
    """``code`` with ``filename`` as the file of it and of every function in it (tracebacks name it)."""
    if code.co_filename == filename:
        return code
    consts = tuple(_renamed(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)
