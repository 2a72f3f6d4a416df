"""Registry entries (see :mod:`symdiff.numpy.core`): decompositions of ``np.linalg`` (the Cholesky
factor), batched over leading axes. The rules are in :mod:`symdiff.ir.primitives.decompositions`.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..errors import UnsupportedError
from ..ir import primitives as P
from ..ir.graph import ARG
from ..trace.tracer import current_trace
from ..trace.values import Tracer, TracerList
from .core import Case, Entry, _here, as_node, register


def spd(rng, shape):
    """Symmetric positive definite test matrices: B B^T / n + I for B uniform in [-1, 1]."""
    x = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x @ np.swapaxes(x, -1, -2) / shape[-1] + np.eye(shape[-1])
    return x


def _cholesky(origin, a, upper=False):
    return P.cholesky(as_node(a), lower=not upper, call="numpy", origin=origin)


CHOLESKY_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((2, 3, 3),), ()), (((1, 1),), ()),
                                    (((3, 3),), (("upper", True),)))
register(np.linalg.cholesky, Entry(
    "cholesky", _cholesky, cases=CHOLESKY_CASES, sample=spd,
    notes="reads the lower triangle (upper=True: the upper one), the other has zero gradient; "
          "NumPy raises LinAlgError where the matrix is not positive definite"))


def _item(k: int):
    """The getter of a named result's field ``k``."""
    return lambda self: self[k]


# ---------------------------------------------------------------- eigh, eigvalsh ------------------

def named_result(function: str, fields: tuple[str, ...]) -> type:
    """The result of ``np.linalg.<function>`` on traced values: a tuple of ``fields`` that are also
    attributes, as NumPy's named results (``np.linalg.eigh(A).eigenvectors``)."""
    doc = f"``np.linalg.{function}``'s result: ``({', '.join(fields)})``, also by attribute, as NumPy's."
    props = {f: property(_item(k)) for k, f in enumerate(fields)}
    return type(f"{function.capitalize()}Result", (TracerList,), {"__doc__": doc, "__module__": __name__, **props})


EighResult = named_result("eigh", ('eigenvalues', 'eigenvectors'))


def _uplo(UPLO) -> str:
    if UPLO not in ("L", "U"):
        raise UnsupportedError(f"{_here()}: UPLO={UPLO!r}; use 'L' or 'U'")
    return UPLO


def _eigh(origin, a, UPLO="L"):
    x, trace = as_node(a), current_trace()
    uplo = _uplo(UPLO)
    return EighResult(Tracer(trace.note(P.eigh(x, part, uplo, "eigh", origin))) for part in ("values", "vectors"))


def _eigvalsh(origin, a, UPLO="L"):
    return P.eigh(as_node(a), "values", _uplo(UPLO), "eigvalsh", origin)


def distinct_spectrum(rng, shape):
    """Symmetric test matrices with eigenvalues 1, 2, ..., n (gaps of 1): Q diag(1..n) Q^T."""
    x = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        q = np.linalg.qr(x)[0]
        x = (q * np.arange(1.0, shape[-1] + 1)[..., None, :]) @ np.swapaxes(q, -1, -2)
    return x


EIGH_NOTES = ("reads the triangle UPLO names; distinct eigenvalues: at repeated ones the eigenvectors' "
              "gradient is undefined (inf/NaN, as in JAX and autograd); use eigenvectors only through "
              "sign-invariant functions")
EIGH_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((2, 3, 3),), ()), (((3, 3),), (("UPLO", "U"),)))
register(np.linalg.eigh, Entry("eigh", _eigh, cases=EIGH_CASES, sample=distinct_spectrum, form="parts",
                               notes=EIGH_NOTES))
register(np.linalg.eigvalsh, Entry("eigvalsh", _eigvalsh, cases=EIGH_CASES + ((((1, 1),), ()),),
                                   sample=distinct_spectrum, notes="reads the triangle UPLO names; the "
                                   "gradient V diag(g) V^T is finite at repeated eigenvalues too"))


# ---------------------------------------------------------------- svd -----------------------------

SVDResult = named_result("svd", ('U', 'S', 'Vh'))


