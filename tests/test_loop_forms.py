"""More loops roll: loops over the rows of arrays (``for x_t in xs``, ``enumerate``, ``zip``), loops in
helper functions, loops inside a rolled loop's body, and ``while`` loops on traced conditions (their trip
count read at run time); a loop over a Python list of arrays unrolls and says why. Every gradient is
checked against autograd (which runs the same loop) and central differences along random directions."""
import types

import numpy as np
import pytest

import symdiff
from corpus import load
from symdiff.errors import UnsupportedError

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def _on_autograd(fn):
    """``fn`` with ``np`` (and the helpers of this module it calls) on autograd.numpy."""
    globs = dict(globals(), np=anp)
    for name, value in list(globs.items()):
        if isinstance(value, types.FunctionType) and value.__module__ == __name__:
            globs[name] = types.FunctionType(value.__code__, globs, name, value.__defaults__, value.__closure__)
    return types.FunctionType(fn.__code__, globs, fn.__name__, fn.__defaults__, fn.__closure__)


def _check(f, args, wrt, seed=0, rtol=1e-9):
    """value_and_grad of ``f`` against ``f``, autograd's gradient and central differences."""
    rng = np.random.default_rng(seed)
    vg = symdiff.value_and_grad(f, wrt=wrt)
    value, grads = vg(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert np.isclose(value, f(*args), rtol=1e-12)
    expected = autograd.grad(_on_autograd(f), argnum=wrt)(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for k, g, e in zip(wrt, grads, expected):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-11)
        v = rng.normal(size=np.shape(args[k]))
        plus, minus = list(args), list(args)
        plus[k], minus[k] = args[k] + 1e-6 * v, args[k] - 1e-6 * v
        slope = (f(*plus) - f(*minus)) / 2e-6
        assert np.isclose(np.sum(g * v), slope, rtol=1e-5, atol=1e-7)
    return vg


def _loops(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.lstrip().startswith(("for ", "while "))]


# ---------------------------------------------------------------- loops over rows ------------------

def over_rows(w, xs):
    s = np.zeros(xs.shape[1])
    for x_t in xs:
        s = np.tanh(w * s + x_t)
    return np.sum(s ** 2)


def over_enumerate(w, xs):
    s = 0.0
    for i, x_t in enumerate(xs):
        s = s + np.sin(w * x_t) * (i + 1)
    return np.sum(s)


def over_zip(w, xs, ys):
    s = 0.0
    for a, b in zip(xs, ys):
        s = 0.5 * s + np.cos(w * a) * b
    return s


def over_pairs(w, pairs):  # each row unpacked
    s = 0.0
    for a, b in pairs:
        s = s * w + a * b
    return s


def test_a_loop_over_the_rows_of_an_array_rolls():
    rng = np.random.default_rng(1)
    f = _check(over_rows, [0.7, rng.normal(size=(6, 3))], (0, 1))
    assert "rolled: for t in range(n_xs0), carrying s" in f.graph
    assert "for t in range(n_xs0):" in _loops(f.source)


def test_enumerate_rolls_with_the_users_index():
    rng = np.random.default_rng(2)
    f = _check(over_enumerate, [0.7, rng.normal(size=5)], (0, 1))
    assert "rolled: for i in range(n_xs), carrying s" in f.graph


def test_zip_rolls_and_stops_at_the_shortest():
    rng = np.random.default_rng(3)
    f = _check(over_zip, [0.7, rng.normal(size=5), rng.normal(size=5)], (0, 1, 2))
    assert "rolled: for t in range(Min(n_xs, n_ys))" in f.graph
    xs, ys = rng.normal(size=7), rng.normal(size=4)  # the same module, lengths that differ
    value, grads = f(0.3, xs, ys)
    expected = autograd.grad(_on_autograd(over_zip), argnum=(0, 1, 2))(0.3, xs, ys)
    assert np.isclose(value, over_zip(0.3, xs, ys))
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    assert f.cache_info == "memory"


def test_rows_unpacked_into_names():
    rng = np.random.default_rng(4)
    f = _check(over_pairs, [0.6, rng.normal(size=(5, 2))], (0, 1))
    assert "rolled: for t in range(n_pairs0), carrying s" in f.graph


# ---------------------------------------------------------------- lists unroll ---------------------

def mlp(layers, x):
    h = x
    for W, b in layers:
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def test_a_loop_over_a_list_of_layers_unrolls_and_says_why():
    rng = np.random.default_rng(5)
    layers = [(rng.normal(size=(3, 4)), rng.normal(size=4)), (rng.normal(size=(4, 2)), rng.normal(size=2))]
    x = rng.normal(size=3)
    g = symdiff.grad(mlp)
    grads = g(layers, x)
    expected = autograd.grad(_on_autograd(mlp))(layers, x)
    for (dW, db), (eW, eb) in zip(grads, expected):
        np.testing.assert_allclose(dW, eW, rtol=1e-10)
        np.testing.assert_allclose(db, eb, rtol=1e-10)
    assert "unrolled: it iterates over a Python list of 2 items, which may differ in shape" in g.graph
    assert not _loops(g.source)


# ---------------------------------------------------------------- helpers and nesting --------------

def rnn_step(h, x, W, U):
    return np.tanh(W @ h + U @ x)


def run_rnn(h, xs, W, U):  # a helper holding the loop
    for x in xs:
        h = rnn_step(h, x, W, U)
    return h


def rnn_via_helpers(W, U, xs, h0):
    h = run_rnn(h0, xs, W, U)
    return np.sum(h ** 2)


def nested(w, X):
    s = 0.0
    for t in range(X.shape[0]):
        for j in range(X.shape[1]):
            s = np.sin(w * s + X[t, j])
    return s


def test_a_loop_in_a_helper_function_rolls():
    rng = np.random.default_rng(6)
    args = [rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(3, 2)), rng.normal(size=(7, 2)), rng.normal(size=3)]
    code = run_rnn.__code__
    f = _check(rnn_via_helpers, args, (0, 1, 2, 3))
    assert "rolled: for t in range(n_xs0), carrying h" in f.graph
    assert set(_loops(f.source)) == {"for t in range(n_xs0):", "for t in range(n_xs0 - 1, -1, -1):"}
    assert run_rnn.__code__ is code  # the helper is as it was


