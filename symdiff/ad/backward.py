"""Reverse-mode differentiation over the graph: the gradient is more graph.

Each node is visited once, after every node that uses it, and its primitive's ``vjp`` rule turns
the node's adjoint into contributions for its inputs; :func:`~symdiff.ir.primitives.core.unbroadcast`
undoes broadcasting once, here, for every rule. Cost is linear in the size of the graph.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node, elementwise, reduce
>>> from symdiff.ir.graph import ARG
>>> x = input_node("x", (sp.Symbol("n", positive=True, integer=True),), 0)
>>> loss = reduce("sum", elementwise(sp.sin(ARG[0]), (x,)))
>>> gx, = gradients(loss, [x])
>>> gx.op, gx.inputs[0].op
('elementwise', 'input')
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

import sympy as sp

from ..ir.booleans import numeric_dtype
from ..errors import UnsupportedError, where
from ..ir.graph import ARG, Node, toposort
from ..naming import grad_name
from ..ir.shapes import broadcast_shapes
from ..ir.primitives import PRIMITIVES, broadcast_to, elementwise, scalar, unbroadcast


#: Most contributions one sum node of an adjoint adds (a long program's adjoint of many uses is a few
#: sums of this many, not one binary add per use: fewer nodes for every later pass).
SUM_TERMS = 8


def _total(contribs: list[Node]) -> Node:
    """The adjoint made of its ``contribs`` (in the order they came): sums of up to :data:`SUM_TERMS`,
    each made at the line of its last contribution, the earliest in the program (the backward pass goes
    from the last line to the first), where the sum is complete."""
    total = contribs[0]
    k = 1
    while k < len(contribs):
        part = [total, *contribs[k:k + SUM_TERMS - 1]]
        k += SUM_TERMS - 1
        origin = next((n.origin for n in reversed(part) if n.origin is not None), None)
        total = elementwise(sp.Add(*ARG[:len(part)]), part, shape=broadcast_shapes(*(n.shape for n in part)),
                            origin=origin)
    return total


#: Rules of primitives with several results (a rolled loop: symdiff.ad.loops registers it): ``rule(node,
#: adjoints)`` gets the adjoint of each result ``k`` its ``loop_out`` nodes received, and returns the
#: contributions to the node's inputs.
MULTI_VJP: dict[str, Callable[[Node, dict[int, Node]], Sequence[Node | None]]] = {}
_PARTS: Any = object()  # (marks a node whose adjoint comes in parts)


def accumulate(seeds: dict[int, Node], roots: Sequence[Node],
               intercept: Callable[[Node, Node], bool] | None = None) -> dict[int, Node]:
    """The adjoint of every node below ``roots``, given the adjoints ``seeds`` (node id -> adjoint) of
    some of them. ``intercept(node, g)`` may take a node's adjoint over (returning True)."""
    grads: dict[int, Node] = dict(seeds)
    parts: dict[int, dict[int, Node]] = {}
    pending: dict[int, list[Node]] = {}  # contributions to an adjoint, added up when its node is reached
    for node in reversed(toposort(list(roots))):
        if id(node) in pending:
            added, seed = pending.pop(id(node)), grads.get(id(node))
            grads[id(node)] = _total(added if seed is None or seed is _PARTS else [seed, *added])
        g = grads.get(id(node))
        if g is None:
            continue
        if g is not _PARTS and node.name and g.name is None and g.op != "input":
            g = grads[id(node)] = replace(g, name=grad_name(node.name))
        if not node.inputs or (intercept is not None and g is not _PARTS and intercept(node, g)):
            continue
        if node.op == "loop_out":  # one result of a node with several: collected for the node's rule
            parts.setdefault(id(node.inputs[0]), {})[node.param("k")] = g
            grads[id(node.inputs[0])] = _PARTS
            continue
        if node.op in MULTI_VJP:
            contribs = MULTI_VJP[node.op](node, parts.get(id(node), {}))
        else:
            prim = PRIMITIVES.get(node.op)
            if prim is None or prim.vjp is None:
                raise UnsupportedError(f"{where(node.origin)}: no derivative rule for the operation {node.op!r}")
            contribs = prim.vjp(g, node)
        for inp, contrib in zip(node.inputs, contribs):
            if contrib is None or inp.dtype == "bool":
                continue
            contrib = unbroadcast(contrib, inp.shape, node.origin.as_grad() if node.origin is not None else None)
            pending.setdefault(id(inp), []).append(contrib)
    assert not pending, "symdiff internal error: an adjoint's node was not reached"
    return {k: v for k, v in grads.items() if v is not _PARTS}


def gradients(output: Node, wrt: Sequence[Node]) -> list[Node]:
    """Adjoints of ``output`` (a scalar) with respect to each node of ``wrt``. A boolean ``output``
    (``np.sum(x) > 0``) counts as 0/1, as in autograd: its gradient is zero (float64 zeros)."""
    grads = accumulate({id(output): scalar(1, numeric_dtype(output.dtype))}, [output])
    out = []
    for w in wrt:
        g = grads.get(id(w))
        if g is None:  # the output does not depend on w
            g = broadcast_to(scalar(sp.Integer(0), numeric_dtype(w.dtype)), w.shape)
        elif g.dtype == "bool":  # d(mask @ x)/dx is the mask: a gradient holds numbers (0/1)
            g = elementwise(sp.Piecewise((1, sp.Ne(ARG[0], 0)), (0, True)), (g,), origin=g.origin)
        out.append(g)
    return out
