"""Statistics and signal processing (numpy/statistics.py, numpy/signal.py, scipy/signal.py): values against
NumPy/SciPy, gradients against closed forms (linear functions: their Jacobian is NumPy's own function
applied to basis vectors) and autograd, the rule at ties, second derivatives, refusals, generated code."""
import numpy as np
import pytest
import scipy.signal
from scipy import signal
from scipy.signal import convolve2d

import symdiff
from symdiff.errors import UnsupportedError

RNG = np.random.default_rng(12)


def _values(f, *args):
    """symdiff's value of ``f`` (from its vjp with a zero cotangent) and NumPy's."""
    out = np.asarray(f(*args))
    value, _ = symdiff.vjp(f)(*args, np.zeros(out.shape))
    return np.asarray(value), out


def _basis_jacobian(linear, x):
    """The Jacobian of a function linear in ``x``: its values at the basis vectors, as columns."""
    cols = [np.asarray(linear(e.reshape(x.shape))).ravel() for e in np.eye(x.size)]
    return np.stack(cols, axis=-1).reshape(np.shape(linear(x)) + x.shape)


# ---------------------------------------------------------------- median, quantile, percentile -----

@pytest.mark.parametrize("q, axis, keepdims", [(0.3, None, False), (0.5, 0, False), ((0.1, 0.5, 0.95), 1, False),
                                               ((0.25, 0.75), 0, True), (1.0, None, True)])
def test_quantile_values_match_numpy(q, axis, keepdims):
    x = RNG.standard_normal((4, 5))
    mine, numpys = _values(lambda a: np.quantile(a, q, axis=axis, keepdims=keepdims), x)
    assert mine.shape == numpys.shape
    assert np.allclose(mine, numpys, rtol=1e-12, atol=1e-12)


def test_quantile_gradient_is_the_linear_interpolation_weights():
    x = np.array([0.3, -1.2, 2.0, 0.7, 1.1])  # sorted: -1.2, 0.3, 0.7, 1.1, 2.0; q=0.3: pos 1.2
    g = symdiff.grad(lambda a: np.quantile(a, 0.3))(x)
    expected = np.zeros(5)
    expected[0], expected[3] = 0.8, 0.2  # 0.3 is x[0], 0.7 is x[3]
    assert np.allclose(g, expected)
    gp = symdiff.grad(lambda a: np.percentile(a, 30.0))(x)
    assert np.allclose(gp, expected)


def test_median_even_count_splits_between_the_two_middle_values():
    x = np.array([4.0, -1.0, 2.5, 0.5])
    g = symdiff.grad(lambda a: np.median(a))(x)
    assert np.allclose(g, [0.0, 0.0, 0.5, 0.5])
    value, _ = symdiff.value_and_grad(lambda a: np.median(a))(x)
    assert value == pytest.approx(np.median(x))


def test_median_ties_the_gradient_goes_to_the_element_argsort_puts_there():
    """The rule at ties: the sorted position NumPy's result uses is one element, the one np.argsort
    puts there; all of the gradient goes to it (a subgradient: the median has a kink at a tie)."""
    x = np.array([3.0, 2.0, 5.0, 2.0, 1.0])
    g = symdiff.grad(lambda a: np.median(a))(x)
    expected = np.zeros(5)
    expected[np.argsort(x)[2]] = 1.0
    assert np.array_equal(g, expected)
    assert g[1] + g[3] == 1.0


def test_median_along_an_axis_hessian_is_zero():
    x = RNG.standard_normal((3, 4))
    h = symdiff.hessian(lambda a: np.sum(np.median(a, axis=1) ** 2))(x)
    # d2/dx2 of sum(m_i^2) with m_i = (s_i1 + s_i2)/2: 2 * (1/2)(1/2) on the pairs of middle elements
    expected = np.zeros((12, 12))
    for i in range(3):
        mid = i * 4 + np.argsort(x[i])[1:3]
        expected[np.ix_(mid, mid)] = 0.5
    assert np.allclose(h.reshape(12, 12), expected)


# ---------------------------------------------------------------- average, cov, corrcoef -----------

