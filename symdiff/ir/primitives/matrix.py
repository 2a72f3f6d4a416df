"""Matrix functions of ``np.linalg``: ``inv``, ``det``, ``slogdet``, ``solve`` and ``pinv``, batched over
leading axes as NumPy does. Each: builder, vjp (written with these same builders, so Hessians come
from differentiating the gradient), emit and JVP rule under its banner.

The rules are the classic ones (autograd, JAX): with ``Y = inv(A)``, ``dA = -Y^T g Y^T``; for the
determinant, ``dA = g det(A) inv(A)^T``; for ``log|det A|``, ``dA = g inv(A)^T``; for
``X = solve(A, B)``, ``dB = solve(A^T, g)`` and ``dA = -dB X^T``. Registered into
:data:`symdiff.ir.primitives.core.PRIMITIVES`.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> a = input_node("a", (sp.Integer(2), sp.Integer(3), sp.Integer(3)), 0)
>>> matrix_fn("det", a).shape, matrix_fn("inv", a).shape
((2,), (2, 3, 3))
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from ...errors import ShapeError
from ..graph import ARG, Node, Origin
from .core import _grad, defprim, elementwise, reduce, reshape, swapaxes, transpose
from .linalg import matmul
from ..shapes import Shape, broadcast_shapes, same_dim


def _square(a: Node, what: str) -> None:
    if a.ndim < 2:
        raise ShapeError(f"np.linalg.{what}: needs an array of at least 2 dimensions, got {a.ndim}")
    same_dim(a.shape[-1], a.shape[-2])


def _lift2(x: Node) -> Node:
    """``x[..., None, None]``: a per-matrix scalar that broadcasts against the matrices."""
    return reshape(x, x.shape + (sp.Integer(1), sp.Integer(1)))


def _times(a: Node, b: Node, origin: Origin | None) -> Node:
    return elementwise(ARG[0] * ARG[1], (a, b), shape=broadcast_shapes(a.shape, b.shape), origin=origin)


# ---------------------------------------------------------------- inv, det, slogdet ---------------

def matrix_fn(fn: str, a: Node, origin: Origin | None = None, call: str = "numpy") -> Node:
    """``np.linalg.inv`` (``fn="inv"``), ``det``, and the parts of ``slogdet``: ``logabsdet``, ``signdet``;
    ``call="scipy"`` prints ``scipy.linalg.inv``/``det`` (the same values)."""
    _square(a, "slogdet" if "det" in fn and fn != "det" else fn)
    shape = a.shape if fn == "inv" else a.shape[:-2]
    params = (("fn", fn),) + ((("call", "scipy"),) if call == "scipy" else ())
    return Node("matrix_fn", (a,), shape, params=params, dtype=a.dtype, origin=origin)


def _vjp_matrix_fn(g: Node, node: Node) -> list[Node | None]:
    fn, a, o = node.param("fn"), node.inputs[0], _grad(node)
    if fn == "signdet":
        return [None]
    if fn == "inv":
        yt = swapaxes(node)
        return [elementwise(-ARG[0], (matmul(matmul(yt, g, o), yt, o),), origin=o)]
    inv_t = swapaxes(matrix_fn("inv", a, o))
    scale = _times(g, node, o) if fn == "det" else g
    return [_times(_lift2(scale), inv_t, o)]


defprim("matrix_fn", _vjp_matrix_fn)


# ---------------------------------------------------------------- solve ---------------------------

def solve(a: Node, b: Node, origin: Origin | None = None) -> Node:
    """``np.linalg.solve(a, b)`` for ``b`` a stack of matrices (``(..., M, K)``); the tracer turns a
    vector ``b`` into one column first."""
    _square(a, "solve")
    if b.ndim < 2:
        raise ShapeError("solve: b must be a matrix here (the tracer handles vectors)")
    same_dim(a.shape[-1], b.shape[-2])
    shape = broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    return Node("solve", (a, b), shape, dtype=a.dtype, origin=origin)


def _vjp_solve(g: Node, node: Node) -> list[Node]:
    a, o = node.inputs[0], _grad(node)
    gb = solve(swapaxes(a), g, o)
    return [elementwise(-ARG[0], (matmul(gb, swapaxes(node), o),), origin=o), gb]


defprim("solve", _vjp_solve)


# ---------------------------------------------------------------- pinv ----------------------------

def _negate(x: Node, o: Origin | None) -> Node:
    return elementwise(-ARG[0], (x,), origin=o)


def _plus(a: Node, b: Node, o: Origin | None) -> Node:
    return elementwise(ARG[0] + ARG[1], (a, b), shape=broadcast_shapes(a.shape, b.shape), origin=o)


def pinv(a: Node, rcond: float | None = None, origin: Origin | None = None) -> Node:
    """``np.linalg.pinv(a)`` of ``(..., m, n)``: ``(..., n, m)``; ``rcond`` as NumPy's (None: its default)."""
    if a.ndim < 2:
        raise ShapeError(f"np.linalg.pinv: needs an array of at least 2 dimensions, got {a.ndim}")
    return Node("pinv", (a,), a.shape[:-2] + (a.shape[-1], a.shape[-2]), params=(("rcond", rcond),), dtype=a.dtype,
                origin=origin)


