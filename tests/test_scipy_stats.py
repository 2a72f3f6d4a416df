"""scipy.stats distributions traced through their closed forms (symdiff/scipy/stats.py): values against
SciPy, gradients against central differences (in the data and every parameter), the tails finite, refusals
naming scipy.stats.<dist>.<method>, and a Bayesian-regression log-posterior through the decorator and export."""
import importlib.util

import numpy as np
import pytest
from scipy import stats
from scipy.stats import norm

import symdiff
from symdiff.errors import UnsupportedError
from symdiff.testing import check_grads
from symdiff.scipy import stats as _entries  # noqa: F401  (the closed forms)

X = np.array([0.35, 0.8, 1.7])  # inside every support below (scale 2.5, loc 0.1)
#: distribution, methods, (x, *shape parameters, loc, scale) as positional arguments
CASES = [
    ("norm", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X - 1.0, 0.3, 1.4)),
    ("t", ("logpdf", "pdf"), (X - 1.0, 3.5, 0.3, 1.4)),
    ("gamma", ("logpdf", "pdf"), (X, 2.3, 0.1, 1.3)),
    ("chi2", ("logpdf", "pdf"), (X, 3.3, 0.1, 1.3)),
    ("beta", ("logpdf", "pdf"), (X, 2.2, 3.1, 0.1, 2.5)),
    ("expon", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.1, 1.3)),
    ("laplace", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X - 1.0, 0.2, 1.4)),
    ("lognorm", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.7, 0.1, 1.3)),
    ("uniform", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.1, 2.5)),
    ("cauchy", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X - 1.0, 0.2, 1.4)),
    ("logistic", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X - 1.0, 0.2, 1.4)),
]


def _weighted(dist, methods, weights):
    d = getattr(stats, dist)

    def f(*args):
        return sum(w * np.sum(getattr(d, m)(*args)) for m, w in zip(methods, weights))
    return f


ARITY = {3: lambda f: lambda a, b, c: f(a, b, c), 4: lambda f: lambda a, b, c, d: f(a, b, c, d),
         5: lambda f: lambda a, b, c, d, e: f(a, b, c, d, e)}


@pytest.mark.parametrize("dist,methods,args", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients(dist, methods, args):
    weights = np.random.default_rng(len(dist)).uniform(0.5, 1.5, len(methods))
    f = ARITY[len(args)](_weighted(dist, methods, weights))
    d = getattr(stats, dist)
    expected = sum(w * np.sum(getattr(d, m)(*args)) for m, w in zip(methods, weights))
    value, _ = symdiff.value_and_grad(f, wrt=tuple(range(len(args))))(*args)
    assert np.isclose(value, expected, rtol=1e-10, atol=1e-12)
    check_grads(f, list(args))
