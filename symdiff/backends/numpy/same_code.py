"""Whether a statement laid out over other lines computes what it computed: the same bytecode (compiling
is C, so this costs little), or failing that the same syntax tree.

>>> same_code("x = a + b * c", ["x = (", "    a + b * c", ")"])
True
>>> same_code("x = a + b * c", ["x = (a + b) * c"])
False
"""
from __future__ import annotations

import ast
import io
import textwrap
import tokenize
import types


def same_code(before: str, after: list[str]) -> bool:
    """Whether the lines ``after`` hold the statement ``before`` (the same syntax tree): a layout that
    would change what is computed is never used (the statement is then left as it was written). The same
    text is the same tree (most lines of a long module: no parse at all)."""
    if len(after) == 1 and after[0].strip() == before.strip():
        return True

    def source(text: str) -> str:
        text = textwrap.dedent(text)
        text = "if" + text[4:] if text.startswith("elif ") else text
        header = trailing_comment(text.rsplit("\n", 1)[-1].strip())[0].endswith(":")
        return text + ("\n    pass" if header else "")
    first, second = source(before), source("\n".join(after))
    try:  # the same bytecode computes the same (compiling is C; a tree dump is Python: 10 times slower)
        if bytecode(first) == bytecode(second):
            return True
    except SyntaxError:  # (a statement that compiles only where it stands: ``return``, ``break``)
        pass
    try:
        return ast.dump(ast.parse(first)) == ast.dump(ast.parse(second))
    except SyntaxError:
        return False


def bytecode(text: str) -> tuple:
    """What the statements ``text`` compute, inside a function: instructions, constants and names, with
    the code of nested functions and comprehensions read the same way (their line numbers left out)."""
    return _code_key(body_code(text))


def body_code(text: str) -> types.CodeType:
    """The code object of the statements ``text`` as a function's body (the last body compiled is
    remembered: a laid-out body is compiled to check it, then read for the names it loads)."""
    global _LAST
    last = _LAST
    if last is not None and last[0] == text:
        return last[1]
    code = compile("def _():\n" + textwrap.indent(text, "    "), "<layout>", "exec").co_consts[0]
    _LAST = (text, code)
    return code


_LAST: tuple[str, types.CodeType] | None = None


def loads_name(text: str, name: str) -> bool:
    """Whether the statements ``text`` (a function body) load the global ``name``, in nested code too (an
    attribute of that name counts as well: a question asked to decide an import, where one more is harmless)."""
    return any(name in c.co_names for c in _codes(body_code(text)))


def _codes(code: types.CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _codes(c)


def _code_key(code: types.CodeType) -> tuple:
    consts = tuple(_code_key(c) if isinstance(c, types.CodeType) else (type(c), repr(c)) for c in code.co_consts)
    return (code.co_code, getattr(code, "co_exceptiontable", b""), consts, code.co_names, code.co_varnames,
            code.co_freevars, code.co_cellvars)


def trailing_comment(text: str) -> tuple[str, str]:
    """A statement line without its trailing ``# comment``, and that comment ("" if none)."""
    if "#" not in text:
        return text, ""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text, ""
    for tok in toks:
        if tok.type == tokenize.COMMENT:
            return text[: tok.start[1]].rstrip(), tok.string
    return text, ""
