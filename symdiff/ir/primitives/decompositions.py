"""Decompositions of ``np.linalg`` and ``scipy.linalg``: Cholesky factors, triangular solves, eigh, svd, qr,
batched over leading axes as NumPy (and SciPy >= 1.15) broadcast them. Each: builder, vjp (written
with these same builders, so Hessians come from differentiating the gradient) and JVP rule.

What is differentiated is what LAPACK computes: a Cholesky factorization reads only one triangle of
its argument (the lower one for ``np.linalg.cholesky``), a triangular solve only the triangle named
by ``lower``; the other triangle has zero gradient. For a symmetric argument built from parameters
(a kernel matrix) this is the same derivative as autograd's and JAX's symmetrized one.

- ``cholesky`` (``L L^T = A``, Murray 2016, autograd's ``grad_cholesky``): with ``Phi`` the lower
  triangle with its diagonal halved, ``S = L^-T Phi(L^T g) L^-1`` and ``dA = Phi(S + S^T)``; forward,
  ``dL = L Phi(L^-1 dA_sym L^-T)`` with ``dA_sym`` the symmetric matrix the read triangle stands for.
- ``solve_triangular`` (``op(A) X = B``, ``op`` the identity or the transpose): ``dB = solve(op(A)^T, g)``,
  ``dA = -dB X^T`` (transposed when ``op`` is), restricted to the read triangle; forward,
  ``dX = solve(op(A), dB - op(dA) X)``.
- ``eigh`` (values or vectors): ``dA = V (diag(gw) + F o V^T gV) V^T`` with ``F = 1 / (w_j - w_i)`` off the
  diagonal (infinite at repeated eigenvalues: the eigenvectors' gradient is undefined there).
- ``svd`` (thin; u, s or vh): Townsend's vjp and JAX's JVP, ``F = 1 / (s_j^2 - s_i^2)``, with the
  projection terms of tall and wide matrices.
- ``qr`` (``m >= n``): JAX's JVP and its transpose.
- ``tri_mask``: one triangle of the last two axes (the diagonal times ``diag``); linear and self-adjoint.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> a = input_node("a", (sp.Integer(2), sp.Integer(3), sp.Integer(3)), 0)
>>> cholesky(a).shape, solve_triangular(a, a, lower=True).shape
((2, 3, 3), (2, 3, 3))
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ...errors import ShapeError
from ..graph import ARG, Node, Origin
from .core import _grad, const_node, defprim, elementwise, full_like, reshape, swapaxes, transpose
from .linalg import diag_embed, diagonal, matmul
from ..shapes import Shape, broadcast_shapes, same_dim


def _square(a: Node, what: str) -> None:
    if a.ndim < 2:
        raise ShapeError(f"{what}: needs an array of at least 2 dimensions, got {a.ndim}")
    same_dim(a.shape[-1], a.shape[-2])


def _neg(x: Node, o: Origin | None) -> Node:
    return elementwise(-ARG[0], (x,), origin=o)


def _add(a: Node, b: Node, o: Origin | None) -> Node:
    return elementwise(ARG[0] + ARG[1], (a, b), shape=broadcast_shapes(a.shape, b.shape), origin=o)


# ---------------------------------------------------------------- tri_mask ------------------------

def tri_mask(x: Node, lower: bool, diag: float = 1.0, origin: Origin | None = None) -> Node:
    """``np.tril(x)`` (``lower``) or ``np.triu(x)`` over the last two axes, the diagonal times ``diag``."""
    return Node("tri_mask", (x,), x.shape, params=(("lower", bool(lower)), ("diag", float(diag))),
                dtype=x.dtype, origin=origin)


def _vjp_tri_mask(g: Node, node: Node) -> list[Node]:
    return [tri_mask(g, node.param("lower"), node.param("diag"), _grad(node))]


defprim("tri_mask", _vjp_tri_mask)


# ---------------------------------------------------------------- cholesky ------------------------

def cholesky(a: Node, lower: bool = True, call: str = "numpy", origin: Origin | None = None) -> Node:
    """The Cholesky factor of ``a``: lower (``L L^T = a``, reading a's lower triangle) or upper
    (``U^T U = a``, reading its upper triangle); ``call`` is how it prints (``numpy``, ``scipy``)."""
    _square(a, "np.linalg.cholesky" if call == "numpy" else "scipy.linalg.cholesky")
    return Node("cholesky", (a,), a.shape, params=(("lower", bool(lower)), ("call", call)), dtype=a.dtype,
                origin=origin)


def _phi(x: Node, o: Origin | None) -> Node:
    return tri_mask(x, True, 0.5, o)


def _diagonal_of(g: Node) -> Node | None:
    """``d`` where ``g`` is ``diag_embed(d)`` over its last two axes (a log-determinant's cotangent)."""
    if g.op == "diag_embed" and g.ndim >= 2 and (g.param("offset"), g.param("axis1"), g.param("axis2")) == \
            (0, g.ndim - 2, g.ndim - 1) and g.inputs[0].shape == g.shape[:-1]:
        return g.inputs[0]
    return None


def _vjp_cholesky(g: Node, node: Node) -> list[Node]:
    o, lower = _grad(node), node.param("lower")
    L, gl = (node, g) if lower else (swapaxes(node), swapaxes(g))  # upper: U = chol(A^T)^T
    d = _diagonal_of(g)
    if d is not None:  # P = Phi(L^T diag(d)) = diag(l_ii d_i / 2): S = L^-T P L^-1 = Linv^T diag(.) Linv
        n = L.shape[-1]
        half = elementwise(ARG[0] * ARG[1] / 2, (diagonal(L, 0, L.ndim - 2, L.ndim - 1, n, o), d),
                           shape=broadcast_shapes(L.shape[:-1], d.shape), origin=o)
        linv = solve_triangular(L, _eye_like(half), True, False, o)
        s = matmul(swapaxes(linv), elementwise(ARG[0] * ARG[1], (reshape(half, half.shape + (sp.Integer(1),)), linv),
                                              shape=broadcast_shapes(half.shape + (sp.Integer(1),), linv.shape),
                                              origin=o), o)
        ga = _phi(_add(s, swapaxes(s), o), o)
        return [ga if lower else swapaxes(ga)]
    p = _phi(matmul(swapaxes(L), gl, o), o)
    # S = L^-T P L^-1 = solve(L^T, (solve(L^T, P^T))^T)
    s = solve_triangular(L, swapaxes(solve_triangular(L, swapaxes(p), True, True, o)), True, True, o)
    ga = _phi(_add(s, swapaxes(s), o), o)
    return [ga if lower else swapaxes(ga)]


defprim("cholesky", _vjp_cholesky)


# ---------------------------------------------------------------- solve_triangular ----------------

def solve_triangular(a: Node, b: Node, lower: bool = False, trans: bool = False,
                     origin: Origin | None = None) -> Node:
    """``scipy.linalg.solve_triangular(a, b, lower=..., trans=...)`` for ``b`` a stack of matrices
    (``(..., M, K)``); the tracer turns a vector ``b`` into one column first."""
    _square(a, "scipy.linalg.solve_triangular")
    if b.ndim < 2:
        raise ShapeError("solve_triangular: b must be a matrix here (the tracer handles vectors)")
    same_dim(a.shape[-1], b.shape[-2])
    shape = broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    return Node("solve_triangular", (a, b), shape, params=(("lower", bool(lower)), ("trans", bool(trans))),
                dtype=a.dtype, origin=origin)


def _vjp_solve_triangular(g: Node, node: Node) -> list[Node]:
    a, o = node.inputs[0], _grad(node)
    lower, trans = node.param("lower"), node.param("trans")
    gb = solve_triangular(a, g, lower, not trans, o)
    outer = matmul(node, swapaxes(gb), o) if trans else matmul(gb, swapaxes(node), o)
    return [tri_mask(_neg(outer, o), lower, 1.0, o), gb]


defprim("solve_triangular", _vjp_solve_triangular)


# ---------------------------------------------------------------- eigh, eigvalsh ------------------

def eigh(a: Node, part: str, uplo: str = "L", call: str = "eigh", origin: Origin | None = None) -> Node:
    """``np.linalg.eigh(a, UPLO=uplo)``'s eigenvalues (``part="values"``, ascending, ``(..., n)``) or
    eigenvectors (``"vectors"``, the columns); ``call="eigvalsh"`` prints ``np.linalg.eigvalsh``."""
    _square(a, f"np.linalg.{call}")
    shape = a.shape[:-1] if part == "values" else a.shape
    return Node("eigh", (a,), shape, params=(("part", part), ("uplo", uplo), ("call", call)), dtype=a.dtype,
                origin=origin)


def _eye_like(w: Node) -> Node:
    """The identity matrices ``(..., n, n)`` of eigenvalues ``w`` ``(..., n)``."""
    n = w.shape[-1]
    if isinstance(n, sp.Integer):
        return const_node(np.eye(int(n)))
    return diag_embed(full_like(w, const_node(np.array(1.0))), w.shape + (n,), 0, w.ndim - 1, w.ndim)


def _gaps(w: Node, o: Origin | None) -> Node:
    """``F[..., i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it (infinite at repeated eigenvalues)."""
    col, row = reshape(w, w.shape + (sp.Integer(1),)), reshape(w, w.shape[:-1] + (sp.Integer(1), w.shape[-1]))
    eye = _eye_like(w)
    shape = broadcast_shapes(broadcast_shapes(col.shape, row.shape), eye.shape)
    return elementwise(1 / (ARG[1] - ARG[0] + ARG[2]) - ARG[2], (col, row, eye), shape=shape, origin=o)


def _eigh_parts(node: Node, o: Origin | None) -> tuple[Node, Node]:
    a, uplo = node.inputs[0], node.param("uplo")
    return eigh(a, "values", uplo, "eigh", o), eigh(a, "vectors", uplo, "eigh", o)


def _vjp_eigh(g: Node, node: Node) -> list[Node]:
    """dA = V (diag(gw) + F o (V^T gV)) V^T, symmetrized onto the triangle UPLO names."""
    o = _grad(node)
    w, v = _eigh_parts(node, o)
    if node.param("part") == "values":
        inner = elementwise(ARG[0] * ARG[1], (v, reshape(g, g.shape[:-1] + (sp.Integer(1), g.shape[-1]))),
                            shape=v.shape, origin=o)
    else:
        inner = matmul(v, elementwise(ARG[0] * ARG[1], (_gaps(w, o), matmul(swapaxes(v), g, o)), shape=v.shape,
                                      origin=o), o)
    full = matmul(inner, swapaxes(v), o)
    return [tri_mask(_add(full, swapaxes(full), o), node.param("uplo") == "L", 0.5, o)]


defprim("eigh", _vjp_eigh)


# ---------------------------------------------------------------- svd -----------------------------

def svd(a: Node, part: str, compute_uv: bool = True, origin: Origin | None = None) -> Node:
    """The thin SVD ``a = U diag(s) Vh`` of ``(..., m, n)``, ``k = min(m, n)``: ``part`` ``"u"``
    ``(..., m, k)``, ``"s"`` ``(..., k)`` (descending) or ``"vh"`` ``(..., k, n)``. ``compute_uv=False``
    prints ``np.linalg.svd(a, compute_uv=False)`` (part ``"s"``)."""
    if a.ndim < 2:
        raise ShapeError(f"np.linalg.svd: needs an array of at least 2 dimensions, got {a.ndim}")
    m, n = a.shape[-2:]
    k = m if m == n else sp.Min(m, n)
    shape = {"u": a.shape[:-1] + (k,), "s": a.shape[:-2] + (k,), "vh": a.shape[:-2] + (k, n)}[part]
    return Node("svd", (a,), shape, params=(("part", part), ("compute_uv", bool(compute_uv))), dtype=a.dtype,
                origin=origin)


def _svd_parts(a: Node, o: Origin | None) -> tuple[Node, Node, Node]:
    """U, s and V (not Vh) of ``a``."""
    return svd(a, "u", True, o), svd(a, "s", True, o), swapaxes(svd(a, "vh", True, o))


def _times_row(x: Node, s: Node, o: Origin | None, power: int = 1) -> Node:
    """``x * s[..., None, :] ** power``: the columns of ``x`` times ``s`` (``x @ diag(s)``)."""
    row = reshape(s, s.shape[:-1] + (sp.Integer(1), s.shape[-1]))
    return elementwise(ARG[0] * ARG[1] ** power, (x, row), shape=broadcast_shapes(x.shape, row.shape), origin=o)


def _times_col(s: Node, x: Node, o: Origin | None) -> Node:
    """``s[..., :, None] * x`` (``diag(s) @ x``)."""
    col = reshape(s, s.shape + (sp.Integer(1),))
    return elementwise(ARG[0] * ARG[1], (col, x), shape=broadcast_shapes(col.shape, x.shape), origin=o)


def _square_gaps(s: Node, o: Origin | None) -> Node:
    return _gaps(elementwise(ARG[0] ** 2, (s,), origin=o), o)  # 1 / (s_j^2 - s_i^2) off the diagonal


def _off_square(m: sp.Expr, n: sp.Expr) -> bool:
    """Whether ``m > n`` may hold (the projection terms of the tall side); undecided sizes: yes."""
    return (m - n).is_positive is not False


def _minus_projection(u: Node, x: Node, o: Origin | None) -> Node:
    """``(I - U U^T) x``."""
    return elementwise(ARG[0] - ARG[1], (x, matmul(u, matmul(swapaxes(u), x, o), o)), shape=x.shape, origin=o)


def _vjp_svd(g: Node, node: Node) -> list[Node]:
    """dA = U [diag(gs) + (F o (J - J^T)) S + S (F o (K - K^T))] V^T + (I - UU^T) gU S^-1 V^T
    + U S^-1 gV^T (I - VV^T), J = U^T gU, K = V^T gV, F = 1 / (s_j^2 - s_i^2) (Townsend 2016)."""
    a, o, part = node.inputs[0], _grad(node), node.param("part")
    u, s, v = _svd_parts(a, o)
    m, n = a.shape[-2:]
    if part == "s":
        return [matmul(_times_row(u, g, o), swapaxes(v), o)]
    if part == "u":
        j = matmul(swapaxes(u), g, o)
        core = _times_row(elementwise(ARG[0] * (ARG[1] - ARG[2]), (_square_gaps(s, o), j, swapaxes(j)),
                                      shape=j.shape, origin=o), s, o)
        out = matmul(matmul(u, core, o), swapaxes(v), o)
        if _off_square(m, n):
            out = _add(out, matmul(_times_row(_minus_projection(u, g, o), s, o, -1), swapaxes(v), o), o)
        return [out]
    gv = swapaxes(g)
    kk = matmul(swapaxes(v), gv, o)
    core = _times_col(s, elementwise(ARG[0] * (ARG[1] - ARG[2]), (_square_gaps(s, o), kk, swapaxes(kk)),
                                     shape=kk.shape, origin=o), o)
    out = matmul(matmul(u, core, o), swapaxes(v), o)
    if _off_square(n, m):
        out = _add(out, matmul(_times_row(u, s, o, -1), swapaxes(_minus_projection(v, gv, o)), o), o)
    return [out]


defprim("svd", _vjp_svd)


# ---------------------------------------------------------------- qr ------------------------------

def qr(a: Node, part: str, mode: str = "reduced", origin: Origin | None = None) -> Node:
    """``np.linalg.qr`` of ``(..., m, n)`` with ``m >= n`` (the tracer checks): ``part`` ``"q"``
    ``(..., m, n)`` or ``"r"`` ``(..., n, n)``; ``mode="r"`` prints ``np.linalg.qr(a, mode='r')``."""
    if a.ndim < 2:
        raise ShapeError(f"np.linalg.qr: needs an array of at least 2 dimensions, got {a.ndim}")
    n = a.shape[-1]
    shape = a.shape if part == "q" else a.shape[:-2] + (n, n)
    return Node("qr", (a,), shape, params=(("part", part), ("mode", mode)), dtype=a.dtype, origin=origin)


def _vjp_qr(g: Node, node: Node) -> list[Node]:
    """With M = Q^T gQ - gR R^T and N = tril(M - M^T, -1) - M: dA = (gQ + Q N) R^-T."""
    a, o = node.inputs[0], _grad(node)
    q, r = qr(a, "q", "reduced", o), qr(a, "r", "reduced", o)
    m = matmul(swapaxes(q), g, o) if node.param("part") == "q" else _neg(matmul(g, swapaxes(r), o), o)
    low = tri_mask(elementwise(ARG[0] - ARG[1], (m, swapaxes(m)), shape=m.shape, origin=o), True, 0.0, o)
    nn = elementwise(ARG[0] - ARG[1], (low, m), shape=m.shape, origin=o)
    gb = matmul(q, nn, o)
    if node.param("part") == "q":
        gb = _add(g, gb, o)
    return [swapaxes(solve_triangular(r, swapaxes(gb), False, False, o))]


defprim("qr", _vjp_qr)


# ---------------------------------------------------------------- forward mode --------------------

def _to_front(t: Node, nd: int, nb: int) -> Node:
    """Move the ``nb`` trailing (batch) axes of a tangent in front of its ``nd`` primal axes."""
    return transpose(t, tuple(range(nd, nd + nb)) + tuple(range(nd))) if nb else t


def _to_back(t: Node, nd: int, nb: int) -> Node:
    return transpose(t, tuple(range(nb, nb + nd)) + tuple(range(nb))) if nb else t


def _jvp_tri_mask(node: Node, tangents: list, batch: Shape) -> Node:
    nd, nb = node.ndim, len(batch)
    inner = tri_mask(_to_front(tangents[0], nd, nb), node.param("lower"), node.param("diag"), node.origin)
    return _to_back(inner, nd, nb)


def _jvp_cholesky(node: Node, tangents: list, batch: Shape) -> Node:
    o, lower, nd, nb = node.origin, node.param("lower"), node.ndim, len(batch)
    t = _to_front(tangents[0], nd, nb)
    if not lower:
        t = swapaxes(t)
    L = node if lower else swapaxes(node)
    half = _phi(t, o)  # the read triangle, as the symmetric matrix it stands for
    sym = _add(half, swapaxes(half), o)
    x = solve_triangular(L, sym, True, False, o)                  # L^-1 dA
    m = solve_triangular(L, swapaxes(x), True, False, o)          # L^-1 dA L^-T
    dl = matmul(L, _phi(m, o), o)
    return _to_back(dl if lower else swapaxes(dl), nd, nb)


def _jvp_solve_triangular(node: Node, tangents: list, batch: Shape) -> Node:
    """dX = solve(op(A), dB - op(dA) X), batch axes moved to the front so the stacks broadcast."""
    a, b = node.inputs
    ta, tb = tangents
    lower, trans = node.param("lower"), node.param("trans")
    nb, nd, o = len(batch), node.ndim, node.origin
    pad = lambda t, x: reshape(t, (sp.Integer(1),) * (nd - x.ndim) + t.shape)  # noqa: E731  (align stacks)
    rhs: list[Node] = []
    if tb is not None:
        rhs.append(_to_front(pad(tb, b), nd, nb))
    if ta is not None:
        da = tri_mask(_to_front(pad(ta, a), nd, nb), lower, 1.0, o)
        rhs.append(_neg(matmul(swapaxes(da) if trans else da, node, o), o))
    total = rhs[0] if len(rhs) == 1 else _add(rhs[0], rhs[1], o)
    return _to_back(solve_triangular(a, total, lower, trans, o), nd, nb)


def _jvp_eigh(node: Node, tangents: list, batch: Shape) -> Node:
    """M = V^T dA_sym V: dw = diag(M), dV = V (F o M)."""
    o, nd, nb, a = node.origin, node.ndim, len(batch), node.inputs[0]
    w, v = _eigh_parts(node, o)
    half = tri_mask(_to_front(tangents[0], a.ndim, nb), node.param("uplo") == "L", 0.5, o)
    m = matmul(matmul(swapaxes(v), _add(half, swapaxes(half), o), o), v, o)
    if node.param("part") == "values":
        out = diagonal(m, 0, m.ndim - 2, m.ndim - 1, a.shape[-1], o)
    else:
        out = matmul(v, elementwise(ARG[0] * ARG[1], (_gaps(w, o), m), shape=m.shape, origin=o), o)
    return _to_back(out, nd, nb)


def _jvp_svd(node: Node, tangents: list, batch: Shape) -> Node:
    """dP = U^T dA V: ds = diag(dP), dU = U (F o (dP S + S dP^T)) + (I - UU^T) dA V S^-1,
    dV = V (F o (S dP + dP^T S)) + (I - VV^T) dA^T U S^-1 (JAX's rule, real matrices)."""
    a, o, part = node.inputs[0], node.origin, node.param("part")
    nd, nb = node.ndim, len(batch)
    u, s, v = _svd_parts(a, o)
    m, n = a.shape[-2:]
    da = _to_front(tangents[0], a.ndim, nb)
    dp = matmul(matmul(swapaxes(u), da, o), v, o)
    if part == "s":
        return _to_back(diagonal(dp, 0, dp.ndim - 2, dp.ndim - 1, node.shape[-1], o), nd, nb)
    f = _square_gaps(s, o)
    if part == "u":
        ds = _times_row(dp, s, o)
        out = matmul(u, elementwise(ARG[0] * (ARG[1] + ARG[2]), (f, ds, swapaxes(ds)), shape=ds.shape, origin=o), o)
        if _off_square(m, n):
            out = _add(out, _times_row(_minus_projection(u, matmul(da, v, o), o), s, o, -1), o)
        return _to_back(out, nd, nb)
    sd = _times_col(s, dp, o)
    out = matmul(v, elementwise(ARG[0] * (ARG[1] + ARG[2]), (f, sd, swapaxes(sd)), shape=sd.shape, origin=o), o)
    if _off_square(n, m):
        out = _add(out, _times_row(_minus_projection(v, matmul(swapaxes(da), u, o), o), s, o, -1), o)
    return _to_back(swapaxes(out), nd, nb)


def _jvp_qr(node: Node, tangents: list, batch: Shape) -> Node:
    """B = dA R^-1, C = Q^T B, W = tril(C, -1) - tril(C, -1)^T: dQ = Q (W - C) + B, dR = (C - W) R (JAX)."""
    a, o, nd, nb = node.inputs[0], node.origin, node.ndim, len(batch)
    q, r = qr(a, "q", "reduced", o), qr(a, "r", "reduced", o)
    b = swapaxes(solve_triangular(r, swapaxes(_to_front(tangents[0], a.ndim, nb)), False, True, o))
    c = matmul(swapaxes(q), b, o)
    low = tri_mask(c, True, 0.0, o)
    w = elementwise(ARG[0] - ARG[1], (low, swapaxes(low)), shape=low.shape, origin=o)
    if node.param("part") == "q":
        out = _add(matmul(q, elementwise(ARG[0] - ARG[1], (w, c), shape=c.shape, origin=o), o), b, o)
    else:
        out = matmul(elementwise(ARG[0] - ARG[1], (c, w), shape=c.shape, origin=o), r, o)
    return _to_back(out, nd, nb)


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("tri_mask")(_jvp_tri_mask)
    defjvp("cholesky")(_jvp_cholesky)
    defjvp("solve_triangular")(_jvp_solve_triangular)
    defjvp("eigh")(_jvp_eigh)
    defjvp("svd")(_jvp_svd)
    defjvp("qr")(_jvp_qr)
