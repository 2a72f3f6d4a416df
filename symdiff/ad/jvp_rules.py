"""The JVP rules of forward mode, one per primitive (:data:`JVP_RULES`), and the helpers rules share.

Each node ``x`` gets a tangent node ``T(x)`` of shape ``x.shape + batch``: with ``batch = ()`` it is
the directional derivative (a JVP); with ``batch = w.shape`` and the identity as ``T(w)`` it is the
Jacobian ``dx/dw``, the tangent axes trailing. A missing tangent (``None``) is zero. Rules build nodes
with the builders of :mod:`symdiff.ir.primitives`, so tangents are simplified and printed like every
other node. The rules of linear algebra are in :mod:`symdiff.ad.linalg_rules`, those of banded
tangents in :mod:`symdiff.ad.structure`, those of indexing and matrix functions beside their
primitives (registered at the end of this module).

The batch axes trail, so every primitive that works on leading axes by position (reductions,
indexing, cumsum, concatenate, ...) applies to a tangent unchanged; NumPy broadcasting aligns from
the right, so primal operands get trailing size-1 axes (:func:`lift`) and a tangent is given
leading axes explicitly where an operand has lower rank than its result (:func:`_broadcast_tangent`).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import sympy as sp

from ..ir.domain import derivative
from ..errors import UnsupportedError, where
from ..ir.graph import ARG, Node
from ..ir.primitives import (PRIMITIVES, broadcast_to, concatenate, cumsum, diag_embed, diagonal, elementwise,
                         flip, getitem, reduce, reshape, roll, scalar, slice_axis, transpose)
from ..ir.primitives.index import register_jvps as register_index_jvps
from ..ir.primitives.matrix import register_jvps as register_matrix_jvps
from ..ir.primitives.decompositions import register_jvps as register_decomposition_jvps
from ..ir.primitives.random import register_jvps as register_random_jvps
from ..ir.primitives.solvers import register_jvps as register_solver_jvps
from ..ir.primitives.matfuncs import register_jvps as register_matfunc_jvps
from ..ir.primitives.banded_solve import register_jvps as register_banded_jvps
from ..ir.primitives.loop import register_jvps as register_loop_jvps
from ..ir.shapes import Shape

#: ``rule(node, tangents, batch)``: the tangent of ``node`` (shape ``node.shape + batch``) from its
#: inputs' tangents (``None`` for zero; at least one is not None), or None if it is zero.
Jvp = Callable[[Node, list, Shape], "Node | None"]
JVP_RULES: dict[str, Jvp] = {}

_ALL = ("slice", None, None, None)


def defjvp(*names: str) -> Callable[[Jvp], Jvp]:
    def register(rule: Jvp) -> Jvp:
        for name in names:
            JVP_RULES[name] = rule
        return rule
    return register


def tangent_name(name: str) -> str:
    """Name of the tangent of a variable: ``z`` -> ``z_dot``."""
    return f"{name}_dot"


def _o(node: Node):
    return node.origin.as_grad() if node.origin else None


def lift(x: Node, nb: int) -> Node:
    """``x[..., None, ...]``: ``x`` with ``nb`` trailing size-1 axes, so it broadcasts against tangents."""
    if nb == 0 or x.ndim == 0:
        return x
    ones = (sp.Integer(1),) * nb
    if x.op == "broadcast_to":  # lift the source and keep the broadcast outermost, where passes elide it
        return broadcast_to(lift(x.inputs[0], nb), x.shape + ones)
    return getitem(x, (_ALL,) * x.ndim + (None,) * nb, shape=x.shape + ones)


def _reshape(x: Node, shape: Shape) -> Node:
    """``reshape``, collapsing a reshape of a reshape into one."""
    while x.op == "reshape":
        x = x.inputs[0]
    return reshape(x, tuple(shape))


def _expand(x: Node, axes: Sequence[int]) -> Node:
    """``expand_dims`` (size-1 axes at ``axes``, positions in the result), as one reshape."""
    shape = list(x.shape)
    for axis in sorted(axes):
        shape.insert(axis, sp.Integer(1))
    return _reshape(x, tuple(shape))


def _broadcast_tangent(t: Node, src: Shape, dst: Shape, batch: Shape) -> Node:
    """A tangent of shape ``src + batch`` broadcast to ``dst + batch`` (``src`` broadcasts to ``dst``):
    leading axes inserted first, since the batch axes keep NumPy from aligning ``src`` by itself."""
    k = len(dst) - len(src)
    if k:
        t = _expand(t, range(k))
    return broadcast_to(t, tuple(dst) + tuple(batch))


def _zeros(shape: Shape, dtype: str = "float64") -> Node:
    return broadcast_to(scalar(sp.Integer(0), dtype), tuple(shape))


def _add(terms: Sequence[Node | None], shape: Shape) -> Node | None:
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    present = [t for t in terms if t is not None]
    out = present[0]
    for t in present[1:]:
        out = elementwise(ARG[0] + ARG[1], (out, t), shape=tuple(shape))
    return out


# ---------------------------------------------------------------- elementwise ---------------------

def _partial(expr: sp.Expr, i: int, node: Node) -> sp.Expr:
    """d expr / d ARG[i]; Dirac deltas (derivatives of jumps: sign, Heaviside) are 0 almost everywhere."""
    d = derivative(expr, ARG[i])
    if d.has(sp.DiracDelta):
        d = d.replace(lambda t: isinstance(t, sp.DiracDelta), lambda t: sp.S.Zero)
    if d.has(sp.Derivative, sp.Subs):
        raise UnsupportedError(f"{where(node.origin)}: no closed-form derivative of {expr} "
                               f"(SymPy gives {d}); forward mode needs one")
    return d


@defjvp("elementwise")
def _jvp_elementwise(node: Node, tangents: list, batch: Shape) -> Node | None:
    """``T(out) = sum_i d_i * T(x_i)``. Without batch axes, one elementwise node over the inputs and
    tangents; with them, each partial ``d_i`` is a node of the primal's shape (so it is computed once
    and shares subexpressions with the primal and the gradient), lifted and multiplied in."""
    if node.dtype == "bool":
        return None
    nb, n = len(batch), len(node.inputs)
    shape = node.shape + batch
    terms = []
    for i, (x, t) in enumerate(zip(node.inputs, tangents)):
        if t is None or x.dtype == "bool":
            continue
        d = _partial(node.expr, i, node)
        if d != 0:
            terms.append((d, t))
    if not terms:
        return None
    if nb:
        factors = [lift(elementwise(d, node.inputs, origin=_o(node)), nb) for d, _ in terms]
        if 2 * len(terms) > len(ARG):
            return _add([elementwise(ARG[0] * ARG[1], (f, t), shape=shape) for f, (_, t) in zip(factors, terms)],
                        shape)
        args = [a for f, (_, t) in zip(factors, terms) for a in (f, t)]
        total = sp.Add(*(ARG[2 * k] * ARG[2 * k + 1] for k in range(len(terms))))
        return elementwise(total, args, shape=shape, origin=_o(node))
    if n + len(terms) <= len(ARG):
        total = sp.Add(*(d * ARG[n + k] for k, (d, _) in enumerate(terms)))
        return elementwise(total, (*node.inputs, *(t for _, t in terms)), shape=shape, origin=_o(node))
    parts = [elementwise(d * ARG[n], (*node.inputs, t), shape=shape, origin=_o(node)) for d, t in terms]
    return _add(parts, shape)


# ---------------------------------------------------------------- reductions ----------------------

@defjvp("sum", "mean")
def _jvp_linear_reduce(node: Node, tangents: list, batch: Shape) -> Node:
    # The reduced axes lead, so their numbers are the same in the tangent.
    return reduce(node.op, tangents[0], axis=node.param("axis"), keepdims=node.param("keepdims"), origin=_o(node))


@defjvp("max", "min", "prod")
def _jvp_partials_reduce(node: Node, tangents: list, batch: Shape) -> Node:
    """Each output element depends on its own group of inputs, so the partials ``d out / d x`` fit in
    an array of ``x``'s shape: the vjp of ones. ``T(out) = sum over the axes of partials * T(x)``."""
    x = node.inputs[0]
    vjp = PRIMITIVES[node.op].vjp
    assert vjp is not None  # (max, min and prod have theirs)
    (partials,) = vjp(scalar(sp.Integer(1), x.dtype), node)
    assert partials is not None
    product = elementwise(ARG[0] * ARG[1], (lift(partials, len(batch)), tangents[0]), shape=x.shape + batch)
    return reduce("sum", product, axis=node.param("axis"), keepdims=node.param("keepdims"), origin=_o(node))


