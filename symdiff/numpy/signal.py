"""Registry entries (see :mod:`symdiff.numpy.core`): signal processing written with other entries' operations.

``np.convolve`` and ``np.correlate`` gather the longer (zero-padded) array at a constant index matrix and
multiply by the shorter one (``a_pad[idx] @ v``), so both arguments get gradients and second derivatives
from gather and matmul. ``np.gradient`` is slices and differences (uniform spacing), ``np.interp`` a sum of
segments (``xp`` constant; at a knot the right derivative), ``np.polyval`` Horner's rule.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..errors import ShapeError, UnsupportedError
from ..ir.shapes import normalize_axes
from .core import Entry, _here, register
from .statistics import sizes
from ..trace.values import _constant


def array(x):
    """A tracer as it is, anything else as a float array (lists and tuples as NumPy reads them)."""
    return x if hasattr(x, "node") else np.asarray(x, dtype=float)


def _vector(x, name: str):
    x = array(x)
    shape = sizes(x, f"the length of np.{name}'s argument")
    if len(shape) > 1:
        raise ShapeError(f"{_here()}: np.{name} takes 1-d arrays (NumPy: 'object too deep'); "
                         "use scipy.signal.convolve2d for 2-d, or a loop over rows")
    if len(shape) == 0:
        return np.reshape(x, (1,)), 1
    if shape[0] == 0:
        raise ShapeError(f"{_here()}: np.{name} of an empty array is an error in NumPy")
    return x, shape[0]


def _padded(x, k: int):
    return x if k == 0 else np.concatenate([np.zeros(k), x, np.zeros(k)])


def full_correlation(a, v, n: int, m: int, rows: np.ndarray):
    """Rows ``rows`` of the full correlation ``c[i] = sum_j a[i + j - (m-1)] * v[j]`` as a gather of the
    longer array (zero padded) at a constant index matrix times the shorter one."""
    if m <= n:
        idx = rows[:, None] + np.arange(m)[None, :]
        return _padded(a, m - 1)[idx] @ v
    idx = np.arange(n)[None, :] - rows[:, None] + (n + m - 2)  # c[i] = sum_p a[p] v[p - i + m - 1]
    return _padded(v, n - 1)[idx] @ a


def _rows(n: int, m: int, mode: str, name: str, swapped_same: bool) -> np.ndarray:
    full = n + m - 1
    if mode == "full":
        return np.arange(full)
    if mode == "same":
        length = max(n, m)
        start = n - 1 - (n - 1) // 2 if swapped_same and m > n else (min(n, m) - 1) // 2
        return np.arange(start, start + length)
    if mode == "valid":
        return np.arange(min(n, m) - 1, max(n, m))
    raise ValueError(f"{_here()}: np.{name}: mode must be 'full', 'same' or 'valid', not {mode!r}")


def _correlate(origin, a, v, mode="valid"):
    """``np.correlate``: ``c[k] = sum_n a[n + k] * v[n]`` (real values), NumPy's modes."""
    a, n = _vector(a, "correlate")
    v, m = _vector(v, "correlate")
    return full_correlation(a, v, n, m, _rows(n, m, mode, "correlate", swapped_same=True))


def _convolve(origin, a, v, mode="full"):
    """``np.convolve``: the correlation with ``v`` reversed."""
    a, n = _vector(a, "convolve")
    v, m = _vector(v, "convolve")
    return full_correlation(a, v[::-1], n, m, _rows(n, m, mode, "convolve", swapped_same=False))


def _spacing(varargs, axes):
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1:
        varargs = varargs * len(axes)
    if len(varargs) != len(axes) or not all(isinstance(h, numbers.Real) and not isinstance(h, bool)
                                            for h in varargs):
        raise UnsupportedError(f"{_here()}: np.gradient takes uniform spacing only: one number, or one per axis; "
                               "coordinate arrays (non-uniform spacing) and traced spacings are not supported")
    return [float(h) for h in varargs]


def _along(f, axis: int, h: float, n: int, edge_order: int):
    f = np.moveaxis(f, axis, -1)
    middle = (f[..., 2:] - f[..., :-2]) / (2 * h)
    if edge_order == 1:
        first = (f[..., 1:2] - f[..., 0:1]) / h
        last = (f[..., n - 1:n] - f[..., n - 2:n - 1]) / h
    else:
        first = (-1.5 * f[..., 0:1] + 2.0 * f[..., 1:2] - 0.5 * f[..., 2:3]) / h
        last = (0.5 * f[..., n - 3:n - 2] - 2.0 * f[..., n - 2:n - 1] + 1.5 * f[..., n - 1:n]) / h
    return np.moveaxis(np.concatenate([first, middle, last], axis=-1), -1, axis)


