"""Trace-time stand-ins for NumPy objects that are not functions, so NumPy's dispatch cannot reach
them: the index-expression objects ``np.r_`` and ``np.c_`` (``np.r_[a, b]``, ``np.c_[a, b]`` of traced
arrays and numbers join them as NumPy does; ``np.arange``'s stand-in is in :mod:`symdiff.trace.patches`).
Installed through :data:`symdiff.trace.patches.PROVIDERS`;
outside tracing, and on constants, NumPy's own objects answer.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, UnsupportedError
from ..ir import primitives as P
from ..ir.shapes import ONE
from ..trace import patches
from ..trace.tracer import current_trace
from ..trace.values import Tracer
from .core import _here, _holds_tracer, as_node
from .shape import _at_least


class _Concatenator:
    """Stand-in for ``np.r_``/``np.c_`` while tracing: ``np.r_[a, b]`` and ``np.c_[a, b]`` of arrays and
    numbers; NumPy's own object for everything else (string directives on traced values are refused)."""

    def __init__(self, orig, columns: bool) -> None:
        self.orig, self.columns = orig, columns

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        if not _holds_tracer(list(items)):
            return self.orig[key]
        name = "np.c_" if self.columns else "np.r_"
        parts = []
        for item in items:
            if isinstance(item, str):
                raise UnsupportedError(f"{_here()}: {name}[...] with a string directive on traced values; "
                                       "use np.concatenate or np.stack")
            if isinstance(item, slice):
                item = self.orig[item]
            x = as_node(item)
            if self.columns:
                x = P.reshape(x, (x.shape[0], ONE)) if x.ndim == 1 else _at_least(x, 2)
            parts.append(_at_least(x, 1))
        if self.columns and any(p.ndim != parts[0].ndim for p in parts):
            raise ShapeError(f"{_here()}: {name}[...] of arrays of different ranks")
        node = P.concatenate(parts, parts[0].ndim - 1 if self.columns else 0)
        return Tracer(current_trace().note(node))

    def __len__(self):
        return 0


_R, _C = _Concatenator(np.r_, False), _Concatenator(np.c_, True)


def _traced(values) -> bool:
    return any(isinstance(v, Tracer) and not v.is_const() for v in values)


def _standins():
    return [(np, "r_", _R), (np, "c_", _C)]


patches.PROVIDERS.append(_standins)
