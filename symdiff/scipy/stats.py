"""``scipy.stats`` distributions on traced values: ``stats.norm.logpdf(x, loc, scale)``,
``norm(loc, scale).logcdf(x)``, ``stats.multivariate_normal.logpdf(x, mean, cov)``, ...

SciPy's distributions are module-level singletons whose methods (``logpdf``, ``cdf``, ...) are defined
once on ``rv_continuous``/``rv_discrete`` (frozen distributions call them too). While a function is
traced, those methods are replaced (through :data:`symdiff.trace.patches.PROVIDERS`) by stand-ins that,
when any argument is traced, compute the closed form of :mod:`symdiff.scipy.stats_forms` with NumPy and
``scipy.special`` operations on the traced values, and call SciPy otherwise. A distribution or method
without a closed form here is refused, naming ``scipy.stats.<dist>.<method>``.
The normal's cdf forms use ``scipy.special.ndtr``/``log_ndtr``, entries of :mod:`symdiff.scipy.special`.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.stats as stats
from scipy.stats._distn_infrastructure import rv_continuous, rv_discrete, rv_generic

from ..errors import UnsupportedError
from ..trace import patches
from ..trace.dispatch import _here, _holds_tracer
from ..trace.values import Tracer
from . import special as _special  # noqa: F401  (xlogy, gammaln, ... are entries there)
from . import stats_forms as F


#: the methods with a closed form here, per distribution (``pdf`` is ``exp(logpdf)``, ``pmf`` ``exp(logpmf)``)
CONTINUOUS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
DISCRETE = ("logpmf", "pmf")
#: methods refused on traced values (SciPy would fail on them in a confusing way)
REFUSED = ("ppf", "isf", "rvs", "entropy", "mean", "var", "std", "median", "moment", "stats", "interval",
           "expect", "nnlf", "fit", "support")


def _traced(args, kwargs) -> bool:
    return patches._tracing() and any(isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and
                                                                  _holds_tracer(a))
                                      for a in (*args, *kwargs.values()))


def _refuse(dist: str, method: str, why: str) -> UnsupportedError:
    return UnsupportedError(f"{_here()}: scipy.stats.{dist}.{method} is not supported on traced values ({why}); "
                            f"supported: {F.supported_text()}")


def _bind(dist, method: str, args: tuple, kwargs: dict) -> dict:
    """The arguments by name: the data, the shape parameters, ``loc`` and (continuous) ``scale``."""
    data = "k" if isinstance(dist, rv_discrete) else "x"
    names = [data, *([s.strip() for s in dist.shapes.split(",")] if dist.shapes else []), "loc"]
    if isinstance(dist, rv_continuous):
        names.append("scale")
    if len(args) > len(names):
        raise _refuse(dist.name, method, f"{len(args)} positional arguments, it takes {', '.join(names)}")
    bound = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in names or key in bound:
            raise _refuse(dist.name, method, f"argument {key}=")
        bound[key] = value
    missing = [n for n in names if n not in bound and n not in ("loc", "scale")]
    if missing:
        raise UnsupportedError(f"{_here()}: scipy.stats.{dist.name}.{method} needs {', '.join(missing)}")
    bound["x"] = bound.pop(data)
    return {"loc": 0.0, "scale": 1.0, **bound} if "scale" in names else {"loc": 0.0, **bound}


def _valid(dist, method: str, bound: dict):
    """Where the parameters are valid (SciPy gives NaN elsewhere): shape parameters > 0 (``poisson``'s
    ``mu >= 0``) and ``scale > 0``; None when nothing needs a check. A log-density with ``-log(scale)`` is
    NaN for ``scale <= 0`` by itself, so only the other methods check ``scale``."""
    names = [n.strip() for n in dist.shapes.split(",")] if dist.shapes else []
    if method not in ("logpdf", "logpmf") and "scale" in bound:
        names.append("scale")
    guard = None
    for name in names:
        p = bound[name]
        if not isinstance(p, Tracer) and np.all(np.asarray(p) > 0):
            continue  # a valid constant
        ok = p >= 0 if dist.name == "poisson" else p > 0
        guard = ok if guard is None else guard & ok
    return guard


def _univariate(method: str, orig):
    @functools.wraps(orig)
    def standin(self, *args, **kwargs):
        if not _traced(args, kwargs):
            return orig(self, *args, **kwargs)
        if method in REFUSED:
            raise _refuse(self.name, method, "no closed form here")
        forms = F.UNIVARIATE.get(self.name)
        if forms is None:
            raise _refuse(self.name, method, "this distribution has no closed form here")
        bound = _bind(self, method, args, kwargs)
        key = "log" + method if method in ("pdf", "pmf") else method
        if key not in forms:
            raise _refuse(self.name, method, "no closed form of this method (e.g. it needs an incomplete "
                                             "gamma or beta function with derivatives in its parameters)")
        value = np.exp(forms[key](**bound)) if method in ("pdf", "pmf") else forms[key](**bound)
        guard = _valid(self, key, bound)
        return value if guard is None else np.where(guard, value, np.nan)
    standin.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return standin


def _multivariate(dist: str, method: str, orig, form=None):
    @functools.wraps(orig)
    def standin(self, *args, **kwargs):
        if not _traced(args, kwargs):
            return orig(self, *args, **kwargs)
        if form is None:
            raise _refuse(dist, method, "no closed form here")
        if method == "__call__":
            return _Frozen(self, dist, args, kwargs)
        value = form(_here, *args, **kwargs)
        return np.exp(value) if method == "pdf" else value
    standin.__symdiff_standin__ = orig  # type: ignore[attr-defined]
    return standin


class _Frozen:
    """``multivariate_normal(mean, cov)`` / ``dirichlet(alpha)`` with traced parameters, while tracing."""

    def __init__(self, gen, dist, args, kwargs):
        self.gen, self.dist, self.args, self.kwargs = gen, dist, args, kwargs

    def logpdf(self, x):
        return getattr(self.gen, "logpdf")(x, *self.args, **self.kwargs)

    def pdf(self, x):
        return getattr(self.gen, "pdf")(x, *self.args, **self.kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise _refuse(self.dist, name, "no closed form here")


def _standins() -> list:
    out = []
    for cls, methods in ((rv_continuous, CONTINUOUS), (rv_discrete, ("logpmf", "pmf", "cdf", "logcdf", "sf",
                                                                       "logsf"))):
        for method in (*methods, "ppf", "isf"):
            out.append((cls, method, _univariate(method, getattr(cls, method))))
    for cls in (rv_generic, rv_continuous, rv_discrete):
        for method in REFUSED:
            if method not in ("ppf", "isf") and method in cls.__dict__:
                out.append((cls, method, _univariate(method, cls.__dict__[method])))
    for name, forms in F.MULTIVARIATE.items():
        cls = type(getattr(stats, name))
        for method in ("logpdf", "pdf", "cdf", "logcdf", "rvs", "entropy", "__call__"):
            if method in cls.__dict__:
                form = forms.get("logpdf") if method in ("logpdf", "pdf", "__call__") else None
                out.append((cls, method, _multivariate(name, method, cls.__dict__[method], form)))
    return out


patches.PROVIDERS.append(_standins)
