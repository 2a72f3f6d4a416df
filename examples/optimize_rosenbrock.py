"""Minimise the n-dimensional Rosenbrock function with SciPy, using derivatives from symdiff.

The function below is plain NumPy. symdiff traces it once and writes NumPy code for its
gradient, its Hessian and its Hessian-vector product; those are handed to
``scipy.optimize.minimize``:

* ``method="trust-exact"`` with ``jac=symdiff.grad(rosenbrock)`` and
  ``hess=symdiff.hessian(rosenbrock)`` (the dense Hessian), and
* ``method="Newton-CG"`` with ``hessp=symdiff.hvp(rosenbrock)`` (Hessian times a vector,
  without ever forming the Hessian).

Before that, the derivatives are checked against SciPy's hand-written ``rosen_der``,
``rosen_hess`` and ``rosen_hess_prod``. Needs SciPy. Run it with

    python examples/optimize_rosenbrock.py

It prints each step and exits non-zero if any check fails.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess, rosen_hess_prod

import symdiff


def rosenbrock(x):
    """The n-dimensional Rosenbrock function; its minimum is 0, at x = (1, 1, ..., 1)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


rosenbrock_value_and_grad = symdiff.value_and_grad(rosenbrock)
rosenbrock_grad = symdiff.grad(rosenbrock)
rosenbrock_hessian = symdiff.hessian(rosenbrock)
rosenbrock_hvp = symdiff.hvp(rosenbrock)

RTOL = 1e-10  # derivative checks against scipy, relative (Frobenius / 2-norm)
XTOL = 1e-6  # distance of the found minimum from (1, ..., 1), max norm


def section(title: str) -> None:
    print()
    print("=" * 72)
    print(title)
    print("=" * 72)


