"""Indexing traced arrays: ``x[index]`` and ``a[index] = value``, read the way NumPy reads them.

Basic items (ints, slices, None, ...) keep symbolic sizes; integer arrays and boolean masks known
at trace time (constants, ``np.triu_indices(n)``, ``mask = d > 0`` on constant data) become a
``gather``; a traced mask (a bool argument, ``out < 0``) gathers as many elements as it has True
ones, a size known only at run time (see :mod:`symdiff.trace.masks`). Assignment is functional: the Tracer's node
is replaced by a ``setitem`` node (a copy with the elements replaced), so every alias of that
Tracer sees the new values, as with NumPy; writing through a view is refused (see
:mod:`symdiff.trace.values`).
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import sympy as sp

from ..ir import primitives as P
from ..errors import ShapeError, UnsupportedError, where
from ..ir.graph import Node
from ..ir.primitives.index import index_const, scatter_is_unique
from ..ir.shapes import ONE, broadcast_shapes
from .dispatch import as_node
from .tracer import current_trace, user_origin
from . import masks, values
from .masks import Mask, is_mask_item
from .values import Size, Tracer


def _here() -> str:
    return where(user_origin())


def _is_array_item(item: Any) -> bool:
    return isinstance(item, tuple) and item[0] in ("array", "mask")


def _item_axes(item: Any, arrays: list[Node]) -> int:
    """How many axes of the indexed array an item of the parsed index consumes."""
    return arrays[item[1]].ndim if is_mask_item(item) else 1


def parse(x: Tracer, index: Any) -> tuple[tuple, list[Node], tuple]:
    """The index as primitive items (see :mod:`symdiff.ir.primitives.index`), its index-array nodes and
    the result's shape."""
    trace = current_trace()
    items = list(index) if isinstance(index, tuple) else [index]
    items = [_item(i) for i in items]
    n_axes = sum(i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else i.node.ndim if isinstance(i, Mask)
                 else (0 if i is None or i is Ellipsis else 1) for i in items)
    if n_axes > x.ndim:
        raise ShapeError(f"{_here()}: too many indices ({n_axes}) for an array of {x.ndim} dimensions")
    out: list[Any] = []
    arrays: list[Node] = []
    axis = 0
    for item in items:
        if item is Ellipsis:
            out.extend(("slice", None, None, None) for _ in range(x.ndim - n_axes))
            axis += x.ndim - n_axes
        elif item is None:
            out.append(None)
        elif isinstance(item, slice):
            out.append(("slice",) + tuple(None if v is None else int(v) for v in (item.start, item.stop, item.step)))
            axis += 1
        elif isinstance(item, int):
            _check_int(trace, item, x.node.shape[axis], axis)
            out.append(item)
            axis += 1
        elif isinstance(item, np.ndarray) and item.dtype == bool:
            dims = [trace.concrete(d, "the size of an axis indexed by a boolean mask") for d in
                    x.node.shape[axis:axis + item.ndim]]
            if list(item.shape) != dims:
                raise ShapeError(f"{_here()}: boolean index of shape {item.shape} does not match the indexed "
                                 f"axes of size {tuple(dims)}")
            for positions in item.nonzero():
                out.append(("array", len(arrays)))
                arrays.append(index_const(positions))
            axis += item.ndim
        elif isinstance(item, Mask):  # a traced mask: as many elements as it has True ones
            out.append(masks.mask_item(item.node, x.node.shape, axis, len(arrays)))
            arrays.append(item.node)
            axis += item.node.ndim
        else:  # an integer array: constant (np.ndarray) or traced (np.argmax of a traced array)
            if isinstance(item, np.ndarray):
                size = trace.concrete(x.node.shape[axis], "the size of an axis indexed by an integer array")
                if item.size and not (-size <= item.min() and item.max() < size):
                    raise ShapeError(f"{_here()}: index {item.max() if item.max() >= size else item.min()} is "
                                     f"out of bounds for axis {axis} with size {size}")
                item = index_const(np.where(item < 0, item + size, item))  # -1 and size-1: one element
            out.append(("array", len(arrays)))
            arrays.append(item)
            axis += 1
    masks.check_items(out)
    return tuple(out), arrays, _shape(trace, x.node.shape, out, arrays)


def _item(item: Any) -> Any:
    """One index item in a normal form: int, slice, None, Ellipsis, np.ndarray, or an int64 Node."""
    if isinstance(item, Tracer):
        if item.node.op == "const":
            item = item.node.param("value").array
        elif item.node.dtype == "int64":
            return item.checked()
        elif item.node.dtype == "bool":
            if not item.node.shape:
                raise UnsupportedError(f"{_here()}: indexing with a single traced boolean is not supported; "
                                       "use np.where(condition, x, 0)")
            return Mask(item.checked())
        else:
            value = item._sizes_only()
            if value is None:
                raise UnsupportedError(f"{_here()}: an index computed from traced float values; indices must be "
                                       "integers known at trace time (or np.argmax/np.argmin of an array)")
            return int(value)
    if isinstance(item, (bool, np.bool_)):
        raise UnsupportedError(f"{_here()}: indexing with a single boolean is not supported; use None to add an axis")
    if isinstance(item, (numbers.Integral, np.integer, Size)):
        return int(item)
    if item is None or item is Ellipsis or isinstance(item, slice):
        return item
    if isinstance(item, (list, tuple, np.ndarray, range)):  # range(n): the positions 0..n-1, as NumPy reads it
        arr = np.asarray(item)
        if arr.dtype == bool or arr.dtype.kind in "iu":
            return arr
        raise UnsupportedError(f"{_here()}: index arrays must hold integers or booleans, not {arr.dtype}")
    raise UnsupportedError(f"{_here()}: indexing with {type(item).__name__} is not supported; use ints, slices, "
                           "None, ..., integer arrays or boolean masks known at trace time")


