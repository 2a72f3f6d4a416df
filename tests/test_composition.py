"""Transforms composed: a transformed function called inside another function being traced.

Every case is checked against central differences of the inner function called on plain arrays (the
inner derivative then comes from its own compiled module, not from the composed graph), and against a
closed form where there is a simple one.
"""
import inspect

import numpy as np
import pytest

import symdiff
from symdiff import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp

X = np.array([0.3, -0.5, 0.7])
C = np.array([1.0, 2.0, -3.0])
V = np.array([0.2, -1.1, 0.6])
W = np.array([0.4, -0.3])
M = np.array([[0.5, -1.0], [1.5, 0.2], [-0.7, 0.9]])


def g(x, c):
    return np.sum(np.sin(x) * c)


def cube(x):
    return np.sum(np.sin(x) ** 3)


def dcube(x):
    return 3 * np.sin(x) ** 2 * np.cos(x)


def poly(t):
    return t ** 5


def branchy(x):
    if np.sum(x) > 0:
        return np.sum(x ** 3)
    return np.sum(np.exp(x))


def tanh_model(w, A):
    return np.sum(np.tanh(A @ w))


def with_aux(x):
    return np.sum(x ** 4), np.sum(x)


def scaled(x, *, lam=0.5):
    return lam * np.sum(x ** 3)


def _outer_closure(x):
    h = grad(lambda y: np.sum(x * y ** 2))  # x is a traced value of the enclosing trace
    return np.sum(h(x))


def _outer_closure_vector(x):
    return grad(lambda y: np.sum(np.cos(x) * y ** 3))(x)


def _vg(x):
    v, d = value_and_grad(cube)(x)
    return v + np.sum(d * x)


def _hvp_in(x, v):
    return np.sum(hvp(cube)(x, v) ** 2)


def _jvp_in(x, v):
    value, tangent = jvp(cube)(x, v)
    return value * tangent


def _vjp_in(x, c):
    value, pulled = vjp(lambda y: np.sin(y) * y)(x, c)
    return np.sum(pulled ** 2) + np.sum(value)


def _aux_in(x):
    d, total = grad(with_aux, has_aux=True)(x)
    return np.sum(d * total)


def _three(t):
    return grad(grad(poly))(t)


