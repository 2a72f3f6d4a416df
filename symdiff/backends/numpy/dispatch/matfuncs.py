"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.solvers` and
:mod:`symdiff.ir.primitives.matfuncs`: the SciPy calls a person writes (``scipy.linalg.solve(a, b,
assume_a='pos')``, ``lu, piv = scipy.linalg.lu_factor(a)``, ``scipy.linalg.expm(a)``), with a run-time
check where the result would leave what the gradient was made for: ``sqrtm``/``logm`` of a matrix whose
square root or logarithm is not real, ``eig`` with complex eigenvalues, ``lstsq`` below full rank.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....errors import UnsupportedError
from ....escape import literal
from ....ir.graph import Node
from ....ir.scalar import HELPERS
from .table import EMIT, PARTS


def _where(node: Node) -> str:
    o = node.origin
    return literal(f"{o.file}:{o.line}" if o is not None and o.file else "the traced function")


def _emit_linsolve(node: Node, a: list[str], p) -> str:
    kind, extra = node.param("assume_a"), ""
    if kind != "gen":
        extra = f", assume_a={literal(kind)}" + (", lower=True" if node.param("lower") else "")
    elif node.param("trans"):
        extra = ", transposed=True"
    return f"scipy.linalg.solve({a[0]}, {a[1]}{extra})"


def _emit_lu_factor(node: Node, a: list[str], p) -> str:
    return f"scipy.linalg.lu_factor({a[0]})[{0 if node.param('part') == 'lu' else 1}]"


def _emit_lu_solve(node: Node, a: list[str], p) -> str:
    return f"scipy.linalg.lu_solve(({a[1]}, {a[2]}), {a[3]}{', trans=1' if node.param('trans') else ''})"


def _emit_refused(node: Node, a: list[str], p) -> str:
    raise UnsupportedError(node.param("message"))


REAL_RESULT = {"sqrtm": "square root", "logm": "logarithm"}


def _emit_matfunc(node: Node, a: list[str], p) -> str | list[str]:
    fn = node.param("fn")
    call = f"scipy.linalg.{fn}({a[0]})"
    if fn not in REAL_RESULT:
        return call
    message = literal(f"scipy.linalg.{fn} at {node.origin.file}:{node.origin.line}: " if node.origin else
                      f"scipy.linalg.{fn}: ")
    why = literal(f"the matrix has eigenvalues on the closed negative real axis, so its {REAL_RESULT[fn]} is "
                  "not real; the gradient is made for real results (shift or reparametrize the matrix, e.g. "
                  "A = B @ B.T + eps * I)")
    return [f"{{name}} = {call}", "if np.iscomplexobj({name}):", f"    raise ValueError({message} + {why})"]


HELPERS["_real_eig"] = '''def _real_eig(a, where):
    """``np.linalg.eig(a)``, refusing complex eigenvalues (the gradient is made for real, distinct ones)."""
    w, v = np.linalg.eig(a)
    if np.iscomplexobj(w):
        raise ValueError("np.linalg.eig at " + where + ": the matrix has complex eigenvalues; the gradient is "
                         "made for real, distinct ones (use np.linalg.eigh for a symmetric matrix)")
    return w, v'''

HELPERS["_real_eigvals"] = '''def _real_eigvals(a, where):
    """``np.linalg.eigvals(a)``, refusing complex eigenvalues (the gradient is made for real, distinct ones)."""
    w = np.linalg.eigvals(a)
    if np.iscomplexobj(w):
        raise ValueError("np.linalg.eigvals at " + where + ": the matrix has complex eigenvalues; the gradient "
                         "is made for real, distinct ones (use np.linalg.eigvalsh for a symmetric matrix)")
    return w'''

HELPERS["_lstsq_full_rank"] = '''def _lstsq_full_rank(a, b, rcond, where):
    """``np.linalg.lstsq(a, b, rcond=rcond)[0]``, refusing a matrix below full column rank (the gradient
    holds at full rank only)."""
    x, _, rank, _ = np.linalg.lstsq(a, b, rcond=rcond)
    if rank < a.shape[1]:
        raise ValueError("np.linalg.lstsq at " + where + ": the matrix has rank " + str(rank) + " < "
                         + str(a.shape[1]) + " columns; the gradient holds at full column rank only")
    return x'''


