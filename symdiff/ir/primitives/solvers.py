"""Solvers of ``scipy.linalg``: ``solve`` with ``assume_a``, the LU pair (``lu_factor``, ``lu_solve``), ``cho_solve``
and ``solve_sylvester``, batched over leading axes as SciPy (>= 1.15) broadcasts them. Each: builder, vjp
(written with these same builders, so Hessians come from differentiating the gradient) and JVP rule.

- ``linsolve`` (``scipy.linalg.solve(a, b, assume_a=..., lower=...)``): ``dB = solve(A^T, g)``,
  ``dA = -dB X^T``. For ``assume_a`` ``'sym'``, ``'her'`` or ``'pos'`` LAPACK reads one triangle (the upper
  one unless ``lower=True``), the matrix it stands for is symmetric, and the gradient is that of the
  triangle (the other has zero gradient), as :mod:`.decompositions` does for Cholesky factors.
- ``lu_factor`` is opaque: its parts (``lu``, ``piv``) print as ``lu, piv = scipy.linalg.lu_factor(a)`` and are
  used by ``lu_solve``, whose node also holds ``a`` and is differentiated as ``solve(a, b)``; any other
  use of the factor is refused (its derivative is not implemented), in reverse and forward mode.
- ``cho_solve`` with a factor made in the traced function: differentiated as a solve with the matrix
  factored (one triangle of it), not through the factor: no pass through the Cholesky vjp.
- ``block_diag``: linear; the adjoint of each block is its slice of ``g``.
- ``solve_sylvester`` (``A X + X B = Q``): ``dQ = Y`` with ``A^T Y + Y B^T = g``, ``dA = -Y X^T``,
  ``dB = -X^T Y``; forward, ``A dX + dX B = dQ - dA X - X dB``.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> a = input_node("a", (sp.Integer(3), sp.Integer(3)), 0)
>>> linsolve(a, a, "pos", False).shape, sylvester(a, a, a).shape
((3, 3), (3, 3))
"""
from __future__ import annotations

import sympy as sp

from ...errors import ShapeError, UnsupportedError, where
from ..graph import ARG, Node, Origin
from .core import _grad, broadcast_to, defprim, elementwise, reshape, scalar, swapaxes, transpose
from .linalg import matmul
from .decompositions import tri_mask
from .shape import concatenate, slice_axis
from ..shapes import Shape, broadcast_shapes, same_dim

SYMMETRIC = ("sym", "her", "pos")


def _square(a: Node, what: str) -> None:
    if a.ndim < 2:
        raise ShapeError(f"{what}: needs an array of at least 2 dimensions, got {a.ndim}")
    same_dim(a.shape[-1], a.shape[-2])


def _stack_shape(a: Node, b: Node, what: str) -> Shape:
    _square(a, what)
    if b.ndim < 2:
        raise ShapeError(f"{what}: b must be a matrix here (the tracer handles vectors)")
    same_dim(a.shape[-1], b.shape[-2])
    return broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]


def _neg(x: Node, o: Origin | None) -> Node:
    return elementwise(-ARG[0], (x,), origin=o)


def _add(a: Node, b: Node, o: Origin | None) -> Node:
    return elementwise(ARG[0] + ARG[1], (a, b), shape=broadcast_shapes(a.shape, b.shape), origin=o)


def _to_front(t: Node, nd: int, nb: int) -> Node:
    """Move the ``nb`` trailing (batch) axes of a tangent in front of its ``nd`` primal axes."""
    return transpose(t, tuple(range(nd, nd + nb)) + tuple(range(nd))) if nb else t


def _to_back(t: Node, nd: int, nb: int) -> Node:
    return transpose(t, tuple(range(nb, nb + nd)) + tuple(range(nb))) if nb else t


def _pad(t: Node, x: Node, nd: int) -> Node:
    """A tangent of ``x`` with ones in front, so its stack aligns with a result of ``nd`` axes."""
    return reshape(t, (sp.Integer(1),) * (nd - x.ndim) + t.shape)


def _read_triangle(full: Node, node: Node, o: Origin | None) -> Node:
    """The gradient of the triangle a symmetric solver reads, from the gradient of the full matrix."""
    if node.param("assume_a") not in SYMMETRIC:
        return full
    return tri_mask(_add(full, swapaxes(full), o), node.param("lower"), 0.5, o)


