"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.index`:
gathers, scatters, assignments and arg-reductions.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....ir.graph import Node
from .table import EMIT


def format_index(index: tuple, arrays: list[str]) -> str:
    """The index as NumPy code, ``arrays`` naming its index arrays."""
    parts = []
    for item in index:
        if item is None:
            parts.append("None")
        elif isinstance(item, tuple) and item[0] == "array":
            parts.append(arrays[item[1]])
        elif isinstance(item, tuple):
            start, stop, step = item[1:]
            s = f"{'' if start is None else start}:{'' if stop is None else stop}"
            parts.append(s + (f":{step}" if step not in (None, 1) else ""))
        else:
            parts.append(str(item))
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return ", ".join(parts) if parts else "..."


def _emit_gather(node: Node, a: list[str], p) -> str:
    return f"{p.paren(a[0], '[')}[{format_index(node.param('index'), a[1:])}]"


def _emit_scatter_add(node: Node, a: list[str], p) -> str:
    helper = "_scatter" if node.param("unique") else "_scatter_add"
    return p.helper_call_code(helper, [a[0], p.shape(node.shape), f"np.s_[{format_index(node.param('index'), a[1:])}]"])


def _emit_setitem(node: Node, a: list[str], p) -> str:
    return p.helper_call_code("_updated", [a[0], f"np.s_[{format_index(node.param('index'), a[2:])}]", a[1]])


def _emit_argreduce(node: Node, a: list[str], p) -> str:
    axis = node.param("axis")
    return f"np.{node.param('op')}({a[0]}{'' if axis is None else f', axis={axis}'})"


def _emit_arange(node: Node, a: list[str], p) -> str:
    return f"np.arange({p.size(node.shape[0])})"


EMIT.update({
    'arange': _emit_arange,
    'gather': _emit_gather,
    'scatter_add': _emit_scatter_add,
    'setitem': _emit_setitem,
    'argreduce': _emit_argreduce,
})
