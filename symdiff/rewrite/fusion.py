"""Fusion: anonymous single-use elementwise nodes written into their elementwise users, as one SymPy
expression per statement, under a budget (:data:`FUSE_BUDGET`, :data:`FUSE_TERMS`), so no expression grows
with the length of the program.
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from ..ir.domain import composed_requirements, keep_domain
from ..ir.graph import ARG, Node, consumers, rebuild, toposort, with_inputs
from ..ir.primitives import elementwise
from ..ir.templates import by_structure, rename
from .stability import ops


#: Largest expression (SymPy ``count_ops``) that fusion builds and that simplification attempts.
FUSE_BUDGET = 60
#: Most terms of a sum that fusion builds (a longer one is a line nobody reads; SymPy sorts its terms
#: at every step, so building it costs more with every term).
FUSE_TERMS = 12


def rewritten(node: Node, expr: sp.Expr, inputs: Sequence[Node]) -> Node:
    """An elementwise node standing where ``node`` stood: same shape, dtype, name and origin."""
    return elementwise(expr, inputs, shape=node.shape, origin=node.origin, dtype=node.dtype, name=node.name)


def _is_fusable(node: Node, users: dict[int, list[Node]], protected: set[int]) -> bool:
    return (node.op == "elementwise" and node.dtype != "bool" and id(node) not in protected
            and (not node.inputs or (node.name is None and len(users.get(id(node), ())) == 1)))


def fuse(outputs: list[Node]) -> list[Node]:
    """Inline anonymous single-use elementwise nodes (and constants) into their elementwise users."""
    users = consumers(outputs)
    protected = {id(o) for o in outputs}
    fusable = {id(n) for n in toposort(outputs) if _is_fusable(n, users, protected)}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op != "elementwise" or not any(id(old) in fusable and inp.op == "elementwise"
                                               for old, inp in zip(node.inputs, inputs)):
            return with_inputs(node, inputs)
        parts: list[tuple[sp.Expr, tuple[int, ...]] | int] = []
        new_inputs: list[Node] = []
        place: dict[int, int] = {}  # id of an input of the fused node -> its placeholder (an array read once)

        def placed(n: Node) -> int:
            if id(n) not in place:
                place[id(n)] = len(new_inputs)
                new_inputs.append(n)
            return place[id(n)]
        for i, (old, inp) in enumerate(zip(node.inputs, inputs)):
            room = len(ARG) - (len(new_inputs) + len(inp.inputs) + len(inputs) - i - 1)
            if id(old) in fusable and inp.op == "elementwise" and room >= 0:  # placeholders are finite
                parts.append((inp.expr, tuple(placed(n) for n in inp.inputs)))
            else:
                parts.append(placed(inp))
        fused = _fused(node.expr, tuple(parts))
        return with_inputs(node, inputs) if fused is None else rewritten(node, fused, new_inputs)
    return rebuild(outputs, fn)


@by_structure
def _fused(expr: sp.Expr, parts: tuple[tuple[sp.Expr, tuple[int, ...]] | int, ...]) -> sp.Expr | None:
    """``expr`` with each input ``i`` whose ``parts[i]`` is (its expression, the placeholders of its inputs)
    written in, and each whose ``parts[i]`` is a placeholder renamed to it; None past :data:`FUSE_BUDGET`.
    An array read by two of the parts (``s + sin(c*x)`` written into ``... + sin(d*x)``) has one placeholder,
    so the fused node reads it once (no merging of repeated inputs afterwards, which evaluates the whole
    expression again). (A function of expressions only: node expressions are over the shared placeholders,
    so a long program asks the same question many times, its constants aside: see
    :mod:`symdiff.ir.templates`.)"""
    # Sizes add up when an expression is written into another, unless SymPy combines terms: far past
    # the budget, the answer is known without building the expression (the costly part of fusing).
    inner_parts = [p for p in parts if not isinstance(p, int)]
    estimate = ops(expr) + sum(expr.count(ARG[i]) * ops(p[0]) for i, p in enumerate(parts) if not isinstance(p, int))
    terms = len(sp.Add.make_args(expr)) + sum(len(sp.Add.make_args(p[0])) for p in inner_parts)
    if estimate > FUSE_BUDGET + 20 or terms > FUSE_TERMS + 4:
        return None
    mapping: dict[sp.Symbol, sp.Expr] = {}
    for i, part in enumerate(parts):
        if isinstance(part, int):
            mapping[ARG[i]] = ARG[part]
            continue
        inner, targets = part
        names = {ARG[j]: ARG[t] for j, t in enumerate(targets) if j != t}
        if len(set(targets)) == len(targets):
            mapping[ARG[i]] = rename(inner, names) if names else inner
        else:  # (an inner expression reading one array twice: SymPy evaluates it again)
            mapping[ARG[i]] = keep_domain(composed_requirements(inner, names), inner.xreplace(names))
    mapping = {k: v for k, v in mapping.items() if k is not v}  # (SymPy rebuilds what it maps to itself)
    fused = keep_domain(composed_requirements(expr, mapping), expr.xreplace(mapping))
    return None if ops(fused) > FUSE_BUDGET or len(sp.Add.make_args(fused)) > FUSE_TERMS else fused
