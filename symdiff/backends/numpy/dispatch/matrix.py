"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.matrix`: inverses, determinants, solves and
pseudo-inverses.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....escape import literal
from ....ir.graph import Node
from .table import EMIT


MATRIX_FUNCTIONS = {"inv": "np.linalg.inv({})", "det": "np.linalg.det({})", "logabsdet": "np.linalg.slogdet({})[1]",
        "signdet": "np.linalg.slogdet({})[0]"}


def _emit_pinv(node: Node, a: list[str], p) -> str:
    rcond = node.param("rcond")
    return f"np.linalg.pinv({a[0]})" if rcond is None else f"np.linalg.pinv({a[0]}, rcond={literal(rcond)})"


EMIT.update({
    'pinv': _emit_pinv,
    'matrix_fn': lambda n, a, p: (f"scipy.linalg.{n.param('fn')}({a[0]})" if n.param("call") == "scipy" else
                                  MATRIX_FUNCTIONS[n.param("fn")].format(a[0])),
    'solve': lambda n, a, p: f"np.linalg.solve({a[0]}, {a[1]})",
})
