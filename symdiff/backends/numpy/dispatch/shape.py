"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.shape`:
concatenation, slices along an axis, flips, rolls, cumulative sums.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from __future__ import annotations
from ....ir.graph import Node
from .table import EMIT


def _emit_concatenate(node: Node, a: list[str], p) -> str:
    axis = node.param("axis")
    return f"np.concatenate([{', '.join(a)}]{'' if axis == 0 else f', axis={axis}'})"


def _emit_slice_axis(node: Node, a: list[str], p) -> str:
    axis, start, stop = node.param("axis"), node.param("start"), node.param("stop")
    end = "" if stop == node.inputs[0].shape[axis] else p.size(stop)
    cut = f"{'' if start == 0 else p.size(start)}:{end}"
    return f"{p.paren(a[0], '[')}[{', '.join([':'] * axis + [cut])}]"


def _emit_flip(node: Node, a: list[str], p) -> str:
    axes = node.param("axes")
    if axes == (0,):
        return f"{p.paren(a[0], '[')}[::-1]"
    return f"np.flip({a[0]}, {axes[0] if len(axes) == 1 else axes})"


def _emit_roll(node: Node, a: list[str], p) -> str:
    shift, axis = node.param("shift"), node.param("axis")
    if len(shift) == 1:
        return f"np.roll({a[0]}, {shift[0]}, {axis[0]})"
    return f"np.roll({a[0]}, {shift}, {axis})"


def _emit_cumsum(n: Node, a: list[str], p) -> str:
    counts = ", dtype=float" if n.inputs[0].dtype == "bool" else ""  # 0/1 counts as float64 data
    return f"np.cumsum({a[0]}, axis={n.param('axis')}{counts})"


EMIT.update({
    'concatenate': _emit_concatenate,
    'slice_axis': _emit_slice_axis,
    'flip': _emit_flip,
    'roll': _emit_roll,
    'cumsum': _emit_cumsum,
})
