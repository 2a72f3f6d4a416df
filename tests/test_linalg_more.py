"""The rest of linear algebra: scipy.linalg's det, inv, solve (assume_a), lu_factor/lu_solve, cho_solve,
block_diag, solve_banded, solve_sylvester, expm, logm, sqrtm, and np.linalg.eig, eigvals, lstsq. Closed forms, central
differences, autograd and JAX where they have the function, the run-time refusals (complex results, lost
rank), the refusal of an LU factor used otherwise, and decompositions computed once when several of
their outputs are used. The registry tests check each entry's gradient (tests/test_registry.py,
tests/test_surface.py) and Hessian (tests/test_forward.py) over its cases."""
import autograd
import autograd.numpy as anp
import autograd.scipy.linalg as asl
import numpy as np
import pytest
import scipy.linalg
from scipy.linalg import block_diag, det, expm, logm, lu_factor, lu_solve, solve, solve_sylvester, sqrtm

import symdiff
from symdiff.errors import UnsupportedError
from symdiff.numpy.decompositions import real_spectrum

RNG = np.random.default_rng(20261202)
N = 4
A = RNG.uniform(-1.0, 1.0, (N, N)) + 3.0 * np.eye(N)                 # well conditioned
B = RNG.uniform(-1.0, 1.0, (N, N))
SPD = B @ B.T / N + np.eye(N)                                         # eigenvalues >= 1
W = RNG.standard_normal((N, N))                                       # weights of the outputs
b = RNG.standard_normal(N)


def directional(f, x, e, h=1e-6):
    return (f(x + h * e) - f(x - h * e)) / (2 * h)


def assert_matches_fd(f, x, g, directions=3, rtol=1e-6):
    rng = np.random.default_rng(1)
    for _ in range(directions):
        e = rng.standard_normal(x.shape)
        fd = directional(f, x, e)
        np.testing.assert_allclose(np.sum(g * e), fd, rtol=rtol, atol=1e-8 * max(1.0, abs(fd)))


# ---------------------------------------------------------------- closed forms --------------------

def test_det_gradient_is_det_times_inverse_transpose():
    g = symdiff.grad(lambda a: det(a))(A)
    np.testing.assert_allclose(g, np.linalg.det(A) * np.linalg.inv(A).T, rtol=1e-10)


def test_expm_of_a_diagonal_matrix_has_divided_differences():
    d = np.array([0.3, -0.5, 1.1, 0.2])
    g = symdiff.grad(lambda a: np.sum(W * expm(a)))(np.diag(d))
    dd = (np.exp(d)[:, None] - np.exp(d)[None, :]) / (d[:, None] - d[None, :] + np.eye(N))
    dd[np.diag_indices(N)] = np.exp(d)
    np.testing.assert_allclose(g, W * dd, rtol=1e-9, atol=1e-12)


def test_expm_of_a_nilpotent_matrix():
    """a^3 = 0: expm's Frechet series sum_k 1/k! sum_j a^j E a^(k-1-j) ends at k = 5, and its adjoint
    puts a^T in place of a."""
    from math import factorial
    a = np.triu(RNG.uniform(-1.0, 1.0, (3, 3)), 1)
    w = W[:3, :3]
    value, g = symdiff.value_and_grad(lambda x: np.sum(w * expm(x)))(a)
    np.testing.assert_allclose(value, np.sum(w * (np.eye(3) + a + a @ a / 2)), rtol=1e-12)
    p = [np.linalg.matrix_power(a.T, k) for k in range(3)] + [np.zeros((3, 3))] * 3
    expected = sum(p[j] @ w @ p[k - 1 - j] / factorial(k) for k in range(1, 6) for j in range(k))
    np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12)


def _spd_frechet_adjoint(f, df_ratio, a, g):
    """For symmetric a = V diag(w) V^T: V ((V^T G V) o D) V^T, D_ij = (f(w_i) - f(w_j)) / (w_i - w_j)."""
    w, v = np.linalg.eigh(a)
    d = (f(w)[:, None] - f(w)[None, :]) / (w[:, None] - w[None, :] + np.eye(len(w)))
    d[np.diag_indices(len(w))] = df_ratio(w)
    return v @ ((v.T @ g @ v) * d) @ v.T


