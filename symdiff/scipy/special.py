"""Registry entries for ``scipy.special``'s ufuncs (dispatched to tracers like NumPy's own).

Imported when SciPy is installed: by :mod:`symdiff.trace.patches` when the traced program has loaded
``scipy.special``, by the docs table and by the tests. ``logsumexp``, ``softmax`` and
``log_softmax`` are Python functions in SciPy: during a trace they are replaced by stand-ins
(:func:`_standins`, given to :mod:`symdiff.trace.patches`) that trace :mod:`symdiff.trace.composites`.
"""
from __future__ import annotations

import numpy as np
import scipy.special as special
import sympy as sp

from ..ir import scalar as S
from ..ir import special as SS
from ..ir import special_scipy as SX
from ..errors import UnsupportedError
from ..numpy.core import BINARY, POS, Entry, _compose, _here, register, ufunc
from ..trace import composites, dispatch, patches
from ..trace.values import Tracer

PROB = (0.05, 0.95)
register(special.expit, ufunc("expit", S.sigmoid, notes="scipy.special; printed as a stable sigmoid"))
register(special.logit, ufunc("logit", lambda p: sp.log(p) - sp.log(1 - p), domain=PROB, notes="scipy.special"))
register(special.xlogy, ufunc("xlogy", SS.xlogy, domain=POS, cases=BINARY, notes="scipy.special; 0 where x == 0"))
register(special.xlog1py, ufunc("xlog1py", SS.xlog1py, domain=POS, cases=BINARY,
                                notes="scipy.special; 0 where x == 0"))
register(special.erf, ufunc("erf", SS.erf, notes="scipy.special; the generated code imports SciPy"))
register(special.erfc, ufunc("erfc", SS.erfc, notes="scipy.special; the generated code imports SciPy"))
register(special.gammaln, ufunc("gammaln", SS.gammaln, domain=POS,
                                notes="scipy.special; the generated code imports SciPy"))
register(special.digamma, ufunc("digamma", lambda x: SS.polygamma(0, x), domain=POS,
                                notes="scipy.special; the generated code imports SciPy; scipy.special.psi is the "
                                      "same function"))

SC = "scipy.special; the generated code imports SciPy"
ONE = ((((),), ()), (((4,),), ()), (((2, 3),), ()))
for _fn, _dom, _note in (
        (SX.gamma, POS, "poles at 0, -1, -2, ...: inf there"),
        (SX.rgamma, POS, "0 at the poles of gamma, its gradient NaN there (0 * inf)"),
        (SX.gammasgn, POS, "piecewise constant: gradient 0"), (SX.erfinv, (-0.9, 0.9), "inf at +-1"),
        (SX.erfcinv, (0.1, 1.9), "inf at 0 and 2"), (SX.erfcx, (-2.0, 3.0), "stable for large x"),
        (SX.ndtr, (-3.0, 3.0), ""), (SX.log_ndtr, (-40.0, 3.0), "gradient exp(-x**2/2 - log_ndtr(x)) / sqrt(2 pi): "
                                                              "finite far in the left tail (about -x at x = -40)"),
        (SX.ndtri, (0.05, 0.95), "inf at 0 and 1"), (SX.log_expit, (-3.0, 3.0), "gradient expit(-x)"),
        (SX.entr, POS, "-inf gradient at 0 (no one-sided limit); -inf value for x < 0"),
        (SX.i0, (-3.0, 3.0), ""), (SX.i1, (-3.0, 3.0), "gradient (i0 + iv(2, x)) / 2, finite at 0"),
        (SX.i0e, POS, "kink at 0 (gradient -sign(x) i0e + i1e; 0 at x = 0 exactly)"),
        (SX.i1e, POS, "kink at 0"), (SX.j0, (-4.0, 4.0), ""), (SX.j1, (-4.0, 4.0), ""),
        (SX.y0, POS, "x > 0 (NaN below, -inf at 0)"), (SX.y1, POS, "x > 0"), (SX.k0, POS, "x > 0"),
        (SX.k1, POS, "x > 0")):
    register(getattr(special, _fn.__name__),
             ufunc(_fn.__name__, _fn, domain=_dom, cases=ONE, notes=f"{SC}; {_note}" if _note else SC))
