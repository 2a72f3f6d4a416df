"""Scalar functions of the normal distribution, with their derivatives and printing, for
:mod:`symdiff.scipy.stats`: ``ndtr`` (the standard normal cdf), ``log_ndtr`` (its logarithm, finite
far into the lower tail: ``log_ndtr(-40)`` is about -804.6) and ``ndtr_ratio``, ``phi(x) / ndtr(x)``
(the derivative of ``log_ndtr``), computed as ``exp(-x**2/2 - log_ndtr(x)) / sqrt(2 pi)`` so it stays
finite where ``ndtr(x)`` underflows (about ``-x`` for large negative ``x``). They print as helpers that
import ``scipy.special`` when called.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sp.diff(log_ndtr(x), x), sp.diff(ndtr_ratio(x), x)
(ndtr_ratio(x), -(x + ndtr_ratio(x))*ndtr_ratio(x))
"""
from __future__ import annotations

import sympy as sp

from .scalar import HELPERS, RealFunction

HELPERS["_ndtr"] = '''def _ndtr(x):
    """scipy.special.ndtr, the standard normal cdf (SciPy is needed for this function only)."""
    from scipy.special import ndtr
    return ndtr(x)'''
HELPERS["_log_ndtr"] = '''def _log_ndtr(x):
    """scipy.special.log_ndtr: log of the standard normal cdf, finite far into the lower tail."""
    from scipy.special import log_ndtr
    return log_ndtr(x)'''
HELPERS["_ndtr_ratio"] = '''def _ndtr_ratio(x):
    """pdf(x) / cdf(x) of the standard normal, finite where cdf(x) underflows (about -x there)."""
    from scipy.special import log_ndtr
    return np.exp(-0.5 * np.square(x) - log_ndtr(x)) / np.sqrt(2.0 * np.pi)'''


class ndtr(RealFunction):
    """The standard normal cdf; derivative ``exp(-x**2/2) / sqrt(2 pi)``."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.exp(-self.args[0] ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def _numpycode(self, printer):
        return printer.helper_call("_ndtr", self.args[0])


class log_ndtr(RealFunction):
    """``log(ndtr(x))``, stable in both tails; derivative :class:`ndtr_ratio`."""

    nargs = 1

    def fdiff(self, argindex=1):
        return ndtr_ratio(self.args[0])

    def _numpycode(self, printer):
        return printer.helper_call("_log_ndtr", self.args[0])


class ndtr_ratio(RealFunction):
    """``phi(x) / ndtr(x)`` (the inverse Mills ratio of the lower tail); derivative ``-r (x + r)``."""

    nargs = 1

    def fdiff(self, argindex=1):
        r = ndtr_ratio(self.args[0])
        return -r * (self.args[0] + r)

    def _numpycode(self, printer):
        return printer.helper_call("_ndtr_ratio", self.args[0])
