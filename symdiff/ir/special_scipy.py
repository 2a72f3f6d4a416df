"""scipy.special's long tail as SymPy functions: gamma and beta families, incomplete gamma/beta (in x),
inverse error functions, normal distribution functions, entropies, Bessel functions (in x, the order a
constant), Hurwitz zeta (in q) and Box-Cox (in x).

Each function prints as a helper that calls the SciPy function of the same name (SciPy is imported only
when the helper runs, so a generated module needs SciPy only if it uses one). All arguments numbers:
the value is SciPy's, computed once (``beta(2, 3)`` becomes ``0.0833...``). An argument whose
derivative is not implemented (a Bessel order, ``betainc``'s ``a`` and ``b``) has NaN from ``fdiff``
(asked only for constant arrays there, whose gradient nobody uses; the registry refuses traced values
there, with a message naming the parameter).

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> sp.diff(ndtr(x), x)
sqrt(2)*exp(-x**2/2)/(2*sqrt(pi))
>>> sp.diff(jv(2, x), x)
jv(1, x)/2 - jv(3, x)/2
"""
from __future__ import annotations

from typing import Any, Callable

import sympy as sp

from .scalar import HELPERS, RealFunction, sigmoid, sign
from .special import polygamma

SQRT_PI, SQRT_2PI = sp.sqrt(sp.pi), sp.sqrt(2 * sp.pi)


def _helper(name: str, nargs: int) -> None:
    params = ", ".join("xyzw"[:nargs]) if nargs > 1 else "x"
    HELPERS[f"_{name}"] = f'''def _{name}({params}):
    """scipy.special.{name} (SciPy is needed for this function only)."""
    from scipy.special import {name}

    return {name}({params})'''


def _eval_numbers(name: str):
    def eval_(cls, *args):
        if all(isinstance(a, sp.Number) for a in args):
            import scipy.special as special
            return sp.Float(float(getattr(special, name)(*(float(a) for a in args))))
        return None
    return classmethod(eval_)


def function(name: str, nargs: int, deriv: Callable[..., sp.Expr], doc: str, constant: tuple[int, ...] = ()) -> Any:
    """A SymPy function printed as ``scipy.special.<name>``: ``deriv(k, *args)`` is its derivative in
    argument ``k`` (0-based); arguments in ``constant`` have none (NaN, never a silent 0)."""
    _helper(name, nargs)

    def fdiff(self, argindex=1):
        if argindex - 1 in constant:  # asked for constant arrays' inputs, whose gradients are dropped: never 0
            return sp.nan
        return deriv(argindex - 1, *self.args)

    def numpycode(self, printer):
        return printer.helper_call(f"_{name}", *self.args)
    return type(name, (RealFunction,), {"__doc__": doc, "__module__": __name__, "nargs": nargs, "fdiff": fdiff,
                                        "eval": _eval_numbers(name), "_numpycode": numpycode})


def psi(x):
    return polygamma(0, x)


def _exact(e):
    """A whole float constant as an integer: ``x**(2.0 - 1)`` prints as ``x``, not ``x**1.0``."""
    return sp.Integer(int(e)) if isinstance(e, sp.Float) and float(e).is_integer() else e


# ---------------------------------------------------------------- gamma and beta -----------------
gamma: Any = function("gamma", 1, lambda k, x: gamma(x) * psi(x), "Gamma(x); derivative Gamma(x) digamma(x).")
rgamma: Any = function("rgamma", 1, lambda k, x: -rgamma(x) * psi(x), "1 / Gamma(x), entire (0 at the poles).")
gammasgn: Any = function("gammasgn", 1, lambda k, x: sp.S.Zero, "The sign of Gamma(x): derivative 0.")
beta: Any = function("beta", 2, lambda k, a, b: beta(a, b) * (psi((a, b)[k]) - psi(a + b)),
                "B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b).")
betaln: Any = function("betaln", 2, lambda k, a, b: psi((a, b)[k]) - psi(a + b), "log|B(a, b)|.")
betainc: Any = function("betainc", 3, lambda k, a, b, x: x ** _exact(a - 1) * (1 - x) ** _exact(b - 1) / beta(a, b),
                   "The regularized incomplete beta function I_x(a, b); derivative in x only.", constant=(0, 1))
gammainc: Any = function("gammainc", 2, lambda k, a, x: x ** _exact(a - 1) * sp.exp(-x) / gamma(a),
                    "The regularized lower incomplete gamma function P(a, x); derivative in x only.", constant=(0,))
gammaincc: Any = function("gammaincc", 2, lambda k, a, x: -x ** _exact(a - 1) * sp.exp(-x) / gamma(a),
                     "1 - P(a, x); derivative in x only.", constant=(0,))


def _multigammaln_d(k, a, d):
    return sp.Add(*(psi(a + sp.Rational(1 - j, 2)) for j in range(1, int(d) + 1)))


multigammaln: Any = function("multigammaln", 2, _multigammaln_d, "log of the multivariate gamma function of "
                        "dimension d (a constant): sum of gammaln(a + (1 - j)/2), j = 1..d, + d(d-1)/4 log(pi).",
                        constant=(1,))

