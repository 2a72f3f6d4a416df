"""Registry entries for ``scipy.linalg``'s decompositions and solvers: ``cholesky``, ``solve_triangular``,
``cho_factor``/``cho_solve`` (traced as those two), ``det``, ``inv``, ``solve`` (``assume_a``, ``lower``,
``transposed``) and ``lu_factor``/``lu_solve``; the matrix functions are in :mod:`symdiff.scipy.matfuncs`.
The rules are in :mod:`symdiff.ir.primitives.decompositions` and :mod:`symdiff.ir.primitives.solvers`;
the generated code prints the same SciPy calls and imports ``scipy.linalg``.

SciPy's functions are Python functions, which NumPy's dispatch does not reach: each registered one is
a stand-in (installed on ``scipy.linalg`` and over the traced function's globals only while tracing,
through :data:`symdiff.trace.patches.PROVIDERS`) that calls SciPy on arrays and the entry on traced
values. Imported when SciPy is installed: by :func:`symdiff.pipeline.compile_function` when the
program has loaded ``scipy.linalg``, by the docs table and by the tests.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as linalg
import sympy as sp

from ..errors import UnsupportedError
from ..ir import primitives as P
from ..numpy.core import Case, Entry, _here, as_node, register
from ..numpy.decompositions import spd
from ..numpy.linalg import well_conditioned
from ..trace import patches
from .calls import standin_of
from ..trace.dispatch import _holds_tracer
from ..trace.tracer import _tracing, current_trace, user_origin
from ..trace.values import Tracer

NAMES = ("cholesky", "solve_triangular", "cho_factor", "cho_solve", "det", "inv", "solve", "lu_factor", "lu_solve",
         )
_ORIG = {name: getattr(linalg, name) for name in NAMES}


def _standin(name: str):
    return standin_of(_ORIG[name])


def _checks(what: str, unit_diagonal=False, **ignored) -> None:
    """``overwrite_*``/``check_finite`` change nothing a gradient sees; ``unit_diagonal`` does."""
    extra = set(ignored) - {"overwrite_a", "overwrite_b", "check_finite"}
    if extra:
        raise UnsupportedError(f"{_here()}: scipy.linalg.{what}(..., {sorted(extra)[0]}=...) is not supported")
    if unit_diagonal:
        raise UnsupportedError(f"{_here()}: scipy.linalg.{what}(..., unit_diagonal=True) is not supported; "
                               "solve with a matrix whose diagonal holds the ones")


def _cholesky(origin, a, lower=False, **kw):
    _checks("cholesky", **kw)
    return P.cholesky(as_node(a), lower=bool(lower), call="scipy", origin=origin)


def _trans(trans) -> bool:
    if trans in (0, "N"):
        return False
    if trans in (1, "T", 2, "C"):  # real matrices: the conjugate transpose is the transpose
        return True
    raise UnsupportedError(f"{_here()}: scipy.linalg.solve_triangular(..., trans={trans!r}); use 0, 1, 2, "
                           "'N', 'T' or 'C'")


def _solve_triangular(origin, a, b, trans=0, lower=False, **kw):
    _checks("solve_triangular", **kw)
    A, B = as_node(a), as_node(b)
    if B.ndim != 1:
        return P.solve_triangular(A, B, bool(lower), _trans(trans), origin)
    x = P.solve_triangular(A, P.reshape(B, B.shape + (sp.Integer(1),)), bool(lower), _trans(trans), origin)
    return P.reshape(x, x.shape[:-1])  # a vector: one column


def triangular(rng, shape):
    """Well-conditioned test matrices: entries in [-1, 1] plus 3 on the diagonal."""
    x = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + 3.0 * np.eye(shape[-1])
    return x


cholesky = _standin("cholesky")
solve_triangular = _standin("solve_triangular")
CHOLESKY_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((3, 3),), (("lower", True),)),
                                    (((2, 3, 3),), (("lower", True),)), (((1, 1),), ()))
SOLVE_CASES: tuple[Case, ...] = (
    (((3, 3), (3,)), (("lower", True),)), (((3, 3), (3, 2)), ()), (((3, 3), (3, 2)), (("lower", True), ("trans", "T"))),
    (((3, 3), (3,)), (("trans", 1),)), (((2, 3, 3), (2, 3, 2)), (("lower", True),)),
    (((3, 3), (2, 3, 2)), (("trans", "T"),)))
register(cholesky, Entry("cholesky", _cholesky, cases=CHOLESKY_CASES, sample=spd,
                         notes="scipy.linalg; reads the triangle lower= names (upper by default), the other "
                               "has zero gradient; SciPy raises LinAlgError if not positive definite"))
register(solve_triangular, Entry("solve_triangular", _solve_triangular, cases=SOLVE_CASES, sample=triangular,
                                 notes="scipy.linalg; reads the triangle lower= names; trans 0/1/2; "
                                       "unit_diagonal=True refused"))


# ---------------------------------------------------------------- cho_factor, cho_solve -----------

def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cho_factor`` while tracing: ``(cholesky(a, lower=lower), lower)``. SciPy leaves
    arbitrary values in the other triangle of ``c``; here it holds zeros (use ``c`` through ``cho_solve``)."""
    if not (_tracing() and _holds_tracer(a)):
        return _ORIG["cho_factor"](a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    return cholesky(a, lower=lower), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``scipy.linalg.cho_solve`` while tracing: of a factor the traced function made (cholesky, cho_factor),
    a solve with the matrix factored (its derivative skips the factorization's); else two triangular
    solves with the factor."""
    if not (_tracing() and _holds_tracer((c_and_lower, b))):
        return _ORIG["cho_solve"](c_and_lower, b, overwrite_b=overwrite_b, check_finite=check_finite)
    c, lower = c_and_lower
    factor = as_node(c)
    if factor.op == "cholesky" and factor.param("lower") == bool(lower):  # the factor of a traced matrix
        a, origin = factor.inputs[0], user_origin()
        return Tracer(current_trace().note(_column(b, lambda B: P.cho_solve(a, factor, B, bool(lower), origin))))
    if lower:  # A = L L^T: x = L^-T (L^-1 b)
        return solve_triangular(c, solve_triangular(c, b, lower=True), trans="T", lower=True)
    return solve_triangular(c, solve_triangular(c, b, trans="T", lower=False), lower=False)  # A = U^T U


# ---------------------------------------------------------------- det, inv, solve -----------------

def _det(origin, a, overwrite_a=False, check_finite=True):
    return P.matrix_fn("det", as_node(a), origin, call="scipy")


def _inv(origin, a, overwrite_a=False, check_finite=True):
    return P.matrix_fn("inv", as_node(a), origin, call="scipy")


ASSUME = {None: "gen", "gen": "gen", "general": "gen", "sym": "sym", "symmetric": "sym", "her": "her",
          "hermitian": "her", "pos": "pos", "positive definite": "pos"}


def _column(b, build):
    """``build(B)`` for ``B`` a stack of matrices; a vector ``b`` is solved as one column."""
    B = as_node(b)
    if B.ndim != 1:
        return build(B)
    x = build(P.reshape(B, B.shape + (sp.Integer(1),)))
    return P.reshape(x, x.shape[:-1])


def _solve(origin, a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None,
           transposed=False):
    if not isinstance(assume_a, (str, type(None))) or assume_a not in ASSUME:
        raise UnsupportedError(f"{_here()}: scipy.linalg.solve(..., assume_a={assume_a!r}) is not supported; use "
                               "'gen', 'sym', 'her' or 'pos' (scipy.linalg.solve_triangular for a triangular "
                               "matrix, scipy.linalg.solve_banded for a banded one)")
    kind, A = ASSUME[assume_a], as_node(a)
    return _column(b, lambda B: P.linsolve(A, B, kind, bool(lower), bool(transposed) and kind == "gen", origin))


SQUARE_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((2, 3, 3),), ()), (((1, 1),), ()))
LINSOLVE_CASES: tuple[Case, ...] = (
    (((3, 3), (3,)), ()), (((3, 3), (3, 2)), (("transposed", True),)), (((2, 3, 3), (2, 3, 2)), ()),
    (((3, 3), (3, 2)), (("assume_a", "pos"),)), (((3, 3), (3,)), (("assume_a", "sym"), ("lower", True))),
    (((2, 3, 3), (2, 3, 2)), (("assume_a", "pos"), ("lower", True))), (((3, 3), (3, 2)), (("assume_a", "her"),)))
det = _standin("det")
inv = _standin("inv")
solve = _standin("solve")
register(det, Entry("det", _det, cases=SQUARE_CASES, sample=well_conditioned,
                    notes="scipy.linalg; d det = det(A) inv(A)^T; 0 at a singular matrix"))
register(inv, Entry("inv", _inv, cases=SQUARE_CASES, sample=well_conditioned,
                    notes="scipy.linalg; SciPy raises LinAlgError at a singular matrix"))
register(solve, Entry("solve", _solve, cases=LINSOLVE_CASES, sample=spd, notes=(
    "scipy.linalg; assume_a 'gen' (default), 'sym', 'her', 'pos': the symmetric ones read the triangle lower= "
    "names (upper by default), the other has zero gradient; transposed=; other assume_a refused")))


# ---------------------------------------------------------------- lu_factor, lu_solve -------------

def lu_factor(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.lu_factor`` while tracing: the pair ``(lu, piv)``, usable through ``lu_solve`` (which is
    differentiated as a solve with ``a``); its factors have no derivative of their own."""
    if not (_tracing() and _holds_tracer(a)):
        return _ORIG["lu_factor"](a, overwrite_a=overwrite_a, check_finite=check_finite)
    x, trace, origin = as_node(a), current_trace(), user_origin()
    return tuple(Tracer(trace.note(P.lu_factor(x, part, origin))) for part in ("lu", "piv"))


def _lu_solve(origin, lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    if not isinstance(lu_and_piv, (tuple, list)) or len(lu_and_piv) != 2:
        raise UnsupportedError(f"{_here()}: scipy.linalg.lu_solve needs the pair scipy.linalg.lu_factor returns")
    lu, piv = (as_node(x) for x in lu_and_piv)
    if lu.op != "lu_factor" or piv.op != "lu_factor" or lu.inputs[0] is not piv.inputs[0]:
        raise UnsupportedError(f"{_here()}: scipy.linalg.lu_solve of factors not made by scipy.linalg.lu_factor "
                               "in the traced function; pass lu_factor(a)'s result itself")
    if trans not in (0, 1, 2):
        raise UnsupportedError(f"{_here()}: scipy.linalg.lu_solve(..., trans={trans!r}); use 0, 1 or 2")
    a = lu.inputs[0]
    return _column(b, lambda B: P.lu_solve(a, lu, piv, B, trans != 0, origin))


def _through_factor(func, a, b, trans=0):
    return func(lu_factor(a), b, trans=trans)


lu_solve = _standin("lu_solve")
LU_CASES: tuple[Case, ...] = ((((3, 3), (3,)), (("call", _through_factor),)),
                              (((3, 3), (3, 2)), (("call", lambda f, a, b: f(lu_factor(a), b, trans=1)),)),
                              (((2, 3, 3), (2, 3, 2)), (("call", _through_factor),)))
register(lu_solve, Entry("lu_solve", _lu_solve, form="call", cases=LU_CASES, sample=well_conditioned, notes=(
    "scipy.linalg; with lu_factor's pair: differentiable in a (through lu_factor) and b, trans 0/1/2; the "
    "factors used otherwise are refused")))


def _standins() -> list:
    return [(linalg, name, globals()[name]) for name in NAMES]


patches.PROVIDERS.append(_standins)

from . import matfuncs  # noqa: E402,F401  (expm, logm, sqrtm, solve_sylvester, block_diag, solve_banded)
