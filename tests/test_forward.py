"""Forward mode (symdiff.ad.forward): Jacobians, JVPs, Hessian-vector products and Hessians.

Graphs come from tracing plain NumPy functions (or, for primitives no NumPy function reaches yet,
from the primitive builders); tangent nodes are printed by the code generator into a function
that is exec'd and compared with central finite differences of plain NumPy code.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdiff import pipeline as compiler
from symdiff.backends.numpy.codegen import ModuleText, NodePrinter
from symdiff.errors import UnsupportedError
from symdiff.ad.forward import JVP_RULES, hessian_nodes, hvp_nodes, identity, jacobian_nodes, jvp_nodes
from symdiff.ir.graph import ARG, Node, toposort
from symdiff.numpy.core import as_node
from symdiff.ir.primitives import (PRIMITIVES, concatenate, cumsum, diag_embed, diagonal, einsum, elementwise,
                                flip, full_like, input_node, outer, reduce, roll, slice_axis)
from symdiff.rewrite.simplify import FORWARD_PASSES, PASSES, run
from symdiff.runtime.specs import ArgSpec
from symdiff.trace.run import trace
from symdiff.trace.tracer import Trace

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- harness -------------------------

def traced(fn, **shapes):
    """Trace ``fn`` on arrays of the given shapes (keyword order = parameter order), as the compiler does."""
    specs = [ArgSpec(name, tuple(shape)) for name, shape in shapes.items()]
    tr = Trace()
    args = compiler._input_nodes(specs, tr)
    out = as_node(trace(fn, args, tr))
    out, *inputs = tr.finish([out, *[a.node for a in args]])
    return out, inputs


def to_function(inputs: list[Node], outputs: list[Node], passes=()):
    """Print ``outputs`` (None: zeros are not printed, the caller handles them) as ``f(*inputs)``."""
    outputs = run(outputs, passes)
    params = [n.param("name") for n in inputs]
    sizes = {}
    for n in inputs:
        for axis, d in enumerate(n.shape):
            if isinstance(d, sp.Symbol) and d not in sizes:
                sizes[d] = f"{n.param('name')}.shape[{axis}]"
    module = ModuleText(reserved=set(params))
    module.name_constants(toposort(outputs))
    labels = [f"out{k}" for k in range(len(outputs))]
    body = NodePrinter(module, params, sizes).body(outputs, labels, "return [" + ", ".join(
        "{%d}" % k for k in range(len(outputs))) + "]")
    lines = ["import numpy as np"] + (["import scipy.linalg"] if any("scipy.linalg." in b for b in body) else [])
    lines += [f"{name} = {code}" for name, code in module.constants]
    lines += module.helpers.sources() + [f"def f({', '.join(params)}):"] + ["    " + line for line in body]
    source = "\n".join(lines)
    namespace: dict = {}
    exec(compile(source, "<forward-test>", "exec"), namespace)
    fn = namespace["f"]
    fn.source = source
    return lambda *args: [np.asarray(r, dtype=float) for r in fn(*args)]


def fd_jacobian(f, args, k, h=1e-6):
    """Central differences of ``f(*args)`` (an array) with respect to ``args[k]``: shape out + arg."""
    x = np.asarray(args[k], dtype=float)
    out = np.asarray(f(*args))
    jac = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        plus, minus = list(args), list(args)
        plus[k], minus[k] = x + e, x - e
        jac[(Ellipsis, *idx)] = (np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * h)
    return jac


def sample(shapes, positive=False):
    return [RNG.uniform(0.5, 1.5, s) if positive else RNG.normal(size=s) for s in shapes.values()]


def check_jacobian(fn, wrt, shapes, positive=False, passes=()):
    out, inputs = traced(fn, **shapes)
    k = list(shapes).index(wrt)
    jac = jacobian_nodes(out, inputs[k])
    assert jac.shape == out.shape + inputs[k].shape
    args = sample(shapes, positive)
    (got,) = to_function(inputs, [jac], passes)(*args)
    np.testing.assert_allclose(got, fd_jacobian(fn, args, k), rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- Jacobians of traced functions --

JACOBIANS = [
    # elementwise, with broadcasting both ways and inputs of lower rank than the result
    (lambda x, y: np.sin(x)[:, None] * y + np.exp(x[:, None] - y), "x", {"x": (3,), "y": (4,)}),
    (lambda x, y: np.sin(x)[:, None] * y + np.exp(x[:, None] - y), "y", {"x": (3,), "y": (4,)}),
    (lambda x, a: np.tanh(a * x + 1.0) / (1.0 + x ** 2), "x", {"x": (3,), "a": (2, 3)}),
    (lambda x, a: np.tanh(a * x + 1.0) / (1.0 + x ** 2), "a", {"x": (3,), "a": (2, 3)}),
    (lambda s, a: np.log(a) * s ** 2, "s", {"s": (), "a": (2, 3)}),
    (lambda x: np.maximum(x, 0.3) * np.abs(x) + np.where(x > 0, x ** 3, -x), "x", {"x": (5,)}),
    (lambda x: x, "x", {"x": (2, 3)}),
    # matmul in every arrangement of vectors, matrices and stacks
    (lambda a, x: np.tanh(a @ x), "x", {"a": (2, 3), "x": (3,)}),
    (lambda a, x: np.tanh(a @ x), "a", {"a": (2, 3), "x": (3,)}),
    (lambda x, a: x @ a, "x", {"x": (2,), "a": (2, 3)}),
    (lambda x, a: (x * x) @ a, "a", {"x": (2,), "a": (2, 3)}),
    (lambda x: np.sin(x) @ x, "x", {"x": (4,)}),
    (lambda a, b: np.sin(a @ b), "a", {"a": (2, 3), "b": (3, 4)}),
    (lambda a, b: np.sin(a @ b), "b", {"a": (2, 3), "b": (3, 4)}),
    (lambda a, b: a @ (b * b), "b", {"a": (2, 2, 3), "b": (3, 4)}),
    (lambda a, b: (a * a) @ b, "a", {"a": (2, 2, 3), "b": (3, 4)}),
    (lambda x, b: x @ b, "x", {"x": (3,), "b": (2, 3, 4)}),
    (lambda a, x: a @ np.cos(x), "x", {"a": (2, 2, 3), "x": (3,)}),
    # reductions
    (lambda a: np.sum(a ** 2, axis=0), "a", {"a": (3, 4)}),
    (lambda a: np.mean(np.sin(a), axis=1, keepdims=True), "a", {"a": (3, 4)}),
    (lambda a: np.sum(a * a), "a", {"a": (3, 4)}),
    (lambda a: np.max(a * np.cos(a), axis=1), "a", {"a": (3, 4)}),
    (lambda a: np.min(a, axis=0, keepdims=True), "a", {"a": (3, 4)}),
    # shape and indexing
    (lambda a: np.reshape(a * a, (6,)), "a", {"a": (2, 3)}),
    (lambda a, b: np.transpose(a) * b, "a", {"a": (3, 2), "b": (2, 3)}),
    (lambda a: np.transpose(np.sin(a), (1, 2, 0)), "a", {"a": (2, 3, 4)}),
    (lambda x: x[1:] * x[:-1], "x", {"x": (5,)}),
    (lambda a: a[0, 1:] - a[1:, 0] ** 2, "a", {"a": (3, 3)}),
    (lambda x: x[:, None] * x[None, :], "x", {"x": (4,)}),
]


@pytest.mark.parametrize("fn, wrt, shapes", JACOBIANS)
def test_jacobian(fn, wrt, shapes):
    check_jacobian(fn, wrt, shapes)


def test_jacobian_with_passes():
    check_jacobian(lambda a, x: 1 / (1 + np.exp(-(a @ x))) * np.sum(x ** 2), "x", {"a": (4, 3), "x": (3,)},
                   passes=PASSES)


def test_jacobian_at_other_sizes():
    """Sizes stay symbolic: the identity and every tangent read them at run time."""
    out, (a, x) = traced(lambda a, x: np.tanh(a @ x) * x[0], a=(4, 3), x=(3,))
    f = to_function([a, x], [jacobian_nodes(out, x)])
    av, xv = RNG.normal(size=(6, 5)), RNG.normal(size=5)
    np.testing.assert_allclose(f(av, xv)[0], fd_jacobian(lambda a, x: np.tanh(a @ x) * x[0], [av, xv], 1),
                               rtol=1e-6, atol=1e-7)


def test_jacobian_of_independent_output_is_zero():
    out, (x, y) = traced(lambda x, y: np.sin(y), x=(2,), y=(3,))
    assert jvp_nodes([out], {id(x): identity(x.shape)}, x.shape) == [None]
    jac = jacobian_nodes(out, x)
    assert jac.shape == (y.shape[0], x.shape[0])
    (got,) = to_function([x, y], [jac])(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(got, np.zeros((3, 2)))


# ---------------------------------------------------------------- primitives built directly ------

def _n(*shape):
    return tuple(sp.Integer(d) for d in shape)


def _direct_cases():
    """(inputs, output node, plain NumPy function): primitives that tracing does not reach yet."""
    x, y = input_node("x", _n(3), 0), input_node("y", _n(4), 1)
    a = input_node("a", _n(2, 3), 0)
    m = input_node("m", _n(3, 3), 0)
    sq = lambda n: elementwise(ARG[0] ** 2, (n,))  # noqa: E731
    return [
        ([x, y], outer(sq(x), elementwise(sp.sin(ARG[0]), (y,))),
         lambda x, y: np.outer(x ** 2, np.sin(y))),
        ([x, y], full_like(y, reduce("sum", sq(x))), lambda x, y: np.full_like(y, np.sum(x ** 2))),
        ([a, x], einsum((sq(a), elementwise(sp.cos(ARG[0]), (x,))), ("ij", "j"), "ji"),
         lambda a, x: np.einsum("ij,j->ji", a ** 2, np.cos(x))),
        ([a], cumsum(sq(a), 1), lambda a: np.cumsum(a ** 2, axis=1)),
        ([a], flip(sq(a), (0, 1)), lambda a: np.flip(a ** 2, (0, 1))),
        ([a], roll(sq(a), (1,), (1,)), lambda a: np.roll(a ** 2, 1, 1)),
        ([a], slice_axis(sq(a), 1, 1, 3), lambda a: (a ** 2)[:, 1:3]),
        ([a, x], concatenate([sq(a), elementwise(sp.exp(ARG[0]), (a,))], 0),
         lambda a, x: np.concatenate([a ** 2, np.exp(a)], 0)),
        ([m], diagonal(sq(m), 1, 0, 1, sp.Integer(2)), lambda m: np.diagonal(m ** 2, 1)),
        ([x], diag_embed(sq(x), _n(3, 3), 0, 0, 1), lambda x: np.diag(x ** 2)),
        ([a], reduce("prod", elementwise(ARG[0] + 2, (a,)), axis=1), lambda a: np.prod(a + 2, axis=1)),
    ]


@pytest.mark.parametrize("case", range(len(_direct_cases())))
def test_jacobian_of_primitive(case):
    inputs, out, fn = _direct_cases()[case]
    args = [RNG.normal(size=tuple(int(d) for d in n.shape)) for n in inputs]
    f = to_function(inputs, [jacobian_nodes(out, w) for w in inputs])
    for k, got in enumerate(f(*args)):
        np.testing.assert_allclose(got, fd_jacobian(fn, args, k), rtol=1e-6, atol=1e-7)


def test_every_primitive_has_a_rule():
    leaves = {"input", "const"}
    assert set(PRIMITIVES) - leaves <= set(JVP_RULES)


# ---------------------------------------------------------------- JVPs and HVPs -------------------

def test_jvp_is_jacobian_times_direction():
    fn = lambda a, x: np.tanh(a @ x) * np.sum(x ** 3)  # noqa: E731
    out, (a, x) = traced(fn, a=(4, 3), x=(3,))
    v = input_node("v", x.shape, 2)
    (t,) = jvp_nodes([out], {id(x): v}, ())
    av, xv, vv = RNG.normal(size=(4, 3)), RNG.normal(size=3), RNG.normal(size=3)
    (got,) = to_function([a, x, v], [t])(av, xv, vv)
    np.testing.assert_allclose(got, fd_jacobian(fn, [av, xv], 1) @ vv, rtol=1e-6, atol=1e-7)


def grad_function(fn, wrt, shapes, extra=()):
    """The traced graph run through the forward passes, its gradient, and a function printing them."""
    out, inputs = traced(fn, **shapes)
    (out,) = run([out], FORWARD_PASSES)
    w = inputs[list(shapes).index(wrt)]
    return out, inputs, w


HVPS = [
    (lambda x: np.sum(np.sin(x) * x ** 2) + x[0] * x[1] * x[2], "x", {"x": (4,)}),
    (lambda w, x, y: np.mean((np.tanh(x @ w) - y) ** 2), "w", {"w": (3, 2), "x": (5, 3), "y": (5, 2)}),
    (lambda x: np.sum(np.max(np.exp(np.reshape(x, (2, 3))) * x[0], axis=1)), "x", {"x": (6,)}),
    (lambda a: np.sum(np.transpose(a) @ a * a[:2, 0]) + np.sum(a[1:, :] ** 3), "a", {"a": (3, 2)}),
]


@pytest.mark.parametrize("passes", [(), PASSES], ids=["raw", "passes"])
@pytest.mark.parametrize("case", range(len(HVPS)))
def test_hvp(case, passes):
    fn, wrt, shapes = HVPS[case]
    out, inputs, w = grad_function(fn, wrt, shapes)
    v = input_node("v", w.shape, len(inputs))
    g, hv = hvp_nodes(out, w, v)
    grad = to_function(inputs, [g])
    f = to_function([*inputs, v], [g, hv], passes)
    args = sample(shapes)
    k = list(shapes).index(wrt)
    vv = RNG.normal(size=args[k].shape)
    h = 1e-6
    plus, minus = list(args), list(args)
    plus[k], minus[k] = args[k] + h * vv, args[k] - h * vv
    expected = (grad(*plus)[0] - grad(*minus)[0]) / (2 * h)
    got_g, got_hv = f(*args, vv)
    np.testing.assert_allclose(got_g, grad(*args)[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_hv, expected, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- Hessians ------------------------

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def logistic(w, x, y):
    p = 1 / (1 + np.exp(-(x @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.05 * np.sum(w ** 2)


def check_hessian(fn, wrt, shapes, args, passes=PASSES):
    out, inputs, w = grad_function(fn, wrt, shapes)
    g, hess = hessian_nodes(out, w)
    assert hess.shape == w.shape + w.shape
    f = to_function(inputs, [g, hess], passes)
    k = list(shapes).index(wrt)
    got_g, got_h = f(*args)
    grad = lambda *a: f(*a)[0]  # noqa: E731
    np.testing.assert_allclose(got_h, fd_jacobian(grad, args, k), rtol=1e-6, atol=1e-6)
    n = int(np.size(args[k]))
    flat = got_h.reshape(n, n)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12, atol=1e-12)
    return got_h


@pytest.mark.parametrize("passes", [(), PASSES], ids=["raw", "passes"])
def test_hessian_rosenbrock(passes):
    x = np.array([-1.2, 1.0, 0.5, 2.0, -0.3])
    got = check_hessian(rosenbrock, "x", {"x": (5,)}, [x], passes)
    expected = np.zeros((5, 5))  # closed form
    for i in range(4):
        expected[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        expected[i + 1, i + 1] += 200
        expected[i, i + 1] = expected[i + 1, i] = -400 * x[i]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("passes", [(), PASSES], ids=["raw", "passes"])
def test_hessian_logistic_regression(passes):
    x, y = RNG.normal(size=(8, 3)), (RNG.uniform(size=8) > 0.5).astype(float)
    w = RNG.normal(size=3)
    got = check_hessian(logistic, "w", {"w": (3,), "x": (8, 3), "y": (8,)}, [w, x, y], passes)
    p = 1 / (1 + np.exp(-(x @ w)))
    expected = x.T @ (x * (p * (1 - p))[:, None]) / 8 + 0.1 * np.eye(3)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_hessian_with_respect_to_a_matrix():
    shapes = {"w": (3, 2), "x": (4, 3)}
    args = [RNG.normal(size=(3, 2)), RNG.normal(size=(4, 3))]
    check_hessian(lambda w, x: np.sum(np.tanh(x @ w) ** 2) + np.sum(w[0] * w[1]), "w", shapes, args)


def test_hessian_of_kinks():
    """Second derivatives of abs and maximum are taken almost everywhere (Dirac deltas are 0)."""
    x = np.array([-1.5, -0.2, 0.7, 1.3])
    got = check_hessian(lambda x: np.sum(np.abs(x) * x + np.maximum(x, 0) ** 3), "x", {"x": (4,)}, [x])
    np.testing.assert_allclose(got, np.diag(2 * np.sign(x) + 6 * np.maximum(x, 0)), rtol=1e-12)


def test_hessian_with_respect_to_a_scalar():
    args = [0.7, RNG.normal(size=(2, 3))]
    got = check_hessian(lambda s, a: np.sum(np.sin(s * a) * s), "s", {"s": (), "a": (2, 3)}, args)
    s, a = args
    np.testing.assert_allclose(got, np.sum(2 * a * np.cos(s * a) - s * a ** 2 * np.sin(s * a)), rtol=1e-12)


def test_hessian_at_other_sizes():
    out, (x,) = traced(rosenbrock, x=(5,))
    g, hess = hessian_nodes(run([out], FORWARD_PASSES)[0], x)
    f = to_function([x], [hess], PASSES)
    xv = RNG.normal(size=7)
    grad = to_function([x], [g])
    np.testing.assert_allclose(f(xv)[0], fd_jacobian(lambda x: grad(x)[0], [xv], 0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", range(len(_direct_cases())))
def test_hessian_through_primitive(case):
    """Hessian of ``sum(sin(out))`` for each directly built primitive: the gradient graph holds their
    adjoints (slice_axis, diag_embed, flip, ...), so their JVP rules run with batch axes too."""
    inputs, out, _ = _direct_cases()[case]
    w = inputs[0]
    loss = reduce("sum", elementwise(sp.sin(ARG[0]), (out,)))
    g, hess = hessian_nodes(loss, w)
    f = to_function(inputs, [g, hess])
    args = [RNG.normal(size=tuple(int(d) for d in n.shape)) for n in inputs]
    got_g, got_h = f(*args)
    np.testing.assert_allclose(got_h, fd_jacobian(lambda *a: f(*a)[0], args, 0), rtol=1e-6, atol=1e-6)
    flat = got_h.reshape(got_g.size, got_g.size)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-10, atol=1e-12)


def test_unknown_primitive_is_reported():
    x = input_node("x", _n(3), 0)
    odd = Node("no_such_op", (x,), x.shape)
    with pytest.raises(UnsupportedError, match="no_such_op"):
        jvp_nodes([odd], {id(x): x}, ())


# ---------------------------------------------------------------- every registered NumPy function -

def _registry_cases():
    from symdiff.numpy.core import REGISTRY, SPECIAL_FORMS
    # (forward mode through an ODE solve is refused, as tests/test_odeint.py checks)
    return [(func, entry, case) for table in (REGISTRY, SPECIAL_FORMS) for func, entry in table.items()
            for case in entry.cases if not entry.name.startswith("integrate.")]


def _registry_sample(rng, entry, shape):
    """As tests/test_registry.py: inside the entry's domain, away from kinks and ties."""
    if entry.sample is not None:
        return np.asarray(entry.sample(rng, shape), dtype=float)
    x = rng.uniform(*entry.domain, size=shape)
    if entry.name in ("abs", "absolute", "fabs", "maximum", "minimum", "fmax", "fmin", "max", "amax", "min", "amin",
                      "ptp", "clip", "where", "greater", "less", "greater_equal", "less_equal", "equal", "not_equal"):
        n = max(int(np.prod(shape)), 1)
        x = ((rng.permutation(n) - n / 2 + 0.5 + rng.uniform(-0.05, 0.05)) * 0.37).reshape(shape)
    return np.asarray(x, dtype=float)


