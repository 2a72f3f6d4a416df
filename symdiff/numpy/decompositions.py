"""Registry entries (see :mod:`symdiff.numpy.core`): decompositions of ``np.linalg`` (the Cholesky
factor), batched over leading axes. The rules are in :mod:`symdiff.ir.primitives.decompositions`.
"""
from __future__ import annotations

import numpy as np

from ..ir import primitives as P
from .core import Case, Entry, as_node, register


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
