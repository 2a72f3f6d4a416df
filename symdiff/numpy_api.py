"""The registry: every NumPy function symdiff understands, one entry each.

An entry says how the function builds graph nodes (for elementwise functions: its SymPy form, from
which SymPy derives the derivative and the printer the NumPy code; for structural functions: the
primitive it builds, see :mod:`symdiff.primitives`), and the inputs its table-driven test samples
(``domain`` for values, ``cases`` for shapes and keyword arguments). Adding a NumPy function is
one line here; ``tests/test_registry.py`` then checks its gradient against finite differences.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from . import primitives as P
from .errors import ShapeError, UnsupportedError, where
from .ir import ARG, Node, Origin
from .shapes import ONE, broadcast_shapes, size_of
from .tracer import current_trace, user_origin
from .values import Size, Tracer

Case = tuple[tuple[tuple[int, ...], ...], tuple[tuple[str, Any], ...]]  # (argument shapes, kwargs)

UNARY: tuple[Case, ...] = ((((),), ()), (((4,),), ()), (((2, 3),), ()))
BINARY: tuple[Case, ...] = ((((3,), (3,)), ()), (((2, 3), (3,)), ()), (((2, 1), (1, 3)), ()),
                            (((), (2, 3)), ()), (((2, 3), ()), ()))


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[..., Any]        # (origin, *args, **kwargs) -> Node
    domain: tuple[float, float] = (-2.0, 2.0)
    cases: tuple[Case, ...] = UNARY
    differentiable: bool = True     # False: output is boolean; tested through np.where
    notes: str = ""


REGISTRY: dict[Any, Entry] = {}


def register(func: Any, entry: Entry) -> None:
    """Add (or replace) the entry for ``func``."""
    REGISTRY[func] = entry


# ---------------------------------------------------------------- operand conversion --------------

def as_node(x: Any) -> Node:
    """A node for any operand: a Tracer's node, or a constant."""
    if isinstance(x, Tracer):
        return x.node
    if isinstance(x, Size):
        return P.scalar(x.expr)
    value = scalar_value(x)
    if value is not None:
        return P.scalar(value)
    if isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype == object:
            raise UnsupportedError(f"{_here()}: a list mixing traced values is not supported yet; "
                                   "build arrays from traced values with arithmetic instead")
        return P.const_node(arr)
    raise UnsupportedError(f"{_here()}: cannot use a value of type {type(x).__name__} in a traced computation")


