"""Trust: no silent wrong answer at the edges of NumPy's domain.

Simplification must not widen the domain: where the user's NumPy function gives NaN, so do the
value and the gradient of the generated code (SymPy's ``exp(log(x)) == x`` holds in the complex
numbers, not in NumPy's reals). Every expected value comes from NumPy itself or central differences.
"""
import warnings

import numpy as np
import pytest

import symdiff

# elementwise h: f(x) = sum(h(x)); the points are outside, on the edge and inside the domain
DOMAIN_CASES = {
    "exp(log(x))": lambda x: np.exp(np.log(x)),
    "sqrt(x)**2": lambda x: np.sqrt(x) ** 2,
    "exp(2*log(x))": lambda x: np.exp(2 * np.log(x)),
    "(x**0.5)**2": lambda x: (x ** 0.5) ** 2,
    "sqrt(x)*sqrt(x)": lambda x: np.sqrt(x) * np.sqrt(x),
    "(x**(1/3))**3": lambda x: np.power(x ** (1 / 3), 3),
    "x/x": lambda x: x / x,
    "sin(arcsin(x))": lambda x: np.sin(np.arcsin(x)),
    "cos(arccos(x))": lambda x: np.cos(np.arccos(x)),
    "tanh(arctanh(x))": lambda x: np.tanh(np.arctanh(x)),
    "cosh(arccosh(x))": lambda x: np.cosh(np.arccosh(x)),
    "expm1(log1p(x))": lambda x: np.expm1(np.log1p(x)),
    "10**log10(x)": lambda x: 10.0 ** np.log10(x),
    "exp2(log2(x))": lambda x: np.exp2(np.log2(x)),
    "log(x)-log(x)": lambda x: np.log(x) - np.log(x),
    "2*log(x)-log(x)": lambda x: 2 * np.log(x) - np.log(x),
    "exp(log(x)/2)**2": lambda x: np.exp(np.log(x) / 2) ** 2,
    "log(sqrt(x))*2": lambda x: np.log(np.sqrt(x)) * 2,
    "x*sqrt(x)/sqrt(x)": lambda x: x * np.sqrt(x) / np.sqrt(x),
    "s = sqrt(x); t = s*s; t + 1": lambda x: (lambda s: s * s + 1)(np.sqrt(x)),
}
POINTS = np.array([-3.0, -2.0, -1.5, -0.5, 0.0, 0.25, 0.5, 0.9, 1.5, 3.0])
# Outside the domain the gradient is NaN where the chain rule of NumPy's operations has a NaN factor
# (d/dx exp(log(x)) = exp(log(x)) / x); for these it has none (2/x - 1/x), as in JAX and autograd.
FINITE_CHAIN_RULE = {"2*log(x)-log(x)": lambda x: 1 / x}
# At 0, NumPy computes log(0) - log(0) = -inf + inf = NaN: infinities of an operation on the edge of
# its domain that cancel are not tracked (the generated code gives 0 there, the limit).
EDGE = {"log(x)-log(x)": 0.0, "2*log(x)-log(x)": 0.0}


def _numpy(h, x):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(h(x), dtype=float) * np.ones_like(x)


def _central(h, x, eps=1e-6):
    return (_numpy(h, x + eps) - _numpy(h, x - eps)) / (2 * eps)


@pytest.mark.parametrize("name", list(DOMAIN_CASES))
def test_value_and_gradient_keep_numpys_nan(name):
    h = DOMAIN_CASES[name]
    f = lambda x: np.sum(h(x))  # noqa: E731
    vg = symdiff.value_and_grad(f)
    for x in POINTS:
        if EDGE.get(name) == x:
            continue
        point = np.array([x])
        with np.errstate(all="ignore"):
            value, grad = vg(point)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = f(point)
        if np.isnan(want):
            assert np.isnan(value), (name, x, value)
            if name in FINITE_CHAIN_RULE:
                np.testing.assert_allclose(grad[0], FINITE_CHAIN_RULE[name](x), rtol=1e-12)
            else:
                assert np.isnan(grad[0]), (name, x, grad)  # the gradient is NaN where the value is
        else:
            np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-12, err_msg=f"{name} at {x}")
            interior = np.all(np.isfinite(_numpy(h, np.array([x - 1e-5, x + 1e-5]))))
            if interior:
                np.testing.assert_allclose(grad[0], _central(h, np.array([x]))[0], rtol=1e-6, atol=1e-6,
                                           err_msg=f"{name}: gradient at {x}")


