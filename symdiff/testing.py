"""Checking gradients against central finite differences, independently of symdiff's own code.

:func:`check_grads` evaluates the user's original NumPy function (not anything symdiff generated)
at ``x + eps*v`` and ``x - eps*v`` for random directions ``v``, and compares the slope with the
generated gradient's ``sum(g * v)``.

>>> import numpy as np
>>> def f(x):
...     return np.sum(np.sin(x) ** 2)
>>> check_grads(f, (np.array([0.1, 0.2, 0.3]),))
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .gradients import grad


class GradientMismatch(AssertionError):
    """The generated gradient disagrees with finite differences."""


def numeric_slope(fn: Callable, args: Sequence[Any], index: int, v: np.ndarray, eps: float) -> float:
    """Central difference of ``fn`` at ``args`` along ``v`` in argument ``index``."""
    plus, minus = list(args), list(args)
    plus[index] = np.asarray(args[index], dtype=float) + eps * v
    minus[index] = np.asarray(args[index], dtype=float) - eps * v
    return float((fn(*plus) - fn(*minus)) / (2 * eps))


def check_grads(fn: Callable, args: Sequence[Any], wrt: Sequence[int] | None = None, *, directions: int = 3,
                eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0,
                gradient: Callable | None = None) -> None:
    """Raise :class:`GradientMismatch` unless symdiff's gradient of ``fn`` matches central differences
    along ``directions`` random directions for each float argument in ``wrt`` (default: all)."""
    args = list(args)
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if isinstance(a, (float, np.floating, np.ndarray))]
    wrt = list(wrt)
    g = gradient or grad(fn, wrt=tuple(wrt))
    grads = g(*args)
    grads = [grads] if gradient is None and len(wrt) == 1 and not isinstance(grads, tuple) else list(grads)
    grads = grads if len(grads) == len(wrt) else [grads]
    rng = np.random.default_rng(seed)
    for index, gi in zip(wrt, grads):
        shape = np.shape(args[index])
        if np.shape(gi) != shape:
            raise GradientMismatch(f"argument {index}: gradient has shape {np.shape(gi)}, argument has {shape}")
        if np.asarray(gi).dtype != np.asarray(args[index]).dtype and np.asarray(args[index]).dtype.kind == "f":
            raise GradientMismatch(f"argument {index}: gradient dtype {np.asarray(gi).dtype}, "
                                   f"argument dtype {np.asarray(args[index]).dtype}")
        for _ in range(directions):
            v = rng.standard_normal(shape)
            analytic = float(np.sum(np.asarray(gi) * v))
            numeric = numeric_slope(fn, args, index, v, eps)
            if not abs(analytic - numeric) <= atol + rtol * max(abs(numeric), abs(analytic)):
                raise GradientMismatch(
                    f"argument {index} of {getattr(fn, '__name__', fn)}: directional derivative "
                    f"analytic={analytic!r} numeric={numeric!r} (|diff|={abs(analytic - numeric):.3g}); "
                    f"argument={np.asarray(args[index])!r}; gradient={np.asarray(gi)!r}")
