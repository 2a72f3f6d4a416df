"""Registry entries for ``scipy.linalg``'s decompositions: ``cholesky``, ``solve_triangular``, and
``cho_factor``/``cho_solve`` (traced as those two). The rules are in
:mod:`symdiff.ir.primitives.decompositions`; the generated code prints the same SciPy calls and
imports ``scipy.linalg``.

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
from ..trace import dispatch, patches
from ..trace.dispatch import _holds_tracer
from ..trace.tracer import _tracing

_ORIG = {name: getattr(linalg, name) for name in ("cholesky", "solve_triangular", "cho_factor", "cho_solve")}


def _standin(name: str):
    orig = _ORIG[name]

    def standin(*args, **kwargs):
        if _tracing() and _holds_tracer((args, tuple(kwargs.values()))):
            return dispatch.call(standin, args, kwargs)
        return orig(*args, **kwargs)
    standin.__name__, standin.__doc__, standin.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore
    standin.__module__ = "scipy.linalg"
    return standin


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
    """``scipy.linalg.cho_solve`` while tracing: two triangular solves with the factor."""
    if not (_tracing() and _holds_tracer((c_and_lower, b))):
        return _ORIG["cho_solve"](c_and_lower, b, overwrite_b=overwrite_b, check_finite=check_finite)
    c, lower = c_and_lower
    if lower:  # A = L L^T: x = L^-T (L^-1 b)
        return solve_triangular(c, solve_triangular(c, b, lower=True), trans="T", lower=True)
    return solve_triangular(c, solve_triangular(c, b, trans="T", lower=False), lower=False)  # A = U^T U


def _standins() -> list:
    return [(linalg, "cholesky", cholesky), (linalg, "solve_triangular", solve_triangular),
            (linalg, "cho_factor", cho_factor), (linalg, "cho_solve", cho_solve)]


patches.PROVIDERS.append(_standins)