def _svd(origin, a, full_matrices=True, compute_uv=True, hermitian=False):
    x, trace = as_node(a), current_trace()
    if hermitian:
        raise UnsupportedError(f"{_here()}: np.linalg.svd(..., hermitian=True) is not supported; use "
                               "np.linalg.eigh for symmetric matrices")
    if not compute_uv:
        return P.svd(x, "s", False, origin)
    if x.ndim >= 2 and full_matrices:
        m, n = (trace.concrete(d, "an axis size of np.linalg.svd's argument") for d in x.shape[-2:])
        if m != n:
            raise UnsupportedError(
                f"{_here()}: np.linalg.svd(a, full_matrices=True) of a {m}x{n} matrix: the extra singular "
                "vectors are not unique, so they have no derivative; pass full_matrices=False")
    return SVDResult(Tracer(trace.note(P.svd(x, part, True, origin))) for part in ("u", "s", "vh"))


def distinct_singular_values(rng, shape):
    """Test matrices with singular values 1, 2, ..., k (gaps of 1): U diag(1..k) Vh, U and Vh random."""
    if len(shape) < 2:
        return rng.uniform(-1.0, 1.0, size=shape)
    m, n = shape[-2:]
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal(shape[:-2] + (m, k)))[0]
    vh = np.swapaxes(np.linalg.qr(rng.standard_normal(shape[:-2] + (n, k)))[0], -1, -2)
    return (u * np.arange(1.0, k + 1)[..., None, :]) @ vh


SVD_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((4, 3),), (("full_matrices", False),)),
                               (((3, 4),), (("full_matrices", False),)), (((2, 4, 3),), (("full_matrices", False),)),
                               (((4, 3),), (("compute_uv", False),)), (((2, 3, 4),), (("compute_uv", False),)))
register(np.linalg.svd, Entry(
    "svd", _svd, cases=SVD_CASES, sample=distinct_singular_values, form="parts",
    notes="distinct nonzero singular values (at repeated or zero ones the singular vectors' gradient is "
          "undefined: inf/NaN); full_matrices=True only for square matrices; U and Vh through sign-invariant "
          "functions only"))


# ---------------------------------------------------------------- qr ------------------------------

QRResult = named_result("qr", ('Q', 'R'))


def _qr(origin, a, mode="reduced"):
    x, trace = as_node(a), current_trace()
    if mode not in ("reduced", "complete", "r"):
        raise UnsupportedError(f"{_here()}: np.linalg.qr(..., mode={mode!r}) is not supported; use 'reduced', "
                               "'complete' (square matrices) or 'r'")
    if x.ndim >= 2:
        m, n = (trace.concrete(d, "an axis size of np.linalg.qr's argument") for d in x.shape[-2:])
        if m < n:
            raise UnsupportedError(f"{_here()}: np.linalg.qr of a wide {m}x{n} matrix: its derivative is defined "
                                   "here for m >= n only (as in JAX); take the QR of a.T, or of a[:, :m]")
        if mode == "complete" and m != n:
            raise UnsupportedError(f"{_here()}: np.linalg.qr(a, mode='complete') of a {m}x{n} matrix: the extra "
                                   "columns of Q are not unique, so they have no derivative; use mode='reduced'")
    if mode == "r":
        return P.qr(x, "r", "r", origin)
    return QRResult(Tracer(trace.note(P.qr(x, part, "reduced", origin))) for part in ("q", "r"))


QR_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((4, 3),), ()), (((2, 4, 3),), ()), (((4, 3),), (("mode", "r"),)),
                              (((3, 3),), (("mode", "complete"),)))
register(np.linalg.qr, Entry(
    "qr", _qr, cases=QR_CASES, sample=distinct_singular_values, form="parts",
    notes="m >= n, full column rank (R singular: no derivative, inf/NaN); wide matrices and mode='complete' "
          "of non-square ones refused"))


# ---------------------------------------------------------------- pinv, matrix_power --------------

def _pinv(origin, a, rcond=None, hermitian=False, *, rtol=None):
    if hermitian:
        raise UnsupportedError(f"{_here()}: np.linalg.pinv(..., hermitian=True) is not supported; drop it")
    if rtol is not None:
        raise UnsupportedError(f"{_here()}: np.linalg.pinv(..., rtol=...) is not supported; use rcond=")
    if rcond is not None and not isinstance(rcond, (int, float)):
        raise UnsupportedError(f"{_here()}: np.linalg.pinv(..., rcond=...) must be a number here")
    return P.pinv(as_node(a), None if rcond is None else float(rcond), origin)


PINV_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((4, 3),), ()), (((3, 4),), ()), (((2, 4, 3),), ()),
                                (((3, 3),), (("rcond", 1e-10),)))
register(np.linalg.pinv, Entry(
    "pinv", _pinv, cases=PINV_CASES, sample=distinct_singular_values,
    notes="the derivative holds where the rank (as rcond decides it) is locally constant; across a rank "
          "change pinv is discontinuous"))