def test_sqrtm_of_spd_matches_the_eigh_formula():
    s = symdiff.value_and_grad(lambda a: np.sum(W * sqrtm(a)))
    value, g = s(SPD)
    w, v = np.linalg.eigh(SPD)
    np.testing.assert_allclose(value, np.sum(W * ((v * np.sqrt(w)) @ v.T)), rtol=1e-10)
    np.testing.assert_allclose(g, _spd_frechet_adjoint(np.sqrt, lambda x: 0.5 / np.sqrt(x), SPD, W), rtol=1e-8,
                               atol=1e-10)


def test_logm_of_spd_matches_the_eigh_formula():
    g = symdiff.grad(lambda a: np.sum(W * logm(a)))(SPD)
    np.testing.assert_allclose(g, _spd_frechet_adjoint(np.log, lambda x: 1 / x, SPD, W), rtol=1e-7, atol=1e-9)


def test_logdet_through_cholesky_hessian_closed_form():
    """f = sum(log(diag(cholesky(K)))) = log det K / 2 with K = t0 S + t1 I + t2 B B^T: gradient
    tr(K^-1 K_j) / 2 and Hessian -tr(K^-1 K_k K^-1 K_j) / 2 (the Cholesky vjp of a diagonal cotangent)."""
    parts = [SPD, np.eye(N), B @ B.T]

    def f(t):
        K = t[0] * SPD + t[1] * np.eye(N) + t[2] * (B @ B.T)
        return np.sum(np.log(np.diag(np.linalg.cholesky(K))))
    t = np.array([1.0, 0.5, 0.3])
    Ki = np.linalg.inv(sum(tj * p for tj, p in zip(t, parts)))
    np.testing.assert_allclose(symdiff.grad(f)(t), [0.5 * np.trace(Ki @ p) for p in parts], rtol=1e-10)
    h = symdiff.hessian(f)(t)
    expected = [[-0.5 * np.trace(Ki @ p @ Ki @ q) for q in parts] for p in parts]
    np.testing.assert_allclose(h, expected, rtol=1e-9)


def test_cho_solve_of_a_traced_factor_gives_the_textbook_gp_gradient():
    x = np.linspace(0.0, 1.0, 7)
    y = np.cos(4 * x)

    def nlml(theta):
        K = np.exp(theta[0]) * np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / 0.3 ** 2) + np.exp(theta[1]) * np.eye(7)
        L = np.linalg.cholesky(K)
        return 0.5 * y @ scipy.linalg.cho_solve((L, True), y) + np.sum(np.log(np.diag(L)))
    theta = np.array([0.2, -1.5])
    kf = np.exp(theta[0]) * np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / 0.3 ** 2)
    K = kf + np.exp(theta[1]) * np.eye(7)
    alpha, Ki = np.linalg.solve(K, y), np.linalg.inv(K)
    expected = [0.5 * np.trace((Ki - np.outer(alpha, alpha)) @ dk) for dk in (kf, np.exp(theta[1]) * np.eye(7))]
    dnlml = symdiff.grad(nlml)
    np.testing.assert_allclose(dnlml(theta), expected, rtol=1e-9)
    assert "scipy.linalg.cho_solve((L, True)" in dnlml.source


def test_lstsq_gradient_closed_form():
    a = RNG.standard_normal((6, 3))
    w = RNG.standard_normal(3)
    g_b = symdiff.grad(lambda bb: np.sum(w * np.linalg.lstsq(a, bb, rcond=None)[0]))(RNG.standard_normal(6))
    np.testing.assert_allclose(g_b, a @ np.linalg.solve(a.T @ a, w), rtol=1e-10)
    bb = RNG.standard_normal(6)

    def res(m):
        return np.linalg.lstsq(m, bb, rcond=None)[1][0]
    g = symdiff.grad(res)(a)
    x = np.linalg.lstsq(a, bb, rcond=None)[0]
    np.testing.assert_allclose(g, -2 * np.outer(bb - a @ x, x), rtol=1e-9, atol=1e-12)  # d|b - Ax|^2 at the optimum


def test_block_diag_gradient_is_the_blocks_of_the_cotangent():
    p, q = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))
    w = RNG.standard_normal((5, 5))
    gp, gq = symdiff.grad(lambda x, y: np.sum(w * block_diag(x, y)), wrt=(0, 1))(p, q)
    np.testing.assert_array_equal(gp, w[:2, :3])
    np.testing.assert_array_equal(gq, w[2:, 3:])


