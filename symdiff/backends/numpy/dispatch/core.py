"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.core`:
leaves, elementwise kernels, broadcasting, reductions, transposes, reshapes, basic indexing.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

from ....ir.graph import Node
from ....ir.primitives.core import _count
from .table import EMIT, Emit


def axis_args(node: Node) -> list[str]:
    """A reduction's ``axis=`` and ``keepdims=`` arguments, where they are not the defaults (every
    backend's reductions take these two as NumPy does)."""
    axes, x = node.param("axis"), node.inputs[0]
    args = []
    if len(axes) != x.ndim or (node.param("keepdims") and x.ndim):
        args.append("axis=" + (str(axes[0]) if len(axes) == 1 else str(tuple(axes))))
    if node.param("keepdims") and x.ndim:
        args.append("keepdims=True")
    return args


def _emit_reduce(method: str) -> Emit:
    """``a.sum(axis=...)``: the method form, which costs half a call of ``np.sum`` on small arrays."""
    def emit(node: Node, a: list[str], p) -> str:
        x = node.inputs[0]
        args = axis_args(node)
        if x.dtype == "bool" and node.dtype != "bool":  # counts of booleans: float64 data, not int64
            args.append("dtype=float")
        if not x.ndim:  # a 0-d argument may be a Python float, which has no methods
            return f"np.{method}({', '.join([a[0], *args])})"
        return f"{p.paren(a[0], '.')}.{method}({', '.join(args)})"
    return emit


def mean_of(total: Emit) -> Emit:
    """The mean as ``total(...)/n`` (``total``: a backend's sum), with ``n`` read at run time: cheaper
    than ``np.mean`` and as exact."""
    def emit(node: Node, a: list[str], p) -> str:
        count = _count(node)
        code = total(node, a, p)
        return code if count == 1 else f"{code}/{p.paren(p.size(count), '/')}"
    return emit


def _emit_transpose(node: Node, a: list[str], p) -> str:
    axes = node.param("axes")
    if axes == tuple(range(len(axes)))[::-1]:
        return f"{p.paren(a[0], '.')}.T"
    return f"np.transpose({a[0]}, {axes})"


def _emit_getitem(node: Node, a: list[str], p) -> str:
    base = p.paren(a[0], "[") if node.inputs[0].ndim else f"np.asarray({a[0]})"
    return f"{base}[{p.index(node.param('index'))}]"


EMIT.update({
    'input': lambda n, a, p: n.param("name"),
    'const': lambda n, a, p: p.const_name(n),
    'elementwise': lambda n, a, p: p.expr(n, a),
    'broadcast_to': lambda n, a, p: f"np.broadcast_to({p.float_number(n, a[0])}, {p.shape(n.shape)})",
    'sum': _emit_reduce("sum"),
    'mean': mean_of(_emit_reduce("sum")),
    'max': _emit_reduce("max"),
    'min': _emit_reduce("min"),
    'prod': _emit_reduce("prod"),
    'transpose': _emit_transpose,
    'reshape': lambda n, a, p: f"np.reshape({a[0]}, {p.shape(n.shape)})",
    'getitem': _emit_getitem,
    'scatter': lambda n, a, p: p.helper_call_code("_scatter", [a[0], p.shape(n.shape),
                                                              f"np.s_[{p.index(n.param('index'))}]"]),
    'full_like': lambda n, a, p: f"np.full_like({a[0]}, {a[1]})",
    'stop_gradient': lambda n, a, p: a[0],
    'copy': lambda n, a, p: f"np.copy({a[0]})",
})