def _matrix_power(origin, a, n):
    """``np.linalg.matrix_power(a, n)`` for a static integer ``n``: products by repeated squaring, of
    ``inv(a)`` for negative ``n``; the identity for 0 (printed as those products)."""
    x = as_node(a)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise UnsupportedError(f"{_here()}: np.linalg.matrix_power(a, n) needs a Python integer n, got "
                               f"{type(n).__name__}; the power must be fixed when the function is traced")
    P.matrix_fn("det", x)  # the same square-matrix check as np.linalg.det
    n = int(n)
    if n == 0:
        size = current_trace().concrete(x.shape[-1], "an axis size of np.linalg.matrix_power's argument")
        shape = tuple(current_trace().concrete(d, "an axis size") for d in x.shape)
        return P.const_node(np.broadcast_to(np.eye(size), shape).copy())
    base = P.matrix_fn("inv", x, origin) if n < 0 else x
    result, n = None, abs(n)
    while n:
        if n & 1:
            result = base if result is None else P.matmul(result, base, origin)
        n >>= 1
        if n:
            base = P.matmul(base, base, origin)
    return result


POWER_CASES: tuple[Case, ...] = ((((3, 3),), (("n", 3),)), (((2, 3, 3),), (("n", 2),)), (((3, 3),), (("n", -2),)),
                                 (((3, 3),), (("n", 1),)), (((3, 3),), (("n", 0),)), (((3, 3),), (("n", 5),)))
register(np.linalg.matrix_power, Entry("matrix_power", _matrix_power, cases=POWER_CASES,
                                       sample=distinct_singular_values,
                                       notes="n a static integer; negative n through np.linalg.inv"))


# ---------------------------------------------------------------- np.linalg.norm's other ords -----

def _abs(x, origin):
    return P.elementwise(sp.Abs(ARG[0]), (x,), origin=origin)


def norm_by_ord(origin, x, ord, axes: tuple, keepdims: bool):
    """``np.linalg.norm(x, ord, axis)`` for the ords beyond the 2-/Frobenius norm (called by
    :func:`symdiff.numpy.linalg._norm`): vector 1, inf, -inf, p; matrix 1, -1, inf, -inf, 'nuc', 2, -2."""
    if len(axes) == 1:
        (ax,) = axes
        if ord == 0:
            raise UnsupportedError(f"{_here()}: np.linalg.norm(..., ord=0) counts nonzeros: it has no gradient; "
                                   "use np.count_nonzero on a constant, or a smooth penalty")
        if ord in (np.inf, -np.inf):
            out = P.reduce("max" if ord > 0 else "min", _abs(x, origin), axis=(ax,), origin=origin)
        elif ord == 1:
            out = P.reduce("sum", _abs(x, origin), axis=(ax,), origin=origin)
        elif isinstance(ord, (int, float, np.integer, np.floating)) and not isinstance(ord, bool):
            p = sp.Float(float(ord)) if float(ord) != int(ord) else sp.Integer(int(ord))
            powers = P.elementwise(sp.Abs(ARG[0]) ** p, (x,), origin=origin)
            out = P.elementwise(ARG[0] ** (1 / p), (P.reduce("sum", powers, axis=(ax,), origin=origin),), origin=origin)
        else:
            raise UnsupportedError(f"{_here()}: np.linalg.norm(..., ord={ord!r}) of a vector; use a number, inf "
                                   "or -inf")
    else:
        r, c = axes
        if ord in ("nuc", 2, -2):
            rest = [i for i in range(x.ndim) if i not in (r, c)]
            s = P.svd(P.transpose(x, (*rest, r, c)), "s", False, origin)
            if ord == "nuc":
                out = P.reduce("sum", s, axis=(s.ndim - 1,), origin=origin)
            else:
                out = P.reduce("max" if ord == 2 else "min", s, axis=(s.ndim - 1,), origin=origin)
        elif ord in (1, -1, np.inf, -np.inf):
            inner, outer = (r, c) if ord in (1, -1) else (c, r)
            sums = P.reduce("sum", _abs(x, origin), axis=(inner,), origin=origin)
            out = P.reduce("max" if ord > 0 else "min", sums, axis=(outer - (outer > inner),), origin=origin)
        else:
            raise UnsupportedError(f"{_here()}: np.linalg.norm(..., ord={ord!r}) of a matrix; use None, 'fro', "
                                   "'nuc', 1, -1, 2, -2, inf or -inf")
    if keepdims:
        out = P.reshape(out, tuple(sp.Integer(1) if i in axes else d for i, d in enumerate(x.shape)))
    return out


