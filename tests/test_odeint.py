"""scipy.integrate.odeint and solve_ivp with a traced right-hand side: the values are SciPy's (the
generated code calls it), the gradient is the adjoint method, checked against closed forms, central
differences and autograd's odeint."""
from __future__ import annotations

import functools
import importlib.util
import sys

import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.integrate  # noqa: E402
import scipy.linalg  # noqa: E402
from scipy.integrate import odeint, solve_ivp  # noqa: E402

import symdiff  # noqa: E402
from symdiff.errors import UnsupportedError  # noqa: E402

TOL = dict(rtol=1e-11, atol=1e-11)


def central(f, args, i, eps=1e-6):
    """Central differences of f along one random direction per call, for argument i."""
    rng = np.random.default_rng(3 + i)
    x = np.asarray(args[i], dtype=float)
    d = rng.standard_normal(x.shape)
    plus, minus = list(args), list(args)
    plus[i], minus[i] = x + eps * d, x - eps * d
    return (f(*plus) - f(*minus)) / (2 * eps), d


def assert_directional(f, grads, args, rtol=1e-5, atol=1e-7):
    for i, g in enumerate(grads):
        fd, d = central(f, args, i)
        assert np.sum(np.asarray(g) * d) == pytest.approx(fd, rel=rtol, abs=atol), f"argument {i}"


# ---------------------------------------------------------------- models ---------------------------

def decay(y, t, k):
    return -k * y


def decay_loss(k, y0):
    ys = odeint(decay, y0, np.linspace(0.0, 1.0, 5), args=(k,), **TOL)
    return np.sum(ys ** 2)


def lotka(y, t, theta):
    a, b, c, d = theta[0], theta[1], theta[2], theta[3]
    return np.array([a * y[0] - b * y[0] * y[1], c * y[0] * y[1] - d * y[1]])


def lotka_loss(theta, y0, t):
    ys = odeint(lotka, y0, t, args=(theta,), rtol=1e-10, atol=1e-10)
    return np.sum(ys[:, 0] ** 2 + np.sin(ys[:, 1]))


def linear_loss(A, y0):
    ys = scipy.integrate.odeint(lambda y, t: A @ y, y0, np.array([0.0, 0.5, 1.0]), **TOL)
    return np.sum(ys[-1] * np.arange(1.0, 4.0))


def ivp_loss(theta, y0, t):
    def fun(t, y, th):
        return np.array([th[0] * y[0] - th[1] * y[0] * y[1], th[2] * y[0] * y[1] - th[3] * y[1]])
    sol = solve_ivp(fun, (0.0, 3.0), y0, t_eval=t, args=(theta,), method="RK45", rtol=1e-10, atol=1e-10)
    return np.sum(sol.y ** 2) + np.sum(sol.t)


THETA = np.array([1.0, 0.4, 0.3, 0.8])
Y0 = np.array([1.2, 0.8])
T = np.linspace(0.0, 2.0, 6)


# ---------------------------------------------------------------- values and gradients -------------

def test_exponential_decay_matches_closed_form():
    k, y0 = 0.7, np.array([1.0, 2.0])
    t = np.linspace(0.0, 1.0, 5)
    value, (dk, dy0) = symdiff.value_and_grad(decay_loss, wrt=("k", "y0"))(k, y0)
    assert value == decay_loss(k, y0)  # SciPy's own solve, called by the generated code
    assert value == pytest.approx(np.sum(y0 ** 2) * np.sum(np.exp(-2 * k * t)), rel=1e-9)
    assert dk == pytest.approx(-np.sum(2 * t * np.exp(-2 * k * t)) * np.sum(y0 ** 2), rel=1e-8)
    np.testing.assert_allclose(dy0, 2 * y0 * np.sum(np.exp(-2 * k * t)), rtol=1e-8)


