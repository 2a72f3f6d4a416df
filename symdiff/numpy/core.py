"""The registry: every NumPy function symdiff understands, one entry each.

An entry says how the function builds graph nodes (for elementwise functions: its SymPy form, from
which SymPy derives the derivative and the printer the NumPy code; for structural functions: the
primitive it builds, see :mod:`symdiff.ir.primitives.core`), and the inputs its table-driven test samples
(``domain`` for values, ``cases`` for shapes and keyword arguments). Adding a NumPy function is
one line here; ``tests/test_registry.py`` then checks its gradient against finite differences.

This module holds the machinery and the elementwise functions; reductions, linear algebra and shapes
are in :mod:`~symdiff.numpy.reductions`, :mod:`~symdiff.numpy.linalg` and
:mod:`~symdiff.numpy.shape`, which register into the same table.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10

from ..ir import primitives as P
from ..ir import scalar as S
from ..ir.booleans import is_boolean, logical_for, truth_table_form
from ..ir.domain import keep_domain, requirements
from ..errors import ShapeError, UnsupportedError, where
from ..ir.graph import ARG, Node, Origin
from ..ir.shapes import ONE, broadcast_shapes, normalize_axes
from ..trace.tracer import current_trace, user_origin
from ..trace.values import Size, Tracer, TracerList, _constant, const_tracer

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
        ("list": np.concatenate, np.stack, ...) or ``func(kwargs["subscripts"], *arrays)`` ("subscripts")."""
        if self.form == "list":
            return func(list(arrays), **kwargs)
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
        return P.scalar(x.expr)
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
          nargs: int | None = None, conditions=(), notes: str = "") -> Entry:
    """An elementwise NumPy function given by its SymPy form (``conditions``: see :func:`_compose`)."""
    nargs = nargs or _arity(fn)

    def build(origin, *args, **kwargs):
        _no_extras(name, kwargs)
        if len(args) != nargs:
            raise UnsupportedError(f"{_here()}: np.{name} takes {nargs} argument(s), got {len(args)}")
        logic = truth_table_form(name, args)  # booleans only: NumPy's result type (mask + mask is an or)
        if logic is not None:
            return _compose(logic, args, origin, "all")
        return _compose(fn, args, origin, conditions, keep_inputs=name == "multiply")
    return Entry(name, build, domain, cases or (UNARY if nargs == 1 else BINARY), differentiable, notes)


def _where(origin, cond, a=None, b=None):
    if a is None or b is None:
        raise UnsupportedError(f"{_here()}: np.where with one argument (indices) is not differentiable; "
                               "use np.where(cond, a, b)")
    if is_boolean(a) and is_boolean(b):  # a choice between booleans is a boolean, as in NumPy
        return _compose(lambda c, x, y: sp.Or(sp.And(c, x), sp.And(sp.Not(c), y)), (cond, a, b), origin, "all")
    return _compose(lambda c, x, y: sp.Piecewise((x, c), (y, True)), (cond, a, b), origin, conditions=(0,))


