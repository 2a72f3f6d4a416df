"""The rewrites of rolled loops (symdiff/rewrite/loop_batch.py): each generated module has the batched
form, and its gradient equals autograd's (and central differences) to 1e-10."""
import re

import numpy as np
import pytest

import symdiff

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


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


def rows_times(V, x, h0):  # x[t] @ V (a row times a matrix), and a shifted read x[t - 1]
    h = h0
    total = 0.0
    for t in range(1, x.shape[0]):
        h = np.sin(h * 0.5 + x[t] @ V) * np.cos(x[t - 1] @ V)
        total = total + np.sum(h * x[t - 1][:h.shape[0]])
    return total


def rows_times_autograd(V, x, h0):
    h = h0
    total = 0.0
    for t in range(1, x.shape[0]):
        h = anp.sin(h * 0.5 + anp.dot(x[t], V)) * anp.cos(anp.dot(x[t - 1], V))
        total = total + anp.sum(h * x[t - 1][:h.shape[0]])
    return total


def wraps(w, x):  # x[t - 1] at t = 0 is NumPy's x[-1]: no slice of x holds these rows in order
    s = 0.0
    for t in range(x.shape[0]):
        s = np.sin(s) + w * x[t - 1] ** 2
    return s


def wraps_autograd(w, x):
    s = 0.0
    for t in range(x.shape[0]):
        s = anp.sin(s) + w * x[t - 1] ** 2
    return s


def _bptt(W, U, b, x, h0):
    """Hand-written back-propagation through time (the benchmark's reference)."""
    T, n = x.shape[0], h0.shape[0]
    hs = np.empty((T + 1, n))
    hs[0] = h = h0
    for t in range(T):
        h = np.tanh(W @ h + U @ x[t] + b)
        hs[t + 1] = h
    dW, dU, db, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b), np.zeros(n)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        dz = (dh + 2 * h) * (1 - h * h)
        dW += np.outer(dz, hs[t])
        dU += np.outer(dz, x[t])
        db += dz
        dh = W.T @ dz
    return dW, dU, db


def _central(f, args, k, rng, eps=1e-6):
    v = rng.normal(size=np.shape(args[k]))
    plus, minus = list(args), list(args)
    plus[k] = args[k] + eps * v
    minus[k] = args[k] - eps * v
    return (f(*plus) - f(*minus)) / (2 * eps), v


def _check(f, reference, args, wrt, seed=0):
    fn = symdiff.value_and_grad(f, wrt=wrt)
    value, grads = fn(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert np.isclose(value, f(*args), rtol=1e-12)
    expected = autograd.grad(reference, argnum=wrt)(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    rng = np.random.default_rng(seed)
    for k, g, e in zip(wrt, grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
        slope, v = _central(f, args, k, rng)
        assert np.isclose(np.sum(g * v), slope, rtol=1e-5, atol=1e-7)
    return fn


def _rnn_args(T, n=5, d=3, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, n)) * 0.5, rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=(T, d)),
            rng.normal(size=n)]


def _loops(source: str, function: str) -> tuple[str, list[str], str]:
    """The function's code before its first loop, the loops' bodies, and the code after the last
    (comments left out)."""
    text = source.split(f"def {function}(")[1].split("\ndef ")[0]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    starts = [i for i, line in enumerate(lines) if line.startswith("    for ")]
    bodies, end = [], 0
    for s in starts:
        end = s + 1
        while end < len(lines) and lines[end].startswith("        "):
            end += 1
        bodies.append("\n".join(lines[s + 1:end]))
    return "\n".join(lines[:starts[0]]), bodies, "\n".join(lines[end:])