# ---------------------------------------------------------------- structure -----------------------

@defjvp("broadcast_to")
def _jvp_broadcast_to(node: Node, tangents: list, batch: Shape) -> Node:
    return _broadcast_tangent(tangents[0], node.inputs[0].shape, node.shape, batch)


@defjvp("full_like")
def _jvp_full_like(node: Node, tangents: list, batch: Shape) -> Node | None:
    like, value = node.inputs
    t = tangents[1]
    return None if t is None else _broadcast_tangent(t, value.shape, like.shape, batch)


@defjvp("reshape")
def _jvp_reshape(node: Node, tangents: list, batch: Shape) -> Node:
    return _reshape(tangents[0], node.shape + batch)


@defjvp("transpose")
def _jvp_transpose(node: Node, tangents: list, batch: Shape) -> Node:
    n = node.ndim
    return transpose(tangents[0], node.param("axes") + tuple(range(n, n + len(batch))), origin=_o(node))


@defjvp("getitem")
def _jvp_getitem(node: Node, tangents: list, batch: Shape) -> Node:
    # The index names leading axes only; the batch axes follow, whole.
    return getitem(tangents[0], node.param("index"), origin=_o(node), shape=node.shape + batch)


@defjvp("scatter")
def _jvp_scatter(node: Node, tangents: list, batch: Shape) -> Node:
    shape = node.shape + batch
    return Node("scatter", (tangents[0],), shape, params=(("index", node.param("index")), ("shape", shape)),
                dtype=tangents[0].dtype, origin=_o(node))


