"""Registry entries (see :mod:`symdiff.numpy.core`): reductions and scans.

``axis`` may be None, an int, negative, or a tuple; ``keepdims`` is honoured. Variance, standard
deviation and peak-to-peak are written with other entries' nodes, so their gradients come for free.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..ir import primitives as P
from ..ir.domain import nan_outside
from ..ir.graph import ARG, Node, Origin
from ..errors import UnsupportedError
from ..ir.scalar import isfinite
from .core import Case, Entry, _compose, _here, _no_extras, as_node, register
from ..trace.tracer import current_trace
from ..ir.shapes import normalize_axes, size_of


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _reduction(op: str):
    def build(origin, a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        _no_extras(op, {"out": out, **kwargs})
        return P.reduce(op, as_node(a), axis=_axis(axis), keepdims=keepdims, origin=origin)
    return build


def variance(x: Node, axis, ddof, keepdims: bool, origin: Origin | None, root: bool = False) -> Node:
    """``sum((x - mean(x))**2) / (n - ddof)`` over ``axis`` (its square root when ``root``)."""
    axes = normalize_axes(_axis(axis), x.ndim)
    mean = P.reduce("mean", x, axis=axes, keepdims=True, origin=origin)
    squares = P.elementwise((ARG[0] - ARG[1]) ** 2, (x, mean), origin=origin)
    total = P.reduce("sum", squares, axis=axes, keepdims=keepdims, origin=origin)
    n = size_of([x.shape[i] for i in axes])
    if n == 1 and ddof == 0:
        # one element (a size-1 axis is part of the traced signature): var and std are identically 0, so
        # are all their derivatives (sqrt(0)'s would be 0/0); NaN or inf elements still give NaN
        return P.elementwise(nan_outside(sp.S.Zero, isfinite(ARG[0])), (total,), origin=origin)
    scaled = ARG[0] / (n - sp.sympify(ddof))
    return P.elementwise(sp.sqrt(scaled) if root else scaled, (total,), origin=origin)


def _var(root: bool):
    name = "std" if root else "var"

    def build(origin, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
              correction=None):
        _no_extras(name, {"out": out, "where": where, "mean": mean})
        return variance(as_node(a), axis, ddof if correction is None else correction, keepdims, origin, root)
    return build


def _truths(op: str, name: str):
    """``np.any`` / ``np.all`` (the max / min of ``x != 0``: booleans) and ``np.count_nonzero`` (the sum of
    ``x != 0``: a count, a number)."""
    def build(origin, a, axis=None, out=None, keepdims=False, **kwargs):
        _no_extras(name, {"out": out, **kwargs})
        truth = _compose(lambda v: v, (a,), origin, conditions="all")
        return P.reduce(op, truth, axis=_axis(axis), keepdims=keepdims, origin=origin)
    return build


def _ptp(origin, a, axis=None, out=None, keepdims=False):
    _no_extras("ptp", {"out": out})
    x = as_node(a)
    if x.dtype == "bool":
        raise UnsupportedError(f"{_here()}: np.ptp of booleans is an error in NumPy (boolean subtract); "
                               "use np.any(x) & ~np.all(x), or x.astype(float) first")
    hi = P.reduce("max", x, axis=_axis(axis), keepdims=keepdims, origin=origin)
    lo = P.reduce("min", x, axis=_axis(axis), keepdims=keepdims, origin=origin)
    return P.elementwise(ARG[0] - ARG[1], (hi, lo), origin=origin)


def _cumsum(origin, a, axis=None, dtype=None, out=None):
    _no_extras("cumsum", {"out": out, "dtype": dtype})
    x = as_node(a)
    if axis is None or x.ndim == 0:  # NumPy flattens first
        x, axis = P.reshape(x, (size_of(x.shape),)), 0
    return P.cumsum(x, normalize_axes(axis, x.ndim)[0], origin)


MAX_CUMPROD = 256


def _cumprod(origin, a, axis=None, dtype=None, out=None):
    """``np.cumprod`` as a chain of products ``y[k] = y[k-1] * x[k]`` along the axis (exact where x
    has zeros, unlike formulas dividing by x); the axis length is specialised to its value."""
    _no_extras("cumprod", {"out": out, "dtype": dtype})
    x = as_node(a)
    if axis is None or x.ndim == 0:
        x, axis = P.reshape(x, (size_of(x.shape),)), 0
    axis = normalize_axes(axis, x.ndim)[0]
    n = current_trace().concrete(x.shape[axis], "the length of a cumprod axis")
    if n > MAX_CUMPROD:
        raise UnsupportedError(f"{_here()}: np.cumprod along an axis of {n} > {MAX_CUMPROD} elements is written "
                               "as a chain of products, too long here; use np.exp(np.cumsum(np.log(x))) for "
                               "positive x")
    parts = [P.slice_axis(x, axis, 0, 1, origin)]
    for k in range(1, n):
        parts.append(P.elementwise(ARG[0] * ARG[1], (parts[-1], P.slice_axis(x, axis, k, k + 1, origin)),
                                   origin=origin))
    return P.concatenate(parts, axis, origin)


def _diff(origin, a, n=1, axis=-1, prepend=None, append=None):
    """``np.diff``: ``x[1:] - x[:-1]`` along ``axis``, ``n`` times (``x[1:] != x[:-1]`` for booleans, as NumPy)."""
    _no_extras("diff", {"prepend": prepend, "append": append})
    x = as_node(a)
    axis = normalize_axes(axis, x.ndim)[0]
    for _ in range(int(n)):
        size = x.shape[axis]
        change = sp.Ne(ARG[0], ARG[1]) if x.dtype == "bool" else ARG[0] - ARG[1]  # NumPy: booleans differ
        x = P.elementwise(change, (P.slice_axis(x, axis, 1, size, origin),
                                            P.slice_axis(x, axis, 0, size - 1, origin)), origin=origin)
    return x


def _sort(origin, a, axis=-1, kind=None, order=None, stable=None):
    """``np.sort``: the elements gathered in the order ``np.argsort`` gives (so the gradient goes back
    to where each element came from; ties get one of the equal elements' gradient each)."""
    _no_extras("sort", {"order": order})
    x = as_node(a)
    if axis is None:
        x, axis = P.reshape(x, (size_of(x.shape),)), 0
    axis = normalize_axes(axis, x.ndim)[0]
    order_node = P.argreduce("argsort", x, axis, x.shape, origin)
    arrays, index = [], []
    for k in range(x.ndim):  # every axis indexed by an array: the others by aranges shaped to broadcast
        if k == axis:
            arrays.append(order_node)
        else:
            positions = np.arange(current_trace().concrete(x.shape[k], "the size of a sorted array's axis"))
            arrays.append(P.index_const(positions.reshape([-1 if j == k else 1 for j in range(x.ndim)])))
        index.append(("array", k))
    return P.gather(x, tuple(index), arrays, x.shape, origin)


def _argreduce(op: str):
    def build(origin, a, axis=None, out=None, keepdims=False):
        _no_extras(op, {"out": out, "keepdims": keepdims or None})
        x = as_node(a)
        if axis is None:
            return P.argreduce(op, x, None, (), origin)
        axis = normalize_axes(axis, x.ndim)[0]
        return P.argreduce(op, x, axis, x.shape[:axis] + x.shape[axis + 1:], origin)
    return build


REDUCE_CASES: tuple[Case, ...] = ((((2, 3),), ()), (((2, 3),), (("axis", 0),)),
                                  (((2, 3),), (("axis", -1), ("keepdims", True))),
                                  (((2, 3, 4),), (("axis", (0, 2)),)), (((4,),), (("keepdims", True),)))
VAR_CASES: tuple[Case, ...] = REDUCE_CASES + ((((2, 3, 4),), (("axis", (-1, 0)), ("ddof", 1))),
                                              (((5,),), (("ddof", 1),)))
ARG_CASES: tuple[Case, ...] = ((((5,),), ()), (((2, 3),), (("axis", 1),)), (((2, 3, 4),), (("axis", -2),)))
SCAN_CASES: tuple[Case, ...] = ((((4,),), ()), (((2, 3),), ()), (((2, 3),), (("axis", 0),)),
                                (((2, 3, 4),), (("axis", -1),)))

register(np.sum, Entry("sum", _reduction("sum"), cases=REDUCE_CASES))
register(np.mean, Entry("mean", _reduction("mean"), cases=REDUCE_CASES))
register(np.max, Entry("max", _reduction("max"), cases=REDUCE_CASES))
register(np.amax, Entry("amax", _reduction("max"), cases=REDUCE_CASES))
register(np.min, Entry("min", _reduction("min"), cases=REDUCE_CASES))
register(np.amin, Entry("amin", _reduction("min"), cases=REDUCE_CASES))
register(np.argmax, Entry("argmax", _argreduce("argmax"), cases=ARG_CASES, notes="integer positions: no gradient"))
register(np.argmin, Entry("argmin", _argreduce("argmin"), cases=ARG_CASES, notes="integer positions: no gradient"))
register(np.diff, Entry("diff", _diff, cases=((((5,),), ()), (((2, 4),), (("n", 2),)), (((3, 2),), (("axis", 0),)))))
register(np.sort, Entry("sort", _sort, cases=((((5,),), ()), (((2, 4),), ()), (((3, 2),), (("axis", 0),))),
                        notes="a gather in np.argsort's order"))
register(np.argsort, Entry("argsort", lambda origin, a, axis=-1, kind=None, order=None, stable=None: P.argreduce(
    "argsort", as_node(a), normalize_axes(axis, as_node(a).ndim)[0], as_node(a).shape, origin), cases=ARG_CASES,
    notes="integer positions: no gradient"))
register(np.prod, Entry("prod", _reduction("prod"), domain=(0.5, 1.5), cases=REDUCE_CASES,
                        notes="gradient exact with zeros too (product of the others, no division by 0)"))
register(np.any, Entry("any", _truths("max", "any"), cases=REDUCE_CASES, notes="boolean: gradient zero"))
register(np.all, Entry("all", _truths("min", "all"), cases=REDUCE_CASES, notes="boolean: gradient zero"))
register(np.count_nonzero, Entry("count_nonzero", _truths("sum", "count_nonzero"), cases=REDUCE_CASES,
                                 notes="a count of x != 0: gradient zero"))
register(np.var, Entry("var", _var(False), cases=VAR_CASES))
register(np.std, Entry("std", _var(True), cases=VAR_CASES,
                       notes="one element: all derivatives 0; equal elements: gradient NaN (as autograd)"))
register(np.ptp, Entry("ptp", _ptp, cases=REDUCE_CASES))
register(np.cumsum, Entry("cumsum", _cumsum, cases=SCAN_CASES))
register(np.cumprod, Entry("cumprod", _cumprod, cases=SCAN_CASES, domain=(-1.5, 1.5),
                           notes="a chain of products along the axis: exact with zeros; axes up to 256"))
