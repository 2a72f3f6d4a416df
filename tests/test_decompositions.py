"""Cholesky factors and triangular solves (np.linalg.cholesky, scipy.linalg.cholesky, solve_triangular,
cho_factor/cho_solve): a Gaussian-process negative log marginal likelihood against autograd, its
export, closed forms, batched matrices and the refusals. The registry tests cover each entry's
gradient against finite differences (tests/test_registry.py) and its Hessian (tests/test_forward.py)."""
import importlib.util

import autograd
import autograd.numpy as anp
import autograd.scipy.linalg as asl
import numpy as np
import pytest
import scipy.linalg
from scipy.linalg import cho_factor, cho_solve, cholesky, solve_triangular

import symdiff
import symdiff.errors
import symdiff.testing
from symdiff.errors import UnsupportedError

X = np.linspace(0.0, 1.0, 6)
Y = np.sin(3.0 * X) + 0.1 * np.cos(7.0 * X)
THETA = np.array([-0.7, 0.3, -2.0])  # log length scale, log signal variance, log noise variance


def nlml(theta):
    ell, sf2, sn2 = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d = X[:, None] - X[None, :]
    K = sf2 * np.exp(-0.5 * d ** 2 / ell ** 2) + sn2 * np.eye(6)
    L = np.linalg.cholesky(K)
    alpha = scipy.linalg.solve_triangular(L.T, scipy.linalg.solve_triangular(L, Y, lower=True), lower=False)
    return 0.5 * Y @ alpha + np.sum(np.log(np.diag(L)))


def nlml_from_imports(theta):
    """The same with ``from scipy.linalg import ...`` names and SciPy's upper factor (U^T U = K)."""
    ell, sf2, sn2 = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d = X[:, None] - X[None, :]
    K = sf2 * np.exp(-0.5 * d ** 2 / ell ** 2) + sn2 * np.eye(6)
    U = cholesky(K)
    alpha = solve_triangular(U, solve_triangular(U, Y, trans="T"))
    return 0.5 * Y @ alpha + np.sum(np.log(np.diag(U)))


def nlml_cho(theta, lower):
    ell, sf2, sn2 = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d = X[:, None] - X[None, :]
    K = sf2 * np.exp(-0.5 * d ** 2 / ell ** 2) + sn2 * np.eye(6)
    c = cho_factor(K, lower=lower)
    return 0.5 * Y @ cho_solve(c, Y) + np.sum(np.log(np.diag(c[0])))


def nlml_autograd(theta):
    ell, sf2, sn2 = anp.exp(theta[0]), anp.exp(theta[1]), anp.exp(theta[2])
    d = X[:, None] - X[None, :]
    K = sf2 * anp.exp(-0.5 * d ** 2 / ell ** 2) + sn2 * anp.eye(6)
    L = anp.linalg.cholesky(K)
    alpha = asl.solve_triangular(L.T, asl.solve_triangular(L, Y, lower=True), lower=False)
    return 0.5 * anp.dot(Y, alpha) + anp.sum(anp.log(anp.diag(L)))


def nlml_closed_form_grad(theta):
    """d/dθ of 0.5 y^T K^-1 y + 0.5 log det K: 0.5 tr((K^-1 - α α^T) dK/dθ)."""
    ell, sf2, sn2 = np.exp(theta)
    d = X[:, None] - X[None, :]
    E = np.exp(-0.5 * d ** 2 / ell ** 2)
    K = sf2 * E + sn2 * np.eye(6)
    Ki = np.linalg.inv(K)
    a = Ki @ Y
    W = Ki - np.outer(a, a)
    dks = [sf2 * E * d ** 2 / ell ** 2, sf2 * E, sn2 * np.eye(6)]
    return np.array([0.5 * np.sum(W * dk) for dk in dks])


def test_gp_gradient_matches_autograd_and_the_closed_form():
    g = symdiff.grad(nlml)(THETA)
    np.testing.assert_allclose(g, autograd.grad(nlml_autograd)(THETA), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g, nlml_closed_form_grad(THETA), rtol=1e-8, atol=1e-12)


def test_gp_hessian_matches_autograd():
    np.testing.assert_allclose(symdiff.hessian(nlml)(THETA), autograd.hessian(nlml_autograd)(THETA),
                               rtol=1e-8, atol=1e-10)


def test_gp_through_imported_names_and_the_upper_factor():
    np.testing.assert_allclose(symdiff.grad(nlml_from_imports)(THETA), nlml_closed_form_grad(THETA), rtol=1e-8)


