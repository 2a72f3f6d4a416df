"""``symdiff.optimize.objective``: SciPy's calling order (``hessp(x, p, *args)``), derivatives checked
against central differences, ``fun``/``jac`` sharing one evaluation, and minimize's methods reaching
the optimum."""
from __future__ import annotations

import numpy as np
import pytest

import symdiff
from symdiff.optimize import objective

scipy_optimize = pytest.importorskip("scipy.optimize")


def model(w, X, y, lam):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z) + 0.5 * lam * np.sum(w ** 2) + np.sum(np.sin(w)) / 10


def _data(seed=0, n=40, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (rng.uniform(size=n) < 0.5).astype(float)
    return X, y, 0.3, rng


def _central(f, x, h=1e-6):
    out = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(out)


def test_derivatives_in_scipys_order_match_central_differences():
    X, y, lam, rng = _data()
    obj = objective(model)
    w, p = rng.normal(size=5), rng.normal(size=5)
    args = (X, y, lam)
    assert np.isclose(obj.fun(w, *args), model(w, *args), rtol=1e-13)
    np.testing.assert_allclose(obj.jac(w, *args), _central(lambda t: model(t, *args), w), rtol=1e-6, atol=1e-9)
    hess = obj.hess(w, *args)
    fd_hess = _central(lambda t: obj.jac(t, *args), w)
    np.testing.assert_allclose(hess, fd_hess, rtol=1e-5, atol=1e-8)
    h = 1e-6  # the Hessian times p: the derivative of the gradient along p
    along = (obj.jac(w + h * p, *args) - obj.jac(w - h * p, *args)) / (2 * h)
    np.testing.assert_allclose(obj.hessp(w, p, *args), along, rtol=1e-5, atol=1e-8)


def test_fun_and_jac_at_one_point_share_one_evaluation():
    X, y, lam, rng = _data(1)
    obj = objective(model)
    w = rng.normal(size=5)
    value = obj.fun(w, X, y, lam)
    g = obj.jac(w, X, y, lam)
    assert obj.evaluations["value_and_grad"] == 1
    g[:] = 0  # the caller owns what jac returns
    assert np.all(obj.jac(w, X, y, lam) != 0) and obj.evaluations["value_and_grad"] == 1
    assert obj.value_and_grad(w, X, y, lam)[0] == value
    obj.jac(w + 1e-3, X, y, lam)
    assert obj.evaluations["value_and_grad"] == 2
    obj.jac(w + 1e-3, X, y, lam * 2)  # other args: computed again
    assert obj.evaluations["value_and_grad"] == 3


@pytest.mark.parametrize("method", ["trust-krylov", "trust-ncg", "Newton-CG", "trust-exact"])
def test_minimize_reaches_a_stationary_point(method):
    X, y, lam, _ = _data(2)
    obj = objective(model)
    extra = {"hess": obj.hess} if method == "trust-exact" else {"hessp": obj.hessp}
    res = scipy_optimize.minimize(obj.fun, np.zeros(5), args=(X, y, lam), jac=obj.jac, method=method,
                                  **extra, options={"gtol": 1e-8} if method != "Newton-CG" else {"xtol": 1e-12})
    assert res.success, res.message
    assert np.linalg.norm(_central(lambda t: model(t, X, y, lam), res.x)) < 1e-6
    ref = scipy_optimize.minimize(model, np.zeros(5), args=(X, y, lam), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)


def test_jac_true_with_value_and_grad():
    X, y, lam, _ = _data(3)
    obj = objective(model)
    res = scipy_optimize.minimize(obj.value_and_grad, np.zeros(5), args=(X, y, lam), jac=True, hessp=obj.hessp,
                                  method="trust-krylov", options={"gtol": 1e-8})
    assert res.success and np.linalg.norm(obj.jac(res.x, X, y, lam)) < 1e-8


def test_another_argument_and_a_matrix_shape():
    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))

    def residual(A, W, B):  # optimise W (3 x 2): least squares A W ~ B, plus a quartic term
        return np.sum((A @ W - B) ** 2) + np.sum(W ** 4)

    obj = objective(residual, wrt="W", shape=(3, 2))
    w = rng.normal(size=6)
    f = lambda t: residual(A, t.reshape(3, 2), B)  # noqa: E731
    np.testing.assert_allclose(obj.jac(w, A, B), _central(f, w), rtol=1e-6, atol=1e-8)
    p = rng.normal(size=6)
    np.testing.assert_allclose(obj.hessp(w, p, A, B), _central(lambda t: obj.jac(t, A, B), w) @ p, rtol=1e-5,
                               atol=1e-7)
    assert obj.hess(w, A, B).shape == (6, 6)


def test_bad_wrt_is_refused():
    with pytest.raises(symdiff.TraceError, match="has no argument 'v'"):
        objective(model, wrt="v")
    with pytest.raises(symdiff.TraceError, match="one argument"):
        objective(model, wrt=("w", "X"))
    assert symdiff.optimize.objective is objective
