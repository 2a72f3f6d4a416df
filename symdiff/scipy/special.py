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
from ..errors import UnsupportedError
from ..numpy.core import BINARY, POS, register, ufunc
from ..trace import composites, patches
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
                                notes="scipy.special; the generated code imports SciPy"))


# ---------------------------------------------------------------- Python functions of SciPy --------

_ORIG = {name: getattr(special, name) for name in ("logsumexp", "softmax", "log_softmax")}


def _traced(x) -> bool:
    return patches._tracing() and isinstance(x, Tracer)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``scipy.special.logsumexp`` while tracing: traced values go through symdiff's stable form."""
    if not _traced(a):
        return _ORIG["logsumexp"](a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    if b is not None or return_sign:
        raise UnsupportedError("scipy.special.logsumexp with b= or return_sign=True is not supported on traced "
                               "values; write log(sum(b * exp(a - m))) + m with m = stop_gradient(max(a))")
    return composites.logsumexp(a, axis=axis, keepdims=keepdims)


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


def _standins() -> list:
    return [(special, "logsumexp", logsumexp), (special, "softmax", softmax), (special, "log_softmax", log_softmax)]


patches.PROVIDERS.append(_standins)
