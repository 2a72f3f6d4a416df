"""Indexing primitives beyond basic slicing: ``gather`` (integer-array and boolean-mask indexing),
its adjoint ``scatter_add``, and ``setitem`` (a copy of an array with some elements replaced, what
``a[i] = v`` means to the graph). Each: builder, vjp, emit and JVP rule under its banner.

An index is a tuple with one item per leading axis: an int, ``("slice", start, stop, step)``,
None, or ``("array", k)``: the integer array ``node.inputs[1 + k]`` (``node.inputs[2 + k]`` for
setitem), with NumPy's rules for where the broadcast index axes go. Index arrays are ``int64``
nodes, usually constants. ``("mask", k, n)`` is a boolean mask (``node.inputs[1 + k]``, traced)
over as many axes as it has, picking ``n`` elements: a size known only at run time, which the
generated code reads as ``np.count_nonzero`` of the mask (see :func:`mask_sizes`).
Registered into :data:`symdiff.ir.primitives.core.PRIMITIVES`.

>>> import numpy as np, sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> x = input_node("x", (sp.Integer(5),), 0)
>>> i = index_const(np.array([0, 3, 3]))
>>> g = gather(x, (("array", 0),), [i], (sp.Integer(3),))
>>> g.op, g.shape, scatter_is_unique(g.param("index"), [i])
('gather', (3,), False)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy as sp

from ..graph import ARG, ConstValue, Node, Origin, toposort
from .core import _grad, broadcast_to, defprim, elementwise, getitem, reshape
from .shape import _zeros
from ...errors import ShapeError
from ..shapes import Shape, broadcast_shapes

def index_const(array: np.ndarray) -> Node:
    """An integer index array as a constant node (kept ``int64``, unlike data constants)."""
    array = np.ascontiguousarray(array, dtype=np.int64)
    return Node("const", (), tuple(sp.Integer(d) for d in array.shape),
                params=(("value", ConstValue(array)),), dtype="int64")


def has_arrays(index: tuple) -> bool:
    return any(isinstance(i, tuple) and i[0] in ("array", "mask") for i in index)


#: The primitives whose index may hold masks, and where their index arrays start among the inputs.
_ARRAYS_FROM = {"gather": 1, "scatter_add": 1, "setitem": 2}


def mask_sizes(node: Node) -> list[tuple[sp.Symbol, Node]]:
    """The sizes known only at run time that ``node``'s index defines, each with its mask node."""
    if node.op == "nonzero":
        return [(node.shape[0], node.inputs[0])]
    start = _ARRAYS_FROM.get(node.op)
    if start is None:
        return []
    return [(item[2], node.inputs[start + item[1]]) for item in node.param("index")
            if isinstance(item, tuple) and item[0] == "mask"]


def unsourced_sizes(outputs: Sequence[Node], runtime: set) -> tuple[sp.Symbol, Node] | None:
    """A size of ``runtime`` (known only at run time) some node of the graph uses while no gather,
    scatter or assignment through its mask is in the graph (the code could not read it), with that
    node; None when every one is read from its mask."""
    order = toposort(outputs)
    sourced = {size for node in order for size, _ in mask_sizes(node)}
    for node in order:
        found = set().union(*(d.free_symbols for d in node.shape)) if node.shape else set()
        if node.expr is not None:
            found |= node.expr.free_symbols
        missing = (found & runtime) - sourced
        if missing:
            return sorted(missing, key=str)[0], node
    return None


def scatter_is_unique(index: tuple, arrays: Sequence[Node]) -> bool:
    """True when no element is named twice by the index (known only for constant index arrays; a
    mask names each element once)."""
    if any(isinstance(i, tuple) and i[0] == "mask" for i in index):
        return not any(isinstance(i, tuple) and i[0] == "array" for i in index)
    named = [arrays[item[1]] for item in index if isinstance(item, tuple) and item[0] == "array"]
    shapes = [tuple(n.shape) for n in named]
    if named and all(all(d.is_Integer for d in s) for s in shapes) and \
            int(np.prod(np.broadcast_shapes(*[tuple(int(d) for d in s) for s in shapes]))) <= 1:
        return True  # one element (x[np.argmax(x)] = 0)
    joint = _joint(shapes)
    if any(_distinct(n) and tuple(n.shape) == joint for n in named):
        return True  # x[np.arange(n), y] = 0: one array names each row once, whatever the others hold
    values = []
    for node in named:
        if node.op != "const":
            return False
        values.append(node.param("value").array)
    if not values:
        return True
    rows = np.stack([v.ravel() for v in np.broadcast_arrays(*values)], axis=-1)
    return len(np.unique(rows, axis=0)) == len(rows)


