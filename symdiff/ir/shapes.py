"""Shapes whose sizes may be symbolic, and NumPy's broadcasting rules over them.

A dimension is a SymPy ``Integer`` (a size fixed when the code was made, 1 for a broadcast axis)
or a positive integer ``Symbol`` (a size read at run time from an argument, so the generated code
serves every length). While tracing, two symbolic sizes that must agree are unified (union-find);
the tracer then rewrites every shape to the representative.

>>> n = size_symbol("n")
>>> broadcast_shapes((n, sp.Integer(1)), (sp.Integer(3),))
(n, 3)
"""
from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any, Iterable, Protocol, Sequence, TypeAlias

import sympy as sp

from ..errors import ShapeError

Dim: TypeAlias = Any  # a SymPy expression: an integer, a size symbol, a sum of them (SymPy has no type hints)
Shape = tuple  # tuple[Dim, ...]

ONE = sp.Integer(1)

class Sizes(Protocol):
    """What tracing knows about sizes: it can unify two and tell whether one is 1."""

    def unify(self, a: Dim, b: Dim) -> Dim: ...

    def is_one(self, d: Dim) -> bool: ...


# While tracing, the trace's knowledge of sizes; None outside tracing, where sizes must already be
# identical and only the literal 1 broadcasts.
_sizes: ContextVar[Sizes | None] = ContextVar("symdiff_sizes", default=None)


def size_symbol(name: str) -> sp.Symbol:
    """A symbolic array size."""
    return sp.Symbol(name, integer=True, positive=True)


def as_dim(value) -> Dim:
    """Convert an int or a name to a dimension."""
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, str):
        return size_symbol(value)
    return sp.Integer(int(value))


def as_shape(dims: Iterable) -> Shape:
    return tuple(as_dim(d) for d in dims)


def same_dim(a: Dim, b: Dim) -> Dim:
    """Return the dimension that ``a`` and ``b`` both are, unifying them while tracing."""
    if a == b:
        return a
    sizes = _sizes.get()
    if sizes is None:
        raise ShapeError(f"sizes {a} and {b} differ")
    return sizes.unify(a, b)


def is_one(d: Dim) -> bool:
    """Whether size ``d`` is 1 (a broadcast axis); while tracing, a derived size whose value is 1
    (``x[1:]`` of a length-2 axis) is specialised to 1."""
    if d == ONE:
        return True
    sizes = _sizes.get()
    return sizes is not None and sizes.is_one(d)


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting of symbolic shapes."""
    if shapes and all(s == shapes[0] for s in shapes):  # (one shape: each axis itself, or 1)
        return tuple(ONE if is_one(d) else d for d in shapes[0])
    ndim = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for axis in range(ndim):
        dim = ONE
        for shape in shapes:
            k = axis - (ndim - len(shape))
            if k < 0:
                continue
            d = shape[k]
            if is_one(d):
                continue
            dim = d if dim == ONE else same_dim(dim, d)
        out.append(dim)
    return tuple(out)


def size_of(shape: Sequence[Dim]) -> Dim:
    """Number of elements of a shape (a SymPy expression)."""
    return sp.Mul(*shape) if shape else ONE


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` argument of a reduction -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of bounds for an array of {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def format_shape(shape: Shape) -> str:
    return _format_shape(tuple(shape))


@functools.lru_cache(maxsize=1 << 12)  # (a long program prints a few shapes many times; str of a size is SymPy's)
def _format_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