@pytest.mark.parametrize("lower", [True, False])
def test_cho_factor_and_cho_solve(lower):
    g = symdiff.grad(lambda t: nlml_cho(t, lower))(THETA)
    np.testing.assert_allclose(g, nlml_closed_form_grad(THETA), rtol=1e-8)


def test_export_prints_the_same_calls(tmp_path):
    path = tmp_path / "gp_grad.py"
    text = symdiff.export(nlml, path, shapes={"theta": (3,)})
    assert "np.linalg.cholesky(K)" in text
    assert "scipy.linalg.solve_triangular(L, " in text and "lower=True)" in text
    assert "import scipy.linalg" in text
    spec = importlib.util.spec_from_file_location("gp_grad", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    np.testing.assert_allclose(module.nlml_grad(THETA), nlml_closed_form_grad(THETA), rtol=1e-8)


def test_half_log_det_closed_form():
    """sum(log(diag(chol(A)))) = 0.5 log det A: along a symmetric direction the derivative is
    0.5 tr(A^-1 dA); the gradient lives on the lower triangle (NumPy reads only that one)."""
    rng = np.random.default_rng(0)
    B = rng.standard_normal((4, 4))
    A = B @ B.T / 4 + np.eye(4)
    g = symdiff.grad(lambda a: np.sum(np.log(np.diag(np.linalg.cholesky(a)))))(A)
    assert np.all(np.triu(g, 1) == 0)
    D = rng.standard_normal((4, 4))
    D = D + D.T
    np.testing.assert_allclose(np.sum(g * D), 0.5 * np.trace(np.linalg.solve(A, D)), rtol=1e-10)


def test_batched_cholesky_matches_autograd():
    rng = np.random.default_rng(1)
    B = rng.standard_normal((2, 3, 3))
    W = rng.standard_normal((2, 3, 3))

    def f(b):
        a = b @ np.swapaxes(b, -1, -2) + np.eye(3)
        return np.sum(np.linalg.cholesky(a) * W)

    def f_ag(b):
        a = anp.matmul(b, anp.swapaxes(b, -1, -2)) + anp.eye(3)
        return anp.sum(anp.linalg.cholesky(a) * W)
    np.testing.assert_allclose(symdiff.grad(f)(B), autograd.grad(f_ag)(B), rtol=1e-9, atol=1e-12)


def test_unit_diagonal_and_unknown_trans_are_refused():
    L = np.tril(np.ones((3, 3))) + np.eye(3)
    b = np.ones(3)
    with pytest.raises(UnsupportedError, match="unit_diagonal=True"):
        symdiff.grad(lambda m: np.sum(solve_triangular(m, b, lower=True, unit_diagonal=True)))(L)
    with pytest.raises(UnsupportedError, match="trans='X'"):
        symdiff.grad(lambda m: np.sum(solve_triangular(m, b, trans="X")))(L)


def test_not_positive_definite_raises_numpys_error():
    with pytest.raises(np.linalg.LinAlgError):
        symdiff.grad(lambda a: np.sum(np.linalg.cholesky(a)))(-np.eye(3))


# ---------------------------------------------------------------- eigh, eigvalsh ------------------

def _symmetric(rng, n):
    b = rng.standard_normal((n, n))
    return b + b.T


def test_eigh_matches_autograd():
    rng = np.random.default_rng(2)
    A, W = _symmetric(rng, 4), rng.standard_normal((4, 4))

    def f(a):
        w, v = np.linalg.eigh(a)
        return np.sum(w ** 2 * np.arange(4.0)) + np.sum((v * W) ** 2)  # sign-invariant in the eigenvectors

    def f_ag(a):
        w, v = anp.linalg.eigh(a)
        return anp.sum(w ** 2 * anp.arange(4.0)) + anp.sum((v * W) ** 2)
    g = symdiff.grad(f)(A)
    # autograd returns the symmetric gradient; ours lives on the lower triangle NumPy reads
    sym = autograd.grad(f_ag)(A)
    sym = (sym + sym.T) / 2
    np.testing.assert_allclose(g, np.tril(sym + sym.T) / (1.0 + np.eye(4)), rtol=1e-8, atol=1e-10)


def test_eigvalsh_closed_form_and_attributes():
    """d(sum of eigenvalues^2)/dA along a symmetric D is 2 tr(A D); eigh(a).eigenvalues works too."""
    rng = np.random.default_rng(3)
    A, D = _symmetric(rng, 3), _symmetric(rng, 3)
    g = symdiff.grad(lambda a: np.sum(np.linalg.eigh(a).eigenvalues ** 2))(A)
    np.testing.assert_allclose(np.sum(g * D), 2 * np.trace(A @ D), rtol=1e-10)
    g2 = symdiff.grad(lambda a: np.sum(np.linalg.eigvalsh(a, UPLO="U") ** 2))(A)
    np.testing.assert_allclose(np.sum(g2 * D), 2 * np.trace(A @ D), rtol=1e-10)
    assert np.all(np.tril(g2, -1) == 0)


def test_repeated_eigenvalues():
    """Eigenvalues alone: finite (the identity's largest eigenvalue has the subgradient V diag(g) V^T);
    eigenvectors at a repeated eigenvalue: not differentiable, the gradient is not finite (as JAX)."""
    eye = np.eye(3)
    g = symdiff.grad(lambda a: np.sum(np.linalg.eigvalsh(a)))(eye)
    np.testing.assert_allclose(g, eye, atol=1e-12)  # d trace(A) = identity
    W = np.arange(9.0).reshape(3, 3)
    gv = symdiff.grad(lambda a: np.sum(np.linalg.eigh(a)[1] ** 2 * W))(eye)
    assert not np.all(np.isfinite(gv))


# ---------------------------------------------------------------- svd -----------------------------

def test_svd_nuclear_norm_closed_form():
    """d sum(s) / dA = U Vh (thin), for compute_uv=False and the full call."""
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 3))
    u, _, vh = np.linalg.svd(A, full_matrices=False)
    g = symdiff.grad(lambda a: np.sum(np.linalg.svd(a, compute_uv=False)))(A)
    np.testing.assert_allclose(g, u @ vh, rtol=1e-10, atol=1e-12)
    g2 = symdiff.grad(lambda a: np.sum(np.linalg.svd(a, full_matrices=False).S))(A)
    np.testing.assert_allclose(g2, u @ vh, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_svd_vectors_match_autograd(shape):
    rng = np.random.default_rng(5)
    A = rng.standard_normal(shape)
    k = min(shape[-2:])
    Wu, Wv = rng.standard_normal(shape[:-1] + (k,)), rng.standard_normal(shape[:-2] + (k, shape[-1]))

    def f(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum((u * Wu) ** 2) + np.sum((vh * Wv) ** 2) + np.sum(s ** 3)

    def f_ag(a):
        u, s, vh = anp.linalg.svd(a, full_matrices=False)
        return anp.sum((u * Wu) ** 2) + anp.sum((vh * Wv) ** 2) + anp.sum(s ** 3)
    np.testing.assert_allclose(symdiff.grad(f)(A), autograd.grad(f_ag)(A), rtol=1e-8, atol=1e-10)


def test_svd_refusals():
    A = np.ones((4, 3)) + np.eye(4, 3)
    with pytest.raises(UnsupportedError, match="full_matrices=False"):
        symdiff.grad(lambda a: np.sum(np.linalg.svd(a)[0]))(A)
    with pytest.raises(UnsupportedError, match="hermitian=True"):
        symdiff.grad(lambda a: np.sum(np.linalg.svd(a[:3], hermitian=True)[1]))(A)


# ---------------------------------------------------------------- qr ------------------------------

def test_qr_closed_form():
    """R^T R = A^T A, so sum(log(diag(R)^2)) = log det(A^T A): gradient 2 A (A^T A)^-1."""
    rng = np.random.default_rng(6)
    A = rng.standard_normal((5, 3))
    g = symdiff.grad(lambda a: np.sum(np.log(np.diag(np.linalg.qr(a).R) ** 2)))(A)
    np.testing.assert_allclose(g, 2 * A @ np.linalg.inv(A.T @ A), rtol=1e-9)
    g2 = symdiff.grad(lambda a: np.sum(np.log(np.diag(np.linalg.qr(a, mode="r")) ** 2)))(A)
    np.testing.assert_allclose(g2, 2 * A @ np.linalg.inv(A.T @ A), rtol=1e-9)


def test_qr_q_matches_finite_differences():
    rng = np.random.default_rng(7)
    A, W = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3))
    f = lambda a: np.sum(np.linalg.qr(a)[0] * W) + np.sum(np.linalg.qr(a)[1] ** 2 * W[:, :3])  # noqa: E731
    symdiff.testing.check_grads(f, [A])


