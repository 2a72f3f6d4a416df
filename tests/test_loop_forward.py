"""Forward mode through rolled loops: ``hessian``, ``hvp``, ``jvp`` and ``jacobian`` of a function with a
loop keep the loop rolled (a loop carrying the state and its tangents), the module's size does not depend
on the trip count, and every derivative equals autograd's, JAX's and central differences of
``symdiff.grad``."""
import numpy as np
import pytest

import symdiff
from test_loops import _rnn_args, pendulum, pendulum_autograd, rnn, rnn_autograd, smoothing, smoothing_autograd

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def rk4(y0, k, steps):  # RK4 of a pendulum; the state is a vector built by np.array each stage
    y = y0
    dt = 0.05
    for _ in range(steps):
        k1 = np.array([y[1], -k * np.sin(y[0])])
        z = y + 0.5 * dt * k1
        k2 = np.array([z[1], -k * np.sin(z[0])])
        z = y + 0.5 * dt * k2
        k3 = np.array([z[1], -k * np.sin(z[0])])
        z = y + dt * k3
        k4 = np.array([z[1], -k * np.sin(z[0])])
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def rk4_autograd(y0, k, steps):
    y = y0
    dt = 0.05

    def f(y):
        return anp.array([y[1], -k * anp.sin(y[0])])
    for _ in range(steps):
        k1 = f(y)
        k2 = f(y + 0.5 * dt * k1)
        k3 = f(y + 0.5 * dt * k2)
        k4 = f(y + dt * k3)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def rnn_jax(W, U, b, x, h0):
    import jax
    import jax.numpy as jnp

    def step(carry, xt):
        h, loss = carry
        h = jnp.tanh(W @ h + U @ xt + b)
        return (h, loss + jnp.sum(h ** 2)), None
    (_, loss), _ = jax.lax.scan(step, (h0, 0.0), x)
    return loss


def _loops(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.lstrip().startswith("for ") and " range(" in line]


def _grad_slope(args, k, v, eps=1e-6):
    """The derivative of ``symdiff.grad(rnn)`` in argument ``k`` along ``v``, by central differences."""
    g = symdiff.grad(rnn, wrt=k)
    plus, minus = list(args), list(args)
    plus[k] = args[k] + eps * v
    minus[k] = args[k] - eps * v
    return (g(*plus) - g(*minus)) / (2 * eps)


@pytest.mark.parametrize("T", [3, 10, 50])
def test_rnn_hessian_keeps_the_loop_rolled(T):
    rng = np.random.default_rng(T)
    args = _rnn_args(rng, T)
    for wrt in (0, 3, 4):  # W (a weight: no tangent at h0), the sequence x, the initial state h0
        h = symdiff.hessian(rnn, wrt=wrt)
        expected = autograd.hessian(rnn_autograd, argnum=wrt)(*args)
        np.testing.assert_allclose(h(*args), expected, rtol=1e-9, atol=1e-11)
        assert "for t in range(n_x0):" in h.source and "for t in range(n_x0 - 1, -1, -1):" in h.source
        assert "rolled: for t in range(n_x0), carrying h, loss" in h.graph and "unrolled" not in h.graph
        hessian_loops = _loops(h.source.split("def rnn_hessian")[1])  # the values come from the tangents' loop
        assert hessian_loops == ["for t in range(n_x0):", "for t in range(n_x0 - 1, -1, -1):"]


@pytest.mark.parametrize("T", [3, 10, 50])
def test_rnn_hvp_and_jvp_against_central_differences_of_grad(T):
    rng = np.random.default_rng(100 + T)
    args = _rnn_args(rng, T)
    for k in (0, 1, 3):
        v = rng.normal(size=args[k].shape)
        hv = symdiff.hvp(rnn, wrt=k)(*args, v)
        np.testing.assert_allclose(hv, _grad_slope(args, k, v), rtol=1e-6, atol=1e-8)
        value, slope = symdiff.jvp(rnn, wrt=k)(*args, v)
        assert np.isclose(value, rnn(*args))
        assert np.isclose(slope, np.sum(autograd.grad(rnn_autograd, argnum=k)(*args) * v), rtol=1e-10, atol=1e-12)
    f = symdiff.hvp(rnn, wrt=0)
    f(*args, rng.normal(size=args[0].shape))
    loops = _loops(f.source)  # the gradient's loops and their JVPs; the backward loop's JVP is a reverse loop
    assert loops and set(loops) == {"for t in range(n_x0):", "for t in range(n_x0 - 1, -1, -1):"}


