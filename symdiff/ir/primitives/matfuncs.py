"""Matrix functions and the other real-spectrum decompositions: ``scipy.linalg.expm``, ``logm``, ``sqrtm``,
``np.linalg.eig`` (real, distinct eigenvalues) and ``np.linalg.lstsq`` (full column rank). Each: builder,
vjp (written with these same builders, so Hessians come from differentiating the gradient) and JVP rule.

- ``expm`` and ``logm``: the Fréchet derivative ``L(A, E)`` of a primary matrix function ``f`` is the
  upper-right block of ``f([[A, E], [0, A]])`` (Higham, *Functions of Matrices*, 3.2), and the vjp is
  ``L(A^T, G)``. This block form is used rather than ``scipy.linalg.expm_frechet`` because it is the same
  primitive again: it broadcasts over stacks as ``expm`` does, and its own derivative (Hessians) is this
  same rule, where ``expm_frechet`` would need a rule of its own and takes one matrix at a time. It costs
  one ``f`` of a ``2n x 2n`` matrix. The block matrix has ``A``'s eigenvalues, so ``logm``'s domain is kept.
- ``sqrtm`` (``S = sqrtm(A)``, ``S S = A``): ``S dS + dS S = dA``, a Sylvester equation (cheaper than the
  block form); vjp: ``S^T X + X S^T = G``.
- ``eig`` (real ``A``, real distinct eigenvalues, unit columns ``V``): autograd's rule restricted to
  real matrices, ``dA = V^-T (diag(gw) + F o V^T gV - F o (V^T V diag(V^T gV))) V^T``, ``F = 1/(w_j - w_i)``.
- ``lstsq`` (``m >= n``, rank ``n``): ``X = (A^T A)^-1 A^T B``; with ``r = B - A X`` and ``z = (A^T A)^-1 g``,
  ``dB = A z`` and ``dA = r z^T - A z X^T``.

The generated code raises at run time where the result leaves the real numbers (eigenvalues of
``logm``'s or ``sqrtm``'s argument on the closed negative real axis, complex eigenvalues of ``eig``) or
the rank is not full (``lstsq``), instead of returning complex numbers or a wrong gradient.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> a = input_node("a", (sp.Integer(3), sp.Integer(3)), 0)
>>> matfunc("expm", a).shape, eig(a, "values").shape
((3, 3), (3,))
"""
from __future__ import annotations

import sympy as sp

from ...errors import ShapeError
from ..graph import ARG, Node, Origin
from .core import _grad, broadcast_to, defprim, elementwise, reduce, reshape, scalar, swapaxes
from .linalg import matmul
from .matrix import solve
from .shape import concatenate, slice_axis
from .decompositions import _eye_like, _gaps, _times_row
from .solvers import _add, _neg, _pad, _square, _to_back, _to_front, sylvester
from ..shapes import Shape, broadcast_shapes

MATFUNCS = ("expm", "logm", "sqrtm")


def matfunc(fn: str, a: Node, origin: Origin | None = None) -> Node:
    """``scipy.linalg.<fn>(a)`` for ``fn`` in expm, logm, sqrtm, of ``(..., n, n)``."""
    _square(a, f"scipy.linalg.{fn}")
    return Node("matfunc", (a,), a.shape, params=(("fn", fn),), dtype=a.dtype, origin=origin)


def _frechet(fn: str, a: Node, e: Node, o: Origin | None) -> Node:
    """``L_f(a, e)``: the upper-right block of ``f([[a, e], [0, a]])`` (``e`` may hold more stack axes)."""
    shape = broadcast_shapes(a.shape, e.shape)
    a, e = broadcast_to(_pad(a, a, len(shape)), shape), broadcast_to(_pad(e, e, len(shape)), shape)
    zero = broadcast_to(scalar(sp.Integer(0), a.dtype), shape)
    r, c = len(shape) - 2, len(shape) - 1
    block = concatenate([concatenate([a, e], c, o), concatenate([zero, a], c, o)], r, o)
    n = shape[-1]
    big = matfunc(fn, block, o)
    return slice_axis(slice_axis(big, r, sp.Integer(0), n, o), c, n, 2 * n, o)


def _vjp_matfunc(g: Node, node: Node) -> list[Node]:
    fn, a, o = node.param("fn"), node.inputs[0], _grad(node)
    if fn == "sqrtm":
        st = swapaxes(node)
        return [sylvester(st, st, g, o)]
    return [_frechet(fn, swapaxes(a), g, o)]


defprim("matfunc", _vjp_matfunc)


def _jvp_matfunc(node: Node, tangents: list, batch: Shape) -> Node:
    fn, a, o, nd, nb = node.param("fn"), node.inputs[0], node.origin, node.ndim, len(batch)
    t = _to_front(tangents[0], nd, nb)
    out = sylvester(node, node, t, o) if fn == "sqrtm" else _frechet(fn, a, t, o)
    return _to_back(out, nd, nb)


# ---------------------------------------------------------------- eig -----------------------------

