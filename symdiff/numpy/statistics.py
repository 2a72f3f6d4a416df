"""Registry entries (see :mod:`symdiff.numpy.core`): statistics written with other entries' operations.

``np.median``, ``np.percentile`` and ``np.quantile`` sort (a gather in ``np.argsort``'s order, as
``np.sort``'s entry) and take NumPy's default "linear" interpolation between the two neighbouring order
statistics: the gradient goes to those two sorted positions, weighted ``1 - frac`` and ``frac``. With
ties, each sorted position is one of the equal elements (the one ``np.argsort`` puts there), so the
gradient goes to the element NumPy's result uses at that position; it is a subgradient at a tie (the
function has a kink there). A NaN makes the result NaN, as in NumPy. ``np.average``, ``np.cov`` and
``np.corrcoef`` are sums, means and matrix products of the traced values, so their first and second
derivatives come from those entries.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..ir.shapes import normalize_axes
from ..trace.tracer import current_trace
from .core import Entry, _here, as_node, register


def sizes(x, what: str = "the size of an axis") -> list[int]:
    """The concrete sizes of ``x`` (a tracer or a constant); symbolic sizes are specialised."""
    return [current_trace().concrete(d, what) for d in as_node(x).shape]


def _refuse(name: str, **kwargs) -> None:
    for key, value in kwargs.items():
        if value is not None and value is not False:
            raise UnsupportedError(f"{_here()}: np.{name}(..., {key}=...) is not supported; call it without {key}=")


def quantile_of(a, q, axis, keepdims: bool, name: str):
    """NumPy's "linear" quantile: ``s[lo] * (1 - frac) + s[hi] * frac`` of the sorted values ``s``."""
    q = np.asarray(q, dtype=float)
    if isinstance(q, np.ndarray) and q.dtype == object:
        raise UnsupportedError(f"{_here()}: np.{name} with traced q is not supported; q must be a constant")
    if np.any(q < 0) or np.any(q > 1):
        raise ValueError(f"{_here()}: np.{name}: quantiles must be in the range [0, 1] (percentiles in [0, 100])")
    x = a if hasattr(a, "node") else np.asarray(a, dtype=float)
    shape = sizes(x, f"the size of an axis of np.{name}'s argument")
    if axis is None:
        x, axes = (x if len(shape) == 1 else np.reshape(x, (-1,))), None
        n = int(np.prod(shape))
    else:
        axes = normalize_axes(axis, len(shape))
        if len(axes) != 1:
            raise UnsupportedError(f"{_here()}: np.{name} over several axes is not supported; "
                                   "move them together with np.moveaxis and reshape them into one first")
        x = np.moveaxis(x, axes[0], -1)
        n = shape[axes[0]]
    if n == 0:
        raise UnsupportedError(f"{_here()}: np.{name} of an empty array is NaN in NumPy; not differentiable")
    s = np.sort(x, axis=-1)
    pos = q * (n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    if q.ndim == 0:
        lo, hi, frac = int(lo), int(hi), float(frac)
        out = s[..., lo] if frac == 0 else s[..., lo] * (1 - frac) + s[..., hi] * frac
    else:
        out = s[..., lo] * (1 - frac) + s[..., hi] * frac
    # NaN sorts last: any NaN makes NumPy's result NaN (and its gradient zero), not an order statistic
    out = np.where(np.isnan(s[(Ellipsis,) + (-1,) + (None,) * q.ndim]), np.nan, out)
    if q.ndim:
        out = np.moveaxis(out, tuple(range(out.ndim - q.ndim, out.ndim)), tuple(range(q.ndim)))
    if keepdims:
        rest = q.ndim
        if axes is None:
            out = np.reshape(out, tuple(q.shape) + (1,) * len(shape))
        else:
            out = np.expand_dims(out, rest + axes[0])
    return out


def _quantile(name: str, scale: float):
    def build(origin, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
              *, weights=None, interpolation=None):
        _refuse(name, out=out, weights=weights, interpolation=interpolation)
        if method != "linear":
            raise UnsupportedError(f"{_here()}: np.{name}(..., method={method!r}) is not supported; only NumPy's "
                                   "default method='linear' is")
        return quantile_of(a, np.asarray(q, dtype=float) / scale, axis, keepdims, name)
    return build


def _median(origin, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the 0.5 quantile (the mean of the two middle values for an even count)."""
    _refuse("median", out=out)
    return quantile_of(a, 0.5, axis, keepdims, "median")


def _average(origin, a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``np.average``: ``sum(a * w, axis) / sum(w, axis)``; ``returned=True`` adds the sum of weights."""
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        shape = sizes(a)
        count = int(np.prod(shape if axis is None else [shape[k] for k in normalize_axes(axis, len(shape))]))
        total = np.broadcast_to(float(count), sizes(avg))
    else:
        shape_a, shape_w = sizes(a), sizes(weights)
        w = weights
        if shape_a != shape_w:
            if axis is None:
                raise TypeError(f"{_here()}: np.average: axis must be specified when shapes of a and weights differ")
            axes = normalize_axes(axis, len(shape_a))
            if len(shape_w) != 1 or len(axes) != 1 or shape_w[0] != shape_a[axes[0]]:
                raise ValueError(f"{_here()}: np.average: 1-d weights must have the length of a along axis")
            w = np.reshape(w, [shape_w[0] if k == axes[0] else 1 for k in range(len(shape_a))])
        total = np.sum(w * np.ones(shape_a), axis=axis, keepdims=keepdims)
        avg = np.sum(a * w, axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


def _rows(m, rowvar: bool):
    x = np.atleast_2d(m)
    if not rowvar and sizes(x)[0] != 1:
        x = np.transpose(x)
    return x


def covariance(m, y=None, rowvar=True, bias=False, ddof=None):
    """``np.cov``: the centred rows' products ``Xc @ Xc.T / (N - ddof)``, squeezed as NumPy does."""
    x = _rows(m, rowvar)
    if y is not None:
        x = np.concatenate([x, _rows(y, rowvar)], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    count = sizes(x)[1]
    if count - ddof <= 0:
        raise UnsupportedError(f"{_here()}: np.cov with {count} observations and ddof={ddof}: the degrees of "
                               "freedom are <= 0 (NumPy warns and returns inf or NaN); not differentiable")
    xc = x - np.mean(x, axis=1, keepdims=True)
    c = (xc @ np.transpose(xc)) / (count - ddof)
    return np.reshape(c, ()) if sizes(c) == [1, 1] else c


def _cov(origin, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    _refuse("cov", fweights=fweights, aweights=aweights)
    return covariance(m, y, rowvar, bias, ddof)


def _corrcoef(origin, x, y=None, rowvar=True, bias=None, ddof=None, *, dtype=None):
    """``np.corrcoef``: ``c[i, j] / sqrt(c[i, i] c[j, j])`` of ``np.cov`` (NumPy's clip to [-1, 1] is left out:
    it changes only rounding, and its gradient at the bound would be arbitrary)."""
    c = covariance(x, y, rowvar)
    if not sizes(c):
        return c / c
    d = np.sqrt(np.diagonal(c))
    return c / d[:, None] / d[None, :]


QUANTILE_NOTES = ("NumPy's default method='linear' (q constant); gradient through np.sort's gather: the two "
                  "neighbouring order statistics, weighted 1-frac and frac; ties: the element np.argsort puts "
                  "at that position gets it (a subgradient: the function has a kink there)")
register(np.median, Entry(
    "median", _median, cases=((((5,),), ()), (((4,),), ()), (((3, 4),), (("axis", 1),)),
                              (((3, 4),), (("axis", 0), ("keepdims", True))), (((2, 3),), ())),
    notes="mean of the two middle values for an even count; " + QUANTILE_NOTES.split("; ", 1)[1]))
register(np.quantile, Entry("quantile", _quantile("quantile", 1.0), cases=(
    (((5,),), (("q", 0.3),)), (((3, 4),), (("q", 0.75), ("axis", 1))), (((6,),), (("q", (0.1, 0.5, 0.9)),)),
    (((3, 4),), (("q", (0.25, 0.6)), ("axis", 0), ("keepdims", True))), (((2, 3),), (("q", 0.4),))),
    notes=QUANTILE_NOTES))
register(np.percentile, Entry("percentile", _quantile("percentile", 100.0), cases=(
    (((5,),), (("q", 30.0),)), (((3, 4),), (("q", (25.0, 90.0)), ("axis", -1)))),
    notes="q in percent; " + QUANTILE_NOTES))
register(np.average, Entry("average", _average, cases=(
    (((3, 4),), (("axis", 1), ("weights", (0.5, 1.0, 2.0, 0.25)))), (((5,),), ()), (((2, 3),), (("axis", 0),)),
    (((2, 3),), (("weights", ((1.0, 2.0, 0.5), (0.3, 1.5, 1.0))), ("axis", 0), ("keepdims", True)))),
    notes="sum(a*w)/sum(w), weights traced or constant (same shape, or 1-d along axis); returned=True adds "
          "sum(w); weights summing to 0 give inf/NaN (NumPy raises ZeroDivisionError)"))
register(np.cov, Entry("cov", _cov, cases=(
    (((3, 5),), ()), (((5, 3),), (("rowvar", False),)), (((3, 5),), (("bias", True),)), (((2, 6),), (("ddof", 2),)),
    (((5,), (5,)), ()), (((6,),), ())),
    notes="rowvar, bias, ddof, a second array y; fweights/aweights refused; N - ddof <= 0 refused"))
register(np.corrcoef, Entry("corrcoef", _corrcoef, cases=((((3, 5),), ()), (((5,), (5,)), ()),
                                                          (((5, 3),), (("rowvar", False),))),
                            notes="cov / sqrt(outer(diag, diag)); NumPy's clip to [-1, 1] left out (rounding "
                                  "only); a constant row gives NaN, as NumPy"))
