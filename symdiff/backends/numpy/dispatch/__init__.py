"""How the NumPy backend prints each primitive, one module per op family (as in
:mod:`symdiff.ir.primitives`), all registered into :data:`table.EMIT`. A new backend is a new folder
with its own table; adding one never touches a primitive."""
from . import core, decompositions, index, linalg, loop, matfuncs, matrix, ode, random, rewrites, shape  # noqa: F401  (each registers)
from . import checkpoint  # noqa: F401  (after loop: it prints a gradient's loops with checkpoint=)
from .table import EMIT, PARTS  # noqa: F401
