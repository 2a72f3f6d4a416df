"""Registry entries (see :mod:`symdiff.numpy.core`): piecewise elementwise functions (remainders,
``divmod``, sign transfer, NaN replacement, float steps) and the complex-number helpers on real input.

The SymPy forms are in :mod:`symdiff.ir.piecewise`; each prints as the NumPy call itself.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from ..errors import UnsupportedError
from ..ir import piecewise as W
from ..ir import primitives as P
from .core import FLAT, Entry, _compose, _here, _no_extras, as_node, register, tracers, ufunc
from .shape import broadcast_checked


def _remainder_sample(rng, shape):
    """Dividends k + 0.2 .. k + 0.7, divisors 1 .. 1.05 (away from jumps): arrays are dividends,
    scalars and size-1 arrays divisors, so ``a / b`` keeps away from the integers where it jumps."""
    if int(np.prod(shape)) <= 1:
        return rng.uniform(1.0, 1.05, size=shape)
    return rng.integers(-2, 3, size=shape) + rng.uniform(0.2, 0.7, size=shape)


#: (dividend, divisor) shapes, the divisor a scalar or of size 1 (see :func:`_remainder_sample`).
REMAINDER_CASES = ((((3,), ()), ()), (((2, 3), (1,)), ()), (((2, 3), (1, 1)), ()))
JUMPS = ("jumps where a / b is an integer (gradient taken on either side, none at the jump itself); "
         "derivative 1 in a, -floor(a / b) in b, as autograd")


def _divmod(origin, a, b, out=None, **kwargs):
    _no_extras("divmod", {"out": out, **kwargs})
    return tracers([_compose(W.floor_divide, (a, b), origin), _compose(W.mod, (a, b), origin)])


def _nan_to_num(origin, x, copy=True, nan=0.0, posinf=None, neginf=None):
    consts = []
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is None:  # NumPy's default (the largest finite float of the dtype): not printed
            consts.append(sp.zoo)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            consts.append(sp.Integer(int(v)) if float(v).is_integer() else sp.Float(float(v)))
        else:
            raise UnsupportedError(f"{_here()}: np.nan_to_num with a traced or array {name}=; "
                                   "pass a number, or use np.where(np.isnan(x), value, x)")
    return _compose(lambda a: W.nan_to_num(a, *consts), (x,), origin)


def _ldexp(origin, x, n, out=None, **kwargs):
    _no_extras("ldexp", {"out": out, **kwargs})
    if not isinstance(n, (int, np.integer)):
        raise UnsupportedError(f"{_here()}: np.ldexp with an exponent that is not a Python int (traced or an "
                               "array); write x * 2.0 ** n")
    return _compose(lambda a: W.ldexp(a, sp.Integer(int(n))), (x,), origin)


def _identity(origin, val, *args, **kwargs):
    """``np.real``, ``np.conj``, ``np.real_if_close`` of a real value: the value itself."""
    return as_node(val)


def _imag(origin, val):
    node = as_node(val)
    return broadcast_checked(P.scalar(sp.Integer(0), node.dtype), node.shape)


def _angle(origin, z, deg=False):
    return _compose(lambda a: W.angle(a) * (sp.Integer(180) / sp.pi if deg else 1), (z,), origin)


def _sampled_away_from_zero(rng, shape):
    """-2 .. -0.2 and 0.2 .. 2: away from the jump at 0"""
    return rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


LDEXP_CASES = ((((3,),), (("n", 3),)), (((2, 3),), (("n", -2),)), (((),), (("n", 0),)))
NAN_CASES = ((((3,),), ()), (((2, 3),), (("nan", 1.5), ("posinf", 10.0))))

def _remainder(entry: Entry) -> Entry:
    return replace(entry, sample=_remainder_sample)


register(np.remainder, _remainder(ufunc("mod", W.mod, nargs=2, cases=REMAINDER_CASES, notes=JUMPS)))
register(np.fmod, _remainder(ufunc("fmod", W.fmod, nargs=2, cases=REMAINDER_CASES,
                                   notes="jumps where a / b is an integer; derivative 1 in a, -trunc(a / b) in b")))
register(np.floor_divide, _remainder(ufunc("floor_divide", W.floor_divide, nargs=2, cases=REMAINDER_CASES,
                                           notes=FLAT)))
register(np.divmod, Entry("divmod", _divmod, cases=REMAINDER_CASES, sample=_remainder_sample,
                          notes="(np.floor_divide, np.mod): " + JUMPS))
register(np.copysign, ufunc("copysign", W.copysign, nargs=2, notes=(
    "derivative copysign(1, a) * copysign(1, b) in a (a kink at a == 0), 0 in b (jump at b == 0)")))
register(np.nextafter, ufunc("nextafter", W.nextafter, nargs=2,
                             notes="x plus a piecewise-constant step: derivative 1 in x, 0 in y"))
register(np.spacing, ufunc("spacing", W.spacing, notes=FLAT))
register(np.ldexp, Entry("ldexp", _ldexp, cases=LDEXP_CASES, form="positional",
                         notes="x * 2**n for a Python int n (a traced or array n is refused)"))
register(np.nan_to_num, Entry("nan_to_num", _nan_to_num, cases=NAN_CASES, notes=(
    "derivative 1 where x is finite, 0 where NaN or an infinity is replaced (constant replacements only)")))
for _f in (np.real, np.conj, np.conjugate, np.real_if_close):
    register(_f, Entry(_f.__name__, _identity, notes="real input: the identity"))
register(np.imag, Entry("imag", _imag, notes="real input: zeros"))
register(np.angle, Entry("angle", _angle, sample=_sampled_away_from_zero,
                         notes="real input: 0 or pi (pi for -0.0, as NumPy); gradient 0"))