def _pinv_terms(p: Node, a: Node, x: Node, o: Origin | None) -> Node:
    """``P P^T x (I - A P) + (I - P A) x P^T P`` for ``x`` shaped like ``A^T`` (Golub and Pereyra 1973)."""
    left = matmul(matmul(p, swapaxes(p), o), x, o)
    left = elementwise(ARG[0] - ARG[1], (left, matmul(matmul(left, a, o), p, o)), shape=left.shape, origin=o)
    right = matmul(x, matmul(swapaxes(p), p, o), o)
    right = elementwise(ARG[0] - ARG[1], (right, matmul(p, matmul(a, right, o), o)), shape=right.shape, origin=o)
    return _plus(left, right, o)


def _vjp_pinv(g: Node, node: Node) -> list[Node]:
    """The adjoint of dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P (constant rank)."""
    a, o = node.inputs[0], _grad(node)
    p = node
    first = _negate(matmul(matmul(swapaxes(p), g, o), swapaxes(p), o), o)
    # <G, P P^T dA^T (I - AP)> = <(I - AP) G^T P P^T, dA>; <G, (I - PA) dA^T P^T P> = <P^T P G^T (I - PA), dA>
    gt = swapaxes(g)
    two = matmul(gt, matmul(p, swapaxes(p), o), o)
    two = elementwise(ARG[0] - ARG[1], (two, matmul(a, matmul(p, two, o), o)), shape=two.shape, origin=o)
    three = matmul(matmul(swapaxes(p), p, o), gt, o)
    three = elementwise(ARG[0] - ARG[1], (three, matmul(matmul(three, p, o), a, o)), shape=three.shape, origin=o)
    return [_plus(first, _plus(two, three, o), o)]


defprim("pinv", _vjp_pinv)


# ---------------------------------------------------------------- forward mode --------------------

def _to_front(t: Node, nd: int, nb: int) -> Node:
    """Move the ``nb`` trailing (batch) axes of a tangent in front of its ``nd`` primal axes."""
    return transpose(t, tuple(range(nd, nd + nb)) + tuple(range(nd)))


def _to_back(t: Node, nd: int, nb: int) -> Node:
    return transpose(t, tuple(range(nb, nb + nd)) + tuple(range(nb)))


def _lift(x: Node, nb: int) -> Node:
    return reshape(x, x.shape + (sp.Integer(1),) * nb) if nb else x


def _jvp_matrix_fn(node: Node, tangents: list, batch: Shape) -> Node | None:
    fn, a, t = node.param("fn"), node.inputs[0], tangents[0]
    nb, o = len(batch), node.origin
    if fn == "signdet":
        return None
    if fn == "inv":  # dY = -Y dA Y, over the batch axes moved to the front
        lead = _to_front(t, a.ndim, nb)
        return _to_back(elementwise(-ARG[0], (matmul(matmul(node, lead, o), node, o),), origin=o), a.ndim, nb)
    # d log|det A| = trace(inv(A) dA) = sum(inv(A)^T * dA) over the matrix axes
    inner = _times(_lift(swapaxes(matrix_fn("inv", a, o)), nb), t, o)
    dlog = reduce("sum", inner, axis=(a.ndim - 2, a.ndim - 1), origin=o)
    return dlog if fn == "logabsdet" else _times(_lift(node, nb), dlog, o)


def _jvp_solve(node: Node, tangents: list, batch: Shape) -> Node:
    """dX = solve(A, dB - dA X), batch axes moved to the front so NumPy broadcasts the stacks."""
    a, b = node.inputs
    ta, tb = tangents
    nb, nd, o = len(batch), node.ndim, node.origin
    pad = lambda t, x: reshape(t, (sp.Integer(1),) * (nd - x.ndim) + t.shape)  # noqa: E731  (align stacks)
    rhs: Sequence[Node] = []
    if tb is not None:
        rhs = [_to_front(pad(tb, b), nd, nb)]
    if ta is not None:
        rhs = [*rhs, elementwise(-ARG[0], (matmul(_to_front(pad(ta, a), nd, nb), node, o),), origin=o)]
    total = rhs[0] if len(rhs) == 1 else elementwise(ARG[0] + ARG[1], tuple(rhs),
                                                     shape=broadcast_shapes(rhs[0].shape, rhs[1].shape), origin=o)
    return _to_back(solve(a, total, o), nd, nb)


def _jvp_pinv(node: Node, tangents: list, batch: Shape) -> Node:
    a, o, nd, nb = node.inputs[0], node.origin, node.ndim, len(batch)
    da = _to_front(tangents[0], a.ndim, nb)
    first = _negate(matmul(matmul(node, da, o), node, o), o)
    return _to_back(_plus(first, _pinv_terms(node, a, swapaxes(da), o), o), nd, nb)


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("matrix_fn")(_jvp_matrix_fn)
    defjvp("solve")(_jvp_solve)
    defjvp("pinv")(_jvp_pinv)
