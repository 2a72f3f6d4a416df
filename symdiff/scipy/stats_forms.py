"""Closed forms of ``scipy.stats`` methods, written once with NumPy and ``scipy.special`` operations so
they apply to traced values (each operation is a registry entry). ``z = (x - loc) / scale``.

At the edges: outside a distribution's support ``logpdf`` is ``-inf`` (``np.where``; its gradient is 0
there), as SciPy's; the normal's ``logcdf``/``logsf`` use ``log_ndtr`` (finite value and gradient at
``norm.logcdf(-40)``); ``laplace`` has a kink at ``x == loc`` (the derivative of ``-|z|`` there is 0, its
second derivative 0 too); ``laplace.logpdf`` stays finite far out (-769231.8 at ``z = -769230``, where
SciPy's underflows to -inf); the ``pdf`` of ``gamma``, ``chi2``, ``beta`` has a NaN gradient exactly at
the support's end (``0 * inf``: its derivative there is one-sided); ``expon``'s ``logsf`` and
``uniform``'s ``cdf`` have kinks at the support's ends (one-sided gradients); ``poisson``'s gradient in
``k`` is that of the continuous extension (``gammaln``), its value -inf at non-integer ``k`` as SciPy's;
``multivariate_normal`` gives NaN where ``det(cov) <= 0`` and a singular ``cov`` raises ``LinAlgError``
at run time (an indefinite ``cov`` with a positive determinant is not detected: SciPy refuses it);
``dirichlet`` does not check that ``x`` sums to 1 (SciPy raises).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.special as special

from ..errors import UnsupportedError

LOG_2PI = float(np.log(2 * np.pi))
NEG_INF = -np.inf


def _z(x, loc, scale):
    return (x - loc) / scale


def _on(inside, value, outside=NEG_INF):
    """``value`` where ``inside`` holds, ``outside`` elsewhere (SciPy's value off the support)."""
    return np.where(inside, value, outside)


# ---------------------------------------------------------------- normal --------------------------

def _norm():
    def logpdf(x, loc, scale):
        z = _z(x, loc, scale)
        return -0.5 * z * z - 0.5 * LOG_2PI - np.log(scale)
    return {"logpdf": logpdf,
            "cdf": lambda x, loc, scale: special.ndtr(_z(x, loc, scale)),
            "logcdf": lambda x, loc, scale: special.log_ndtr(_z(x, loc, scale)),
            "sf": lambda x, loc, scale: special.ndtr(-_z(x, loc, scale)),
            "logsf": lambda x, loc, scale: special.log_ndtr(-_z(x, loc, scale))}


def _lognorm():
    def logpdf(x, s, loc, scale):
        y = _z(x, loc, scale)
        pos = y > 0
        ly = np.log(np.where(pos, y, 1.0))
        return _on(pos, -np.log(s) - ly - 0.5 * LOG_2PI - ly * ly / (2 * s * s) - np.log(scale))

    def by_w(fn, outside):
        def method(x, s, loc, scale):
            y = _z(x, loc, scale)
            pos = y > 0
            return _on(pos, fn(np.log(np.where(pos, y, 1.0)) / s), outside)
        return method
    return {"logpdf": logpdf, "cdf": by_w(special.ndtr, 0.0), "logcdf": by_w(special.log_ndtr, NEG_INF),
            "sf": by_w(lambda w: special.ndtr(-w), 1.0), "logsf": by_w(lambda w: special.log_ndtr(-w), 0.0)}


# ---------------------------------------------------------------- other continuous -----------------

def _t():
    def logpdf(x, df, loc, scale):
        z = _z(x, loc, scale)
        return (special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi)
                - (df + 1) / 2 * np.log1p(z * z / df) - np.log(scale))
    return {"logpdf": logpdf}


def _gamma():
    def logpdf(x, a, loc, scale):
        z = _z(x, loc, scale)
        inside = z >= 0
        return _on(inside, special.xlogy(a - 1, np.where(inside, z, 1.0)) - z - special.gammaln(a) - np.log(scale))
    return {"logpdf": logpdf}