def _as_read(t: Node, node: Node, o: Origin | None) -> Node:
    """The matrix a symmetric solver sees for a tangent ``t`` (its read triangle, mirrored)."""
    if node.param("assume_a") not in SYMMETRIC:
        return t
    half = tri_mask(t, node.param("lower"), 0.5, o)
    return _add(half, swapaxes(half), o)


# ---------------------------------------------------------------- scipy.linalg.solve --------------

def linsolve(a: Node, b: Node, assume_a: str = "gen", lower: bool = False, trans: bool = False,
             origin: Origin | None = None) -> Node:
    """``scipy.linalg.solve(a, b, assume_a=..., lower=..., transposed=trans)`` for ``b`` ``(..., M, K)``."""
    shape = _stack_shape(a, b, "scipy.linalg.solve")
    params = (("assume_a", assume_a), ("lower", bool(lower)), ("trans", bool(trans)))
    return Node("linsolve", (a, b), shape, params=params, dtype=a.dtype, origin=origin)


def _vjp_linsolve(g: Node, node: Node) -> list[Node]:
    a, o, trans = node.inputs[0], _grad(node), node.param("trans")
    gb = linsolve(a, g, node.param("assume_a"), node.param("lower"), not trans, o)
    outer = matmul(node, swapaxes(gb), o) if trans else matmul(gb, swapaxes(node), o)
    return [_read_triangle(_neg(outer, o), node, o), gb]


defprim("linsolve", _vjp_linsolve)


def _jvp_linsolve(node: Node, tangents: list, batch: Shape) -> Node:
    """dX = solve(op(A), dB - op(dA) X)."""
    (a, b), (ta, tb) = node.inputs, tangents
    nb, nd, o = len(batch), node.ndim, node.origin
    rhs = []
    if tb is not None:
        rhs.append(_to_front(_pad(tb, b, nd), nd, nb))
    if ta is not None:
        da = _as_read(_to_front(_pad(ta, a, nd), nd, nb), node, o)
        rhs.append(_neg(matmul(swapaxes(da) if node.param("trans") else da, node, o), o))
    total = rhs[0] if len(rhs) == 1 else _add(rhs[0], rhs[1], o)
    out = linsolve(a, total, node.param("assume_a"), node.param("lower"), node.param("trans"), o)
    return _to_back(out, nd, nb)


# ---------------------------------------------------------------- lu_factor, lu_solve -------------

def lu_factor(a: Node, part: str, origin: Origin | None = None) -> Node:
    """Part ``"lu"`` (the packed factors, ``a``'s shape) or ``"piv"`` (the pivots, ``(..., n)``, integers)
    of ``scipy.linalg.lu_factor(a)``."""
    _square(a, "scipy.linalg.lu_factor")
    shape, dtype = (a.shape, a.dtype) if part == "lu" else (a.shape[:-1], "int64")
    return Node("lu_factor", (a,), shape, params=(("part", part),), dtype=dtype, origin=origin)


def _lu_refusal(node: Node) -> str:
    return (f"{where(node.origin)}: scipy.linalg.lu_factor's result is differentiated here only through "
            "scipy.linalg.lu_solve; its factors used otherwise (np.diag(lu) for a determinant) have no "
            "derivative in symdiff: use np.linalg.slogdet(a) or scipy.linalg.det(a)")


def _vjp_lu_factor(g: Node, node: Node) -> list[Node]:
    raise UnsupportedError(_lu_refusal(node))


defprim("lu_factor", _vjp_lu_factor)


def refused(shape: Shape, message: str, origin: Origin | None = None) -> Node:
    """A tangent that has no rule: computing it (printing it) raises ``UnsupportedError(message)``; as
    forward mode makes every tangent and prints only those used, only a use of it fails."""
    return Node("refused", (), tuple(shape), params=(("message", message),), origin=origin)


def _jvp_lu_factor(node: Node, tangents: list, batch: Shape) -> Node:
    return refused(node.shape + batch, _lu_refusal(node), node.origin)


