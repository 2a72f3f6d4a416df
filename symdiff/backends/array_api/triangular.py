"""The array API code of triangular solves: ``scipy.linalg.solve_triangular`` and ``cho_solve`` (two
triangular solves with the factor), and so the Cholesky gradient. The standard has no triangular
solve; the helper ``_solve_triangular`` calls the arrays' library's own where it has one (SciPy's for
NumPy arrays: the NumPy backend's call; ``torch.linalg.solve_triangular``;
``jax.scipy.linalg.solve_triangular``), chosen once for each namespace, and else ``xp.linalg.solve``
of the triangle it reads (exact, at the cost of a factorization). Its first argument is the
namespace, as for the others of :mod:`.printer`. And the Cholesky factor itself, through ``_cholesky``:
array_api_compat's dask namespace (1.16) hands back the upper factor where the standard's call asks for
the lower one (and the lower for ``upper=True``), so on dask arrays dask's own ``cholesky(a, lower=...)``
is called."""
from __future__ import annotations

from ...ir.graph import Node
from .dispatch import EMIT
from .printer import NEEDS, SOURCES

SOURCES["_solve_triangular"] = '''def _solve_triangular(xp, a, b, lower, trans=False):
    """The solution x of t @ x = b (b a stack of matrices), where t is the lower (or upper) triangle of
    ``a``, transposed for ``trans``; the other triangle of ``a`` is not read. By the triangular solver
    of the arrays' library, found once for each namespace (see _triangular_solver)."""
    solve = _solve_triangular.cache.get(xp)
    if solve is None:
        solve = _triangular_solver(xp)
        _solve_triangular.cache[xp] = solve
    return solve(a, b, lower, trans)


def _triangular_solver(xp):
    """solve(a, b, lower, trans) for the arrays of ``xp``: scipy.linalg.solve_triangular for NumPy
    arrays (where SciPy is installed), torch.linalg.solve_triangular for PyTorch's,
    jax.scipy.linalg.solve_triangular for JAX's; for other libraries xp.linalg.solve of the triangle."""
    try:
        if type(xp) is _NumPy:
            from scipy.linalg import solve_triangular

            return lambda a, b, lower, trans: solve_triangular(a, b, trans=int(trans), lower=lower)
        if xp.__name__ == "jax.numpy":
            from jax.scipy.linalg import solve_triangular

            return lambda a, b, lower, trans: solve_triangular(a, b, trans=int(trans), lower=lower)
        if xp.__name__ == "array_api_compat.torch":
            from torch.linalg import solve_triangular

            def solve(a, b, lower, trans):
                a, upper = (a.mT, lower) if trans else (a, not lower)  # (transposed: the other triangle)
                return solve_triangular(a, b, upper=upper)

            return solve
    except ImportError:  # (NumPy arrays without SciPy)
        pass

    def solve(a, b, lower, trans):
        t = xp.tril(a) if lower else xp.triu(a)
        return xp.linalg.solve(xp.matrix_transpose(t) if trans else t, b)

    return solve


_solve_triangular.cache = {}'''
NEEDS["_solve_triangular"] = ("_array_namespace",)  # (which defines _NumPy)

SOURCES["_cholesky"] = '''def _cholesky(xp, a, upper=False):
    """xp.linalg.cholesky(a, upper=upper); on dask arrays dask's own cholesky with lower= (through
    array_api_compat 1.16 dask's factor is the upper one when the lower is asked for)."""
    if xp.__name__ == "array_api_compat.dask.array":
        import dask.array

        return dask.array.linalg.cholesky(a, lower=not upper)
    return xp.linalg.cholesky(a, upper=True) if upper else xp.linalg.cholesky(a)'''


def _emit_cholesky(node: Node, a: list[str], p) -> str:
    """``np.linalg.cholesky`` (lower) or ``scipy.linalg.cholesky`` (upper unless ``lower=True``)."""
    return p.helper_call_code("_cholesky", [a[0]] + ([] if node.param("lower") else ["upper=True"]))


def _emit_solve_triangular(node: Node, a: list[str], p) -> str:
    """``scipy.linalg.solve_triangular(a, b, lower, trans)``."""
    trans = ", trans=True" if node.param("trans") else ""
    return p.helper_call_code("_solve_triangular", [a[0], a[1], f"lower={node.param('lower')}{trans}"])


def _emit_cho_solve(node: Node, a: list[str], p) -> str:
    """``scipy.linalg.cho_solve((c, lower), b)``: two triangular solves with the factor, as LAPACK's
    potrs (what cho_solve calls) makes them: A = L L^T is solved by L then L^T, A = U^T U by U^T then U."""
    lower = node.param("lower")
    first = p.helper_call_code("_solve_triangular", [a[1], a[2], f"lower={lower}{'' if lower else ', trans=True'}"])
    return p.helper_call_code("_solve_triangular", [a[1], first, f"lower={lower}{', trans=True' if lower else ''}"])


EMIT.update({"solve_triangular": _emit_solve_triangular, "cho_solve": _emit_cho_solve, "cholesky": _emit_cholesky})
