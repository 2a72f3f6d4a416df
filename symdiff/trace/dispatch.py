"""How a NumPy function is applied to traced values: the registry's table and its machinery.

:data:`REGISTRY` maps each NumPy function symdiff understands to its :class:`Entry` (how it builds graph
nodes, and the inputs its table-driven test samples); the entries themselves are in
:mod:`symdiff.numpy` and :mod:`symdiff.scipy`, which register into this table. :func:`call` is what a
:class:`~symdiff.trace.values.Tracer` calls for every NumPy function or operator applied to it;
:func:`as_node` turns any operand into a graph node.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import sympy as sp

from ..errors import ShapeError, UnsupportedError, where
from ..ir import primitives as P
from ..ir.domain import keep_domain, requirements
from ..ir.graph import ARG, Node, Origin
from ..ir.shapes import broadcast_shapes, normalize_axes
from . import values
from .tracer import current_trace, user_origin
from .values import Size, Tracer, TracerList, _constant, const_tracer


Case = tuple[tuple[tuple[int, ...], ...], tuple[tuple[str, Any], ...]]  # (argument shapes, kwargs)

UNARY: tuple[Case, ...] = ((((),), ()), (((4,),), ()), (((2, 3),), ()))
BINARY: tuple[Case, ...] = ((((3,), (3,)), ()), (((2, 3), (3,)), ()), (((2, 1), (1, 3)), ()),
                            (((), (2, 3)), ()), (((2, 3), ()), ()))


@dataclass(frozen=True)
class Entry:
    name: str
    build: Callable[..., Any]        # (origin, *args, **kwargs) -> Node (or a list of Tracers)
    domain: tuple[float, float] = (-2.0, 2.0)
    cases: tuple[Case, ...] = UNARY
    differentiable: bool = True     # False: output is boolean; tested through np.where
    notes: str = ""
    form: str = "arrays"            # how the test calls it: see :meth:`invoke`
    sample: Callable[[Any, tuple], Any] | None = None  # (rng, shape) -> test input, instead of the domain

    def invoke(self, func: Any, arrays: list, kwargs: dict) -> Any:
        """Call ``func`` on test arrays: ``func(*arrays, **kwargs)`` ("arrays"), ``func(list(arrays), **kwargs)``
        ("list": np.concatenate, np.stack, ...), ``func(*arrays, *kwargs.values())`` ("positional"),
        ``func(kwargs["subscripts"], *arrays)`` ("subscripts"), ``kwargs["call"](func, *arrays)`` ("call") or
        the arrays with constants placed at the positions of ``kwargs["static"]`` ("static": a Bessel order),
        or its results raveled and joined ("parts": functions returning a tuple, as np.linalg.eigh)."""
        if self.form == "list":
            return func(list(arrays), **kwargs)
        if self.form == "call":  # a function of (func, *arrays) that builds the call (np.select's lists)
            return kwargs["call"](func, *arrays)
        if self.form == "positional":  # constants a ufunc takes positionally only (np.ldexp's n)
            return func(*arrays, *kwargs.values())
        if self.form == "static":  # constants (orders, shape parameters) at the positions kwargs["static"] gives
            fixed, given = dict(kwargs["static"]), list(arrays)
            rest = {k: v for k, v in kwargs.items() if k != "static"}
            return func(*(fixed[k] if k in fixed else given.pop(0) for k in range(len(arrays) + len(fixed))), **rest)
        if self.form == "parts":  # a tuple of results (np.linalg.eigh): all of them, raveled, in one vector
            result = func(*arrays, **kwargs)
            return np.concatenate([np.ravel(r) for r in (result if isinstance(result, (tuple, list)) else [result])])
        if self.form == "subscripts":
            rest = {k: v for k, v in kwargs.items() if k != "subscripts"}
            return func(kwargs["subscripts"], *arrays, **rest)
        return func(*arrays, **kwargs)


#: Functions whose arguments are arrays (``func(*arrays, **constants)``); tests/test_registry.py runs them all.
REGISTRY: dict[Any, Entry] = {}
#: Functions called in another form (a list of arrays, einsum's subscripts); tests/test_surface.py runs them.
SPECIAL_FORMS: dict[Any, Entry] = {}


def register(func: Any, entry: Entry) -> None:
    """Add (or replace) the entry for ``func``."""
    (REGISTRY if entry.form == "arrays" else SPECIAL_FORMS)[func] = entry


def lookup(func: Any) -> Entry | None:
    return REGISTRY.get(func) or SPECIAL_FORMS.get(func)


# ---------------------------------------------------------------- operand conversion --------------

def as_node(x: Any) -> Node:
    """A node for any operand: a Tracer's node, or a constant."""
    if isinstance(x, Tracer):
        return x.checked()
    if isinstance(x, Node):
        return x
    if isinstance(x, Size):
        return values.as_tracer(x).node  # (a size known only at run time: its traced count)
    if isinstance(x, (bool, np.bool_)):
        return P.scalar(sp.true if x else sp.false, "bool")
    value = scalar_value(x)
    if value is not None:
        return P.scalar(value)
    if isinstance(x, (list, tuple)) and _holds_tracer(x):
        return stack_nodes([as_node(e) for e in x], 0)
    if isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype == object:
            raise UnsupportedError(f"{_here()}: a list mixing traced values is not supported yet; "
                                   "build arrays from traced values with arithmetic instead")
        return P.const_node(arr)
    raise UnsupportedError(f"{_here()}: cannot use a value of type {type(x).__name__} in a traced computation")