def lu_solve(a: Node, lu: Node, piv: Node, b: Node, trans: bool = False, origin: Origin | None = None) -> Node:
    """``scipy.linalg.lu_solve((lu, piv), b, trans=...)``, ``lu, piv = lu_factor(a)``, ``b`` ``(..., M, K)``."""
    shape = _stack_shape(a, b, "scipy.linalg.lu_solve")
    return Node("lu_solve", (a, lu, piv, b), shape, params=(("trans", bool(trans)),), dtype=a.dtype, origin=origin)


def _vjp_lu_solve(g: Node, node: Node) -> list[Node | None]:
    a, lu, piv, _ = node.inputs
    o, trans = _grad(node), node.param("trans")
    gb = lu_solve(a, lu, piv, g, not trans, o)
    outer = matmul(node, swapaxes(gb), o) if trans else matmul(gb, swapaxes(node), o)
    return [_neg(outer, o), None, None, gb]


defprim("lu_solve", _vjp_lu_solve)


def _jvp_lu_solve(node: Node, tangents: list, batch: Shape) -> Node | None:
    a, lu, piv, b = node.inputs
    ta, tb = tangents[0], tangents[3]
    nb, nd, o = len(batch), node.ndim, node.origin
    rhs = []
    if tb is not None:
        rhs.append(_to_front(_pad(tb, b, nd), nd, nb))
    if ta is not None:
        da = _to_front(_pad(ta, a, nd), nd, nb)
        rhs.append(_neg(matmul(swapaxes(da) if node.param("trans") else da, node, o), o))
    if not rhs:
        return None
    total = rhs[0] if len(rhs) == 1 else _add(rhs[0], rhs[1], o)
    return _to_back(lu_solve(a, lu, piv, total, node.param("trans"), o), nd, nb)


# ---------------------------------------------------------------- cho_solve -----------------------

def cho_solve(a: Node, c: Node, b: Node, lower: bool, origin: Origin | None = None) -> Node:
    """``scipy.linalg.cho_solve((c, lower), b)`` where ``c`` is the Cholesky factor of ``a`` (a node
    ``cholesky(a, lower)``), ``b`` ``(..., M, K)``: differentiated as ``solve(a_sym, b)`` with ``a_sym`` the
    symmetric matrix of the triangle the factorization read, so the factor gets no cotangent (the
    gradient is ``-(a^-1 g) x^T`` on that triangle, with no pass through the factorization's vjp)."""
    shape = _stack_shape(a, b, "scipy.linalg.cho_solve")
    return Node("cho_solve", (a, c, b), shape, params=(("lower", bool(lower)),), dtype=a.dtype, origin=origin)


def _vjp_cho_solve(g: Node, node: Node) -> list[Node | None]:
    a, c, _ = node.inputs
    o, lower = _grad(node), node.param("lower")
    gb = cho_solve(a, c, g, lower, o)
    full = _neg(matmul(gb, swapaxes(node), o), o)
    return [tri_mask(_add(full, swapaxes(full), o), lower, 0.5, o), None, gb]


defprim("cho_solve", _vjp_cho_solve)


def _jvp_cho_solve(node: Node, tangents: list, batch: Shape) -> Node | None:
    (a, c, b), (ta, _, tb) = node.inputs, tangents
    nb, nd, o, lower = len(batch), node.ndim, node.origin, node.param("lower")
    rhs = []
    if tb is not None:
        rhs.append(_to_front(_pad(tb, b, nd), nd, nb))
    if ta is not None:
        half = tri_mask(_to_front(_pad(ta, a, nd), nd, nb), lower, 0.5, o)
        rhs.append(_neg(matmul(_add(half, swapaxes(half), o), node, o), o))
    if not rhs:
        return None
    total = rhs[0] if len(rhs) == 1 else _add(rhs[0], rhs[1], o)
    return _to_back(cho_solve(a, c, total, lower, o), nd, nb)


# ---------------------------------------------------------------- solve_sylvester -----------------

