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
        assert isinstance(code, str)
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


def _emit_reshape(node: Node, a: list[str], p) -> str:
    """``np.reshape``, except for a slice of one element whose axis the reshape drops: ``t[2]``,
    ``t[:, 1]`` (not ``np.reshape(t[2:3], ())``)."""
    x = node.inputs[0]
    if x.op == "slice_axis" and id(x.inputs[0]) in p.code:
        axis, start, stop = x.param("axis"), x.param("start"), x.param("stop")
        if stop - start == 1 and node.shape == x.shape[:axis] + x.shape[axis + 1:]:
            return f"{p.paren(p.code[id(x.inputs[0])], '[')}[{', '.join([':'] * axis + [p.size(start)])}]"
    return f"np.reshape({a[0]}, {p.shape(node.shape)})"


def _emit_full_like(node: Node, a: list[str], p) -> str:
    """An array shaped and typed like an argument: ``np.ones_like(x)``, ``np.full_like(x, 0.5)``. (An array
    value stays ``np.full_like(x, w)``, not ``w.copy()``: it checks at run time that ``w`` fits ``x``'s shape,
    where the module may have no other check.)"""
    if a[1] in ("0", "0.0", "1", "1.0"):
        return f"np.{'ones' if a[1].startswith('1') else 'zeros'}_like({a[0]})"
    return f"np.full_like({a[0]}, {a[1]})"


def _emit_copy(node: Node, a: list[str], p) -> str:
    """A copy; of a number broadcast, the array made at once: ``np.ones(n)``, ``np.full((n, k), 0.5)``."""
    x = node.inputs[0]
    if x.op == "broadcast_to" and x.inputs[0].ndim == 0 and node.dtype in ("float64", "float32") and \
            id(x.inputs[0]) in p.code and a[0].startswith("np.broadcast_to("):
        value, shape = p.code[id(x.inputs[0])], p.shape(x.shape)
        if value in ("0", "0.0", "1", "1.0"):
            return f"np.{'ones' if value.startswith('1') else 'zeros'}({shape}{p.dtype_arg()})"
        whole = value.lstrip("-").isdigit()  # np.full((n,), 2) would be an integer array
        return f"np.full({shape}, {value}{p.dtype_arg() or (', dtype=float' if whole else '')})"
    return f"np.copy({a[0]})"


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
    'reshape': _emit_reshape,
    'getitem': _emit_getitem,
    'scatter': lambda n, a, p: p.helper_call_code("_scatter", [a[0], p.shape(n.shape),
                                                              f"np.s_[{p.index(n.param('index'))}]"]),
    'full_like': _emit_full_like,
    'stop_gradient': lambda n, a, p: a[0],
    'copy': _emit_copy,
})
