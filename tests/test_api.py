"""The public API of the end-to-end pipeline, checked against closed forms written by hand."""
import os
import re

import numpy as np
import pytest

import symdiff
from symdiff.functions import binary_cross_entropy_with_logits
from symdiff.testing import check_grads


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def seed_loss(x, y, w, b):
    z = x @ w + b
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def seed_loss_tutorial(x, y, w, b):
    z = np.matmul(x, w) + b
    return binary_cross_entropy_with_logits(z, y)


@pytest.fixture
def seed_args():
    rng = np.random.default_rng(0)
    return np.ones(5), np.zeros(3), rng.standard_normal((5, 3)), rng.standard_normal(3)


def hand_seed(x, y, w, b):
    z = x @ w + b
    p = sigmoid(z)
    value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    dz = (p - y) / z.size
    return value, np.outer(x, dz), dz


@pytest.mark.parametrize("loss", [seed_loss, seed_loss_tutorial])
def test_seed_matches_closed_form(loss, seed_args):
    value, (dw, db) = symdiff.value_and_grad(loss, wrt=("w", "b"))(*seed_args)
    hv, hw, hb = hand_seed(*seed_args)
    np.testing.assert_allclose(value, hv, rtol=1e-12)
    np.testing.assert_allclose(dw, hw, rtol=1e-12)
    np.testing.assert_allclose(db, hb, rtol=1e-12)
    assert dw.shape == (5, 3) and db.shape == (3,) and dw.dtype == db.dtype == np.float64


def test_seed_gradient_is_the_closed_form_in_code(seed_args):
    g = symdiff.grad(seed_loss, wrt=("w", "b"))
    g(*seed_args)
    src = g.source
    assert "dw = x[:, None] * dz" in src  # the outer product x dz
    assert "db = dz" in src
    assert "dz = " in src and "/n_w1" in src.replace(" ", "")  # divided by the run-time size
    assert re.search(r"# Grad of: test_api\.py:\d+: z = x @ w \+ b", src), src


def test_seed_is_stable_at_extreme_logits():
    x, y = np.ones(2), np.array([1.0, 0.0, 1.0])
    w = np.array([[400.0, -400.0, -500.0], [400.0, -400.0, -500.0]])
    value, (dw, db) = symdiff.value_and_grad(seed_loss, wrt=("w", "b"))(x, y, w, np.zeros(3))
    assert np.isfinite(value) and np.all(np.isfinite(dw))
    np.testing.assert_allclose(db, [0.0, 0.0, -1.0 / 3.0], atol=1e-300)


def test_scalar_seed_example():
    def loss(w, x, b, target):
        z = w * x + b
        return (z - target) ** 2
    dw, db = symdiff.grad(loss, wrt=("w", "b"))(2.0, 3.0, 1.0, 4.0)
    z = 2.0 * 3.0 + 1.0
    assert dw == pytest.approx(2 * (z - 4.0) * 3.0) and db == pytest.approx(2 * (z - 4.0))


def test_wrt_forms(seed_args):
    x, y, w, b = seed_args
    _, hw, hb = hand_seed(*seed_args)
    np.testing.assert_allclose(symdiff.grad(seed_loss, wrt="w")(*seed_args), hw)
    np.testing.assert_allclose(symdiff.grad(seed_loss, wrt=2)(*seed_args), hw)
    dw, db = symdiff.grad(seed_loss, wrt=(2, "b"))(*seed_args)
    np.testing.assert_allclose(db, hb)
    one = symdiff.grad(seed_loss, wrt=("b",))(*seed_args)
    assert isinstance(one, tuple) and len(one) == 1
    dx = symdiff.grad(seed_loss)(*seed_args)  # default: the first argument
    np.testing.assert_allclose(dx, w @ hb)
    with pytest.raises(symdiff.TraceError, match="no argument 'q'"):
        symdiff.grad(seed_loss, wrt="q")


def test_decorator_and_keywords():
    @symdiff.grad(wrt="w")
    def f(w, x, scale=2.0):
        return np.sum(np.sin(w * x)) * scale
    w, x = np.array([0.1, 0.2]), np.array([1.0, 3.0])
    np.testing.assert_allclose(f(w, x), 2.0 * x * np.cos(w * x))
    np.testing.assert_allclose(f(w, x=x, scale=1.0), x * np.cos(w * x))