def test_average_with_weights_closed_form_and_returned():
    a, w = np.array([1.0, 2.0, 4.0, -1.0]), np.array([0.5, 1.0, 2.0, 0.5])
    ga, gw = symdiff.grad(lambda a, w: np.average(a, weights=w), wrt=(0, 1))(a, w)
    avg = np.average(a, weights=w)
    assert np.allclose(ga, w / w.sum())
    assert np.allclose(gw, (a - avg) / w.sum())

    def both(a, w):
        avg, total = np.average(a, axis=1, weights=w, returned=True)
        return np.sum(avg * total ** 2)
    A, W = RNG.standard_normal((2, 3)), np.array([0.5, 1.5, 2.0])
    for axis in (None, 1):  # no weights: the mean, and the count as the sum of weights
        def plain(a):
            avg, count = np.average(a, axis=axis, returned=True)
            return np.sum(avg * count)
        value, g = symdiff.value_and_grad(plain)(A)
        assert value == pytest.approx(plain(A)) and np.allclose(g, np.ones((2, 3)))
    value, (gA, gW) = symdiff.value_and_grad(both, wrt=(0, 1))(A, W)
    assert value == pytest.approx(both(A, W))
    # avg * total**2 = (A @ W) * S per row, S = sum(W)
    assert np.allclose(gA, np.outer(np.full(2, W.sum()), W))
    assert np.allclose(gW, W.sum() * A.sum(axis=0) + (A @ W).sum())


@pytest.mark.parametrize("kwargs", [{}, {"rowvar": False}, {"bias": True}, {"ddof": 2}])
def test_cov_values_match_numpy(kwargs):
    x = RNG.standard_normal((3, 6))
    mine, numpys = _values(lambda m: np.cov(m, **kwargs), x)
    assert np.allclose(mine, numpys)


def test_cov_of_two_vectors_and_variance_gradient():
    x, y = RNG.standard_normal(5), RNG.standard_normal(5)
    mine, numpys = _values(lambda a, b: np.cov(a, b), x, y)
    assert np.allclose(mine, numpys)
    g = symdiff.grad(lambda a: np.cov(a))(x)  # the sample variance: 2 (x - mean) / (n - 1)
    assert np.allclose(g, 2 * (x - x.mean()) / 4)
    h = symdiff.hessian(lambda a: np.cov(a))(x)
    assert np.allclose(h, 2 * (np.eye(5) - 1 / 5) / 4)


def test_corrcoef_matches_numpy_and_autograd():
    import autograd
    import autograd.numpy as anp

    x = RNG.standard_normal((3, 6))
    w = RNG.standard_normal((3, 3))
    mine, numpys = _values(lambda m: np.corrcoef(m), x)
    assert np.allclose(mine, numpys)

    def by_hand(m):
        c = m - anp.mean(m, axis=1, keepdims=True)
        c = anp.dot(c, c.T)
        d = anp.sqrt(anp.diag(c))
        return anp.sum(c / anp.outer(d, d) * w)
    g = symdiff.grad(lambda m: np.sum(np.corrcoef(m) * w))(x)
    assert np.allclose(g, autograd.grad(by_hand)(x))


# ---------------------------------------------------------------- np.convolve, np.correlate --------

@pytest.mark.parametrize("n, m", [(5, 3), (4, 4), (3, 6), (1, 3)])
@pytest.mark.parametrize("func", [np.convolve, np.correlate])
def test_numpy_convolutions_values_and_jacobians(func, n, m):
    a, v = RNG.standard_normal(n), RNG.standard_normal(m)
    for mode in ("full", "same", "valid"):
        mine, numpys = _values(lambda p, q: func(p, q, mode=mode), a, v)
        assert np.allclose(mine, numpys), mode
    ja, jv = symdiff.jacobian(lambda p, q: func(p, q, mode="same"), wrt=(0, 1))(a, v)
    assert np.allclose(ja, _basis_jacobian(lambda p: func(p, v, mode="same"), a))
    assert np.allclose(jv, _basis_jacobian(lambda q: func(a, q, mode="same"), v))


# ---------------------------------------------------------------- scipy.signal ---------------------

