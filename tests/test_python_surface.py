"""The Python side of the surface: index assignment, integer-array and mask indexing, branches on
traced values, constants built inside the function, the math module and scipy.special.

Every gradient is checked against central differences (check_grads) and, where short, a closed form
written by hand; export is checked by importing the written module.
"""
import importlib.util
import math

import numpy as np
import pytest
import scipy.special

import symdiff
from symdiff.errors import UnsupportedError
from symdiff.testing import check_grads

RNG = np.random.default_rng(7)


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- index assignment ----------------

def fill_loop(x):
    a = np.zeros(len(x))
    for i in range(len(x)):
        a[i] = x[i] ** 2
    a[1:] += x[:-1]
    return a.sum()


def recurrence(x, r):
    """An AR(1)-like filter written with a preallocated buffer."""
    y = np.empty_like(x)
    y[0] = x[0]
    for t in range(1, x.shape[0]):
        y[t] = r * y[t - 1] + x[t]
    return np.sum(y ** 2)


def block_matrix(a, b):
    m = np.zeros((4, 4))
    m[:2, :2] = np.outer(a, a)
    m[2:, 2:] = np.diag(b)
    m[0, 3] = a[0] * b[1]
    return np.sum(np.sin(m))


def aliasing(x):
    a = x * 1.0
    b = a  # the same array: a write through either name is seen by both
    b[0] = 5.0 * x[1]
    a *= 2.0
    return np.sum(b * x)


@pytest.mark.parametrize("fn, shapes", [
    (fill_loop, [(5,)]),
    (recurrence, [(6,), ()]),
    (block_matrix, [(2,), (2,)]),
    (aliasing, [(3,)]),
])
def test_index_assignment_gradients(fn, shapes):
    args = [RNG.normal(size=s) if s else float(RNG.uniform(0.2, 0.8)) for s in shapes]
    value, _ = symdiff.value_and_grad(fn, wrt=tuple(range(len(args))))(*args)
    np.testing.assert_allclose(value, fn(*[np.array(a) for a in args]), rtol=1e-12)
    check_grads(fn, args)


def test_index_assignment_closed_forms():
    x = RNG.normal(size=5)
    np.testing.assert_allclose(symdiff.grad(fill_loop)(x), 2 * x + np.r_[1, 1, 1, 1, 0], rtol=1e-12)
    # aliasing: b and a are one array, equal to 2 * [5 x1, x2, x3]; f = 2 (5 x1 x0 + x1^2 + x2^2)
    g = symdiff.grad(aliasing)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [20.0, 10.0 + 8.0, 12.0])


def test_original_array_is_untouched_by_functional_update():
    def f(x):
        y = x.copy()
        y[0] = 0.0  # x itself keeps its first element
        return np.sum(x * y)
    x = np.array([2.0, 3.0])
    np.testing.assert_allclose(symdiff.grad(f)(x), [0.0, 6.0])
    np.testing.assert_allclose(x, [2.0, 3.0])


@pytest.mark.parametrize("body, message", [
    ("x[0] = 1.0\n    return np.sum(x)", "copy it first"),
    ("x += 1.0\n    return np.sum(x)", "copy it first"),
    ("v = y[1:]\n    v[0] = 1.0\n    return np.sum(y)", "through a view"),
    ("v = y[1:]\n    y[0] = 2.0\n    return np.sum(v)", "view"),
    ("v = y[1:]\n    v += 1.0\n    return np.sum(y)", "in-place operation on a view"),
    ("y[[0, 0]] = x[:2]\n    return np.sum(y)", "twice"),
])
def test_writes_numpy_would_share_are_refused(body, message):
    namespace = {"np": np}
    exec(f"def f(x):\n    y = x * 1.0\n    {body}\n", namespace)
    with pytest.raises(UnsupportedError, match=message):
        symdiff.grad(namespace["f"])(np.ones(3))


# ---------------------------------------------------------------- integer arrays and masks --------

def pair_energy(X):
    """Pairwise Lennard-Jones-like energy over i < j pairs, written with np.triu_indices."""
    i, j = np.triu_indices(X.shape[0], k=1)
    d = X[i] - X[j]
    r2 = np.sum(d * d, axis=1)
    return np.sum(1.0 / r2 ** 6 - 2.0 / r2 ** 3)