def _chi2():
    def logpdf(x, df, loc, scale):
        z = _z(x, loc, scale)
        inside = z >= 0
        return _on(inside, special.xlogy(df / 2 - 1, np.where(inside, z, 1.0)) - z / 2 - special.gammaln(df / 2)
                   - df / 2 * np.log(2.0) - np.log(scale))
    return {"logpdf": logpdf}


def _beta():
    def logpdf(x, a, b, loc, scale):
        z = _z(x, loc, scale)
        inside = (z >= 0) & (z <= 1)
        zz = np.where(inside, z, 0.5)
        return _on(inside, special.xlogy(a - 1, zz) + special.xlog1py(b - 1, -zz) - special.gammaln(a)
                   - special.gammaln(b) + special.gammaln(a + b) - np.log(scale))
    return {"logpdf": logpdf}


def _log1mexp(z, scale=None):
    """``log(1 - exp(-z))`` for ``z >= 0``, accurate at both ends (Maechler's switch at ``log 2``)."""
    small = z < np.log(2.0)
    return np.where(small, np.log(-np.expm1(-np.where(small, z, 1.0))), np.log1p(-np.exp(-np.where(small, 1.0, z))))


def _expon():
    def on(fn, outside):
        def method(x, loc, scale):
            z = _z(x, loc, scale)
            inside = z >= 0
            return _on(inside, fn(np.where(inside, z, 0.0), scale), outside)
        return method
    return {"logpdf": on(lambda z, scale: -z - np.log(scale), NEG_INF),
            "cdf": on(lambda z, scale: -np.expm1(-z), 0.0),
            "logcdf": on(_log1mexp, NEG_INF),
            "sf": on(lambda z, scale: np.exp(-z), 1.0),
            "logsf": on(lambda z, scale: -z, 0.0)}


def _laplace():
    def cdf(z):
        small = 0.5 * np.exp(-np.abs(z))
        return np.where(z < 0, small, 1 - small)

    def logcdf(z):
        return np.where(z < 0, z - np.log(2.0), np.log1p(-0.5 * np.exp(-np.abs(z))))
    return {"logpdf": lambda x, loc, scale: -np.abs(_z(x, loc, scale)) - np.log(2 * scale),
            "cdf": lambda x, loc, scale: cdf(_z(x, loc, scale)),
            "logcdf": lambda x, loc, scale: logcdf(_z(x, loc, scale)),
            "sf": lambda x, loc, scale: cdf(-_z(x, loc, scale)),
            "logsf": lambda x, loc, scale: logcdf(-_z(x, loc, scale))}


def _uniform():
    def logpdf(x, loc, scale):
        z = _z(x, loc, scale)
        return _on((z >= 0) & (z <= 1), -np.log(scale) + 0 * z)
    return {"logpdf": logpdf,
            "cdf": lambda x, loc, scale: np.clip(_z(x, loc, scale), 0.0, 1.0),
            "logcdf": lambda x, loc, scale: np.log(np.clip(_z(x, loc, scale), 0.0, 1.0)),
            "sf": lambda x, loc, scale: np.clip(1 - _z(x, loc, scale), 0.0, 1.0),
            "logsf": lambda x, loc, scale: np.log(np.clip(1 - _z(x, loc, scale), 0.0, 1.0))}


def _cauchy():
    def cdf(z):  # 0.5 + arctan(z) / pi, written so the lower tail has no cancellation (-1/(pi z) there)
        return np.arctan2(1.0, -z) / np.pi
    return {"logpdf": lambda x, loc, scale: -np.log(np.pi) - np.log1p(_z(x, loc, scale) ** 2) - np.log(scale),
            "cdf": lambda x, loc, scale: cdf(_z(x, loc, scale)),
            "logcdf": lambda x, loc, scale: np.log(cdf(_z(x, loc, scale))),
            "sf": lambda x, loc, scale: cdf(-_z(x, loc, scale)),
            "logsf": lambda x, loc, scale: np.log(cdf(-_z(x, loc, scale)))}


def _logistic():
    def logpdf(x, loc, scale):  # log sigmoid(z) + log sigmoid(-z): smooth, and each exp of it at most 1
        z = _z(x, loc, scale)
        return -np.logaddexp(0.0, z) - np.logaddexp(0.0, -z) - np.log(scale)
    return {"logpdf": logpdf,
            "cdf": lambda x, loc, scale: special.expit(_z(x, loc, scale)),
            "logcdf": lambda x, loc, scale: -np.logaddexp(0.0, -_z(x, loc, scale)),
            "sf": lambda x, loc, scale: special.expit(-_z(x, loc, scale)),
            "logsf": lambda x, loc, scale: -np.logaddexp(0.0, _z(x, loc, scale))}