# ---------------------------------------------------------------- eig, eigvals --------------------

EigResult = named_result("eig", ('eigenvalues', 'eigenvectors'))


def _eig(origin, a):
    x, trace = as_node(a), current_trace()
    return EigResult(Tracer(trace.note(P.eig(x, part, "eig", origin))) for part in ("values", "vectors"))


def _eigvals(origin, a):
    return P.eig(as_node(a), "values", "eigvals", origin)


def real_spectrum(rng, shape):
    """Non-symmetric test matrices with eigenvalues 1, 2, ..., n: X diag(1..n) X^-1, X = I + entries in
    [-0.3, 0.3]."""
    x = rng.uniform(-0.3, 0.3, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + np.eye(shape[-1])
        x = (x * np.arange(1.0, shape[-1] + 1)[..., None, :]) @ np.linalg.inv(x)
    return x


EIG_NOTES = ("real matrices with real, distinct eigenvalues (the generated code raises ValueError when NumPy "
             "returns complex ones; at repeated ones the eigenvectors' gradient is inf/NaN); unit eigenvectors "
             "through sign-invariant functions only")
EIG_CASES: tuple[Case, ...] = ((((3, 3),), ()), (((2, 3, 3),), ()))
register(np.linalg.eig, Entry("eig", _eig, cases=EIG_CASES, sample=real_spectrum, form="parts", notes=EIG_NOTES))
register(np.linalg.eigvals, Entry("eigvals", _eigvals, cases=EIG_CASES + ((((1, 1),), ()),), sample=real_spectrum,
                                  notes="real eigenvalues only (the generated code raises ValueError for "
                                        "complex ones); gradient V^-T diag(g) V^T"))


# ---------------------------------------------------------------- lstsq ---------------------------

class LstsqResult(TracerList):
    """``np.linalg.lstsq``'s result: ``(x, residuals, rank, s)``."""


def _lstsq(origin, a, b, rcond=None):
    A, B, trace = as_node(a), as_node(b), current_trace()
    if A.ndim != 2 or B.ndim not in (1, 2):
        raise UnsupportedError(f"{_here()}: np.linalg.lstsq needs a matrix a and a vector or matrix b")
    m, n = (trace.concrete(d, "an axis size of np.linalg.lstsq's argument") for d in A.shape)
    if m < n:
        raise UnsupportedError(f"{_here()}: np.linalg.lstsq of a wide {m}x{n} matrix (a minimum-norm solution) is "
                               "not supported; use np.linalg.pinv(a) @ b")
    if rcond is not None and not isinstance(rcond, (int, float)):
        raise UnsupportedError(f"{_here()}: np.linalg.lstsq(..., rcond=...) must be a number or None here")
    col = B if B.ndim == 2 else P.reshape(B, B.shape + (sp.Integer(1),))
    x = P.lstsq(A, col, None if rcond is None else float(rcond), origin)
    r = P.elementwise(ARG[0] - ARG[1], (col, P.matmul(A, x, origin)), origin=origin)
    if m > n:  # NumPy's residuals: the squared norm of each column of b - a x (an empty array when m == n)
        residuals = P.reduce("sum", P.elementwise(ARG[0] ** 2, (r,), origin=origin), axis=(0,), origin=origin)
    else:
        residuals = P.const_node(np.zeros((0,)))
    if B.ndim == 1:
        x = P.reshape(x, x.shape[:-1])
    s = P.svd(A, "s", False, origin)
    return LstsqResult([Tracer(trace.note(x)), Tracer(trace.note(residuals)), n, Tracer(trace.note(s))])


def _lstsq_solution(func, a, b, rcond=None):
    return func(a, b, rcond=rcond)[0]


def _lstsq_residuals(func, a, b):
    return func(a, b, rcond=None)[1]


LSTSQ_CASES: tuple[Case, ...] = ((((4, 3), (4,)), (("call", _lstsq_solution),)),
                                 (((4, 3), (4, 2)), (("call", _lstsq_solution),)),
                                 (((3, 3), (3,)), (("call", _lstsq_solution),)),
                                 (((5, 2), (5, 2)), (("call", _lstsq_residuals),)))
register(np.linalg.lstsq, Entry("lstsq", _lstsq, form="call", cases=LSTSQ_CASES, sample=distinct_singular_values,
                                notes="m >= n at full column rank (the generated code raises ValueError below "
                                      "it); x, residuals and s differentiable, rank a constant; wide matrices "
                                      "refused (use pinv)"))
