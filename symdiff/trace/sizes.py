"""Array sizes a traced function sees: :class:`Size`, an element of ``x.shape``.

A Size is an int to Python (specialised to its value, which the cache then guards, when the
program needs one) and a symbol to the generated code while it is only used in arithmetic
(``x.shape[0] / 2``, ``np.log(n)``), so one compiled module serves every length.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import sympy as sp

from ..ir.graph import ARG, Node
from .tracer import current_trace

#: The Tracer class, set by :mod:`symdiff.trace.values` (which builds on sizes): a size used with
#: arrays or NumPy functions becomes a traced value.
TRACER: list[type] = []


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

    # NumPy functions of a size trace it, keeping it symbolic (``np.log(n)``, ``array * n``);
    # converting it to an array (``np.arange(n)``, ``np.array(n)``) uses its value.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return TRACER[0].__array_ufunc__(self, ufunc, method, *inputs, **kwargs)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._int(), dtype=dtype)

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
        if isinstance(other, (*TRACER, np.ndarray, numbers.Number)):
            return NotImplemented if isinstance(other, TRACER[0]) else fn(as_tracer(self), other)
        return NotImplemented

    def __add__(self, o): return self._arith(o, lambda a, b: a + b)
    def __radd__(self, o): return self._arith(o, lambda a, b: b + a)
    def __sub__(self, o): return self._arith(o, lambda a, b: a - b)
    def __rsub__(self, o): return self._arith(o, lambda a, b: b - a)
    def __mul__(self, o): return self._arith(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._arith(o, lambda a, b: b * a)
    def __floordiv__(self, o): return self._arith(o, lambda a, b: sp.floor(a / b))
    def __neg__(self): return as_tracer(self) * -1
    def __pos__(self): return self
    def __truediv__(self, o): return as_tracer(self) / o
    def __rtruediv__(self, o): return o / as_tracer(self)

    def __repr__(self) -> str:
        return str(self.expr)


def as_tracer(size: Size) -> Any:
    """The size as a traced scalar; a size known only at run time (``x[m].shape[0]``) is
    ``np.count_nonzero(m)``, the traced count."""
    from ..ir.primitives import elementwise, scalar
    counts = current_trace().runtime_counts
    runtime = sorted((s for s in size.expr.free_symbols if s in counts), key=str)
    if not runtime:
        return TRACER[0](scalar(size.expr))
    expr = size.expr.xreplace({s: ARG[i] for i, s in enumerate(runtime)})
    return TRACER[0](elementwise(expr, [counts[s] for s in runtime], shape=()))


def _sizes_value(node: Node) -> sp.Expr | None:
    if node.op != "elementwise" or node.shape:
        return None
    values = [_sizes_value(i) for i in node.inputs]
    if any(v is None for v in values):
        return None
    trace = current_trace()
    expr = node.expr.xreplace({ARG[i]: v for i, v in enumerate(values)})
    return expr.xreplace({s: sp.Integer(trace.concrete(s)) for s in expr.free_symbols})
