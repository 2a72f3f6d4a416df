"""The registry of NumPy functions, one module per NumPy namespace or function family.

Each entry says how a NumPy function builds graph nodes from traced arguments and the domain it is
tested on: ``core`` (ufuncs, where, clip and the registry itself), ``reductions``, ``shape``
(reshaping, joining, indexing helpers), ``gathers``
(``np.take``, ``np.take_along_axis``), ``contractions`` (einsum, tensordot, inner, vdot, outer, kron,
cross) and ``linalg`` (matmul, dot, diagonals and ``np.linalg``). Adding a
NumPy function means adding an entry here; it may import :mod:`symdiff.trace` and :mod:`symdiff.ir`.
"""
from . import (assembly, booleans, contractions, core, decompositions, gathers, linalg, piecewise, reductions,  # noqa: F401,E402
               shape, signal, standins, statistics)  # (each registers its entries)