# name, transformed function of the composition, the plain function it differentiates, arguments,
# wrt positions, closed form of the result (or None)
CASES = [
    ("jacobian(grad(g)), two arguments of unified sizes", jacobian(grad(g)), grad(g), (X, C), (0,),
     lambda x, c: np.diag(-np.sin(x) * c)),
    ("jacobian(grad(g)) wrt both", jacobian(grad(g), wrt=(0, 1)), grad(g), (X, C), (0, 1),
     lambda x, c: (np.diag(-np.sin(x) * c), np.diag(np.cos(x)))),
    ("grad of sum of grad(g)", grad(lambda x, c: np.sum(grad(g)(x, c)), wrt=(0, 1)),
     lambda x, c: np.sum(grad(g)(x, c)), (X, C), (0, 1), lambda x, c: (-np.sin(x) * c, np.cos(x))),
    ("grad of grad(g, wrt=c)", grad(lambda x, c: np.sum(grad(g, wrt="c")(x, c) * c)),
     lambda x, c: np.sum(grad(g, wrt="c")(x, c) * c), (X, C), (0,), lambda x, c: np.cos(x) * c),
    ("grad(g) of an expression s * s", grad(lambda s: np.sum(grad(cube)(s * s))), lambda s: np.sum(grad(cube)(s * s)),
     (X,), (0,), None),
    ("grad(g) of an element x[1]", grad(lambda x: grad(cube)(x[1])), lambda x: grad(cube)(x[1]), (X,), (0,),
     lambda x: np.array([0.0, 3 * (2 * np.sin(x[1]) * np.cos(x[1]) ** 2 - np.sin(x[1]) ** 3), 0.0])),
    ("grad(g) of a slice x[1:]", grad(lambda x: np.sum(grad(cube)(x[1:]) * x[:-1])),
     lambda x: np.sum(grad(cube)(x[1:]) * x[:-1]), (X,), (0,), None),
    ("the same value as two arguments", grad(lambda x: np.sum(grad(g)(x, x))), lambda x: np.sum(grad(g)(x, x)),
     (X,), (0,), lambda x: -np.sin(x) * x + np.cos(x)),
    ("scalar float argument", grad(lambda t: grad(poly)(t) * t), lambda t: grad(poly)(t) * t, (0.7,), (0,),
     lambda t: 25 * t ** 4),
    ("grad(grad(grad(f)))", grad(_three), _three, (0.7,), (0,), lambda t: 60 * t ** 2),
    ("closure over a traced value", grad(_outer_closure), _outer_closure, (X,), (0,), lambda x: 4 * x),
    ("closure, vector result, jacobian", jacobian(_outer_closure_vector), _outer_closure_vector, (X,), (0,),
     lambda x: np.diag(-np.sin(x) * 3 * x ** 2 + np.cos(x) * 6 * x)),
    ("grad of value_and_grad", grad(_vg), _vg, (X,), (0,), lambda x: 2 * dcube(x) + x * (
        6 * np.sin(x) * np.cos(x) ** 2 - 3 * np.sin(x) ** 3)),
    ("hessian of a function of grad", hessian(lambda x, c: np.sum(grad(g)(x, c) ** 2)),
     grad(lambda x, c: np.sum(grad(g)(x, c) ** 2)), (X, C), (0,), None),
    ("hvp inside grad", grad(_hvp_in, wrt=(0, 1)), _hvp_in, (X, V), (0, 1), None),
    ("jvp inside grad", grad(_jvp_in, wrt=(0, 1)), _jvp_in, (X, V), (0, 1), None),
    ("vjp inside grad", grad(_vjp_in, wrt=(0, 1)), _vjp_in, (X, C), (0, 1), None),
    ("branch inside the inner function", grad(lambda x: np.sum(grad(branchy)(x - 10.0))),
     lambda x: np.sum(grad(branchy)(x - 10.0)), (X,), (0,), lambda x: np.exp(x - 10.0)),
    ("matrix sizes unified inside", jacobian(grad(tanh_model)), grad(tanh_model), (W, M), (0,),
     lambda w, A: (A.T * (-2 * np.tanh(A @ w) * (1 - np.tanh(A @ w) ** 2))) @ A),
    ("has_aux inside grad", grad(_aux_in), _aux_in, (X,), (0,), None),
    ("keyword-only parameter inside", grad(lambda x: np.sum(grad(scaled)(x, lam=2.0))),
     lambda x: np.sum(grad(scaled)(x, lam=2.0)), (X,), (0,), lambda x: 12 * x),
]


def _slope(fn, args, i, v, eps=1e-5):
    plus, minus = list(args), list(args)
    plus[i] = args[i] + eps * v
    minus[i] = args[i] - eps * v
    return (np.asarray(fn(*plus)) - np.asarray(fn(*minus))) / (2 * eps)


@pytest.mark.parametrize("name, transformed, plain, args, wrt, closed", CASES, ids=[c[0] for c in CASES])
def test_composition_matches_central_differences(name, transformed, plain, args, wrt, closed):
    result = transformed(*args)
    parts = list(result) if len(wrt) > 1 else [result]
    rng = np.random.default_rng(1)
    for i, part in zip(wrt, parts):
        arg = np.asarray(args[i], dtype=float)
        part = np.asarray(part)
        out_shape = np.shape(plain(*args))
        assert part.shape == out_shape + arg.shape
        for _ in range(3):
            v = rng.standard_normal(arg.shape)
            analytic = np.tensordot(part, v, axes=arg.ndim) if arg.ndim else part * v
            numeric = _slope(plain, args, i, v if arg.ndim else float(v))
            np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)
    if closed is not None:
        expected = closed(*args)
        expected = list(expected) if len(wrt) > 1 else [expected]
        for part, e in zip(parts, expected):
            np.testing.assert_allclose(part, e, rtol=1e-10, atol=1e-12)


def test_closure_is_a_constant_to_the_inner_gradient():
    """JAX's semantics: the inner grad does not differentiate the closure, the outer one does."""
    def outer(x):
        return np.sum(grad(lambda y: np.sum(x * y ** 2))(2.0 * x))  # inner: 2 * x * y = 4 x**2
    np.testing.assert_allclose(grad(outer)(X), 8 * X, rtol=1e-12)