@pytest.mark.parametrize("T", [2, 6])
def test_input_projection_is_one_matmul_before_the_loop(T):
    """hoist_loop_work: ``U @ x[t] + b`` for every t is ``x @ U.T + b`` before the loop; the body reads its row."""
    args = _rnn_args(T)
    fn = _check(rnn, rnn_autograd, args, (0, 1, 2))
    before, (forward, backward), _ = _loops(fn.source, "rnn_value_and_grad")
    projected = re.search(r"(\w+) = x @ U\.T \+ b", before)
    assert projected, before
    assert re.search(rf"h = np\.tanh\(W @ h \+ {projected.group(1)}\[t\]\)", forward), forward
    assert "U @" not in forward and "x[t]" not in forward
    # the derivative of tanh and the loss's 2*h, for every t at once from the stored hs
    assert "1.0 - " not in backward and "2.0*" not in backward, backward
    dW, dU, db = fn(*args)[1]
    for got, want in zip((dW, dU, db), _bptt(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_accumulated_adjoints_are_products_after_the_loop():
    """push_out_accumulations: ``dW += outer(dz, hs[t])`` over t is ``dzs.T @ hs[:T]`` after the loop,
    ``dU`` is ``dzs.T @ x``, ``db`` the column sums; the reverse loop stores dz per iteration."""
    args = _rnn_args(7)
    fn = _check(rnn, rnn_autograd, args, (0, 1, 2))
    _, (_, backward), after = _loops(fn.source, "rnn_value_and_grad")
    assert not re.search(r"\bd[WUb] = d[WUb] \+", backward) and "[:, None]" not in backward, backward
    stored = re.search(r"(\w+s)\[t\] = (\w+)", backward)
    assert stored, backward
    stack = stored.group(1)
    assert re.search(r"dW = (\w+) @ hs\[:n_x0\]", after) and re.search(r"dU = \w+ @ x\b", after), after
    assert f"{stack}.T" in after and re.search(rf"db = .*{stack}", after), after
    # only what was asked for: the gradient in W alone stores and multiplies for W only
    only_w = _check(rnn, rnn_autograd, args, (0,))
    _, _, after_w = _loops(only_w.source, "rnn_value_and_grad")
    assert "dU" not in after_w and "db" not in after_w and "@ hs[:n_x0]" in after_w


def test_row_times_matrix_and_a_shifted_read():
    """``x[t] @ V`` and ``x[t - 1] @ V`` in ``range(1, T)``: the rows 1..T-1 and 0..T-2 of ``x @ V``, batched."""
    rng = np.random.default_rng(2)
    V, x, h0 = rng.normal(size=(6, 4)), rng.normal(size=(9, 6)), rng.normal(size=4)
    fn = _check(rows_times, rows_times_autograd, [V, x, h0], (0, 1, 2))
    before, (forward, _), _ = _loops(fn.source, "rows_times_value_and_grad")
    assert "@ V" in before and "@ V" not in forward, fn.source


def test_a_read_before_the_first_row_is_not_batched():
    """``x[t - 1]`` at ``t = 0`` wraps around to the last row: that read stays in the loop, and is right."""
    rng = np.random.default_rng(3)
    w, x = 0.7, rng.normal(size=8)
    fn = _check(wraps, wraps_autograd, [w, x], (0, 1))
    _, (forward, _), _ = _loops(fn.source, "wraps_value_and_grad")
    assert "x[t - 1]" in forward, fn.source


def rnn_six(W, U, b, x, h0):  # a trip count fixed in the code, x's length read at run time
    h = h0
    loss = 0.0
    for t in range(6):
        h = np.tanh(W @ h + U @ x[t] + b)
        loss = loss + np.sum(h ** 2)
    return loss


def test_static_trip_count_over_a_sequence_of_any_length():
    """``range(T)`` with T a constant of the code and ``x``'s length read at run time: the rows are taken
    by index (``x[np.arange(T)]``), so a sequence shorter than T raises as the loop did, never a shorter sum."""
    args = _rnn_args(6)
    fn = _check(rnn_six, rnn_autograd, args, (0, 1, 2))
    assert "x[np.arange(6)]" in fn.source, fn.source
    for got, want in zip(fn(*args)[1], _bptt(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    longer = args[:3] + [np.vstack([args[3], np.ones((2, 3))])] + args[4:]
    for got, want in zip(fn(*longer)[1], _bptt(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    with pytest.raises(IndexError):
        fn(*args[:3], args[3][:4], args[4])


# ---------------------------------------------------------------- a short carried vector ---------

def lorenz(y, p):
    return np.array([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1], y[0] * y[1] - p[2] * y[2]])


def rk4(y0, p, steps):
    y = y0
    dt = 0.01
    for _ in range(steps):
        k1 = lorenz(y, p)
        k2 = lorenz(y + 0.5 * dt * k1, p)
        k3 = lorenz(y + 0.5 * dt * k2, p)
        k4 = lorenz(y + dt * k3, p)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum(y ** 2)


def rk4_autograd(y0, p, steps):
    y = y0
    dt = 0.01
    for _ in range(steps):
        f = [anp.array([q[0] * (u[1] - u[0]), u[0] * (q[1] - u[2]) - u[1], u[0] * u[1] - q[2] * u[2]])
             for u, q in [(y, p)]][0]
        k1 = f
        u = y + 0.5 * dt * k1
        k2 = anp.array([p[0] * (u[1] - u[0]), u[0] * (p[1] - u[2]) - u[1], u[0] * u[1] - p[2] * u[2]])
        u = y + 0.5 * dt * k2
        k3 = anp.array([p[0] * (u[1] - u[0]), u[0] * (p[1] - u[2]) - u[1], u[0] * u[1] - p[2] * u[2]])
        u = y + dt * k3
        k4 = anp.array([p[0] * (u[1] - u[0]), u[0] * (p[1] - u[2]) - u[1], u[0] * u[1] - p[2] * u[2]])
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return anp.sum(y ** 2)


def whole(y0, W, steps):  # the body reads the carried vector whole (W @ y): it stays a vector
    y = y0
    for _ in range(steps):
        y = y + 0.1 * np.tanh(W @ y) * np.array([y[1], y[0]])
    return np.sum(y ** 2)


def whole_autograd(y0, W, steps):
    y = y0
    for _ in range(steps):
        y = y + 0.1 * anp.tanh(anp.dot(W, y)) * anp.array([y[1], y[0]])
    return anp.sum(y ** 2)


def test_rk4_state_is_carried_as_scalars():
    """unstack_carries: the Lorenz state is carried as ``y_0, y_1, y_2``: no assembly (``np.concatenate``)
    or indexing of it per stage in either loop, and the forward loop stores the three components only
    (recompute_stored: the reverse loop computes the stages again from them)."""
    y0, p = np.array([1.0, 2.0, 3.0]), np.array([10.0, 28.0, 8.0 / 3.0])
    fn = _check(rk4, rk4_autograd, [y0, p, 25], (0, 1))
    before, (forward, backward), after = _loops(fn.source, "rk4_value_and_grad")
    for body in (forward, backward):
        body = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("#"))
        assert "np.concatenate" not in body and "np.reshape" not in body and "np.zeros" not in body, body
        assert not re.search(r"\by\[", body), body
    assert re.search(r"y_0 = .*y0\[0\]", before) or "y_0 = y0[0]" in before, before
    stacks = sorted(re.findall(r"(\w+) = np\.empty", before))
    assert stacks == ["y_0s", "y_1s", "y_2s"], before
    # the gradient alone calls the function with the value (the forward loop computes it anyway)
    assert "def rk4_grad(y0, p, steps):" in fn.source and "return rk4_value_and_grad(y0, p, steps)[1]" in fn.source
    assert len(fn.source.splitlines()) < 220, fn.source
    grads = symdiff.grad(rk4, wrt=(0, 1))(y0, p, 25)
    for g, e in zip(grads, autograd.grad(rk4_autograd, argnum=(0, 1))(y0, p, 25)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_a_vector_read_whole_stays_a_vector():
    """A body that multiplies the carried vector by a matrix keeps it: no scalars carried, and right."""
    rng = np.random.default_rng(4)
    y0, W = rng.normal(size=2), rng.normal(size=(2, 2))
    fn = _check(whole, whole_autograd, [y0, W, 6], (0, 1))
    _, (forward, _), _ = _loops(fn.source, "whole_value_and_grad")
    assert "W @ y" in forward and "y_0" not in fn.source, fn.source


def test_pendulum_with_sin_of_a_component():
    """Explicit Euler of a pendulum (a helper returning ``np.array([y[1], -k * np.sin(y[0])])``): scalars."""
    def velocity(y, k):
        return np.array([y[1], -k * np.sin(y[0])])

    def pendulum(y0, k):
        y = y0
        for _ in range(30):
            y = y + 0.1 * velocity(y, k)
        return np.sum(y ** 2)

    def pendulum_autograd(y0, k):
        y = y0
        for _ in range(30):
            y = y + 0.1 * anp.array([y[1], -k * anp.sin(y[0])])
        return anp.sum(y ** 2)
    fn = _check(pendulum, pendulum_autograd, [np.array([0.3, -0.2]), 1.7], (0, 1))
    _, (forward, backward), _ = _loops(fn.source, "pendulum_value_and_grad")
    assert "np.sin(y_0)" in forward and "np.concatenate" not in forward + backward, fn.source


def rnn_offset(W, U, b, x, h0):  # a running total that starts at 1.5
    h = h0
    loss = 1.5
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t] + b)
        loss = loss + np.sum(h ** 2)
    return loss


def test_a_running_total_is_one_dot_after_the_loop():
    """push_out_accumulations: ``loss += np.sum(h ** 2)`` reads the new h, which the loop stores for the
    gradient: the total is one dot of the stored rows after the loop (plus where it started)."""
    args = _rnn_args(5)
    fn = _check(rnn, rnn_autograd, args, (0, 1, 2))
    _, (forward, _), _ = _loops(fn.source, "rnn_value_and_grad")
    assert "loss" not in forward and "np.dot" not in forward, forward
    assert re.search(r"rnn = np\.vdot\((\w+), \1\)", fn.source), fn.source
    shifted = symdiff.value_and_grad(rnn_offset, wrt=0)
    value, dW = shifted(*args)
    assert np.isclose(value, rnn_offset(*args), rtol=1e-12)
    np.testing.assert_allclose(dW, _bptt(*args)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("wrt", [(0, 1, 2, 3), (3,)])
def test_a_sequence_adjoint_is_one_product_after_the_loop(wrt):
    """push_out_accumulations: ``dx[t] += dz @ U``, each row once, is ``dzs @ U`` after the loop (or the
    stack of the rows themselves when nothing else stores dz)."""
    args = _rnn_args(6)
    fn = _check(rnn, rnn_autograd, args, wrt)
    _, (_, backward), after = _loops(fn.source, "rnn_value_and_grad")
    assert "dx[t]" not in backward and re.search(r"\bdx = ", after), fn.source


def read_inside(w, xs):  # the running total is read inside the body: it stays a running total
    s = 0.0
    z = 0.0
    for t in range(xs.shape[0]):
        s = s + np.sin(w * xs[t])
        z = z + s * xs[t]
    return z + s


def read_inside_autograd(w, xs):
    s = 0.0
    z = 0.0
    for t in range(xs.shape[0]):
        s = s + anp.sin(w * xs[t])
        z = z + s * xs[t]
    return z + s


def gated(w, xs):  # a condition on the iteration's values inside an expression on the carried value
    h = 0.0
    for t in range(xs.shape[0]):
        h = np.where(xs[t] > 0.2, np.tanh(h + w * xs[t]), 0.5 * h)
    return h


def gated_autograd(w, xs):
    h = 0.0
    for t in range(xs.shape[0]):
        h = anp.where(xs[t] > 0.2, anp.tanh(h + w * xs[t]), 0.5 * h)
    return h


def test_a_total_read_inside_and_a_condition_in_the_body():
    """A running total another carried value reads each iteration is kept; a comparison of the
    iteration's values inside an expression of the carried one stays a condition. Both are right."""
    rng = np.random.default_rng(5)
    xs = rng.normal(size=9)
    fn = _check(read_inside, read_inside_autograd, [0.8, xs], (0, 1))
    _, (forward, _), _ = _loops(fn.source, "read_inside_value_and_grad")
    assert re.search(r"\bs = s \+", forward), forward
    _check(gated, gated_autograd, [0.6, xs], (0, 1))


def built_vector(s0, p, W, steps):
    s = s0
    for _ in range(steps):
        a = p[0]
        b = p[0]
        s = s + 0.1 * np.sum(np.tanh(W @ np.array([s * a, s + b]))) * p[0]
    return s


def built_vector_autograd(s0, p, W, steps):
    s = s0
    for _ in range(steps):
        s = s + 0.1 * anp.sum(anp.tanh(anp.dot(W, anp.array([s * p[0], s + p[0]])))) * p[0]
    return s


def test_a_vector_built_of_carried_scalars_read_whole():
    """unstack_carries: a loop carrying a scalar, reading one value outside through several inputs (p[0]
    three times), whose body builds a vector of scalars and multiplies it by a matrix: neither pass of
    the rewrite has components for it, and the loop stays as it was (it raised a TypeError)."""
    rng = np.random.default_rng(7)
    args = (0.3, rng.normal(size=2), rng.normal(size=(2, 2)), 5)
    grads = symdiff.grad(built_vector, wrt=(0, 1, 2))(*args)
    for g, e in zip(grads, autograd.grad(built_vector_autograd, argnum=(0, 1, 2))(*args)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