def test_one_compilation_serves_every_length(tmp_path):
    def f(x):
        return np.mean(x ** 2)
    g = symdiff.grad(f)
    for n in (5, 1000, 7):
        x = np.linspace(-1, 1, n)
        np.testing.assert_allclose(g(x), 2 * x / n)
    assert len(g._cache) == 1 and len(g._cache[next(iter(g._cache))]) == 1
    assert len(list((tmp_path / "symdiff-cache").glob("f_*.py"))) == 1


def test_broadcast_axis_gets_its_own_compilation():
    def f(a, b):
        return np.sum(a * b)
    g = symdiff.grad(f, wrt="a")
    b = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(g(np.ones((1, 3)), b), b.sum(axis=0, keepdims=True))
    np.testing.assert_allclose(g(np.ones((2, 3)), b), b)
    assert len(g._cache) == 2


def test_size_used_as_int_is_guarded():
    def f(x):
        ramp = np.arange(len(x)) * 1.0
        return np.sum(x * ramp)
    g = symdiff.grad(f)
    np.testing.assert_allclose(g(np.ones(3)), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(g(np.ones(4)), [0.0, 1.0, 2.0, 3.0])


def test_float32_in_float32_out():
    def f(w, x):
        return np.sum(np.tanh(x @ w))
    w = np.ones((3, 2), dtype=np.float32)
    x = np.ones(3, dtype=np.float32)
    assert symdiff.grad(f)(w, x).dtype == np.float32


def test_stop_gradient_is_detach():
    def f(w):
        return np.sum(symdiff.stop_gradient(w) * w)
    w = np.array([1.0, -2.0])
    np.testing.assert_allclose(symdiff.grad(f)(w), w)  # not 2 * w


def test_static_int_argument():
    def f(x, k):
        return np.sum(x ** k)
    g = symdiff.grad(f)
    x = np.array([1.5, 2.0])
    np.testing.assert_allclose(g(x, 2), 2 * x)
    np.testing.assert_allclose(g(x, 3), 3 * x ** 2)


def test_gradients_are_fresh_arrays():
    def f(a, b):
        return np.sum((a + b) ** 2) + np.sum(b * 0.0)
    da, db = symdiff.grad(f, wrt=("a", "b"))(np.ones(2), np.ones(2))
    assert da is not db and da.flags.writeable and db.flags.writeable
    da += 1
    np.testing.assert_allclose(db, [4.0, 4.0])


def test_constant_output_gradient_is_zero_float():
    def f(x, y):
        return np.sum(y)
    dx = symdiff.grad(f)(np.ones((2, 2)), np.ones(3))
    assert dx.dtype == np.float64 and dx.shape == (2, 2) and not dx.any()


def test_indexing_and_shape_attributes():
    def f(x):
        n = x.shape[0]
        head = x[0] * x[1:, None] + x[:, 0][:, None]
        return np.sum(head ** 2) / n + np.sum(x[..., -1]) * x.ndim + np.sum(x.T.reshape(-1)[2:]) / x.size
    check_grads(f, [np.random.default_rng(1).standard_normal((3, 4))])


def test_long_chain_is_linear_not_exponential():
    def f(x):
        y = x
        for _ in range(100):
            y = np.sin(y) * 0.5 + x
        return np.sum(y)
    check_grads(f, [np.array([0.3, -0.2, 0.1])])


def test_where_maximum_minimum():
    def f(z):
        return np.sum(np.where(z > 0, z, 0.1 * z) + np.minimum(z, 0.5) * np.maximum(z, -0.5))
    check_grads(f, [np.array([-1.3, -0.2, 0.3, 0.9])])


def test_non_scalar_output_suggests_jacobian():
    with pytest.raises(symdiff.NonScalarOutputError, match="jacobian"):
        symdiff.grad(lambda x: np.sin(x))(np.ones(3))


def test_unsupported_function_names_it_and_the_line():
    def f(x):
        return np.sum(np.unwrap(x))
    with pytest.raises(symdiff.UnsupportedError) as info:
        symdiff.grad(f)(np.ones(3))
    assert "np.unwrap" in str(info.value) and f"{os.path.basename(__file__)}:" in str(info.value)
    assert "symdiff.register" in str(info.value)


def test_branch_on_traced_value_is_decided_per_call():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x ** 2)
        return -np.sum(x)
    g = symdiff.grad(f)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(g(x), 2 * x)  # the first call takes the if side ...
    np.testing.assert_allclose(g(-x), [-1.0, -1.0])  # ... the cached code must not serve the else side


