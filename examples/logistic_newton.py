"""Newton's method for L2-regularised logistic regression, with derivatives from symdiff.

The loss below is plain NumPy: the mean log-loss written stably as
``logaddexp(0, z) - y*z`` (``= -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))`` for
``y`` in {0, 1}, without overflow for large ``|z|``), plus ``1e-3 * ||w||^2`` so that the
problem is strictly convex and has a unique minimiser. symdiff writes the NumPy code of its
gradient and Hessian; each Newton step solves ``H(w) dw = -g(w)``. Near the minimum Newton's
method converges quadratically: the gradient norm roughly squares at each step.

The Hessian is checked against its closed form ``X.T @ (X * (p*(1-p))[:, None]) / N + 2e-3*I``
with ``p = sigmoid(X @ w)``. Only NumPy is needed. Run it with

    python examples/logistic_newton.py

It prints each step and exits non-zero if any check fails. ``logistic_loss`` is also a
target for the command line:

    symdiff hessian examples/logistic_newton.py:logistic_loss --shape w=5 --shape X=500,5 --shape y=500
"""
from __future__ import annotations

import numpy as np

import symdiff

N, D = 500, 5  # samples, features
L2 = 1e-3  # regularisation strength; written as a literal inside logistic_loss
GTOL = 1e-10  # stop when ||gradient|| < GTOL
MAX_ITER = 10
HESS_RTOL = 1e-12


def logistic_loss(w, X, y):
    """Mean logistic loss of the linear model ``z = X @ w`` against labels ``y`` in {0, 1},
    plus ``1e-3 * ||w||^2``."""
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z) + 1e-3 * np.sum(w ** 2)


loss_and_grad = symdiff.value_and_grad(logistic_loss, wrt="w")
loss_hessian = symdiff.hessian(logistic_loss, wrt="w")


def section(title: str) -> None:
    print()
    print("=" * 72)
    print(title)
    print("=" * 72)


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def make_data(seed: int = 0):
    """Synthetic data: standard normal features and labels drawn from a known weight vector."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    w_true = np.array([1.5, -2.0, 0.5, 0.0, 1.0])
    y = (rng.random(N) < sigmoid(X @ w_true)).astype(float)
    return X, y, w_true


def closed_form_grad(w, X, y):
    return X.T @ (sigmoid(X @ w) - y) / len(y) + 2 * L2 * w


def closed_form_hessian(w, X, y):
    p = sigmoid(X @ w)
    return X.T @ (X * (p * (1 - p))[:, None]) / len(y) + 2 * L2 * np.eye(X.shape[1])


def rel_err(got, want, floor: float = 0.0) -> float:
    """``||got - want|| / max(||want||, floor)``: relative, but absolute for tiny ``want`` if ``floor`` > 0."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), floor))


def check_derivatives(X, y, points, title: str) -> None:
    section(title)
    for w in points:
        # the gradient vanishes at the minimum: there its error is measured against 1 (absolute)
        e_g = rel_err(loss_and_grad(w, X, y)[1], closed_form_grad(w, X, y), floor=1.0)
        e_h = rel_err(loss_hessian(w, X, y), closed_form_hessian(w, X, y))
        H = loss_hessian(w, X, y)
        e_sym = float(np.max(np.abs(H - H.T)))
        print(f"w = {np.array2string(w, precision=3)}: gradient error {e_g:.1e}, "
              f"Hessian rel. error {e_h:.1e}, max|H - H.T| {e_sym:.1e}")
        assert e_g <= HESS_RTOL, f"gradient differs from the closed form: {e_g:.3e}"
        assert e_h <= HESS_RTOL, f"Hessian differs from the closed form: {e_h:.3e}"
        assert e_sym <= 1e-15, "Hessian is not symmetric"


def newton(X, y) -> np.ndarray:
    section("2. Newton's method from w = 0")
    w = np.zeros(X.shape[1])
    print(f"{'iter':>4}  {'loss':>22}  {'||gradient||':>12}")
    norms = []
    for it in range(MAX_ITER + 1):
        loss, g = loss_and_grad(w, X, y)
        norms.append(float(np.linalg.norm(g)))
        print(f"{it:4d}  {loss:22.16f}  {norms[-1]:12.3e}")
        if norms[-1] < GTOL:
            break
        w = w - np.linalg.solve(loss_hessian(w, X, y), g)
    assert norms[-1] < GTOL, f"||gradient|| = {norms[-1]:.3e} after {MAX_ITER} Newton steps"
    print(f"converged in {it} Newton steps")
    # quadratic convergence: once close, each step at least squares the gradient norm (up to a constant)
    tail = [n for n in norms if n < 1e-2]
    rates = [b / a ** 2 for a, b in zip(tail, tail[1:]) if a > 1e-7]
    print("||g_{k+1}|| / ||g_k||^2 near the end: " + ", ".join(f"{r:.2f}" for r in rates))
    assert rates and max(rates) < 100.0, "convergence is not quadratic"
    return w


def show_code() -> None:
    section("3. The generated Hessian code (logistic_loss_hessian)")
    source = loss_hessian.source
    start = source.index("def logistic_loss_hessian(")
    end = source.find("\n\n\ndef ", start)
    print(source[start:] if end < 0 else source[start:end + 1])
    helpers = [name for name in ("_diag_embed", "_scatter") if f"def {name}(" in source]
    if helpers:
        print(f"(helpers defined in the same module: {', '.join(helpers)}; print loss_hessian.source for "
              "the whole module)")


def main() -> int:
    X, y, w_true = make_data()
    rng = np.random.default_rng(1)
    check_derivatives(X, y, [np.zeros(D), w_true, 3.0 * rng.normal(size=D)],
                      "1. symdiff's gradient and Hessian against the closed forms")
    w = newton(X, y)
    print(f"fitted w = {np.array2string(w, precision=4)}")
    print(f"true   w = {np.array2string(w_true, precision=4)}")
    check_derivatives(X, y, [w], "2b. ... and at the minimum")
    assert np.linalg.norm(closed_form_grad(w, X, y)) < 1e-9, "the closed-form gradient is not zero at the result"
    assert np.all(np.linalg.eigvalsh(loss_hessian(w, X, y)) > 0), "the Hessian is not positive definite"
    show_code()
    print()
    print("logistic_newton: all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