def test_branch_conditions_of_the_inner_function_follow_its_arguments():
    """The inner function's condition is on its own argument (x - 10 < 0 here), not on the enclosing x
    of the same name: both sides of the enclosing value are checked."""
    f = grad(lambda x: np.sum(grad(branchy)(x - 10.0)))
    np.testing.assert_allclose(f(X), np.exp(X - 10.0), rtol=1e-10)
    big = X + 10.0
    np.testing.assert_allclose(f(big), 6 * (big - 10.0), rtol=1e-10)


def test_export_of_a_composition_with_named_sizes(tmp_path):
    text = symdiff.export(grad(g), tmp_path / "jg.py", kind="jacobian", shapes={"x": "n", "c": "n"})
    namespace = {}
    exec(compile(text, "jg.py", "exec"), namespace)
    x, c = np.linspace(-1, 1, 5), np.linspace(2, 3, 5)
    np.testing.assert_allclose(namespace["g_jacobian"](x, c), np.diag(-np.sin(x) * c), rtol=1e-12)


def test_composition_refuses_a_static_wrt_argument():
    with pytest.raises(symdiff.TraceError, match="static"):
        grad(lambda x: np.sum(x) * grad(lambda n, y: n * np.sum(y))(3, x))(X)


def test_transforms_with_directions_compose_and_name_them():
    h = hvp(cube)
    assert str(inspect.signature(h)) == "(x, v)"
    assert str(inspect.signature(jvp(g, wrt=(0, 1)))) == "(x, c, x_dot, c_dot)"
    np.testing.assert_allclose(jacobian(h, wrt="v")(X, V), hessian(cube)(X), rtol=1e-12)
    third = jacobian(h)(X, V)  # d/dx (H(x) v): diagonal, d3 cube / dx3 times v
    s, c = np.sin(X), np.cos(X)
    np.testing.assert_allclose(third, np.diag((6 * c ** 3 - 21 * s ** 2 * c) * V), rtol=1e-10)
    np.testing.assert_allclose(jacobian(lambda x, t: vjp(np.sin)(x, t)[1], wrt=1)(X, C), np.diag(np.cos(X)),
                               rtol=1e-12)


def test_value_and_grad_with_aux_inside_grad():
    def outer(x):
        (value, total), d = value_and_grad(with_aux, has_aux=True)(x)
        return value * total + np.sum(d)
    expected = 4 * X ** 3 * np.sum(X) + np.sum(X ** 4) + 12 * X ** 2
    np.testing.assert_allclose(grad(outer)(X), expected, rtol=1e-12)


def _branchy_outer(x):
    return np.sum(grad(branchy)(x - 1.0))


def test_export_traces_both_sides_of_a_branch_inside_a_composed_function(tmp_path):
    text = symdiff.export(_branchy_outer, tmp_path / "b.py", shapes={"x": "n"})
    namespace: dict = {}
    exec(compile(text, "b.py", "exec"), namespace)
    for x in (X, X + 3.0):  # sum(x - 1) < 0, then > 0
        inner = x - 1.0
        expected = np.exp(inner) if np.sum(inner) <= 0 else 6 * inner
        np.testing.assert_allclose(namespace["_branchy_outer_grad"](x), expected, rtol=1e-12)


MORE = [
    ("elementwise_grad of a ufunc inside grad", grad(lambda x: np.sum(symdiff.elementwise_grad(np.tanh)(x) * x)),
     lambda x: np.sum(symdiff.elementwise_grad(np.tanh)(x) * x), (X,), (0,),
     lambda x: (1 - np.tanh(x) ** 2) - 2 * x * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    ("jacobian of grad of a function of grad", jacobian(grad(lambda x: np.sum(grad(cube)(x) ** 2))),
     grad(lambda x: np.sum(grad(cube)(x) ** 2)), (X,), (0,), None),
    ("grad of the sum of a hessian", grad(lambda x: np.sum(hessian(cube)(x))), lambda x: np.sum(hessian(cube)(x)),
     (X,), (0,), lambda x: 6 * np.cos(x) ** 3 - 21 * np.sin(x) ** 2 * np.cos(x)),
    ("jacobian of hessian", jacobian(hessian(cube)), hessian(cube), (X,), (0,), None),
]


@pytest.mark.parametrize("name, transformed, plain, args, wrt, closed", MORE, ids=[c[0] for c in MORE])
def test_more_compositions(name, transformed, plain, args, wrt, closed):
    test_composition_matches_central_differences(name, transformed, plain, args, wrt, closed)
