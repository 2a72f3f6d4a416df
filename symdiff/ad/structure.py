"""Banded tangents: the Jacobian of a vector by a vector, kept as its diagonals while it stays banded.

A Jacobian (and so a Hessian, the Jacobian of the gradient) is forward mode seeded with the identity
(:mod:`symdiff.ad.forward`). Seeded densely, every node of the gradient graph gets an ``m x n`` tangent,
although for a separable function (a sum of elementwise terms of ``x``, ``x[1:]``, ``x[:-1]``, ...)
each one is a few diagonals. Here the tangent of a vector node of shape ``(m,)`` with respect to a
vector of ``n`` elements is a :class:`Banded`: for each offset ``o``, a vector node ``d_o`` of shape
``(m,)`` with ``T[i, i + o] = d_o[i]``. The seed is ``{0: ones}``; an elementwise operation
multiplies each diagonal by its partial derivative (the unbatched JVP rule, one per offset); a
slice ``x[a:b]`` slices the diagonals and shifts their offsets by ``a``; its adjoint (scatter) pads
them and shifts back; an element ``x[k]`` takes one element of each diagonal. A sum, or a matrix or
vector times the band, is dense, built diagonal by diagonal (a matrix times the identity is that
matrix). Whatever else meets a banded tangent gets it as a dense ``banded`` node (one buffer filled
through strided views, :func:`symdiff.ir.primitives.linalg.banded`) and the dense rule.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node, getitem
>>> x = input_node("x", (sp.Integer(4),), 0)
>>> t = jvp_banded(getitem(x, (("slice", 1, None, None),)), [seed(x)], x.shape)
>>> [o for o, _ in t.diags], t.rows, t.cols
([1], 3, 4)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import sympy as sp

from .jvp_rules import JVP_RULES, _add, _jvp_elementwise, _o, _zeros, defjvp
from ..ir.graph import ARG, Node
from ..ir.primitives import broadcast_to, elementwise, getitem, scalar, slice_axis, swapaxes
from ..ir.primitives.core import _uniform
from ..ir.primitives.linalg import band_rows, banded
from ..ir.shapes import Shape


@dataclass(frozen=True)
class Banded:
    """The tangent ``T`` (``rows x cols``) of a vector node, by its diagonals: ``T[i, i + o] = d[i]``
    for each ``(o, d)`` of ``diags`` (offsets increasing, ``d`` of shape ``(rows,)``), at the rows
    ``i`` with ``0 <= i + o < cols``; elements of ``d`` at other rows mean nothing. Zero elsewhere."""

    rows: sp.Expr
    cols: sp.Expr
    diags: tuple[tuple[int, Node], ...]

    def get(self, offset: int) -> Node | None:
        return next((d for o, d in self.diags if o == offset), None)

    def is_diagonal(self) -> bool:
        """Only the main diagonal, and square: ``diag(d)``."""
        return len(self.diags) == 1 and self.diags[0][0] == 0 and self.rows == self.cols


def make(rows: sp.Expr, cols: sp.Expr, diags: dict[int, Node | None]) -> Banded | None:
    """A :class:`Banded` of the non-zero diagonals, or None when there is none."""
    kept = tuple((o, d) for o, d in sorted(diags.items()) if d is not None)
    return Banded(rows, cols, kept) if kept else None


def seed(w: Node) -> Banded:
    """The identity, as the tangent of the vector ``w`` itself."""
    (n,) = w.shape
    return Banded(n, n, ((0, broadcast_to(scalar(sp.Integer(1), w.dtype), (n,))),))


def densify(t: Banded) -> Node:
    """The tangent as a matrix node."""
    return banded([d for _, d in t.diags], [o for o, _ in t.diags], (t.rows, t.cols))


#: ``rule(node, tangents, batch)`` for tangents some of which are :class:`Banded`: the node's tangent
#: (Banded, a dense node, or None for zero), or NotImplemented to take the dense rule instead.
Rule = Callable[[Node, list, Shape], "Banded | Node | None"]
RULES: dict[str, Rule] = {}


def defrule(*names: str) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        for name in names:
            RULES[name] = rule
        return rule
    return register


def jvp_banded(node: Node, tangents: list, batch: Shape) -> Banded | Node | None:
    """The tangent of ``node`` from its inputs' tangents (at least one :class:`Banded`), or
    NotImplemented when it does not keep the structure."""
    rule = RULES.get(node.op)
    return NotImplemented if rule is None else rule(node, tangents, batch)


# ---------------------------------------------------------------- rules ---------------------------

@defrule("elementwise")
def _elementwise(node: Node, tangents: list, batch: Shape) -> Banded | Node | None:
    """Per offset, the JVP without batch axes of the diagonals: ``sum_k d out/d x_k * d_k``. Inputs
    with dense tangents (a broadcast scalar's, say) add their dense term to the band made a matrix."""
    if node.ndim != 1 or node.dtype == "bool":
        return NotImplemented
    banded_in = [isinstance(t, Banded) for t in tangents]
    if any(b and x.shape != node.shape for x, b in zip(node.inputs, banded_in)):
        return NotImplemented
    first = next(t for t, b in zip(tangents, banded_in) if b)
    offsets = sorted({o for t, b in zip(tangents, banded_in) if b for o, _ in t.diags})
    # constants fold into the partials
    plain = replace(node, inputs=tuple(_scalar_if_uniform(i) or i for i in node.inputs))
    band = make(first.rows, first.cols, {
        o: _jvp_elementwise(plain, [_scalar_if_uniform(t.get(o)) if b else None for t, b in zip(tangents, banded_in)],
                            ()) for o in offsets})
    if all(b or t is None for t, b in zip(tangents, banded_in)):
        return band
    dense = _jvp_elementwise(node, [None if b else t for t, b in zip(tangents, banded_in)], batch)
    return _add([densify(band) if band is not None else None, dense], node.shape + batch)


def _scalar_if_uniform(d: Node | None) -> Node | None:
    """A diagonal of one number (the identity's ones) as that number, so it folds into the expression."""
    return None if d is None else (_uniform(d) or d)


def _slice_start(x: Node, index: tuple) -> int | None:
    """``a`` when ``index`` is ``[a:b]`` (step 1) on a vector, with ``a`` a known non-negative position."""
    if x.ndim != 1 or len(index) != 1 or not isinstance(index[0], tuple):
        return None
    _, start, _, step = index[0]
    if step not in (None, 1):
        return None
    start = 0 if start is None else start
    if not isinstance(start, (int, sp.Integer)):
        return None
    start = int(start)
    if start < 0:
        if not x.shape[0].is_Integer:
            return None
        start = max(int(x.shape[0]) + start, 0)
    return start


@defrule("getitem")
def _getitem(node: Node, tangents: list, batch: Shape) -> Any:
    """``x[a:b]``: row ``i`` is row ``i + a`` of ``x``, so each diagonal is sliced and its offset grows by ``a``."""
    (t,) = tangents
    index = node.param("index")
    if node.ndim == 0 and len(index) == 1 and isinstance(index[0], (int, sp.Integer)):
        return _element(node, t, int(index[0]), batch)
    a = _slice_start(node.inputs[0], index)
    if a is None:
        return NotImplemented
    return make(node.shape[0], t.cols, {o + a: getitem(d, node.param("index"), _o(node), shape=node.shape)
                                        for o, d in t.diags})


def _element(node: Node, t: Banded, k: int, batch: Shape) -> Node | None:
    """``x[k]``: row ``k`` of the band, the element ``d_o[k]`` of each diagonal at column ``k + o`` (a
    scatter), counted from the end of the row when ``k`` is (``x[-1]``), as long as that is known."""
    row = k if k >= 0 else t.rows + k
    parts = []
    for o, d in t.diags:
        col = sp.expand(row + o)
        if col.is_negative or sp.expand(t.cols - col).is_nonpositive:  # outside: nothing
            continue
        if col.is_Integer:
            at = int(col)
        elif sp.expand(col - t.cols).is_Integer:
            at = int(sp.expand(col - t.cols))
        else:
            return NotImplemented
        if not ((o >= 0 or col.is_nonnegative) and sp.expand(t.cols - col).is_positive):  # row k exists
            return NotImplemented
        parts.append(Node("scatter", (getitem(d, (k,), _o(node)),), batch, params=(("index", (at,)), ("shape", batch)),
                          dtype=d.dtype, origin=_o(node)))
    return _add(parts, batch)


@defrule("slice_axis")
def _slice_axis(node: Node, tangents: list, batch: Shape) -> Any:
    (t,) = tangents
    start, stop = node.param("start"), node.param("stop")
    if node.ndim != 1 or not start.is_Integer:
        return NotImplemented
    return make(node.shape[0], t.cols, {o + int(start): slice_axis(d, 0, start, stop, _o(node)) for o, d in t.diags})


@defrule("scatter")
def _scatter(node: Node, tangents: list, batch: Shape) -> Any:
    """Zeros with ``g`` at ``[a:b]`` (the adjoint of a slice): row ``r`` is row ``r - a`` of ``g``, so
    each diagonal is placed the same way and its offset drops by ``a``."""
    (t,) = tangents
    index = node.param("index")
    a = _slice_start(node, index)
    if a is None:
        return NotImplemented
    return make(node.shape[0], t.cols, {o - a: Node("scatter", (d,), node.shape, dtype=d.dtype, origin=_o(node),
                                                    params=(("index", index), ("shape", node.shape)))
                                        for o, d in t.diags})


@defrule("copy", "reshape", "broadcast_to")
def _same(node: Node, tangents: list, batch: Shape) -> Banded:
    """Operations that leave a vector as it is (a reshape or broadcast to its own shape)."""
    return tangents[0] if node.shape == node.inputs[0].shape else NotImplemented


@defrule("stop_gradient")
def _stop(node: Node, tangents: list, batch: Shape) -> None:
    return None


@defrule("full_like")
def _full_like(node: Node, tangents: list, batch: Shape) -> Banded | None:
    like, value = node.inputs
    return tangents[1] if value.shape == node.shape else NotImplemented


def _slice_stop(dim: sp.Expr, stop: sp.Expr):
    """``stop`` (a position in an axis of size ``dim``) as a slice stop: None at the end, else a
    negative integer counted from it; NotImplemented when it is not a known distance from the end."""
    gap = sp.expand(dim - stop)
    if gap == 0:
        return None
    return -int(gap) if gap.is_Integer and gap > 0 else NotImplemented


def _times_band(m: Node | None, t: Banded, node: Node, batch: Shape) -> Node | None:
    """``m @ T`` as a dense node (``m`` a matrix or a vector over ``T``'s rows; None: ones, the
    column sums): per diagonal, the rows ``i`` whose column ``i + o`` lies inside (a slice of ``m``'s
    last axis and of the diagonal), scaled, go to those columns (a scatter). NotImplemented when the
    range of rows is not known as slice bounds."""
    lead = m.shape[:-1] if m is not None else ()
    shape, full = lead + tuple(batch), (("slice", None, None, None),) * len(lead)
    parts = []
    for o, d in t.diags:
        lo, hi = max(0, -o), sp.Min(t.rows, t.cols - o)
        rows, cols = (lo, _slice_stop(t.rows, hi)), (lo + o, _slice_stop(t.cols, hi + o))
        if isinstance(hi, sp.Min) or NotImplemented in rows + cols:
            return NotImplemented
        if sp.sympify(hi - lo).is_nonpositive:  # no column of this diagonal lies inside
            continue
        mm = m
        if rows != (0, None):
            d = getitem(d, (("slice", *rows, None),), _o(node))
            mm = None if m is None else getitem(m, full + (("slice", *rows, None),), _o(node))
        one = (u := _uniform(d)) is not None and u.expr == 1
        piece = d if mm is None else mm if one else elementwise(ARG[0] * ARG[1], (mm, d), origin=_o(node))
        if cols != (0, None):
            piece = Node("scatter", (piece,), shape, dtype=piece.dtype, origin=_o(node),
                         params=(("index", full + (("slice", *cols, None),)), ("shape", shape)))
        parts.append(piece)
    return _add(parts, shape)


@defrule("sum")
def _sum(node: Node, tangents: list, batch: Shape) -> Any:
    """The column sums of the band (a square main diagonal is itself)."""
    if node.param("axis") != (0,) or node.param("keepdims"):
        return NotImplemented
    return _times_band(None, tangents[0], node, batch)


@defrule("matmul")
def _matmul(node: Node, tangents: list, batch: Shape) -> Any:
    """``a @ T(b)`` and ``T(a)``'s contraction with ``b`` (``b.T @ T(a)``) by the band's diagonals: a
    matrix times the identity is the matrix, times ``diag(d)`` its columns scaled. A term whose
    tangent is not banded takes the dense rule."""
    a, b = node.inputs
    terms = []
    for k, t in enumerate(tangents):
        if t is None:
            continue
        term: Any = NotImplemented
        if isinstance(t, Banded):
            other = a if k == 1 else b if b.ndim == 1 else swapaxes(b)
            if other.ndim <= 2 and (k == 0 or a.ndim <= 2):
                term = _times_band(other, t, node, batch)
        if term is NotImplemented:
            dense: list[Any] = [None, None]
            dense[k] = densify(t) if isinstance(t, Banded) else t
            term = JVP_RULES["matmul"](node, dense, batch)
        terms.append(term)
    return _add([t for t in terms if t is not None], node.shape + batch)


# ---------------------------------------------------------------- JVP of the matrix ---------------

@defjvp("banded")
def _jvp_banded_node(node: Node, tangents: list, batch: Shape) -> Node:
    """Linear in its diagonals, whose batch axes trail like the matrix's: the same matrix of their tangents."""
    parts = [t if t is not None else _zeros(d.shape + batch, d.dtype) for d, t in zip(node.inputs, tangents)]
    return banded(parts, node.param("offsets"), node.shape + batch, _o(node))


@defjvp("band_rows")
def _jvp_band_rows(node: Node, tangents: list, batch: Shape) -> Node:
    return band_rows(tangents[0], node.param("offset"), _o(node))


def tangent_shape(t: Banded | Node) -> Shape:
    """The shape of a tangent, banded or not."""
    return (t.rows, t.cols) if isinstance(t, Banded) else t.shape


def dense_all(tangents: Sequence) -> list:
    """The tangents with every :class:`Banded` one made a matrix node."""
    return [densify(t) if isinstance(t, Banded) else t for t in tangents]