def _gradient(origin, f, *varargs, axis=None, edge_order=1):
    """``np.gradient``: central differences inside, one-sided (``edge_order`` 1 or 2) at the ends."""
    shape = sizes(f, "the size of an axis of np.gradient's argument")
    single = axis is not None and not isinstance(axis, (tuple, list))
    axes = normalize_axes(tuple(range(len(shape))) if axis is None else axis, len(shape))
    if edge_order not in (1, 2):
        raise ValueError(f"{_here()}: np.gradient: edge_order must be 1 or 2")
    out = []
    for k, h in zip(axes, _spacing(varargs, axes)):
        if shape[k] < edge_order + 1:
            raise ValueError(f"{_here()}: np.gradient: an axis of {shape[k]} elements is too short for "
                             f"edge_order={edge_order} (NumPy raises too)")
        out.append(_along(f, k, h, shape[k], edge_order))
    return out[0] if single or len(out) == 1 else out


def _interp(origin, x, xp, fp, left=None, right=None, period=None):
    """``np.interp`` for constant increasing ``xp``: ``fp[0] + sum_k slope_k * (how far x is into segment k)``."""
    xp, left, right = _constant((xp, left, right)) or (xp, left, right)  # constant tracers: their arrays
    if hasattr(xp, "node") or period is not None or hasattr(left, "node") or hasattr(right, "node"):
        raise UnsupportedError(f"{_here()}: np.interp with traced xp (or left/right), or period=, is not "
                               "supported; xp must be a constant array (x and fp may be traced)")
    xp, x, fp = np.asarray(xp, dtype=float), array(x), array(fp)
    if xp.ndim != 1 or len(xp) < 2 or np.any(np.diff(xp) <= 0):
        raise UnsupportedError(f"{_here()}: np.interp needs xp strictly increasing with at least 2 points "
                               "(NumPy gives meaningless values otherwise); sort xp and drop repeated points")
    if sizes(fp, "the length of np.interp's fp") != [len(xp)]:
        raise ValueError(f"{_here()}: np.interp: fp and xp are not of the same length")
    slopes = (fp[1:] - fp[:-1]) / np.diff(xp)
    # how far x is into each segment [lo, hi): written with np.where (not np.clip, whose derivative is 1 at
    # both bounds), so at a knot the x-derivative is the right one, the segment NumPy's search picks
    lo, hi, xe = xp[:-1], xp[1:], np.expand_dims(x, -1)
    out = fp[0] + np.where(xe < lo, 0.0, np.where(xe >= hi, hi - lo, xe - lo)) @ slopes
    if left is not None:
        out = np.where(x < xp[0], left, out)
    if right is not None:
        out = np.where(x > xp[-1], right, out)
    return out


def _polyval(origin, p, x):
    """``np.polyval``: Horner's rule ``y = y * x + p[k]`` (highest power first, as NumPy)."""
    p, x = array(p), array(x)
    (count,) = sizes(p, "the number of coefficients of np.polyval") or [None]
    if count is None:
        raise ShapeError(f"{_here()}: np.polyval takes a 1-d array of coefficients")
    y = p[0] + np.zeros_like(x)
    for k in range(1, count):
        y = y * x + p[k]
    return y


CONV_CASES = ((((5,), (3,)), ()), (((5,), (3,)), (("mode", "same"),)), (((5,), (4,)), (("mode", "valid"),)),
              (((3,), (5,)), (("mode", "same"),)), (((4,), (5,)), (("mode", "full"),)),
              (((4,), (6,)), (("mode", "valid"),)))
register(np.convolve, Entry("convolve", _convolve, cases=CONV_CASES,
                            notes="1-d, modes full/same/valid; a gather of the longer array times the shorter"))
register(np.correlate, Entry("correlate", _correlate, cases=CONV_CASES + ((((4,), (5,)), (("mode", "same"),)),),
                             notes="1-d real, modes full/same/valid (NumPy's default valid)"))
register(np.gradient, Entry("gradient", _gradient, cases=(
    (((6,),), ()), (((5,),), (("edge_order", 2),)), (((3, 4),), (("axis", 1),)), (((4, 3),), (("axis", 0),))),
    notes="uniform spacing (numbers); a list for several axes, as NumPy; edge_order 1 or 2"))
register(np.polyval, Entry("polyval", _polyval, cases=((((4,), (5,)), ()), (((3,), (2, 3)), ()), (((1,), (3,)), ()),
                                                       (((3,), ()), ())),
                           notes="Horner's rule; gradient in the coefficients and x"))
register(np.interp, Entry("interp", _interp, cases=(
    (((6,),), (("xp", (-1.5, -0.4, 0.3, 1.5)), ("fp", (0.5, -1.0, 2.0, 1.0)))),
    (((2, 3),), (("xp", (-1.0, 0.0, 1.0)), ("fp", (1.0, 3.0, -2.0)), ("left", -3.0), ("right", 4.0)))),
    notes="xp constant and strictly increasing (else refused); x and fp traced; at a knot x == xp[k] (a kink) "
          "the x-derivative is the right one (segment xp[k] <= x < xp[k+1]; 0 at and beyond xp[-1]); left/right "
          "constants"))
