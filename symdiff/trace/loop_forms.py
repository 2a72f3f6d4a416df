"""The forms of ``for`` loop :mod:`symdiff.trace.loop_source` rolls, reduced to one over ``range``:
``for t in range(...)`` as it is; a loop over the rows of arrays becomes a loop over their indices whose
body first reads the rows::

    for x_t in xs:                    _loop_seq_0_0 = xs
        ...                           for t in range(ROLL('rows', (_loop_seq_0_0,))):
                                          x_t = _loop_seq_0_0[t]
                                          ...

and likewise ``for i, x_t in enumerate(xs)`` (the index is ``i``) and ``for a, b in zip(xs, ys)``. The
sequences are evaluated once, before the loop, as Python does; at trace time the helper answers
``ROLL('rows', ...)`` with their common length when they are traced arrays, and otherwise with the reason
the loop must run as written (a Python list of arrays, whose items may differ in shape, as the weights of
the layers of an MLP do).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TypeGuard

#: Placeholder constant replaced by the helper in the compiled code's constants.
MARK = "__symdiff_roll__"


def call(*args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Constant(MARK), args=list(args), keywords=[])


@dataclass
class Form:
    """A loop as one over ``range``: its index's name, the bounds, the statements to run before the
    loop (the sequences, evaluated once), the body's first statements (the rows) and the loop to run
    when it is not rolled (reading the sequences evaluated before)."""

    index: str
    bounds: list[ast.expr]
    before: list[ast.stmt] = field(default_factory=list)
    prefix: list[ast.stmt] = field(default_factory=list)
    plain: ast.For | None = None
    targets: set[str] = field(default_factory=set)
    test: ast.expr | None = None  # a while loop's condition (``and``, ``or``, ``not`` as calls of the helper)


class _Len(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1 and not node.keywords:
            return ast.copy_location(call(ast.Constant("len"), node.args[0]), node)
        return node


def _bound(arg: ast.expr) -> ast.expr:
    """``len(xs)`` in a bound (``range(len(ts) - 1)``): asked of the helper, which keeps an array's length
    symbolic."""
    return _Len().visit(arg)


def _simple(target: ast.expr) -> bool:
    """A name, or a tuple of names (unpacked from a row)."""
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, ast.Tuple) and all(_simple(e) for e in target.elts)


def _call_of(node: ast.expr, name: str) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def form(loop: ast.For, k: int, used: set[str]) -> Form | str:
    """The loop as a :class:`Form`, or why it cannot be one."""
    it = loop.iter
    if _call_of(it, "range"):
        if not (1 <= len(it.args) <= 3 and not it.keywords):
            return "its range(...) has keyword arguments"
        if not isinstance(loop.target, ast.Name):
            return "its target is not a single name"
        return Form(loop.target.id, [_bound(a) for a in it.args], targets={loop.target.id})
    if _call_of(it, "reversed") and len(it.args) == 1 and _call_of(inner := it.args[0], "range") \
            and 1 <= len(inner.args) <= 2 and not inner.keywords and isinstance(loop.target, ast.Name):
        return _reversed(loop, loop.target.id, inner.args, k, used)
    targets: list[ast.expr]
    if _call_of(it, "enumerate"):
        if len(it.args) != 1 or it.keywords:
            return "its enumerate(...) has a start"
        if not (isinstance(loop.target, ast.Tuple) and len(loop.target.elts) == 2
                and isinstance(first := loop.target.elts[0], ast.Name) and _simple(loop.target.elts[1])):
            return "its target is not `i, item`"
        index, targets, seqs = first.id, [loop.target.elts[1]], list(it.args)
    elif _call_of(it, "zip"):
        if not it.args or it.keywords or any(isinstance(a, ast.Starred) for a in it.args):
            return "its zip(...) has keyword or starred arguments"
        if not (isinstance(loop.target, ast.Tuple) and len(loop.target.elts) == len(it.args)
                and all(_simple(e) for e in loop.target.elts)):
            return "its target does not unpack one name per sequence of zip(...)"
        index = _fresh(used)
        targets, seqs = list(loop.target.elts), list(it.args)
    else:
        if not _simple(loop.target) or isinstance(it, ast.Starred):
            return "its target is not a name or a tuple of names"
        index, targets, seqs = _fresh(used), [loop.target], [it]
    names = [f"_loop_seq_{k}_{j}" for j in range(len(seqs))]
    before: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=s)
                              for n, s in zip(names, seqs)]
    loads: list[ast.expr] = [ast.Name(id=n, ctx=ast.Load()) for n in names]
    bound = call(ast.Constant("rows"), ast.Tuple(elts=list(loads), ctx=ast.Load()))
    prefix: list[ast.stmt] = [ast.Assign(targets=[_store(t)], value=ast.Subscript(
        value=ast.Name(id=n, ctx=ast.Load()), slice=ast.Name(id=index, ctx=ast.Load()), ctx=ast.Load()))
        for t, n in zip(targets, names)]
    plain_iter: ast.expr
    if _call_of(it, "enumerate") or _call_of(it, "zip"):
        plain_iter = ast.Call(func=it.func, args=[ast.Name(id=n, ctx=ast.Load()) for n in names], keywords=[])
    else:
        plain_iter = ast.Name(id=names[0], ctx=ast.Load())
    plain = ast.For(target=loop.target, iter=plain_iter, body=loop.body, orelse=[], type_comment=None)
    ast.copy_location(plain, loop)
    stored = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    return Form(index, [bound], before, prefix, plain, stored)


def _reversed(loop: ast.For, target: str, args: list[ast.expr], k: int, used: set[str]) -> Form:
    """``for target in reversed(range(*args))``: a loop over ``range(a, b)`` whose body first computes
    ``target = a + b - 1 - index`` (the bounds evaluated once, before the loop)."""
    bounds = [ast.Constant(0), *args] if len(args) == 1 else list(args)
    names = [f"_loop_seq_{k}_{j}" for j in range(2)]
    before: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=_bound(b))
                              for n, b in zip(names, bounds)]
    index = _fresh(used)
    first, stop = (ast.Name(id=n, ctx=ast.Load()) for n in names)
    flipped = call(ast.Constant("flip"), first, stop, ast.Name(id=index, ctx=ast.Load()))
    prefix: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=flipped)]
    plain = ast.For(target=loop.target, iter=ast.Call(func=ast.Name(id="reversed", ctx=ast.Load()), args=[ast.Call(
        func=ast.Name(id="range", ctx=ast.Load()), args=[ast.Name(id=n, ctx=ast.Load()) for n in names], keywords=[])],
        keywords=[]), body=loop.body, orelse=[], type_comment=None)
    ast.copy_location(plain, loop)
    loads: list[ast.expr] = [ast.Name(id=n, ctx=ast.Load()) for n in names]
    return Form(index, loads, before, prefix, plain, {target})


def while_form(loop: ast.While, used: set[str]) -> Form | str:
    """A ``while`` loop as a :class:`Form` whose bound the helper takes from its condition."""
    for node in ast.walk(loop.test):  # (the rolled condition evaluates every operand of and/or)
        if isinstance(node, ast.BoolOp) and any(isinstance(n, ast.Subscript) for v in node.values[1:]
                                                 for n in ast.walk(v)):
            return "an operand of and/or in its condition indexes an array, which Python may skip (short circuit)"
    return Form(_fresh(used), [], test=_test(loop.test))


def _test(node: ast.expr) -> ast.expr:
    """A condition whose ``and``, ``or``, ``not`` and chained comparisons are calls of the helper, which
    combines traced booleans without asking for their truth value (``err > tol and it < maxit``)."""
    if isinstance(node, ast.BoolOp):
        kind = "and" if isinstance(node.op, ast.And) else "or"
        return ast.copy_location(call(ast.Constant(kind), *[_test(v) for v in node.values]), node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ast.copy_location(call(ast.Constant("not"), _test(node.operand)), node)
    if isinstance(node, ast.Compare) and len(node.ops) > 1:
        operands = [node.left, *node.comparators]
        pairs = [ast.Compare(left=a, ops=[op], comparators=[b]) for a, op, b in zip(operands, node.ops, operands[1:])]
        return ast.copy_location(call(ast.Constant("and"), *pairs), node)
    return node


def _store(target: ast.expr) -> ast.expr:
    """A copy of ``target`` (a name or tuple of names: see ``_simple``) to assign to."""
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Store())
    if not isinstance(target, ast.Tuple):
        raise TypeError(f"not a name or a tuple of names: {ast.dump(target)}")
    return ast.Tuple(elts=[_store(e) for e in target.elts], ctx=ast.Store())


def _fresh(used: set[str]) -> str:
    """A name for the index of a loop over rows: ``t`` (or ``i``, ...) unless the function uses it."""
    for name in ("t", "i", "k", "step", "idx"):
        if name not in used:
            used.add(name)
            return name
    n = 0
    while f"t{n}" in used:
        n += 1
    used.add(f"t{n}")
    return f"t{n}"
