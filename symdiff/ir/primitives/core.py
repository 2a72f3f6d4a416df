"""Tensor-level primitives: how each builds its node (shape rule), differentiates, and prints.

Everything about one primitive stands together, under its banner. ``vjp(g, node)`` returns, for
each input, the contribution of the output adjoint ``g`` to that input's adjoint (``None`` for
none), with the *output's* broadcasting left in: :func:`unbroadcast` undoes it in one place.
``emit(node, args, printer)`` returns the NumPy expression computing the node from its arguments'
code.

>>> import sympy as sp
>>> x = input_node("x", (sp.Integer(2), sp.Integer(3)), 0)
>>> reduce("sum", x, axis=0).shape
(3,)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from ..booleans import booleans_as_numbers, counted_dtype
from ..domain import composed_requirements, derivative, keep_domain
from ...errors import ShapeError
from ..graph import ARG, ConstValue, Node, Origin, arg_index
from ..shapes import ONE, Shape, broadcast_shapes, is_one, normalize_axes, size_of
from ..templates import by_structure, rename

Vjp = Callable[[Node, Node], Sequence[Node | None]]


@dataclass(frozen=True)
class Primitive:
    name: str
    vjp: Vjp | None  # None: no inputs to differentiate (leaves)
    linear: bool = False  # the primitive is linear in its (single) input


PRIMITIVES: dict[str, Primitive] = {}


def defprim(name: str, vjp: Vjp | None, linear: bool = False) -> None:
    PRIMITIVES[name] = Primitive(name, vjp, linear)


def _dtype(*nodes: Node) -> str:
    return _result_type(tuple(n.dtype for n in nodes if n.dtype != "bool"))


@functools.lru_cache(maxsize=256)
def _result_type(dtypes: tuple[str, ...]) -> str:
    return str(np.result_type(*dtypes)) if dtypes else "float64"


def _integer_valued(e: sp.Expr) -> bool:
    """True when ``e`` of integer inputs is integer in NumPy too: sums, products with integer
    coefficients, non-negative integer powers, abs, max, min and choices between such values."""
    if e.is_Symbol or e.is_Integer:
        return True
    if e.is_Add or e.is_Mul or isinstance(e, (sp.Abs, sp.Max, sp.Min)):
        return all(_integer_valued(a) for a in e.args)
    if e.is_Pow:
        return _integer_valued(e.base) and e.exp.is_Integer and e.exp >= 0
    if isinstance(e, sp.Piecewise):
        return all(_integer_valued(v) for v, _ in e.args)
    return False


# ---------------------------------------------------------------- leaves --------------------------

def input_node(name: str, shape: Shape, index: int, dtype: str = "float64") -> Node:
    return Node("input", (), tuple(shape), params=(("name", name), ("index", index)), dtype=dtype, name=name)


def const_node(array: np.ndarray) -> Node:
    array = np.asarray(array)
    if array.dtype.kind in "iu":  # integer constants are float64 data (and so is their gradient)
        array = array.astype(np.float64)
    dtype = "bool" if array.dtype == bool else str(array.dtype)
    shape = tuple(sp.Integer(d) for d in array.shape)
    return Node("const", (), shape, params=(("value", ConstValue(array)),), dtype=dtype)


defprim("input", None)
defprim("const", None)


# ---------------------------------------------------------------- elementwise ---------------------

def elementwise(expr: sp.Expr, inputs: Sequence[Node], shape: Shape | None = None,
                origin: Origin | None = None, dtype: str | None = None, name: str | None = None) -> Node:
    """An elementwise node computing ``expr`` (over ``ARG[i]`` for ``inputs[i]``), normalised:
    unused inputs dropped, repeated inputs merged, and an explicit broadcast kept when ``shape`` is
    larger than the inputs' broadcast shape."""
    expr = sp.sympify(expr)
    used = sorted(k for k in (arg_index(s) for s in expr.free_symbols) if k is not None)
    kept: list[Node] = []
    remap: dict[sp.Symbol, sp.Symbol] = {}
    for i in used:
        node = inputs[i]
        j = next((k for k, n in enumerate(kept) if n is node), None)
        if j is None:
            kept.append(node)
            j = len(kept) - 1
        remap[ARG[i]] = ARG[j]
    merged = len(kept) != len(used)
    remap = {k: v for k, v in remap.items() if k is not v}  # (SymPy rebuilds, and evaluates, what it maps to itself)
    if remap:
        expr = _merged(expr, tuple(remap.items())) if merged else rename(expr, remap)
    if merged and len(expr.free_symbols & set(ARG)) < len(kept):
        # merging repeated inputs cancelled some (x - x): normalise again
        return elementwise(expr, kept, shape=shape or broadcast_shapes(*(n.shape for n in kept)),
                           origin=origin, dtype=dtype, name=name)
    truth = isinstance(expr, sp.logic.boolalg.Boolean) and not isinstance(expr, sp.Expr)  # a Symbol is Boolean too
    if not truth:
        expr = booleans_as_numbers(expr, kept)
    out_dtype = dtype or ("bool" if truth else _dtype(*kept))
    if out_dtype == "int64" and not _integer_valued(expr):  # y / 4, np.exp(y) of int64 data: float64, as NumPy
        out_dtype = "float64"
    natural = broadcast_shapes(*(n.shape for n in kept))
    if len(kept) == 1 and expr == ARG[0] and shape in (None, natural):
        return kept[0]
    node = Node("elementwise", tuple(kept), natural, expr=expr, dtype=out_dtype, origin=origin, name=name)
    if shape is not None and tuple(shape) != natural:
        node = broadcast_to(node, shape)
    return node