# ---------------------------------------------------------------- error function family ----------
erfinv: Any = function("erfinv", 1, lambda k, x: SQRT_PI / 2 * sp.exp(erfinv(x) ** 2), "Inverse of erf.")
erfcinv: Any = function("erfcinv", 1, lambda k, x: -SQRT_PI / 2 * sp.exp(erfcinv(x) ** 2), "Inverse of erfc.")
erfcx: Any = function("erfcx", 1, lambda k, x: 2 * x * erfcx(x) - 2 / SQRT_PI, "exp(x**2) erfc(x), without overflow.")
ndtr: Any = function("ndtr", 1, lambda k, x: sp.exp(-x ** 2 / 2) / SQRT_2PI, "The standard normal CDF.")
log_ndtr: Any = function("log_ndtr", 1, lambda k, x: ndtr_ratio(x), "log of the standard normal CDF, accurate far in "
                    "the left tail; derivative ndtr_ratio(x), finite there too.")
HELPERS["_ndtr_ratio"] = '''def _ndtr_ratio(x):
    """Normal pdf / ndtr(x), as exp(-x**2/2 - log_ndtr(x)) / sqrt(2 pi): finite where ndtr(x)
    underflows."""
    from scipy.special import log_ndtr

    return np.exp(-0.5 * np.square(x) - log_ndtr(x)) / np.sqrt(2 * np.pi)'''


class ndtr_ratio(RealFunction):
    """``pdf(x) / ndtr(x)`` (the derivative of ``log_ndtr``), one function so that no rewrite splits the
    exponential into factors that overflow (``x = -40``: about 40); derivative ``-r (x + r)``."""

    nargs = 1

    def fdiff(self, argindex=1):
        return -self * (self.args[0] + self)

    def _numpycode(self, printer):
        return printer.helper_call("_ndtr_ratio", self.args[0])


ndtri: Any = function("ndtri", 1, lambda k, x: SQRT_2PI * sp.exp(ndtri(x) ** 2 / 2), "Inverse of ndtr.")
log_expit: Any = function("log_expit", 1, lambda k, x: sigmoid(-x), "log(expit(x)) = -softplus(-x).")

# ---------------------------------------------------------------- entropies ----------------------
entr: Any = function("entr", 1, lambda k, x: -sp.log(x) - 1, "-x log(x) (x > 0).")
rel_entr: Any = function("rel_entr", 2, lambda k, x, y: (sp.log(x / y) + 1, -x / y)[k], "x log(x / y) (x, y > 0).")
kl_div: Any = function("kl_div", 2, lambda k, x, y: (sp.log(x / y), 1 - x / y)[k], "x log(x / y) - x + y.")

# ---------------------------------------------------------------- Bessel functions ---------------
jv: Any = function("jv", 2, lambda k, v, x: (jv(v - 1, x) - jv(v + 1, x)) / 2, "J_v(x) (v a constant).", (0,))
yv: Any = function("yv", 2, lambda k, v, x: (yv(v - 1, x) - yv(v + 1, x)) / 2, "Y_v(x) (v a constant).", (0,))
yn: Any = function("yn", 2, lambda k, n, x: (yv(n - 1, x) - yv(n + 1, x)) / 2, "Y_n(x), n an integer.", (0,))
iv: Any = function("iv", 2, lambda k, v, x: (iv(v - 1, x) + iv(v + 1, x)) / 2, "I_v(x) (v a constant).", (0,))
ive: Any = function("ive", 2, lambda k, v, x: (ive(v - 1, x) + ive(v + 1, x)) / 2 - sign(x) * ive(v, x),
               "exp(-|x|) I_v(x) (v a constant); at x = 0 the one-sided derivatives differ (sign(0) = 0).", (0,))
kv: Any = function("kv", 2, lambda k, v, x: -(kv(v - 1, x) + kv(v + 1, x)) / 2, "K_v(x) (v a constant).", (0,))
i0: Any = function("i0", 1, lambda k, x: i1(x), "I_0(x).")
i1: Any = function("i1", 1, lambda k, x: (i0(x) + iv(2, x)) / 2, "I_1(x); derivative (I_0 + I_2)/2, finite at 0.")
i0e: Any = function("i0e", 1, lambda k, x: i1e(x) - sign(x) * i0e(x), "exp(-|x|) I_0(x): a kink at 0.")
i1e: Any = function("i1e", 1, lambda k, x: (i0e(x) + ive(2, x)) / 2 - sign(x) * i1e(x), "exp(-|x|) I_1(x).")
j0: Any = function("j0", 1, lambda k, x: -j1(x), "J_0(x).")
j1: Any = function("j1", 1, lambda k, x: (j0(x) - jv(2, x)) / 2, "J_1(x).")
y0: Any = function("y0", 1, lambda k, x: -y1(x), "Y_0(x) (x > 0).")
y1: Any = function("y1", 1, lambda k, x: (y0(x) - yv(2, x)) / 2, "Y_1(x) (x > 0).")
k0: Any = function("k0", 1, lambda k, x: -k1(x), "K_0(x) (x > 0).")
k1: Any = function("k1", 1, lambda k, x: -(k0(x) + kv(2, x)) / 2, "K_1(x) (x > 0).")

# ---------------------------------------------------------------- zeta, Box-Cox ------------------
zeta: Any = function("zeta", 2, lambda k, s, q: -s * zeta(s + 1, q), "Hurwitz zeta(s, q); derivative in q only "
                "(SymPy has no closed form in s).", constant=(0,))
boxcox: Any = function("boxcox", 2, lambda k, x, lmbda: x ** _exact(lmbda - 1),
                  "(x**lmbda - 1) / lmbda (log(x) at lmbda = 0); derivative in x, lmbda a constant.", (1,))
