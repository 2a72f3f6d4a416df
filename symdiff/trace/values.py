"""The values a traced function sees: :class:`Tracer` arrays (their sizes: :mod:`symdiff.trace.sizes`).

A Tracer stands for an array and records every operation done to it; NumPy's dispatch protocols
route ``np.exp(t)``, ``np.mean(t)``, ``t @ w`` and friends to the registry in
:mod:`symdiff.numpy.core`. Assignments (``a[i] = v``, ``a += v``) replace the Tracer's node, so every
alias sees them, as in NumPy; views remember their base, so writes NumPy would share through memory
are refused rather than silently differing. A Tracer of a constant (``np.zeros(n)`` inside the
function) holds its array: NumPy computes on it at trace time.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sympy as sp

from ..errors import ShapeError, UnsupportedError
from ..ir.graph import ConstValue, Node
from . import sizes
from .sizes import Size, _sizes_value, as_tracer  # noqa: F401  (as_tracer: for the registry)
from .tracer import current_trace, user_origin


#: ``getitem(x, index)`` and ``setitem(x, index, value)``: NumPy's indexing rules, installed by
#: :mod:`symdiff.trace.indexing` when imported.
INDEXING: dict[str, Callable] = {}

#: How a NumPy function applies to traced operands: :func:`symdiff.trace.dispatch.call`, which installs
#: itself here when imported (a Tracer knows how to be traced, the registry what NumPy's functions do).
HANDLER: list[Callable[[Any, tuple, dict], Any]] = []


def _call(func, *args, **kwargs):
    if not HANDLER:
        raise RuntimeError("symdiff.trace.dispatch is not imported: trace through symdiff.pipeline")
    return HANDLER[0](func, args, kwargs)


class Tracer:
    """A traced array. Behaves like a NumPy array under the supported operations."""

    __slots__ = ("node", "base", "seen", "writes", "argument", "pending", "pending_for")
    __array_priority__ = 1000

    def __init__(self, node: Node, base: "Tracer | None" = None, argument: bool = False) -> None:
        self.node = node
        if base is not None and base.base is not None:
            base = base.base
        self.base: Tracer | None = base  # the array this one is a view of
        self.seen: int = base.writes if base is not None else 0
        self.writes: int = 0
        self.argument = argument
        self.pending = 0  # in-place operations done on views of this array, not yet written back
        self.pending_for: Tracer | None = None

    def checked(self) -> Node:
        """This array's node; refuses a view whose base was written to after the view was taken (NumPy
        would show the new values through the view; symdiff's views are copies)."""
        if self.pending:
            raise UnsupportedError(
                f"{_where()}: an in-place operation on a view of this array (v = a[...]; v += ...) would change it "
                "in NumPy, and symdiff does not follow changes through views; write a[...] += ... instead")
        if self.base is not None and self.base.writes != self.seen:
            raise UnsupportedError(
                f"{_where()}: this array is a view (a slice, reshape or transpose) of an array that was "
                "assigned to after the view was taken; take the view after the assignment, or copy it first "
                "(v = a[1:].copy()) if it must keep the old values")
        return self.node

    def is_const(self) -> bool:
        return self.node.op == "const"

    def _write(self, node: Node) -> None:
        if self.base is not None:
            raise UnsupportedError(
                f"{_where()}: assignment through a view (a slice, reshape or transpose) of another array; "
                "assign into the array itself (a[1:3] = v rather than b = a[1:]; b[:2] = v)")
        if self.argument:
            raise UnsupportedError(
                f"{_where()}: assignment into the argument {self.node.param('name')!r} would change the caller's "
                f"array; copy it first ({self.node.param('name')} = {self.node.param('name')}.copy())")
        self.checked()
        self.node = node
        self.writes += 1

    def __setitem__(self, index, value) -> None:
        if isinstance(value, Tracer) and value.pending_for is self:  # the write-back of a[i] += v
            self.pending -= 1
            value.pending_for = None
        if self.is_const() and _constant(value) is not None and _constant(index) is not None:
            array = np.array(self.node.param("value").array)
            array[_constant(index)] = _constant(value)  # all known: NumPy does it, casting included
            return self._write(const_tracer(array).node)
        self._write(INDEXING["setitem"](self, index, value))

    def _inplace(self, result: "Tracer") -> "Tracer":
        if _resolved(result.node.shape) != _resolved(self.node.shape):  # (sizes unified since: the same)
            raise ShapeError(f"{_where()}: in-place operation would change the shape {self.node.shape} to "
                             f"{result.node.shape}; write x = x + ... to make a new array")
        if self.base is not None:  # a[i] += v: Python writes the result back into a next
            result.pending_for = self.base
            self.base.pending += 1
            return result
        self._write(result.node)
        return self

    def __iadd__(self, o): return self._inplace(self + o)
    def __isub__(self, o): return self._inplace(self - o)
    def __imul__(self, o): return self._inplace(self * o)
    def __itruediv__(self, o): return self._inplace(self / o)
    def __ipow__(self, o): return self._inplace(self ** o)

    # ---- NumPy protocols ----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "outer" and len(inputs) == 2 and not kwargs:  # np.subtract.outer(a, b)
            a, b = (x if isinstance(x, Tracer) else np.asarray(x) for x in inputs)
            return _call(ufunc, a[(...,) + (None,) * b.ndim], b)
        if method != "__call__":
            raise UnsupportedError(f"{_where()}: np.{ufunc.__name__}.{method} is not supported; "
                                   f"call np.{ufunc.__name__}(...) or a reduction such as np.sum instead")
        return _call(ufunc, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _call(func, *args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        if self.is_const():  # an array the function built from constants: it has a value
            return np.array(self.node.param("value").array, dtype=dtype)
        raise UnsupportedError(
            f"{_where()}: a traced array was converted to a concrete NumPy array (np.asarray, a non-NumPy "
            "library, a NumPy function symdiff does not know, or an assignment into an array made outside "
            "the function); use NumPy functions on it, and build arrays you assign into inside the function "
            "with np.zeros/np.empty")

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

    def argmax(self, axis=None):
        return _call(np.argmax, self, axis=axis)

    def argmin(self, axis=None):
        return _call(np.argmin, self, axis=axis)

    def prod(self, axis=None, keepdims=False):
        return _call(np.prod, self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return _call(np.var, self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return _call(np.std, self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        return _call(np.cumsum, self, axis=axis)

    def cumprod(self, axis=None):
        return _call(np.cumprod, self, axis=axis)

    def any(self, axis=None, keepdims=False):
        return _call(np.any, self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return _call(np.all, self, axis=axis, keepdims=keepdims)

    def clip(self, min=None, max=None):
        return _call(np.clip, self, min, max)

    def round(self, decimals=0):
        return _call(np.round, self, decimals=decimals)

    def trace(self, offset=0, axis1=0, axis2=1):
        return _call(np.trace, self, offset=offset, axis1=axis1, axis2=axis2)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return _call(np.diagonal, self, offset=offset, axis1=axis1, axis2=axis2)

    def repeat(self, repeats, axis=None):
        return _call(np.repeat, self, repeats, axis=axis)

    def dot(self, other):
        return _call(np.dot, self, other)

    def transpose(self, *axes):
        return _call(np.transpose, self, axes[0] if len(axes) == 1 else (axes or None))

    def reshape(self, *shape, order="C"):
        return _call(np.reshape, self, shape[0] if len(shape) == 1 else shape, order=order)

    def ravel(self, order="C"):
        return _call(np.ravel, self, order=order)

    def flatten(self, order="C"):
        return _call(np.ravel, self, order=order)

    def swapaxes(self, axis1, axis2):
        return _call(np.swapaxes, self, axis1, axis2)

    def squeeze(self, axis=None):
        return _call(np.squeeze, self, axis=axis)

    def astype(self, dtype, copy=True):
        """A cast: booleans become 0/1 numbers (for any numeric dtype; integers are float64 data here),
        numbers become ``x != 0`` for ``bool``; casting numbers to integers would truncate and is refused."""
        kind, boolean = np.dtype(dtype).kind, self.node.dtype == "bool"
        if kind == "b":
            return self if boolean else _call(np.not_equal, self, 0)
        if boolean and kind in "iuf":
            return _call(np.multiply, self, 1)  # an int operand: NumPy's 0/1 arithmetic, a number
        if kind != "f":
            raise UnsupportedError(
                f"{_where()}: .astype({np.dtype(dtype).name}) of a traced value would truncate it; write the "
                "rounding you mean with np.floor, np.trunc or np.round (their gradient is zero)")
        return self

    def copy(self, order="C"):
        return Tracer(self.checked())

    def __getattr__(self, name: str):
        """Read-only array methods (``.all()``, ``.tolist()``, ...) of arrays built from constants."""
        if name in _CONST_METHODS and self.is_const():
            return getattr(self.node.param("value").array.copy(), name)
        raise AttributeError(f"'Tracer' object has no attribute {name!r}"
                             + (" (available on arrays built from constants only)" if name in _CONST_METHODS else ""))

    def __getitem__(self, index):
        if self.is_const() and _constant(index) is not None:
            return const_tracer(self.node.param("value").array[_constant(index)], base=self)
        return INDEXING["getitem"](self, index)

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
    def __mod__(self, o): return _call(np.remainder, self, o)
    def __rmod__(self, o): return _call(np.remainder, o, self)
    def __floordiv__(self, o): return _call(np.floor_divide, self, o)
    def __rfloordiv__(self, o): return _call(np.floor_divide, o, self)
    def __divmod__(self, o): return tuple(_call(np.divmod, self, o))
    def __rdivmod__(self, o): return tuple(_call(np.divmod, o, self))
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
    # NumPy's bitwise operators: logical on booleans, refused on numbers (see symdiff.numpy.booleans.logical_for)
    def __invert__(self): return _call(np.invert, self)
    def __and__(self, o): return _call(np.bitwise_and, self, o)
    def __rand__(self, o): return _call(np.bitwise_and, o, self)
    def __or__(self, o): return _call(np.bitwise_or, self, o)
    def __ror__(self, o): return _call(np.bitwise_or, o, self)
    def __xor__(self, o): return _call(np.bitwise_xor, self, o)
    def __rxor__(self, o): return _call(np.bitwise_xor, o, self)
    __hash__ = object.__hash__

    def _sizes_only(self) -> sp.Expr | None:
        """The value of a scalar computed from array sizes alone (``x.shape[0] / 2``), specialising
        those sizes, as ``int(x.shape[0])`` does; None for anything that depends on array values."""
        return _sizes_value(self.node)

    def __bool__(self):
        if self.is_const():
            return bool(self.node.param("value").array)
        value = self._sizes_only()
        if value is not None:
            return bool(value)
        if any(not (d == 1) for d in self.node.shape):
            raise ValueError("The truth value of an array with more than one element is ambiguous. "
                             "Use a.any() or a.all()")
        return current_trace().decide(self.checked(), user_origin())

    def __float__(self):
        if self.is_const():
            return float(self.node.param("value").array)
        value = self._sizes_only()
        if value is not None:
            return float(value)
        raise UnsupportedError(f"{_where()}: float() (or a math-module function symdiff does not know) of a "
                               "traced value; keep it an array and use NumPy functions")

    def __int__(self):
        return int(self.__float__())

    def __index__(self):
        if self.is_const() and self.node.dtype in ("int64", "bool"):
            return int(self.node.param("value").array)
        value = self._sizes_only()
        if value is not None and not value.is_Integer:
            raise TypeError(f"{_where()}: a size computation of value {value} used as an index is not an integer")
        return int(self.__float__())

    def __iter__(self):
        if not self.node.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __round__(self, ndigits=None):
        return _call(np.round, self, ndigits or 0)

    def __repr__(self) -> str:
        return f"Tracer(shape={tuple(self.node.shape)}, dtype={self.node.dtype})"


class TracerList(list):
    """Several traced arrays (``np.split``'s result). Unpack or index it like a list; given whole to a
    NumPy function it is one array, its elements stacked, as NumPy converts a list of arrays."""

    __array_priority__ = 1000

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return Tracer.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)  # type: ignore[arg-type]

    def __array_function__(self, func, types, args, kwargs):
        return _call(func, *args, **kwargs)

    __array__ = Tracer.__array__


_CONST_METHODS = frozenset({"tolist", "item", "nonzero", "argsort", "searchsorted"})


def const_tracer(value: Any, base: Tracer | None = None) -> Any:
    """A constant array as a Tracer (so traced values can be assigned into it); numbers stay numbers."""
    array = np.asarray(value)
    if array.ndim == 0 and not isinstance(value, np.ndarray):
        return value
    array = np.array(array)
    node = Node("const", (), tuple(sp.Integer(d) for d in array.shape), params=(("value", ConstValue(array)),),
                dtype="bool" if array.dtype == bool else str(array.dtype))
    return Tracer(node, base=base)


def _constant(x: Any) -> Any:
    """``x`` with constant Tracers replaced by their arrays and sizes by their values; None if it holds
    a traced value. Sizes become ints only then (``int`` specialises them): in ``s.reshape(N, 1)``
    with ``N, D = X.shape``, N stays symbolic."""
    return None if _traced(x) else _values(x)


def _traced(x: Any) -> bool:
    if isinstance(x, Tracer):
        return not x.is_const()
    if isinstance(x, (list, tuple)):
        return any(_traced(i) for i in x)
    if isinstance(x, dict):  # keyword arguments
        return any(_traced(v) for v in x.values())
    return False


def _values(x: Any) -> Any:
    if isinstance(x, Tracer):
        return x.node.param("value").array
    if isinstance(x, Size):
        return int(x)
    if isinstance(x, (list, tuple)):
        return type(x)([_values(i) for i in x])
    if isinstance(x, dict):
        return {k: _values(v) for k, v in x.items()}
    return x


def _resolved(shape) -> tuple:
    trace = current_trace()
    return tuple(trace.resolve(d) for d in shape)


def _where() -> str:
    o = user_origin()
    return f"{o.file}:{o.line}" if o else "<unknown location>"


sizes.TRACER[:] = [Tracer]