@pytest.mark.parametrize("name", ["convolve", "correlate", "convolve2d", "correlate2d"])
def test_scipy_signal_values_and_jacobian(name):
    func = getattr(scipy.signal, name)
    a = RNG.standard_normal((4, 5))
    for shape in [(2, 3), (3, 2), (4, 5), (5, 6)]:
        v = RNG.standard_normal(shape)
        for mode in ("full", "same", "valid"):
            mine, scipys = _values(lambda p, q: getattr(signal, name)(p, q, mode=mode), a, v)
            assert np.allclose(mine, scipys), (shape, mode)
    v = RNG.standard_normal((3, 2))
    j = symdiff.jacobian(lambda p: getattr(signal, name)(p, v, mode="same"))(a)
    assert np.allclose(j, _basis_jacobian(lambda p: func(p, v, mode="same"), a))


def test_scipy_signal_convolve_1d_matches_autograd():
    import autograd
    import autograd.scipy.signal as asig

    a, v, w = RNG.standard_normal(7), RNG.standard_normal(3), RNG.standard_normal(5)
    ours = symdiff.grad(lambda p, q: np.sum(signal.convolve(p, q, mode="valid") * w), wrt=(0, 1))(a, v)
    theirs = autograd.grad(lambda p, q: (asig.convolve(p, q, mode="valid") * w).sum(), (0, 1))(a, v)
    assert np.allclose(ours[0], theirs[0]) and np.allclose(ours[1], theirs[1])


def test_convolve2d_hessian_in_the_kernel():
    image = RNG.standard_normal((4, 4))
    h = symdiff.hessian(lambda k: np.sum(signal.convolve2d(image, k, mode="valid") ** 2))(np.ones((2, 2)))
    # f = |A k|^2 with A the (linear) map k -> convolve2d(image, k): the Hessian is 2 A^T A
    A = _basis_jacobian(lambda k: signal.convolve2d(image, k, mode="valid"), np.ones((2, 2))).reshape(9, 4)
    assert np.allclose(h.reshape(4, 4), 2 * A.T @ A)


# ---------------------------------------------------------------- gradient, interp, polyval --------

def test_np_gradient_values_and_jacobian():
    f1, f2 = RNG.standard_normal(6), RNG.standard_normal((3, 4))
    for kwargs in ({}, {"edge_order": 2}):
        mine, numpys = _values(lambda f: np.gradient(f, 0.5, **kwargs), f1)
        assert np.allclose(mine, numpys)
    mine, numpys = _values(lambda f: np.gradient(f, axis=0), f2)
    assert np.allclose(mine, numpys)
    j = symdiff.jacobian(lambda f: np.gradient(f, 2.0, edge_order=2))(f1)
    assert np.allclose(j, _basis_jacobian(lambda f: np.gradient(f, 2.0, edge_order=2), f1))

    def both_axes(f):
        d0, d1 = np.gradient(f, 1.0, 0.5)
        return np.sum(d0 * d1)
    value, g = symdiff.value_and_grad(both_axes)(f2)
    assert value == pytest.approx(both_axes(f2))


def test_interp_values_and_gradients_in_x_and_fp():
    xp, fp = np.array([-1.0, 0.0, 0.5, 2.0]), np.array([1.0, -1.0, 2.0, 0.5])
    x = np.array([-1.7, -0.4, 0.2, 0.9, 2.5])
    mine, numpys = _values(lambda q, f: np.interp(q, xp, f), x, fp)
    assert np.allclose(mine, numpys)
    mine, numpys = _values(lambda q, f: np.interp(q, xp, f, left=-5.0, right=7.0), x, fp)
    assert np.allclose(mine, numpys)
    gx, gf = symdiff.grad(lambda q, f: np.sum(np.interp(q, xp, f)), wrt=(0, 1))(x, fp)
    slopes = np.diff(fp) / np.diff(xp)
    assert np.allclose(gx, [0.0, slopes[0], slopes[1], slopes[2], 0.0])
    assert np.allclose(gf, _basis_jacobian(lambda f: np.interp(x, xp, f), fp).sum(axis=0))


