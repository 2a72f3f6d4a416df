"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.decompositions`: Cholesky factors,
triangular solves (printed as the SciPy call a person writes; the module then imports
``scipy.linalg``) and triangle masks.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....ir.graph import Node
from .table import EMIT, PARTS


def _emit_tri_mask(node: Node, a: list[str], p) -> str:
    fn = "np.tril" if node.param("lower") else "np.triu"
    if node.param("diag") == 1.0:
        return f"{fn}({a[0]})"
    if node.param("diag") == 0.0:
        return f"{fn}({a[0]}, {-1 if node.param('lower') else 1})"
    if node.param("diag") == 0.5:  # the diagonal halved (the Phi of Cholesky's rules)
        return f"{fn}({a[0]}) / (1.0 + np.eye({p.size(node.shape[-1])}{p.dtype_arg()}))"
    raise ValueError(f"tri_mask: diag={node.param('diag')}")  # pragma: no cover  (never built)


def _emit_cholesky(node: Node, a: list[str], p) -> str:
    if node.param("call") == "numpy":
        return f"np.linalg.cholesky({a[0]})" if node.param("lower") else f"np.linalg.cholesky({a[0]}, upper=True)"
    return f"scipy.linalg.cholesky({a[0]}, lower={node.param('lower')})"


def _emit_solve_triangular(node: Node, a: list[str], p) -> str:
    trans = ", trans='T'" if node.param("trans") else ""
    return f"scipy.linalg.solve_triangular({a[0]}, {a[1]}{trans}, lower={node.param('lower')})"


def _emit_eigh(node: Node, a: list[str], p) -> str:
    uplo = "" if node.param("uplo") == "L" else ", UPLO='U'"
    if node.param("call") == "eigvalsh":
        return f"np.linalg.eigvalsh({a[0]}{uplo})"
    return f"np.linalg.eigh({a[0]}{uplo})[{0 if node.param('part') == 'values' else 1}]"


def _emit_svd(node: Node, a: list[str], p) -> str:
    if not node.param("compute_uv"):
        return f"np.linalg.svd({a[0]}, compute_uv=False)"
    return f"np.linalg.svd({a[0]}, full_matrices=False)[{'usv'.index(node.param('part')[0])}]"


def _emit_qr(node: Node, a: list[str], p) -> str:
    if node.param("mode") == "r":
        return f"np.linalg.qr({a[0]}, mode='r')"
    return f"np.linalg.qr({a[0]})[{0 if node.param('part') == 'q' else 1}]"


def _parts_eigh(node: Node):
    if node.param("call") == "eigvalsh":
        return None
    uplo = "" if node.param("uplo") == "L" else ", UPLO='U'"
    return node.param("uplo"), lambda a, p: f"np.linalg.eigh({a[0]}{uplo})", \
        ("values", "vectors").index(node.param("part")), 2


def _parts_svd(node: Node):
    if not node.param("compute_uv"):
        return None
    return True, lambda a, p: f"np.linalg.svd({a[0]}, full_matrices=False)", \
        ("u", "s", "vh").index(node.param("part")), 3


def _parts_qr(node: Node):
    if node.param("mode") == "r":
        return None
    return "reduced", lambda a, p: f"np.linalg.qr({a[0]})", ("q", "r").index(node.param("part")), 2


PARTS.update({"eigh": _parts_eigh, "svd": _parts_svd, "qr": _parts_qr})

EMIT.update({
    "qr": _emit_qr,
    "svd": _emit_svd,
    "eigh": _emit_eigh,
    "tri_mask": _emit_tri_mask,
    "cholesky": _emit_cholesky,
    "solve_triangular": _emit_solve_triangular,
})
