"""Piecewise scalar NumPy functions (remainders, sign transfer, NaN replacement, float steps), with
their derivatives and their NumPy printing: each prints as the NumPy call itself, so the value is
NumPy's own.

Derivatives follow autograd: ``np.mod(a, b)`` has derivative 1 in ``a`` and ``-floor(a / b)`` in
``b`` (``np.fmod``: ``-trunc(a / b)``), taken on each side of a jump (at a jump itself there is none).

>>> import sympy as sp
>>> a, b = sp.symbols("a b", real=True)
>>> sp.diff(mod(a, b), a), sp.diff(mod(a, b), b)
(1, -floor_divide(a, b))
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from .scalar import RealFunction, _flat, _np_call, _number, isfinite

floor_divide = _flat("floor_divide", "floor_divide", nargs=2)
spacing = _flat("spacing", "spacing")
angle = _flat("angle", "angle")  # of a real argument: 0 or pi


class mod(RealFunction):
    """``np.mod(a, b)`` (``np.remainder``, ``%``): ``a - b * floor(a / b)``, the sign of ``b``."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sp.S.One if argindex == 1 else -floor_divide(*self.args)

    @classmethod
    def eval(cls, a, b):
        return _number(np.mod, a, b)

    _numpycode = _np_call("mod")


class fmod(RealFunction):
    """``np.fmod(a, b)``: ``a - b * trunc(a / b)``, the sign of ``a`` (C's fmod)."""

    nargs = 2

    def fdiff(self, argindex=1):
        from .scalar import trunc
        return sp.S.One if argindex == 1 else -trunc(self.args[0] / self.args[1])

    @classmethod
    def eval(cls, a, b):
        return _number(np.fmod, a, b)

    _numpycode = _np_call("fmod")


class copysign(RealFunction):
    """``np.copysign(a, b)``: ``|a|`` with the sign (bit) of ``b``; derivative ``copysign(1, a) *
    copysign(1, b)`` in ``a`` (a kink at ``a == 0``, where it takes the side of the sign bit), 0 in ``b``."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return copysign(1, a) * copysign(1, b) if argindex == 1 else sp.S.Zero

    @classmethod
    def eval(cls, a, b):
        return _number(np.copysign, a, b)

    def _numpycode(self, printer):
        return f"np.copysign({printer._float_arg(self.args[0])}, {printer._print(self.args[1])})"


class nextafter(RealFunction):
    """``np.nextafter(x, y)``: the float next to ``x`` towards ``y``; it differs from ``x`` by a
    piecewise-constant step, so the derivative is 1 in ``x`` and 0 in ``y``."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sp.S.One if argindex == 1 else sp.S.Zero

    @classmethod
    def eval(cls, x, y):
        return _number(np.nextafter, x, y)

    _numpycode = _np_call("nextafter")


class ldexp(RealFunction):
    """``np.ldexp(x, n) = x * 2**n`` for an integer constant ``n``: derivative ``2**n`` in ``x``."""

    nargs = 2

    def fdiff(self, argindex=1):
        return ldexp(1, self.args[1]) if argindex == 1 else sp.S.Zero

    @classmethod
    def eval(cls, x, n):
        if x.is_Number and n.is_Integer:
            return sp.Float(float(np.ldexp(float(x), int(n)))) if not x.is_Integer else \
                sp.Integer(int(x)) * sp.Integer(2) ** int(n)
        return None

    def _numpycode(self, printer):
        return f"np.ldexp({printer._float_arg(self.args[0])}, {printer._print(self.args[1])})"


class nan_to_num(RealFunction):
    """``np.nan_to_num(x, nan=..., posinf=..., neginf=...)`` with constant replacements (``zoo``:
    NumPy's default, the dtype's largest finite float, not printed): derivative 1 where ``x`` is finite,
    0 where replaced."""

    nargs = 4

    def fdiff(self, argindex=1):
        return sp.Piecewise((1, isfinite(self.args[0])), (0, True)) if argindex == 1 else sp.S.Zero

    @classmethod
    def eval(cls, x, nan, posinf, neginf):
        return x if x.is_Number and x.is_finite else None

    def _numpycode(self, printer):
        x, nan, posinf, neginf = self.args
        parts = [printer._print(x)] + ([f"nan={printer._float_arg(nan)}"] if nan != sp.zoo else [])
        parts += [f"{k}={printer._float_arg(v)}" for k, v in (("posinf", posinf), ("neginf", neginf))
                  if v != sp.zoo]
        return f"np.nan_to_num({', '.join(parts)})"
