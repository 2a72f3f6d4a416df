"""The array API code of diagonals and bands written into zeros or read out of a matrix: ``banded``
and ``band_rows`` (the Jacobian of an elementwise function is banded: ``jacobian``, ``hessian``) and
``diag_embed`` (the gradient of ``np.diagonal``, ``np.diag`` of a vector). The standard has no
strided writes and arrays may be immutable (JAX), so a band is chosen by a mask of ``col - row ==
offset`` (``xp.where``) and read back by ``xp.linalg.diagonal``; each helper takes the namespace
first, as the others of :mod:`.printer`."""
from __future__ import annotations

from ...ir.graph import Node
from .dispatch import EMIT
from .printer import SOURCES

SOURCES["_banded"] = '''def _banded(xp, shape, offsets, dtype, device, *diagonals):
    """Zeros of ``shape`` ((m, n) + more axes) with ``d[i]`` at ``[i, i + o]`` for each offset ``o`` and
    its diagonal ``d`` (one element per row; those whose column falls outside are not used)."""
    m, n, rest = shape[0], shape[1], tuple(shape[2:])
    ones = (1,) * len(rest)
    step = (xp.reshape(xp.arange(n, device=device), (1, n) + ones)
            - xp.reshape(xp.arange(m, device=device), (m, 1) + ones))
    out = xp.zeros(shape, dtype=dtype, device=device)
    for o, d in zip(offsets, diagonals):
        d = xp.broadcast_to(xp.asarray(d, dtype=dtype, device=device), (m,) + rest)
        out = xp.where(step == o, xp.reshape(d, (m, 1) + rest), out)
    return out'''

SOURCES["_band_rows"] = '''def _band_rows(xp, x, offset, device):
    """``out[i] = x[i, i + offset]`` where that column lies inside ``x``, else 0."""
    m, n, rest = x.shape[0], x.shape[1], tuple(x.shape[2:])
    lo, hi = max(0, -offset), min(m, n - offset)
    if hi <= lo:
        return xp.zeros((m,) + rest, dtype=x.dtype, device=device)
    k = len(rest)
    d = xp.linalg.diagonal(xp.permute_dims(x, tuple(range(2, k + 2)) + (0, 1)), offset=offset)
    d = xp.permute_dims(d, (k,) + tuple(range(k)))
    parts = [xp.zeros((lo,) + rest, dtype=x.dtype, device=device), d,
             xp.zeros((m - hi,) + rest, dtype=x.dtype, device=device)]
    return xp.concat([p for p in parts if p.shape[0]], axis=0)'''

SOURCES["_diag_embed"] = '''def _diag_embed(xp, g, shape, offset, axis1, axis2, device):
    """Zeros of ``shape`` with ``g`` (the diagonal along its last axis) placed on diagonal ``offset``
    of axes ``axis1``, ``axis2`` (gradient of np.diagonal)."""
    nd = len(shape)
    a1, a2 = axis1 % nd, axis2 % nd
    others = [k for k in range(nd) if k not in (a1, a2)]
    rows, cols, count = shape[a1], shape[a2], g.shape[-1]
    first = max(-offset, 0)
    lead = tuple(g.shape[:-1])
    parts = [xp.zeros(lead + (first,), dtype=g.dtype, device=device), g,
             xp.zeros(lead + (rows - first - count,), dtype=g.dtype, device=device)]
    g = xp.concat([p for p in parts if p.shape[-1]], axis=-1)
    step = xp.arange(cols, device=device)[None, :] - xp.arange(rows, device=device)[:, None]
    out = xp.where(step == offset, g[..., :, None], xp.zeros((1,) * nd, dtype=g.dtype, device=device))
    order = others + [a1, a2]
    return xp.permute_dims(out, tuple(order.index(k) for k in range(nd)))'''


def _emit_banded(node: Node, a: list[str], p) -> str:
    return p.helper_call_code("_banded", [p.shape(node.shape), str(node.param("offsets")), "dtype", "device", *a])


def _emit_band_rows(node: Node, a: list[str], p) -> str:
    return p.helper_call_code("_band_rows", [a[0], str(node.param("offset")), "device"])


def _emit_diag_embed(node: Node, a: list[str], p) -> str:
    params = [str(node.param(k)) for k in ("offset", "axis1", "axis2")]
    return p.helper_call_code("_diag_embed", [a[0], p.shape(node.shape), *params, "device"])


EMIT.update({"banded": _emit_banded, "band_rows": _emit_band_rows, "diag_embed": _emit_diag_embed})
