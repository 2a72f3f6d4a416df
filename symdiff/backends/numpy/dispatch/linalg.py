"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.linalg`:
matmul, outer products, einsum, diagonals and bands.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....ir.graph import Node
from ....ir.scalar import HELPERS
from ....escape import literal
from .table import EMIT


def _emit_einsum(node: Node, a: list[str], p) -> str:
    optimize = ", optimize=True" if len(a) > 2 else ""
    return f"np.einsum({literal(node.param('subscripts'))}, {', '.join(a)}{optimize})"


def _emit_diagonal(node: Node, a: list[str], p) -> str:
    o, a1, a2 = node.param("offset"), node.param("axis1"), node.param("axis2")
    args = "" if (o, a1, a2) == (0, 0, 1) else f", {o}, {a1}, {a2}"
    return f"np.diagonal({a[0]}{args}).copy()"  # np.diagonal is a read-only view


def _emit_diag_embed(node: Node, a: list[str], p) -> str:
    params = [str(node.param(k)) for k in ("offset", "axis1", "axis2")]
    return p.helper_call_code("_diag_embed", [a[0], p.shape(node.shape), *params])


def _emit_banded(node: Node, a: list[str], p) -> str:
    offsets = node.param("offsets")
    return p.helper_call_code("_banded", [p.shape(node.shape), str(offsets), *a])


HELPERS["_banded"] = '''def _banded(shape, offsets, *diagonals):
    """Zeros of ``shape`` ((m, n) + more axes) with ``d[i]`` at ``[i, i + o]`` for each offset ``o`` and
    its diagonal ``d`` (one element per row; those whose column falls outside are not used): one
    buffer, each diagonal written through a strided view of it."""
    m, n = shape[:2]
    out = np.zeros(shape, dtype=np.result_type(*diagonals, 1.0))
    flat = out.reshape((m * n,) + shape[2:])
    for o, d in zip(offsets, diagonals):
        lo, hi = max(0, -o), min(m, n - o)
        if hi > lo:
            flat[lo * (n + 1) + o:(hi - 1) * (n + 1) + o + 1:n + 1] = np.broadcast_to(d, (m,) + shape[2:])[lo:hi]
    return out'''


HELPERS["_band_rows"] = '''def _band_rows(x, offset):
    """``out[i] = x[i, i + offset]`` where that column lies inside ``x``, else 0."""
    m, n = np.shape(x)[:2]
    out = np.zeros((m,) + np.shape(x)[2:], dtype=np.result_type(x, 1.0))
    lo, hi = max(0, -offset), min(m, n - offset)
    if hi > lo:
        out[lo:hi] = np.moveaxis(np.diagonal(x, offset, 0, 1), -1, 0)
    return out'''


def emit_matmul(node: Node, a: list[str], p) -> str:
    """``a @ b`` (an operator: the same in every backend)."""
    return f"{p.paren(a[0], '@')} @ {p.paren(a[1], '@', right=True)}"


def emit_outer(node: Node, a: list[str], p) -> str:
    """``a[:, None]*b`` (indexing and an operator: the same in every backend)."""
    return f"{p.paren(a[0], '*')}[:, None]*{p.paren(a[1], '*', right=True)}"


EMIT.update({
    'matmul': emit_matmul,
    'outer': emit_outer,
    'einsum': _emit_einsum,
    'diagonal': _emit_diagonal,
    'diag_embed': _emit_diag_embed,
    'banded': _emit_banded,
    'band_rows': lambda n, a, p: p.helper_call_code("_band_rows", [a[0], str(n.param("offset"))]),
})
