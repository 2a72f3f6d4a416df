"""NumPy code of the random draws of :mod:`symdiff.ir.primitives.random`: the same calls as the user's,
in the user's order (``np.random.seed(3)``, ``np.random.default_rng(0)``, ``rng.standard_normal(...)``)."""
from __future__ import annotations

from typing import Any

from ....ir.graph import Node
from .table import EMIT


def _emit_source(node: Node, a: list[str], p) -> Any:
    args = ", ".join(node.param("args"))
    if node.param("kind") == "argument":  # a generator passed as an argument: its parameter's name
        return node.param("args")[0]
    if node.param("kind") == "seed":
        return [f"np.random.seed({args})"]  # a statement: it has no value
    return f"np.random.{node.param('kind')}({args})"


def _emit_draw(node: Node, a: list[str], p) -> str:
    receiver = a[0] if node.param("receiver") else "np.random"
    first = int(node.param("receiver")) + int(node.param("after"))
    parts = []
    for keyword, kind, value in node.param("args"):
        if kind == "code":
            code = value
        elif kind == "size":
            code = p.size(value)
        elif kind == "shape":
            code = p.shape(value)
        else:
            code = a[first + value]
        parts.append(code if keyword is None else f"{keyword}={code}")
    return f"{p.paren(receiver, '.')}.{node.param('method')}({', '.join(parts)})"


EMIT.update({
    "random_source": _emit_source,
    "random_draw": _emit_draw,
    "random_after": lambda n, a, p: a[0],
})
