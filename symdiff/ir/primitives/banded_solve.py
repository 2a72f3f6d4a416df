"""``scipy.linalg.solve_banded((l, u), ab, b)``: the banded matrix in LAPACK's storage (``A[i, j] =
ab[u + i - j, j]``), differentiable in ``ab`` and ``b``, with three helpers on that storage, each a
primitive with its vjp and JVP rule (so Hessians come from differentiating the gradient):

- ``band_transpose(ab, l, u)``: the storage of ``A^T`` (bands ``(u, l)``); linear, its adjoint is
  ``band_transpose`` with the bands swapped (it moves each stored element of the band once).
- ``band_matvec(ab, x, l, u)``: ``A @ x``; bilinear.
- ``band_outer(p, q, l, u)``: ``out[k, j] = sum_c p[j + k - u, c] q[j, c]``, the stored band of ``p q^T``;
  bilinear, the adjoint of ``band_matvec`` in ``ab``.

With ``X = solve_banded(ab, B)``: ``dB = solve_banded(band_transpose(ab), g)`` (bands ``(u, l)``) and
``dab = -band_outer(dB, X)``; forward, ``dX = solve_banded(ab, dB - band_matvec(dab, X))``. The helpers
take leading stack axes (tangents' batch axes are moved in front); ``solve_banded`` itself one matrix.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> ab = input_node("ab", (sp.Integer(3), sp.Integer(5)), 0)
>>> b = input_node("b", (sp.Integer(5), sp.Integer(2)), 1)
>>> solve_banded(ab, b, 1, 1).shape, band_outer(b, b, 1, 1).shape
((5, 2), (3, 5))
"""
from __future__ import annotations

import sympy as sp

from ...errors import ShapeError
from ..graph import ARG, Node, Origin
from .core import _grad, defprim, elementwise, reshape
from .solvers import _add, _neg, _to_back, _to_front
from ..shapes import Shape, broadcast_shapes, same_dim, size_of


def _params(lower: int, upper: int) -> tuple:
    return (("l", int(lower)), ("u", int(upper)))


def solve_banded(ab: Node, b: Node, lower: int, upper: int, origin: Origin | None = None) -> Node:
    """``scipy.linalg.solve_banded((lower, upper), ab, b)`` for ``ab`` ``(lower + upper + 1, M)`` and ``b``
    ``(M, K)`` (the tracer makes a vector one column)."""
    if ab.ndim != 2 or b.ndim != 2:
        raise ShapeError("scipy.linalg.solve_banded: ab and b must be matrices here (the tracer checks)")
    same_dim(ab.shape[0], sp.Integer(lower + upper + 1))
    same_dim(ab.shape[1], b.shape[0])
    return Node("solve_banded", (ab, b), b.shape, params=_params(lower, upper), dtype=ab.dtype, origin=origin)


def band_transpose(ab: Node, lower: int, upper: int, origin: Origin | None = None) -> Node:
    return Node("band_transpose", (ab,), ab.shape, params=_params(lower, upper), dtype=ab.dtype, origin=origin)


def band_matvec(ab: Node, x: Node, lower: int, upper: int, origin: Origin | None = None) -> Node:
    shape = broadcast_shapes(ab.shape[:-2], x.shape[:-2]) + x.shape[-2:]
    return Node("band_matvec", (ab, x), shape, params=_params(lower, upper), dtype=ab.dtype, origin=origin)


def band_outer(p: Node, q: Node, lower: int, upper: int, origin: Origin | None = None) -> Node:
    shape = broadcast_shapes(p.shape[:-2], q.shape[:-2]) + (sp.Integer(lower + upper + 1), q.shape[-2])
    return Node("band_outer", (p, q), shape, params=_params(lower, upper), dtype=p.dtype, origin=origin)


def _lu(node: Node) -> tuple[int, int]:
    return node.param("l"), node.param("u")


def _vjp_solve_banded(g: Node, node: Node) -> list[Node]:
    ab, o = node.inputs[0], _grad(node)
    lo, up = _lu(node)
    gb = solve_banded(band_transpose(ab, lo, up, o), g, up, lo, o)
    return [_neg(band_outer(gb, node, lo, up, o), o), gb]


def _vjp_band_transpose(g: Node, node: Node) -> list[Node]:
    lo, up = _lu(node)
    return [band_transpose(g, up, lo, _grad(node))]


def _vjp_band_matvec(g: Node, node: Node) -> list[Node]:
    (ab, x), o = node.inputs, _grad(node)
    lo, up = _lu(node)
    return [band_outer(g, x, lo, up, o), band_matvec(band_transpose(ab, lo, up, o), g, up, lo, o)]


def _vjp_band_outer(g: Node, node: Node) -> list[Node]:
    (p, q), o = node.inputs, _grad(node)
    lo, up = _lu(node)
    return [band_matvec(g, q, lo, up, o), band_matvec(band_transpose(g, lo, up, o), p, up, lo, o)]


defprim("solve_banded", _vjp_solve_banded)
defprim("band_transpose", _vjp_band_transpose, linear=True)
defprim("band_matvec", _vjp_band_matvec)
defprim("band_outer", _vjp_band_outer)


def _front(t: Node, x: Node, nb: int) -> Node:
    return _to_front(t, x.ndim, nb)


def _jvp_solve_banded(node: Node, tangents: list, batch: Shape) -> Node:
    """dX = solve_banded(ab, dB - band_matvec(dab, X)): the batch axes (trailing, after X's columns) are
    folded into the columns of one right-hand side."""
    ab, (tab, tb) = node.inputs[0], tangents
    lo, up = _lu(node)
    o, nb = node.origin, len(batch)
    m, k = node.shape
    terms = [tb] if tb is not None else []
    if tab is not None:
        terms.append(_to_back(_neg(band_matvec(_front(tab, ab, nb), node, lo, up, o), o), 2, nb))
    total = terms[0] if len(terms) == 1 else _add(terms[0], terms[1], o)
    cols = reshape(total, (m, k * size_of(batch)))
    return reshape(solve_banded(ab, cols, lo, up, o), node.shape + batch)


def _jvp_band_transpose(node: Node, tangents: list, batch: Shape) -> Node:
    lo, up = _lu(node)
    nd, nb = node.ndim, len(batch)
    return _to_back(band_transpose(_front(tangents[0], node.inputs[0], nb), lo, up, node.origin), nd, nb)


def _bilinear(build):
    def rule(node: Node, tangents: list, batch: Shape) -> Node:
        (p, q), (tp, tq) = node.inputs, tangents
        lo, up = _lu(node)
        nd, nb, o = node.ndim, len(batch), node.origin
        terms = []
        if tp is not None:
            terms.append(build(_front(tp, p, nb), q, lo, up, o))
        if tq is not None:
            terms.append(build(p, _front(tq, q, nb), lo, up, o))
        total = terms[0] if len(terms) == 1 else elementwise(ARG[0] + ARG[1], tuple(terms), origin=o)
        return _to_back(total, nd, nb)
    return rule


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("solve_banded")(_jvp_solve_banded)
    defjvp("band_transpose")(_jvp_band_transpose)
    defjvp("band_matvec")(_bilinear(band_matvec))
    defjvp("band_outer")(_bilinear(band_outer))
