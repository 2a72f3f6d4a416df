"""A statement line as the leaves :mod:`.linebreak` lays out: each kind of simple statement generated
code holds (assignments, ``return``, ``raise``, expressions, ``del``, ``pass``) and the header lines
of its compound statements (``for``, ``if``/``elif``, ``while``, ``def``), their values in optional
parentheses (shown only where a line is broken), spelled by :class:`.spelling.Speller`.
"""
from __future__ import annotations

import ast

from .spelling import _BIN, TEST, TUPLE, Leaf, Speller, Unknown

_HEADERS = ("for ", "if ", "elif ", "while ", "def ")


def statement(text: str) -> list[Leaf]:
    """The leaves of one statement, or of a compound statement's header line (``for i in range(n):``),
    written on one line; :class:`Unknown` for what this module does not spell."""
    header = text.endswith(":") and text.startswith(_HEADERS)
    source = ("if" + text[4:] if text.startswith("elif ") else text) + ("\n    pass" if header else "")
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise Unknown("not a statement") from exc
    if len(tree.body) != 1:
        raise Unknown("several statements")
    s = Speller(source)
    node = tree.body[0]
    if isinstance(node, ast.Assign):
        for k, target in enumerate(node.targets):
            s.expr(target, TUPLE, k > 0)  # (a = b = c: a space after each =)
            s.put("=", True)
        s.optional(node.value)
    elif isinstance(node, ast.AugAssign):
        s.expr(node.target, TUPLE)
        s.put(_BIN[type(node.op)][0] + "=", True)
        s.optional(node.value)
    elif isinstance(node, ast.AnnAssign) and node.simple:
        s.expr(node.target, TUPLE)
        s.put(":")
        s.expr(node.annotation, TEST, True)
        if node.value is not None:
            s.put("=", True)
            s.optional(node.value)
    elif isinstance(node, ast.Return):
        s.put("return")
        if node.value is not None:
            s.optional(node.value)
    elif isinstance(node, ast.Raise):
        s.put("raise")
        if node.exc is not None:
            s.optional(node.exc)
        if node.cause is not None:
            s.put("from", True)
            s.expr(node.cause, TEST, True)
    elif isinstance(node, ast.Expr):
        s.optional(node.value, space=False)
    elif isinstance(node, (ast.Pass, ast.Break, ast.Continue)):
        s.put(text.strip())
    elif isinstance(node, ast.Delete):
        s.put("del")
        s.items(node.targets, space=True)
    elif isinstance(node, ast.For) and header and not node.orelse:
        s.put("for")
        s.expr(node.target, TUPLE, True)
        s.put("in", True)
        s.optional(node.iter)
        s.put(":")
    elif isinstance(node, (ast.If, ast.While)) and header and not node.orelse:
        s.put("elif" if text.startswith("elif ") else "if" if isinstance(node, ast.If) else "while")
        s.optional(node.test)
        s.put(":")
    elif isinstance(node, ast.FunctionDef) and header and not node.decorator_list:
        s.put("def")
        s.put(node.name, True)
        s.put("(", bracket="(", kind="def")
        s.arguments(node.args)
        s.put(")", bracket=")")
        if node.returns is not None:
            s.put("->", True)
            s.expr(node.returns, TEST, True)
        s.put(":")
    else:
        raise Unknown(type(node).__name__)
    return s.out