def test_polyval_gradients_and_hessian():
    p, x = np.array([2.0, -1.0, 0.5, 3.0]), np.array([0.3, -1.2, 2.0])
    mine, numpys = _values(lambda c, t: np.polyval(c, t), p, x)
    assert np.allclose(mine, numpys)
    gp, gx = symdiff.grad(lambda c, t: np.sum(np.polyval(c, t)), wrt=(0, 1))(p, x)
    assert np.allclose(gp, [np.sum(x ** 3), np.sum(x ** 2), np.sum(x), 3.0])
    assert np.allclose(gx, np.polyval(np.polyder(p), x))
    h = symdiff.hessian(lambda t: np.polyval(p, t))(0.7)
    assert h == pytest.approx(np.polyval(np.polyder(p, 2), 0.7))


# ---------------------------------------------------------------- refusals and generated code ------

@pytest.mark.parametrize("body, words", [
    (lambda x: np.quantile(x, 0.5, method="nearest"), "method='linear'"),
    (lambda x: np.interp(x, np.array([0.0, 2.0, 1.0]), np.ones(3)), "strictly increasing"),
    (lambda x: np.interp(x, x, x), "xp must be a constant"),
    (lambda x: np.gradient(x, np.arange(5.0)), "uniform spacing"),
    (lambda x: np.cov(x, fweights=np.ones(5)), "fweights"),
    (lambda x: signal.convolve2d(np.outer(x, x), np.ones((2, 2)), boundary="wrap"), "zero fill"),
    (lambda x: np.cov(x[:1]), "degrees of"),
])
def test_refusals_name_the_line_and_what_to_do(body, words):
    with pytest.raises(UnsupportedError) as info:
        symdiff.grad(lambda x: np.sum(body(x)))(RNG.standard_normal(5))
    assert words in str(info.value)
    assert "test_statistics.py" in str(info.value)


def test_generated_code_reads_as_numpy(tmp_path):
    def smooth(x, k):
        return np.median(x) + np.sum(signal.convolve(x, k, mode="same") ** 2) + np.sum(np.convolve(x, k))
    text = symdiff.export(smooth, tmp_path / "smooth.py", wrt=(0, 1), shapes={"x": (6,), "k": (3,)})
    assert "np.argsort(x, axis=0)" in text and "np.einsum(" in text and "k[::-1]" in text
    assert "import scipy" not in text
    namespace: dict = {}
    exec(compile(text, str(tmp_path / "smooth.py"), "exec"), namespace)
    x, k = RNG.standard_normal(6), RNG.standard_normal(3)
    value, _ = namespace["smooth_value_and_grad"](x, k)
    assert value == pytest.approx(smooth(x, k))


def test_median_with_nan_is_nan_as_numpy():
    """NaN sorts last; NumPy's median and quantiles of an array holding NaN are NaN, so are symdiff's
    (not an order statistic of the other elements), with a zero gradient."""
    x = np.array([1.0, np.nan, 2.0, 3.0, 4.0])
    value, g = symdiff.value_and_grad(lambda a: np.median(a) + np.quantile(a, 0.2))(x)
    assert np.isnan(value) and np.isnan(np.median(x))
    assert np.array_equal(g, np.zeros(5))


def test_scipy_signal_functions_imported_by_name():
    """``from scipy.signal import convolve2d`` at the top of the user's module (as this file does): the
    module's name is replaced during the trace (a name imported inside a function is not)."""
    def blur(x):
        return np.sum(convolve2d(x, np.ones((2, 2)), mode="same") ** 2)
    x = RNG.standard_normal((3, 4))
    value, g = symdiff.value_and_grad(blur)(x)
    assert value == pytest.approx(blur(x))
    A = _basis_jacobian(lambda p: scipy.signal.convolve2d(p, np.ones((2, 2)), mode="same"), x).reshape(12, 12)
    assert np.allclose(g.ravel(), 2 * A.T @ (A @ x.ravel()))


def test_interp_at_the_knots_takes_the_right_derivative():
    """At x == xp[k] (a kink) the x-derivative is that of the segment xp[k] <= x < xp[k+1], the one
    NumPy's search picks (never the sum of both sides); 0 at and beyond xp[-1], where the value is constant."""
    xp, fp = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0])
    g = symdiff.grad(lambda x: np.sum(np.interp(x, xp, fp)))(np.array([0.0, 1.0, 2.0, -1.0, 3.0]))
    assert np.array_equal(g, [1.0, 2.0, 0.0, 0.0, 0.0])
