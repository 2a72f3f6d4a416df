"""Functions written once for plain arrays and traced values alike, from NumPy operations and
:func:`stop_gradient`: ``logsumexp`` (shifted by its maximum, which carries no gradient), ``log_softmax``
and ``softmax``. On plain arrays they are NumPy code; traced, they become graph nodes. Importing this
module imports neither SymPy nor the tracer (a gradient served from the cache needs neither).

>>> import numpy as np
>>> round(float(logsumexp(np.array([1000.0, 1000.0]))), 6)
1000.693147
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np


def stop_gradient(x: Any) -> Any:
    """``x`` itself, treated as a constant by differentiation (PyTorch's ``detach``/``no_grad``)."""
    values = sys.modules.get("symdiff.trace.values")  # not loaded: nothing is being traced
    if values is None or not isinstance(x, values.Tracer):
        return x
    from .dispatch import as_node
    from ..ir.primitives import stop_gradient as stop
    return values.Tracer(stop(as_node(x)))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` along ``axis``, shifted by the maximum so it never overflows."""
    m = stop_gradient(np.max(x, axis=axis, keepdims=True))
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return out
    return np.sum(out, axis=axis) if axis is not None else np.sum(out)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, computed stably."""
    return np.exp(log_softmax(x, axis=axis))