def _distinct(node: Node) -> bool:
    """Whether the index array ``node`` holds distinct positions (an arange, or such a constant)."""
    if node.op == "arange" or node.op == "nonzero" and node.inputs[0].ndim == 1:
        return True
    if node.op != "const":
        return False
    array = node.param("value").array
    return len(np.unique(array)) == array.size


def _joint(shapes: list[tuple]) -> tuple | None:
    try:
        return tuple(broadcast_shapes(*shapes))
    except ShapeError:
        return None


def _overlap(a: tuple, b: tuple, shape: Shape) -> str | None:
    """How two basic indices relate: "same" elements, "disjoint" ones, or None (can't tell cheaply)."""
    if has_arrays(a) or has_arrays(b) or None in a or None in b:
        return None
    if a == b:
        return "same"
    for axis, (i, j) in enumerate(zip(a, b)):
        dim = shape[axis]
        if not dim.is_Integer:
            continue
        axis_range = range(int(dim))
        picked = [{axis_range[k]} if isinstance(k, int) else set(axis_range[slice(*k[1:])]) for k in (i, j)]
        if not picked[0] & picked[1]:
            return "disjoint"
    return None


def take(x: Node, index: tuple, arrays: Sequence[Node], shape: Shape, origin: Origin | None = None) -> Node:
    """``x[index]``: basic indexing when the index has no arrays, else a gather. Reading what an
    assignment wrote gives the value assigned; reading elsewhere looks past the assignment."""
    while x.op == "setitem" and not arrays:
        relation = _overlap(x.param("index"), index, x.shape)
        if relation == "same" and x.inputs[1].shape == tuple(shape):
            return x.inputs[1]
        if relation != "disjoint":
            break
        x = x.inputs[0]
    if not has_arrays(index):
        return getitem(x, index, origin, shape=tuple(shape))
    return gather(x, index, arrays, shape, origin)


# ---------------------------------------------------------------- gather --------------------------

def gather(x: Node, index: tuple, arrays: Sequence[Node], shape: Shape, origin: Origin | None = None) -> Node:
    """``x[index]`` with integer index arrays; ``shape`` is the result's (the tracer computes it)."""
    return Node("gather", (x, *arrays), tuple(shape), params=(("index", index),), dtype=x.dtype, origin=origin)


def _vjp_gather(g: Node, node: Node) -> list[Node | None]:
    x, arrays = node.inputs[0], list(node.inputs[1:])
    placed = _placed(g, x.shape, node.param("index"), arrays, _grad(node))
    if placed is not None:
        return [placed] + [None] * len(arrays)
    return [scatter_add(g, x.shape, node.param("index"), arrays, _grad(node))] + [None] * len(arrays)


def _mask_form(index: tuple, arrays: Sequence[Node], ndim: int) -> tuple[Node, int] | None:
    """For an index of full slices and one mask: the mask and the number of axes after it."""
    masks = [k for k, i in enumerate(index) if isinstance(i, tuple) and i[0] == "mask"]
    if len(masks) != 1 or any(i != ("slice", None, None, None) for k, i in enumerate(index) if k != masks[0]):
        return None
    mask = arrays[index[masks[0]][1]]
    return mask, ndim - masks[0] - mask.ndim


def _with_axes(mask: Node, after: int) -> Node:
    return reshape(mask, tuple(mask.shape) + (sp.Integer(1),) * after) if after else mask


def _placed(g: Node, shape: Shape, index: tuple, arrays: Sequence[Node], origin: Origin | None) -> Node | None:
    """``np.where(m, v, 0)`` for the gradient of ``x[m]`` when ``g`` is ``v`` broadcast over the
    gathered axis (the gradient of a sum or a mean: every picked element gets ``v``); else None."""
    form = _mask_form(index, arrays, len(shape))
    if form is None or g.op != "broadcast_to" or g.inputs[0].ndim > form[1]:
        return None
    size = next(i[2] for i in index if isinstance(i, tuple) and i[0] == "mask")
    if unsourced_sizes([g.inputs[0]], {size}) is not None:
        return None  # (v is 1 / n of np.mean: the gather's scatter is where the code reads n)
    mask = _with_axes(*form)
    return elementwise(sp.Piecewise((ARG[1], sp.Ne(ARG[0], 0)), (0, True)), (mask, g.inputs[0]), tuple(shape),
                       origin)


defprim("gather", _vjp_gather)


# ---------------------------------------------------------------- scatter_add ---------------------

