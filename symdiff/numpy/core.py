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
from typing import Callable

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10

from ..ir import scalar as S
from ..trace.dispatch import (BINARY, RESOLVERS, UNARY, Case, Entry, _compose, _here, _no_extras, as_node,  # noqa: F401
                              call, lookup, register, scalar_value, stack_nodes, tracers, REGISTRY, SPECIAL_FORMS,
                              VIEWS, _holds_tracer, is_truth)
from .booleans import is_boolean, logical_for, truth_table_form
from ..trace.masks import nonzero as mask_positions
from ..errors import UnsupportedError
from ..ir.shapes import ONE

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

    path = f"scipy.special.{name}" if notes.startswith("scipy.special") else f"np.{name}"  # for messages

    def build(origin, *args, **kwargs):
        _no_extras(name, kwargs, path=path)
        if len(args) != nargs:
            raise UnsupportedError(f"{_here()}: {path} takes {nargs} argument(s), got {len(args)}")
        logic = truth_table_form(name, args)  # booleans only: NumPy's result type (mask + mask is an or)
        if logic is not None:
            return _compose(logic, args, origin, "all")
        return _compose(fn, args, origin, conditions, keep_inputs=name == "multiply")
    return Entry(name, build, domain, cases or (UNARY if nargs == 1 else BINARY), differentiable, notes)


def _product(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """``a * b``. A placeholder times a nonzero finite float (``x * 1.025``, thousands of times in a long
    program) is made as SymPy makes it, the number first, without SymPy's flattening, which deduces every
    fact of the new float first.

    >>> from symdiff.ir.graph import ARG
    >>> _product(ARG[0], sp.Float(-0.5)) == ARG[0] * sp.Float(-0.5), _product(ARG[0], sp.Float(0.0))
    (True, 0)
    """
    for s, c in ((a, b), (b, a)):
        if type(c) is sp.Float and c._mpf_[1] and isinstance(s, sp.Symbol) and s.is_commutative:
            return sp.Mul._from_args((c, s), True)  # (mantissa 0: zero, inf or nan, which SymPy evaluates)
    return a * b


def _where(origin, cond, a=None, b=None):
    if a is None and b is None:  # np.where(m): np.nonzero(m), positions of a run-time count
        return mask_positions(cond, "np.where")
    if a is None or b is None:
        raise UnsupportedError(f"{_here()}: np.where takes one argument (np.nonzero) or three, not two")
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
register(np.multiply, ufunc("multiply", lambda a, b: _product(a, b)))
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
for _g in (np.rad2deg, np.degrees):
    register(_g, ufunc(_g.__name__, lambda a: a * sp.Float(180 / np.pi)))
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


RESOLVERS.append(logical_for)

__all__ = ["REGISTRY", "SPECIAL_FORMS", "Entry", "register", "lookup", "call", "ONE"]
