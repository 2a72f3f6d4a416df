"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.matrix`: inverses, determinants and solves.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from __future__ import annotations
from .table import EMIT


MATRIX_FUNCTIONS = {"inv": "np.linalg.inv({})", "det": "np.linalg.det({})", "logabsdet": "np.linalg.slogdet({})[1]",
        "signdet": "np.linalg.slogdet({})[0]"}


EMIT.update({
    'matrix_fn': lambda n, a, p: MATRIX_FUNCTIONS[n.param("fn")].format(a[0]),
    'solve': lambda n, a, p: f"np.linalg.solve({a[0]}, {a[1]})",
})