def scatter_add(g: Node, shape: Shape, index: tuple, arrays: Sequence[Node], origin: Origin | None = None) -> Node:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated elements add up)."""
    unique = scatter_is_unique(index, arrays)
    return Node("scatter_add", (g, *arrays), tuple(shape), params=(("index", index), ("unique", unique)),
                dtype=g.dtype, origin=origin)


def _vjp_scatter_add(g: Node, node: Node) -> list[Node | None]:
    arrays = list(node.inputs[1:])
    return [gather(g, node.param("index"), arrays, node.inputs[0].shape, _grad(node))] + [None] * len(arrays)


defprim("scatter_add", _vjp_scatter_add)


# ---------------------------------------------------------------- setitem -------------------------

def setitem(base: Node, value: Node, index: tuple, arrays: Sequence[Node], region: Shape,
            origin: Origin | None = None) -> Node:
    """A copy of ``base`` with ``base[index]`` (of shape ``region``) replaced by ``value``."""
    if value.shape != tuple(region):
        value = broadcast_to(value, tuple(region))
    dtype = base.dtype if base.dtype != "bool" else value.dtype
    return Node("setitem", (base, value, *arrays), base.shape, params=(("index", index),), dtype=dtype,
                origin=origin)


def _vjp_setitem(g: Node, node: Node) -> list[Node | None]:
    value, arrays = node.inputs[1], list(node.inputs[2:])
    index, origin = node.param("index"), _grad(node)
    base = _masked_out(g, index, arrays, origin)
    if base is None:
        base = setitem(g, _zeros(value.shape, g.dtype), index, arrays, value.shape, origin)
    return [base, take(g, index, arrays, value.shape, origin)] + [None] * len(arrays)


def _masked_out(g: Node, index: tuple, arrays: Sequence[Node], origin: Origin | None) -> Node | None:
    """``np.where(m, 0, g)`` for ``x[m] = v`` (``m`` a mask after full slices): the gradient of ``x``
    is zero where it was replaced; None for other indices."""
    form = _mask_form(index, arrays, g.ndim)
    if form is None:
        return None
    return elementwise(sp.Piecewise((0, sp.Ne(ARG[1], 0)), (ARG[0], True)), (g, _with_axes(*form)), g.shape, origin)


defprim("setitem", _vjp_setitem)


# ---------------------------------------------------------------- argmax / argmin ----------------

def argreduce(op: str, x: Node, axis: int | None, shape: Shape, origin: Origin | None = None) -> Node:
    """``np.argmax``/``np.argmin`` (``op``) of ``x`` along ``axis`` (None: of the flattened array):
    integer positions, constant almost everywhere, so no derivative flows through them."""
    return Node("argreduce", (x,), tuple(shape), params=(("op", op), ("axis", axis)), dtype="int64", origin=origin)


defprim("argreduce", lambda g, n: [None])


# ---------------------------------------------------------------- arange --------------------------

def arange(n: sp.Expr, origin: Origin | None = None) -> Node:
    """``np.arange(n)`` of a size known only at run time: the int64 positions 0..n-1 (an index)."""
    return Node("arange", (), (n,), dtype="int64", origin=origin)


defprim("arange", None)  # a leaf, as constants are


# ---------------------------------------------------------------- nonzero -------------------------

def nonzero(mask: Node, axis: int, size: sp.Symbol, origin: Origin | None = None) -> Node:
    """``np.nonzero(mask)[axis]``: the positions along ``axis`` of the ``size`` True elements of a
    traced mask (``size`` known only at run time); integers, so no derivative flows through them."""
    return Node("nonzero", (mask,), (size,), params=(("axis", axis),), dtype="int64", origin=origin)


defprim("nonzero", lambda g, n: [None])


# ---------------------------------------------------------------- forward mode --------------------

def _jvp_gather(node: Node, tangents: list, batch: Shape) -> Node:
    return gather(tangents[0], node.param("index"), list(node.inputs[1:]), node.shape + tuple(batch), node.origin)


def _jvp_scatter_add(node: Node, tangents: list, batch: Shape) -> Node:
    return scatter_add(tangents[0], node.shape + tuple(batch), node.param("index"), list(node.inputs[1:]),
                       node.origin)


def _jvp_setitem(node: Node, tangents: list, batch: Shape) -> Node:
    base, value = node.inputs[0], node.inputs[1]
    tb, tv = tangents[0], tangents[1]
    tb = tb if tb is not None else _zeros(base.shape + tuple(batch), node.dtype)
    tv = tv if tv is not None else _zeros(value.shape + tuple(batch), node.dtype)
    return setitem(tb, tv, node.param("index"), list(node.inputs[2:]), value.shape + tuple(batch), node.origin)


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("gather")(_jvp_gather)
    defjvp("scatter_add")(_jvp_scatter_add)
    defjvp("setitem")(_jvp_setitem)
    defjvp("argreduce")(lambda node, tangents, batch: None)
    defjvp("arange")(lambda node, tangents, batch: None)
    defjvp("nonzero")(lambda node, tangents, batch: None)
