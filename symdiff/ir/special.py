"""Scalar functions of ``scipy.special``, with their derivatives and printing.

``xlogy``/``xlog1py`` print as NumPy helpers (no SciPy needed to run the code); ``erf``, ``erfc``,
``gammaln`` and ``polygamma`` (``digamma`` is ``polygamma(0, x)``) print as helpers that import
``scipy.special`` when called, so a generated module needs SciPy only if it uses them.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sp.diff(gammaln(x), x), sp.diff(polygamma(0, x), x)
(polygamma(0, x), polygamma(1, x))
"""
from __future__ import annotations

import sympy as sp

from .scalar import HELPERS, RealFunction

HELPERS["_xlogy"] = '''def _xlogy(x, y):
    """x * log(y), and 0 where x == 0 (as scipy.special.xlogy)."""
    zero = np.asarray(x) == 0
    return np.where(zero, 0.0, x * np.log(np.where(zero, 1.0, y)))'''
HELPERS["_xlog1py"] = '''def _xlog1py(x, y):
    """x * log1p(y), and 0 where x == 0 (as scipy.special.xlog1py)."""
    zero = np.asarray(x) == 0
    return np.where(zero, 0.0, x * np.log1p(np.where(zero, 0.0, y)))'''
for _name in ("erf", "erfc", "gammaln"):
    HELPERS[f"_{_name}"] = f'''def _{_name}(x):
    """scipy.special.{_name} (SciPy is needed for this function only)."""
    from scipy.special import {_name}

    return {_name}(x)'''
HELPERS["_polygamma"] = '''def _polygamma(n, x):
    """scipy.special.polygamma: the n-th derivative of the digamma function."""
    from scipy.special import digamma, polygamma

    return digamma(x) if n == 0 else polygamma(n, x)'''


class xlogy(RealFunction):
    """``x * log(y)``, 0 where ``x == 0``."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y

    def _numpycode(self, printer):
        return printer.helper_call("_xlogy", *self.args)


class xlog1py(RealFunction):
    """``x * log1p(y)``, 0 where ``x == 0``."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, y = self.args
        return sp.log(1 + y) if argindex == 1 else x / (1 + y)

    def _numpycode(self, printer):
        return printer.helper_call("_xlog1py", *self.args)


class erf(RealFunction):
    """The error function; derivative ``2 exp(-x**2) / sqrt(pi)``."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 2 * sp.exp(-self.args[0] ** 2) / sp.sqrt(sp.pi)

    def _numpycode(self, printer):
        return printer.helper_call("_erf", self.args[0])


class erfc(RealFunction):
    """``1 - erf(x)``, accurate where erf(x) is near 1."""

    nargs = 1

    def fdiff(self, argindex=1):
        return -2 * sp.exp(-self.args[0] ** 2) / sp.sqrt(sp.pi)

    def _numpycode(self, printer):
        return printer.helper_call("_erfc", self.args[0])


class gammaln(RealFunction):
    """``log|Gamma(x)|``; derivative ``digamma(x)``."""

    nargs = 1

    def fdiff(self, argindex=1):
        return polygamma(0, self.args[0])

    def _numpycode(self, printer):
        return printer.helper_call("_gammaln", self.args[0])


class polygamma(RealFunction):
    """``polygamma(n, x)``, the n-th derivative of digamma (n a constant integer)."""

    nargs = 2

    def fdiff(self, argindex=2):
        n, x = self.args
        if argindex == 1:
            raise ValueError("polygamma: the order n is a constant")
        return polygamma(n + 1, x)

    def _numpycode(self, printer):
        return printer.helper_call("_polygamma", *self.args)


HELPERS["_mullog"] = '''def _mullog(x, y):
    """x * log(y), and 0 where x == y == 0: the limit of y**t * log(y) at y = 0 for t > 0."""
    zero = (np.asarray(x) == 0) & (np.asarray(y) == 0)
    return np.where(zero, 0.0, x * np.log(np.where(zero, 1.0, y)))'''


class mullog(RealFunction):
    """``x * log(y)``, 0 where ``x == y == 0``: the derivatives of ``y**t`` in ``t`` at ``y = 0``
    (``d/dt 0**t = 0**t * log(0)``, 0 for ``t > 0``, where the product is ``0 * -inf``)."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y

    def _numpycode(self, printer):
        return printer.helper_call("_mullog", *self.args)