@by_structure
def _merged(expr: sp.Expr, remap: tuple[tuple[sp.Symbol, sp.Symbol], ...]) -> sp.Expr:
    """``expr`` with the placeholders of repeated inputs made one (``x - x`` cancels, so SymPy evaluates
    it again; its domain kept), once per structure (see :mod:`symdiff.ir.templates`)."""
    mapping = dict(remap)
    return keep_domain(composed_requirements(expr, mapping), expr.xreplace(mapping))


def scalar(value, dtype: str = "float64") -> Node:
    return Node("elementwise", (), (), expr=sp.sympify(value), dtype=dtype)


def _vjp_elementwise(g: Node, node: Node) -> list[Node | None]:
    """Adjoints of the inputs; none through a boolean node (a comparison or logic: piecewise constant,
    gradient 0 almost everywhere, so a boolean-valued function has a zero gradient)."""
    if node.dtype == "bool":
        return [None] * len(node.inputs)
    out: list[Node | None] = []
    for i, inp in enumerate(node.inputs):
        if inp.dtype == "bool":
            out.append(None)
            continue
        k = len(node.inputs)
        adjoint = _adjoint(node.expr, ARG[i], ARG[k])
        if adjoint == 0:
            out.append(None)
            continue
        out.append(elementwise(adjoint, (*node.inputs, g), shape=node.shape, origin=_grad(node)))
    return out


@by_structure
def _adjoint(expr: sp.Expr, x: sp.Symbol, g: sp.Symbol) -> sp.Expr:
    """``g * d expr / d x``, once per structure (a long program's product of the adjoint with each
    derivative is otherwise SymPy's multiplication of new expressions, evaluated every time)."""
    return g * derivative(expr, x)


defprim("elementwise", _vjp_elementwise)


def _grad(node: Node) -> Origin | None:
    return node.origin.as_grad() if node.origin else None


def _uniform(x: Node) -> Node | None:
    """The scalar constant that every element of ``x`` equals, if ``x`` is one broadcast."""
    if x.op == "elementwise" and not x.inputs:
        return x
    if x.op == "broadcast_to" and x.inputs[0].op == "elementwise" and not x.inputs[0].inputs:
        return x.inputs[0]
    return None


def _placeholder(x: Node) -> Node:
    return Node("input", (), x.shape, params=(("name", "_"), ("index", -1)))


# ---------------------------------------------------------------- broadcasting --------------------

def broadcast_to(x: Node, shape: Shape) -> Node:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    joint = broadcast_shapes(x.shape, shape)  # (1 where a size of shape was just found to be 1: the same)
    if len(joint) != len(shape) or any(j != d and not (j == ONE and is_one(d)) for j, d in zip(joint, shape)):
        raise ShapeError(f"cannot broadcast shape {x.shape} to {shape}")
    return Node("broadcast_to", (x,), shape, params=(("shape", shape),), dtype=x.dtype, origin=x.origin)


defprim("broadcast_to", lambda g, n: [g], linear=True)