# ---------------------------------------------------------------- central differences -------------

@pytest.mark.parametrize("name, f, x", [
    ("solve pos lower", lambda a: np.sum(solve(a, b, assume_a="pos", lower=True) ** 2), SPD),
    ("solve sym", lambda a: np.sum(W[:, :2] * solve(a, W[:, 2:], assume_a="sym")), SPD),
    ("solve transposed", lambda a: np.sum(solve(a, b, transposed=True) ** 3), A),
    ("lu_solve", lambda a: np.sum(lu_solve(lu_factor(a), b) ** 2), A),
    ("lu_solve trans", lambda a: np.sum(lu_solve(lu_factor(a), W[:, :2], trans=1) * W[:, 2:]), A),
    ("sylvester", lambda a: np.sum(W * solve_sylvester(a, a.T + 1.0, W)), A),
    ("expm stack", lambda a: np.sum(expm(np.stack([0.3 * a, -0.2 * a.T])) ** 2), A),
    ("eig vectors", lambda a: np.sum(np.linalg.eig(a)[1] ** 2 * W), real_spectrum(RNG, (N, N))),
    ("solve_banded", lambda ab: np.sum(scipy.linalg.solve_banded((1, 2), ab, W[:, :2]) ** 2),
     np.vstack([RNG.uniform(-0.5, 0.5, (1, N)), 3.0 + RNG.uniform(0, 1, (1, N)), RNG.uniform(-0.5, 0.5, (2, N))])),
])
def test_central_differences(name, f, x):
    assert_matches_fd(f, x, symdiff.grad(f)(x))


def test_solve_with_assume_a_reads_one_triangle():
    """assume_a='pos' reads the upper triangle (lower=False): the lower one has zero gradient."""
    g = symdiff.grad(lambda a: np.sum(solve(a, b, assume_a="pos") ** 2))(SPD)
    np.testing.assert_array_equal(np.tril(g, -1), 0.0)
    assert np.abs(np.triu(g, 1)).max() > 1e-3


# ---------------------------------------------------------------- autograd and JAX ----------------

def test_sqrtm_and_sylvester_against_autograd():
    c = RNG.uniform(-1.0, 1.0, (N, N)) + 3.0 * np.eye(N)
    f = lambda a: np.sum(W * sqrtm(a)) + np.sum(solve_sylvester(a, c, W) ** 2)  # noqa: E731
    fa = lambda a: anp.sum(W * asl.sqrtm(a)) + anp.sum(asl.solve_sylvester(a, c, W) ** 2)  # noqa: E731
    np.testing.assert_allclose(symdiff.grad(f)(SPD + A), autograd.grad(fa)(SPD + A), rtol=1e-7, atol=1e-10)


def test_solve_banded_against_autograd():
    ab = RNG.uniform(-0.5, 0.5, (4, 6))
    ab[1] += 3.0                                          # (l, u) = (2, 1): the main diagonal is row 1
    y = RNG.standard_normal(6)                            # (autograd's rule takes a vector b)
    f = lambda m, r: np.sum(scipy.linalg.solve_banded((2, 1), m, r) ** 2 * np.arange(6.0))  # noqa: E731
    fa = lambda m, r: anp.sum(asl.solve_banded((2, 1), m, r) ** 2 * np.arange(6.0))  # noqa: E731
    got = symdiff.grad(f, wrt=(0, 1))(ab, y)
    for k in (0, 1):
        np.testing.assert_allclose(got[k], autograd.grad(fa, k)(ab, y), rtol=1e-9, atol=1e-12)


def test_eig_against_autograd():
    a = real_spectrum(RNG, (N, N))
    f = lambda x: np.sum(np.linalg.eig(x)[0] * np.arange(N)) + np.sum(np.linalg.eig(x)[1] ** 2 * W)  # noqa: E731
    fa = lambda x: anp.sum(anp.real(anp.linalg.eig(x)[0]) * np.arange(N)) + anp.sum(  # noqa: E731
        anp.real(anp.linalg.eig(x)[1]) ** 2 * W)
    np.testing.assert_allclose(symdiff.grad(f)(a), autograd.grad(fa)(a), rtol=1e-7, atol=1e-10)