def test_qr_refusals():
    with pytest.raises(UnsupportedError, match="wide"):
        symdiff.grad(lambda a: np.sum(np.linalg.qr(a)[1]))(np.ones((2, 3)))
    with pytest.raises(UnsupportedError, match="mode='reduced'"):
        symdiff.grad(lambda a: np.sum(np.linalg.qr(a, mode="complete")[0]))(np.eye(4, 3))


# ---------------------------------------------------------------- pinv, matrix_power --------------

def test_pinv_of_a_rank_deficient_matrix_along_a_constant_rank_path():
    """pinv(t B) = pinv(B) / t for B of rank 1: d/dt sum(pinv(t B) W) = -sum(pinv(B) W) / t^2."""
    B = np.outer([1.0, 2.0, -1.0], [0.5, -1.0])
    W = np.arange(6.0).reshape(2, 3)
    g = symdiff.grad(lambda t: np.sum(np.linalg.pinv(t * B) * W))(2.0)
    np.testing.assert_allclose(g, -np.sum(np.linalg.pinv(B) * W) / 4.0, rtol=1e-9)


def test_pinv_matches_autograd_through_its_definition():
    rng = np.random.default_rng(8)
    A, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 4))

    def f_ag(a):  # full column rank: pinv(a) = (a^T a)^-1 a^T
        return anp.sum(anp.dot(anp.linalg.inv(anp.dot(a.T, a)), a.T) * W)
    g = symdiff.grad(lambda a: np.sum(np.linalg.pinv(a) * W))(A)
    np.testing.assert_allclose(g, autograd.grad(f_ag)(A), rtol=1e-8)


