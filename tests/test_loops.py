"""Rolled loops: a ``for`` loop over ``range`` in the user's code is one loop in the generated code
(forward, and a reverse loop for the gradient), the module's size does not depend on the trip count,
and every gradient equals central differences and autograd's."""
import numpy as np
import pytest

import symdiff

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


# ---------------------------------------------------------------- the functions -----------------

def rnn(W, U, b, x, h0):
    h = h0
    loss = 0.0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t] + b)
        loss = loss + np.sum(h ** 2)
    return loss


def rnn_autograd(W, U, b, x, h0):
    h = h0
    loss = 0.0
    for t in range(x.shape[0]):
        h = anp.tanh(anp.dot(W, h) + anp.dot(U, x[t]) + b)
        loss = loss + anp.sum(h ** 2)
    return loss


def velocity(y, k):
    return np.array([y[1], -k * np.sin(y[0])])


def pendulum(y0, k, steps):  # explicit Euler; the helper is traced inline
    y = y0
    dt = 0.1
    for _ in range(steps):
        y = y + dt * velocity(y, k)
    return np.sum(y ** 2)


def pendulum_autograd(y0, k, steps):
    y = y0
    for _ in range(steps):
        y = y + 0.1 * anp.array([y[1], -k * anp.sin(y[0])])
    return anp.sum(y ** 2)


def smoothing(w, xs):  # a loop-invariant weight; len() as the bound; x[t - 1]
    s = xs[0]
    total = 0.0
    for t in range(1, len(xs)):
        s = w * s + (1 - w) * xs[t - 1] * np.cos(s)
        total = total + s * xs[t]
    return total


def smoothing_autograd(w, xs):
    s = xs[0]
    total = 0.0
    for t in range(1, len(xs)):
        s = w * s + (1 - w) * xs[t - 1] * anp.cos(s)
        total = total + s * xs[t]
    return total


def branchy(w, xs):  # a branch on a traced value inside: the loop stays unrolled
    h = 0.0
    for t in range(xs.shape[0]):
        if h > 0.5:
            h = h * 0.5
        h = h + w * xs[t]
    return h ** 2


def branchy_autograd(w, xs):
    h = 0.0
    for t in range(xs.shape[0]):
        if h > 0.5:
            h = h * 0.5
        h = h + w * xs[t]
    return h ** 2


KEPT = []


def kept(v):
    KEPT.append(v)
    return v


def leaky(w, xs):  # a helper keeps a body's value in a list, read after the loop
    s = 0.0
    for t in range(xs.shape[0]):
        s = kept(s * w + xs[t])
    return s + KEPT[-1] * 0.5


def leaky_autograd(w, xs):
    s = 0.0
    for t in range(xs.shape[0]):
        s = s * w + xs[t]
    return 1.5 * s


def make_inner(a):
    def inner(w, xs):  # a closure, and a loop (static, unrolled) inside the rolled body
        s = 0.0
        for t in range(xs.shape[0]):
            for k in range(2):
                s = a * s + np.sin(w * xs[t] + k)
        return s
    return inner


def inner_autograd(w, xs, a):
    s = 0.0
    for t in range(xs.shape[0]):
        for k in range(2):
            s = a * s + anp.sin(w * xs[t] + k)
    return s


def swap(w, xs):  # new values read old ones after their own are bound: bound together at the end
    a, b = 1.0, w
    for t in range(xs.shape[0]):
        a, b = b, a + b * np.cos(xs[t])
        c = a * b
        a = a + 0.1 * c
    return a + b


def swap_autograd(w, xs):
    a, b = 1.0, w
    for t in range(xs.shape[0]):
        a, b = b, a + b * anp.cos(xs[t])
        c = a * b
        a = a + 0.1 * c
    return a + b


def two_loops(w, xs):  # z is each loop's own temporary: not carried
    s = 0.0
    for t in range(xs.shape[0]):
        z = w * xs[t]
        s = s + np.sin(z)
    for t in range(xs.shape[0]):
        z = s * xs[t]
        s = s + 0.1 * np.cos(z)
    return s


def two_loops_autograd(w, xs):
    s = 0.0
    for t in range(xs.shape[0]):
        s = s + anp.sin(w * xs[t])
    for t in range(xs.shape[0]):
        s = s + 0.1 * anp.cos(s * xs[t])
    return s


