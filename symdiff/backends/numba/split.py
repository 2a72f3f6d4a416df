"""The calls NumPy computes faster than a numba loop, taken out of the elementwise nodes a loop fuses.

NumPy's ufuncs for ``exp``, ``log``, ``tanh``, ``sin`` and the others of
:data:`.kernels.NUMPY_VECTORIZED` run SIMD loops, 5-12x faster per element than the scalar libm call
numba makes inside a loop. :func:`split_calls` rebuilds each float64 elementwise node whose kernel
calls one of them (``t*np.sin(u) - v``) as a node computing the call alone (``np.sin(u)``: NumPy code
in the glue, one ufunc call) and the node itself reading that call's result as one more input (the
arithmetic around it, which a loop fuses). A call two nodes share over the same inputs is one node.
"""
from __future__ import annotations

import ast
from typing import Sequence

import sympy as sp

from ...ir.graph import ARG, Node, arg_index, rebuild, with_inputs
from ...ir.shapes import broadcast_shapes
from .kernels import NUMPY_VECTORIZED, LoopPrinter


def _vectorized(call: sp.Expr) -> bool:
    """Whether ``call`` prints as one of NumPy's SIMD ufuncs applied to its arguments."""
    try:
        code = LoopPrinter({a: f"a{k}" for k, a in enumerate(ARG)}).doprint(call)
        tree = ast.parse(code, mode="eval").body
    except (ValueError, TypeError, NotImplementedError, SyntaxError, RecursionError):
        return False
    return isinstance(tree, ast.Call) and isinstance(tree.func, ast.Attribute) and \
        isinstance(tree.func.value, ast.Name) and tree.func.value.id == "np" and tree.func.attr in NUMPY_VECTORIZED


def _outermost_calls(expr: sp.Expr) -> list[sp.Expr]:
    found: list[sp.Expr] = []
    stack = [expr]
    while stack:
        e = stack.pop()
        if e.is_Function and e.free_symbols and _vectorized(e):
            if e not in found:
                found.append(e)
        else:
            stack.extend(e.args)
    return found


def split_calls(outputs: Sequence[Node]) -> list[Node]:
    """The graph with each vectorized call of a mixed elementwise node computed by a node of its own."""
    shared: dict[tuple, Node] = {}

    def split(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op != "elementwise" or node.expr is None or node.ndim == 0 or node.dtype != "float64" or \
                any(x.dtype not in ("float64", "bool") for x in inputs):
            return node
        calls = [c for c in _outermost_calls(node.expr) if c != node.expr]
        if not calls or len(inputs) + len(calls) > len(ARG):
            return node
        extra: list[Node] = []
        replace: dict[sp.Expr, sp.Symbol] = {}
        for call in calls:
            used = sorted(k for k in map(arg_index, call.free_symbols) if k is not None)
            if len(used) != len(call.free_symbols):
                return node  # a symbol that is no input (a size): left whole
            expr = call.xreplace({ARG[k]: ARG[j] for j, k in enumerate(used)})
            args = tuple(inputs[k] for k in used)
            key = (expr, tuple(id(x) for x in args))
            if key not in shared:
                shared[key] = Node("elementwise", args, broadcast_shapes(*(x.shape for x in args)), expr=expr,
                                   dtype="float64", origin=node.origin)
            replace[call] = ARG[len(inputs) + len(extra)]
            extra.append(shared[key])
        expr = node.expr.xreplace(replace)
        inputs += tuple(extra)
        kept = [k for k in range(len(inputs)) if ARG[k] in expr.free_symbols]  # (an input only a call read)
        return with_inputs(node, tuple(inputs[k] for k in kept),
                           expr=expr.xreplace({ARG[k]: ARG[j] for j, k in enumerate(kept)}))

    return rebuild(outputs, split)