def eig(a: Node, part: str, call: str = "eig", origin: Origin | None = None) -> Node:
    """``np.linalg.eig(a)``'s eigenvalues (``part="values"``, ``(..., n)``) or unit eigenvectors
    (``"vectors"``, the columns), for real eigenvalues; ``call="eigvals"`` prints ``np.linalg.eigvals``."""
    _square(a, f"np.linalg.{call}")
    shape = a.shape[:-1] if part == "values" else a.shape
    return Node("eig", (a,), shape, params=(("part", part), ("call", call)), dtype=a.dtype, origin=origin)


def _eig_parts(node: Node, o: Origin | None) -> tuple[Node, Node]:
    a = node.inputs[0]
    return eig(a, "values", "eig", o), eig(a, "vectors", "eig", o)


def _vjp_eig(g: Node, node: Node) -> list[Node]:
    o = _grad(node)
    w, v = _eig_parts(node, o)
    vt = swapaxes(v)
    if node.param("part") == "values":
        inner = elementwise(ARG[0] * ARG[1], (_eye_like(w), reshape(g, g.shape[:-1] + (sp.Integer(1), g.shape[-1]))),
                            shape=v.shape, origin=o)
    else:
        f, j = _gaps(w, o), matmul(vt, g, o)
        norm = matmul(matmul(vt, v, o), elementwise(ARG[0] * ARG[1], (j, _eye_like(w)), shape=j.shape, origin=o), o)
        inner = elementwise(ARG[0] * (ARG[1] - ARG[2]), (f, j, norm), shape=v.shape, origin=o)
    # V^-T inner V^T = solve(V^T, inner V^T)
    return [solve(vt, matmul(inner, vt, o), o)]


defprim("eig", _vjp_eig)


def _jvp_eig(node: Node, tangents: list, batch: Shape) -> Node:
    """C = V^-1 dA V: dw = diag(C); dV = V (F o C), less each column's component along itself."""
    o, nd, nb, a = node.origin, node.ndim, len(batch), node.inputs[0]
    w, v = _eig_parts(node, o)
    da = _to_front(tangents[0], a.ndim, nb)
    c = solve(v, matmul(da, v, o), o)
    if node.param("part") == "values":
        out = reduce("sum", elementwise(ARG[0] * ARG[1], (c, _eye_like(w)), shape=c.shape, origin=o),
                     axis=(c.ndim - 1,), origin=o)
    else:
        dv = matmul(v, elementwise(ARG[0] * ARG[1], (_gaps(w, o), c), shape=c.shape, origin=o), o)
        along = reduce("sum", elementwise(ARG[0] * ARG[1], (v, dv), shape=dv.shape, origin=o), axis=(dv.ndim - 2,),
                       origin=o)
        out = elementwise(ARG[0] - ARG[1], (dv, _times_row(v, along, o)), shape=dv.shape, origin=o)
    return _to_back(out, nd, nb)


# ---------------------------------------------------------------- lstsq ---------------------------

def lstsq(a: Node, b: Node, rcond: float | None = None, origin: Origin | None = None) -> Node:
    """The solution ``x`` of ``np.linalg.lstsq(a, b, rcond=rcond)`` for ``a`` ``(m, n)``, ``m >= n`` (the tracer
    checks) and ``b`` ``(m, k)``; the generated code checks that the rank is ``n``."""
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError("np.linalg.lstsq: a and b must be matrices here (the tracer handles a vector b)")
    return Node("lstsq", (a, b), (a.shape[1], b.shape[1]), params=(("rcond", rcond),), dtype=a.dtype,
                origin=origin)


def _normal(a: Node, o: Origin | None) -> Node:
    return matmul(swapaxes(a), a, o)


def _vjp_lstsq(g: Node, node: Node) -> list[Node]:
    a, b = node.inputs
    o = _grad(node)
    z = solve(_normal(a, o), g, o)
    az = matmul(a, z, o)
    r = elementwise(ARG[0] - ARG[1], (b, matmul(a, node, o)), origin=o)
    ga = elementwise(ARG[0] - ARG[1], (matmul(r, swapaxes(z), o), matmul(az, swapaxes(node), o)), origin=o)
    return [ga, az]


defprim("lstsq", _vjp_lstsq)


def _jvp_lstsq(node: Node, tangents: list, batch: Shape) -> Node:
    """dX = (A^T A)^-1 (dA^T r - A^T dA X + A^T dB)."""
    (a, b), (ta, tb) = node.inputs, tangents
    o, nb = node.origin, len(batch)
    terms = []
    if tb is not None:
        terms.append(matmul(swapaxes(a), _to_front(tb, 2, nb), o))
    if ta is not None:
        da = _to_front(ta, 2, nb)
        r = elementwise(ARG[0] - ARG[1], (b, matmul(a, node, o)), origin=o)
        terms.append(matmul(swapaxes(da), r, o))
        terms.append(_neg(matmul(swapaxes(a), matmul(da, node, o), o), o))
    total = terms[0]
    for t in terms[1:]:
        total = _add(total, t, o)
    return _to_back(solve(_normal(a, o), total, o), 2, nb)


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("matfunc")(_jvp_matfunc)
    defjvp("eig")(_jvp_eig)
    defjvp("lstsq")(_jvp_lstsq)