@defjvp("stop_gradient")
def _jvp_stop_gradient(node: Node, tangents: list, batch: Shape) -> None:
    return None


@defjvp("copy")
def _jvp_copy(node: Node, tangents: list, batch: Shape) -> Node | None:
    return tangents[0]


@defjvp("concatenate")
def _jvp_concatenate(node: Node, tangents: list, batch: Shape) -> Node:
    parts = [t if t is not None else _zeros(x.shape + batch, x.dtype) for x, t in zip(node.inputs, tangents)]
    return concatenate(parts, node.param("axis"), _o(node))


@defjvp("slice_axis")
def _jvp_slice_axis(node: Node, tangents: list, batch: Shape) -> Node:
    return slice_axis(tangents[0], node.param("axis"), node.param("start"), node.param("stop"), _o(node))


@defjvp("flip")
def _jvp_flip(node: Node, tangents: list, batch: Shape) -> Node:
    return flip(tangents[0], node.param("axes"), _o(node))


@defjvp("roll")
def _jvp_roll(node: Node, tangents: list, batch: Shape) -> Node:
    return roll(tangents[0], node.param("shift"), node.param("axis"), _o(node))


@defjvp("cumsum")
def _jvp_cumsum(node: Node, tangents: list, batch: Shape) -> Node:
    return cumsum(tangents[0], node.param("axis"), _o(node))


@defjvp("diagonal")
def _jvp_diagonal(node: Node, tangents: list, batch: Shape) -> Node:
    """np.diagonal puts the diagonal last, after the batch axes: move it back before them."""
    o, a1, a2 = node.param("offset"), node.param("axis1"), node.param("axis2")
    t = diagonal(tangents[0], o, a1, a2, node.shape[-1], _o(node))
    r, nb = node.ndim - 1, len(batch)
    return transpose(t, tuple(range(r)) + (r + nb,) + tuple(range(r, r + nb)))


@defjvp("diag_embed")
def _jvp_diag_embed(node: Node, tangents: list, batch: Shape) -> Node:
    """The embedded diagonal is the last axis of the input: move it after the batch axes first."""
    t, r, nb = tangents[0], node.inputs[0].ndim - 1, len(batch)
    t = transpose(t, tuple(range(r)) + tuple(range(r + 1, r + 1 + nb)) + (r,))
    return diag_embed(t, node.shape + batch, node.param("offset"), node.param("axis1"), node.param("axis2"), _o(node))


def _jvp_linear_fallback(node: Node, tangents: list, batch: Shape) -> Node:
    """A primitive without a rule that is linear in its one input: the same operation on the
    tangent, which is right for a plain JVP (no batch axes, whose placement the rule would need)."""
    prim = PRIMITIVES.get(node.op)
    if batch or prim is None or not prim.linear or len(node.inputs) != 1:
        detail = " with batched tangents (Jacobians, Hessians)" if batch and prim and prim.linear else ""
        raise UnsupportedError(f"{where(node.origin)}: no forward-mode (JVP) rule for the operation "
                               f"{node.op!r}{detail}")
    return replace(node, inputs=(tangents[0],), dtype=tangents[0].dtype, name=None, origin=_o(node))


# The rules of indexing and matrix functions are defined beside their primitives.
register_index_jvps(defjvp)
register_matrix_jvps(defjvp)
register_decomposition_jvps(defjvp)
register_random_jvps(defjvp)
register_solver_jvps(defjvp)
register_matfunc_jvps(defjvp)
register_banded_jvps(defjvp)
register_loop_jvps(defjvp)