def test_second_derivatives_keep_numpys_nan():
    f = lambda x: np.sum(np.exp(2 * np.log(x)) + np.sqrt(x) ** 2)  # noqa: E731
    hess = symdiff.hessian(f)
    with np.errstate(all="ignore"):
        inside = hess(np.array([0.5, 2.0]))
        outside = hess(np.array([-0.5, 2.0]))
    np.testing.assert_allclose(inside, np.diag([2.0, 2.0]), rtol=1e-12)  # d2/dx2 (x**2 + x) = 2
    assert np.isnan(outside[0, 0]) and outside[1, 1] == 2.0


def test_export_keeps_the_domain(tmp_path):
    def f(x):
        return np.sum(np.exp(np.log(x)))
    symdiff.export(f, tmp_path / "f_grad.py", shapes={"x": ("n",)})
    namespace = {}
    exec((tmp_path / "f_grad.py").read_text(), namespace)
    with np.errstate(all="ignore"):
        value, grad = namespace["f_value_and_grad"](np.array([-1.0, 2.0]))
        assert np.isnan(value) and np.isnan(grad[0]) and grad[1] == 1.0
        value, grad = namespace["f_value_and_grad"](np.array([1.0, 2.0]))
    assert value == 3.0 and list(grad) == [1.0, 1.0]


STABLE = {  # rewrites that remove a logarithm whose argument is positive for every real input
    "log(exp(x))": (lambda x: np.log(np.exp(x)), lambda x: x),
    "log(1+exp(x))": (lambda x: np.log(1 + np.exp(x)), lambda x: np.logaddexp(0, x)),
    "log(sigmoid(x))": (lambda x: np.log(1 / (1 + np.exp(-x))), lambda x: -np.logaddexp(0, -x)),
    "log(1-sigmoid(x))": (lambda x: np.log(1 - 1 / (1 + np.exp(-x))), lambda x: -np.logaddexp(0, x)),
    "sqrt(x**2)": (lambda x: np.sqrt(x ** 2), np.abs),
    "log(x**2)": (lambda x: np.log(x ** 2), lambda x: 2 * np.log(np.abs(x))),
}


@pytest.mark.parametrize("name", list(STABLE))
def test_stable_rewrites_stay_unguarded_and_finite(name):
    h, exact = STABLE[name]
    vg = symdiff.value_and_grad(lambda x: np.sum(h(x)))
    x = np.array([-30.0, -2.0, -0.5, 0.5, 3.0, 30.0])
    value, _ = vg(x)
    np.testing.assert_allclose(value, np.sum(exact(x)), rtol=1e-12)
    assert "np.nan" not in vg.source, vg.source


def test_log1m_sigmoid_stays_finite_at_extremes():
    vg = symdiff.value_and_grad(lambda z: np.sum(np.log(1 - 1 / (1 + np.exp(-z)))))
    value, grad = vg(np.array([1000.0, -1000.0]))
    assert value == -1000.0 and list(grad) == [-1.0, 0.0]


# ---------------------------------------------------------------- x**y at x = 0 -------------------

@pytest.mark.parametrize("y", [0.5, 1.0, 2.0, 3.0, 2.5])
def test_power_gradient_at_zero_base(y):
    """d/dx x**y = y*x**(y-1) and d/dy x**y = x**y*log(x), whose limit at x = 0 is 0 for y > 0
    (SymPy's forms x**y*y/x and x**y*log(x) are 0/0 and 0*-inf there)."""
    g = symdiff.grad(lambda x, y: np.sum(np.power(x, y)), wrt=(0, 1))
    with np.errstate(divide="ignore"):
        dx, dy = g(np.array([0.0, 1.5]), np.array([y, y]))
        expected_dx = y * np.array([0.0, 1.5]) ** (y - 1)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-14)
    np.testing.assert_allclose(dy, [0.0, 1.5 ** y * np.log(1.5)], rtol=1e-14)


def test_power_gradient_outside_the_domain_of_log():
    g = symdiff.grad(lambda x, y: np.sum(np.power(x, y)), wrt=(0, 1))
    with np.errstate(invalid="ignore"):
        dx, dy = g(np.array([-2.0]), np.array([2.0]))
    assert dx[0] == -4.0 and np.isnan(dy[0])  # (-2)**y is not real for y near 2: NaN, as NumPy's log(-2)


@pytest.mark.parametrize("x,y", [(0.0, 2.0), (0.0, 3.0), (0.0, 2.5), (1.5, 2.5), (0.7, 0.5)])
def test_power_hessian_closed_form(x, y):
    hess = symdiff.hessian(lambda v: v[0] ** v[1])(np.array([x, y]))
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.log(x) if x > 0 else 0.0  # x**y * log(x)**k -> 0 at x = 0 for y > 0
        fxx = y * (y - 1) * x ** (y - 2) if x > 0 or y > 2 else (2.0 if y == 2 else np.inf)
        fxy = x ** (y - 1) * (1 + y * log) if x > 0 else 0.0
        fyy = x ** y * log ** 2
    np.testing.assert_allclose(hess, [[fxx, fxy], [fxy, fyy]], rtol=1e-12, atol=1e-300)