def scalar_value(x: Any) -> sp.Expr | None:
    """A SymPy number for a Python/NumPy scalar (or 0-d array), else None."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x[()]
    if isinstance(x, (bool, np.bool_)):
        return sp.Integer(int(x))
    if isinstance(x, (numbers.Integral, np.integer)):
        return sp.Integer(int(x))
    if isinstance(x, (numbers.Real, np.floating)):
        return sp.Float(float(x))
    return None


def _compose(fn: Callable[..., sp.Expr], operands: tuple, origin: Origin | None) -> Node:
    """Elementwise node ``fn(*operands)``: traced operands become placeholders, scalars numbers,
    and boolean elementwise operands (comparisons) are inlined as SymPy relations."""
    nodes: list[Node] = []
    values = []
    for x in operands:
        number = None if isinstance(x, (Tracer, Size)) else scalar_value(x)
        if number is not None:
            values.append(number)
            continue
        node = as_node(x)
        if node.op == "elementwise" and node.dtype == "bool":
            base = len(nodes)
            nodes.extend(node.inputs)
            values.append(node.expr.xreplace({ARG[i]: ARG[base + i] for i in range(len(node.inputs))}))
        else:
            nodes.append(node)
            values.append(ARG[len(nodes) - 1] if node.dtype != "bool" else sp.Ne(ARG[len(nodes) - 1], 0))
    return P.elementwise(fn(*values), nodes, shape=broadcast_shapes(*(n.shape for n in nodes)), origin=origin)


def _no_extras(name: str, kwargs: dict, allowed: tuple[str, ...] = ()) -> None:
    for k, v in kwargs.items():
        if k in allowed or v is None:
            continue
        if k == "dtype" and np.dtype(v).kind == "f":
            continue
        raise UnsupportedError(f"{_here()}: np.{name}(..., {k}=...) is not supported; call it without {k}=")


# ---------------------------------------------------------------- entry builders ------------------

def _arity(fn: Callable) -> int:
    """Number of required arguments of a SymPy function or a lambda."""
    if isinstance(fn, type):  # a sympy.Function class
        counts = getattr(fn, "nargs", None)
        return min(counts) if counts and hasattr(counts, "__iter__") and min(counts) > 0 else 1
    params = inspect.signature(fn).parameters.values()
    return sum(1 for p in params if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD)


def ufunc(name: str, fn: Callable[..., sp.Expr], domain=(-2.0, 2.0), cases=None, differentiable=True,
          nargs: int | None = None) -> Entry:
    """An elementwise NumPy function given by its SymPy form."""
    nargs = nargs or _arity(fn)

    def build(origin, *args, **kwargs):
        _no_extras(name, kwargs)
        if len(args) != nargs:
            raise UnsupportedError(f"{_here()}: np.{name} takes {nargs} argument(s), got {len(args)}")
        return _compose(fn, args, origin)
    return Entry(name, build, domain, cases or (UNARY if nargs == 1 else BINARY), differentiable)


def _reduction(op: str):
    def build(origin, a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        _no_extras(op, {"out": out, **kwargs})
        node = as_node(a)
        if isinstance(axis, list):
            axis = tuple(axis)
        return P.reduce(op, node, axis=axis, keepdims=keepdims, origin=origin)
    return build


REDUCE_CASES: tuple[Case, ...] = ((((2, 3),), ()), (((2, 3),), (("axis", 0),)), (((2, 3),), (("axis", -1), ("keepdims", True))),
                                  (((2, 3, 4),), (("axis", (0, 2)),)), (((4,),), (("keepdims", True),)))


def _matmul(origin, a, b, **kwargs):
    _no_extras("matmul", kwargs)
    return P.matmul(as_node(a), as_node(b), origin)


def _dot(origin, a, b, out=None):
    _no_extras("dot", {"out": out})
    na, nb = as_node(a), as_node(b)
    if na.ndim == 0 or nb.ndim == 0:
        return _compose(lambda x, y: x * y, (a, b), origin)
    if na.ndim > 2 or nb.ndim > 2:
        raise UnsupportedError(f"{_here()}: np.dot of arrays with more than 2 dimensions; use np.matmul or np.einsum")
    return P.matmul(na, nb, origin)


def _transpose(origin, a, axes=None):
    return P.transpose(as_node(a), axes, origin)


def _reshape(origin, a, shape=None, order="C", newshape=None, copy=None):
    if order != "C":
        raise UnsupportedError(f"{_here()}: reshape with order={order!r}; only C order is supported")
    node = as_node(a)
    shape = newshape if shape is None else shape
    dims = list(shape) if isinstance(shape, (tuple, list)) else [shape]
    trace = current_trace()
    total = trace.resolve(size_of(node.shape))
    out: list[sp.Expr] = []
    for d in dims:
        out.append(d.expr if isinstance(d, Size) else sp.Integer(int(d)))
    if out.count(sp.Integer(-1)) > 1:
        raise ShapeError(f"{_here()}: reshape can only infer one dimension (-1)")
    if sp.Integer(-1) in out:
        rest = size_of([d for d in out if d != -1])
        inferred = sp.simplify(total / rest)
        if not (inferred.is_integer or inferred.is_Symbol):
            inferred = sp.Integer(trace.concrete(total) // trace.concrete(rest))
        out[out.index(sp.Integer(-1))] = inferred
    new = tuple(trace.resolve(d) for d in out)
    if sp.simplify(size_of(new) - total) != 0 and trace.concrete(size_of(new)) != trace.concrete(total):
        raise ShapeError(f"{_here()}: cannot reshape an array of shape {node.shape} into shape {new}")
    return P.reshape(node, tuple(trace.resolve(d) for d in new), origin)


def _where(origin, cond, a=None, b=None):
    if a is None or b is None:
        raise UnsupportedError(f"{_here()}: np.where with one argument (indices) is not differentiable; "
                               "use np.where(cond, a, b)")
    return _compose(lambda c, x, y: sp.Piecewise((x, c), (y, True)), (cond, a, b), origin)


def stop_gradient_build(origin, x):
    return P.stop_gradient(as_node(x))


# ---------------------------------------------------------------- the table -----------------------
POS, UNIT = (0.3, 3.0), (-0.9, 0.9)

# ---- arithmetic ----
register(np.add, ufunc("add", lambda a, b: a + b))
register(np.subtract, ufunc("subtract", lambda a, b: a - b))
register(np.multiply, ufunc("multiply", lambda a, b: a * b))
register(np.true_divide, ufunc("divide", lambda a, b: a / b, domain=POS))
register(np.power, ufunc("power", lambda a, b: a ** b, domain=POS))
register(np.negative, ufunc("negative", lambda a: -a))
register(np.positive, ufunc("positive", lambda a: a))
register(np.square, ufunc("square", lambda a: a ** 2))
register(np.sqrt, ufunc("sqrt", sp.sqrt, domain=POS, nargs=1))
register(np.abs, ufunc("abs", sp.Abs))
# ---- exponentials and logarithms ----
register(np.exp, ufunc("exp", sp.exp))
register(np.log, ufunc("log", sp.log, domain=POS))
register(np.log1p, ufunc("log1p", log1p, domain=UNIT))
register(np.expm1, ufunc("expm1", expm1))
# ---- trigonometric and hyperbolic ----
register(np.sin, ufunc("sin", sp.sin))
register(np.cos, ufunc("cos", sp.cos))
register(np.tan, ufunc("tan", sp.tan, domain=(-1.2, 1.2)))
register(np.arctan, ufunc("arctan", sp.atan))
register(np.tanh, ufunc("tanh", sp.tanh))
register(np.sinh, ufunc("sinh", sp.sinh))
register(np.cosh, ufunc("cosh", sp.cosh))
# ---- choices ----
register(np.maximum, ufunc("maximum", sp.Max, nargs=2))
register(np.minimum, ufunc("minimum", sp.Min, nargs=2))
register(np.where, Entry("where", _where, cases=((((3,), (3,), (3,)), ()), (((2, 3), (3,), ()), ()))))
# ---- comparisons (boolean results: no gradient of their own, used by np.where) ----
register(np.greater, ufunc("greater", lambda a, b: sp.StrictGreaterThan(a, b), differentiable=False))
register(np.greater_equal, ufunc("greater_equal", lambda a, b: sp.GreaterThan(a, b), differentiable=False))
register(np.less, ufunc("less", lambda a, b: sp.StrictLessThan(a, b), differentiable=False))
register(np.less_equal, ufunc("less_equal", lambda a, b: sp.LessThan(a, b), differentiable=False))
register(np.equal, ufunc("equal", lambda a, b: sp.Eq(a, b, evaluate=False), differentiable=False))
register(np.not_equal, ufunc("not_equal", lambda a, b: sp.Ne(a, b, evaluate=False), differentiable=False))
# ---- reductions ----
register(np.sum, Entry("sum", _reduction("sum"), cases=REDUCE_CASES))
register(np.mean, Entry("mean", _reduction("mean"), cases=REDUCE_CASES))
register(np.max, Entry("max", _reduction("max"), cases=REDUCE_CASES))
register(np.amax, Entry("amax", _reduction("max"), cases=REDUCE_CASES))
register(np.min, Entry("min", _reduction("min"), cases=REDUCE_CASES))
register(np.amin, Entry("amin", _reduction("min"), cases=REDUCE_CASES))
# ---- linear algebra ----
MATMUL_CASES: tuple[Case, ...] = ((((3,), (3,)), ()), (((3,), (3, 2)), ()), (((2, 3), (3,)), ()),
                                  (((2, 3), (3, 4)), ()), (((2, 2, 3), (3, 4)), ()), (((3,), (2, 3, 4)), ()))
register(np.matmul, Entry("matmul", _matmul, cases=MATMUL_CASES))
register(np.dot, Entry("dot", _dot, cases=MATMUL_CASES[:4] + ((((), (3,)), ()),)))
# ---- shape ----
register(np.transpose, Entry("transpose", _transpose, cases=((((2, 3),), ()), (((2, 3, 4),), (("axes", (1, 2, 0)),)))))
register(np.reshape, Entry("reshape", _reshape, cases=((((2, 3),), (("shape", (3, 2)),)), (((2, 3),), (("shape", -1),)),
                                                      (((6,),), (("shape", (2, -1)),)))))


# ---------------------------------------------------------------- dispatch ------------------------

def _here() -> str:
    return where(user_origin())


def _func_name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    return f"np.{name}" if module.startswith("numpy") else f"{module}.{name}"


def call(func: Any, args: tuple, kwargs: dict) -> Any:
    """Apply a registered NumPy function to traced operands."""
    entry = REGISTRY.get(func)
    if entry is None:
        raise UnsupportedError(
            f"{_here()}: {_func_name(func)} is not supported by symdiff. Rewrite it with supported functions "
            "(see the table in the README), or add it with symdiff.register")
    origin = user_origin()
    result = entry.build(origin, *args, **kwargs)
    return Tracer(current_trace().note(result)) if isinstance(result, Node) else result


def getitem(x: Tracer, index: Any) -> Tracer:
    """Basic indexing ``x[index]`` with constant ints, slices, None and Ellipsis."""
    trace = current_trace()
    items = list(index) if isinstance(index, tuple) else [index]
    n_axes = sum(1 for i in items if i is not None and i is not Ellipsis)
    if n_axes > x.ndim:
        raise ShapeError(f"{_here()}: too many indices ({n_axes}) for an array of {x.ndim} dimensions")
    out: list[Any] = []
    for item in items:
        if item is Ellipsis:
            out.extend(("slice", None, None, None) for _ in range(x.ndim - n_axes))
        elif item is None:
            out.append(None)
        elif isinstance(item, slice):
            out.append(("slice",) + tuple(None if v is None else int(v) for v in (item.start, item.stop, item.step)))
        elif isinstance(item, (numbers.Integral, np.integer, Size)) and not isinstance(item, bool):
            out.append(int(item))
        else:
            raise UnsupportedError(f"{_here()}: indexing with {type(item).__name__} is not supported yet; "
                                   "use constant ints, slices, None and ...")
    axis = 0
    for item in out:
        if isinstance(item, int):
            dim = x.node.shape[axis]
            if dim.is_Integer and not -int(dim) <= item < int(dim):
                raise ShapeError(f"{_here()}: index {item} is out of bounds for axis {axis} with size {dim}")
            if not dim.is_Integer and trace.value(dim) is not None and not -trace.value(dim) <= item < trace.value(dim):
                raise ShapeError(f"{_here()}: index {item} is out of bounds for axis {axis} with size {trace.value(dim)}")
        if item is not None:
            axis += 1
    shape: list[sp.Expr] = []
    axis = 0
    for item in out:
        if item is None:
            shape.append(ONE)
            continue
        if isinstance(item, tuple):
            shape.append(_checked_slice_length(trace, x.node.shape[axis], item[1:]))
        axis += 1
    shape.extend(x.node.shape[axis:])
    node = P.getitem(x.node, tuple(out), user_origin(), shape=tuple(shape))
    return Tracer(trace.note(node))


def _checked_slice_length(trace, dim: sp.Expr, bounds: tuple) -> sp.Expr:
    """The slice's length as a formula in the axis size where that formula is right for the traced
    size, else its value (specialising the size)."""
    formula = P.slice_length(trace.resolve(dim), *bounds)
    value = trace.value(dim)
    if value is None:
        if formula is None:
            raise UnsupportedError(f"{_here()}: slice {slice(*bounds)} of an axis of symbolic size {dim}; "
                                   "give a concrete size for this axis")
        return formula
    actual = len(range(*slice(*bounds).indices(value)))
    if formula is not None and trace.value(formula) == actual and actual > 0:
        return formula
    trace.concrete(dim)
    return sp.Integer(actual)


__all__ = ["REGISTRY", "Entry", "register", "call", "getitem", "ONE"]
