"""The values a traced function sees: :class:`Tracer` arrays and :class:`Size` array sizes.

A Tracer stands for an array and records every operation done to it; NumPy's dispatch protocols
route ``np.exp(t)``, ``np.mean(t)``, ``t @ w`` and friends to the registry in
:mod:`symdiff.numpy_api`. A Size is an element of ``t.shape``: symbolic while only used in
arithmetic, specialised to its value when the program needs a Python int.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import sympy as sp

from .errors import UnsupportedError
from .ir import Node
from .tracer import current_trace, user_origin


def _call(func, *args, **kwargs):
    return numpy_api.call(func, args, kwargs)


class Tracer:
    """A traced array. Behaves like a NumPy array under the supported operations."""

    __slots__ = ("node",)
    __array_priority__ = 1000

    def __init__(self, node: Node) -> None:
        self.node = node

    # ---- NumPy protocols ----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise UnsupportedError(f"{_where()}: np.{ufunc.__name__}.{method} is not supported; "
                                   f"call np.{ufunc.__name__}(...) or a reduction such as np.sum instead")
        return numpy_api.call(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return numpy_api.call(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise UnsupportedError(
            f"{_where()}: a traced array was converted to a concrete NumPy array (np.asarray, a "
            "non-NumPy library, or a NumPy function symdiff does not know); use NumPy functions on it, or "
            "wrap it in symdiff.stop_gradient only if it must not be differentiated")

    # ---- attributes ----
    @property
    def shape(self) -> tuple["Size", ...]:
        return tuple(Size(d) for d in self.node.shape)

    @property
    def ndim(self) -> int:
        return self.node.ndim

    @property
    def size(self) -> "Size":
        return Size(sp.Mul(*self.node.shape))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.node.dtype)

    @property
    def T(self) -> "Tracer":
        return _call(np.transpose, self)

    def __len__(self) -> int:
        if not self.node.shape:
            raise TypeError("len() of a 0-d array")
        return current_trace().concrete(self.node.shape[0], "len() of an array")

    # ---- methods ----
    def sum(self, axis=None, keepdims=False):
        return _call(np.sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _call(np.mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _call(np.max, self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _call(np.min, self, axis=axis, keepdims=keepdims)

    def dot(self, other):
        return _call(np.dot, self, other)

    def transpose(self, *axes):
        return _call(np.transpose, self, axes[0] if len(axes) == 1 else (axes or None))

    def reshape(self, *shape, order="C"):
        return _call(np.reshape, self, shape[0] if len(shape) == 1 else shape, order=order)

    def astype(self, dtype, copy=True):
        return self

    def __getitem__(self, index):
        return numpy_api.getitem(self, index)

    # ---- Python operators ----
    def __add__(self, o): return _call(np.add, self, o)
    def __radd__(self, o): return _call(np.add, o, self)
    def __sub__(self, o): return _call(np.subtract, self, o)
    def __rsub__(self, o): return _call(np.subtract, o, self)
    def __mul__(self, o): return _call(np.multiply, self, o)
    def __rmul__(self, o): return _call(np.multiply, o, self)
    def __truediv__(self, o): return _call(np.true_divide, self, o)
    def __rtruediv__(self, o): return _call(np.true_divide, o, self)
    def __pow__(self, o): return _call(np.power, self, o)
    def __rpow__(self, o): return _call(np.power, o, self)
    def __matmul__(self, o): return _call(np.matmul, self, o)
    def __rmatmul__(self, o): return _call(np.matmul, o, self)
    def __neg__(self): return _call(np.negative, self)
    def __pos__(self): return self
    def __abs__(self): return _call(np.abs, self)
    def __gt__(self, o): return _call(np.greater, self, o)
    def __ge__(self, o): return _call(np.greater_equal, self, o)
    def __lt__(self, o): return _call(np.less, self, o)
    def __le__(self, o): return _call(np.less_equal, self, o)
    def __eq__(self, o): return _call(np.equal, self, o)  # type: ignore[override]
    def __ne__(self, o): return _call(np.not_equal, self, o)  # type: ignore[override]
    __hash__ = object.__hash__

    def __bool__(self):
        raise UnsupportedError(
            f"{_where()}: the program branches on a traced value (if/while/and/or on an array); "
            "write the choice with np.where(cond, a, b), np.maximum or np.minimum instead")

    def __float__(self):
        raise UnsupportedError(f"{_where()}: float() of a traced value; keep it an array (use NumPy functions)")

    __int__ = __index__ = __float__

    def __iter__(self):
        raise UnsupportedError(f"{_where()}: iterating over a traced array; index it with slices instead")

    def __repr__(self) -> str:
        return f"Tracer(shape={tuple(self.node.shape)}, dtype={self.node.dtype})"


class Size:
    """An array size from ``.shape``/``.size``: an int to Python, a symbol to the generated code."""

    __slots__ = ("expr",)

    def __init__(self, expr: sp.Expr) -> None:
        self.expr = sp.sympify(expr)

    def _int(self) -> int:
        if self.expr.is_Integer:
            return int(self.expr)
        return current_trace().concrete(self.expr)

    __index__ = __int__ = _int

    def __float__(self) -> float:
        return float(self._int())

    def __hash__(self) -> int:
        return hash(self._int())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Size):
            return self.expr == other.expr or self._int() == other._int()
        if isinstance(other, numbers.Integral):
            return self._int() == other
        return NotImplemented

    def __lt__(self, o): return self._int() < int(o)
    def __le__(self, o): return self._int() <= int(o)
    def __gt__(self, o): return self._int() > int(o)
    def __ge__(self, o): return self._int() >= int(o)

    def _arith(self, other, fn):
        if isinstance(other, Size):
            return Size(fn(self.expr, other.expr))
        if isinstance(other, numbers.Integral) and not isinstance(other, bool):
            return Size(fn(self.expr, sp.Integer(other)))
        if isinstance(other, (Tracer, np.ndarray, numbers.Number)):
            return NotImplemented if isinstance(other, Tracer) else fn(as_tracer(self), other)
        return NotImplemented

    def __add__(self, o): return self._arith(o, lambda a, b: a + b)
    def __radd__(self, o): return self._arith(o, lambda a, b: b + a)
    def __sub__(self, o): return self._arith(o, lambda a, b: a - b)
    def __rsub__(self, o): return self._arith(o, lambda a, b: b - a)
    def __mul__(self, o): return self._arith(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._arith(o, lambda a, b: b * a)
    def __floordiv__(self, o): return self._arith(o, lambda a, b: sp.floor(a / b))
    def __truediv__(self, o): return as_tracer(self) / o
    def __rtruediv__(self, o): return o / as_tracer(self)

    def __repr__(self) -> str:
        return str(self.expr)


def as_tracer(size: Size) -> Tracer:
    from .primitives import scalar
    return Tracer(scalar(size.expr))


def _where() -> str:
    o = user_origin()
    return f"{o.file}:{o.line}" if o else "<unknown location>"


from . import numpy_api  # noqa: E402  (the registry uses Tracer; imported last)
