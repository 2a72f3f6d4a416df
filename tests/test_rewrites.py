"""Speed rewrites (symdiff/rewrites.py): each one is seen in the generated code where it applies, and
the gradient stays exact (central finite differences of the user's function, or a closed form),
including near misses of each pattern that must not be rewritten."""
import re

import mpmath
import numpy as np
import pytest

import symdiff
from symdiff.backends.numpy.codegen import constant_code
from symdiff.testing import check_grads

rng = np.random.default_rng(7)


def body(vg) -> str:
    """The value-and-gradient function of the generated module."""
    src = vg.source
    return src[src.index("_value_and_grad("):].split("\n\n\n")[0]


def value_and_grad(fn, args, wrt=0):
    vg = symdiff.value_and_grad(fn, wrt=wrt)
    value, g = vg(*args)
    assert np.isclose(value, fn(*args), rtol=1e-12, atol=1e-300)
    return vg, g


# ---- no gradient through the shift of logsumexp --------------------------------------------------

def lse_rows(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m)


def test_max_shift_gradient_is_the_softmax_without_a_where():
    z = rng.standard_normal((4, 5))
    z[0, :2] = 3.0  # a tie for the maximum: the dropped term would split the gradient there
    vg, g = value_and_grad(lse_rows, (z,))
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, softmax, rtol=1e-13, atol=1e-15)
    assert "np.where" not in body(vg)
    check_grads(lse_rows, (z,))


def shift_used_elsewhere(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m) + np.sum(m ** 2)


def mean_shift(z):
    m = np.mean(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m)


def shift_not_constant(z):  # z/2 varies along the summed axis: not a shift, nothing to drop
    return np.sum(np.log(np.sum(np.exp(z - z / 2), axis=1, keepdims=True)) + z / 2)


def shift_not_added_back(z):
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + 2 * m)


@pytest.mark.parametrize("fn", [shift_used_elsewhere, mean_shift, shift_not_constant, shift_not_added_back])
def test_shift_rewrite_keeps_gradients_exact(fn):
    check_grads(fn, (rng.standard_normal((3, 4)),))


# ---- sums of products: np.dot / np.einsum -----------------------------------------------------------

def sq_last_axis(d):
    return np.sum(np.sqrt(np.sum(d ** 2, axis=-1) + 1.0))


def weighted_dot(x, y, c):
    return np.sum(c * x * np.sin(y) - 3 * (x - y) ** 2)


def keepdims_rows(a, b):
    return np.sum(np.exp(np.sum(a * b, axis=1, keepdims=True)) * a)


def broadcast_factor(a, b):  # b has another shape: not a contraction
    return np.sum(a * b)


def test_sum_of_squares_over_an_axis_is_einsum():
    d = rng.standard_normal((4, 5, 3))
    vg, _ = value_and_grad(sq_last_axis, (d,))
    assert 'np.einsum("ijk,ijk->ij", d, d)' in body(vg)
    check_grads(sq_last_axis, (d,))


def test_full_sum_of_products_is_dot():
    args = (rng.standard_normal(6), rng.standard_normal(6), 0.7)
    vg, _ = value_and_grad(weighted_dot, args, wrt=(0, 1, 2))
    assert body(vg).count("np.dot(") == 2 and ".sum()" not in body(vg)
    check_grads(weighted_dot, args)


def test_keepdims_contraction_and_broadcast_factor():
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    vg, _ = value_and_grad(keepdims_rows, (a, b), wrt=(0, 1))
    assert 'np.einsum("ij,ij->i"' in body(vg)
    check_grads(keepdims_rows, (a, b))
    args = (rng.standard_normal((3, 4)), rng.standard_normal(4))
    vg, _ = value_and_grad(broadcast_factor, args, wrt=(0, 1))
    assert "np.einsum" not in body(vg) and "np.dot" not in body(vg)
    check_grads(broadcast_factor, args)


def total_of_row_sums(z, Y, c):
    return np.mean(np.exp(z[:, :1]) - c * np.sum(Y * z, axis=1, keepdims=True) + np.sum(z, axis=1, keepdims=True))


def row_sum_not_linear(z, Y):
    return np.sum(np.exp(np.sum(Y * z, axis=1)))