def test_expm_and_solve_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl
    f = lambda a: np.sum(W * expm(0.5 * a)) + np.sum(solve(a @ a.T, b, assume_a="pos") ** 2)  # noqa: E731
    fj = lambda a: jnp.sum(W * jsl.expm(0.5 * a)) + jnp.sum(jsl.solve(a @ a.T, b, assume_a="pos") ** 2)  # noqa: E731
    np.testing.assert_allclose(symdiff.grad(f)(A), np.asarray(jax.jit(jax.grad(fj))(jnp.asarray(A))), rtol=1e-8)


# ---------------------------------------------------------------- refusals at run and trace time ---

def test_sqrtm_and_logm_raise_at_run_time_off_their_real_domain():
    neg = np.diag([1.0, -1.0, 2.0, 3.0])
    for name in ("sqrtm", "logm"):
        g = symdiff.grad(lambda a: np.sum(getattr(scipy.linalg, name)(a)))
        g(SPD)  # compiled and fine on the real domain
        with pytest.raises(ValueError, match=f"scipy.linalg.{name} at .*negative real axis"):
            g(neg)


def test_eig_raises_at_run_time_on_complex_eigenvalues():
    g = symdiff.grad(lambda a: np.sum(np.linalg.eigvals(a) ** 2))
    g(real_spectrum(RNG, (2, 2)))
    with pytest.raises(ValueError, match="complex eigenvalues"):
        g(np.array([[0.0, 1.0], [-1.0, 0.0]]))


def test_lstsq_raises_at_run_time_below_full_rank_and_refuses_wide_matrices():
    g = symdiff.grad(lambda a, y: np.sum(np.linalg.lstsq(a, y, rcond=None)[0] ** 2))
    y = RNG.standard_normal(5)
    g(RNG.standard_normal((5, 2)), y)
    with pytest.raises(ValueError, match="rank 1 < 2"):
        g(np.ones((5, 2)), y)
    with pytest.raises(UnsupportedError, match="wide 2x5 matrix"):
        symdiff.grad(lambda a: np.sum(np.linalg.lstsq(a, y[:2], rcond=None)[0]))(np.ones((2, 5)))


def test_lu_factor_used_otherwise_is_refused_in_reverse_and_forward_mode():
    def logdet_by_lu(a):
        lu, piv = lu_factor(a)
        return np.sum(np.log(np.abs(np.diag(lu))))
    with pytest.raises(UnsupportedError, match="lu_factor.*only through scipy.linalg.lu_solve"):
        symdiff.grad(logdet_by_lu)(A)
    with pytest.raises(UnsupportedError, match="lu_factor.*only through scipy.linalg.lu_solve"):
        symdiff.jvp(logdet_by_lu)(A, np.ones_like(A))
    h = symdiff.hessian(lambda a: np.sum(lu_solve(lu_factor(a), b) ** 2))(A)   # its use in lu_solve: fine
    assert h.shape == (N, N, N, N) and np.all(np.isfinite(h))


def test_solve_refuses_other_structures():
    with pytest.raises(UnsupportedError, match="assume_a='banded'.*solve_banded"):
        symdiff.grad(lambda a: np.sum(solve(a, b, assume_a="banded")))(A)


# ---------------------------------------------------------------- one call per decomposition ------

@pytest.mark.parametrize("fn, call, count", [
    (lambda a: np.sum(np.linalg.eigh(a)[0] * np.linalg.eigh(a)[1][0] ** 2), "np.linalg.eigh(", 1),
    (lambda a: np.sum(np.linalg.svd(a, full_matrices=False)[0][0] * np.linalg.svd(a, full_matrices=False)[1]),
     "np.linalg.svd(", 1),
    (lambda a: np.sum(np.linalg.qr(a)[0] ** 2) + np.sum(np.linalg.qr(a)[1]), "np.linalg.qr(", 1),
    (lambda a: np.sum(lu_solve(lu_factor(a), b)), "scipy.linalg.lu_factor(", 1),
])
def test_a_decomposition_is_computed_once(fn, call, count):
    """Several outputs of one decomposition, used by the value and the gradient: one call per function."""
    g = symdiff.value_and_grad(fn)
    x = SPD if "eigh" in call else A
    g(x)
    for body in g.source.split("\ndef ")[1:]:
        if body.startswith(("_", "C")):
            continue
        code = [line for line in body.splitlines() if not line.strip().startswith("#")]
        assert sum(line.count(call) for line in code) <= count, body
    assert_matches_fd(fn, x, g(x)[1])