def rel_err(got, want) -> float:
    """Relative error ``||got - want|| / ||want||`` (norms of the flattened arrays)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), np.finfo(float).tiny))


def classic_start(n: int) -> np.ndarray:
    """The classic starting point (-1.2, 1, -1.2, 1, ...)."""
    return np.resize([-1.2, 1.0], n)


def function_source(source: str, name: str) -> str:
    """The text of the top-level function ``name`` in the module text ``source``."""
    start = source.index(f"def {name}(")
    end = source.find("\n\n\ndef ", start)
    return source[start:] if end < 0 else source[start:end + 1]


def check_derivatives() -> None:
    section("1. symdiff's derivatives against scipy.optimize.rosen_der / rosen_hess / rosen_hess_prod")
    rng = np.random.default_rng(0)
    worst = 0.0
    for n in (10, 100):
        points = [classic_start(n), np.ones(n)] + [rng.uniform(-2.0, 2.0, n) for _ in range(3)]
        for k, x in enumerate(points):
            v = rng.normal(size=n)
            value, g = rosenbrock_value_and_grad(x)
            errs = {
                "value": abs(value - rosen(x)) / max(abs(rosen(x)), 1.0),
                "grad": rel_err(rosenbrock_grad(x), rosen_der(x)),
                "value_and_grad": rel_err(g, rosen_der(x)),
                "hessian": rel_err(rosenbrock_hessian(x), rosen_hess(x)),
                "hvp": rel_err(rosenbrock_hvp(x, v), rosen_hess_prod(x, v)),
            }
            worst = max(worst, *errs.values())
            print(f"n={n:3d} point {k}: " + "  ".join(f"{key} {err:.1e}" for key, err in errs.items()))
            for key, err in errs.items():
                assert err <= RTOL, f"{key} differs from scipy at n={n}, point {k}: relative error {err:.3e}"
    print(f"largest relative error: {worst:.1e} (tolerance {RTOL:.0e})")


def run(label: str, x0: np.ndarray, **kwargs):
    """``minimize`` with symdiff's derivatives, then the same with SciPy's hand-written ones."""
    res = minimize(rosenbrock, x0, **kwargs)
    ref_kwargs = dict(kwargs, jac=rosen_der)
    if "hess" in kwargs:
        ref_kwargs["hess"] = rosen_hess
    if "hessp" in kwargs:
        ref_kwargs["hessp"] = rosen_hess_prod
    ref = minimize(rosen, x0, **ref_kwargs)
    err = float(np.max(np.abs(res.x - 1.0)))
    hess = "Hessian-vector" if "hessp" in kwargs else "Hessian"
    print(f"{label}:")
    print(f"    success={res.success}  f={res.fun:.3e}  max|x - 1|={err:.1e}")
    print(f"    iterations={res.nit}  function evals={res.nfev}  gradient evals={res.njev}  "
          f"{hess} evals={res.nhev}")
    print(f"    (with scipy's rosen_der/rosen_hess{'_prod' if 'hessp' in kwargs else ''}: iterations={ref.nit}  "
          f"function evals={ref.nfev}  gradient evals={ref.njev}  {hess} evals={ref.nhev})")
    return res, ref


def optimize(n: int, x0: np.ndarray, start: str) -> None:
    section(f"2. scipy.optimize.minimize, n = {n}, from x0 = {start}")
    methods = {
        "trust-exact (jac=grad, hess=hessian)": dict(
            method="trust-exact", jac=rosenbrock_grad, hess=rosenbrock_hessian, options={"gtol": 1e-10}),
        "Newton-CG (jac=grad, hessp=hvp)": dict(
            method="Newton-CG", jac=rosenbrock_grad, hessp=rosenbrock_hvp, options={"xtol": 1e-12}),
    }
    for label, kwargs in methods.items():
        res, _ = run(label, x0, **kwargs)
        err = float(np.max(np.abs(res.x - 1.0)))
        assert res.success, f"{label}: {res.message}"
        assert err <= XTOL, f"{label}: did not reach the minimum (max|x - 1| = {err:.3e})"
        assert res.fun <= 1e-12, f"{label}: f = {res.fun:.3e} at the end"


def local_minimum() -> None:
    """For n >= 4 the n-dimensional Rosenbrock function has a second, local minimum near
    (-1, 1, ..., 1) (f ~ 3.99); from the classic start with n = 10, trust-exact ends there. That is
    the function, not the derivatives: SciPy's hand-written derivatives end at the same point."""
    n = 10
    section(f"2b. n = {n} from (-1.2, 1, -1.2, 1, ...): trust-exact finds the local minimum near (-1, 1, ..., 1)")
    res, ref = run("trust-exact (jac=grad, hess=hessian)", classic_start(n), method="trust-exact",
                   jac=rosenbrock_grad, hess=rosenbrock_hessian, options={"gtol": 1e-10})
    print(f"    x[0] = {res.x[0]:.6f}, f = {res.fun:.6f}; with scipy's derivatives x[0] = {ref.x[0]:.6f}, "
          f"f = {ref.fun:.6f}")
    assert abs(res.fun - ref.fun) <= 1e-8 and np.max(np.abs(res.x - ref.x)) <= 1e-6, \
        "symdiff's derivatives lead somewhere else than scipy's"
    assert np.linalg.norm(rosenbrock_grad(res.x)) <= 1e-6, "trust-exact did not stop at a stationary point"


def show_code() -> None:
    section("3. The generated Hessian code (rosenbrock_hessian)")
    source = rosenbrock_hessian.source
    print(function_source(source, "rosenbrock_hessian"))
    helpers = [name for name in ("_banded", "_scatter", "_diag_embed") if f"def {name}(" in source]
    if helpers:
        print(f"(helpers defined in the same module: {', '.join(helpers)}; print rosenbrock_hessian.source "
              "for the whole module)")
    section("   and the generated Hessian-vector product (rosenbrock_hvp)")
    print(function_source(rosenbrock_hvp.source, "rosenbrock_hvp"))


def main() -> int:
    check_derivatives()
    optimize(2, classic_start(2), "(-1.2, 1), the classic start")
    optimize(4, classic_start(4), "(-1.2, 1, -1.2, 1)")
    optimize(100, np.resize([1.3, 0.7, 0.8, 1.9, 1.2], 100),
             "(1.3, 0.7, 0.8, 1.9, 1.2) repeated, SciPy tutorial's start")
    local_minimum()
    show_code()
    print()
    print("optimize_rosenbrock: all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
