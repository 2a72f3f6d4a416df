"""L2-regularised logistic regression with ``scipy.optimize.minimize(method="trust-krylov")``, the
derivatives from ``symdiff.optimize.objective``.

The loss is plain NumPy, written as one would on paper. ``objective(loss)`` gives ``fun``, ``jac``,
``hess`` and ``hessp`` in SciPy's calling order (``hessp(w, p, X, y, lam)``: the direction before the
data passed through ``args=``), and ``fun``/``jac`` at the same point share one value-and-gradient call.
trust-krylov needs only Hessian-vector products, so the d x d Hessian is never formed.

The script checks symdiff's derivatives against the closed forms (gradient ``X^T (p - y)/n + lam w``,
Hessian ``X^T diag(p (1 - p)) X / n + lam I``), then minimises from zero and checks that the result is a
stationary point and agrees with L-BFGS-B run to a tight tolerance; it also minimises the 100-dimensional
Rosenbrock function. Needs SciPy. Run it with

    python examples/optimize_trust_krylov.py

It prints each step and exits non-zero if any check fails.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, rosen

from symdiff.optimize import objective


def loss(w, X, y, lam):
    """Mean logistic loss of the labels ``y`` (0 or 1) under the scores ``X @ w``, plus ``lam/2 |w|^2``."""
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z) + 0.5 * lam * np.sum(w ** 2)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def data(n: int = 400, d: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ w_true))).astype(float)
    return X, y


def check_derivatives(obj, X, y, lam) -> None:
    rng = np.random.default_rng(1)
    w, p = rng.normal(size=X.shape[1]), rng.normal(size=X.shape[1])
    s = 1 / (1 + np.exp(-X @ w))
    grad = X.T @ (s - y) / len(y) + lam * w
    hess = X.T @ (s * (1 - s) * X.T).T / len(y) + lam * np.eye(X.shape[1])
    errors = {"jac": np.linalg.norm(obj.jac(w, X, y, lam) - grad) / np.linalg.norm(grad),
              "hess": np.linalg.norm(obj.hess(w, X, y, lam) - hess) / np.linalg.norm(hess),
              "hessp": np.linalg.norm(obj.hessp(w, p, X, y, lam) - hess @ p) / np.linalg.norm(hess @ p)}
    print("relative errors against the closed forms: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    assert all(v < 1e-12 for v in errors.values()), errors


def main() -> int:
    X, y = data()
    lam = 0.1
    obj = objective(loss)  # SciPy's x is w, the first argument; args=(X, y, lam) are the others
    print("1. derivatives")
    check_derivatives(obj, X, y, lam)

    print("2. minimize(method='trust-krylov', jac=obj.jac, hessp=obj.hessp)")
    obj.evaluations = dict.fromkeys(obj.evaluations, 0)
    w0 = np.zeros(X.shape[1])
    res = minimize(obj.fun, w0, args=(X, y, lam), method="trust-krylov", jac=obj.jac, hessp=obj.hessp,
                   options={"gtol": 1e-8})
    gnorm = np.linalg.norm(obj.jac(res.x, X, y, lam))
    print(f"   success={res.success} iterations={res.nit} fun={res.fun:.12f} |grad|={gnorm:.1e}")
    print(f"   SciPy asked for {res.nfev} values and {res.njev} gradients; symdiff computed "
          f"{obj.evaluations['value_and_grad']} value-and-gradient calls and {obj.evaluations['hessp']} products")
    assert res.success and gnorm < 1e-8
    assert obj.evaluations["value_and_grad"] <= max(res.nfev, res.njev) + 1  # fun and jac share each point

    print("3. the same with jac=True (one value_and_grad function)")
    res2 = minimize(obj.value_and_grad, w0, args=(X, y, lam), jac=True, hessp=obj.hessp, method="trust-krylov",
                    options={"gtol": 1e-8})
    assert res2.success and np.max(np.abs(res2.x - res.x)) < 1e-7

    print("4. against L-BFGS-B, run to a tight tolerance")
    ref = minimize(loss, w0, args=(X, y, lam), jac=obj.jac, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
    print(f"   max |w - w_lbfgs| = {np.max(np.abs(res.x - ref.x)):.1e} (L-BFGS-B took {ref.nit} iterations)")
    assert np.max(np.abs(res.x - ref.x)) < 1e-6

    print("5. Rosenbrock, n = 100, trust-krylov with hessp")
    rb = objective(rosenbrock)
    x0 = np.resize([1.3, 0.7, 0.8, 1.9, 1.2], 100)
    res3 = minimize(rb.fun, x0, jac=rb.jac, hessp=rb.hessp, method="trust-krylov", options={"gtol": 1e-8})
    err = np.max(np.abs(res3.x - 1))
    print(f"   success={res3.success} iterations={res3.nit} f={res3.fun:.1e} max|x - 1|={err:.1e}")
    assert res3.success and np.max(np.abs(res3.x - 1)) < 1e-8 and abs(rb.fun(res3.x) - rosen(res3.x)) < 1e-15
    print("optimize_trust_krylov: all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