def test_a_loop_inside_a_rolled_body_rolls_too():
    rng = np.random.default_rng(7)
    f = _check(nested, [0.7, rng.normal(size=(3, 4))], (0, 1))
    assert "rolled: for j in range(n_X1), carrying s" in f.graph
    assert "rolled: for t in range(n_X0), carrying s" in f.graph
    assert "unrolled" not in f.graph


# ---------------------------------------------------------------- while loops ----------------------

def fixed_point(a, x0, tol):
    x = x0
    x_new = np.cos(a * x)
    while np.max(np.abs(x_new - x)) > tol:
        x = x_new
        x_new = np.cos(a * x)
    return np.sum(x_new ** 2)


def newton_sqrt(a, tol=1e-12, maxit=50):
    x = a
    err = 1.0
    it = 0
    while err > tol and it < maxit:
        x_new = x - (x * x - a) / (2 * x)
        err = np.max(np.abs(x_new - x))
        x = x_new
        it += 1
    return np.sum(x)


def damped(x, lo, hi):  # a chained comparison and not
    s = x
    while not (lo < np.sum(s ** 2) < hi) and np.sum(s ** 2) > lo:
        s = 0.9 * s + 0.01 * np.sin(s)
    return np.sum(s)


def _trips(a, x0, tol):
    x, x_new, n = x0, np.cos(a * x0), 0
    while np.max(np.abs(x_new - x)) > tol:
        x, x_new, n = x_new, np.cos(a * x_new), n + 1
    return n


def test_a_fixed_point_iteration_rolls_and_its_gradient_is_that_of_the_iterations_run():
    rng = np.random.default_rng(8)
    a, x0 = rng.uniform(0.3, 0.6, size=4), np.zeros(4)
    f = _check(fixed_point, [a, x0, 1e-10], (0, 1))
    assert "rolled: while its condition holds" in f.graph
    assert "while running:" in _loops(f.source)
    assert "for t in range(n_iter - 1, -1, -1):" in _loops(f.source)
    assert _trips(a, x0, 1e-10) > 10
    v = np.random.default_rng(0).normal(size=4)  # (the direction _check's central differences take)
    assert _trips(a + 1e-6 * v, x0, 1e-10) == _trips(a - 1e-6 * v, x0, 1e-10) == _trips(a, x0, 1e-10)
    # the same module for another trip count: the gradient of the iterations run, a polynomial in a for
    # a few iterations (closed form: x1 = cos(0) = 1, x2 = cos(a), the loss sum(cos(a)**2))
    tol = 0.5  # exactly one iteration runs after the first map (|cos(a) - 1| < 0.2 < tol < 1)
    assert _trips(a, x0, tol) == 1
    value, (da, dx0) = f(a, x0, tol)
    np.testing.assert_allclose(value, np.sum(np.cos(a) ** 2), rtol=1e-12)
    np.testing.assert_allclose(da, -2 * np.cos(a) * np.sin(a), rtol=1e-12)
    assert f.cache_info == "memory"