# ---------------------------------------------------------------- discrete ------------------------

def _poisson():
    def logpmf(x, mu, loc):
        k = x - loc
        inside = (k >= 0) & (np.floor(k) == k)
        kk = np.where(inside, k, 0.0)
        return _on(inside, special.xlogy(kk, mu) - special.gammaln(kk + 1) - mu)
    return {"logpmf": logpmf}


UNIVARIATE = {"norm": _norm(), "t": _t(), "gamma": _gamma(), "beta": _beta(), "chi2": _chi2(), "expon": _expon(),
              "laplace": _laplace(), "lognorm": _lognorm(), "uniform": _uniform(), "cauchy": _cauchy(),
              "logistic": _logistic(), "poisson": _poisson()}


# ---------------------------------------------------------------- multivariate --------------------

def _mvn_logpdf(here, x, mean=None, cov=1, allow_singular=False):
    if allow_singular:
        raise UnsupportedError(f"{here()}: scipy.stats.multivariate_normal.logpdf with allow_singular=True is "
                               "not supported on traced values")
    cov_nd, x_nd = np.ndim(cov), np.ndim(x)
    d = np.shape(x)[-1] if x_nd in (1, 2) else None
    if d is None or cov_nd > 2 or (cov_nd >= 1 and np.shape(cov)[0] != d):
        raise UnsupportedError(f"{here()}: scipy.stats.multivariate_normal.logpdf on traced values needs x of shape "
                               f"(d,) or (n, d) and cov a number, a (d,) diagonal or a (d, d) matrix; got x "
                               f"{np.shape(x)}, cov {np.shape(cov)}")
    r = x - mean if mean is not None else x
    if cov_nd < 2:  # c * I or diag(v), as SciPy reads a number or a vector
        v = cov * np.ones(d) if cov_nd == 0 else cov
        return -0.5 * (d * LOG_2PI + np.sum(np.log(v)) + np.sum(r * r / v, axis=-1))
    sign, logdet = np.linalg.slogdet(cov)
    logdet = np.where(sign > 0, logdet, np.nan)  # not positive definite: NaN, never a wrong number
    if x_nd == 1:
        maha = np.dot(r, np.linalg.solve(cov, r))
    else:
        maha = np.sum(r.T * np.linalg.solve(cov, r.T), axis=0)
    return -0.5 * (d * LOG_2PI + logdet + maha)


def _dirichlet_logpdf(here, x, alpha):
    k = np.shape(alpha)[0] if np.ndim(alpha) == 1 else None
    if k is None or np.ndim(x) not in (1, 2) or np.shape(x)[0] not in (k, k - 1):
        raise UnsupportedError(f"{here()}: scipy.stats.dirichlet.logpdf on traced values needs alpha of shape (k,) "
                               f"and x of shape (k,) or (k, n) (or k - 1 components); got x {np.shape(x)}, "
                               f"alpha {np.shape(alpha)}")
    if np.shape(x)[0] == k - 1:
        x = np.concatenate([x, (1 - np.sum(x, axis=0))[None]], axis=0)
    a = alpha if np.ndim(x) == 1 else alpha[:, None]
    return (special.gammaln(np.sum(alpha)) - np.sum(special.gammaln(alpha))
            + np.sum(special.xlogy(a - 1, x), axis=0))


MULTIVARIATE: dict[str, dict[str, Any]] = {"multivariate_normal": {"logpdf": _mvn_logpdf},
                                           "dirichlet": {"logpdf": _dirichlet_logpdf}}


def supported_text() -> str:
    parts = [f"{name} ({', '.join(m for m in forms)}{', pdf' if 'logpdf' in forms else ''}"
             f"{', pmf' if 'logpmf' in forms else ''})" for name, forms in UNIVARIATE.items()]
    return "; ".join(parts + ["multivariate_normal (logpdf, pdf)", "dirichlet (logpdf, pdf)"])
