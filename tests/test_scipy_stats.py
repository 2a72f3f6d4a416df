"""scipy.stats distributions traced through their closed forms (symdiff/scipy/stats.py): values against
SciPy, gradients against central differences (in the data and every parameter), the tails finite, refusals
naming scipy.stats.<dist>.<method>, and a Bayesian-regression log-posterior through the decorator and export."""
import importlib.util
import re

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
    vg = symdiff.value_and_grad(f, wrt=tuple(range(len(args))))
    value, _ = vg(*args)
    assert np.isclose(value, expected, rtol=1e-10, atol=1e-12)
    check_grads(f, list(args), gradient=lambda *a: vg(*a)[1])  # one compiled module: the suite stays fast


def test_frozen_and_import_forms():
    """stats.norm, scipy.stats.norm, from scipy.stats import norm and norm(loc, scale) are one thing."""
    import scipy

    def f(x, loc, scale):
        return (np.sum(stats.norm.logpdf(x, loc, scale)) + np.sum(scipy.stats.norm.logcdf(x, loc=loc, scale=scale))
                + np.sum(norm(loc, scale).logsf(x)) + np.sum(stats.gamma(2.5, scale=scale).logpdf(x + 3.0)))
    x = np.array([-1.0, 0.3, 2.0])
    vg = symdiff.value_and_grad(f, wrt=(0, 1, 2))
    expected = (stats.norm.logpdf(x, 0.2, 1.5).sum() + stats.norm.logcdf(x, 0.2, 1.5).sum()
                + stats.norm.logsf(x, 0.2, 1.5).sum() + stats.gamma.logpdf(x + 3.0, 2.5, scale=1.5).sum())
    assert np.isclose(vg(x, 0.2, 1.5)[0], expected, rtol=1e-12)
    check_grads(f, [x, 0.2, 1.5], gradient=lambda *a: vg(*a)[1])


def test_normal_tails_finite():
    """norm.logcdf(-40) and norm.logsf(40): finite values (about -804.608) and gradients (about 40.025)."""
    def f(x):
        return np.sum(norm.logcdf(-x)) + np.sum(norm.logsf(x))
    x = np.array([40.0, 10.0, 1e3])
    value, g = symdiff.value_and_grad(f)(x)
    assert np.isfinite(value) and np.all(np.isfinite(g))
    assert np.isclose(value, 2 * stats.norm.logcdf(-x).sum(), rtol=1e-12)
    # d/dx log Phi(-x) = -phi(x) / Phi(-x) (the inverse Mills ratio), in 50-digit arithmetic
    import mpmath
    with mpmath.workdps(50):
        mills = [float(mpmath.npdf(v) / mpmath.ncdf(-v)) for v in x]
    assert np.allclose(g, -2 * np.array(mills), rtol=1e-9)
    assert np.isclose(stats.norm.logcdf(-40.0), -804.6084420137538)


def test_normal_hessian_in_the_tail():
    """The second derivative of log Phi(x) stays finite at x = -40: r' = -r (x + r), r = phi/Phi ~ -x."""
    h = symdiff.hessian(lambda x: np.sum(norm.logcdf(x)))(np.array([-40.0, 0.5]))
    r = np.exp(stats.norm.logpdf([-40.0, 0.5]) - stats.norm.logcdf([-40.0, 0.5]))
    assert np.allclose(np.diag(h), -r * (np.array([-40.0, 0.5]) + r), rtol=1e-6)


def test_outside_the_support():
    """Off the support logpdf is -inf (as SciPy's) and its gradient 0, never NaN."""
    def f(x, a):
        return np.sum(stats.gamma.logpdf(x, a) + stats.expon.cdf(x) + stats.uniform.logpdf(x, 0.0, 2.0))
    x = np.array([-1.0, 0.5])
    value, g = symdiff.value_and_grad(f)(x, 2.0)
    assert value == -np.inf
    assert np.all(np.isfinite(g))
    assert np.isclose(symdiff.value_and_grad(f)(np.array([0.5, 1.5]), 2.0)[0],
                      sum(d(np.array([0.5, 1.5])).sum() for d in (lambda v: stats.gamma.logpdf(v, 2.0),
                                                                  stats.expon.cdf,
                                                                  lambda v: stats.uniform.logpdf(v, 0.0, 2.0))))


