"""Jacobians, Hessians, Hessian-vector products and forward mode through the public API,
against closed forms written by hand and finite differences."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff

ROOT = Path(__file__).resolve().parents[1]


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hess_by_hand(x):
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    h[i + 1, i + 1] += 200
    h[i, i + 1] = h[i + 1, i] = -400 * x[:-1]
    return h


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z)


def fd_jacobian(f, x, eps=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        cols.append((f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


def test_rosenbrock_hessian_and_hvp():
    x = np.random.default_rng(0).standard_normal(7)
    H = symdiff.hessian(rosenbrock)(x)
    np.testing.assert_allclose(H, rosen_hess_by_hand(x), rtol=1e-12, atol=1e-12)
    v = np.arange(7.0) - 3
    np.testing.assert_allclose(symdiff.hvp(rosenbrock)(x, v), H @ v, rtol=1e-12, atol=1e-10)
    x2 = np.random.default_rng(1).standard_normal(12)  # the same compiled code, another length
    np.testing.assert_allclose(symdiff.hessian(rosenbrock)(x2), rosen_hess_by_hand(x2), rtol=1e-12, atol=1e-12)


def test_logistic_hessian_is_the_closed_form():
    rng = np.random.default_rng(2)
    X, y, w = rng.standard_normal((40, 3)), (rng.random(40) > 0.5) * 1.0, rng.standard_normal(3) * 0.3
    h = symdiff.hessian(logistic)
    p = 1 / (1 + np.exp(-X @ w))
    np.testing.assert_allclose(h(w, X, y), X.T @ (X * (p * (1 - p))[:, None]) / 40, rtol=1e-12)
    assert "X.T @" in h.source and "for " not in h.source.split("def logistic_hessian")[1]


def test_hessian_blocks_nest_like_jax():
    def f(a, b):
        return np.sum(a ** 2 * b) + np.sum(np.sin(b))
    a, b = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    (haa, hab), (hba, hbb) = symdiff.hessian(f, wrt=("a", "b"))(a, b)
    np.testing.assert_allclose(haa, np.diag(2 * b))
    np.testing.assert_allclose(hab, np.diag(2 * a))
    np.testing.assert_allclose(hba, hab.T)
    np.testing.assert_allclose(hbb, np.diag(-np.sin(b)))


def test_jacobian_shapes_and_values():
    def f(x, W):
        return np.tanh(W @ x) * x[0]
    x, W = np.array([0.3, -0.2, 0.5]), np.random.default_rng(3).standard_normal((2, 3))
    jx, jW = symdiff.jacobian(f, wrt=("x", "W"))(x, W)
    assert jx.shape == (2, 3) and jW.shape == (2, 2, 3)
    np.testing.assert_allclose(jx, fd_jacobian(lambda t: f(t, W), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jW, fd_jacobian(lambda t: f(x, t), W), rtol=1e-6, atol=1e-8)


def test_jvp_is_forward_mode():
    def f(x):
        return np.sin(x) * np.sum(x ** 2)
    x, t = np.array([0.1, 0.7, -0.4]), np.array([1.0, -2.0, 0.5])
    value, tangent = symdiff.jvp(f)(x, t)
    np.testing.assert_allclose(value, f(x))
    np.testing.assert_allclose(tangent, fd_jacobian(f, x) @ t, rtol=1e-6, atol=1e-9)


def test_composition():
    d2 = symdiff.grad(symdiff.grad(lambda t: np.sin(t) * t))
    np.testing.assert_allclose(d2(0.7), -np.sin(0.7) * 0.7 + 2 * np.cos(0.7))
    x = np.random.default_rng(4).standard_normal(5)
    np.testing.assert_allclose(symdiff.jacobian(symdiff.grad(rosenbrock))(x), symdiff.hessian(rosenbrock)(x),
                               rtol=1e-12, atol=1e-12)


def test_hessian_is_symmetric_for_a_mixed_function():
    def f(x):
        return np.sum(np.exp(x[:2] * x[1:]) * np.cos(x[0])) + np.prod(x) + np.max(x) ** 2
    x = np.array([0.3, -0.7, 1.1])
    H = symdiff.hessian(f)(x)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    np.testing.assert_allclose(H, fd_jacobian(symdiff.grad(f), x), rtol=1e-6, atol=1e-7)


def test_export_hessian_module_needs_only_numpy(tmp_path):
    path = tmp_path / "rosen_hess.py"
    symdiff.export(rosenbrock, path, shapes={"x": ("n",)}, kind="hessian")
    code = (f"import sys, importlib.util, numpy as np\n"
            f"spec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "print(m.rosenbrock_hessian(np.arange(4.0)).sum(), m.rosenbrock_grad(np.arange(4.0)).sum())\n"
            "assert not {'sympy', 'jinja2', 'symdiff'} & set(sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    x = np.arange(4.0)
    h, g = map(float, done.stdout.split())
    assert h == pytest.approx(rosen_hess_by_hand(x).sum()) and g == pytest.approx(float(np.sum(
        symdiff.grad(rosenbrock)(x))))


def test_cli_hessian(tmp_path):
    model = tmp_path / "m.py"
    model.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x ** 4)\n")
    done = subprocess.run([sys.executable, "-m", "symdiff", "hessian", f"{model}:f", "--shape", "x=n"],
                          capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "def f_hessian(x):" in done.stdout and "def f_grad(x):" in done.stdout


def test_vjp_pulls_back_a_cotangent():
    def f(x, W):
        return np.tanh(W @ x)
    x, W = np.array([0.3, -0.2, 0.5]), np.random.default_rng(5).standard_normal((2, 3))
    ct = np.array([1.5, -0.5])
    value, (dx, dW) = symdiff.vjp(f, wrt=("x", "W"))(x, W, ct)
    np.testing.assert_allclose(value, f(x, W))
    np.testing.assert_allclose(dx, ct @ fd_jacobian(lambda t: f(t, W), x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dW, np.einsum("i,ijk->jk", ct, fd_jacobian(lambda t: f(x, t), W)), rtol=1e-6,
                               atol=1e-9)


def test_elementwise_grad():
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(symdiff.elementwise_grad(lambda t: np.tanh(t) * t)(x),
                               1 / np.cosh(x) ** 2 * x + np.tanh(x), rtol=1e-13)


def test_jacobian_with_few_outputs_goes_by_rows():
    A = np.random.default_rng(6).standard_normal((2, 40))

    def f(x):
        return A @ np.sin(x) + x[0] * x[-1]
    x = np.random.default_rng(7).standard_normal(40)
    jac = symdiff.jacobian(f)
    J = jac(x)
    by_hand = A * np.cos(x)
    by_hand[:, 0] += x[-1]
    by_hand[:, -1] += x[0]
    np.testing.assert_allclose(J, by_hand, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(J, fd_jacobian(f, x), rtol=1e-6, atol=1e-8)
    code = jac.source.split("def f_jacobian(")[1]
    assert "(40, 40)" not in code and "_diag_embed" not in code  # no 40 x 40 identity anywhere


def test_jacobian_of_a_scalar_is_the_gradient():
    def f(x):
        return np.sum(np.sin(x) * x[0])
    x = np.random.default_rng(8).standard_normal(6)
    jac = symdiff.jacobian(f)
    np.testing.assert_allclose(jac(x), symdiff.grad(f)(x), rtol=1e-14)
    np.testing.assert_allclose(jac(x), fd_jacobian(f, x), rtol=1e-6, atol=1e-9)
    assert "_banded" not in jac.source and "[:, None]" not in jac.source
    ones = symdiff.jacobian(lambda t: np.sum(t))(x)
    assert ones.dtype == np.float64 and ones.flags.writeable and np.all(ones == 1)


def test_jacobian_by_rows_of_a_matrix_output_and_several_arguments():
    def f(X, s):
        return (X.T @ X) * s
    rng = np.random.default_rng(9)
    X, s = rng.standard_normal((6, 3)), 1.5
    jX, js = symdiff.jacobian(f, wrt=("X", "s"))(X, s)  # 9 outputs: by rows for X (18), by columns for s (1)
    assert jX.shape == (3, 3, 6, 3) and js.shape == (3, 3)
    np.testing.assert_allclose(jX, fd_jacobian(lambda t: f(t, s), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(js, X.T @ X, rtol=1e-13)


def test_jacobian_of_a_constant_is_a_float_array_the_caller_owns():
    z = symdiff.jacobian(lambda t: np.ones(3) * 2.0)(np.ones(3))
    assert z.dtype == np.float64 and z.flags.writeable and z.shape == (3, 3) and not z.any()


def test_which_mode():
    import sympy as sp
    from symdiff.ad.derivatives import reverse_is_cheaper
    from symdiff.ir.primitives import input_node
    n = sp.Symbol("n", positive=True, integer=True)
    x, y = input_node("x", (n,), 0), input_node("y", (n - 1,), 1)
    s, two = input_node("s", (), 2), input_node("p", (sp.Integer(2),), 3)
    assert reverse_is_cheaper(s, x) and reverse_is_cheaper(y, x) and not reverse_is_cheaper(x, x)
    assert not reverse_is_cheaper(x, y) and not reverse_is_cheaper(two, x)  # n may be 1 or 2
    assert reverse_is_cheaper(s, two) and not reverse_is_cheaper(two, s)