def test_lotka_volterra_parameters_state_and_times_against_central_differences():
    grads = symdiff.grad(lotka_loss, wrt=("theta", "y0", "t"))(THETA, Y0, T)
    assert_directional(lotka_loss, grads, [THETA, Y0, T])


def test_linear_system_gradient_wrt_matrix_is_the_frechet_derivative_of_expm():
    rng = np.random.default_rng(0)
    A, y0 = 0.5 * rng.standard_normal((3, 3)), rng.standard_normal(3)
    gA = symdiff.grad(linear_loss)(A, y0)
    w = np.arange(1.0, 4.0)
    expected = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            E = np.zeros((3, 3))
            E[i, j] = 1.0
            expected[i, j] = w @ scipy.linalg.expm_frechet(A, E, compute_expm=False) @ y0
    np.testing.assert_allclose(gA, expected, rtol=1e-7, atol=1e-9)


def test_solve_ivp_y_and_t_against_central_differences():
    t = np.linspace(0.5, 2.5, 5)
    value, grads = symdiff.value_and_grad(ivp_loss, wrt=("theta", "y0", "t"))(THETA, Y0, t)
    assert value == pytest.approx(ivp_loss(THETA, Y0, t), rel=1e-12)
    assert_directional(ivp_loss, grads, [THETA, Y0, t])


@pytest.mark.parametrize("method", ["LSODA", "DOP853"])
def test_solve_ivp_methods(method):
    def f(k, y0):
        sol = solve_ivp(lambda t, y: -k * y + np.sin(t), (0.0, 1.0), y0, method=method,
                        t_eval=np.array([0.0, 0.5, 1.0]), rtol=1e-11, atol=1e-11)
        return np.sum(sol.y[:, -1])
    k, y0 = 0.9, np.array([0.5, -1.0])
    dk, dy0 = symdiff.grad(f, wrt=("k", "y0"))(k, y0)
    np.testing.assert_allclose(dy0, np.exp(-k), rtol=1e-6)
    assert_directional(f, [dk, dy0], [k, y0])


def test_closure_and_tfirst():
    def f(w, y0):
        def rhs(t, y):  # reads w from the enclosing function, takes t first
            return np.tanh(w @ y) - 0.1 * y * t
        return np.sum(odeint(rhs, y0, np.linspace(0.0, 1.0, 4), tfirst=True, **TOL) ** 2)
    rng = np.random.default_rng(1)
    w, y0 = 0.5 * rng.standard_normal((3, 3)), rng.standard_normal(3)
    grads = symdiff.grad(f, wrt=("w", "y0"))(w, y0)
    assert_directional(f, grads, [w, y0])


