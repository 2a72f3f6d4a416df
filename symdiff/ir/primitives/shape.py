"""Shape primitives beyond transpose/reshape/indexing: concatenate and its adjoint slice_axis, flip,
roll, cumsum. Each: builder (shape rule), vjp written with builders, emit, under its banner.

Registered into :data:`symdiff.ir.primitives.core.PRIMITIVES`; imported at the end of
:mod:`symdiff.ir.primitives.core` (import that module, not this one).

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> x = input_node("x", (n,), 0)
>>> concatenate([x, x], 0).shape
(2*n,)
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from ...errors import ShapeError
from ..graph import Node, Origin
from ..booleans import counted_dtype
from .core import _dtype, _grad, _uniform, broadcast_to, defprim, scalar
from ..shapes import same_dim


def _zeros(shape, dtype: str) -> Node:
    return broadcast_to(scalar(sp.Integer(0), dtype), tuple(shape))


# ---------------------------------------------------------------- concatenate ---------------------

def concatenate(xs: Sequence[Node], axis: int, origin: Origin | None = None) -> Node:
    """``np.concatenate(xs, axis)`` (``axis`` non-negative): sizes on other axes must agree."""
    xs = list(xs)
    if not xs:
        raise ShapeError("need at least one array to concatenate")
    ndim = xs[0].ndim
    if any(x.ndim != ndim for x in xs) or not 0 <= axis < ndim:
        raise ShapeError(f"concatenate: arrays of {sorted({x.ndim for x in xs})} dimensions along axis {axis}")
    if len(xs) == 1:
        return xs[0]
    dims = list(xs[0].shape)
    for x in xs[1:]:
        for i in range(ndim):
            if i != axis:
                dims[i] = same_dim(dims[i], x.shape[i])
    dims[axis] = sp.Add(*(x.shape[axis] for x in xs))
    dtype = "bool" if all(x.dtype == "bool" for x in xs) else _dtype(*xs)  # booleans joined stay booleans
    return Node("concatenate", tuple(xs), tuple(dims), params=(("axis", axis),), dtype=dtype, origin=origin)


def _vjp_concatenate(g: Node, node: Node) -> list[Node]:
    axis, start, out = node.param("axis"), sp.Integer(0), []
    for x in node.inputs:
        stop = start + x.shape[axis]
        out.append(slice_axis(g, axis, start, stop, _grad(node)))
        start = stop
    return out


defprim("concatenate", _vjp_concatenate, linear=True)


# ---------------------------------------------------------------- slice_axis ----------------------

def slice_axis(x: Node, axis: int, start: sp.Expr, stop: sp.Expr, origin: Origin | None = None) -> Node:
    """``x[..., start:stop, ...]`` on ``axis``, bounds being sizes (possibly symbolic) with
    ``0 <= start <= stop <= x.shape[axis]`` (the caller checks)."""
    start, stop = sp.sympify(start), sp.sympify(stop)
    if start == 0 and stop == x.shape[axis]:
        return x
    shape = x.shape[:axis] + (stop - start,) + x.shape[axis + 1:]
    if (u := _uniform(x)) is not None:
        return broadcast_to(u, shape)
    return Node("slice_axis", (x,), shape, params=(("axis", axis), ("start", start), ("stop", stop)),
                dtype=x.dtype, origin=origin)


def _vjp_slice_axis(g: Node, node: Node) -> list[Node]:
    x, axis = node.inputs[0], node.param("axis")
    start, stop, size = node.param("start"), node.param("stop"), x.shape[axis]
    block = lambda n: _zeros(x.shape[:axis] + (n,) + x.shape[axis + 1:], g.dtype)  # noqa: E731
    parts = ([block(start)] if start != 0 else []) + [g] + ([block(size - stop)] if stop != size else [])
    return [concatenate(parts, axis, _grad(node))]


defprim("slice_axis", _vjp_slice_axis, linear=True)


# ---------------------------------------------------------------- flip ----------------------------

def flip(x: Node, axes: Sequence[int], origin: Origin | None = None) -> Node:
    """``np.flip(x, axes)`` (non-negative axes)."""
    axes = tuple(sorted(set(axes)))
    if not axes or _uniform(x) is not None:
        return x
    return Node("flip", (x,), x.shape, params=(("axes", axes),), dtype=x.dtype, origin=origin)


defprim("flip", lambda g, n: [flip(g, n.param("axes"), _grad(n))], linear=True)


# ---------------------------------------------------------------- roll ----------------------------

def roll(x: Node, shifts: Sequence[int], axes: Sequence[int], origin: Origin | None = None) -> Node:
    """``np.roll(x, shifts, axes)``, one shift per (non-negative) axis."""
    pairs = tuple((int(s), int(a)) for s, a in zip(shifts, axes) if int(s) != 0)
    if not pairs or _uniform(x) is not None:
        return x
    params = (("shift", tuple(s for s, _ in pairs)), ("axis", tuple(a for _, a in pairs)))
    return Node("roll", (x,), x.shape, params=params, dtype=x.dtype, origin=origin)


defprim("roll", lambda g, n: [roll(g, [-s for s in n.param("shift")], n.param("axis"), _grad(n))], linear=True)


# ---------------------------------------------------------------- cumsum --------------------------

def cumsum(x: Node, axis: int, origin: Origin | None = None) -> Node:
    """``np.cumsum(x, axis)`` along one non-negative axis of an array of at least one dimension."""
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"cumsum: axis {axis} of an array of {x.ndim} dimensions")
    return Node("cumsum", (x,), x.shape, params=(("axis", axis),), dtype=counted_dtype("cumsum", x), origin=origin)


def _vjp_cumsum(g: Node, node: Node) -> list[Node]:
    """Each input adds to every later output: the adjoint is ``g`` summed from the end."""
    axis = node.param("axis")
    return [flip(cumsum(flip(g, (axis,)), axis, _grad(node)), (axis,))]


defprim("cumsum", _vjp_cumsum, linear=True)
