"""Objectives for ``scipy.optimize``: the value, gradient, Hessian and Hessian-vector product of a NumPy
function in the calling order SciPy uses.

>>> import numpy as np
>>> from scipy.optimize import minimize
>>> from symdiff.optimize import objective
>>> def f(x, a):
...     return np.sum((x - a) ** 2) + np.sum(x ** 4)
>>> obj = objective(f)
>>> res = minimize(obj.fun, np.zeros(3), args=(np.ones(3),), jac=obj.jac, hessp=obj.hessp,
...                method="trust-krylov", options={"gtol": 1e-10})
>>> bool(res.success and np.linalg.norm(obj.jac(res.x, np.ones(3))) < 1e-10)
True

SciPy calls ``fun(x, *args)``, ``jac(x, *args)``, ``hess(x, *args)`` and ``hessp(x, p, *args)``, ``x``
always a flat float array. :func:`objective` maps ``x`` to the argument ``wrt`` of ``f`` (the first by
default; reshaped to ``shape`` if given) and ``args`` to the other arguments in order, so ``f`` keeps its
own signature. ``fun`` and ``jac`` share one value-and-gradient call: SciPy asks for both at the same
point, and the second is served from the first (``value_and_grad`` gives them together for ``jac=True``).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import api
from .gradients import value_and_grad
from .errors import TraceError
from .runtime.signature import name_of, param_names


class Objective:
    """``fun``, ``jac``, ``hess``, ``hessp`` and ``value_and_grad`` of one function, for SciPy (see
    :func:`objective`). ``evaluations`` counts the generated functions' calls by kind."""

    def __init__(self, fn: Callable, wrt: str | int = 0, shape: Sequence[int] | None = None) -> None:
        params = param_names(fn)
        if isinstance(wrt, str):
            if wrt not in params:
                raise TraceError(f"objective(wrt={wrt!r}): {name_of(fn)} has no argument {wrt!r} "
                                     f"(it has {', '.join(params)})")
            wrt = params.index(wrt)
        if not isinstance(wrt, int) or not 0 <= wrt < len(params):
            raise TraceError(f"objective(wrt={wrt!r}): give one argument of {name_of(fn)}, by name or position "
                                 "(SciPy optimizes one flat array; pack several into it)")
        self.fn, self.wrt, self.shape = fn, wrt, None if shape is None else tuple(shape)
        self._vg = value_and_grad(fn, wrt=wrt)
        self._hess = api.hessian(fn, wrt=wrt)
        self._hvp = api.hvp(fn, wrt=wrt)
        self._last: tuple[tuple[bytes, tuple], tuple, float, np.ndarray] | None = None
        self.evaluations = {"value_and_grad": 0, "hess": 0, "hessp": 0}

    def _arguments(self, x: np.ndarray, args: tuple) -> list[Any]:
        x = np.asarray(x, dtype=float)
        x = x.reshape(self.shape) if self.shape is not None else x
        rest = list(args)
        return rest[:self.wrt] + [x] + rest[self.wrt:]

    def _flat(self, g: Any) -> np.ndarray:
        g = np.asarray(g, dtype=float)
        return g.ravel() if self.shape is not None else g

    def value_and_grad(self, x: np.ndarray, *args: Any) -> tuple[float, np.ndarray]:
        """``(f, gradient)`` at ``x``: for ``minimize(obj.value_and_grad, x0, jac=True, args=...)``."""
        key = (np.asarray(x, dtype=float).tobytes(), np.shape(x))
        last = self._last
        if last is not None and last[0] == key and len(last[1]) == len(args) \
                and all(a is b for a, b in zip(last[1], args)):
            return last[2], last[3]
        value, g = self._vg(*self._arguments(x, args))
        self.evaluations["value_and_grad"] += 1
        value, g = float(value), self._flat(g)
        self._last = (key, args, value, g)
        return value, g

    def fun(self, x: np.ndarray, *args: Any) -> float:
        """The value at ``x`` (its gradient computed with it and kept for ``jac`` at the same point)."""
        return self.value_and_grad(x, *args)[0]

    def jac(self, x: np.ndarray, *args: Any) -> np.ndarray:
        """The gradient at ``x``, flat like ``x``."""
        return self.value_and_grad(x, *args)[1].copy()

    def hess(self, x: np.ndarray, *args: Any) -> np.ndarray:
        """The Hessian at ``x``, a ``(x.size, x.size)`` array."""
        h = np.asarray(self._hess(*self._arguments(x, args)), dtype=float)
        self.evaluations["hess"] += 1
        n = int(np.size(x))
        return h.reshape(n, n)

    def hessp(self, x: np.ndarray, p: np.ndarray, *args: Any) -> np.ndarray:
        """The Hessian at ``x`` times ``p``, SciPy's order (``p`` before ``args``), without forming the Hessian."""
        p = np.asarray(p, dtype=float)
        direction = p.reshape(self.shape) if self.shape is not None else p
        hv = self._hvp(*self._arguments(x, args), direction)
        self.evaluations["hessp"] += 1
        return self._flat(hv)

    def __repr__(self) -> str:
        return f"<symdiff.optimize.objective of {name_of(self.fn)} in {param_names(self.fn)[self.wrt]}>"


def objective(fn: Callable, wrt: str | int = 0, shape: Sequence[int] | None = None) -> Objective:
    """``fun``, ``jac``, ``hess`` and ``hessp`` of ``fn`` for ``scipy.optimize.minimize`` (and
    ``value_and_grad`` for ``jac=True``): SciPy's ``x`` is the argument ``wrt`` of ``fn`` (reshaped to
    ``shape``, e.g. a matrix, if given), SciPy's ``args`` the others in order."""
    return Objective(fn, wrt, shape)
