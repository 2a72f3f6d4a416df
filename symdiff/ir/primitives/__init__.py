"""Tensor-level primitives, one module per family: ``core`` (leaves, elementwise, broadcasting,
reductions, reshapes), ``shape`` (slices, concatenation, flips, cumulative
sums), ``index`` (gathers, scatters, assignment), ``linalg`` (matmul, einsum, diagonals, bands),
``matrix`` (inverse, determinants, solves, pinv), ``decompositions`` (Cholesky, triangular solves,
eigh, svd, qr), ``solvers`` (scipy.linalg.solve, the LU pair, Sylvester equations) and ``matfuncs``
(expm, logm, sqrtm, eig, lstsq), ``banded_solve`` (scipy.linalg.solve_banded and its band helpers).
Each primitive has its shape rule and its vjp rule.
This package re-exports them all: import primitives from here."""

from .core import (  # noqa: F401
    Vjp, Primitive, PRIMITIVES, defprim, input_node, const_node, elementwise, scalar,
    broadcast_to, unbroadcast, reduce, transpose, swapaxes, reshape, expand_dims, squeeze, getitem,
    slice_length, full_like, stop_gradient, copy)
from .shape import (  # noqa: F401
    concatenate, slice_axis, flip, roll, cumsum)
from .index import (  # noqa: F401
    index_const, has_arrays, scatter_is_unique, take, gather, scatter_add, setitem,
    argreduce, arange, nonzero)
from .linalg import (  # noqa: F401
    matmul, outer, reshape_like, einsum, diagonal, diag_embed, banded, band_rows)
from .matrix import (  # noqa: F401
    matrix_fn, solve, pinv)
from .decompositions import (  # noqa: F401
    tri_mask, cholesky, solve_triangular, eigh, svd, qr)
from .solvers import (  # noqa: F401
    linsolve, lu_factor, lu_solve, cho_solve, sylvester, block_diag, refused)
from .matfuncs import (  # noqa: F401
    MATFUNCS, matfunc, eig, lstsq)
from .banded_solve import (  # noqa: F401
    solve_banded, band_transpose, band_matvec, band_outer)
