"""Scalar functions SymPy lacks, with their derivatives and their NumPy printing.

Each is a ``sympy.Function`` subclass: ``fdiff`` gives the derivative (so the reverse pass and any
later pass differentiate through it), ``_numpycode`` prints it in a numerically stable NumPy form.

>>> import sympy as sp
>>> z = sp.Symbol("z", real=True)
>>> sp.diff(softplus(z), z)
sigmoid(z)
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.logic.boolalg import BooleanFunction

#: Source of helper functions a generated module may need, keyed by helper name.
HELPERS: dict[str, str] = {
    "_sigmoid": '''def _sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)''',
    "_scatter": '''def _scatter(g, shape, index):
    """Zeros of ``shape`` with ``g`` placed at ``index`` (gradient of indexing)."""
    out = np.zeros(shape, dtype=np.result_type(g, 1.0))
    out[index] = g
    return out''',
    "_scatter_add": '''def _scatter_add(g, shape, index):
    """Zeros of ``shape`` with ``g`` added at ``index``, repeated elements adding up."""
    out = np.zeros(shape, dtype=np.result_type(g, 1.0))
    np.add.at(out, index, g)
    return out''',
    "BranchNotCompiled": '''class BranchNotCompiled(LookupError):
    """These arguments take a branch this module has no code for yet (symdiff compiles it when called)."""''',
    "_updated": '''def _updated(a, index, value):
    """A copy of ``a`` with ``a[index]`` replaced by ``value`` (``a[index] = value`` without
    changing ``a``)."""
    out = np.array(a, dtype=np.result_type(a, value))
    out[index] = value
    return out''',
}


class RealFunction(sp.Function):
    """A function that is real where all its arguments are (all of symdiff's are)."""

    def _eval_is_real(self):
        return all(a.is_real for a in self.args) or None


class sigmoid(RealFunction):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))


    def _numpycode(self, printer):
        return printer.helper_call("_sigmoid", self.args[0])


