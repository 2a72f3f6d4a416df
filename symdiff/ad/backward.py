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
from typing import Sequence

import sympy as sp

from ..ir.booleans import numeric_dtype
from ..errors import UnsupportedError, where
from ..ir.graph import ARG, Node, toposort
from ..naming import grad_name
from ..ir.shapes import broadcast_shapes
from ..ir.primitives import PRIMITIVES, broadcast_to, elementwise, scalar, unbroadcast


def _add(a: Node, b: Node) -> Node:
    return elementwise(ARG[0] + ARG[1], (a, b), shape=broadcast_shapes(a.shape, b.shape), origin=a.origin or b.origin)


def gradients(output: Node, wrt: Sequence[Node]) -> list[Node]:
    """Adjoints of ``output`` (a scalar) with respect to each node of ``wrt``. A boolean ``output``
    (``np.sum(x) > 0``) counts as 0/1, as in autograd: its gradient is zero (float64 zeros)."""
    grads: dict[int, Node] = {id(output): scalar(1, numeric_dtype(output.dtype))}
    for node in reversed(toposort([output])):
        g = grads.get(id(node))
        if g is None:
            continue
        if node.name and g.name is None and g.op != "input":
            g = grads[id(node)] = replace(g, name=grad_name(node.name))
        if not node.inputs:
            continue
        prim = PRIMITIVES.get(node.op)
        if prim is None or prim.vjp is None:
            raise UnsupportedError(f"{where(node.origin)}: no derivative rule for the operation {node.op!r}")
        for inp, contrib in zip(node.inputs, prim.vjp(g, node)):
            if contrib is None or inp.dtype == "bool":
                continue
            contrib = unbroadcast(contrib, inp.shape)
            prev = grads.get(id(inp))
            grads[id(inp)] = contrib if prev is None else _add(prev, contrib)
    out = []
    for w in wrt:
        g = grads.get(id(w))
        if g is None:  # the output does not depend on w
            g = broadcast_to(scalar(sp.Integer(0), numeric_dtype(w.dtype)), w.shape)
        elif g.dtype == "bool":  # d(mask @ x)/dx is the mask: a gradient holds numbers (0/1)
            g = elementwise(sp.Piecewise((1, sp.Ne(ARG[0], 0)), (0, True)), (g,), origin=g.origin)
        out.append(g)
    return out
