"""scipy.special's long tail: values against SciPy, derivatives against closed forms and mpmath,
second order, logsumexp's b= and return_sign=True, from-imported names, and the refusals."""
import mpmath
import numpy as np
import pytest
import scipy.special as sc
from scipy.special import gammaln, logsumexp, polygamma, softmax

import symdiff
from symdiff.errors import UnsupportedError
from symdiff.testing import check_grads

X = np.array([0.4, 1.3, 2.7])
LSE = logsumexp  # an alias made when this module was imported


def _d(f, x, n=1):
    """n-th derivative of an mpmath function at each x (an independent reference)."""
    with mpmath.workdps(30):
        return np.array([float(mpmath.diff(f, mpmath.mpf(float(v)), n)) for v in x])


CLOSED = [  # (scipy function of x, mpmath of x, points)
    (sc.gamma, mpmath.gamma, X), (sc.rgamma, mpmath.rgamma, X), (sc.digamma, mpmath.digamma, X),
    (lambda x: sc.polygamma(2, x), lambda t: mpmath.polygamma(2, t), X),
    (lambda x: sc.multigammaln(x, 3), lambda t: 3 * mpmath.log(mpmath.pi) / 2 + sum(
        mpmath.loggamma(t + (1 - j) / mpmath.mpf(2)) for j in (1, 2, 3)), X + 1.2),
    (lambda x: sc.beta(x, 1.7), lambda t: mpmath.beta(t, 1.7), X),
    (lambda x: sc.betaln(2.2, x), lambda t: mpmath.log(mpmath.beta(2.2, t)), X),
    (lambda x: sc.betainc(2.5, 1.5, x), lambda t: mpmath.betainc(2.5, 1.5, 0, t, regularized=True), X / 3),
    (lambda x: sc.gammainc(1.7, x), lambda t: mpmath.gammainc(1.7, 0, t, regularized=True), X),
    (lambda x: sc.gammaincc(1.7, x), lambda t: mpmath.gammainc(1.7, t, mpmath.inf, regularized=True), X),
    (sc.erfinv, mpmath.erfinv, X / 3 - 0.5), (sc.erfcinv, lambda t: mpmath.erfinv(1 - t), X / 2),
    (sc.erfcx, lambda t: mpmath.exp(t ** 2) * mpmath.erfc(t), X - 1), (sc.ndtr, mpmath.ncdf, X - 1),
    (sc.log_ndtr, lambda t: mpmath.log(mpmath.ncdf(t)), X - 1),
    (sc.ndtri, lambda t: mpmath.sqrt(2) * mpmath.erfinv(2 * t - 1), X / 3),
    (sc.log_expit, lambda t: -mpmath.log(1 + mpmath.exp(-t)), X - 1), (sc.entr, lambda t: -t * mpmath.log(t), X),
    (lambda x: sc.rel_entr(x, 1.1), lambda t: t * mpmath.log(t / 1.1), X),
    (lambda x: sc.kl_div(0.8, x), lambda t: 0.8 * mpmath.log(0.8 / t) - 0.8 + t, X),
    (sc.i0, lambda t: mpmath.besseli(0, t), X - 1), (sc.i1, lambda t: mpmath.besseli(1, t), X - 1),
    (sc.i0e, lambda t: mpmath.exp(-abs(t)) * mpmath.besseli(0, t), X),
    (sc.i1e, lambda t: mpmath.exp(-abs(t)) * mpmath.besseli(1, t), X),
    (sc.j0, lambda t: mpmath.besselj(0, t), X - 1), (sc.j1, lambda t: mpmath.besselj(1, t), X - 1),
    (sc.y0, lambda t: mpmath.bessely(0, t), X), (sc.y1, lambda t: mpmath.bessely(1, t), X),
    (lambda x: sc.jv(1.5, x), lambda t: mpmath.besselj(1.5, t), X),
    (lambda x: sc.yn(2, x), lambda t: mpmath.bessely(2, t), X),
    (lambda x: sc.iv(2.5, x), lambda t: mpmath.besseli(2.5, t), X),
    (lambda x: sc.ive(1.5, x), lambda t: mpmath.exp(-abs(t)) * mpmath.besseli(1.5, t), X),
    (lambda x: sc.kv(1.5, x), lambda t: mpmath.besselk(1.5, t), X),
    (sc.k0, lambda t: mpmath.besselk(0, t), X), (sc.k1, lambda t: mpmath.besselk(1, t), X),
    (lambda x: sc.zeta(2.5, x), lambda t: mpmath.zeta(2.5, t), X),
    (lambda x: sc.boxcox(x, 0.7), lambda t: (t ** 0.7 - 1) / 0.7, X),
    (lambda x: sc.boxcox(x, 0.0), mpmath.log, X),
]


