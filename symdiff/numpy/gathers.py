"""Registry entries that pick elements by integer positions: ``np.take`` and ``np.take_along_axis``;
and by traced masks: ``np.nonzero`` (``np.where(m)``, ``np.flatnonzero``, ``np.argwhere``), ``np.extract``
and ``np.compress``, whose results have a length known only at run time (see :mod:`symdiff.trace.masks`).

Both are written as the indexing NumPy defines them by (``np.take(a, i, axis=1)`` is ``a[:, i]``,
``np.take_along_axis`` indexes every other axis by an ``arange``), so they become a ``gather``
whose index may be a traced integer array (labels, tokens: values known only at run time). The
gradient is a scatter-add (``np.add.at`` in the generated code): repeated positions add up.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, UnsupportedError
from ..ir.shapes import normalize_axes
from ..trace.indexing import getitem
from ..trace.tracer import current_trace
from ..trace.values import Tracer
from ..trace.masks import as_mask, nonzero
from .assembly import _Call, take_along_axis_known, take_known
from .core import Entry, _here, _no_extras, as_node, register


def _tracer(a: Any) -> Tracer:
    return a if isinstance(a, Tracer) else Tracer(as_node(a))


def _take(origin, a, indices, axis=None, out=None, mode=None):
    if not isinstance(indices, Tracer) or indices.is_const():  # known now: NumPy's rules, any mode
        return take_known(origin, a, indices, axis, out, mode or "raise")
    _no_extras("take", {"out": out, "mode": None if mode in (None, "raise") else mode})
    if indices.node.dtype == "bool":
        raise UnsupportedError(f"{_here()}: np.take with a traced boolean mask as indices (NumPy would read "
                               "its values as the positions 0 and 1); index with the mask (x[m]) or use "
                               "np.compress(m, x, axis)")
    x = _tracer(a)
    if axis is None:
        x, axis = (x if x.ndim == 1 else _tracer(np.reshape(x, -1))), 0
    axis = normalize_axes(axis, x.ndim)[0]
    return getitem(x, (slice(None),) * axis + (indices,)).node


def _take_along_axis(origin, arr, indices, axis=-1):
    if not isinstance(indices, Tracer) or indices.is_const():  # known now
        return take_along_axis_known(origin, arr, indices, axis)
    x = _tracer(arr)
    if axis is None:
        x, axis = _tracer(np.reshape(x, -1)), 0
    i_ndim = indices.ndim if isinstance(indices, Tracer) else np.ndim(indices)
    if isinstance(indices, Tracer) and indices.node.dtype != "int64":
        raise UnsupportedError(f"{_here()}: np.take_along_axis needs integer indices, not {indices.node.dtype}")
    if i_ndim != x.ndim:
        raise ShapeError(f"{_here()}: np.take_along_axis: `indices` and `arr` must have the same number of "
                         f"dimensions ({i_ndim} and {x.ndim})")
    axis = normalize_axes(axis, x.ndim)[0]
    index: list[Any] = []
    for k in range(x.ndim):  # NumPy's definition: every other axis indexed by an arange shaped to broadcast
        if k == axis:
            index.append(indices)
        else:
            size = current_trace().concrete(x.node.shape[k], "the size of an axis np.take_along_axis runs along")
            index.append(np.arange(size).reshape([-1 if j == k else 1 for j in range(x.ndim)]))
    return getitem(x, tuple(index)).node


_NOTES = ("a gather; the gradient adds into zeros with np.add.at, so repeated indices accumulate; "
          "indices may be traced integer arrays (labels, tokens) whose values are known only at run time; "
          "out-of-range indices raise IndexError at run time, as in NumPy")

register(np.take, Entry("take", _take, notes=_NOTES, cases=(
    (((5,),), (("indices", (1, 3, 1, -1)),)),
    (((5, 3),), (("indices", (4, 0, 4)), ("axis", 0))),
    (((2, 4),), (("indices", ((0, 3), (3, 3))), ("axis", -1))),
    (((2, 3),), (("indices", (5, 0, 5)),)),
    (((4,),), (("indices", [3, 0, 0]),)),
    (((3, 4),), (("indices", [[1, 2], [-1, 0]]), ("axis", 1))),
    (((2, 3),), (("indices", 7), ("mode", "wrap"))))))
register(np.take_along_axis, Entry("take_along_axis", _take_along_axis, notes=_NOTES, cases=(
    (((4, 3),), (("indices", np.array([[2], [0], [1], [1]])), ("axis", 1))),
    (((3, 4),), (("indices", np.array([[0, 2, 2, 1], [2, 2, 0, 0]])), ("axis", 0))),
    (((2, 3),), (("indices", np.array([[2, 2, 0], [1, 0, 0]])), ("axis", -1))),
    (((2, 3),), (("indices", np.array([[2, 0], [1, 1]])), ("axis", 1))),
    (((3, 2),), (("indices", np.array([[2, 0]])), ("axis", 0))))))


# ---------------------------------------------------------------- traced masks -------------------

def _nonzero(origin, a):
    return nonzero(a)


def _flatnonzero(origin, a):
    m = as_mask(a, "np.flatnonzero")
    return nonzero(m if m.ndim == 1 else np.reshape(m, -1), "np.flatnonzero")[0].node


def _argwhere(origin, a):
    m = as_mask(a, "np.argwhere")
    return np.stack(nonzero(m, "np.argwhere"), axis=1).node


def _extract(origin, condition, arr):
    m, x = as_mask(condition, "np.extract"), _tracer(arr)
    return getitem(_flat(x), _flat(m)).node


def _flat(t: Tracer) -> Tracer:
    return t if t.ndim == 1 else _tracer(np.reshape(t, -1))


def _compress(origin, condition, a, axis=None, out=None):
    _no_extras("compress", {"out": out})
    m, x = as_mask(condition, "np.compress"), _tracer(a)
    if m.ndim != 1:
        raise ShapeError(f"{_here()}: np.compress needs a 1-d condition, not {m.ndim}-d")
    if axis is None:
        x, axis = (x if x.ndim == 1 else _tracer(np.reshape(x, -1))), 0
    axis = normalize_axes(axis, x.ndim)[0]
    trace = current_trace()
    n, c = trace.value(x.node.shape[axis]), trace.value(m.node.shape[0])
    if n is not None and c is not None and c < n:  # NumPy: the axis beyond the condition is left out
        x = getitem(x, (slice(None),) * axis + (slice(0, c),))
    elif n is not None and c is not None and c > n:
        raise ShapeError(f"{_here()}: np.compress: the condition has {c} elements, the axis {n}")
    return getitem(x, (slice(None),) * axis + (m,)).node


_MASK_NOTES = ("a traced mask gathers as many elements as it has True ones, a length known only at run time "
               "(the code reads np.count_nonzero(m)); the gradient places it back into zeros")
_POSITIONS = ("integer positions of a run-time length; indexing with them is a gather (np.add.at gradient)")
register(np.nonzero, Entry("nonzero", _nonzero, form="call", notes=_POSITIONS, cases=(
    (((5,),), (("call", _Call("x[nonzero(x>0)]", lambda f, x: np.sum(x[f(x > 0.3)] ** 2))),)),
    (((3, 4),), (("call", _Call("X[nonzero(X<0)]", lambda f, x: np.sum(np.exp(x[f(x < -0.2)])))),)))))
register(np.flatnonzero, Entry("flatnonzero", _flatnonzero, form="call", notes=_POSITIONS, cases=(
    (((6,),), (("call", _Call("x[flatnonzero(x>0)]", lambda f, x: np.sum(x[f(x > 0.3)] ** 3))),)),)))
register(np.argwhere, Entry("argwhere", _argwhere, form="call", notes=_POSITIONS, cases=(
    (((6,),), (("call", _Call("x[argwhere(x>0)[:,0]]", lambda f, x: np.sum(x[f(x > 0.3)[:, 0]] ** 2))),)),)))
register(np.extract, Entry("extract", _extract, form="call", notes=_MASK_NOTES, cases=(
    (((3, 4),), (("call", _Call("extract(X>0,X)", lambda f, x: np.sum(f(x > 0.3, x) ** 2))),)),
    (((5,), (5,)), (("call", _Call("extract(b>0,a)", lambda f, a, b: np.mean(f(b > 0.1, a * b)))),)))))
register(np.compress, Entry("compress", _compress, form="call", notes=_MASK_NOTES, cases=(
    (((4, 3),), (("call", _Call("compress(X[:,0]>0,X,0)", lambda f, x: np.sum(f(x[:, 0] > 0.2, x, 0) ** 2))),)),
    (((3, 4),), (("call", _Call("compress(X[0]>0,X,1)", lambda f, x: np.sum(np.sin(f(x[0] > -0.3, x, 1))))),)),
    (((6,),), (("call", _Call("compress(x>0,x)", lambda f, x: np.sum(f(x > 0.3, x) ** 2))),)))))
