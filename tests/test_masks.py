"""Boolean masks of traced values: masked assignment (``out[out < 0] = 0``: a ``np.where``) and masked
gathers (``x[m]``: a length known only at run time), through the decorator, export and the CLI,
checked against autograd (which supports ``x[m]`` and ``np.where``) and central differences."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff

ROOT = Path(__file__).resolve().parents[1]
RNG_SEED = 7


def central(f, args, wrt=0, directions=3, eps=1e-6, seed=0):
    """Directional derivatives of ``f`` at ``args`` along random directions of argument ``wrt``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(directions):
        v = rng.standard_normal(np.shape(args[wrt]))
        plus, minus = list(args), list(args)
        plus[wrt] = args[wrt] + eps * v
        minus[wrt] = args[wrt] - eps * v
        out.append((v, (f(*plus) - f(*minus)) / (2 * eps)))
    return out


def assert_matches_differences(f, grad, args, wrt=0):
    for v, d in central(f, args, wrt):
        np.testing.assert_allclose(np.sum(grad * v), d, rtol=1e-5, atol=1e-6)


def autograd_grad(body, args, wrt=0):
    """autograd's gradient of ``body(anp, *args)`` (the same program written on autograd.numpy)."""
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    return autograd.grad(lambda *a: body(anp, *a), wrt)(*args)


def masks(n, seed=RNG_SEED):
    """Several masks of length n: random ones, all False, all True, one True."""
    rng = np.random.default_rng(seed)
    one = np.zeros(n, bool)
    one[n // 2] = True
    return [rng.uniform(size=n) < 0.5, rng.uniform(size=n) < 0.3, np.zeros(n, bool), np.ones(n, bool), one]


def compilations(g) -> int:
    return sum(len(v) for v in g._cache.values())


# ---- masked gathers: x[m] of a length known only at run time --------------------------------------------------

GATHERS = {
    "sum_squares": lambda np, x, m: np.sum(x[m] ** 2),
    "sum_exp_times": lambda np, x, m: np.sum(np.exp(x[m]) * x[m]),
    "complement": lambda np, x, m: np.sum(x[~m] ** 3) + np.sum(x[m]),
    "and_traced": lambda np, x, m: np.sum(np.sin(x[m & (x > 0)])),
    "count_from_shape": lambda np, x, m: np.sum(x[m]) * x[m].shape[0],
}


@pytest.mark.parametrize("name", sorted(GATHERS))
def test_gather_one_compilation_every_mask(name):
    body = GATHERS[name]
    g = symdiff.value_and_grad(lambda x, m: body(np, x, m))
    x = np.random.default_rng(0).normal(size=9)
    for m in masks(9):
        value, grad = g(x, m)
        np.testing.assert_allclose(value, body(np, x, m), rtol=1e-12)
        np.testing.assert_allclose(grad, autograd_grad(body, (x, m)), rtol=1e-10, atol=1e-12)
    assert compilations(g) == 1


def test_all_false_mask_is_an_empty_gather():
    g = symdiff.value_and_grad(lambda x, m: np.sum(x[m] ** 2) + np.sum(x[m]))
    x = np.arange(1.0, 5.0)
    value, grad = g(x, np.zeros(4, bool))
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros(4))
    value, grad = g(x, np.array([True, False, False, True]))
    assert value == 1 + 16 + 1 + 4
    np.testing.assert_array_equal(grad, [3.0, 0.0, 0.0, 9.0])


def test_mask_computed_from_traced_values():
    def f(x):
        return np.sum(x[x > 0]) + 0.5 * np.sum(x[x <= 0] ** 2)
    g = symdiff.grad(f)
    rng = np.random.default_rng(1)
    for _ in range(3):  # a different number of positive elements each time: one compilation
        x = rng.normal(size=7)
        np.testing.assert_allclose(g(x), np.where(x > 0, 1.0, x))
    assert compilations(g) == 1


