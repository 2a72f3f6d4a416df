"""``checkpoint=`` of the reverse-mode transforms (``grad``, ``value_and_grad``, ``vjp``): how a rolled loop's
gradient trades memory for time, as ``jax.checkpoint`` and revolve do.

Without it the forward loop stores, per iteration, every value the reverse loop reads (O(T) arrays of
each). With ``checkpoint=k`` it stores only the carried state every ``k`` steps; the reverse loop walks
the segments back, last first, each time recomputing the segment's states from its checkpoint (an inner
forward loop filling stacks of ``k + 1`` rows) and then walking it back (an inner reverse loop), so the
stored arrays have about ``T / k + k`` rows and the body runs twice. ``checkpoint="sqrt"`` takes
``k = isqrt(T)`` (read at run time when ``T`` is): O(sqrt(T)) stored states. The gradient is the same: the
recomputed values are those the plain forward loop would have stored.

:data:`CHECKPOINT` holds the setting while a module is compiled (:func:`symdiff.pipeline.compile_function`
sets it); :mod:`symdiff.ad.loops` marks the loops it makes; the NumPy backend prints them
(:mod:`symdiff.backends.numpy.dispatch.checkpoint`).
"""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from ..errors import TraceError

#: The segment length of the loops being differentiated: None (store every step), an int, or "sqrt".
CHECKPOINT: ContextVar[int | str | None] = ContextVar("symdiff_checkpoint", default=None)


def checkpoint_setting(value: Any, entry: str = "grad") -> int | str | None:
    """``value`` checked: None, a positive int or ``"sqrt"``; anything else raises :class:`TraceError`."""
    if value is None or value == "sqrt":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TraceError(f"{entry}: checkpoint={value!r}: pass a positive int k (store the loop's state every k "
                         "steps and recompute the steps between), 'sqrt' (k = the square root of the trip count), "
                         "or None (store every step)")
    return int(value)