@pytest.mark.parametrize("T", [3, 10, 50])
def test_rnn_hessian_against_jax(T):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(200 + T)
    args = _rnn_args(rng, T)
    expected = np.asarray(jax.hessian(rnn_jax, argnums=1)(*args))
    np.testing.assert_allclose(symdiff.hessian(rnn, wrt=1)(*args), expected, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("steps", [3, 10, 50])
def test_rk4_jacobian_seeds_every_tangent_at_once(steps):
    y0, k = np.array([0.3, -0.2]), 1.7
    J = symdiff.jacobian(rk4, wrt=(0, 1))
    jy, jk = J(y0, k, steps)
    np.testing.assert_allclose(jy, autograd.jacobian(rk4_autograd, 0)(y0, k, steps), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jk, autograd.jacobian(rk4_autograd, 1)(y0, k, steps), rtol=1e-10, atol=1e-12)
    loops = _loops(J.source)
    assert loops and set(loops) == {f"for _ in range({steps}):"}


def test_module_size_does_not_depend_on_the_trip_count(tmp_path):
    sizes = {}
    for kind in ("hessian", "jacobian", "hvp", "jvp"):
        for steps in (3, 50, 400):
            fn = pendulum if kind in ("hessian", "hvp") else rk4
            source = symdiff.export(fn, tmp_path / f"{kind}{steps}.py", kind=kind, wrt=("y0", "k"),
                                    shapes={"y0": (2,)}, static={"steps": steps})
            assert f"for _ in range({steps}):" in source
            sizes.setdefault(kind, set()).add(len(source.splitlines()))
        assert len(sizes[kind]) == 1 and max(sizes[kind]) < 400
    namespace: dict = {}
    exec(compile((tmp_path / "hessian400.py").read_text(), "hessian400.py", "exec"), namespace)
    y0 = np.array([0.3, -0.2])
    blocks = namespace["pendulum_hessian"](y0, 1.7, 400)
    expected = autograd.hessian(lambda y: pendulum_autograd(y, 1.7, 400))(y0)
    np.testing.assert_allclose(blocks[0][0], expected, rtol=1e-9, atol=1e-11)


def test_hessian_of_a_loop_invariant_weight_and_a_shifted_index():
    rng = np.random.default_rng(3)
    args = [0.7, rng.normal(size=6)]
    for wrt in (0, 1):
        h = symdiff.hessian(smoothing, wrt=wrt)
        expected = autograd.hessian(smoothing_autograd, argnum=wrt)(*args)
        np.testing.assert_allclose(h(*args), expected, rtol=1e-9, atol=1e-11)
        assert "for t in range(1, n_xs):" in h.source


def test_reverse_over_forward():
    rng = np.random.default_rng(4)
    args = _rnn_args(rng, 6)
    v = rng.normal(size=args[0].shape)

    def directional(W, U, b, x, h0):  # a jvp traced inside a gradient: reverse mode through its loops
        return symdiff.jvp(rnn, wrt=0)(W, U, b, x, h0, v)[1]
    g = symdiff.grad(directional, wrt=(0, 3))
    gW, gx = g(*args)
    H = autograd.hessian(rnn_autograd)(*args)
    np.testing.assert_allclose(gW, np.tensordot(H, v, 2), rtol=1e-9, atol=1e-11)
    Hx = autograd.jacobian(autograd.grad(rnn_autograd, 0), 3)(*args)
    np.testing.assert_allclose(gx, np.tensordot(v, Hx, ((0, 1), (0, 1))), rtol=1e-9, atol=1e-11)
    assert "for t in range(n_x0):" in g.source and "unrolled" not in g.graph


def test_gradient_of_a_gradient_through_a_loop():
    inner = symdiff.grad(smoothing, wrt="w")

    def outer(w, xs):  # reverse over reverse: the inner gradient's loops are unrolled in the enclosing trace
        return inner(w, xs) ** 2

    def outer_autograd(w, xs):
        return autograd.grad(smoothing_autograd, 0)(w, xs) ** 2
    args = [0.7, np.random.default_rng(5).normal(size=6)]
    got = symdiff.grad(outer, wrt=(0, 1))(*args)
    expected = autograd.grad(outer_autograd, (0, 1))(*args)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-11)


def test_reverse_mode_through_a_reverse_loop_and_forward_mode_through_a_loop_node():
    """IR level: a loop running backwards (as a gradient's does) differentiated in reverse mode runs forwards
    (its adjoint reads the next iteration's state at t - 1, the final one at row -1); its JVP is a loop
    carrying the tangent. Checked against the same recurrence written out in autograd."""
    import sympy as sp
    from symdiff.ad.backward import gradients
    from symdiff.ad.forward import jvp_nodes
    from symdiff.ir.graph import ARG
    from symdiff.ir.primitives import elementwise, gather, input_node
    from symdiff.ir.primitives.loop import loop_out, make_loop
    from symdiff.rewrite.simplify import PASSES
    from test_forward import to_function

    T = sp.Integer(5)
    w, x, s0, v = input_node("w", (), 0), input_node("x", (T,), 1), input_node("s0", (), 2), input_node("v", (), 3)
    t, s = input_node("t", (), -1, "int64"), input_node("s", (), -1)
    xt = gather(x, (("array", 0),), [t], ())
    pre = elementwise(ARG[0] * ARG[1] + ARG[2], (s, w, xt))
    new = elementwise(sp.tanh(ARG[0]), (pre,))  # (its adjoint reads the new value: 1 - new**2)
    loop = make_loop(t, [s], [s0], [new], [], 0, T, reverse=True)
    out = elementwise(ARG[0] ** 2, (loop_out(loop, 0),))
    grads = gradients(out, [w, x, s0])
    (dot,) = jvp_nodes([out], {id(w): v})
    f = to_function([w, x, s0, v], [out, *grads, dot], PASSES)  # (the passes: one forward loop for both)

    def reference(w, x, s0):
        s = s0
        for k in range(4, -1, -1):
            s = anp.tanh(s * w + x[k])
        return s ** 2
    rng = np.random.default_rng(6)
    args = [0.6, rng.normal(size=5) * 0.5, 0.3]
    value, dw, dx, ds0, slope = f(*args, 1.3)
    assert np.isclose(value, reference(*args))
    expected = autograd.grad(reference, (0, 1, 2))(*args)
    for got, e in zip((dw, dx, ds0), expected):
        np.testing.assert_allclose(got, e, rtol=1e-10, atol=1e-12)
    assert np.isclose(slope, 1.3 * expected[0], rtol=1e-10)
