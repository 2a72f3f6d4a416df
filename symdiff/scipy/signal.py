"""Registry entries for ``scipy.signal``: ``convolve``, ``correlate`` (1-d and 2-d), ``convolve2d``, ``correlate2d``.

SciPy's functions are Python functions, so NumPy's dispatch never sees traced values: during a trace they
are replaced by stand-ins (given to :mod:`symdiff.trace.patches`) that apply this registry's entries; the
registry holds the stand-ins, which call SciPy itself on untraced values. Imported when the traced
program has loaded ``scipy.signal`` (see :func:`symdiff.pipeline.compile_function`), by the docs table
and by the tests. Each is a full correlation ``c[i] = sum_j a_pad[i + j] * v[j]``: a gather of ``in1``
(zero padded) at constant index arrays, contracted with ``in2`` by ``np.tensordot``, then the rows of
SciPy's mode ("same": centred on ``in1``, "valid": where one input covers the other).
"""
from __future__ import annotations

import numpy as np
import scipy.signal as signal

from ..errors import ShapeError, UnsupportedError
from ..numpy.core import Entry, _here, register
from ..numpy.signal import array
from ..numpy.statistics import sizes
from ..trace import dispatch, patches
from ..trace.tracer import _tracing
from ..trace.values import Tracer

NAMES = ("convolve", "correlate", "convolve2d", "correlate2d")
_ORIG = {name: getattr(signal, name) for name in NAMES}


def _padded(x, axis: int, k: int):
    if k == 0:
        return x
    shape = sizes(x)
    shape[axis] = k
    return np.concatenate([np.zeros(shape), x, np.zeros(shape)], axis=axis)


def correlation(a, v, mode: str, name: str, centre_of_flipped: bool = False):
    """SciPy's correlation of ``a`` with ``v`` (arrays of one number of dimensions) in ``mode``; "same" is
    centred as SciPy's: ``(m - 1) // 2`` rows in, ``m // 2`` for ``correlate2d`` (a convolution with
    ``v`` flipped, ``centre_of_flipped``)."""
    a, v = array(a), array(v)
    na, nv = sizes(a, f"a size of scipy.signal.{name}'s in1"), sizes(v, f"a size of scipy.signal.{name}'s in2")
    if len(na) != len(nv):
        raise ShapeError(f"{_here()}: scipy.signal.{name}: in1 and in2 should have the same dimensionality")
    if len(na) not in (1, 2) or 0 in na or 0 in nv:
        raise UnsupportedError(f"{_here()}: scipy.signal.{name} of {len(na)}-d or empty arrays is not supported "
                               "(1-d and 2-d are)")
    if mode == "valid" and not (all(p >= q for p, q in zip(na, nv)) or all(q >= p for p, q in zip(na, nv))):
        raise ValueError(f"{_here()}: scipy.signal.{name}: for 'valid' mode, one must be at least as large as "
                         "the other in every dimension")
    d = len(na)
    index = []
    for k, (n, m) in enumerate(zip(na, nv)):
        a = _padded(a, k, m - 1)
        if mode == "full":
            rows = np.arange(n + m - 1)
        elif mode == "same":
            start = m // 2 if centre_of_flipped else (m - 1) // 2
            rows = np.arange(start, start + n)
        elif mode == "valid":
            rows = np.arange(min(n, m) - 1, max(n, m))
        else:
            raise ValueError(f"{_here()}: scipy.signal.{name}: mode must be 'full', 'same' or 'valid', not {mode!r}")
        ind = rows.reshape([-1 if j == k else 1 for j in range(2 * d)]) + \
            np.arange(m).reshape([-1 if j == d + k else 1 for j in range(2 * d)])
        index.append(ind)
    return np.tensordot(a[tuple(index)], v, axes=d)


def _flip(v):
    v = array(v)
    return v[(slice(None, None, -1),) * len(sizes(v))]


def _method(name: str, method: str) -> None:
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"{_here()}: scipy.signal.{name}: method must be 'auto', 'direct' or 'fft'")


def _convolve(origin, in1, in2, mode="full", method="auto"):
    _method("convolve", method)
    return correlation(in1, _flip(in2), mode, "convolve")


def _correlate(origin, in1, in2, mode="full", method="auto"):
    _method("correlate", method)
    return correlation(in1, in2, mode, "correlate")


def _two_d(name: str, flip: bool):
    def build(origin, in1, in2, mode="full", boundary="fill", fillvalue=0):
        if boundary != "fill" or fillvalue != 0:
            raise UnsupportedError(f"{_here()}: scipy.signal.{name}(..., boundary={boundary!r}, fillvalue="
                                   f"{fillvalue!r}) is not supported; only the default zero fill is")
        if len(sizes(in1)) != 2 or len(sizes(in2)) != 2:
            raise ValueError(f"{_here()}: scipy.signal.{name} inputs must both be 2-D arrays")
        return correlation(in1, _flip(in2) if flip else in2, mode, name, centre_of_flipped=not flip)
    return build


def _standin(name: str):
    orig = _ORIG[name]

    def standin(*args, **kwargs):
        if _tracing() and any(isinstance(a, Tracer) for a in (*args, *kwargs.values())):
            return dispatch.call(standin, args, kwargs)
        return orig(*args, **kwargs)
    standin.__name__, standin.__qualname__, standin.__doc__ = orig.__name__, orig.__name__, orig.__doc__
    standin.__module__, standin.__wrapped__ = "scipy.signal", orig  # type: ignore[attr-defined]
    return standin


STANDINS = {name: _standin(name) for name in NAMES}


def _standins() -> list:
    return [(signal, name, STANDINS[name]) for name in NAMES]


patches.PROVIDERS.append(_standins)

ONE_D = ((((5,), (3,)), ()), (((5,), (4,)), (("mode", "same"),)), (((5,), (3,)), (("mode", "valid"),)),
         (((3,), (5,)), (("mode", "same"),)), (((3,), (5,)), (("mode", "valid"),)))
TWO_D = ((((4, 5), (2, 3)), ()), (((4, 5), (3, 2)), (("mode", "same"),)), (((4, 5), (2, 3)), (("mode", "valid"),)),
         (((2, 3), (3, 4)), (("mode", "valid"),)), (((3, 3), (2, 4)), (("mode", "same"),)))
NOTES = "scipy.signal; a gather of in1 (zero padded) contracted with in2 by np.tensordot; modes full/same/valid"
register(STANDINS["convolve"], Entry("signal.convolve", _convolve, cases=ONE_D + TWO_D[:2], notes=NOTES + "; 1-d, 2-d"))
register(STANDINS["correlate"], Entry("signal.correlate", _correlate, cases=ONE_D + TWO_D[:2],
                                      notes=NOTES + "; 1-d, 2-d"))
register(STANDINS["convolve2d"], Entry("signal.convolve2d", _two_d("convolve2d", True), cases=TWO_D,
                                       notes=NOTES + "; boundary='fill' with 0 only"))
register(STANDINS["correlate2d"], Entry("signal.correlate2d", _two_d("correlate2d", False), cases=TWO_D,
                                        notes=NOTES + "; boundary='fill' with 0 only"))
