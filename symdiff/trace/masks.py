"""Boolean masks of traced values: ``x[m]`` and ``x[m] = v`` where ``m`` is traced (a bool argument,
or computed from traced values such as ``out < 0``).

``x[m]`` is a ``gather`` whose index item ``("mask", k, n)`` names the mask (its ``k``-th index
array) and ``n``, the number of True elements: a size known only at run time (the generated code
reads it as ``np.count_nonzero(m)``). Two gathers by the same mask (the same array, or the same
computation of it) share that size; a size known only at run time is never specialised, used as a
Python int or matched to another size: the tracer refuses those uses (see
:meth:`symdiff.trace.tracer.Trace.runtime_refusal`). ``x[m] = v`` with ``v`` that broadcasts
without the masked axis (a number, a row) keeps ``x``'s shape: it is ``np.where(m, v, x)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..errors import ShapeError, UnsupportedError, where
from ..ir import primitives as P
from ..ir.graph import Node
from ..ir.shapes import ONE
from .dispatch import as_node, call
from .tracer import current_trace, user_origin
from .values import Tracer

FULL = ("slice", None, None, None)


class Mask:
    """A traced boolean index (an item of ``x[...]`` before it is parsed)."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node


def is_mask_item(item: Any) -> bool:
    return isinstance(item, tuple) and item[0] == "mask"


def _key(node: Node, memo: dict[int, Any]) -> Any:
    """The computation of ``node`` (two ``x > 0`` of the same ``x`` are one mask)."""
    if id(node) not in memo:
        if node.op in ("input", "const") or node.op.startswith("random") or len(memo) > 200:  # (a draw: itself)
            memo[id(node)] = ("node", id(node))
        else:
            memo[id(node)] = (node.op, tuple(_key(i, memo) for i in node.inputs), node.params, node.expr,
                              node.shape, node.dtype)
    return memo[id(node)]


def mask_size(mask: Node) -> sp.Symbol:
    """The number of True elements of ``mask``: one symbol per mask of the trace, known only at run time."""
    trace = current_trace()
    table = trace.mask_sizes  # computation -> (size, mask node kept alive)
    key = _key(mask, {})
    if key in table:
        return table[key][0]
    base = f"count_{mask.param('name')}" if mask.op == "input" else "count"
    taken = {s.name for s in trace.runtime_sizes} | {s.name for s in trace.values}
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    size = sp.Symbol(name, integer=True, nonnegative=True)
    what = f"argument {mask.param('name')!r}" if mask.op == "input" else "a mask"
    trace.runtime_sizes[size] = f"how many elements of {what} are True"
    table[key] = (size, mask)
    # the size as a traced value (n = x[m].shape[0] used in arithmetic): np.count_nonzero(m)
    trace.runtime_counts[size] = call(np.count_nonzero, (Tracer(mask),), {}).node
    return size


def mask_item(mask: Node, shape: tuple, axis: int, position: int) -> tuple:
    """The index item of ``mask`` indexing ``shape[axis:]`` (its shape must be those axes')."""
    trace = current_trace()
    dims = shape[axis:axis + mask.ndim]
    if len(dims) != mask.ndim:
        raise UnsupportedError(f"{where(user_origin())}: a boolean index of {mask.ndim} dimensions for the "
                               f"{len(dims)} remaining axes")
    for d, e in zip(mask.shape, dims):
        if trace.resolve(d) == trace.resolve(e):
            continue
        if trace.value(d) is not None and trace.value(e) is not None and trace.value(d) != trace.value(e):
            raise ShapeError(f"{where(user_origin())}: boolean index of shape {tuple(mask.shape)} does not "
                             f"match the indexed axes of shape {tuple(dims)}")
        trace.unify(d, e)  # (a mask of another argument of the same size)
    return ("mask", position, mask_size(mask))


def check_items(items: list) -> None:
    """A mask may only be combined with basic items (slices, None, ...)."""
    masks = [i for i in items if is_mask_item(i)]
    others = [i for i in items if isinstance(i, int) or (isinstance(i, tuple) and i[0] == "array")]
    if masks and (len(masks) > 1 or others):
        raise UnsupportedError(f"{where(user_origin())}: a boolean mask of traced values combined with another "
                               "mask, an integer or an integer array in one index; index in two steps "
                               "(x[m][:, 0], x[m1][m2]), or combine the masks (x[m1 & m2])")


def assign(x: Node, items: tuple, arrays: list[Node], value: Node) -> Node | None:
    """``x[m] = value`` (``m`` possibly after full slices) as ``np.where(m, value, x)`` when the value
    broadcasts without the masked axis (a number, a row of the trailing axes, ``y[m]`` of a ``y`` of
    ``x``'s shape); None otherwise (the assignment is a ``setitem`` through the mask)."""
    positions = [k for k, i in enumerate(items) if is_mask_item(i)]
    if len(positions) != 1 or any(i != FULL for i in items if not is_mask_item(i)):
        return None
    k = positions[0]
    mask = arrays[items[k][1]]
    after = x.ndim - k - mask.ndim  # axes after the masked ones
    source = _gathered_by(value, items, arrays)
    if source is not None and tuple(source.shape) == tuple(x.shape):
        value = source  # x[m] = y[m]
    elif value.ndim > after:
        return None
    m = P.reshape(mask, tuple(mask.shape) + (ONE,) * after) if after else mask
    return call(np.where, (Tracer(m), Tracer(value), Tracer(x)), {}).node


def _gathered_by(value: Node, items: tuple, arrays: list[Node]) -> Node | None:
    """The array ``value`` was gathered from by the same index (``y`` of ``y[m]``), if it was."""
    if value.op != "gather" or len(value.inputs) != len(arrays) + 1:
        return None
    index = value.param("index")
    if len(index) != len(items) or any(is_mask_item(a) != is_mask_item(b) or (not is_mask_item(a) and a != b)
                                       for a, b in zip(index, items)):
        return None
    if any(is_mask_item(a) and a[2] != b[2] for a, b in zip(index, items)):
        return None
    return value.inputs[0]


def as_mask(a: Any, what: str) -> Tracer:
    """A traced operand as a boolean mask (nonzero numbers are True, as NumPy reads them)."""
    t = a if isinstance(a, Tracer) else Tracer(as_node(a))
    if t.node.dtype == "bool":
        return t
    if t.node.dtype != "int64":
        raise UnsupportedError(f"{where(user_origin())}: {what} of traced float values: which are nonzero "
                               "changes with the values and has no derivative; compare first (x > 0)")
    return call(np.not_equal, (t, 0), {})


def nonzero(a: Any, name: str = "np.nonzero") -> tuple[Tracer, ...]:
    """``np.nonzero(m)`` of a traced mask: one int64 array of positions per axis, of the run-time length
    ``np.count_nonzero(m)``."""
    m = as_mask(a, name)
    if not m.node.shape:
        raise UnsupportedError(f"{where(user_origin())}: {name} of a 0-d traced value; use np.where(c, a, b)")
    size = mask_size(m.node)
    trace = current_trace()
    return tuple(Tracer(trace.note(P.nonzero(m.node, axis, size, user_origin()))) for axis in range(m.ndim))