def test_poisson():
    k = np.array([0.0, 2.0, 5.0])

    def f(mu, k):
        return np.sum(stats.poisson.logpmf(k, mu)) + 0.5 * np.sum(stats.poisson(mu).pmf(k))
    value, g = symdiff.value_and_grad(f)(1.7, k)
    assert np.isclose(value, stats.poisson.logpmf(k, 1.7).sum() + 0.5 * stats.poisson.pmf(k, 1.7).sum())
    pmf = stats.poisson.pmf(k, 1.7)  # d/dmu log p = k/mu - 1, d/dmu p = p (k/mu - 1)
    assert np.isclose(g, np.sum(k / 1.7 - 1) + 0.5 * np.sum(pmf * (k / 1.7 - 1)))
    assert symdiff.value_and_grad(f)(1.7, np.array([1.5, 2.0]))[0] == -np.inf  # not an integer: SciPy's -inf


def test_multivariate_normal():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + 3 * np.eye(3)
    x, mean = rng.standard_normal((4, 3)), rng.standard_normal(3)

    def f(x, mean, cov):
        return np.sum(stats.multivariate_normal.logpdf(x, mean, cov)) + \
            stats.multivariate_normal(mean=mean, cov=cov).logpdf(x[0])
    value, (gx, gm, gc) = symdiff.value_and_grad(f, wrt=(0, 1, 2))(x, mean, cov)
    assert np.isclose(value, stats.multivariate_normal.logpdf(x, mean, cov).sum()
                      + stats.multivariate_normal.logpdf(x[0], mean, cov))
    prec = np.linalg.inv(cov)  # closed forms: d/dx = -P (x - m), d/dcov = 0.5 (P r r^T P - P) per row
    r = np.vstack([x, x[:1]]) - mean
    assert np.allclose(gx[1:], -(x[1:] - mean) @ prec)
    assert np.allclose(gm, (r @ prec).sum(axis=0))
    assert np.allclose(gc, 0.5 * sum(prec @ np.outer(ri, ri) @ prec - prec for ri in r))


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.5])
    x = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])

    def f(alpha, x):
        return np.sum(stats.dirichlet.logpdf(x, alpha)) + stats.dirichlet(alpha).logpdf(x[:, 0])
    value, g = symdiff.value_and_grad(f)(alpha, x)
    assert np.isclose(value, stats.dirichlet.logpdf(x, alpha).sum() + stats.dirichlet.logpdf(x[:, 0], alpha))
    from scipy.special import digamma  # d/dalpha_i = digamma(sum a) - digamma(a_i) + log x_i
    expected = 3 * (digamma(alpha.sum()) - digamma(alpha)) + np.log(x).sum(axis=1) + np.log(x[:, 0])
    assert np.allclose(g, expected)


@pytest.mark.parametrize("call,name", [
    (lambda x: stats.t.cdf(x, 3.0), "scipy.stats.t.cdf"),
    (lambda x: stats.norm.ppf(x), "scipy.stats.norm.ppf"),
    (lambda x: stats.gamma.cdf(x, 2.0), "scipy.stats.gamma.cdf"),
    (lambda x: stats.weibull_min.logpdf(x, 2.0), "scipy.stats.weibull_min.logpdf"),
    (lambda x: stats.poisson.cdf(x, 2.0), "scipy.stats.poisson.cdf"),
    (lambda x: stats.norm.mean(loc=x), "scipy.stats.norm.mean"),
    (lambda x: stats.multivariate_normal.cdf(x, np.zeros(2), np.eye(2)), "scipy.stats.multivariate_normal.cdf"),
])
def test_refusals_name_the_method(call, name):
    with pytest.raises(UnsupportedError, match=name.replace(".", r"\.")) as info:
        symdiff.grad(lambda x: np.sum(call(x)))(np.array([0.3, 0.6]))
    assert "test_scipy_stats.py:" in str(info.value)