REGISTRY_CASES = _registry_cases()


@pytest.mark.parametrize("item", REGISTRY_CASES, ids=[
    f"{e.name}-{'x'.join(str(s) for s in shapes)}-{dict(kw)}" for _, e, (shapes, kw) in REGISTRY_CASES])
def test_hessian_through_registry(item):
    """Hessian of ``sum(weights * sin(func(...)))`` with respect to each argument, for every function
    the tracer knows: first-order tangents of the function itself and second-order ones of its adjoint."""
    func, entry, (shapes, kwargs) = item
    kwargs = dict(kwargs)
    rng = np.random.default_rng(3)
    args = [_registry_sample(rng, entry, s) for s in shapes]
    if entry.differentiable:
        weights = rng.standard_normal(np.shape(entry.invoke(func, args, kwargs)))

        def body(*xs):
            return np.sum(np.sin(entry.invoke(func, list(xs), kwargs)) * weights)
    else:
        def body(*xs):
            return np.sum(np.where(entry.invoke(func, list(xs), kwargs), xs[0] * xs[1] ** 2, xs[0] + 2 * xs[1]))
    names = "abc"[:len(args)]
    fn = eval(f"lambda {', '.join(names)}: body({', '.join(names)})", {"body": body})
    out, inputs = traced(fn, **{n: s for n, s in zip(names, shapes)})
    (out,) = run([out], FORWARD_PASSES)
    for k, w in enumerate(inputs):
        g, hess = hessian_nodes(out, w)
        f = to_function(inputs, [g, hess])
        got_g, got_h = f(*args)
        expected = fd_jacobian(lambda *a: f(*a)[0], args, k, h=1e-5)
        np.testing.assert_allclose(got_h, expected, rtol=1e-5, atol=1e-5, err_msg=f"argument {k}")