def _holds_tracer(x: Any) -> bool:
    return isinstance(x, Tracer) or (isinstance(x, (list, tuple)) and any(_holds_tracer(e) for e in x))


def stack_nodes(nodes: list[Node], axis: int, origin: Origin | None = None) -> Node:
    """``np.stack``: arrays of one shape, joined along a new axis (as NumPy converts a list of arrays)."""
    if not nodes:
        raise ShapeError(f"{_here()}: need at least one array to stack")
    ndim = nodes[0].ndim
    if any(n.ndim != ndim for n in nodes):
        raise ShapeError(f"{_here()}: all arrays stacked together must have the same shape")
    axis = normalize_axes(axis, ndim + 1)[0]
    return P.concatenate([P.expand_dims(n, (axis,)) for n in nodes], axis, origin)


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


def _compose(fn: Callable[..., sp.Expr], operands: tuple, origin: Origin | None, conditions=(),
             keep_inputs: bool = False) -> Node:
    """Elementwise node ``fn(*operands)``: traced operands become placeholders, scalars numbers,
    and boolean elementwise operands (comparisons) are inlined as SymPy relations. Operands at the
    positions ``conditions`` (``"all"``: every one) are truth values (``x != 0`` for numbers); elsewhere
    a truth value counts as 1 or 0, as in NumPy arithmetic."""
    nodes: list[Node] = []
    values = []
    for k, x in enumerate(operands):
        number = None if isinstance(x, (Tracer, Size)) else scalar_value(x)
        if number is not None:
            value = number
        else:
            node = as_node(x)
            if node.op == "elementwise" and node.dtype == "bool":
                base = len(nodes)
                nodes.extend(node.inputs)
                value = node.expr.xreplace({ARG[i]: ARG[base + i] for i in range(len(node.inputs))})
            else:
                nodes.append(node)
                value = ARG[len(nodes) - 1] if node.dtype != "bool" else sp.Ne(ARG[len(nodes) - 1], 0)
        truth = is_truth(value)
        if conditions == "all" or k in conditions:
            value = value if truth else sp.Ne(value, 0)
        elif truth:
            value = sp.Piecewise((1, value), (0, True))
        values.append(value)
    expr = fn(*values)
    if keep_inputs:  # 0*y is NaN for y = inf or NaN in NumPy (not 0, as SymPy says): keep y
        expr = keep_domain({c: None for v in values for c in requirements(v)}, expr)
    return P.elementwise(expr, nodes, shape=broadcast_shapes(*(n.shape for n in nodes)), origin=origin)