def masked(x, w):
    keep = np.array([True, False, True, True, False])
    return np.sum(w[keep] * np.exp(x[keep])) + np.sum(x[[4, 4, 1]] ** 2)


def mixed_index(A):
    return np.sum(A[[0, 2], :, [1, 1]] ** 3) + np.sum(A[1, [0, 1]] * A[:2, 0, [2]])


def argmax_pick(x):
    return x[np.argmax(x)] * 2.0 + np.sum(x)


@pytest.mark.parametrize("fn, shapes", [
    (pair_energy, [(5, 3)]),
    (masked, [(5,), (5,)]),
    (mixed_index, [(3, 2, 3)]),
    (argmax_pick, [(6,)]),
])
def test_fancy_indexing_gradients(fn, shapes):
    args = [RNG.normal(size=s) for s in shapes]
    if fn is pair_energy:
        args = [np.arange(15.0).reshape(5, 3) * 0.7 + RNG.normal(scale=0.05, size=(5, 3))]
    value, _ = symdiff.value_and_grad(fn, wrt=tuple(range(len(args))))(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12)
    check_grads(fn, args)


def test_argmax_index_closed_form():
    x = np.array([0.3, 2.0, -1.0, 0.5])
    np.testing.assert_allclose(symdiff.grad(argmax_pick)(x), [1.0, 3.0, 1.0, 1.0])
    np.testing.assert_allclose(symdiff.grad(lambda x: np.sum(x.argmin() * x))(x), [2.0] * 4)


def test_repeated_indices_add_up():
    x = RNG.normal(size=5)
    g = symdiff.grad(masked, wrt="x")(x, np.ones(5))
    expected = np.array([np.exp(x[0]), 2 * x[1], np.exp(x[2]), np.exp(x[3]), 2 * 2 * x[4]])
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_mask_from_traced_values_gathers():
    np.testing.assert_allclose(symdiff.grad(lambda x: np.sum(x[x > 0] ** 2))(np.array([1.0, -2.0, 3.0])),
                               [2.0, 0.0, 6.0])


# ---------------------------------------------------------------- branches -------------------------

def huber(r, delta):
    if abs(r) <= delta:
        return 0.5 * r ** 2
    return delta * (abs(r) - 0.5 * delta)


def piecewise_sum(x):
    total = 0.0
    s = np.sum(x)
    if s > 1.0:
        total = total + np.sum(np.log(x ** 2 + 1.0))
    elif s > -1.0:
        total = total + np.sum(x ** 3)
    else:
        total = total - s
    return total + max(x[0], x[1]) * min(x[1], 0.5)


def test_branches_through_the_decorator_on_every_side():
    g = symdiff.grad(huber, wrt="r")
    for r, expected in [(0.3, 0.3), (2.0, 1.0), (-2.0, -1.0)]:
        np.testing.assert_allclose(g(np.float64(r), 1.0), expected)
    for x in (np.array([1.0, 2.0, 0.1]), np.array([0.2, -0.1, 0.3]), np.array([-2.0, -1.0, 0.1]),
              np.array([0.7, 0.1, 0.05])):
        value, _ = symdiff.value_and_grad(piecewise_sum)(x)
        np.testing.assert_allclose(value, piecewise_sum(x), rtol=1e-12)
        check_grads(piecewise_sum, [x])


def test_branches_through_export_choose_at_run_time(tmp_path):
    path = tmp_path / "piecewise_grad.py"
    text = symdiff.export(piecewise_sum, path, shapes={"x": (3,)})
    assert text.count("def _piecewise_sum_grad_") >= 4  # one function per path (3 sides x max x min, reached)
    module = _load(path)
    fd = lambda x, v, h=1e-6: (piecewise_sum(x + h * v) - piecewise_sum(x - h * v)) / (2 * h)  # noqa: E731
    for x in (np.array([1.0, 2.0, 0.1]), np.array([0.2, -0.1, 0.3]), np.array([-2.0, -1.0, 0.1]),
              np.array([0.1, 0.7, 0.05])):
        v = RNG.normal(size=3)
        np.testing.assert_allclose(module.piecewise_sum_grad(x) @ v, fd(x, v), rtol=1e-6, atol=1e-8)


