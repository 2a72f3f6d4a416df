"""ODE solves: the generated value-and-gradient code (the adjoint method) against SciPy's solve alone and
autograd's ``odeint`` gradient, and the compile time.

Run from the repository root: ``PYTHONPATH=. python benchmarks/odeint.py``. Prints a table: per model,
the best time (of 10; the machine may be shared) of SciPy's ``odeint`` alone (the value), of symdiff's
generated value and gradient, and of autograd's gradient with respect to the initial state
(autograd 1.9's ``odeint`` raises for the gradient with respect to ``args`` under NumPy 2), with the time
the first symdiff call takes (trace, differentiate, print, import).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy.integrate import odeint

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import symdiff  # noqa: E402

TOL = dict(rtol=1e-8, atol=1e-8)


def lotka(y, t, theta):
    return np.array([theta[0] * y[0] - theta[1] * y[0] * y[1], theta[2] * y[0] * y[1] - theta[3] * y[1]])


def lotka_loss(theta, y0, t):
    return np.sum(odeint(lotka, y0, t, args=(theta,), **TOL) ** 2)


def linear(y, t, A):
    return np.tanh(A @ y)


def linear_loss(A, y0, t):
    return np.sum(odeint(linear, y0, t, args=(A,), **TOL) ** 2)


def best(fn, repeat=10) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def autograd_time(rhs_name: str, args) -> str:
    try:
        import autograd
        import autograd.numpy as anp
        from autograd.scipy.integrate import odeint as ag_odeint
    except ImportError:
        return "-"
    theta, y0, t = args
    if rhs_name == "lotka":
        def rhs(y, s, th):
            return anp.array([th[0] * y[0] - th[1] * y[0] * y[1], th[2] * y[0] * y[1] - th[3] * y[1]])
    else:
        def rhs(y, s, th):
            return anp.tanh(anp.dot(th, y))

    def loss(y):
        return anp.sum(ag_odeint(rhs, y, t, (theta,), **TOL) ** 2)
    grad = autograd.grad(loss)
    return f"{best(lambda: grad(y0), 5) * 1e3:.2f}"


def main() -> None:
    rng = np.random.default_rng(0)
    cases = [("lotka", lotka_loss, lotka, (np.array([1.0, 0.4, 0.3, 0.8]), np.array([1.2, 0.8]),
                                           np.linspace(0.0, 5.0, 20))),
             ("tanh(A y), n=8", linear_loss, linear, (0.4 * rng.standard_normal((8, 8)), rng.standard_normal(8),
                                                     np.linspace(0.0, 2.0, 10)))]
    print("| model | scipy odeint (ms) | symdiff value+grad (ms) | autograd grad y0 (ms) "
          "| first call (s) |")
    print("|---|---|---|---|---|")
    for name, loss, rhs, args in cases:
        theta, y0, t = args
        vg = symdiff.value_and_grad(loss, wrt=(0, 1))
        start = time.perf_counter()
        vg(*args)
        first = time.perf_counter() - start
        t_scipy = best(lambda: odeint(rhs, y0, t, args=(theta,), **TOL))
        t_vg = best(lambda: vg(*args))
        print(f"| {name} | {t_scipy * 1e3:.2f} | {t_vg * 1e3:.2f} | "
              f"{autograd_time(name.split(',')[0] if name == 'lotka' else 'linear', args)} | {first:.2f} |")


if __name__ == "__main__":
    main()
