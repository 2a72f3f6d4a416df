"""Banded Jacobians and Hessians (symdiff.ad.structure): the values against finite differences and
closed forms written by hand, and the generated code built from diagonals, not dense products."""
import numpy as np
import pytest

import symdiff

from test_derivatives import fd_jacobian, rosen_hess_by_hand, rosenbrock

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 6))
B = RNG.standard_normal((6, 4))


def body(source: str, name: str) -> str:
    """The code of the generated function ``name``, without its comments."""
    code = source.split(f"def {name}(")[1].split("\n\n\ndef ")[0]
    return "\n".join(line for line in code.splitlines() if not line.strip().startswith("#"))


def test_rosenbrock_hessian_is_built_from_three_diagonals():
    h = symdiff.hessian(rosenbrock)
    for n in (2, 3, 8, 50):
        x = np.random.default_rng(n).uniform(-2, 2, n)
        np.testing.assert_allclose(h(x), rosen_hess_by_hand(x), rtol=1e-13, atol=1e-12)
    code = body(h.source, "rosenbrock_hessian")
    flat = " ".join(code.split()).replace("( ", "(")  # a long call is broken over lines: read as one
    assert "_banded((n_x, n_x), (-1, 0, 1)," in flat
    assert "_diag_embed" not in code and "[:, None]" not in code and "@" not in code


def test_wider_band_and_symmetry():
    def f(x):
        return np.sum(np.sin(x[2:] * x[:-2])) + np.sum(x[1:-1] ** 3) + 0.5 * np.sum(x ** 2)
    x = RNG.uniform(-1, 1, 9)
    hessian = symdiff.hessian(f)
    H = hessian(x)
    np.testing.assert_allclose(H, H.T, atol=1e-13)
    np.testing.assert_allclose(H, fd_jacobian(symdiff.grad(f), x), rtol=1e-6, atol=1e-7)
    # by hand: s_i = x[i+2] x[i]; d2/dx[i]dx[i+2] sin(s) = cos(s) - s sin(s); d2/dx[i]^2 = -x[i+2]^2 sin(s)
    a, b = x[:-2], x[2:]
    s = a * b
    hand = np.eye(9) + np.diag(np.r_[0, 6 * x[1:-1], 0])
    hand += np.diag(np.r_[-b ** 2 * np.sin(s), 0, 0]) + np.diag(np.r_[0, 0, -a ** 2 * np.sin(s)])
    hand += np.diag(np.cos(s) - s * np.sin(s), 2) + np.diag(np.cos(s) - s * np.sin(s), -2)
    np.testing.assert_allclose(H, hand, rtol=1e-13, atol=1e-13)
    assert "(-2, 0, 2)" in body(hessian.source, "f_hessian")


JACOBIAN_CASES = {
    "product of shifts (not square)": lambda x: x[1:] * x[:-1],
    "shift by two": lambda x: np.exp(x[2:]) - x[:-2] ** 2,
    "negative start": lambda x: np.sin(x[-3:]) * 2.0,
    "elements": lambda x: x * x[0] + np.exp(x) * x[-1],
    "element and concatenate": lambda x: x[1:] ** 2 * x[-2] * np.concatenate([x[:2], x[3:]]),
    "element of a shift": lambda x: x * (x[1:] * x[:-1])[-1] + x * x[2:][0],
    "inner slice": lambda x: np.cos(x)[1:4] * x[2:5],
    "step two (dense)": lambda x: x[::2] ** 2,
    "times a sum (dense term)": lambda x: x * np.sum(x ** 2),
    "matrix times diagonal": lambda x: A @ np.tanh(x),
    "vector times matrix": lambda x: x ** 3 @ B,
    "matrix times a shift": lambda x: A[:, 1:] @ x[:-1] ** 2 + A[:, :-2] @ x[2:],
    "shift times a matrix": lambda x: np.sin(x[1:]) @ B[:5],
    "times dot products of shifts": lambda x: x * (x[1:] @ x[:-1] + x @ x),
    "concatenate (dense)": lambda x: np.concatenate([x[1:], x[:1] ** 2]),
    "cumsum (dense)": lambda x: np.cumsum(x ** 2),
    "sum": lambda x: np.sum(np.exp(x)),
    "times sums of shifts": lambda x: x * (np.sum(x[1:] * x[:-1]) + np.sum(x[2:] ** 2) + np.sum(x[:-3])),
    "two-by-one outer (dense)": lambda x: np.outer(x[:2], x ** 2).ravel(),
}


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_jacobian_against_finite_differences(name):
    f = JACOBIAN_CASES[name]
    x = RNG.uniform(0.2, 1.5, 6)
    np.testing.assert_allclose(symdiff.jacobian(f)(x), fd_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_diagonal_product_is_the_scaled_matrix():
    def f(x):
        return A @ (x * x)
    jac = symdiff.jacobian(f)
    x = RNG.standard_normal(6)
    np.testing.assert_allclose(jac(x), A * (2 * x), rtol=1e-14)
    code = body(jac.source, "f_jacobian")
    assert "_banded" not in code and "@" not in code


def test_third_derivative_and_gradient_through_a_hessian():
    def f(x):
        return np.sum(x[1:] ** 2 * x[:-1]) + np.sum(np.sin(x))
    x = RNG.standard_normal(5)
    h = symdiff.hessian(f)
    t = symdiff.jacobian(h)(x)
    assert t.shape == (5, 5, 5)
    np.testing.assert_allclose(t, fd_jacobian(h, x), rtol=1e-6, atol=1e-7)
    C = RNG.standard_normal((5, 5))

    def g(x):
        return np.sum(h(x) * C)
    np.testing.assert_allclose(symdiff.grad(g)(x), fd_jacobian(lambda y: np.sum(h(y) * C), x),
                               rtol=1e-6, atol=1e-7)


def test_hessian_with_respect_to_two_vectors():
    def f(a, b):
        return np.sum(a[1:] * b[:-1] ** 2) + np.sum(np.exp(a) * b)
    a, b = RNG.standard_normal(4), RNG.standard_normal(4)
    blocks = symdiff.hessian(f, wrt=("a", "b"))(a, b)
    for i, wrt in enumerate(("a", "b")):
        grad = symdiff.grad(f, wrt=wrt)
        for j, other in enumerate((a, b)):
            def gj(t, j=j):
                return grad(t, b) if j == 0 else grad(a, t)
            np.testing.assert_allclose(blocks[i][j], fd_jacobian(gj, other), rtol=1e-6, atol=1e-7)
