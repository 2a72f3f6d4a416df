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
    return code_key(compile("def _():\n" + textwrap.indent(text, "    "), "<layout>", "exec").co_consts[0])


def loads_name(code: types.CodeType, name: str) -> bool:
    """Whether ``code`` loads the global ``name``, in nested code too (an attribute of that name counts as
    well: a question asked to decide an import, where one more is harmless)."""
    return name in code.co_names or any(loads_name(c, name) for c in code.co_consts if isinstance(c, types.CodeType))


def code_key(code: types.CodeType) -> tuple:
    """What a code object computes (:func:`bytecode`): equal for two layouts of the same statements."""
    consts = tuple(code_key(c) if isinstance(c, types.CodeType) else (type(c), repr(c)) for c in code.co_consts)
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
