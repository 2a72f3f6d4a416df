"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.shape`:
concatenation, slices along an axis, flips, rolls, cumulative sums.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....ir.graph import Node
from .table import EMIT, Emit


def emit_concatenate(function: str) -> Emit:
    """``function([a, b], axis=k)``: ``np.concatenate`` here, ``xp.concat`` in the array API backend."""
    def emit(node: Node, a: list[str], p) -> str:
        axis = node.param("axis")
        return f"{function}([{', '.join(a)}]{'' if axis == 0 else f', axis={axis}'})"
    return emit


def emit_slice_axis(every_axis: bool = False) -> Emit:
    """``a[:, start:stop]``; ``every_axis``: ``...`` for the axes after it (as the array API standard
    wants every axis indexed)."""
    def emit(node: Node, a: list[str], p) -> str:
        axis, start, stop = node.param("axis"), node.param("start"), node.param("stop")
        x = node.inputs[0]
        end = "" if stop == x.shape[axis] else p.size(stop)
        parts = [":"] * axis + [f"{'' if start == 0 else p.size(start)}:{end}"]
        parts += ["..."] if every_axis and axis < x.ndim - 1 else []
        return f"{p.paren(a[0], '[')}[{', '.join(parts)}]"
    return emit


def emit_roll(ns: str, keyword: bool = False) -> Emit:
    """``ns.roll(a, shift, axis)`` (``keyword``: ``axis=`` by name, as the standard has it)."""
    def emit(node: Node, a: list[str], p) -> str:
        shift, axis = node.param("shift"), node.param("axis")
        name = "axis=" if keyword else ""
        if len(shift) == 1:
            return f"{ns}.roll({a[0]}, {shift[0]}, {name}{axis[0]})"
        return f"{ns}.roll({a[0]}, {tuple(shift)}, {name}{tuple(axis)})"
    return emit


def _emit_flip(node: Node, a: list[str], p) -> str:
    axes = node.param("axes")
    if axes == (0,):
        return f"{p.paren(a[0], '[')}[::-1]"
    return f"np.flip({a[0]}, {axes[0] if len(axes) == 1 else axes})"


def _emit_cumsum(n: Node, a: list[str], p) -> str:
    counts = ", dtype=float" if n.inputs[0].dtype == "bool" else ""  # 0/1 counts as float64 data
    return f"np.cumsum({a[0]}, axis={n.param('axis')}{counts})"


EMIT.update({
    'concatenate': emit_concatenate("np.concatenate"),
    'slice_axis': emit_slice_axis(),
    'flip': _emit_flip,
    'roll': emit_roll("np"),
    'cumsum': _emit_cumsum,
})
