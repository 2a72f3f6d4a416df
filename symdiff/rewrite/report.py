"""The report of the current compilation (what was rewritten, simplified or skipped; shown by
``.graph``) and the helper every rewrite uses to put a new elementwise node where an old one stood."""
from __future__ import annotations

from contextvars import ContextVar

import sympy as sp

from ..ir.graph import Node
from ..ir.primitives import elementwise

#: The lines of the current compilation's report (None outside a compilation).
REPORT: ContextVar[list[str] | None] = ContextVar("symdiff_simplify_report", default=None)


def note(line: str) -> None:
    """Add a line to the simplification report of the current compilation (shown by ``.graph``)."""
    report = REPORT.get()
    if report is not None:
        report.append(line)


def replacement(node: Node, expr: sp.Expr, inputs) -> Node:
    """An elementwise node computing ``expr`` where ``node`` stood (same shape, dtype, name, origin)."""
    return elementwise(expr, inputs, shape=node.shape, origin=node.origin, dtype=node.dtype, name=node.name)