@pytest.mark.parametrize("k", range(len(CLOSED)))
def test_value_gradient_and_second_derivative_against_mpmath(k):
    fn, ref, x = CLOSED[k]
    value, grad = symdiff.value_and_grad(lambda t: np.sum(fn(t)))(x)
    assert value == pytest.approx(float(np.sum(fn(x))), rel=1e-12)
    np.testing.assert_allclose(grad, _d(ref, x), rtol=1e-7, atol=1e-10)
    hess = symdiff.hessian(lambda t: np.sum(fn(t)))(x)
    np.testing.assert_allclose(np.diag(hess), _d(ref, x, 2), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(hess - np.diag(np.diag(hess)), 0.0, atol=0)


def test_gammasgn_has_zero_gradient():
    x = np.array([-1.5, -0.5, 0.7, 2.0])
    g = symdiff.grad(lambda t: np.sum(sc.gammasgn(t) * t))(x)
    np.testing.assert_array_equal(g, sc.gammasgn(x))  # d(sign * t) = sign


def test_log_ndtr_is_finite_far_in_the_left_tail():
    x = np.array([-40.0, -20.0, -5.0])
    value, g = symdiff.value_and_grad(lambda t: np.sum(sc.log_ndtr(t)))(x)
    assert np.isfinite(value) and np.all(np.isfinite(g))
    with mpmath.workdps(50):  # d/dx log Phi(x) = phi(x) / Phi(x)
        ref = [float(mpmath.npdf(v) / mpmath.ncdf(v)) for v in x]
    np.testing.assert_allclose(g, ref, rtol=1e-9)
    h = symdiff.hessian(lambda t: np.sum(sc.log_ndtr(t)))(x)
    assert np.all(np.isfinite(h))
    np.testing.assert_allclose(np.diag(h), _d(lambda t: mpmath.log(mpmath.ncdf(t)), x, 2), rtol=1e-5)


def test_logsumexp_with_b_and_return_sign_against_autograd():
    import autograd
    import autograd.scipy.special as asp
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 3)), np.array([1.0, -2.5, 3.0])

    def f(a):
        return np.sum(logsumexp(a, axis=1, b=b) ** 2)

    def g(a):
        return np.sum(asp.logsumexp(a, axis=1, b=b) ** 2)
    np.testing.assert_allclose(symdiff.grad(f)(a), autograd.grad(g)(a), rtol=1e-10)

    def signed(a, b):
        out, sign = sc.logsumexp(a, b=b, return_sign=True)
        return out * sign
    b2 = np.array([1.0, -2.5, 0.3])
    check_grads(signed, [a[0], b2])
    # closed form: out = log|sum b e^a|, d out / d a_i = b_i e^a_i / s
    s = np.sum(b2 * np.exp(a[0]))
    ga, gb = symdiff.grad(signed, wrt=(0, 1))(a[0], b2)
    np.testing.assert_allclose(ga, np.sign(s) * b2 * np.exp(a[0]) / s, rtol=1e-12)
    np.testing.assert_allclose(gb, np.sign(s) * np.exp(a[0]) / s, rtol=1e-12)
    np.testing.assert_allclose(signed(a[0], b2), np.log(abs(s)) * np.sign(s), rtol=1e-12)


def test_from_imported_and_aliased_scipy_functions():
    x = np.array([0.5, 1.5, 2.5])

    def f(x):
        lse = logsumexp
        return lse(x) + np.sum(gammaln(x))
    soft = np.exp(x - sc.logsumexp(x))
    np.testing.assert_allclose(symdiff.grad(f)(x), soft + sc.digamma(x), rtol=1e-12)


def test_generated_code_calls_scipy_special_by_name():
    g = symdiff.grad(lambda x: np.sum(sc.jv(1.5, x) * sc.log_ndtr(x) + sc.betainc(2.5, 1.5, x / 4)))
    g(X)
    src = g.source
    for name in ("jv", "log_ndtr", "betainc"):
        assert f"from scipy.special import {name}" in src and f"_{name}(" in src