def unbroadcast(g: Node, shape: Shape, origin: Origin | None = None) -> Node:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape`` (the sums made
    at ``origin``: the line whose derivative they are, ``db = dz.sum(axis=0)`` under ``z = x @ w + b``)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ShapeError(f"gradient of shape {g.shape} is smaller than its argument's {shape}")
    if lead:
        g = reduce("sum", g, axis=tuple(range(lead)), origin=origin)
    stretched = tuple(i for i, (d, s) in enumerate(zip(g.shape, shape)) if s == ONE and d != ONE)
    if stretched:
        g = reduce("sum", g, axis=stretched, keepdims=True, origin=origin)
    if g.shape != shape:
        raise ShapeError(f"cannot unbroadcast {g.shape} to {shape}")
    return g


# ---------------------------------------------------------------- reductions ----------------------

def reduce(op: str, x: Node, axis=None, keepdims: bool = False, origin: Origin | None = None) -> Node:
    axes = normalize_axes(axis, x.ndim)
    if keepdims:
        shape = tuple(ONE if i in axes else d for i, d in enumerate(x.shape))
    else:
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    params = (("axis", axes), ("keepdims", bool(keepdims)))
    return Node(op, (x,), shape, params=params, dtype=counted_dtype(op, x), origin=origin)


def _restore(g: Node, node: Node) -> Node:
    """Reshape a reduction's adjoint so it broadcasts against the reduction's input."""
    if node.param("keepdims") or g.ndim == 0:
        return g
    return expand_dims(g, node.param("axis"))


def _count(node: Node) -> sp.Expr:
    x = node.inputs[0]
    return size_of([x.shape[i] for i in node.param("axis")])


def _vjp_sum(g: Node, node: Node) -> list[Node]:
    return [broadcast_to(_restore(g, node), node.inputs[0].shape)]


def _vjp_mean(g: Node, node: Node) -> list[Node]:
    scaled = elementwise(ARG[0] / _count(node), (g,), origin=g.origin)
    return [broadcast_to(_restore(scaled, node), node.inputs[0].shape)]


def _vjp_max(g: Node, node: Node) -> list[Node]:
    # The adjoint is shared equally among the positions that attain the maximum.
    x = node.inputs[0]
    mask = elementwise(sp.Piecewise((1, sp.Eq(ARG[0], ARG[1])), (0, True)), (x, _restore(node, node)))
    ties = reduce("sum", mask, axis=node.param("axis"), keepdims=True)
    return [elementwise(ARG[0] * ARG[1] / ARG[2], (mask, _restore(g, node), ties), origin=_grad(node))]


defprim("sum", _vjp_sum, linear=True)
defprim("mean", _vjp_mean, linear=True)
defprim("max", _vjp_max)
defprim("min", _vjp_max)


def _vjp_prod(g: Node, node: Node) -> list[Node]:
    """d prod / d x_i is the product of the others: ``prod / x_i`` without zeros; with one zero, the
    product of the nonzeros at the zero and 0 elsewhere; with two or more zeros, 0 (no division by 0)."""
    x, axes = node.inputs[0], node.param("axis")
    is_zero = sp.Eq(ARG[0], 0)
    zeros = reduce("sum", elementwise(sp.Piecewise((1, is_zero), (0, True)), (x,)), axis=axes, keepdims=True)
    safe = elementwise(sp.Piecewise((1, is_zero), (ARG[0], True)), (x,))
    others = reduce("prod", safe, axis=axes, keepdims=True)  # product of the nonzeros
    pieces = sp.Piecewise((ARG[2] / ARG[1], sp.Eq(ARG[4], 0)), (ARG[2], sp.And(is_zero, sp.Eq(ARG[4], 1))), (0, True))
    return [elementwise(ARG[3] * pieces, (x, safe, others, _restore(g, node), zeros), origin=_grad(node))]


defprim("prod", _vjp_prod)


# ---------------------------------------------------------------- shape ---------------------------

def transpose(x: Node, axes: Sequence[int] | None = None, origin: Origin | None = None) -> Node:
    axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(normalize_axes(a, x.ndim)[0] for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes")
    if axes == tuple(range(x.ndim)):
        return x
    if (u := _uniform(x)) is not None:
        return broadcast_to(u, tuple(x.shape[i] for i in axes))
    shape = tuple(x.shape[i] for i in axes)
    return Node("transpose", (x,), shape, params=(("axes", axes),), dtype=x.dtype, origin=origin)


def swapaxes(x: Node) -> Node:
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, axes)


defprim("transpose", lambda g, n: [transpose(g, tuple(np.argsort(n.param("axes"))))], linear=True)