def test_a_branch_that_raises_raises_at_run_time(tmp_path):
    def f(x):
        if np.sum(x) < 0:
            raise ValueError("x must have a positive sum")
        return np.sum(np.sqrt(x))
    module = _load(_write(tmp_path, f))
    np.testing.assert_allclose(module.f_grad(np.array([4.0, 1.0])), [0.25, 0.5])
    with pytest.raises(ValueError, match="positive sum"):
        module.f_grad(np.array([-4.0, 1.0]))


def _write(tmp_path, f):
    path = tmp_path / f"{f.__name__}_grad.py"
    symdiff.export(f, path, shapes={"x": (2,)})
    return path


# ---------------------------------------------------------------- constants, lists, iteration -----

def built_arrays(x):
    rows = [x[0] * x[1], np.sin(x[1]), x[0]]
    v = np.array(rows)
    m = np.eye(3) * 2.0 + np.ones((3, 3))
    total = 0.0
    for row in np.reshape(x, (2, 1)):  # iterating over the first axis
        total = total + np.sum(row ** 2)
    return v @ m @ v + total + sum(x[k] for k in range(2))


def test_arrays_built_inside_the_function():
    x = np.array([0.4, -1.3])
    value, _ = symdiff.value_and_grad(built_arrays)(x)
    np.testing.assert_allclose(value, built_arrays(x), rtol=1e-12)
    check_grads(built_arrays, [x])


# ---------------------------------------------------------------- math and scipy.special ----------

def with_math(a, b):
    return math.exp(a) * math.sin(b) + math.log(a, 2.0) + math.sqrt(a * b) + math.atan2(b, a) + math.pow(a, 1.5)


def with_scipy(x, p):
    return (np.sum(scipy.special.expit(x) * scipy.special.gammaln(p + 1.0)) + scipy.special.logsumexp(x)
            + np.sum(scipy.special.xlogy(p, p)) + np.sum(scipy.special.erf(x) * scipy.special.logit(p / 4.0))
            + np.sum(scipy.special.log_softmax(x) * scipy.special.softmax(x)))


def test_math_module_on_traced_scalars():
    a, b = 1.3, 0.7
    check_grads(with_math, [np.float64(a), np.float64(b)])
    ga = math.exp(a) * math.sin(b) + 1 / (a * math.log(2.0)) + 0.5 * math.sqrt(b / a) - b / (a * a + b * b) \
        + 1.5 * math.sqrt(a)
    np.testing.assert_allclose(symdiff.grad(with_math, wrt=0)(np.float64(a), np.float64(b)), ga, rtol=1e-12)


def test_scipy_special_functions():
    x, p = RNG.normal(size=4), RNG.uniform(0.5, 3.0, size=4)
    value, _ = symdiff.value_and_grad(with_scipy, wrt=(0, 1))(x, p)
    np.testing.assert_allclose(value, with_scipy(x, p), rtol=1e-12)
    check_grads(with_scipy, [x, p])
    g = symdiff.grad(lambda p: np.sum(scipy.special.gammaln(p)))(p)
    np.testing.assert_allclose(g, scipy.special.digamma(p), rtol=1e-12)


# ---------------------------------------------------------------- has_aux ---------------------------

def regression_with_aux(w, x, y):
    pred = x @ w
    residual = pred - y
    return np.mean(residual ** 2), {"pred": pred, "n": len(y), "parts": (residual, "mse")}