def is_truth(e: Any) -> bool:
    """A SymPy truth value (relation, logic, True/False); a Symbol is a Boolean to SymPy but not here."""
    return isinstance(e, sp.logic.boolalg.Boolean) and not isinstance(e, sp.Expr)


def _no_extras(name: str, kwargs: dict, allowed: tuple[str, ...] = (), path: str | None = None) -> None:
    """Refuse keyword arguments other than ``allowed`` (``path``: the function's name, ``np.<name>`` if None)."""
    for k, v in kwargs.items():
        if k in allowed or v is None:
            continue
        if k == "dtype" and np.dtype(v).kind == "f":
            continue
        shown = path or f"np.{name}"
        raise UnsupportedError(f"{_here()}: {shown}(..., {k}=...) is not supported; call it without {k}=")


# ---------------------------------------------------------------- dispatch ------------------------

def _here() -> str:
    return where(user_origin())


def _func_name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    return f"np.{name}" if module.startswith("numpy") else f"{module}.{name}"


#: ``resolve(func, args) -> func``: what a NumPy function stands for on these operands, asked before the
#: registry (the NumPy registry adds the rule of booleans: bitwise ufuncs are logical on them).
RESOLVERS: list[Callable[[Any, tuple], Any]] = []


def call(func: Any, args: tuple, kwargs: dict) -> Any:
    """Apply a registered NumPy function to traced operands."""
    func = getattr(func, "__symdiff_standin__", func)  # NumPy's own function behind a trace-time stand-in
    if func in _ABOUT and args and isinstance(args[0], Tracer):  # np.shape(x), np.ndim(x), np.size(x)
        return _ABOUT[func](args[0], *args[1:], **kwargs)
    constants = _constant((args, kwargs))
    if constants is not None:  # only arrays the function built from constants: NumPy computes it now
        result = func(*constants[0], **constants[1])
        return [const_tracer(r) for r in result] if isinstance(result, (list, tuple)) else const_tracer(result)
    for resolve in RESOLVERS:  # e.g. mask & x: np.bitwise_and, which is np.logical_and on booleans
        func = resolve(func, args)
    entry = lookup(func)
    if entry is None:
        raise UnsupportedError(
            f"{_here()}: {_func_name(func)} is not supported by symdiff. Rewrite it with supported functions "
            "(see the table in the README), or add it with symdiff.register")
    origin = user_origin()
    result = entry.build(origin, *args, **kwargs)
    base = next((a for a in args if isinstance(a, Tracer)), None) if func in VIEWS else None
    if isinstance(result, Node):
        return Tracer(current_trace().note(result), base=base)
    if base is not None and isinstance(result, TracerList):
        return TracerList(Tracer(t.node, base=base) for t in result)
    return result


_ABOUT: dict[Any, Callable] = {np.shape: lambda x: x.shape, np.ndim: lambda x: x.ndim,
                                np.size: lambda x, axis=None: x.size if axis is None else x.shape[axis]}

#: Functions whose result is a view of their (first) array argument in NumPy.
VIEWS = {np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.squeeze, np.expand_dims, np.broadcast_to,
         np.diagonal, np.atleast_1d, np.atleast_2d, np.atleast_3d, np.flip, np.fliplr, np.flipud, np.split}


def tracers(nodes: list[Node]) -> TracerList:
    """Several results (np.split, np.atleast_1d of several arrays): a list NumPy functions see as one array."""
    trace = current_trace()
    return TracerList(Tracer(trace.note(n)) for n in nodes)


values.HANDLER[:] = [call]  # Tracers apply NumPy functions through the registry
