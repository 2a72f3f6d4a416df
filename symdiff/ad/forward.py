"""Forward mode over the graph, batched: tangents are more graph (the rules: :mod:`symdiff.ad.jvp_rules`).

:func:`jvp_nodes` pushes tangents through the graph in one pass; :func:`jacobian_nodes` seeds it with
the identity (banded for a vector: :mod:`symdiff.ad.structure`). Hessians: :func:`hessian_nodes` is the
Jacobian of the gradient graph that :func:`symdiff.ad.backward.gradients` builds; :func:`hvp_nodes` is
its JVP along ``v``.

>>> import sympy as sp
>>> from symdiff.ir.graph import ARG
>>> from symdiff.ir.primitives import input_node, elementwise, reduce
>>> x = input_node("x", (sp.Integer(3),), 0)
>>> y = elementwise(sp.sin(ARG[0]), (x,))
>>> jacobian_nodes(y, x).shape
(3, 3)
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence, cast

import sympy as sp

from ..errors import ShapeError
from ..ir.booleans import numeric_dtype
from ..ir.graph import Node, toposort
from ..ir.primitives import broadcast_to, diag_embed, reshape, scalar
from ..ir.shapes import Shape, as_shape, size_of
from . import linalg_rules  # noqa: F401  (registers the rules of products and einsum)
from .backward import gradients
from .jvp_rules import JVP_RULES, Jvp, _jvp_linear_fallback, _zeros, tangent_name
from .loop_jvp import LoopTangent, loop_jvp, loop_out_jvp, share_loops
from .structure import Banded, dense_all, jvp_banded, seed, tangent_shape


# ---------------------------------------------------------------- drivers -------------------------

def jvp_nodes(outputs: Sequence[Node], seeds: dict[int, Any], batch_shape: Sequence = ()) -> list[Node | None]:
    """Tangents of ``outputs`` given the tangents ``seeds`` (``id(node)`` -> node of shape
    ``node.shape + batch_shape``, or a :class:`symdiff.ad.structure.Banded` for a vector node) of some
    inputs (or any nodes: a seeded node's own inputs are then not looked at); every other leaf's
    tangent is zero. None: a zero tangent.

    Cost: one pass over the graph, each node's tangent costing about ``size(batch_shape)`` times
    the node itself (about the number of diagonals, while tangents stay banded)."""
    batch = as_shape(batch_shape)
    seed_ids = {id(s) for s in seeds.values()}
    tangents: dict[int, object] = {}
    for node in toposort(list(outputs)):
        t: Any = None
        if id(node) in seeds:
            t = seeds[id(node)]
            if not isinstance(t, Banded) and t.shape != node.shape + batch:
                try:
                    t = broadcast_to(t, node.shape + batch)
                except ShapeError:
                    raise ShapeError(f"tangent of {node.param('name')} has shape {t.shape}, "
                                     f"not {node.shape + batch}") from None
        elif node.inputs and node.dtype != "bool":
            ts = [tangents[id(i)] for i in node.inputs]
            if any(x is not None for x in ts):
                t = NotImplemented
                if any(isinstance(x, Banded) for x in ts):
                    t = jvp_banded(node, ts, batch)
                    ts = dense_all(ts)
                if t is NotImplemented:
                    t = JVP_RULES.get(node.op, _jvp_linear_fallback)(node, ts, batch)
                if isinstance(t, LoopTangent):  # a loop's results: their tangents are its loop_out nodes'
                    pass
                elif t is not None and tangent_shape(t) != node.shape + batch:
                    raise ShapeError(f"internal: the JVP rule of {node.op!r} gave shape {tangent_shape(t)}, "
                                     f"expected {node.shape + batch}")
                if isinstance(t, Node) and node.name and t.name is None and t.inputs and id(t) not in seed_ids:
                    t = replace(t, name=tangent_name(node.name))
        tangents[id(node)] = t
    result = dense_all([tangents[id(o)] for o in outputs])
    loops = [(n, t) for n in toposort(list(outputs)) if isinstance(t := tangents.get(id(n)), LoopTangent)]
    return share_loops(result, loops) if loops else result


# (a loop's rule answers a LoopTangent, not a Node: jvp_nodes unpacks it, the only caller of the rules)
JVP_RULES["loop"] = cast(Jvp, lambda node, tangents, batch: loop_jvp(node, tangents, batch, jvp_nodes))
JVP_RULES["loop_out"] = lambda node, tangents, batch: loop_out_jvp(node, tangents[0])


def identity(shape: Shape, dtype: str = "float64") -> Node:
    """The identity of shape ``shape + shape`` (``I[i..., j...] = [i... == j...]``): ``np.eye`` of the
    size, as a diagonal embedding of ones (so symbolic sizes work too), reshaped."""
    shape = tuple(shape)
    if not shape:
        return scalar(sp.Integer(1), dtype)
    size = size_of(shape)
    ones = broadcast_to(scalar(sp.Integer(1), dtype), (size,))
    return reshape(diag_embed(ones, (size, size), 0, 0, 1), shape + shape)


def jacobian_nodes(output: Node, w: Node) -> Node:
    """``d output / d w`` of shape ``output.shape + w.shape``: forward mode seeded with the identity
    (banded while it can be, for a vector ``w``: :mod:`symdiff.ad.structure`)."""
    (t,) = jvp_nodes([output], {id(w): seed(w) if w.ndim == 1 else identity(w.shape, w.dtype)}, w.shape)
    return t if t is not None else _zeros(output.shape + w.shape, numeric_dtype(output.dtype))


def hessian_nodes(output: Node, w: Node) -> tuple[Node, Node]:
    """The gradient of the scalar ``output`` with respect to ``w`` and its Hessian (shape ``w.shape * 2``)."""
    (g,) = gradients(output, [w])
    return g, jacobian_nodes(g, w)


def hvp_nodes(output: Node, w: Node, v: Node) -> tuple[Node, Node]:
    """The gradient of the scalar ``output`` with respect to ``w`` and the Hessian times ``v``
    (a node of ``w``'s shape, e.g. another input): the JVP of the gradient along ``v``."""
    (g,) = gradients(output, [w])
    (hv,) = jvp_nodes([g], {id(w): v}, ())
    return g, hv if hv is not None else _zeros(w.shape, w.dtype)
