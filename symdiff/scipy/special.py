"""Registry entries for ``scipy.special``'s ufuncs (dispatched to tracers like NumPy's own).

Imported when SciPy is installed: by :mod:`symdiff.trace.patches` when the traced program has loaded
``scipy.special``, by the docs table and by the tests. ``logsumexp``, ``softmax`` and
``log_softmax`` are Python functions in SciPy; :mod:`symdiff.trace.patches` covers those.
"""
from __future__ import annotations

import scipy.special as special
import sympy as sp

from ..ir import scalar as S
from ..ir import special as SS
from ..numpy.core import BINARY, POS, register, ufunc

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
