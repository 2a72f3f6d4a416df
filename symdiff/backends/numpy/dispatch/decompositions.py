"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.decompositions`: Cholesky factors,
triangular solves (printed as the SciPy call a person writes; the module then imports
``scipy.linalg``) and triangle masks.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from typing import Callable

from ....ir.graph import Node
from .table import EMIT, PARTS, Emit


def emit_tri_mask(ns: str, k: str = "", eye_args: Callable = lambda p: p.dtype_arg()) -> Emit:
    """``ns.tril(A)`` (or ``triu``) with its diagonal kept, dropped (``k``: how the offset is passed, ``"k="``
    in the standard) or halved (divided by ``1 + ns.eye(n, ...)``, ``eye_args(p)`` its dtype arguments)."""
    def emit(node: Node, a: list[str], p) -> str:
        fn = f"{ns}.tril" if node.param("lower") else f"{ns}.triu"
        if node.param("diag") == 1.0:
            return f"{fn}({a[0]})"
        if node.param("diag") == 0.0:
            return f"{fn}({a[0]}, {k}{-1 if node.param('lower') else 1})"
        if node.param("diag") == 0.5:  # the diagonal halved (the Phi of Cholesky's rules)
            return f"{fn}({a[0]}) / (1.0 + {ns}.eye({p.size(node.shape[-1])}{eye_args(p)}))"
        raise ValueError(f"tri_mask: diag={node.param('diag')}")  # pragma: no cover  (never built)
    return emit


def _emit_cholesky(node: Node, a: list[str], p) -> str:
    if node.param("call") == "numpy":
        return f"np.linalg.cholesky({a[0]})" if node.param("lower") else f"np.linalg.cholesky({a[0]}, upper=True)"
    return f"scipy.linalg.cholesky({a[0]}, lower={node.param('lower')})"


def _emit_solve_triangular(node: Node, a: list[str], p) -> str:
    trans = ", trans='T'" if node.param("trans") else ""
    return f"scipy.linalg.solve_triangular({a[0]}, {a[1]}{trans}, lower={node.param('lower')})"


def emit_eigh(ns: str) -> Emit:
    """``ns.linalg.eigh(A)[0]`` (values) or ``[1]`` (vectors), ``ns.linalg.eigvalsh(A)``; ``UPLO='U'``
    where the upper triangle is read."""
    def emit(node: Node, a: list[str], p) -> str:
        uplo = "" if node.param("uplo") == "L" else ", UPLO='U'"
        if node.param("call") == "eigvalsh":
            return f"{ns}.linalg.eigvalsh({a[0]}{uplo})"
        return f"{ns}.linalg.eigh({a[0]}{uplo})[{0 if node.param('part') == 'values' else 1}]"
    return emit


def emit_svd(ns: str, values: str) -> Emit:
    """``ns.linalg.svd(A, full_matrices=False)[k]``; ``values``: the call for the singular values alone
    (``{}`` where the matrix goes)."""
    def emit(node: Node, a: list[str], p) -> str:
        if not node.param("compute_uv"):
            return values.format(a[0])
        return f"{ns}.linalg.svd({a[0]}, full_matrices=False)[{'usv'.index(node.param('part')[0])}]"
    return emit


def emit_qr(ns: str, r_alone: str) -> Emit:
    """``ns.linalg.qr(A)[k]``; ``r_alone``: the call for R alone (``mode='r'``), ``{}`` for the matrix."""
    def emit(node: Node, a: list[str], p) -> str:
        if node.param("mode") == "r":
            return r_alone.format(a[0])
        return f"{ns}.linalg.qr({a[0]})[{0 if node.param('part') == 'q' else 1}]"
    return emit


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
    "qr": emit_qr("np", "np.linalg.qr({}, mode='r')"),
    "svd": emit_svd("np", "np.linalg.svd({}, compute_uv=False)"),
    "eigh": emit_eigh("np"),
    "tri_mask": emit_tri_mask("np"),
    "cholesky": _emit_cholesky,
    "solve_triangular": _emit_solve_triangular,
})
