"""Registry entries (see :mod:`symdiff.numpy.core`): linear algebra.

``dot`` of many dimensions is a contraction (:mod:`symdiff.numpy.contractions`: einsum, tensordot,
inner, outer); ``trace``, ``diag`` and ``diagonal`` are diagonal nodes (adjoint: diag_embed).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..ir import primitives as P
from ..errors import ShapeError
from ..ir.graph import ARG, Node
from .contractions import contract
from .core import Case, Entry, _compose, _here, _no_extras, as_node, register
from .decompositions import named_result, norm_by_ord
from ..ir.shapes import normalize_axes
from ..trace.tracer import current_trace
from ..trace.values import Tracer

def _matmul(origin, a, b, **kwargs):
    _no_extras("matmul", kwargs)
    return P.matmul(as_node(a), as_node(b), origin)


def _dot(origin, a, b, out=None):
    _no_extras("dot", {"out": out})
    na, nb = as_node(a), as_node(b)
    if na.ndim == 0 or nb.ndim == 0:
        return _compose(lambda x, y: x * y, (a, b), origin)
    if na.ndim > 2 or nb.ndim > 2:  # sum over the last axis of a and the second-to-last of b
        return contract(na, nb, [na.ndim - 1], [max(nb.ndim - 2, 0)], origin)
    return P.matmul(na, nb, origin)


def _diag_axes(x: Node, offset, axis1, axis2, empty_ok: bool = False) -> tuple[int, int, int, sp.Expr | None]:
    """Normalised (offset, axis1, axis2) and the diagonal's length, specialising sizes whose relation
    decides it (``min(n, m - offset)`` for unrelated ``n``, ``m``)."""
    if x.ndim < 2:
        raise ShapeError(f"{_here()}: the diagonal of an array of {x.ndim} dimensions; it needs at least 2")
    a1, a2 = normalize_axes(axis1, x.ndim)[0], normalize_axes(axis2, x.ndim)[0]
    if a1 == a2:
        raise ShapeError(f"{_here()}: axis1 and axis2 cannot be the same")
    trace, k = current_trace(), int(offset)
    n1, n2 = trace.resolve(x.shape[a1]), trace.resolve(x.shape[a2])
    length = sp.Min(n1, n2 - k) if k >= 0 else sp.Min(n1 + k, n2)
    if length.has(sp.Min):
        n1, n2 = trace.concrete(n1), trace.concrete(n2)
        length = sp.Integer(min(n1, n2 - k) if k >= 0 else min(n1 + k, n2))
    value = trace.value(length)
    if value is not None and value <= 0:
        if empty_ok:  # np.trace of an empty diagonal: 0
            return k, a1, a2, None
        raise ShapeError(f"{_here()}: diagonal {k} of a {n1} x {n2} array is empty")
    return k, a1, a2, length


def _diagonal(origin, a, offset=0, axis1=0, axis2=1):
    x = as_node(a)
    return P.diagonal(x, *_diag_axes(x, offset, axis1, axis2), origin)


def _trace(origin, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _no_extras("trace", {"out": out, "dtype": dtype})
    x = as_node(a)
    k, a1, a2, length = _diag_axes(x, offset, axis1, axis2, empty_ok=True)
    if length is None:  # an offset past the edge: NumPy's sum of no elements, zeros of the other axes
        rest = tuple(d for i, d in enumerate(x.shape) if i not in (a1, a2))
        return P.broadcast_to(P.scalar(sp.Integer(0), x.dtype), rest) if rest else P.scalar(sp.Integer(0), x.dtype)
    return P.reduce("sum", P.diagonal(x, k, a1, a2, length, origin), axis=-1, origin=origin)


def _diag(origin, v, k=0):
    x = as_node(v)
    if x.ndim == 2:
        return _diagonal(origin, x, k)
    if x.ndim != 1:
        raise ShapeError(f"{_here()}: np.diag needs a 1-d or 2-d array, got {x.ndim} dimensions")
    n = x.shape[0] + abs(int(k))
    return P.diag_embed(x, (n, n), int(k), 0, 1, origin)


def _norm(origin, x, ord=None, axis=None, keepdims=False):
    node = as_node(x)
    axes = normalize_axes(tuple(axis) if isinstance(axis, list) else axis, node.ndim)
    if axis is not None and len(axes) > 2:
        raise ShapeError(f"{_here()}: np.linalg.norm over {len(axes)} axes; give one or two")
    if axis is None and ord is not None and node.ndim > 2:
        raise ShapeError(f"{_here()}: np.linalg.norm(x, ord={ord!r}) of a {node.ndim}-d array: give axis= (one "
                         "axis for a vector norm, two for a matrix norm)")
    same = ord is None or (ord == "fro" and len(axes) == 2) or (ord == 2 and len(axes) == 1)
    if not same:  # the other ords: vector 1, inf, -inf, p; matrix 1, -1, inf, -inf, 'nuc', 2, -2
        return norm_by_ord(origin, node, ord, axes, keepdims)
    squares = P.reduce("sum", P.elementwise(ARG[0] ** 2, (node,), origin=origin), axis=axes, keepdims=keepdims,
                       origin=origin)
    return P.elementwise(sp.sqrt(ARG[0]), (squares,), origin=origin)


MATMUL_CASES: tuple[Case, ...] = ((((3,), (3,)), ()), (((3,), (3, 2)), ()), (((2, 3), (3,)), ()),
                                  (((2, 3), (3, 4)), ()), (((2, 2, 3), (3, 4)), ()), (((3,), (2, 3, 4)), ()))
DIAG_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((3, 4),), (("offset", 1),)), (((4, 3),), (("offset", -2),)),
                                (((2, 3, 4),), (("axis1", -1), ("axis2", 0))))
NORM_CASES: tuple[Case, ...] = (
    (((4,),), ()), (((2, 3),), ()), (((2, 3),), (("axis", -1),)),
    (((2, 3, 4),), (("axis", (0, 2)), ("keepdims", True))), (((2, 3),), (("ord", "fro"),)),
    (((4,),), (("ord", 1),)), (((4,),), (("ord", np.inf),)), (((4,),), (("ord", -np.inf),)),
    (((4,),), (("ord", 3),)), (((4,),), (("ord", 1.5),)), (((2, 4),), (("ord", 1), ("axis", 1))),
    (((3, 4),), (("ord", 1),)), (((3, 4),), (("ord", -1),)), (((3, 4),), (("ord", np.inf),)),
    (((3, 4),), (("ord", -np.inf),)), (((3, 4),), (("ord", "nuc"),)), (((3, 4),), (("ord", 2),)),
    (((3, 4),), (("ord", -2),)), (((2, 3, 4),), (("ord", "nuc"), ("axis", (2, 0)))),
    (((2, 3, 4),), (("ord", np.inf), ("axis", (0, 2)), ("keepdims", True))))

register(np.matmul, Entry("matmul", _matmul, cases=MATMUL_CASES))
register(np.dot, Entry("dot", _dot, cases=MATMUL_CASES[:4] + ((((), (3,)), ()), (((2, 2, 3), (4, 3, 2)), ()),
                                                                (((2, 2, 3), (3,)), ()))))
register(np.trace, Entry("trace", _trace, cases=DIAG_CASES))
register(np.diagonal, Entry("diagonal", _diagonal, cases=DIAG_CASES))
register(np.diag, Entry("diag", _diag, cases=((((3,),), ()), (((3,),), (("k", -1),)), (((3, 4),), ()),
                                              (((3, 4),), (("k", 2),)))))
register(np.linalg.norm, Entry("norm", _norm, cases=NORM_CASES, notes=(
    "all ords but 0 (vector 1, inf, -inf, p; matrix 'fro', 'nuc', 1, -1, 2, -2, inf, -inf); gradient NaN "
    "at 0, a subgradient at ties and kinks; 2/-2 need a simple extreme singular value")))


# ---------------------------------------------------------------- np.linalg matrix functions ------

SlogdetResult = named_result("slogdet", ("sign", "logabsdet"))


def _matrix_fn(fn: str):
    def build(origin, a):
        return P.matrix_fn(fn, as_node(a), origin)
    return build


def _slogdet(origin, a):
    x = as_node(a)
    trace = current_trace()
    return SlogdetResult(Tracer(trace.note(P.matrix_fn(part, x, origin))) for part in ("signdet", "logabsdet"))


def _solve(origin, a, b):
    A, B = as_node(a), as_node(b)
    if B.ndim != 1:
        return P.solve(A, B, origin)
    x = P.solve(A, P.reshape(B, B.shape + (sp.Integer(1),)), origin)  # a vector: one column
    return P.reshape(x, x.shape[:-1])


def well_conditioned(rng, shape):
    """Test matrices far from singular: entries in [-1, 1] plus 3 on the diagonal."""
    x = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + 3.0 * np.eye(shape[-1])
    return x


SQUARE_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((2, 3, 3),), ()), (((1, 1),), ()))
SOLVE_CASES: tuple[Case, ...] = ((((3, 3), (3,)), ()), (((3, 3), (3, 2)), ()), (((2, 3, 3), (3,)), ()),
                                 (((2, 3, 3), (2, 3, 2)), ()), (((3, 3), (2, 3, 2)), ()))
register(np.linalg.inv, Entry("inv", _matrix_fn("inv"), cases=SQUARE_CASES, sample=well_conditioned))
register(np.linalg.det, Entry("det", _matrix_fn("det"), cases=SQUARE_CASES, sample=well_conditioned))
register(np.linalg.slogdet, Entry("slogdet", _slogdet, cases=SQUARE_CASES, sample=well_conditioned,
                                  notes="(sign, logabsdet); sign has no gradient"))
register(np.linalg.solve, Entry("solve", _solve, cases=SOLVE_CASES, sample=well_conditioned))