def test_newton_with_an_iteration_limit():
    rng = np.random.default_rng(9)
    f = _check(newton_sqrt, [rng.uniform(1.0, 4.0, size=3)], (0,))
    assert "rolled: while its condition holds (the trip count read at run time), carrying err, it, x" in f.graph
    a = rng.uniform(1.0, 4.0, size=3)
    np.testing.assert_allclose(f(a)[1][0], 0.5 / np.sqrt(a), rtol=1e-10)  # d/da sum(sqrt(a))
    capped = symdiff.grad(lambda a: newton_sqrt(a, maxit=2))  # two iterations: the gradient of those
    expected = autograd.grad(lambda a: _on_autograd(newton_sqrt)(a, maxit=2))(a)
    np.testing.assert_allclose(capped(a), expected, rtol=1e-12)


def test_not_and_chained_comparisons_in_the_condition():
    rng = np.random.default_rng(10)
    f = _check(damped, [rng.normal(size=3) * 2, 0.5, 1.5], (0,))
    assert "rolled: while its condition holds" in f.graph


def test_a_while_loop_exports_without_values(tmp_path):
    source = symdiff.export(fixed_point, tmp_path / "fp.py", wrt="a", shapes={"a": "n", "x0": "n", "tol": ()})
    assert "while running:" in source
    namespace = {}
    exec(compile(source, "fp.py", "exec"), namespace)
    rng = np.random.default_rng(11)
    a, x0 = rng.uniform(0.3, 0.6, size=5), np.zeros(5)
    expected = autograd.grad(_on_autograd(fixed_point))(a, x0, 1e-9)
    np.testing.assert_allclose(namespace["fixed_point_grad"](a, x0, 1e-9), expected, rtol=1e-9)


def test_forward_mode_keeps_a_while_loop_rolled():
    a, x0 = np.array([0.4, 0.5]), np.zeros(2)
    h = symdiff.hessian(fixed_point, wrt="a")
    expected = autograd.hessian(_on_autograd(fixed_point))(a, x0, 1e-6)
    np.testing.assert_allclose(h(a, x0, 1e-6), expected, rtol=1e-7, atol=1e-10)
    assert "while its condition holds" in h.graph and "while running" in h.source


def test_hvp_and_jvp_of_a_while_loop_against_autograd():
    rng = np.random.default_rng(12)
    a, x0, v = rng.uniform(0.3, 0.6, size=4), np.zeros(4), rng.standard_normal(4)
    hv = symdiff.hvp(fixed_point, wrt="a")(a, x0, 1e-9, v)
    np.testing.assert_allclose(hv, autograd.hessian(_on_autograd(fixed_point))(a, x0, 1e-9) @ v, rtol=1e-8)
    _, tangent = symdiff.jvp(fixed_point, wrt="a")(a, x0, 1e-9, v)
    np.testing.assert_allclose(tangent, autograd.grad(_on_autograd(fixed_point))(a, x0, 1e-9) @ v, rtol=1e-8)


def test_checkpoint_of_a_while_loop_is_refused():
    with pytest.raises(UnsupportedError, match="cannot segment a while loop"):
        symdiff.grad(fixed_point, wrt="a", checkpoint=2)(np.array([0.4, 0.5]), np.zeros(2), 1e-6)


# ---------------------------------------------------------------- the corpus's loops ---------------

LOOPS = [e for e in load() if e.category == "loops"]


@pytest.mark.parametrize("e", LOOPS, ids=[e.id for e in LOOPS])
def test_every_corpus_loop_rolls(e):
    g = symdiff.grad(e.fn, wrt=e.wrt)
    g(*e.args())
    notes = [line.strip() for line in g.graph.splitlines() if line.strip().startswith("loop at")]
    assert notes and all(" rolled: " in n for n in notes), notes
    loops = _loops(g.source)
    assert any(line.startswith(("for ", "while ")) and ", -1, -1)" not in line for line in loops)  # forward
    assert any(line.endswith(", -1, -1):") for line in loops)  # and the reverse loop


def test_one_module_serves_every_length():
    """The entries of one function at T = 3, 17, 64 share one module (the length is read at run time)."""
    by_fn = {}
    for e in LOOPS:
        by_fn.setdefault(e.fn, []).append(e)
    for fn, entries in by_fn.items():
        if fn.__name__ in ("fixed_point_cos", "newton_kepler"):
            continue  # (their sizes are the arrays', the trip counts are their own)
        g = symdiff.grad(fn, wrt=entries[0].wrt)
        for e in entries:
            g(*e.args())
        assert g.cache_info == "memory", fn.__name__