class softplus(RealFunction):
    """``log(1 + exp(x))``, printed as ``np.logaddexp(0, x)`` (no overflow)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))


    def _numpycode(self, printer):
        return f"np.logaddexp(0, {printer._print(self.args[0])})"


HELPERS["_dsinc"] = '''def _dsinc(x):
    """Derivative of np.sinc: (cos(pi x) - sinc(x)) / x, by its series near 0 (no 0/0)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    p2 = (np.pi * x) ** 2
    series = -np.pi ** 2 * x / 3 * (1 - p2 / 10 + p2 ** 2 / 280)
    return np.where(small, series, (np.cos(np.pi * safe) - np.sinc(safe)) / safe)'''

HELPERS["_diag_embed"] = '''def _diag_embed(g, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``g`` (the diagonal along its last axis) placed on diagonal ``offset``
    of axes ``axis1``, ``axis2`` (gradient of np.diagonal)."""
    out = np.zeros(shape, dtype=np.result_type(g, 1.0))
    k = np.arange(np.shape(g)[-1])
    np.moveaxis(out, (axis1, axis2), (-2, -1))[..., k + max(-offset, 0), k + max(offset, 0)] = g
    return out'''


# ---------------------------------------------------------------- NumPy functions SymPy lacks -------
# Each prints as the NumPy function itself, so the generated value is NumPy's own (finite wherever
# NumPy's is); the derivative is given in a form that is finite wherever the derivative is.

def _number(fn, *args):
    """``fn`` of SymPy numbers, as a SymPy number (an Integer when integral), or None for non-numbers."""
    if not all(a.is_Number for a in args):
        return None
    value = float(fn(*(int(a) if a.is_Integer else float(a) for a in args)))
    return sp.Integer(int(value)) if value.is_integer() else sp.Float(value)


def _np_call(name: str):
    def numpycode(self, printer):
        return f"np.{name}({', '.join(printer._print(a) for a in self.args)})"
    return numpycode


def _flat(name: str, numpy_name: str, nargs=1) -> type:
    """A piecewise-constant NumPy function (floor, sign, ...): derivative zero everywhere (its value
    almost everywhere; at jumps there is no derivative and zero is the useful choice)."""
    fn = getattr(np, numpy_name)
    return type(name, (RealFunction,), {
        "__doc__": f"``np.{numpy_name}``: piecewise constant, derivative 0.",
        "__module__": __name__,
        "nargs": nargs,
        "fdiff": lambda self, argindex=1: sp.S.Zero,
        "eval": classmethod(lambda cls, *args: _number(fn, *args)),
        "_numpycode": _np_call(numpy_name),
    })


sign = _flat("sign", "sign")
floor = _flat("floor", "floor")
ceil = _flat("ceil", "ceil")
trunc = _flat("trunc", "trunc")
rint = _flat("rint", "rint")
round_ = _flat("round", "round", nargs=(1, 2))  # round(x) or round(x, decimals)


def _predicate(name: str) -> type:
    """A boolean NumPy test (isfinite, ...): a condition for np.where, no derivative."""
    fn = getattr(np, name)

    def eval_(cls, x):
        return sp.true if x.is_Number and bool(fn(float(x))) else (sp.false if x.is_Number else None)
    return type(name, (BooleanFunction,), {
        "__doc__": f"``np.{name}``: a boolean test of its argument.",
        "__module__": __name__,
        "nargs": 1,
        "eval": classmethod(eval_),
        "_numpycode": _np_call(name),
    })


isfinite = _predicate("isfinite")
isnan = _predicate("isnan")
isinf = _predicate("isinf")


class cbrt(RealFunction):
    """``np.cbrt``: the real cube root, defined for negative arguments too (unlike ``x**(1/3)``)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    @classmethod
    def eval(cls, x):
        return _number(np.cbrt, x)


    _numpycode = _np_call("cbrt")


class sinc(RealFunction):
    """NumPy's normalized ``sinc(x) = sin(pi x) / (pi x)``, 1 at 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return dsinc(self.args[0])

    @classmethod
    def eval(cls, x):
        return _number(np.sinc, x)


    _numpycode = _np_call("sinc")


class dsinc(RealFunction):
    """Derivative of :class:`sinc`, ``(cos(pi x) - sinc(x)) / x`` and 0 at 0, printed by a helper
    that uses the series near 0 (the formula cancels catastrophically there)."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.Piecewise((-sp.pi ** 2 * sinc(x) - 2 * dsinc(x) / x, sp.Ne(x, 0)), (-sp.pi ** 2 / 3, True))


    def _numpycode(self, printer):
        return printer.helper_call("_dsinc", self.args[0])


class logaddexp(RealFunction):
    """``np.logaddexp(a, b) = log(exp(a) + exp(b))``, with derivatives ``sigmoid(a - b)``, ``sigmoid(b - a)``."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sigmoid(a - b) if argindex == 1 else sigmoid(b - a)

    @classmethod
    def eval(cls, a, b):
        return _number(np.logaddexp, a, b)


    _numpycode = _np_call("logaddexp")


class logaddexp2(RealFunction):
    """``np.logaddexp2(a, b) = log2(2**a + 2**b)``, with derivatives ``sigmoid((a - b) log 2)``, ..."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sigmoid((a - b) * sp.log(2)) if argindex == 1 else sigmoid((b - a) * sp.log(2))

    @classmethod
    def eval(cls, a, b):
        return _number(np.logaddexp2, a, b)


    _numpycode = _np_call("logaddexp2")


def _fminmax(name: str, sign_: int) -> type:
    """``np.fmax``/``np.fmin``: like Max/Min (ties share the derivative, as ``np.maximum`` does)."""
    fn = getattr(np, name)

    def fdiff(self, argindex=1):
        a, b = self.args
        d = sign_ * (a - b) if argindex == 1 else sign_ * (b - a)
        return sp.Heaviside(d)
    return type(name, (RealFunction,), {
        "__doc__": f"``np.{name}`` (NaN-ignoring {'max' if sign_ > 0 else 'min'}imum).",
        "__module__": __name__, "nargs": 2, "fdiff": fdiff,
        "eval": classmethod(lambda cls, a, b: _number(fn, a, b)),
        "_numpycode": _np_call(name),
    })


fmax = _fminmax("fmax", 1)
fmin = _fminmax("fmin", -1)


class heaviside(RealFunction):
    """``np.heaviside(x, h)``: 0 below 0, ``h`` at 0, 1 above; derivative 0 in ``x``, in ``h`` the
    indicator of ``x == 0``."""

    nargs = 2

    def fdiff(self, argindex=1):
        if argindex == 1:
            return sp.S.Zero
        return sp.Piecewise((1, sp.Eq(self.args[0], 0)), (0, True))

    @classmethod
    def eval(cls, x, h):
        return _number(np.heaviside, x, h)


    _numpycode = _np_call("heaviside")


class clip(RealFunction):
    """``np.clip(a, lo, hi) = minimum(maximum(a, lo), hi)``; an infinite bound is no bound. At a bound
    the derivative is 1 in ``a`` (as ``torch.clamp``); ``lo > hi`` gives ``hi`` everywhere, like NumPy."""

    nargs = 3

    def fdiff(self, argindex=1):
        a, lo, hi = self.args
        if argindex == 1:
            cond = sp.And(a >= lo, a <= hi)
        elif argindex == 2:
            cond = sp.And(a < lo, lo <= hi)
        else:
            cond = sp.Or(a > hi, lo > hi)
        return sp.Piecewise((1, cond), (0, True))

    @classmethod
    def eval(cls, a, lo, hi):
        if lo == -sp.oo and hi == sp.oo:
            return a
        return _number(lambda x, low, high: min(max(x, low), high), a, lo, hi)


    def _numpycode(self, printer):
        a, lo, hi = self.args
        bound = lambda b: "None" if b in (sp.oo, -sp.oo) else printer._float_arg(b)  # noqa: E731
        return f"np.clip({printer._print(a)}, {bound(lo)}, {bound(hi)})"