def test_row_sums_inside_a_total_become_one_vdot():
    args = (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), 0.3)
    vg, _ = value_and_grad(total_of_row_sums, args, wrt=(0, 1))  # d/dc would need the row sums
    assert "np.vdot(Y, z)" in body(vg) and "einsum" not in body(vg)
    check_grads(total_of_row_sums, args, wrt=(0, 1))
    vg, _ = value_and_grad(total_of_row_sums, args, wrt=(0, 1, 2))
    check_grads(total_of_row_sums, args)
    vg, _ = value_and_grad(row_sum_not_linear, args[:2], wrt=(0, 1))
    assert "np.vdot" not in body(vg)
    check_grads(row_sum_not_linear, args[:2])


def bias_and_rows(X, W, b):
    z = X @ W + b
    return np.sum(np.log(np.sum(np.exp(z), axis=1)) ** 2)


def test_sums_over_one_axis_are_written_as_sums():
    # the bias gradient is the sum of dz over the rows, written as a person writes it (not np.ones(n) @ dz)
    args = (rng.standard_normal((6, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3))
    vg, _ = value_and_grad(bias_and_rows, args, wrt=(1, 2))
    code = re.sub(r"\s+", "", body(vg))
    assert "np.ones(" not in code and ".sum(axis=0)" in code and ".sum(axis=1)" in code, body(vg)
    assert re.search(r"db=\w+\.sum\(axis=0\)", code), body(vg)
    check_grads(bias_and_rows, args, wrt=(1, 2))


# ---- gradients of several slices in one buffer -------------------------------------------------------

def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def overlapping_slices(x):
    return np.sum(np.sin(x[:-1]) * x[1:]) - np.sum(x[::2] ** 3) + np.sum(np.cos(x[1:4]))


def test_rosenbrock_gradient_fills_one_buffer_and_is_exact():
    x = 1 + 0.5 * rng.standard_normal(9)
    vg, g = value_and_grad(rosenbrock, (x,))
    code = body(vg)
    assert "np.zeros(" not in code and "_scatter" not in code and "-= 200.0 *" in code
    assert code.count("np.empty(") == 1 and "dx[-1] = 0.0" in code  # all but x[-1] written first
    np.testing.assert_allclose(g, rosenbrock_grad(x), rtol=1e-13)


def first_slice_a_difference(x):
    return np.sum(np.sin(x[1:]) * x[:-1]) - np.sum(x[:-1] ** 3)


@pytest.mark.parametrize("fn,dtype,line", [
    (rosenbrock, np.float64, "np.add(400.0 * t1 * t3, 2.0 * t2, out=dx[:-1])"),
    (first_slice_a_difference, np.float64, "np.subtract(t3, 3.0 * t4, out=dx[:-1])"),
    (first_slice_a_difference, np.float32, "np.subtract("),
])
def test_the_first_sum_is_written_into_the_buffer(fn, dtype, line):
    """No temporary copied into the buffer: the ufunc of the sum writes into it (out=)."""
    x = (1 + 0.5 * rng.standard_normal(9)).astype(dtype)
    vg = symdiff.value_and_grad(fn)
    value, g = vg(x)
    np.testing.assert_allclose(value, fn(x.astype(np.float64)), rtol=1e-12 if dtype == np.float64 else 1e-6)
    code = body(vg)
    assert line in code and code.count("out=dx[:-1]") == 1 and "dx[:-1] = " not in code, code
    assert g.dtype == dtype
    if dtype == np.float64:
        check_grads(fn, (x,))
        if fn is rosenbrock:
            np.testing.assert_allclose(g, rosenbrock_grad(x), rtol=1e-13)
    else:  # float32 code: against the float64 gradient
        g64 = symdiff.grad(fn)(x.astype(np.float64))
        np.testing.assert_allclose(g, g64, rtol=1e-5, atol=1e-5)


def slices_of_a_matrix(a):
    return np.sum(a[:, 1:] * a[:, :-1]) + np.sum(np.sin(a[1:3]))


def slices_with_steps(x):  # no slice of step 1 to write first: a buffer of zeros
    return np.sum(np.sin(x[::2])) + np.sum(np.cos(x[1::2]))


@pytest.mark.parametrize("fn,shape,fill", [(overlapping_slices, (7,), ["dx[0] = 0.0", "dx[4:] = 0.0"]),
                                            (slices_of_a_matrix, (4, 5), ["da[0] = 0.0", "da[3:] = 0.0"]),
                                            (slices_with_steps, (6,), ["np.zeros("])])
def test_slices_fill_one_buffer_zeroed_where_the_first_does_not_write(fn, shape, fill):
    x = rng.standard_normal(shape)
    vg, _ = value_and_grad(fn, (x,))
    code = body(vg)
    assert code.count("np.zeros(") + code.count("np.empty(") == 1 and all(f in code for f in fill), code
    check_grads(fn, (x,))


# ---- softplus and sigmoid share min(z, 0) and max(z, 0) ------------------------------------------------

def bce(z, y):
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def test_bce_value_and_gradient_share_min_and_max():
    """-|z| is min(z, 0) - max(z, 0), both needed anyway: one pass less, the same values."""
    z = np.array([-1000.0, -40.0, -0.5, -0.0, 0.0, 0.5, 40.0, 1000.0])
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    vg = symdiff.value_and_grad(bce)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, dz = vg(z, y)
    code = "\n".join(line for line in body(vg).splitlines() if not line.lstrip().startswith("#"))
    assert "np.abs" not in code and "np.exp(-" not in code and code.count("np.exp(") == 2, code
    assert code.count("np.maximum(") == 1 and code.count("np.minimum(") == 1, code
    np.testing.assert_allclose(value, np.mean(np.logaddexp(0.0, z) - z * y), rtol=1e-15)
    sigmoid = np.array([float(1 / (1 + mpmath.exp(-mpmath.mpf(t)))) for t in z])
    np.testing.assert_allclose(dz, (sigmoid - y) / z.size, rtol=1e-15, atol=1e-300)
    check_grads(bce, (z[1:-1] + 0.1, y[1:-1]))


# ---- squared pairwise distances coordinate by coordinate -------------------------------------------

def soft_distances(X, Y):
    d = X[:, None, :] - Y[None, :, :]
    return np.sum(np.exp(-np.sum(d * d, axis=-1)))


def distances_and_differences(X):  # d is read again: the differences stay
    d = X[:, None, :] - X[None, :, :]
    return np.sum(np.sqrt(np.sum(d ** 2, axis=-1) + 1.0)) + np.sum(np.sin(d))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_squared_distances_are_summed_per_coordinate(k):
    X, Y = rng.standard_normal((5, k)), rng.standard_normal((4, k))
    vg = symdiff.value_and_grad(soft_distances, wrt=("X", "Y"))
    value, (gx, gy) = vg(X, Y)
    code = body(vg)
    if k == 1:  # a size-1 axis is part of the signature: one known coordinate
        assert "(X[:, 0, None] - Y[:, 0]) ** 2" in code and "einsum" not in code, code
    else:  # k known at run time: tested there (the other branch: k > 4)
        assert "for c in range(1, n_X1):" in code and 'np.einsum("ijk,ijk->ij"' in code, code
    e = np.exp(-((X[:, None, :] - Y[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(value, e.sum(), rtol=1e-13)
    np.testing.assert_allclose(gx, -2 * (e.sum(1)[:, None] * X - e @ Y), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gy, -2 * (e.sum(0)[:, None] * Y - e.T @ X), rtol=1e-12, atol=1e-14)
    check_grads(soft_distances, (X, Y), wrt=(0, 1))


def test_differences_read_elsewhere_are_not_rebuilt():
    X = rng.standard_normal((4, 3))
    vg, _ = value_and_grad(distances_and_differences, (X,))
    assert "for c in range(" not in body(vg)
    check_grads(distances_and_differences, (X,))


# ---- shared powers and pairwise differences ---------------------------------------------------------

def lj(X):
    n = X.shape[0]
    d = X[:, None, :] - X[None, :, :]
    r2 = np.sum(d ** 2, axis=-1) + np.eye(n)
    return np.sum(4 * (r2 ** -6 - r2 ** -3) * (1 - np.eye(n))) / 2


def lj_grad(X):
    d = X[:, None, :] - X[None, :, :]
    r2 = np.sum(d ** 2, axis=-1) + np.eye(len(X))
    w = (24 * r2 ** -4 - 48 * r2 ** -7) * (1 - np.eye(len(X)))
    return np.sum(w[:, :, None] * d, axis=1)


def test_lennard_jones_shares_powers_and_uses_matmul():
    X = 1.1 * np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    X = X + 0.05 * rng.standard_normal(X.shape)
    vg, g = value_and_grad(lj, (X,))
    code = body(vg)
    assert code.count("1.0 / r2") == 1 and "@ X" in code and "r2.flat[::9] += 1.0" in code
    assert "= np.eye" not in vg.source and "1 - np.eye(8)" in vg.source
    np.testing.assert_allclose(g, lj_grad(X), rtol=1e-12, atol=1e-12 * np.abs(g).max())


def eye_plus_other(d):  # the identity added to something that is not a sum of squares: kept as is
    r2 = np.sum(d * d, axis=-1) + 2 * np.eye(3)
    return np.sum(1 / (np.sum(d, axis=-1) + np.eye(3)) + 1 / r2)


def test_identity_added_in_place_only_to_sums_of_squares():
    d = rng.standard_normal((3, 3, 2))
    vg, _ = value_and_grad(eye_plus_other, (d,))
    code = body(vg)
    assert code.count(".flat[::4] += 2.0") == 1 and "np.eye(3)" in vg.source
    check_grads(eye_plus_other, (d,))


def two_sets(A, B, w):
    d = A[:, None, :] - B[None, :, :]
    r2 = np.sum(d * d, axis=2)
    return np.sum(w * np.log(r2) * np.arange(1.0, B.shape[0] + 1))


def test_pairwise_differences_of_two_sets_with_an_asymmetric_weight():
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)) + 3
    vg, _ = value_and_grad(two_sets, (A, B, 0.3), wrt=(0, 1, 2))
    assert "@ A" in body(vg) and "@ B" in body(vg)
    check_grads(two_sets, (A, B, 0.3))


W_ASYM = np.arange(16.0).reshape(4, 4) / 10
W_SYM = W_ASYM + W_ASYM.T


def weighted_self_pairs(X):
    d = X[:, None, :] - X[None, :, :]
    return np.sum(np.log(np.sum(d * d, axis=-1) + 1.0) * W_ASYM)


def symmetric_self_pairs(X):
    d = X[:, None, :] - X[None, :, :]
    return np.sum(np.log(np.sum(d * d, axis=-1) + 1.0) * W_SYM)


@pytest.mark.parametrize("fn,matmuls", [(weighted_self_pairs, 2), (symmetric_self_pairs, 1)])
def test_one_matrix_product_only_when_the_weights_are_symmetric(fn, matmuls):
    X = rng.standard_normal((4, 3))
    vg, _ = value_and_grad(fn, (X,))
    assert body(vg).count(" @ X") == matmuls
    check_grads(fn, (X,))


def powers(x):
    return np.sum(x ** 5 - 2 * x ** 3 + x ** -2 - x ** -5)


def test_powers_of_both_signs():
    x = 1 + rng.random(5)
    check_grads(powers, (x,))


# ---- constants -------------------------------------------------------------------------------------

@pytest.mark.parametrize("array", [np.eye(3), 1 - np.eye(3), np.full((2, 2), -0.0), np.array([0.0, -0.0]),
                                   np.ones(4), np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2, dtype=np.float32)])
def test_constant_code_makes_the_same_bytes(array):
    made = eval(constant_code(array), {"np": np})
    assert made.dtype == array.dtype and made.tobytes() == array.tobytes()


# ---- float literals ----------------------------------------------------------------------------

def test_integer_coefficients_print_as_floats_but_exponents_and_signs_do_not():
    import sympy as sp

    from symdiff.ir.graph import ARG
    from symdiff.backends.numpy.printer import ExprPrinter
    x, y = ARG[0], ARG[1]
    printer = ExprPrinter({x: "x", y: "y"}, float_literals=True)
    assert printer.doprint(400 * x * y + 2 * x - 1) == "2.0*x + 400.0*x*y - 1.0"
    assert printer.doprint(-x * y + x ** 2 - y ** -2) == "x**2 - 1.0/y**2 - x*y"
    assert printer.doprint(sp.Max(x, 3)) == "np.maximum(x, 3.0)"


def rounded(x):
    return np.sum(np.round(x * 3, 2) + 2 * x ** 3)


def test_integer_arguments_of_functions_stay_integers():
    x = rng.standard_normal(4)
    vg, g = value_and_grad(rounded, (x,))
    assert "np.round(3.0 * x, 2)" in body(vg)
    np.testing.assert_allclose(g, 6 * x ** 2, rtol=1e-14)