def test_outside_a_trace_scipy_is_scipy():
    assert stats.norm.logpdf(0.0) == pytest.approx(-0.5 * np.log(2 * np.pi))
    assert "standin" not in type(stats.norm).logpdf.__qualname__


def log_posterior(w, log_sigma, X, y):
    """Bayesian linear regression: normal prior on w, half-Cauchy-like prior on sigma, normal likelihood."""
    sigma = np.exp(log_sigma)
    prior = np.sum(stats.norm.logpdf(w, 0.0, 2.0)) + stats.cauchy.logpdf(sigma, 0.0, 1.0) + log_sigma
    return prior + np.sum(stats.norm.logpdf(y, X @ w, sigma))


def _regression_data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, 3))
    y = X @ np.array([0.5, -1.0, 2.0]) + 0.3 * rng.standard_normal(20)
    return X, y


def _posterior_gradient(w, log_sigma, X, y):
    """By hand: d/dw = -w/4 + X^T (y - Xw) / sigma^2; d/dlog_sigma = sum(r^2)/sigma^2 - n + 1 - 2 s^2/(1+s^2)."""
    s = np.exp(log_sigma)
    r = y - X @ w
    return -w / 4 + X.T @ r / s ** 2, np.sum(r ** 2) / s ** 2 - len(y) + 1 - 2 * s ** 2 / (1 + s ** 2)


def test_bayesian_regression_decorator():
    X, y = _regression_data()
    w, ls = np.array([0.1, -0.2, 0.3]), -0.4
    value, (gw, gs) = symdiff.value_and_grad(log_posterior, wrt=("w", "log_sigma"))(w, ls, X, y)
    assert np.isclose(value, log_posterior(w, ls, X, y))
    ew, es = _posterior_gradient(w, ls, X, y)
    assert np.allclose(gw, ew) and np.isclose(gs, es)
    if importlib.util.find_spec("autograd") is None:  # pragma: no cover
        return
    import autograd  # autograd's scipy.stats.norm.logpdf, as a second opinion
    import autograd.numpy as anp
    from autograd.scipy.stats import norm as anorm
    ag = autograd.grad(lambda w: anp.sum(anorm.logpdf(w, 0.0, 2.0)) + anp.sum(anorm.logpdf(y, anp.dot(X, w),
                                                                                          np.exp(ls))))(w)
    assert np.allclose(gw, ag)


def test_bayesian_regression_export(tmp_path):
    X, y = _regression_data()
    text = symdiff.export(log_posterior, tmp_path / "posterior_grad.py", wrt=("w", "log_sigma"),
                          shapes={"w": ("k",), "X": ("n", "k"), "y": ("n",)})
    assert "from scipy" not in text and "import scipy" not in text  # normal and Cauchy densities: NumPy only
    assert re.search(r"# Grad of: \w+\.py:\d+: prior = np\.sum\(stats\.norm\.logpdf\(w, 0\.0, 2\.0\)\)", text), text
    spec = importlib.util.spec_from_file_location("posterior_grad", tmp_path / "posterior_grad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    w, ls = np.array([0.1, -0.2, 0.3]), -0.4
    gw, gs = module.log_posterior_grad(w, ls, X, y)
    ew, es = _posterior_gradient(w, ls, X, y)
    assert np.allclose(gw, ew) and np.isclose(gs, es)


@pytest.mark.parametrize("cov", [1.7, np.array([0.5, 1.2, 2.0])], ids=["number", "diagonal"])
def test_multivariate_normal_number_and_diagonal_cov(cov):
    x, mean = np.array([[0.3, -0.2, 1.0], [1.1, 0.4, -0.7]]), np.array([0.1, 0.2, 0.3])
    f = lambda x, mean, cov: np.sum(stats.multivariate_normal.logpdf(x, mean, cov))  # noqa: E731
    vg = symdiff.value_and_grad(f, wrt=(0, 1, 2))
    assert np.isclose(vg(x, mean, cov)[0], stats.multivariate_normal.logpdf(x, mean, cov).sum())
    check_grads(f, [x, mean, cov], gradient=lambda *a: vg(*a)[1])


def _second_differences(f, params, h=1e-4):
    n = len(params)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            def at(di, dj):
                p = np.array(params, dtype=float)
                p[i] += di * h
                p[j] += dj * h
                return f(*p)
            out[i, j] = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h)
    return out