def _check_int(trace, item: int, dim: sp.Expr, axis: int) -> None:
    size = int(dim) if dim.is_Integer else trace.value(dim)
    if size is not None and not -size <= item < size:
        raise ShapeError(f"{_here()}: index {item} is out of bounds for axis {axis} with size {size}")


def _shape(trace, shape: tuple, out: list, arrays: list[Node]) -> tuple:
    """NumPy's result shape: basic items as usual; the index arrays broadcast together, their axes
    in place of the first one if all advanced items (arrays and, with them, ints) are adjacent,
    else first."""
    advanced = any(_is_array_item(i) for i in out)
    is_adv = [advanced and (_is_array_item(i) or isinstance(i, int)) for i in out]
    positions = [k for k, a in enumerate(is_adv) if a]
    together = positions == list(range(positions[0], positions[-1] + 1)) if positions else True
    adv_shape = broadcast_shapes(*((i[2],) if is_mask_item(i) else arrays[i[1]].shape
                                   for i in out if _is_array_item(i))) if advanced else ()
    dims: list[sp.Expr] = []
    axis = 0
    placed = False
    for item, adv in zip(out, is_adv):
        if item is None:
            dims.append(ONE)
            continue
        if adv:
            if together and not placed:
                dims.extend(adv_shape)
                placed = True
        elif isinstance(item, tuple):
            dims.append(_checked_slice_length(trace, shape[axis], item[1:]))
        axis += _item_axes(item, arrays)
    dims.extend(shape[axis:])
    return tuple(adv_shape) + tuple(dims) if advanced and not together else tuple(dims)


def _checked_slice_length(trace, dim: sp.Expr, bounds: tuple) -> sp.Expr:
    """The slice's length as a formula in the axis size where that formula is right for the traced
    size, else its value (specialising the size)."""
    if bounds != (None, None, None) and trace.runtime_sizes and trace._runtime(trace.resolve(dim)):
        raise trace.runtime_refusal(trace.resolve(dim), f"sliced ({slice(*bounds)})")
    formula = P.slice_length(trace.resolve(dim), *bounds)
    value = trace.value(dim)
    if value is None:
        if formula is None:
            raise UnsupportedError(f"{_here()}: slice {slice(*bounds)} of an axis of symbolic size {dim}; "
                                   "give a concrete size for this axis")
        return formula
    actual = len(range(*slice(*bounds).indices(value)))
    if formula is not None and trace.value(formula) == actual and actual > 0:
        return formula
    trace.concrete(dim)
    return sp.Integer(actual)


def getitem(x: Tracer, index: Any) -> Tracer:
    """``x[index]``; a view of ``x`` for basic indices (as in NumPy), a new array for index arrays."""
    items, arrays, shape = parse(x, index)
    node = P.take(x.checked(), items, arrays, shape, user_origin())
    view = not arrays and len(shape) > 0  # NumPy: basic indexing gives a view, unless it picks one element
    return Tracer(current_trace().note(node), base=x if view else None)


def setitem(x: Tracer, index: Any, value: Any) -> Node:
    """The node ``x`` becomes after ``x[index] = value``."""
    items, arrays, region = parse(x, index)
    if any(is_mask_item(i) for i in items):
        where_form = masks.assign(x.checked(), items, arrays, _value_node(x, value))
        if where_form is not None:
            return current_trace().note(where_form)
    if arrays and not scatter_is_unique(items, arrays):
        raise UnsupportedError(f"{_here()}: assignment through an index that names an element twice (NumPy "
                               "keeps the last value); make the indices distinct, or add the values up first")
    v = _value_node(x, value)
    try:
        joint = broadcast_shapes(v.shape, tuple(region))  # unifies sizes that must be equal
    except ShapeError:
        raise ShapeError(f"{_here()}: could not broadcast a value of shape {v.shape} into the indexed shape "
                         f"{tuple(region)}") from None
    trace = current_trace()
    if [trace.resolve(d) for d in joint] != [trace.resolve(d) for d in region]:
        raise ShapeError(f"{_here()}: a value of shape {v.shape} does not fit the indexed shape {tuple(region)}")
    if [trace.resolve(d) for d in v.shape] == [trace.resolve(d) for d in region]:
        region = tuple(v.shape)  # the same sizes (unified above): no broadcast
    return current_trace().note(P.setitem(x.checked(), v, items, arrays, region, user_origin()))


def _value_node(x: Tracer, value: Any) -> Node:
    v = as_node(value)
    if x.node.dtype in ("int64", "bool") and v.dtype not in ("int64", "bool"):
        raise UnsupportedError(f"{_here()}: assigning a traced float value into an array of {x.node.dtype}: NumPy "
                               "would truncate it; create the array as float (np.zeros(n)) instead")
    return v


values.INDEXING.update(getitem=getitem, setitem=setitem)  # what x[i] and x[i] = v call