def test_loop_with_traced_condition_follows_the_values_up_to_a_limit(monkeypatch):
    """A while loop that does not roll (here: rolling is switched off, as for forward mode) follows the
    values' path, up to a limit of branches (tests/test_loops.py has the rolled while loops)."""
    monkeypatch.setattr("symdiff.pipeline.ROLLED_KINDS", ())
    def f(x):
        while np.sum(x) > 0:
            x = x - 0.5
        return np.sum(x * x)
    x = np.array([1.2, -0.3])  # one iteration: the decorator traces the path these values take
    np.testing.assert_allclose(symdiff.grad(f)(x), 2 * (x - 0.5))
    np.testing.assert_allclose(symdiff.grad(f)(x + 0.5), 2 * (x - 0.5))  # two iterations: code grown
    monkeypatch.setattr(symdiff.trace.tracer, "MAX_BRANCHES_FOLLOWED", 16)  # (256 by default: slow to reach here)
    with pytest.raises(symdiff.UnsupportedError, match="np.where"):
        symdiff.grad(f)(np.full(2, 10.0))  # 20 iterations: more than 16 branches on one path
    with pytest.raises(symdiff.UnsupportedError, match="np.where"):
        symdiff.export(f, "unused.py", shapes={"x": (2,)})  # no values to follow: every path, unbounded


def test_source_and_graph(seed_args):
    g = symdiff.grad(seed_loss, wrt=("w", "b"))
    with pytest.raises(symdiff.SymdiffError, match="call it once"):
        g.source
    g(*seed_args)
    assert "def seed_loss_grad(x, y, w, b):" in g.source
    assert "def seed_loss_value_and_grad(x, y, w, b):" in g.source
    assert "matmul x w" in g.graph and "traced graph" in g.graph and "gradient" in g.graph
    report = g.graph.split("simplification:")[1]
    assert "stability rewrites" in report and "softplus(_a0)" in report


def test_export_symbolic_shapes(tmp_path):
    path = tmp_path / "seed_grad.py"
    shapes = {"x": ("n",), "y": ("k",), "w": ("n", "k"), "b": ("k",)}
    src = symdiff.export(seed_loss, path, wrt=("w", "b"), shapes=shapes)
    assert path.read_text() == src
    namespace: dict = {}
    exec(compile(src, str(path), "exec"), namespace)
    rng = np.random.default_rng(3)
    args = (rng.standard_normal(7), (rng.random(4) > 0.5) * 1.0, rng.standard_normal((7, 4)), rng.standard_normal(4))
    value, (dw, db) = namespace["seed_loss_value_and_grad"](*args)
    hv, hw, hb = hand_seed(*args)
    np.testing.assert_allclose([value, *dw.ravel(), *db], [hv, *hw.ravel(), *hb], rtol=1e-12)


def test_export_error_leaves_no_file(tmp_path):
    path = tmp_path / "out.py"
    with pytest.raises(symdiff.ShapeError, match="do not match"):
        symdiff.export(seed_loss, path, wrt="w", shapes={"x": (3,), "y": ("m",), "w": (4, "k"), "b": ("k",)})
    assert list(tmp_path.iterdir()) == []


def test_against_torch_when_installed(seed_args):
    torch = pytest.importorskip("torch")
    x, y, w, b = (torch.tensor(a, requires_grad=i >= 2) for i, a in enumerate(seed_args))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y)
    loss.backward()
    dw, db = symdiff.grad(seed_loss_tutorial, wrt=("w", "b"))(*seed_args)
    np.testing.assert_allclose(dw, w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-12)


