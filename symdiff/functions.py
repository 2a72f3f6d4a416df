"""Functions of machine learning written once for both plain arrays and tracing.

Each works on NumPy arrays (computed stably) and inside a function symdiff traces (where it
becomes graph nodes with exact derivatives).

>>> import numpy as np
>>> float(sigmoid(np.array(0.0)))
0.5
>>> round(float(binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))), 6)
0.693147
"""
from __future__ import annotations

import numpy as np

from .api import is_tracer
from .trace.composites import log_softmax, logsumexp, softmax  # noqa: F401  (written once, in the tracer)


def _traced(name: str, x):
    from .ir import scalar
    from .trace.dispatch import _compose
    from .trace.tracer import current_trace, user_origin
    from .trace.values import Tracer
    return Tracer(current_trace().note(_compose(getattr(scalar, name), (x,), user_origin())))


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    if is_tracer(x):
        return _traced("sigmoid", x)
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0, e) / (1.0 + e)


def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    if is_tracer(x):
        return _traced("softplus", x)
    return np.logaddexp(0, x)


def binary_cross_entropy_with_logits(z, y):
    """Mean of ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))``, as PyTorch's (mean reduction)."""
    return np.mean(softplus(z) - z * y)