def test_matrix_power_closed_form_and_refusal():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((3, 3)) / 3 + np.eye(3)
    # d trace(A^3) = 3 (A^2)^T
    g = symdiff.grad(lambda a: np.trace(np.linalg.matrix_power(a, 3)))(A)
    np.testing.assert_allclose(g, 3 * (A @ A).T, rtol=1e-10)
    # d trace(A^-1) = -(A^-2)^T
    g = symdiff.grad(lambda a: np.trace(np.linalg.matrix_power(a, -1)))(A)
    np.testing.assert_allclose(g, -np.linalg.matrix_power(A, -2).T, rtol=1e-9)
    with pytest.raises(UnsupportedError, match="integer"):
        symdiff.grad(lambda a: np.sum(np.linalg.matrix_power(a, 2.0)))(A)


# ---------------------------------------------------------------- np.linalg.norm's ords -----------

def test_norm_ords_closed_forms():
    x = np.array([0.5, -2.0, 1.5, -0.25])
    np.testing.assert_allclose(symdiff.grad(lambda v: np.linalg.norm(v, 1))(x), np.sign(x))
    np.testing.assert_allclose(symdiff.grad(lambda v: np.linalg.norm(v, np.inf))(x), [0, -1, 0, 0])
    np.testing.assert_allclose(symdiff.grad(lambda v: np.linalg.norm(v, -np.inf))(x), [0, 0, 0, -1])
    p = 3.0
    expected = np.sign(x) * np.abs(x) ** (p - 1) / np.sum(np.abs(x) ** p) ** (1 - 1 / p)
    np.testing.assert_allclose(symdiff.grad(lambda v: np.linalg.norm(v, 3))(x), expected, rtol=1e-12)
    rng = np.random.default_rng(10)
    A = rng.standard_normal((4, 3))
    u, _, vh = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(symdiff.grad(lambda a: np.linalg.norm(a, "nuc"))(A), u @ vh, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(symdiff.grad(lambda a: np.linalg.norm(a, 2))(A), np.outer(u[:, 0], vh[0]),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(symdiff.grad(lambda a: np.linalg.norm(a, -2))(A), np.outer(u[:, -1], vh[-1]),
                               rtol=1e-9, atol=1e-12)
    col = np.argmax(np.abs(A).sum(axis=0))
    expected = np.zeros_like(A)
    expected[:, col] = np.sign(A[:, col])
    np.testing.assert_allclose(symdiff.grad(lambda a: np.linalg.norm(a, 1))(A), expected)


def test_norm_refusals():
    with pytest.raises(UnsupportedError, match="ord=0"):
        symdiff.grad(lambda v: np.linalg.norm(v, 0))(np.ones(3))
    with pytest.raises(symdiff.errors.ShapeError, match="axis="):
        symdiff.grad(lambda v: np.linalg.norm(v, 1))(np.ones((2, 2, 2)))