def _clip(origin, a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    """``np.clip``; a bound of None is no bound (printed as None)."""
    _no_extras("clip", {"out": out, **kwargs})
    lo, hi = (a_min if a_min is not None else min), (a_max if a_max is not None else max)
    bounds = [b for b in (lo, hi) if b is not None]

    def form(x, *given):
        given = list(given)
        return S.clip(x, -sp.oo if lo is None else given.pop(0), sp.oo if hi is None else given.pop(0))
    return _compose(form, (a, *bounds), origin)


def _round(origin, a, decimals=0, out=None):
    _no_extras("round", {"out": out})
    d = int(decimals)
    return _compose(lambda x: S.round_(x, d) if d else S.round_(x), (a,), origin)


CLIP_CASES: tuple[Case, ...] = ((((3,), (3,), (3,)), ()), (((2, 3), (), ()), ()), (((2, 3), (3,), (2, 1)), ()))
FLAT = "piecewise constant: gradient 0 (also at its jumps)"


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
register(np.fabs, ufunc("fabs", sp.Abs))
register(np.float_power, ufunc("float_power", lambda a, b: a ** b, domain=POS))
register(np.reciprocal, ufunc("reciprocal", lambda a: 1 / a, domain=POS))
register(np.cbrt, ufunc("cbrt", S.cbrt, domain=POS, notes="np.cbrt: real cube root, negative arguments too"))
# ---- exponentials and logarithms ----
register(np.exp, ufunc("exp", sp.exp))
register(np.log, ufunc("log", sp.log, domain=POS))
register(np.log1p, ufunc("log1p", log1p, domain=UNIT))
register(np.expm1, ufunc("expm1", expm1))
register(np.exp2, ufunc("exp2", exp2))
register(np.log2, ufunc("log2", log2, domain=POS))
register(np.log10, ufunc("log10", log10, domain=POS))
register(np.logaddexp, ufunc("logaddexp", S.logaddexp, notes="derivative sigmoid(a - b): finite for all inputs"))
register(np.logaddexp2, ufunc("logaddexp2", S.logaddexp2))
# ---- trigonometric and hyperbolic ----
register(np.sin, ufunc("sin", sp.sin))
register(np.cos, ufunc("cos", sp.cos))
register(np.tan, ufunc("tan", sp.tan, domain=(-1.2, 1.2)))
register(np.arctan, ufunc("arctan", sp.atan))
register(np.tanh, ufunc("tanh", sp.tanh))
register(np.sinh, ufunc("sinh", sp.sinh))
register(np.cosh, ufunc("cosh", sp.cosh))
register(np.arcsin, ufunc("arcsin", sp.asin, domain=UNIT))
register(np.arccos, ufunc("arccos", sp.acos, domain=UNIT))
register(np.arcsinh, ufunc("arcsinh", sp.asinh))
register(np.arccosh, ufunc("arccosh", sp.acosh, domain=(1.2, 3.0)))
register(np.arctanh, ufunc("arctanh", sp.atanh, domain=UNIT))
register(np.arctan2, ufunc("arctan2", sp.atan2, domain=POS, nargs=2))
register(np.hypot, ufunc("hypot", hypot))
register(np.sinc, ufunc("sinc", S.sinc, notes="NumPy's normalized sinc; derivative 0 at 0, by its series nearby"))
for _f in (np.deg2rad, np.radians):
    register(_f, ufunc(_f.__name__, lambda a: a * sp.Float(np.pi / 180)))
for _f in (np.rad2deg, np.degrees):
    register(_f, ufunc(_f.__name__, lambda a: a * sp.Float(180 / np.pi)))
# ---- piecewise constant: derivative zero, not an error ----
register(np.sign, ufunc("sign", S.sign, notes=FLAT))
register(np.floor, ufunc("floor", S.floor, notes=FLAT))
register(np.ceil, ufunc("ceil", S.ceil, notes=FLAT))
register(np.trunc, ufunc("trunc", S.trunc, notes=FLAT))
register(np.fix, ufunc("fix", S.trunc, notes=FLAT))
register(np.rint, ufunc("rint", S.rint, notes=FLAT))
register(np.round, Entry("round", _round, cases=UNARY + ((((4,),), (("decimals", 1),)),), notes=FLAT))
register(np.around, Entry("around", _round, notes=FLAT))
register(np.heaviside, ufunc("heaviside", S.heaviside, notes="derivative 0 in x; in h, 1 where x == 0"))
# ---- choices ----
register(np.maximum, ufunc("maximum", sp.Max, nargs=2))
register(np.minimum, ufunc("minimum", sp.Min, nargs=2))
register(np.fmax, ufunc("fmax", S.fmax, notes="as np.maximum (NaN arguments: the derivative is NaN)"))
register(np.fmin, ufunc("fmin", S.fmin, notes="as np.minimum (NaN arguments: the derivative is NaN)"))
register(np.clip, Entry("clip", _clip, cases=CLIP_CASES, notes="derivative 1 in a at the bounds themselves"))
register(np.where, Entry("where", _where, cases=((((3,), (3,), (3,)), ()), (((2, 3), (3,), ()), ()))))
# ---- comparisons (boolean results: no gradient of their own, used by np.where) ----
register(np.greater, ufunc("greater", lambda a, b: sp.StrictGreaterThan(a, b), differentiable=False))
register(np.greater_equal, ufunc("greater_equal", lambda a, b: sp.GreaterThan(a, b), differentiable=False))
register(np.less, ufunc("less", lambda a, b: sp.StrictLessThan(a, b), differentiable=False))
register(np.less_equal, ufunc("less_equal", lambda a, b: sp.LessThan(a, b), differentiable=False))
register(np.equal, ufunc("equal", lambda a, b: sp.Eq(a, b, evaluate=False), differentiable=False))
register(np.not_equal, ufunc("not_equal", lambda a, b: sp.Ne(a, b, evaluate=False), differentiable=False))
register(np.logical_and, ufunc("logical_and", sp.And, nargs=2, conditions="all", differentiable=False))
register(np.logical_or, ufunc("logical_or", sp.Or, nargs=2, conditions="all", differentiable=False))
register(np.logical_xor, ufunc("logical_xor", sp.Xor, nargs=2, conditions="all", differentiable=False))
# ---- boolean tests of one array (tested as 0/1 factors: gradient zero) ----
register(np.logical_not, ufunc("logical_not", sp.Not, nargs=1, conditions="all"))
register(np.isfinite, ufunc("isfinite", S.isfinite))
register(np.isnan, ufunc("isnan", S.isnan))
register(np.isinf, ufunc("isinf", S.isinf))


# ---------------------------------------------------------------- dispatch ------------------------

def _here() -> str:
    return where(user_origin())


def _func_name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__name__", repr(func))
    return f"np.{name}" if module.startswith("numpy") else f"{module}.{name}"


def call(func: Any, args: tuple, kwargs: dict) -> Any:
    """Apply a registered NumPy function to traced operands."""
    func = getattr(func, "__symdiff_standin__", func)  # NumPy's own function behind a trace-time stand-in
    if func in _ABOUT and args and isinstance(args[0], Tracer):  # np.shape(x), np.ndim(x), np.size(x)
        return _ABOUT[func](args[0], *args[1:], **kwargs)
    constants = _constant((args, kwargs))
    if constants is not None:  # only arrays the function built from constants: NumPy computes it now
        result = func(*constants[0], **constants[1])
        return [const_tracer(r) for r in result] if isinstance(result, (list, tuple)) else const_tracer(result)
    entry = lookup(logical_for(func, args))  # mask & x: np.bitwise_and, logical on booleans
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


__all__ = ["REGISTRY", "SPECIAL_FORMS", "Entry", "register", "lookup", "call", "ONE"]

# The rest of the table (imported last: they use the helpers above).
from . import reductions as numpy_api_reductions  # noqa: E402,F401
from . import linalg as numpy_api_linalg  # noqa: E402,F401
from . import shape as numpy_api_shape  # noqa: E402,F401