@pytest.mark.parametrize("dist,x", [("t", 0.7), ("gamma", 1.9), ("beta", 0.35), ("lognorm", 1.2)])
def test_hessian_in_the_parameters(dist, x):
    """Second derivatives in the shape parameter(s), loc and scale against SciPy's second differences."""
    d = getattr(stats, dist)
    params = [2.5, 3.5, 0.05, 1.3] if dist == "beta" else [2.5, 0.05, 1.3]
    n = len(params)
    f = (lambda a, b, loc, scale: d.logpdf(x, a, b, loc, scale)) if n == 4 else \
        (lambda a, loc, scale: d.logpdf(x, a, loc, scale))
    h = symdiff.hessian(lambda p: f(*[p[i] for i in range(n)]))(np.array(params))
    assert np.allclose(h, _second_differences(f, params), rtol=1e-4, atol=1e-5)


def test_frozen_multivariate_refuses_other_methods():
    def f(mean):
        return stats.multivariate_normal(mean, np.eye(2)).cdf(np.zeros(2))
    with pytest.raises(UnsupportedError, match=r"scipy\.stats\.multivariate_normal\.cdf"):
        symdiff.grad(f)(np.array([0.1, 0.2]))


def test_far_tails_of_other_distributions():
    """logistic.pdf far out (no inf * 0 in its gradient) and expon.logcdf near 0 from below (no 1 - 1)."""
    x = np.array([-1e6, -800.0, -60.0, 0.5])
    value, g = symdiff.value_and_grad(lambda x: np.sum(stats.logistic.pdf(x, 0.1, 1.3)))(x)
    assert np.isclose(value, stats.logistic.pdf(x, 0.1, 1.3).sum(), rtol=1e-12, atol=0)
    p, c = stats.logistic.pdf(x, 0.1, 1.3), stats.logistic.cdf(x, 0.1, 1.3)  # pdf' = pdf (1 - 2 cdf) / scale
    assert np.all(np.isfinite(g)) and np.allclose(g, p * (1 - 2 * c) / 1.3, rtol=1e-9, atol=0)
    t = np.array([40.0, 5.0, 0.1])
    value, g = symdiff.value_and_grad(lambda t: np.sum(stats.expon.logcdf(t)))(t)
    assert np.isclose(value, np.sum(np.log(-np.expm1(-t))), rtol=1e-12, atol=0)  # -4.248e-18 at 40, not 0
    assert np.allclose(g, 1 / np.expm1(t), rtol=1e-10, atol=0)


def test_invalid_parameters_give_nan_as_scipy():
    """scale <= 0 or a shape parameter <= 0: SciPy's NaN, never a number (gammaln(-a) is finite)."""
    def f(a, scale, mu):
        return (stats.gamma.logpdf(1.2, a) + stats.beta.pdf(0.3, a, 2.0) + stats.norm.cdf(0.4, 0.0, scale)
                + stats.poisson.logpmf(k=0.0, mu=mu))
    vg = symdiff.value_and_grad(f, wrt=(0, 1, 2))
    assert np.isfinite(vg(1.5, 2.0, 0.5)[0])
    assert np.isclose(vg(1.5, 2.0, 0.5)[0], stats.gamma.logpdf(1.2, 1.5) + stats.beta.pdf(0.3, 1.5, 2.0)
                      + stats.norm.cdf(0.4, 0.0, 2.0) + stats.poisson.logpmf(0, 0.5))
    for args in [(-1.5, 2.0, 0.5), (1.5, -2.0, 0.5), (1.5, 2.0, -0.5)]:
        assert np.isnan(vg(*args)[0]) and np.isnan(f(*args)), args
