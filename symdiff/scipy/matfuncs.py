"""Registry entries for ``scipy.linalg``'s matrix functions and structured solvers: ``expm``, ``logm``,
``sqrtm`` and ``solve_sylvester`` (batched as SciPy >= 1.15 batches them), ``block_diag`` and
``solve_banded``. The rules are in :mod:`symdiff.ir.primitives.matfuncs`, :mod:`symdiff.ir.primitives.solvers`
and :mod:`symdiff.ir.primitives.banded_solve`; the generated code prints
the same SciPy calls, and raises where ``logm``'s or ``sqrtm``'s result would not be real.

Stand-ins as in :mod:`symdiff.scipy.linalg`, which imports this module.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as linalg
import sympy as sp

from ..errors import UnsupportedError
from ..ir import primitives as P
from ..numpy.core import Case, Entry, _here, as_node, register
from ..numpy.decompositions import spd
from ..trace import patches
from .calls import standin_of

NAMES = ("expm", "logm", "sqrtm", "solve_sylvester", "block_diag", "solve_banded")
_ORIG = {name: getattr(linalg, name) for name in NAMES}


def _standin(name: str):
    return standin_of(_ORIG[name])


def _matfunc(fn: str):
    def build(origin, A, disp=True, **kw):
        if kw or disp is not True:
            extra = sorted(kw)[0] if kw else "disp"
            raise UnsupportedError(f"{_here()}: scipy.linalg.{fn}(..., {extra}=...) is not supported; drop it")
        return P.matfunc(fn, as_node(A), origin)
    return build


def _expm(origin, A):
    return P.matfunc("expm", as_node(A), origin)


def _sylvester(origin, a, b, q):
    return P.sylvester(as_node(a), as_node(b), as_node(q), origin)


def _block_diag(origin, *arrs):
    blocks = []
    for x in arrs:
        node = as_node(x)
        if node.ndim > 2:
            raise UnsupportedError(f"{_here()}: scipy.linalg.block_diag of an array of {node.ndim} dimensions; "
                                   "SciPy takes matrices, vectors (as rows) and scalars")
        blocks.append(P.reshape(node, (sp.Integer(1),) * (2 - node.ndim) + node.shape) if node.ndim < 2 else node)
    if not blocks:
        raise UnsupportedError(f"{_here()}: scipy.linalg.block_diag() of no arrays: nothing to differentiate")
    return P.block_diag(blocks, origin)


def small(rng, shape):
    """Test matrices of norm about 1: entries in [-0.5, 0.5]."""
    return rng.uniform(-0.5, 0.5, size=shape)


def near_identity(rng, shape):
    """Test matrices near the identity (I + entries in [-0.25, 0.25]): eigenvalues off the negative axis."""
    x = rng.uniform(-0.25, 0.25, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + np.eye(shape[-1])
    return x


def sylvester_sample(rng, shape):
    """Well-separated test matrices: entries in [-1, 1] plus 3 on the diagonal (so A and -B share no
    eigenvalue), right-hand sides in [-1, 1]."""
    x = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) >= 2 and shape[-1] == shape[-2]:
        x = x + 3.0 * np.eye(shape[-1])
    return x


SQUARE: tuple[Case, ...] = ((((3, 3),), ()), (((2, 3, 3),), ()), (((1, 1),), ()))
expm, logm, sqrtm = _standin("expm"), _standin("logm"), _standin("sqrtm")
solve_sylvester = _standin("solve_sylvester")
register(expm, Entry("expm", _expm, cases=SQUARE, sample=small, notes=(
    "scipy.linalg; vjp by the block form expm([[A^T, G], [0, A^T]]) (the same primitive, so batched and "
    "twice differentiable)")))
register(logm, Entry("logm", _matfunc("logm"), cases=SQUARE[:2], sample=near_identity, notes=(
    "scipy.linalg; real results only: the generated code raises ValueError for eigenvalues on the closed "
    "negative real axis; vjp by the block form logm([[A^T, G], [0, A^T]])")))
register(sqrtm, Entry("sqrtm", _matfunc("sqrtm"), cases=SQUARE, sample=spd, notes=(
    "scipy.linalg; real results only: the generated code raises ValueError for eigenvalues on the closed "
    "negative real axis; vjp by the Sylvester equation S^T X + X S^T = G (inf/NaN at a singular matrix)")))
register(solve_sylvester, Entry("solve_sylvester", _sylvester, sample=sylvester_sample, cases=(
    (((3, 3), (2, 2), (3, 2)), ()), (((2, 2), (2, 2), (2, 2)), ()), (((2, 3, 3), (2, 2), (2, 3, 2)), ())), notes=(
    "scipy.linalg; A X + X B = Q, in A, B and Q; vjp by the adjoint equation A^T Y + Y B^T = G; needs A and "
    "-B to share no eigenvalue")))

block_diag = _standin("block_diag")
register(block_diag, Entry("block_diag", _block_diag, cases=(
    (((2, 2), (3, 1)), ()), (((2, 3), (3,), ()), ()), (((1, 2), (2, 2), (2, 1)), ())), notes=(
    "scipy.linalg; any number of blocks (matrices, vectors as rows, scalars), differentiable in each; "
    "arrays of 3 or more dimensions refused")))


def _solve_banded(origin, l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    try:
        lo, up = (int(v) for v in l_and_u)
    except (TypeError, ValueError):
        raise UnsupportedError(f"{_here()}: scipy.linalg.solve_banded((l, u), ab, b) needs two Python ints "
                               "(l, u), fixed when the function is traced") from None
    AB, B = as_node(ab), as_node(b)
    if AB.ndim != 2 or B.ndim not in (1, 2):
        raise UnsupportedError(f"{_here()}: scipy.linalg.solve_banded of stacked matrices is not supported; "
                               "ab must be (l + u + 1, M) and b (M,) or (M, K)")
    if B.ndim == 2:
        return P.solve_banded(AB, B, lo, up, origin)
    x = P.solve_banded(AB, P.reshape(B, B.shape + (sp.Integer(1),)), lo, up, origin)
    return P.reshape(x, x.shape[:-1])


def banded_sample(rng, shape):
    """Banded storage of diagonally dominant matrices with one superdiagonal (u = 1: the main diagonal is
    row 1, 3 + entries in [0, 1]; the others in [-0.5, 0.5]); right-hand sides in [-1, 1]."""
    x = rng.uniform(-0.5, 0.5, size=shape)
    if len(shape) == 2 and shape[0] >= 2 and shape[1] > 1:
        x[1] = 3.0 + rng.uniform(0.0, 1.0, size=shape[1])
    return x


def _banded_call(lu):
    return lambda f, ab, b: f(lu, ab, b)


solve_banded = _standin("solve_banded")
register(solve_banded, Entry("solve_banded", _solve_banded, form="call", sample=banded_sample, cases=(
    (((3, 5), (5,)), (("call", _banded_call((1, 1))),)), (((3, 5), (5, 2)), (("call", _banded_call((1, 1))),)),
    (((4, 5), (5, 2)), (("call", _banded_call((2, 1))),)), (((2, 4), (4,)), (("call", _banded_call((0, 1))),))),
    notes="scipy.linalg; in ab (LAPACK's banded storage: the band elements) and b; one matrix (no stacks)"))


def _standins() -> list:
    return [(linalg, name, globals()[name]) for name in NAMES]


patches.PROVIDERS.append(_standins)