def sylvester(a: Node, b: Node, q: Node, origin: Origin | None = None) -> Node:
    """``scipy.linalg.solve_sylvester(a, b, q)``: ``X`` with ``a X + X b = q``; ``a`` ``(..., m, m)``,
    ``b`` ``(..., n, n)``, ``q`` ``(..., m, n)``."""
    _square(a, "scipy.linalg.solve_sylvester")
    _square(b, "scipy.linalg.solve_sylvester")
    if q.ndim < 2:
        raise ShapeError("scipy.linalg.solve_sylvester: q must be a matrix")
    same_dim(a.shape[-1], q.shape[-2])
    same_dim(b.shape[-1], q.shape[-1])
    shape = broadcast_shapes(broadcast_shapes(a.shape[:-2], b.shape[:-2]), q.shape[:-2]) + q.shape[-2:]
    return Node("sylvester", (a, b, q), shape, dtype=a.dtype, origin=origin)


def _vjp_sylvester(g: Node, node: Node) -> list[Node]:
    a, b, _ = node.inputs
    o = _grad(node)
    y = sylvester(swapaxes(a), swapaxes(b), g, o)
    return [_neg(matmul(y, swapaxes(node), o), o), _neg(matmul(swapaxes(node), y, o), o), y]


defprim("sylvester", _vjp_sylvester)


def _jvp_sylvester(node: Node, tangents: list, batch: Shape) -> Node:
    nb, nd, o = len(batch), node.ndim, node.origin
    rhs = []
    for k, t in enumerate(tangents):
        if t is None:
            continue
        t = _to_front(_pad(t, node.inputs[k], nd), nd, nb)
        rhs.append(t if k == 2 else _neg(matmul(t, node, o) if k == 0 else matmul(node, t, o), o))
    total = rhs[0]
    for r in rhs[1:]:
        total = _add(total, r, o)
    a, b, _ = node.inputs
    return _to_back(sylvester(a, b, total, o), nd, nb)


# ---------------------------------------------------------------- block_diag ----------------------

def block_diag(blocks: list[Node], origin: Origin | None = None) -> Node:
    """``scipy.linalg.block_diag(*blocks)`` of matrices (the tracer makes vectors and scalars rows):
    the blocks along the diagonal of a ``(sum of rows, sum of columns)`` matrix, zeros elsewhere."""
    if not blocks or any(b.ndim != 2 for b in blocks):
        raise ShapeError("scipy.linalg.block_diag: blocks must be matrices here (the tracer handles the rest)")
    shape = (sp.Add(*(b.shape[0] for b in blocks)), sp.Add(*(b.shape[1] for b in blocks)))
    return Node("block_diag", tuple(blocks), shape, dtype=blocks[0].dtype, origin=origin)


def _offsets(blocks, axis: int) -> list:
    out, total = [], sp.Integer(0)
    for b in blocks:
        out.append((total, total + b.shape[axis]))
        total = total + b.shape[axis]
    return out


def _vjp_block_diag(g: Node, node: Node) -> list[Node]:
    o = _grad(node)
    rows, cols = _offsets(node.inputs, 0), _offsets(node.inputs, 1)
    return [slice_axis(slice_axis(g, 0, r0, r1, o), 1, c0, c1, o) for (r0, r1), (c0, c1) in zip(rows, cols)]


defprim("block_diag", _vjp_block_diag, linear=True)


def _jvp_block_diag(node: Node, tangents: list, batch: Shape) -> Node:
    """The tangents' blocks along the diagonal (batch axes trailing), joined with zero blocks."""
    o, blocks, total = node.origin, node.inputs, node.shape[1]
    zero = scalar(sp.Integer(0), node.dtype)
    rows = []
    for (c0, c1), b, t in zip(_offsets(blocks, 1), blocks, tangents):
        r = b.shape[0]
        t = t if t is not None else broadcast_to(zero, b.shape + batch)
        parts = ([broadcast_to(zero, (r, c0) + batch)] if c0 != 0 else []) + [t] + \
            ([broadcast_to(zero, (r, total - c1) + batch)] if total - c1 != 0 else [])
        rows.append(parts[0] if len(parts) == 1 else concatenate(parts, 1, o))
    return rows[0] if len(rows) == 1 else concatenate(rows, 0, o)


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("linsolve")(_jvp_linsolve)
    defjvp("lu_factor")(_jvp_lu_factor)
    defjvp("lu_solve")(_jvp_lu_solve)
    defjvp("sylvester")(_jvp_sylvester)
    defjvp("cho_solve")(_jvp_cho_solve)
    defjvp("block_diag")(_jvp_block_diag)