def test_constant_array_parameters_are_accepted():
    a = np.array([1.5, 2.0, 2.5])
    g = symdiff.grad(lambda x: np.sum(sc.gammainc(a, x)))(X)
    np.testing.assert_allclose(g, X ** (a - 1) * np.exp(-X) / sc.gamma(a), rtol=1e-12)


@pytest.mark.parametrize("fn, what", [
    (lambda a, x: np.sum(sc.betainc(a, 2.0, x)), "betainc with respect to a"),
    (lambda v, x: np.sum(sc.jv(v, x)), "jv with respect to the order v"),
    (lambda v, x: np.sum(sc.kv(v, x)), "kv with respect to the order v"),
    (lambda s, x: np.sum(sc.zeta(s, x)), "zeta with respect to x"),
    (lambda n, x: np.sum(sc.polygamma(n, x)), "polygamma with respect to the order n"),
    (lambda a, x: np.sum(sc.gammainc(a, x)), "gammainc with respect to a"),
    (lambda lm, x: np.sum(sc.boxcox(x, lm)), "boxcox with respect to lmbda"),
])
def test_gradients_with_respect_to_constant_parameters_are_refused(fn, what):
    with pytest.raises(UnsupportedError, match=what.replace("(", r"\(")) as info:
        symdiff.grad(fn, wrt=(0, 1))(np.array([1.5, 2.5]), np.array([0.5, 0.6]))
    assert "test_scipy_special.py" in str(info.value)


def test_orders_must_be_single_whole_numbers():
    for fn in (lambda x: np.sum(sc.polygamma(np.array([1, 2]), x)), lambda x: np.sum(sc.polygamma(1.5, x)),
               lambda x: np.sum(sc.multigammaln(x + 3, 0))):
        with pytest.raises(UnsupportedError, match="constant integer"):
            symdiff.grad(fn)(np.array([1.5, 2.5]))
    x = np.array([1.5, 2.5])  # a whole float is an order
    np.testing.assert_allclose(symdiff.grad(lambda x: np.sum(sc.polygamma(2.0, x)))(x), sc.polygamma(3, x))


def test_whole_float_parameters_print_as_integers():
    g = symdiff.grad(lambda x: np.sum(sc.boxcox(x, 2.0) + sc.betainc(2.0, 3.0, x / 4)))
    x = np.array([0.5, 1.0, 1.5])
    np.testing.assert_allclose(g(x), x + 12.0 * (x / 4) * (1 - x / 4) ** 2 / 4, rtol=1e-12)
    assert "**1.0" not in g.source and "**2.0" not in g.source


def test_module_level_alias_and_from_imported_python_functions():
    x = np.array([0.5, 1.5, 2.5])

    def f(x):
        return LSE(2 * x) + np.sum(polygamma(1, x)) + softmax(x)[0]
    s = softmax(x)
    expected = 2 * softmax(2 * x) + sc.polygamma(2, x) + s[0] * (np.eye(3)[0] - s)
    np.testing.assert_allclose(symdiff.grad(f)(x), expected, rtol=1e-12)


def test_logsumexp_keepdims_and_axis_with_signs():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 3)), np.array([[1.0, -0.4, 2.0], [-3.0, 0.5, 0.2]])

    def f(a):
        out, sign = sc.logsumexp(a, axis=0, b=b, keepdims=True, return_sign=True)
        assert out.shape == (1, 3)
        return np.sum(out * sign * np.array([1.0, 2.0, 3.0]))
    check_grads(f, [a])
    ref, ref_sign = sc.logsumexp(a, axis=0, b=b, keepdims=True, return_sign=True)
    assert symdiff.value_and_grad(f)(a)[0] == pytest.approx(float(np.sum(ref * ref_sign * [1.0, 2.0, 3.0])))


def test_messages_name_scipy_special():
    out = np.zeros(2)
    with pytest.raises(UnsupportedError, match=r"scipy\.special\.gamma\(\.\.\., out=\.\.\.\)"):
        symdiff.grad(lambda x: np.sum(sc.gamma(x, out=out)))(np.array([1.5, 2.5]))


def test_logsumexp_traced_weights_only():
    a = np.array([0.3, -1.2, 2.0])
    g = symdiff.grad(lambda b: sc.logsumexp(a, b=b))(np.array([0.5, 1.5, 2.0]))
    np.testing.assert_allclose(g, np.exp(a) / np.sum(np.array([0.5, 1.5, 2.0]) * np.exp(a)), rtol=1e-12)