def test_export_module_calls_scipy_odeint(tmp_path):
    path = tmp_path / "lotka_grad.py"
    symdiff.export(lotka_loss, str(path), wrt=("theta", "y0"), shapes={"theta": (4,), "y0": (2,), "t": (6,)})
    text = path.read_text()
    assert "import scipy.integrate" in text and "scipy.integrate.odeint(lotka, y0, t" in text
    assert "def lotka_adjoint(" in text
    spec = importlib.util.spec_from_file_location("lotka_grad", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value, (dtheta, dy0) = module.lotka_loss_value_and_grad(THETA, Y0, T)
    assert value == lotka_loss(THETA, Y0, T)
    assert_directional(lambda th, y: lotka_loss(th, y, T), [dtheta, dy0], [THETA, Y0])


def test_matches_autograd_odeint():
    ag = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    from autograd.scipy.integrate import odeint as ag_odeint

    def ag_lotka(y, t, theta):
        return anp.array([theta[0] * y[0] - theta[1] * y[0] * y[1], theta[2] * y[0] * y[1] - theta[3] * y[1]])

    def ag_loss(theta, y0):
        ys = ag_odeint(ag_lotka, y0, T, tuple((theta,)), rtol=1e-10, atol=1e-10)
        return anp.sum(ys[:, 0] ** 2 + anp.sin(ys[:, 1]))
    # (autograd 1.9's odeint raises for the gradient with respect to args under NumPy 2 and SciPy 1.17:
    # the comparison is with respect to the initial state; the parameters are checked above)
    expected = ag.grad(ag_loss, 1)(THETA, Y0)
    got = symdiff.grad(lotka_loss, wrt="y0")(THETA, Y0, T)
    assert ag_loss(THETA, Y0) == pytest.approx(lotka_loss(THETA, Y0, T), rel=1e-9)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# ---------------------------------------------------------------- refusals -------------------------

def _refused(f, *args, match):
    with pytest.raises(UnsupportedError, match=match) as info:
        symdiff.grad(f)(*args)
    assert "test_odeint.py:" in str(info.value)


def test_refuses_events_dense_output_and_missing_t_eval():
    y0 = np.array([1.0])
    _refused(lambda y: np.sum(solve_ivp(lambda t, y: -y, (0, 1), y, events=lambda t, y: y[0]).y), y0,
             match="events")
    _refused(lambda y: np.sum(solve_ivp(lambda t, y: -y, (0, 1), y, dense_output=True, t_eval=[1.0]).y), y0,
             match="dense_output")
    _refused(lambda y: np.sum(solve_ivp(lambda t, y: -y, (0, 1), y).y), y0, match="t_eval")


def test_refuses_a_right_hand_side_that_is_not_a_plain_function():
    rhs = functools.partial(decay, k=1.0)
    _refused(lambda y: np.sum(odeint(rhs, y, [0.0, 1.0])), np.array([1.0]), match="plain Python function")


def test_refuses_a_branch_on_the_state():
    def rhs(y, t):
        return -y if y[0] > 0 else y
    _refused(lambda y: np.sum(odeint(rhs, y, [0.0, 1.0])), np.array([1.0]), match="np.where")


def test_refuses_forward_mode_through_the_solve():
    with pytest.raises(UnsupportedError, match="forward mode .* through scipy.integrate.odeint") as info:
        symdiff.hessian(decay_loss, wrt="y0")(0.7, np.array([1.0, 2.0]))
    assert "test_odeint.py:" in str(info.value)


def test_untraced_call_is_scipy_itself():
    ys = odeint(decay, np.array([1.0]), [0.0, 1.0], args=(2.0,))
    assert ys.shape == (2, 1) and sys.modules["scipy.integrate"].odeint is odeint


def forced(y, t, k):
    return -k * y + np.sin(3.0 * t) * y[::-1]


def forced_loss(k, y0, t):
    return np.sum(odeint(forced, y0, t, args=(k,), **TOL) ** 2)


def test_time_dependent_right_hand_side_gradient_wrt_every_output_time():
    k, y0, t = 0.7, np.array([1.0, -0.5]), np.array([0.0, 0.3, 0.9, 1.4])
    dk, dy0, dt = symdiff.grad(forced_loss, wrt=("k", "y0", "t"))(k, y0, t)
    for i in range(len(t)):  # each time on its own, the first one (the start) included
        e = np.zeros_like(t)
        e[i] = 1e-6
        fd = (forced_loss(k, y0, t + e) - forced_loss(k, y0, t - e)) / 2e-6
        assert dt[i] == pytest.approx(fd, rel=1e-5)
    assert_directional(forced_loss, [dk, dy0, dt], [k, y0, t])


def test_refuses_a_jacobian_and_critical_times():
    y0 = np.array([1.0])
    _refused(lambda y: np.sum(odeint(decay, y, [0.0, 1.0], args=(1.0,), Dfun=lambda y, t, k: -k)), y0,
             match="Dfun")
    _refused(lambda y: np.sum(odeint(decay, y, [0.0, 1.0], args=(1.0,), tcrit=np.array([0.5, 0.7]))), y0,
             match="tcrit")
    _refused(lambda y: np.sum(odeint(decay, y, [0.0, 1.0], args=(1.0,), rtol=np.array([1e-6]))), y0,
             match="rtol")