def test_masks_of_random_draws_are_drawn_again_each_call():
    def dropout(x):
        keep = np.random.rand(6) > 0.5
        drop = np.random.rand(6) > 0.5  # (the same computation, another draw: another size)
        return np.sum(x[keep] ** 2) + np.sum(x[drop])
    g = symdiff.grad(dropout)
    x = np.arange(6.0)
    for seed in (1, 2, 3):
        np.random.seed(seed)
        got = g(x)
        np.random.seed(seed)
        keep, drop = np.random.rand(6) > 0.5, np.random.rand(6) > 0.5
        np.testing.assert_allclose(got, np.where(keep, 2 * x, 0.0) + drop)


def test_mean_and_max_of_a_gather():
    def mean_(np, x, m):
        return np.mean(x[m]) + x[m].max()
    def logp_mean(np, logp, target):
        return -logp[target > 0].mean()
    x = np.random.default_rng(2).normal(size=8)
    g = symdiff.grad(lambda x, m: mean_(np, x, m))
    for m in masks(8)[:2] + masks(8)[3:]:  # (the mean and max of nothing: NaN and an error, as in NumPy)
        np.testing.assert_allclose(g(x, m), autograd_grad(mean_, (x, m)), rtol=1e-12)
        source = g.source
    assert "np.count_nonzero(m)" in source
    target = np.array([1.0, -1, 2, 0, 3, -2, 1, 1])
    np.testing.assert_allclose(symdiff.grad(lambda a, b: logp_mean(np, a, b))(x, target),
                               autograd_grad(logp_mean, (x, target)))


def test_gathered_rows_and_columns():
    def rows(np, X, m, w):
        return np.sum((X[m] @ w) ** 2) + np.sum(np.tanh(X[m, :]))
    def cols(np, X):
        keep = X.sum(axis=0) > 0
        return np.sum(X[:, keep] ** 3)
    def two_d(np, X, M):
        return np.sum(np.exp(X[M]))
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(6, 4)), rng.normal(size=4)
    g = symdiff.grad(lambda X, m, w: rows(np, X, m, w))
    for m in masks(6):
        np.testing.assert_allclose(g(X, m, w), autograd_grad(rows, (X, m, w)), rtol=1e-10, atol=1e-12)
    assert compilations(g) == 1
    np.testing.assert_allclose(symdiff.grad(lambda X: cols(np, X))(X), autograd_grad(cols, (X,)), rtol=1e-10)
    M = rng.uniform(size=(6, 4)) < 0.4
    np.testing.assert_allclose(symdiff.grad(lambda X, M: two_d(np, X, M))(X, M), autograd_grad(two_d, (X, M)))


def test_hessian_of_a_gather_is_the_gather_of_the_tangent():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    def f(np, x, m):
        return np.sum(np.exp(x[m]) * x[m] ** 2) + np.mean(x[m]) ** 2
    x = np.random.default_rng(4).normal(size=6)
    h = symdiff.hessian(lambda x, m: f(np, x, m))
    for m in masks(6)[:2]:
        np.testing.assert_allclose(h(x, m), autograd.hessian(lambda x: f(anp, x, m))(x), rtol=1e-9, atol=1e-12)


# ---- masked assignment: x[m] = v is np.where(m, v, x) ----------------------------------------------------------

def relu_net(X, W1, W2):
    hidden = X @ W1
    hidden[hidden < 0] = 0
    scores = hidden @ W2
    return 0.5 * np.sum(scores ** 2)


def relu_net_where(np, X, W1, W2):
    hidden = np.where(X @ W1 < 0, 0.0, X @ W1)
    return 0.5 * np.sum((hidden @ W2) ** 2)


def svm_hinge(X, W, y):
    n = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(n), y]
    margins = scores - correct[:, None] + 1.0
    margins[margins < 0] = 0
    margins[np.arange(n), y] = 0
    return np.sum(margins) / n


def svm_hinge_where(np, X, W, y):
    n = X.shape[0]
    scores = X @ W
    correct = np.sum(scores * (np.arange(W.shape[1]) == y[:, None]), axis=1)
    margins = np.maximum(scores - correct[:, None] + 1.0, 0) * (np.arange(W.shape[1]) != y[:, None])
    return np.sum(margins) / n


def test_relu_net_written_with_an_assignment():
    rng = np.random.default_rng(5)
    X, W1, W2 = rng.normal(size=(8, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5, 3))
    g = symdiff.grad(relu_net, wrt=("W1", "W2"))
    want = [autograd_grad(relu_net_where, (X, W1, W2), wrt) for wrt in (1, 2)]
    for got, expected in zip(g(X, W1, W2), want):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert "np.where(" in g.source and "_updated" not in g.source


