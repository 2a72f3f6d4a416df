"""The trace-time stand-in of a ``scipy.linalg`` function: the function itself, except that called on
traced values while tracing it goes through the registry (:func:`symdiff.trace.dispatch.call`)."""
from __future__ import annotations

from typing import Any, Callable

from ..trace import dispatch
from ..trace.dispatch import _holds_tracer
from ..trace.tracer import _tracing


def standin_of(orig: Callable[..., Any]) -> Callable[..., Any]:
    """A function that behaves as ``orig`` (``scipy.linalg.<name>``) on plain values, and whose calls on
    traced values are the registry entry registered for it."""
    def standin(*args, **kwargs):
        if _tracing() and _holds_tracer((args, tuple(kwargs.values()))):
            return dispatch.call(standin, args, kwargs)
        return orig(*args, **kwargs)
    standin.__name__, standin.__doc__, standin.__wrapped__ = orig.__name__, orig.__doc__, orig  # type: ignore
    standin.__module__ = "scipy.linalg"
    return standin