for _fn, _dom, _note in ((SX.beta, POS, "inf at a or b = 0"), (SX.betaln, POS, "gradients digamma differences"),
                         (SX.rel_entr, POS, "x, y > 0; inf where y = 0 < x"),
                         (SX.kl_div, POS, "x, y > 0; inf where y = 0 < x")):
    register(getattr(special, _fn.__name__), ufunc(_fn.__name__, _fn, domain=_dom, notes=f"{SC}; {_note}"))


def constant_args(name: str, fn, nargs: int, constant: dict[int, str], static: tuple, domain, notes: str,
                  func=None) -> None:
    """Register ``scipy.special.<name>``, differentiable in its arguments other than ``constant``
    (position: parameter name), which must be constants: a traced value there is refused."""
    def build(origin, *args, **kwargs):
        if kwargs or len(args) != nargs:
            raise UnsupportedError(f"{_here()}: scipy.special.{name} takes {nargs} positional arguments here")
        for k, param in constant.items():
            if isinstance(args[k], Tracer) and not args[k].is_const():
                raise UnsupportedError(
                    f"{_here()}: the gradient of scipy.special.{name} with respect to {param} is not supported "
                    f"(only with respect to the other arguments); pass {param} as a constant, or wrap it in "
                    "symdiff.stop_gradient if its gradient is not needed")
        return _compose(fn, args, origin)
    cases = tuple(((shape,) * (nargs - len(constant)), (("static", static),)) for shape in ((), (4,), (2, 3)))
    register(func if func is not None else getattr(special, name),
             Entry(name, build, domain, cases, notes=f"{SC}; {notes}", form="static"))


constant_args("betainc", SX.betainc, 3, {0: "a", 1: "b"}, ((0, 2.5), (1, 1.5)), (0.05, 0.95),
              "with respect to x only (a and b constants; refused when traced); gradient inf at x = 0 "
              "for a < 1 and at x = 1 for b < 1")
constant_args("gammainc", SX.gammainc, 2, {0: "a"}, ((0, 1.7),), POS,
              "with respect to x only (a a constant); gradient inf at x = 0 for a < 1")
constant_args("gammaincc", SX.gammaincc, 2, {0: "a"}, ((0, 1.7),), POS,
              "with respect to x only (a a constant); gradient -inf at x = 0 for a < 1")
for _name, _v_order, _dom in (("jv", 1.5, (0.3, 4.0)), ("yv", 0.5, POS), ("yn", 2, POS), ("iv", 2.5, (0.3, 3.0)),
                            ("ive", 1.5, POS), ("kv", 1.5, POS)):
    constant_args(_name, getattr(SX, _name), 2, {0: "the order v"}, ((0, _v_order),), _dom,
                  "with respect to x; the order v a constant (refused when traced); NaN for x < 0 "
                  "unless v is whole (as SciPy); yv, kv: x > 0")
constant_args("boxcox", SX.boxcox, 2, {1: "lmbda"}, ((1, 0.7),), POS,
              "with respect to x (gradient x**(lmbda - 1), lmbda = 0 included); lmbda a constant")


# ---------------------------------------------------------------- Python functions of SciPy --------

_ORIG = {name: getattr(special, name) for name in ("logsumexp", "softmax", "log_softmax", "polygamma",
                                                    "multigammaln", "zeta")}