def test_has_aux_through_decorator_and_export(tmp_path):
    x, y, w = RNG.normal(size=(5, 2)), RNG.normal(size=5), RNG.normal(size=2)
    g, aux = symdiff.grad(regression_with_aux, has_aux=True)(w, x, y)
    np.testing.assert_allclose(g, 2 * x.T @ (x @ w - y) / 5, rtol=1e-12)
    np.testing.assert_allclose(aux["pred"], x @ w, rtol=1e-12)
    assert aux["n"] == 5 and aux["parts"][1] == "mse"
    (value, aux2), g2 = symdiff.value_and_grad(regression_with_aux, has_aux=True)(w, x, y)
    np.testing.assert_allclose(value, np.mean((x @ w - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(aux2["parts"][0], x @ w - y, rtol=1e-12)
    np.testing.assert_allclose(g2, g, rtol=1e-12)
    path = tmp_path / "aux_grad.py"
    symdiff.export(regression_with_aux, path, shapes={"w": (2,), "x": (5, 2), "y": (5,)}, has_aux=True)
    g3, aux3 = _load(path).regression_with_aux_grad(w, x, y)
    np.testing.assert_allclose(g3, g, rtol=1e-12)
    assert aux3["n"] == 5


def test_a_tuple_without_has_aux_says_what_to_do():
    with pytest.raises(symdiff.TraceError, match="has_aux=True"):
        symdiff.grad(regression_with_aux)(np.ones(2), np.ones((5, 2)), np.ones(5))


# ---------------------------------------------------------------- higher derivatives through them --

def _fd_hessian(f, x, h=1e-5):
    g = symdiff.grad(f)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        cols.append((g(x + e) - g(x - e)) / (2 * h))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("f, x", [
    (fill_loop, np.array([0.3, -1.2, 0.8, 2.0, -0.4])),
    (piecewise_sum, np.array([0.2, -0.1, 0.3])),
    (piecewise_sum, np.array([1.0, 2.0, 0.1])),
    (lambda x: recurrence(x, 0.5), np.array([0.3, -1.2, 0.8, 2.0])),
    (lambda x: masked(x, np.arange(5.0)), np.array([0.3, -1.2, 0.8, 2.0, -0.4])),
    (lambda x: pair_energy(x.reshape(4, 3)), np.arange(12.0) * 0.7 + 0.01 * np.sin(np.arange(12.0))),
])
def test_hessians_through_assignment_indexing_and_branches(f, x):
    H = symdiff.hessian(f)(x)
    np.testing.assert_allclose(H, _fd_hessian(f, x), rtol=1e-5, atol=1e-6 * np.max(np.abs(H)))
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12 * np.max(np.abs(H)))


def test_cumprod_is_exact_where_x_has_zeros():
    w = np.arange(1.0, 5.0)
    x = np.array([1.0, 0.0, 2.0, 3.0])
    g = symdiff.grad(lambda x: np.sum(np.cumprod(x) * w))(x)
    by_hand = [1 + 2 * x[1] + 3 * x[1] * x[2] + 4 * x[1] * x[2] * x[3],
               2 * x[0] + 3 * x[0] * x[2] + 4 * x[0] * x[2] * x[3],
               3 * x[0] * x[1] + 4 * x[0] * x[1] * x[3],
               4 * x[0] * x[1] * x[2]]
    np.testing.assert_allclose(g, by_hand)


def test_code_from_the_disk_cache_grows_a_branch_it_lacks():
    first = symdiff.grad(huber, wrt="r")
    np.testing.assert_allclose(first(np.float64(0.3), 1.0), 0.3)  # compiles the |r| <= delta side only
    again = symdiff.grad(huber, wrt="r")  # as a new process would: the module comes from disk
    np.testing.assert_allclose(again(np.float64(0.2), 1.0), 0.2)
    assert again.cache_info == "disk"
    np.testing.assert_allclose(again(np.float64(-3.0), 1.0), -1.0)  # the other side: compiled now
    assert again.cache_info == "compiled" and "_huber_grad_1" in again.source and "_huber_grad_0" in again.source


def test_per_element_branches_follow_the_values():
    def smooth_l1(p, t):
        total = 0.0
        for i in range(len(p)):
            d = abs(p[i] - t[i])
            total = total + (0.5 * d * d if d < 1.0 else d - 0.5)
        return total
    g = symdiff.grad(smooth_l1)
    t = np.zeros(8)
    for seed in range(4):
        p = np.random.default_rng(seed).normal(scale=1.5, size=8)
        np.testing.assert_allclose(g(p, t), np.clip(p, -1.0, 1.0), rtol=1e-12)


def test_export_with_a_static_loop_bound(tmp_path):
    def unrolled(x, steps):
        for _ in range(steps):
            x = np.sin(x) + 0.5 * x
        return np.sum(x)
    path = tmp_path / "unrolled_grad.py"
    text = symdiff.export(unrolled, path, shapes={"x": (3,)}, static={"steps": 3})
    assert "if steps != 3:" in text
    module = _load(path)
    x = np.array([0.2, -0.7, 1.1])
    fd = [(unrolled(x + e, 3) - unrolled(x - e, 3)) / 2e-6 for e in np.eye(3) * 1e-6]
    np.testing.assert_allclose(module.unrolled_grad(x, 3), fd, rtol=1e-6)
    with pytest.raises(ValueError, match="steps == 3"):
        module.unrolled_grad(x, 4)


def test_assignments_in_a_loop_write_in_place_into_the_array_they_made():
    g = symdiff.grad(recurrence, wrt=(0, 1))
    x = RNG.normal(size=30)
    g(x, 0.6)
    check_grads(recurrence, [x, 0.6])
    body = g.source.split("def recurrence_grad")[1]
    # the first assignment copies the buffer once; the other 29 write into that copy (no O(n^2) copying)
    assert body.count("_updated(") == 1
    assert all(f"y[{t}] = " in body for t in range(1, 30))


def test_np_array_of_a_traced_value_with_an_integer_dtype_is_refused():
    for f in (lambda x: np.sum(np.array(x, dtype=int)), lambda x: np.sum(np.array([x[0], x[1]], dtype=int)),
              lambda x: np.sum(np.full(3, x[0], dtype=int))):
        with pytest.raises(UnsupportedError, match="truncate"):
            symdiff.grad(f)(np.ones(3))
    np.testing.assert_allclose(symdiff.grad(lambda x: np.sum(np.asarray(x, dtype=float) ** 2))(np.ones(3)), 2.0)


def test_negative_and_positive_indices_of_one_element_add_up():
    x = np.arange(1.0, 6.0)
    g = symdiff.grad(lambda x: np.sum(x[[-1, 4, 0]] ** 2))(x)
    np.testing.assert_allclose(g, [2.0, 0.0, 0.0, 0.0, 2 * 2 * 5.0])  # x[-1] and x[4] are one element


def test_assignment_at_a_traced_position():
    def f(x):
        y = x * 1.0
        y[np.argmax(x)] = 0.0
        return np.sum(y ** 2)
    x = np.array([1.0, 5.0, 2.0])
    np.testing.assert_allclose(symdiff.grad(f)(x), [2.0, 0.0, 4.0])
    check_grads(f, [x])


def bounce(v0, g):
    """A ball dropped from 1 m, bouncing with restitution 0.9: a branch in every step of the loop."""
    h, v = 1.0, v0
    heights = np.zeros(40)
    for t in range(40):
        v = v - g * 0.05
        h = h + v * 0.05
        if h < 0:
            h = -h
            v = -0.9 * v
        heights[t] = h
    return np.sum(heights ** 2)


def test_a_branch_in_every_step_of_a_simulation():
    vg = symdiff.value_and_grad(bounce, wrt=(0, 1))
    for v0 in (1.0, -0.5, 2.0):  # different bounce times: each call's path is compiled when first taken
        check_grads(bounce, [v0, 9.81])
        value, _ = vg(v0, 9.81)
        np.testing.assert_allclose(value, bounce(v0, 9.81), rtol=1e-12)
    assert vg.source.count("def _bounce_value_and_grad_") == 3  # the three paths taken, one module


def early_exit(x):
    """Sums the leading non-negative entries, then stops at the first negative one."""
    total = 0.0
    for i in range(10):
        if x[i] < 0:
            return total + 0.5 * np.sum(x ** 2)
        total = total + np.sin(x[i])
    return total


def test_export_of_a_deep_chain_of_branches(tmp_path):
    path = tmp_path / "early_exit_grad.py"
    text = symdiff.export(early_exit, path, shapes={"x": (10,)})
    assert text.count("def _early_exit_grad_") == 11  # the first negative at 0..9, or none
    assert 'if _early_exit_branches_10(x) == "0000000000":' in text
    module = _load(path)
    rng = np.random.default_rng(3)
    for stop in (0, 4, 9, None):
        x = rng.uniform(0.1, 1.0, size=10)
        if stop is not None:
            x[stop] = -0.5
        k = 10 if stop is None else stop
        expected = np.where(np.arange(10) < k, np.cos(x), 0.0) + (x if stop is not None else 0.0)
        np.testing.assert_allclose(module.early_exit_grad(x), expected, rtol=1e-12)


def test_second_derivative_through_a_branch():
    def f(x):
        if x > 0:
            return x ** 3
        return np.sin(x)
    d2 = symdiff.grad(symdiff.grad(f))
    np.testing.assert_allclose(d2(np.float64(0.7)), 6 * 0.7)
    np.testing.assert_allclose(d2(np.float64(-0.4)), -np.sin(-0.4))