def test_matmul_inside_a_negative_product_keeps_its_parentheses():
    def f(w, x, v):
        return -3.0 * np.sum(w ** 2 * (x @ v))
    w, x, v = np.array([1.0, 2.0]), np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0, 0.5])
    np.testing.assert_allclose(symdiff.grad(f)(w, x, v), -6.0 * w * (x @ v))


def test_gradients_never_alias_arguments_or_constants():
    def f(x, w):
        return np.sum(x.T * w) + np.sum(w * np.array([[1.0, 2.0], [3.0, 4.0]]))
    x, w = np.ones((2, 2)), np.arange(4.0).reshape(2, 2)
    g = symdiff.grad(f, wrt=("x", "w"))
    dx, dw = g(x, w)
    assert not np.shares_memory(dx, w) and not np.shares_memory(dx, x)
    dw[0, 0] = 99.0
    np.testing.assert_allclose(g(x, w)[1], x.T + [[1.0, 2.0], [3.0, 4.0]])


def test_two_lambdas_of_one_file_are_not_confused(tmp_path):
    x = np.array([0.1, 0.2])
    f1 = lambda x: np.sum(np.sin(x))  # noqa: E731
    f2 = lambda x: np.sum(np.cos(x))  # noqa: E731
    np.testing.assert_allclose(symdiff.grad(f1)(x), np.cos(x))
    np.testing.assert_allclose(symdiff.grad(f2)(x), -np.sin(x))


def test_integer_powers_printed_as_products_keep_their_meaning():
    def f(x):
        return np.sum(2.0 / x ** 3 + x ** 5 - 1 / x ** 4 + (x + 1) ** 3)
    g = symdiff.grad(f)
    x = np.array([0.7, 1.3, 2.0])
    np.testing.assert_allclose(g(x), -6 / x ** 4 + 5 * x ** 4 + 4 / x ** 5 + 3 * (x + 1) ** 2, rtol=1e-13)
    code = [line for line in g.source.split("def f_grad")[1].splitlines() if not line.strip().startswith("#")]
    assert not re.search(r"\*\*(?!\s*2\b)", "\n".join(code))  # only NumPy's fast square is left as a power


def test_astype_to_int_is_refused_not_silently_ignored():
    with pytest.raises(symdiff.UnsupportedError, match="np.trunc"):
        symdiff.grad(lambda x: np.sum(x.astype(np.int32)))(np.array([0.5, 1.5]))
    np.testing.assert_allclose(symdiff.grad(lambda x: np.sum(x.astype(float) ** 2))(np.array([0.5, 1.5])), [1.0, 3.0])


def test_a_one_element_output_is_differentiated_as_its_value():
    """A keepdims=True reduction (shape (1,) or (1, 1)) is a scalar loss to grad, as autograd accepts it;
    the value comes back as that scalar."""
    x = np.array([0.5, -1.0, 2.0])
    g = symdiff.grad(lambda x: np.sum(x ** 2, keepdims=True))(x)
    np.testing.assert_allclose(g, 2 * x)
    X = np.arange(1.0, 4.0).reshape(1, 3)
    value, gX = symdiff.value_and_grad(lambda X: np.sum(np.sin(X), axis=1, keepdims=True))(X)
    assert np.isclose(value, np.sum(np.sin(X)))
    np.testing.assert_allclose(gX, np.cos(X))
    with pytest.raises(symdiff.NonScalarOutputError):
        symdiff.grad(lambda x: x ** 2)(x)  # three elements: still not a scalar


def test_size_names_of_two_arguments_never_collide():
    """w (2-d) axis 1 and w1 (1-d) axis 0 would both be n_w1: they are different sizes (NumPy computes this)."""
    def f(w, w1):
        return np.sum(w ** 2) + np.sum(np.sin(w1))
    w, w1 = np.ones((3, 4)), np.linspace(0.0, 1.0, 5)
    gw, gw1 = symdiff.grad(f, wrt=("w", "w1"))(w, w1)
    np.testing.assert_allclose(gw, 2 * w)
    np.testing.assert_allclose(gw1, np.cos(w1))