def test_svm_hinge_written_with_assignments():
    rng = np.random.default_rng(6)
    X, W, y = rng.normal(size=(7, 4)), rng.normal(size=(4, 3)), rng.integers(0, 3, 7)
    got = symdiff.grad(svm_hinge, wrt="W")(X, W, y)
    np.testing.assert_allclose(got, autograd_grad(svm_hinge_where, (X, W, y), 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(svm_hinge(X, W, y), svm_hinge_where(np, X, W, y))


ASSIGNMENTS = {
    "zero": lambda x, m: _assign(x, m, lambda y: 0),
    "from_other": lambda x, m: _assign(x, m, lambda y: (x ** 2)[m]),
    "scaled_in_place": lambda x, m: _scaled(x, m),
    "exp_of_gather": lambda x, m: _assign(x, m, lambda y: np.exp(x[m])),
}


def _assign(x, m, value):
    y = x * 1.0
    y[m] = value(y)
    return np.sum(np.sin(y) * y)


def _scaled(x, m):
    y = x.copy()
    y[m] *= 2
    return np.sum(y ** 3)


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_masked_assignment(name):
    f = ASSIGNMENTS[name]
    g = symdiff.grad(f)
    x = np.random.default_rng(8).normal(size=7)
    for m in masks(7):
        assert_matches_differences(f, g(x, m), (x, m))
    assert compilations(g) == 1


def test_assignment_of_rows_and_traced_masks():
    def rows(X, m, v):
        Y = X.copy()
        Y[m] = v  # a row broadcast into every selected row: np.where(m[:, None], v, X)
        return np.sum(Y ** 2 * X)
    def clamp(x):
        s = np.tanh(x) + 0.3
        s[s <= 0] = 0
        s[s > 1] *= 3
        return np.sum(s ** 2)
    rng = np.random.default_rng(9)
    X, v = rng.normal(size=(5, 3)), rng.normal(size=3)
    g = symdiff.grad(rows, wrt=("X", "v"))
    for m in masks(5):
        dX, dv = g(X, m, v)
        assert_matches_differences(rows, dX, (X, m, v), 0)
        assert_matches_differences(rows, dv, (X, m, v), 2)
    x = rng.normal(size=9) * 2
    assert_matches_differences(clamp, symdiff.grad(clamp)(x), (x,))


def test_hessian_through_masked_assignments():
    def scaled(x, m):
        y = x.copy()
        y[m] *= 2
        return np.sum(y ** 3 * x)
    def relu(x):
        out = x * 2.0
        out[out < 0] = 0
        return np.sum(out ** 3)
    x = np.linspace(-1, 1, 6) + 0.05
    m = np.array([1, 0, 1, 1, 0, 1], bool)
    for f, args in ((scaled, (x, m)), (relu, (x,))):
        g, h = symdiff.grad(f), symdiff.hessian(f)(*args)
        for v, d in central(lambda x, *rest: g(x, *rest) @ np.ones(6), args):  # the rows of H, summed
            np.testing.assert_allclose(np.ones(6) @ h @ v, d, rtol=1e-6, atol=1e-6)


# ---- export and the command line ------------------------------------------------------------------------------

def masked_loss(x, m):
    return np.sum(x[m] ** 2) + np.mean(np.exp(x[m]))


def _check_module(module, name):
    x = np.random.default_rng(10).normal(size=6)
    for m in masks(6)[:2] + masks(6)[3:]:
        np.testing.assert_allclose(getattr(module, name)(x, m), np.where(m, 2 * x + np.exp(x) / m.sum(), 0.0),
                                   rtol=1e-12)


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_with_a_mask_argument(tmp_path):
    path = tmp_path / "masked_generated.py"
    symdiff.export(masked_loss, path, shapes={"x": "n", "m": "n:bool"})
    _check_module(_import(path), "masked_loss_grad")


def test_cli_declares_a_mask_as_bool(tmp_path):
    out = tmp_path / "masked_cli.py"
    cmd = [sys.executable, "-m", "symdiff", "grad", f"{__file__}:masked_loss", "--shape", "x=n",
           "--shape", "m=n:bool", "-o", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    _check_module(_import(out), "masked_loss_grad")


# ---- positions of a run-time length: np.nonzero, np.where(m), np.flatnonzero, np.argwhere, extract, compress ---

POSITIONS = {
    "nonzero": lambda np, x, m: np.sum(x[np.nonzero(m)] ** 2),
    "where_one_argument": lambda np, x, m: np.sum(np.exp(x[np.where(m)])),
    "flatnonzero": lambda np, x, m: np.sum(np.sin(x[np.flatnonzero(m)])) + np.mean(x[np.flatnonzero(m)]),
    "argwhere": lambda np, x, m: np.sum(x[np.argwhere(m)[:, 0]] ** 3),
}


@pytest.mark.parametrize("name", sorted(POSITIONS))
def test_positions_of_a_mask(name):
    body = POSITIONS[name]
    g = symdiff.grad(lambda x, m: body(np, x, m))
    x = np.random.default_rng(11).normal(size=8)
    for m in masks(8)[:2] + masks(8)[3:]:
        np.testing.assert_allclose(g(x, m), autograd_grad(body, (x, m)), rtol=1e-10, atol=1e-12)
    assert compilations(g) == 1


def test_positions_of_a_two_dimensional_mask():
    def f(np, X, M):
        i, j = np.nonzero(M)
        return np.sum(X[i, j] * X[i, 0]) + np.sum(X[np.where(X > 0.5)] ** 2)
    X = np.random.default_rng(12).normal(size=(5, 3))
    g = symdiff.grad(lambda X, M: f(np, X, M))
    for M in (X < 0, np.zeros((5, 3), bool), np.eye(5, 3, dtype=bool)):
        np.testing.assert_allclose(g(X, M), autograd_grad(f, (X, M)), rtol=1e-10, atol=1e-12)


def test_extract_and_compress_are_masked_gathers():
    def f(x, m):
        return np.sum(np.extract(m, x) ** 2) + np.sum(np.compress(m, x) ** 3)
    def rows(X, m):
        return np.sum(np.compress(m, X, axis=0) ** 2) + np.sum(np.tanh(np.compress(m[:3], X, axis=1)))
    rng = np.random.default_rng(13)
    x, X = rng.normal(size=6), rng.normal(size=(6, 4))
    g = symdiff.grad(f)
    for m in masks(6):  # autograd has no gradient of np.extract/np.compress: the closed form
        np.testing.assert_allclose(g(x, m), np.where(m, 2 * x + 3 * x ** 2, 0.0), rtol=1e-12)
    gr = symdiff.grad(rows)
    for m in masks(6):  # (np.compress of a shorter condition leaves the rest of the axis out, as NumPy)
        assert_matches_differences(rows, gr(X, m), (X, m))


# ---- refused: a size known only at run time where a value is needed -------------------------------------------

REFUSED = {
    "len_in_range": (lambda x, m: sum(x[m][i] for i in range(len(x[m]))), "used as a Python int"),
    "size_as_bool": (lambda x, m: np.sum(x) if x[m].size > 3 else np.sum(x ** 2), "used as a Python int"),
    "reshape": (lambda x, m: np.sum(x[m].reshape(2, -1)), "used as a Python int"),
    "slice": (lambda x, m: np.sum(x[m][1:]), "cannot be sliced"),
    "other_size": (lambda x, m: np.sum(x[m] + x), "matched to another size"),
    "other_mask": (lambda x, m: np.sum(x[m] * x[~m]), "matched to another size"),
    "fixed_size": (lambda x, m: np.sum(x[m] * np.ones(3)), "matched to another size"),
    "ones_like": (lambda x, m: np.sum(np.ones_like(x[m])) * np.sum(x), "made from that size alone"),
    "mask_and_int": (lambda x, m: np.sum(x[:, None][m, 0]), "index in two steps"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_runtime_size_refusals(name):
    f, message = REFUSED[name]
    with pytest.raises(symdiff.UnsupportedError, match=message) as info:
        symdiff.grad(f)(np.linspace(-1, 1, 6), np.linspace(-1, 1, 6) > 0)
    assert "test_masks.py:" in str(info.value)