HELPERS["_band_transpose"] = '''def _band_transpose(ab, lo, u):
    """The banded storage (scipy.linalg.solve_banded's) of A^T, bands (u, l), from that of A, bands (l, u)."""
    m = ab.shape[-1]
    out = np.zeros_like(ab)
    for r in range(lo + u + 1):
        s = r - lo
        if s >= 0:
            out[..., r, :m - s] = ab[..., lo + u - r, s:]
        else:
            out[..., r, -s:] = ab[..., lo + u - r, :m + s]
    return out'''

HELPERS["_band_matvec"] = '''def _band_matvec(ab, x, lo, u):
    """A @ x for the banded matrix A stored as ab ((..., l + u + 1, m)), x (..., m, k)."""
    m = ab.shape[-1]
    out = np.zeros(np.broadcast_shapes(ab.shape[:-2], x.shape[:-2]) + x.shape[-2:], dtype=np.result_type(ab, x))
    for r in range(lo + u + 1):
        s = u - r
        if s >= 0:
            out[..., :m - s, :] += ab[..., r, s:, None] * x[..., s:, :]
        else:
            out[..., -s:, :] += ab[..., r, :m + s, None] * x[..., :m + s, :]
    return out'''

HELPERS["_band_outer"] = '''def _band_outer(p, q, lo, u):
    """The band (l, u) of p @ q.T in banded storage: out[..., r, j] = sum_c p[..., j + r - u, c] q[..., j, c]."""
    m = q.shape[-2]
    out = np.zeros(np.broadcast_shapes(p.shape[:-2], q.shape[:-2]) + (lo + u + 1, m), dtype=np.result_type(p, q))
    for r in range(lo + u + 1):
        s = u - r
        if s >= 0:
            out[..., r, s:] = np.sum(p[..., :m - s, :] * q[..., s:, :], axis=-1)
        else:
            out[..., r, :m + s] = np.sum(p[..., -s:, :] * q[..., :m + s, :], axis=-1)
    return out'''


def _band_call(name: str):
    def emit(node: Node, a: list[str], p) -> str:
        return p.helper_call_code(name, [*a, str(node.param("l")), str(node.param("u"))])
    return emit


def _emit_eig(node: Node, a: list[str], p) -> str:
    if node.param("call") == "eigvals":
        return p.helper_call_code("_real_eigvals", [a[0], _where(node)])
    return p.helper_call_code("_real_eig", [a[0], _where(node)]) + f"[{0 if node.param('part') == 'values' else 1}]"


def _emit_lstsq(node: Node, a: list[str], p) -> str:
    rcond = node.param("rcond")
    return p.helper_call_code("_lstsq_full_rank", [a[0], a[1], "None" if rcond is None else literal(rcond),
                                                   _where(node)])


def _parts_lu(node: Node):
    return None, lambda a, p: f"scipy.linalg.lu_factor({a[0]})", ("lu", "piv").index(node.param("part")), 2


def _parts_eig(node: Node):
    if node.param("call") == "eigvals":
        return None
    return None, lambda a, p: p.helper_call_code("_real_eig", [a[0], _where(node)]), \
        ("values", "vectors").index(node.param("part")), 2


PARTS.update({"lu_factor": _parts_lu, "eig": _parts_eig})

EMIT.update({
    "linsolve": _emit_linsolve,
    "lu_factor": _emit_lu_factor,
    "lu_solve": _emit_lu_solve,
    "refused": _emit_refused,
    "cho_solve": lambda n, a, p: f"scipy.linalg.cho_solve(({a[1]}, {n.param('lower')}), {a[2]})",
    "solve_banded": lambda n, a, p: f"scipy.linalg.solve_banded(({n.param('l')}, {n.param('u')}), {a[0]}, {a[1]})",
    "band_transpose": _band_call("_band_transpose"),
    "band_matvec": _band_call("_band_matvec"),
    "band_outer": _band_call("_band_outer"),
    "block_diag": lambda n, a, p: f"scipy.linalg.block_diag({', '.join(a)})",
    "sylvester": lambda n, a, p: f"scipy.linalg.solve_sylvester({a[0]}, {a[1]}, {a[2]})",
    "matfunc": _emit_matfunc,
    "eig": _emit_eig,
    "lstsq": _emit_lstsq,
})