def test_power_second_derivative_in_the_exponent_at_zero():
    h = symdiff.hessian(lambda y, x: np.sum(np.power(x, y)))(np.array([1.5, 2.0]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(h, np.zeros((2, 2)))


# ---------------------------------------------------------------- var and std ---------------------

@pytest.mark.parametrize("shape,axis", [((1,), None), ((1, 3), 0), ((4, 1), 1), ((1, 1), None)])
def test_std_of_one_element_has_zero_derivatives(shape, axis):
    """std over one element is identically 0: gradient and Hessian 0 (sqrt(0)'s derivative would be 0/0)."""
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    f = lambda x: np.sum(np.std(x, axis=axis) + np.var(x, axis=axis))  # noqa: E731
    value, grad = symdiff.value_and_grad(f)(x)
    assert value == f(x) == 0.0
    np.testing.assert_array_equal(grad, np.zeros(shape))
    np.testing.assert_array_equal(symdiff.hessian(f)(x), np.zeros(shape + shape))
    with np.errstate(invalid="ignore"):
        assert np.isnan(symdiff.value_and_grad(f)(np.full(shape, np.inf))[0])  # as np.std([inf])


def test_std_and_var_at_zero_spread():
    """var is smooth: Hessian (2/n)(I - 1/n) at any point; std is a cone at zero spread, not differentiable:
    its gradient is NaN there (as autograd's and JAX's), and the closed form (x - mean)/(n*std) elsewhere."""
    n, var, std = 3, (lambda x: np.var(x)), (lambda x: np.std(x))
    x = np.full(n, 2.0)
    np.testing.assert_allclose(symdiff.hessian(var)(x), 2 / n * (np.eye(n) - 1 / n), rtol=1e-14)
    np.testing.assert_array_equal(symdiff.grad(var)(x), np.zeros(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.all(np.isnan(symdiff.grad(std)(x)))
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(symdiff.grad(std)(x), (x - x.mean()) / (n * x.std()), rtol=1e-14)


# ---------------------------------------------------------------- size checks ---------------------
# (function, argument shapes NumPy accepts, argument shapes NumPy refuses): the operation that
# broadcasts the arguments together is simplified away, the generated code still compares the sizes.
SIZE_CASES = {
    "x + 0*y": (lambda x, y: np.sum(x + 0 * y), [(3,), (3,)], [(5,), (3,)]),
    "x*0*y + x": (lambda x, y: np.sum(x * 0 * y + x), [(4,), (4,)], [(4,), (2,)]),
    "0 * sum(A @ x)": (lambda x, A: np.sum(x) + 0 * np.sum(A @ x), [(3,), (2, 3)], [(3,), (2, 4)]),
    "X + 0*w[None, :]": (lambda X, w: np.sum(X + 0 * w[None, :]), [(4, 3), (3,)], [(4, 3), (5,)]),
    "x - x + y": (lambda x, y: np.sum(x - x + y), [(3,), (3,)], [(2,), (3,)]),
    "x + y*0 then sum(y)": (lambda x, y: np.sum(x + y * 0) + np.sum(y), [(3,), (3,)], [(3,), (4,)]),
    "x + y**0": (lambda x, y: np.sum(x + y ** 0), [(3,), (3,)], [(5,), (3,)]),
    "X + y[:, None]**0": (lambda X, y: np.sum(X * y[:, None] ** 0), [(3, 2), (3,)], [(3, 2), (2,)]),
    "where(True, 0, y)": (lambda x, y: np.sum(x + np.where(True, 0.0, y)), [(3,), (3,)], [(5,), (3,)]),
}


def _args(shapes, rng):
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("name", list(SIZE_CASES))
def test_sizes_the_program_broadcasts_are_checked(name):
    f, good, bad = SIZE_CASES[name]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):  # NumPy itself refuses the bad sizes
        f(*_args(bad, rng))
    vg = symdiff.value_and_grad(f)
    args = _args(good, rng)
    value, grad = vg(*args)  # compiled for these ranks; the sizes are read at run time
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    with pytest.raises(ValueError, match="broadcast|mismatch"):  # ours, or NumPy's where the operation survives
        vg(*_args(bad, rng))  # the same compiled module (same signature) must refuse them
    with pytest.raises(ValueError, match="broadcast|mismatch"):
        symdiff.grad(f)(*_args(bad, rng))
    args = [rng.standard_normal([d + 1 if d > 1 else d for d in s]) for s in good]  # other equal sizes work
    np.testing.assert_allclose(vg(*args)[0], f(*args), rtol=1e-12)


def test_named_sizes_that_must_agree_are_checked_by_the_module(tmp_path):
    def f(x, y):
        return np.sum(x + y ** 0)
    for shapes in ({"x": ("n",), "y": ("m",)}, {"x": ("n",), "y": ("n",)}):
        src = symdiff.export(f, tmp_path / "f_grad.py", shapes=shapes)
        namespace = {}
        exec(src, namespace)
        assert namespace["f_value_and_grad"](np.ones(4), np.ones(4))[0] == 8.0
        with pytest.raises(ValueError, match=r"y.shape\[0\] \(3\) != x.shape\[0\] \(5\)"):
            namespace["f_grad"](np.ones(5), np.ones(3))


def test_cli_module_checks_named_sizes(tmp_path):
    from symdiff.cli import main
    src = tmp_path / "model.py"
    src.write_text("import numpy as np\n\n\ndef f(x, y):\n    return np.sum(x + y ** 0)\n")
    out = tmp_path / "f_grad.py"
    assert main(["grad", f"{src}:f", "--shape", "x=n", "--shape", "y=m", "-o", str(out)]) in (0, None)
    namespace = {}
    exec(out.read_text(), namespace)
    with pytest.raises(ValueError, match="needs them equal at "):
        namespace["f_grad"](np.ones(5), np.ones(3))
    np.testing.assert_array_equal(namespace["f_grad"](np.ones(3), np.ones(3)), np.ones(3))


def test_size_check_costs_one_comparison():
    """Where the operation survives, NumPy checks by itself: no extra line (the seed model has none)."""
    vg = symdiff.value_and_grad(lambda x, y: np.sum(x * y))
    vg(np.ones(3), np.ones(3))
    assert "needs them equal" not in vg.source
    vg = symdiff.value_and_grad(lambda x, y: np.sum(x + y ** 0))
    vg(np.ones(3), np.ones(3))
    assert vg.source.count("needs them equal") == 2  # one `if` in each of the two functions


def test_size_checks_on_one_branch_and_for_hvp_directions():
    def f(x, y):
        if np.sum(x) > 0:
            return np.sum(x + y ** 0)  # NumPy raises here for sizes 4 and 3 ...
        return np.sum(x)  # ... not here
    g = symdiff.grad(f)
    np.testing.assert_array_equal(g(np.ones(3), np.ones(3)), np.ones(3))
    with pytest.raises(ValueError, match="needs them equal at "):
        g(np.ones(4), np.ones(3))
    np.testing.assert_array_equal(g(-np.ones(4), np.ones(3)), np.ones(4))  # the other side broadcasts nothing
    hvp = symdiff.hvp(lambda x: np.sum(np.sin(x)))
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(hvp(x, np.ones(3)), -np.sin(x), rtol=1e-14)
    with pytest.raises(ValueError):
        hvp(x, np.ones(4))


@pytest.mark.parametrize("x,y", [(-2.0, 0.5), (-2.0, 2.0), (2.0, 0.5), (0.5, -1.5)])
def test_power_with_a_traced_exponent_keeps_its_domain(x, y):
    """x**y * x**-y is 1 to SymPy; NumPy gives NaN for x < 0 unless y is a whole number."""
    f = lambda x, y: np.sum(np.power(x, y) * np.power(x, -y))  # noqa: E731
    X, Y = np.array([x]), np.array([y])
    with np.errstate(invalid="ignore"):
        want = f(X, Y)
        value, (dx, dy) = symdiff.value_and_grad(f, wrt=(0, 1))(X, Y)
    if np.isnan(want):
        assert np.isnan(value) and np.isnan(dx[0]) and np.isnan(dy[0])
    else:
        np.testing.assert_allclose(value, want, rtol=1e-14)
        assert dx[0] == 0.0 and dy[0] == 0.0


def test_zero_times_infinity_is_nan_as_in_numpy():
    f = lambda x, y: np.sum(x + 0 * y)  # noqa: E731
    x, y = np.ones(3), np.array([1.0, np.inf, 2.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(f(x, y)) and np.isnan(symdiff.value_and_grad(f)(x, y)[0])
    assert symdiff.value_and_grad(f)(x, np.ones(3))[0] == 3.0


def test_domain_guard_whose_conditions_are_boolean_inputs_prints():
    """A guard's conditions fused into boolean nodes stay truth values (found merging the boolean rules):
    the discounted sum and its derivative against the closed form."""
    def npv(cf, rate):
        t = np.arange(len(cf))
        return np.sum(cf / (1 + rate) ** t)
    cf = np.array([1.0, 2.0, 3.0])
    value, d_rate = symdiff.value_and_grad(npv, wrt="rate")(cf, 0.05)
    t = np.arange(3)
    assert np.isclose(value, np.sum(cf / 1.05 ** t))
    assert np.isclose(d_rate, np.sum(-t * cf / 1.05 ** (t + 1)))