def reshape(x: Node, shape: Shape, origin: Origin | None = None) -> Node:
    shape = tuple(shape)
    if shape == x.shape:
        return x
    difference = sp.simplify(size_of(shape) - size_of(x.shape))
    if difference.is_number and difference != 0:  # symbolic sizes: tracing has checked their values
        raise ShapeError(f"cannot reshape an array of shape {x.shape} into shape {shape}")
    if (u := _uniform(x)) is not None:
        return broadcast_to(u, shape)
    if x.op in ("sum", "mean", "max", "min") and x.param("keepdims") and \
            shape == tuple(d for i, d in enumerate(x.shape) if i not in x.param("axis")):
        return reduce(x.op, x.inputs[0], axis=x.param("axis"), origin=x.origin)  # the kept axes dropped
    return Node("reshape", (x,), shape, params=(("shape", shape),), dtype=x.dtype, origin=origin)


defprim("reshape", lambda g, n: [reshape(g, n.inputs[0].shape)], linear=True)


def expand_dims(x: Node, axes: Sequence[int]) -> Node:
    """Insert axes of size 1 at ``axes`` (positions in the result)."""
    shape = list(x.shape)
    for axis in sorted(axes):
        shape.insert(axis, ONE)
    return reshape(x, tuple(shape)) if axes else x


def squeeze(x: Node, axes: Sequence[int]) -> Node:
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


# ---------------------------------------------------------------- indexing ------------------------

def getitem(x: Node, index: tuple, origin: Origin | None = None, shape: Shape | None = None) -> Node:
    """Basic indexing; ``index`` items are ints, ``("slice", start, stop, step)`` or None, one per axis.
    ``shape``: the result's shape when the caller knows it better (tracing checks slice bounds)."""
    if (u := _uniform(x)) is not None:
        return broadcast_to(u, shape or getitem(_placeholder(x), index).shape)
    if shape is not None:
        return Node("getitem", (x,), tuple(shape), params=(("index", index),), dtype=x.dtype, origin=origin)
    dims: list = []
    axis = 0
    for item in index:
        if item is None:
            dims.append(ONE)
            continue
        dim = x.shape[axis]
        axis += 1
        if isinstance(item, tuple):
            length = slice_length(dim, *item[1:])
            if length is None:
                raise ShapeError(f"cannot tell the length of slice {item[1:]} of an axis of size {dim}")
            dims.append(length)
    dims.extend(x.shape[axis:])
    return Node("getitem", (x,), tuple(dims), params=(("index", index),), dtype=x.dtype, origin=origin)


def slice_length(dim: sp.Expr, start, stop, step) -> sp.Expr | None:
    """Length of ``[start:stop:step]`` of an axis of size ``dim``; for a symbolic size, the formula that
    holds when the bounds lie inside the axis (tracing checks that), or None where there is none."""
    if dim.is_Integer:
        return sp.Integer(len(range(*slice(start, stop, step).indices(int(dim)))))
    if step not in (None, 1):
        return None
    start = 0 if start is None else start
    lo = start if start >= 0 else dim + start
    hi = dim if stop is None else (stop if stop >= 0 else dim + stop)
    return sp.sympify(hi - lo)


_FULL = ("slice", None, None, None)


def _vjp_getitem(g: Node, node: Node) -> list[Node]:
    x = node.inputs[0]
    if all(item is None or item == _FULL for item in node.param("index")):  # x[:, None]: only new axes
        return [reshape(g, x.shape)]
    return [Node("scatter", (g,), x.shape, params=(("index", node.param("index")), ("shape", x.shape)),
                 dtype=g.dtype, origin=_grad(node))]


defprim("getitem", _vjp_getitem, linear=True)
defprim("scatter", lambda g, n: [getitem(g, n.param("index"))],
        linear=True)


def full_like(like: Node, value: Node) -> Node:
    """A fresh, writable array shaped and typed like ``like`` holding ``value`` (broadcast)."""
    return Node("full_like", (like, value), like.shape, dtype=like.dtype, origin=value.origin)


defprim("full_like", lambda g, n: [None, g])


# ---------------------------------------------------------------- gradient control ----------------

def stop_gradient(x: Node) -> Node:
    return Node("stop_gradient", (x,), x.shape, dtype=x.dtype, origin=x.origin)


defprim("stop_gradient", lambda g, n: [None])


def copy(x: Node) -> Node:
    """A new array with ``x``'s values (results the caller owns: never a view or a read-only broadcast)."""
    return Node("copy", (x,), x.shape, dtype=x.dtype, origin=x.origin)


defprim("copy", lambda g, n: [g], linear=True)