def _traced(x) -> bool:
    return patches._tracing() and isinstance(x, Tracer)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``scipy.special.logsumexp`` while tracing: traced values go through symdiff's stable form."""
    if not (_traced(a) or _traced(b)):
        return _ORIG["logsumexp"](a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    if b is None and not return_sign:
        return composites.logsumexp(a, axis=axis, keepdims=keepdims)
    m = composites.stop_gradient(np.max(a, axis=axis, keepdims=True))  # the shift: no gradient
    s = np.sum(np.exp(a - m) if b is None else b * np.exp(a - m), axis=axis, keepdims=True)
    out = (np.log(np.abs(s)) if return_sign else np.log(s)) + m  # a negative sum: NaN, as SciPy
    sign = np.sign(s)
    if not keepdims:  # drop the kept axes (a sum over axes of size 1)
        out, sign = (np.sum(out, axis=axis), np.sum(sign, axis=axis)) if axis is not None else \
            (np.sum(out), np.sum(sign))
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """``scipy.special.softmax`` while tracing."""
    if not _traced(x):
        return _ORIG["softmax"](x, axis=axis)
    return np.exp(x - composites.logsumexp(x, axis=axis, keepdims=True))


def log_softmax(x, axis=None):
    """``scipy.special.log_softmax`` while tracing."""
    if not _traced(x):
        return _ORIG["log_softmax"](x, axis=axis)
    return x - composites.logsumexp(x, axis=axis, keepdims=True)


def polygamma(n, x):
    """``scipy.special.polygamma`` (a Python function in SciPy): traced ``x`` through the registry."""
    if not (_traced(x) or _traced(n)):
        return _ORIG["polygamma"](n, x)
    return dispatch.call(polygamma, (n, x), {})


def multigammaln(a, d):
    """``scipy.special.multigammaln`` (a Python function in SciPy)."""
    if not _traced(a):
        return _ORIG["multigammaln"](a, d)
    return dispatch.call(multigammaln, (a, d), {})


def zeta(x, q=None, out=None):
    """``scipy.special.zeta`` (a Python function in SciPy): Riemann's when ``q`` is None (q = 1)."""
    if not (_traced(x) or _traced(q)):
        return _ORIG["zeta"](x, q, out=out) if out is not None else _ORIG["zeta"](x, q)
    if out is not None:
        raise UnsupportedError(f"{_here()}: scipy.special.zeta(..., out=...) is not supported; assign the result")
    return dispatch.call(zeta, (x, 1 if q is None else q), {})


def _whole(n) -> bool:
    """``n`` (as _compose gives it: a SymPy number, or a symbol for an array) a single whole number >= 0."""
    return isinstance(n, sp.Number) and float(n).is_integer() and n >= 0


def _order(n) -> int:
    if not _whole(n):
        raise UnsupportedError(f"{_here()}: scipy.special.polygamma's order n must be a constant integer >= 0")
    return int(n)


def _dimension(d) -> int:
    if not _whole(d) or d < 1:
        raise UnsupportedError(f"{_here()}: scipy.special.multigammaln's dimension d must be a constant integer >= 1")
    return int(d)


constant_args("polygamma", lambda n, x: SS.polygamma(_order(n), x), 2, {0: "the order n"}, ((0, 2),), POS,
              "with respect to x; the order n a constant integer", func=polygamma)
constant_args("multigammaln", lambda a, d: SX.multigammaln(a, _dimension(d)), 2, {1: "the dimension d"},
              ((1, 3),), (1.2, 4.0), "with respect to a; the dimension d a constant; a > (d - 1)/2",
              func=multigammaln)
constant_args("zeta", SX.zeta, 2, {0: "x (SymPy has no closed-form derivative in x)"}, ((0, 2.5),), POS,
              "Hurwitz zeta(x, q) with respect to q (gradient -x zeta(x + 1, q)); x a constant", func=zeta)


def _standins() -> list:
    return [(special, "logsumexp", logsumexp), (special, "softmax", softmax), (special, "log_softmax", log_softmax),
            (special, "polygamma", polygamma), (special, "multigammaln", multigammaln), (special, "zeta", zeta)]


patches.PROVIDERS.append(_standins)