def settle(a, xs):  # a while loop inside a rolled for loop: a trip count of its own per row
    total = 0.0
    for x_t in xs:
        y = x_t
        y_new = np.cos(a * y) + 0.1 * x_t
        while np.abs(y_new - y) > 1e-10:
            y = y_new
            y_new = np.cos(a * y) + 0.1 * x_t
        total = total + y_new ** 2
    return total


def halving(x):  # break: the loop runs as written, following the values
    while np.sum(x) > 0.1:
        x = x * 0.5
        if np.max(x) < 0.01:
            break
    return np.sum(x ** 2)


def test_a_while_loop_inside_a_for_loop():
    rng = np.random.default_rng(12)
    f = _check(settle, [0.5, rng.normal(size=5)], (0, 1))
    assert "rolled: while its condition holds" in f.graph and "rolled: for t in range(n_xs)" in f.graph


def test_a_while_loop_with_break_unrolls_and_says_why():
    rng = np.random.default_rng(13)
    f = _check(halving, [rng.uniform(0.1, 1.0, size=4)], (0,))
    assert "unrolled: the body has break or continue" in f.graph
    assert not [line for line in _loops(f.source) if line.startswith("while ")]


def test_a_while_loop_through_the_numba_backend():
    pytest.importorskip("numba")
    rng = np.random.default_rng(14)
    a, x0 = rng.uniform(0.3, 0.6, size=4), np.zeros(4)
    g = symdiff.grad(fixed_point, wrt="a", backend="numba")
    expected = autograd.grad(_on_autograd(fixed_point))(a, x0, 1e-10)
    np.testing.assert_allclose(g(a, x0, 1e-10), expected, rtol=1e-9)
    assert "while running:" in g.source


def partial_sum(x, tol):  # an int counter that indexes, and one that becomes a float
    i = 0
    s = 0.0
    err = 1
    while i < x.shape[0] and err > tol:
        s = s + np.sin(x[i]) * err
        err = err * 0.5
        i += 1
    return s


def test_a_while_loops_int_counter_indexes_and_one_that_becomes_a_float_is_carried_as_a_float():
    rng = np.random.default_rng(15)
    x = rng.normal(size=6)
    f = _check(partial_sum, [x, 0.1], (0,))
    assert "rolled: while its condition holds (the trip count read at run time), carrying err, i, s" in f.graph
    assert "dx[" in f.source  # the adjoint of x[i] added at the counter


def positive_prefix(x):  # `and` guards an index: Python skips x[i] once i reaches the end
    i = 0
    s = 0.0
    while i < x.shape[0] and x[i] > 0:
        s = s + x[i] ** 2
        i += 1
    return s


def test_an_index_guarded_by_and_in_the_condition_unrolls():
    x = np.array([0.5, 0.2, 0.3])  # all positive: the rolled condition would read x[3]
    g = symdiff.grad(positive_prefix)
    np.testing.assert_allclose(g(x), 2 * x)
    assert "unrolled: an operand of and/or in its condition indexes an array" in g.graph


def test_the_array_api_backend_unrolls_loops_and_says_why():
    pytest.importorskip("array_api_compat")
    rng = np.random.default_rng(16)
    a, x0 = rng.uniform(0.3, 0.6, size=3), np.zeros(3)
    g = symdiff.grad(fixed_point, wrt="a", backend="array_api")
    expected = autograd.grad(_on_autograd(fixed_point))(a, x0, 1e-8)
    np.testing.assert_allclose(g(a, x0, 1e-8), expected, rtol=1e-9)
    assert "unrolled: this backend does not print rolled loops" in g.graph
    xs = rng.normal(size=(5, 3))
    r = symdiff.grad(over_rows, wrt=(0, 1), backend="array_api")
    for got, want in zip(r(0.7, xs), autograd.grad(_on_autograd(over_rows), argnum=(0, 1))(0.7, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-9)


def test_a_function_whose_only_loop_is_a_while_is_read_for_loops():
    """The bytecode screen that skips loop-free functions sees a while loop (3.11 closes it with a backward
    conditional jump, not JUMP_BACKWARD)."""
    from symdiff.trace.loop_source import _may_loop
    assert _may_loop(fixed_point.__code__)

    def straight(x):
        return np.sum(np.sin(x) * 2.0)
    assert not _may_loop(straight.__code__)