# ---------------------------------------------------------------- checks ------------------------

def _central(f, args, k, rng, eps=1e-6):
    """The directional derivative of ``f`` in argument ``k`` along a random direction."""
    v = rng.normal(size=np.shape(args[k]))
    plus, minus = list(args), list(args)
    plus[k] = args[k] + eps * v
    minus[k] = args[k] - eps * v
    return (f(*plus) - f(*minus)) / (2 * eps), v


def _check(f, reference, args, wrt, rng):
    value_and_grad = symdiff.value_and_grad(f, wrt=wrt)
    value, grads = value_and_grad(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert np.isclose(value, f(*args))
    expected = autograd.grad(reference, argnum=wrt)(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for k, g, e in zip(wrt, grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
        slope, v = _central(f, args, k, rng)
        assert np.isclose(np.sum(g * v), slope, rtol=1e-5, atol=1e-7)
    return value_and_grad


def _rnn_args(rng, T, n=4, d=3):
    return [rng.normal(size=(n, n)) * 0.5, rng.normal(size=(n, d)), rng.normal(size=n),
            rng.normal(size=(T, d)), rng.normal(size=n)]


# ---------------------------------------------------------------- tests -------------------------

@pytest.mark.parametrize("T", [3, 7])
def test_rnn_gradient(T):
    rng = np.random.default_rng(T)
    f = _check(rnn, rnn_autograd, _rnn_args(rng, T), (0, 1, 2, 3, 4), rng)
    assert "for t in range(n_x0):" in f.source
    assert "for t in range(n_x0 - 1, -1, -1):" in f.source
    assert "h = np.tanh(W @ h + U @ x[t] + b)" in f.source
    assert "rolled: for t in range(n_x0), carrying h, loss" in f.graph


def test_bound_read_at_run_time_serves_every_length():
    rng = np.random.default_rng(1)
    f = symdiff.value_and_grad(rnn, wrt=(0, 1))
    for T in (3, 7):
        args = _rnn_args(rng, T)
        value, (dW, dU) = f(*args)
        eW, eU = autograd.grad(rnn_autograd, argnum=(0, 1))(*args)
        np.testing.assert_allclose(dW, eW, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dU, eU, rtol=1e-9, atol=1e-12)
    assert f.cache_info == "memory"  # T=7 ran the module compiled at T=3


def test_module_size_does_not_depend_on_the_trip_count(tmp_path):
    sizes = []
    for steps in (3, 200):
        source = symdiff.export(pendulum, tmp_path / f"p{steps}.py", wrt=("y0", "k"), shapes={"y0": (2,)},
                                static={"steps": steps})
        assert f"for _ in range({steps}):" in source and f"for _ in range({steps - 1}, -1, -1):" in source
        sizes.append(len(source.splitlines()))
    assert sizes[0] == sizes[1] < 200
    namespace = {}
    exec(compile(source, "p200.py", "exec"), namespace)
    y0 = np.array([0.3, -0.2])
    dy0, dk = namespace["pendulum_grad"](y0, 1.7, 200)
    ey0, ek = autograd.grad(pendulum_autograd, argnum=(0, 1))(y0, 1.7, 200)
    np.testing.assert_allclose(dy0, ey0, rtol=1e-9)
    np.testing.assert_allclose(dk, ek, rtol=1e-9)


def test_only_the_adjoints_asked_for_are_accumulated():
    rng = np.random.default_rng(6)
    f = symdiff.grad(rnn, wrt=("W",))
    f(*_rnn_args(rng, 3))
    assert "dx" not in f.source and "dU" not in f.source and "db" not in f.source


@pytest.mark.parametrize("steps", [3, 7])
def test_integrator_with_a_helper_and_a_static_trip_count(steps):
    rng = np.random.default_rng(steps)
    args = [np.array([0.3, -0.2]), 1.7, steps]
    f = _check(pendulum, pendulum_autograd, args, (0, 1), rng)
    assert f"for _ in range({steps}):" in f.source


def test_loop_invariant_weight_len_bound_and_shifted_index():
    rng = np.random.default_rng(5)
    args = [0.7, rng.normal(size=6)]
    f = _check(smoothing, smoothing_autograd, args, (0, 1), rng)
    assert "for t in range(1, n_xs):" in f.source
    assert "xs[t - 1]" in f.source and "dxs[t] +=" in f.source  # the sequence's adjoint, added in place


def test_a_branch_on_a_traced_value_falls_back_to_unrolling():
    rng = np.random.default_rng(2)
    args = [0.9, rng.normal(size=5)]
    f = _check(branchy, branchy_autograd, args, (0, 1), rng)
    assert "unrolled: the body branches on a traced value" in f.graph
    assert not [line for line in f.source.splitlines() if line.lstrip().startswith("for ")]


def test_forward_mode_kinds_keep_the_loop_rolled():
    rng = np.random.default_rng(3)
    args = [0.7, rng.normal(size=4)]
    h = symdiff.hessian(smoothing, wrt=0)
    expected = autograd.hessian(smoothing_autograd, argnum=0)(*args)
    np.testing.assert_allclose(h(*args), expected, rtol=1e-8, atol=1e-10)
    assert "rolled: for t in range(1, n_xs), carrying s, total" in h.graph and "unrolled" not in h.graph


def test_the_plain_function_is_unchanged_after_tracing():
    rng = np.random.default_rng(4)
    args = _rnn_args(rng, 3)
    code = rnn.__code__
    symdiff.grad(rnn)(*args)
    assert rnn.__code__ is code
    assert np.isclose(rnn(*args), rnn_autograd(*args))


def test_a_value_kept_outside_the_body_unrolls_the_loop():
    rng = np.random.default_rng(7)
    args = [0.6, rng.normal(size=4)]
    f = symdiff.grad(leaky)
    g = f(*args)
    KEPT.clear()
    np.testing.assert_allclose(g, autograd.grad(leaky_autograd)(*args), rtol=1e-9)
    assert "unrolled: a value computed in a loop body was kept outside the loop" in f.graph


def test_closure_and_an_inner_loop_in_the_body():
    rng = np.random.default_rng(8)
    args = [0.4, rng.normal(size=5)]
    inner = make_inner(0.8)
    f = _check(inner, lambda w, xs: inner_autograd(w, xs, 0.8), args, (0, 1), rng)
    assert "rolled: for t in range(n_xs), carrying s" in f.graph
    assert "unrolled" not in f.graph


def test_the_ir_text_prints_the_body_indented():
    rng = np.random.default_rng(9)
    f = symdiff.grad(rnn, wrt="W")
    f(*_rnn_args(rng, 3))
    traced = f.graph.split("\n\n")[0]
    assert "loop[range(n_x0), carry=2, stored=0] h0" in traced
    assert "      in  t:int64(), h:float64(n_W1,), loss:float64()" in traced
    assert "= gather x t" in traced


def test_carried_values_read_after_being_rebound():
    rng = np.random.default_rng(10)
    args = [0.3, rng.normal(size=4) * 0.3]
    f = _check(swap, swap_autograd, args, (0, 1), rng)
    assert "rolled: for t in range(n_xs), carrying a, b" in f.graph


def test_temporaries_of_two_loops_are_not_carried():
    rng = np.random.default_rng(11)
    args = [0.8, rng.normal(size=5)]
    f = _check(two_loops, two_loops_autograd, args, (0, 1), rng)
    assert f.graph.count("rolled: for t in range(n_xs), carrying s") == 2


def _identity_decorator(f):
    return f


@_identity_decorator
def decorated_damping(x, w):
    y = x
    for _ in range(4):
        y = np.tanh(w * y) + 0.5 * x
    return np.sum(y ** 2)


def decorated_damping_autograd(x, w):
    y = x
    for _ in range(4):
        y = anp.tanh(w * y) + 0.5 * x
    return anp.sum(y ** 2)


def test_a_decorated_function_s_rolled_loop_keeps_its_line_numbers():
    # the decorator's line shifts nothing: the comments name the body's lines, each quoting its own text
    from pathlib import Path
    from test_generated_module import check_source_comments
    rng = np.random.default_rng(11)
    f = _check(decorated_damping, decorated_damping_autograd, [rng.normal(size=5), rng.normal(size=5)], (0, 1), rng)
    assert "rolled: for _ in range(4)" in f.graph
    assert check_source_comments(f.source, Path(__file__)) >= 3
    assert "Grad of: test_loops.py:" in f.source and ": y = np.tanh(w * y) + 0.5 * x" in f.source
