"""Registry entries (see :mod:`symdiff.numpy.core`): assembling arrays from pieces and known indices.

Everything here is built from existing primitives: concatenation (``np.append``, ``np.pad`` with
constants, ``np.dstack``), slices (``np.array_split`` and its axis forms), transposes and flips
(``np.rot90``, ``np.rollaxis``), ``np.where`` (``np.select``), broadcasting (``np.meshgrid``,
``np.linspace``) and gathers of indices NumPy computes at trace time on an array of element numbers
(``np.pad``'s other modes, ``np.insert``, ``np.delete``, ``np.take``, ``np.take_along_axis``;
``np.put_along_axis`` is an assignment). A gather's gradient adds repeated indices up
(``np.add.at``), so edge and reflect padding are exact. ``np.r_``/``np.c_``: :mod:`~symdiff.numpy.standins`.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..errors import ShapeError, UnsupportedError
from ..ir import primitives as P
from ..ir.graph import Node
from ..ir.shapes import ONE, normalize_axes
from ..trace.tracer import current_trace
from ..trace.values import Tracer
from .core import Entry, _here, _holds_tracer, _no_extras, _where, as_node, register, tracers
from .shape import _at_least, _concatenate, _joined, broadcast_checked


def _ax(axis, ndim: int) -> int:
    return normalize_axes(int(axis), ndim)[0]


def _sizes(x: Node, what: str) -> tuple[int, ...]:
    trace = current_trace()
    return tuple(trace.concrete(d, what) for d in x.shape)


def _gather(x: Node, index: tuple) -> Node:
    """``x[index]`` for an index of constant integer arrays and slices (through the tracer's indexing)."""
    return as_node(Tracer(current_trace().note(x))[index])


def _take_axis(x: Node, idx: np.ndarray, ax: int) -> Node:
    """``np.take(x, idx, axis=ax)`` for constant in-range ``idx``; a whole axis in order is ``x`` itself."""
    n = current_trace().value(x.shape[ax])
    if idx.ndim == 1 and n is not None and len(idx) == n and np.array_equal(idx, np.arange(n)):
        return x
    return _gather(x, (slice(None),) * ax + (idx,))


def _known(v, what: str):
    """A constant index argument as NumPy values (constant Tracers too); traced indices are refused."""
    if isinstance(v, Tracer) and v.is_const():
        return np.asarray(v)
    if _holds_tracer(v):
        raise UnsupportedError(f"{_here()}: {what} with traced indices or positions; they must be known when "
                               "traced (constants, or computed from sizes)")
    return v


def _flat_gather(sources: list[Node], build, what: str) -> Node:
    """The array ``build(*ids)`` makes from arrays of element numbers shaped as ``sources`` (NumPy's own
    function applied to numbers, so its broadcasting and index rules hold), gathered from the sources."""
    ids, start = [], 0
    for s in sources:
        shape = _sizes(s, what)
        ids.append(np.arange(start, start + int(np.prod(shape)), dtype=np.intp).reshape(shape))
        start += int(np.prod(shape))
    out = np.asarray(build(*ids))
    flat = [P.reshape(s, (sp.Integer(int(np.prod(i.shape))),)) for s, i in zip(sources, ids)]
    joined = flat[0] if len(flat) == 1 else P.concatenate(flat, 0)
    return _gather(joined, (out,))


# ---------------------------------------------------------------- padding, insert, delete ---------

PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad(origin, array, pad_width, mode="constant", **kwargs):
    x = as_node(array)
    if mode not in PAD_MODES:
        raise UnsupportedError(f"{_here()}: np.pad with mode={mode!r}; supported modes are {', '.join(PAD_MODES)}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (x.ndim, 2))
    if (widths < 0).any():
        raise ShapeError(f"{_here()}: np.pad with a negative pad width ({pad_width})")
    if mode != "constant":
        if kwargs.get("reflect_type", "even") != "even":
            raise UnsupportedError(f"{_here()}: np.pad with reflect_type={kwargs['reflect_type']!r}; only 'even'")
        _no_extras("pad", {k: v for k, v in kwargs.items() if k != "reflect_type"})
        for ax, (before, after) in enumerate(widths.tolist()):
            if before or after:
                n = current_trace().concrete(x.shape[ax], "the size of an axis np.pad pads")
                idx = np.pad(np.arange(n), (before, after), mode=mode, **kwargs)
                x = _take_axis(x, idx, ax)
        return x
    values = kwargs.pop("constant_values", 0)
    _no_extras("pad", kwargs)
    if _holds_tracer(values) and not isinstance(values, Tracer):
        raise UnsupportedError(f"{_here()}: np.pad with a list of traced constant_values; pass one value")
    if isinstance(values, Tracer):
        if values.ndim:
            raise UnsupportedError(f"{_here()}: np.pad with traced constant_values that are not a scalar")
        pairs = [[values, values]] * x.ndim
    else:
        pairs = np.broadcast_to(np.asarray(values, dtype=float), (x.ndim, 2)).tolist()
    for ax, (before, after) in enumerate(widths.tolist()):
        parts = []
        for width, value in ((before, pairs[ax][0]), (after, pairs[ax][1])):
            block = x.shape[:ax] + (sp.Integer(width),) + x.shape[ax + 1:]
            parts.append(broadcast_checked(as_node(value), block) if width else None)
        if parts[0] is not None or parts[1] is not None:
            x = P.concatenate([p for p in (parts[0], x, parts[1]) if p is not None], ax,
                              origin if ax == x.ndim - 1 else None)
    return x


def _append(origin, arr, values, axis=None):
    if axis is None:
        return _concatenate(origin, [arr, values], None)
    return _concatenate(origin, [arr, values], axis)


def _flattened(x: Node, axis) -> tuple[Node, int]:
    if axis is None:
        return P.reshape(x, (sp.Mul(*x.shape),)), 0
    return x, _ax(axis, x.ndim)


def _insert(origin, arr, obj, values, axis=None):
    obj = _known(obj, "np.insert")
    x, ax = _flattened(as_node(arr), axis)
    v = as_node(values)
    return _flat_gather([x, v], lambda i, j: np.insert(i, obj, j, axis=ax), "an axis size of np.insert")


def _delete(origin, arr, obj, axis=None):
    obj = _known(obj, "np.delete")
    x, ax = _flattened(as_node(arr), axis)
    n = current_trace().concrete(x.shape[ax], "the size of the axis np.delete removes from")
    keep = np.delete(np.arange(n), obj)
    if len(keep) == 0:
        raise UnsupportedError(f"{_here()}: np.delete of every element (an empty result)")
    return _take_axis(x, keep, ax)


def take_known(origin, a, indices, axis=None, out=None, mode="raise"):
    """``np.take`` with indices known at trace time (any ``mode``): a gather of NumPy's own index rules."""
    _no_extras("take", {"out": out})
    indices = _known(indices, "np.take")
    x, ax = _flattened(as_node(a), axis)
    n = current_trace().concrete(x.shape[ax], "the size of the axis np.take reads")
    idx = np.take(np.arange(n), np.asarray(indices), mode=mode)  # NumPy's index rules, wrap and clip
    if idx.ndim == 0:
        return _gather(x, (slice(None),) * ax + (int(idx),))
    return _take_axis(x, idx, ax)


def take_along_axis_known(origin, arr, indices, axis=-1):
    """``np.take_along_axis`` with indices known at trace time."""
    indices = _known(indices, "np.take_along_axis")
    x = as_node(arr)
    if axis is None:
        x, axis = P.reshape(x, (sp.Mul(*x.shape),)), 0
    return _flat_gather([x], lambda i: np.take_along_axis(i, np.asarray(indices), axis), "np.take_along_axis")


def _put_along_axis(origin, arr, indices, values, axis):
    if not isinstance(arr, Tracer):
        raise UnsupportedError(f"{_here()}: np.put_along_axis into an array that is not traced")
    indices = _known(indices, "np.put_along_axis")
    if axis is None:
        raise UnsupportedError(f"{_here()}: np.put_along_axis with axis=None; give the axis")
    shape = _sizes(arr.node, "np.put_along_axis")
    idx = np.asarray(indices)
    ax = _ax(axis, len(shape))
    fancy = tuple(np.broadcast_to(idx % s if d == ax else np.arange(s).reshape(
        (1,) * d + (s,) + (1,) * (len(shape) - d - 1)), idx.shape) for d, s in enumerate(shape))
    values = values if isinstance(values, Tracer) else np.asarray(values, dtype=float)
    arr[fancy] = np.broadcast_to(values, idx.shape) if not isinstance(values, Tracer) else \
        Tracer(current_trace().note(broadcast_checked(as_node(values), tuple(sp.Integer(s) for s in idx.shape))))


# ---------------------------------------------------------------- joining and splitting -----------

def _dstack(origin, tup):
    return _concatenate(origin, [_at_least(n, 3) for n in _joined(tup)], 2)


def _array_split(origin, ary, indices_or_sections, axis=0):
    x = as_node(ary)
    ax = _ax(axis, x.ndim)
    if not isinstance(indices_or_sections, (int, np.integer)):
        from .shape import _split
        return _split(origin, x, indices_or_sections, ax)
    parts = int(indices_or_sections)
    n = current_trace().concrete(x.shape[ax], "the size of the axis np.array_split divides")
    if parts <= 0 or parts > n:
        raise UnsupportedError(f"{_here()}: np.array_split of {n} elements into {parts} parts "
                               "(empty parts are not supported)")
    each, extra = divmod(n, parts)
    edges = np.cumsum([0] + [each + 1] * extra + [each] * (parts - extra)).tolist()
    return tracers([P.slice_axis(x, ax, sp.Integer(lo), sp.Integer(hi), origin)
                    for lo, hi in zip(edges[:-1], edges[1:])])


def _axis_split(which: str):
    def build(origin, ary, indices_or_sections):
        from .shape import _split
        x = as_node(ary)
        need = {"vsplit": 2, "hsplit": 1, "dsplit": 3}[which]
        if x.ndim < need:
            raise ShapeError(f"{_here()}: np.{which} needs an array of at least {need} dimensions")
        ax = {"vsplit": 0, "hsplit": 1 if x.ndim > 1 else 0, "dsplit": 2}[which]
        return _split(origin, x, indices_or_sections, ax)
    return build


# ---------------------------------------------------------------- rotations and axes --------------

def _rot90(origin, m, k=1, axes=(0, 1)):
    x = as_node(m)
    a0, a1 = (_ax(a, x.ndim) for a in axes)
    if a0 == a1:
        raise ShapeError(f"{_here()}: np.rot90 needs two different axes")
    k %= 4
    order = list(range(x.ndim))
    order[a0], order[a1] = a1, a0
    if k == 0:
        return x
    if k == 2:
        return P.flip(x, (a0, a1), origin)
    if k == 1:
        return P.transpose(P.flip(x, (a1,)), order, origin)
    return P.flip(P.transpose(x, order), (a1,), origin)


def _rollaxis(origin, a, axis, start=0):
    x = as_node(a)
    n = x.ndim
    axis = _ax(axis, n)
    start = int(start) + (n if int(start) < 0 else 0)
    if not 0 <= start <= n:
        raise ShapeError(f"{_here()}: np.rollaxis start {start} is out of range for {n} dimensions")
    if axis < start:
        start -= 1
    if axis == start:
        return x
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return P.transpose(x, order, origin)


# ---------------------------------------------------------------- choices and grids ---------------

def _select(origin, condlist, choicelist, default=0):
    if len(condlist) != len(choicelist) or not condlist:
        raise ShapeError(f"{_here()}: np.select needs as many conditions as choices (at least one)")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = _where(origin, cond, choice, out)
    return as_node(out)


def _linspace(origin, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    _no_extras("linspace", {"dtype": dtype})
    num = int(num)
    if num < 1:
        raise UnsupportedError(f"{_here()}: np.linspace with num={num} (an empty result)")
    lo, hi = as_node(start), as_node(stop)
    div = (num - 1 if endpoint else num) or 1
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint) if num > 1 else np.zeros(1)
    rank = max(lo.ndim, hi.ndim)
    frac = P.const_node(t.reshape((num,) + (1,) * rank))
    from .core import _compose
    out = _compose(lambda a, b, s: a + (b - a) * s, (lo, hi, frac), origin)
    if axis != 0:
        out = P.transpose(out, _moved(out.ndim, _ax(axis, out.ndim)))
    if retstep:
        return tracers([out, _compose(lambda a, b: (b - a) / div, (lo, hi), origin)])
    return out


def _moved(ndim: int, dest: int) -> list[int]:
    order = list(range(1, ndim))
    order.insert(dest, 0)
    return order


def _meshgrid(origin, *xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ShapeError(f"{_here()}: np.meshgrid indexing must be 'xy' or 'ij'")
    nodes = [P.reshape(n, (sp.Mul(*n.shape),)) if n.ndim != 1 else n for n in (as_node(x) for x in xi)]
    k = len(nodes)
    dims = [n.shape[0] for n in nodes]
    pos = list(range(k))
    if indexing == "xy" and k > 1:
        pos[0], pos[1] = 1, 0
        dims[0], dims[1] = dims[1], dims[0]
    out = []
    for i, n in enumerate(nodes):
        shape = [ONE] * k
        shape[pos[i]] = n.shape[0]
        g = P.reshape(n, tuple(shape))
        out.append(g if sparse else P.broadcast_to(g, tuple(dims)))
    return tracers(out)




PAD_CASES = ((((3,),), (("pad_width", 2),)),
             (((2, 3),), (("pad_width", ((1, 0), (0, 2))), ("constant_values", 1.5))),
             (((4,),), (("pad_width", (2, 3)), ("mode", "edge"))),
             (((2, 4),), (("pad_width", ((1, 1), (3, 2))), ("mode", "reflect"))),
             (((3, 2),), (("pad_width", 2), ("mode", "symmetric"))),
             (((3,),), (("pad_width", (4, 5)), ("mode", "wrap"))))
register(np.pad, Entry("pad", _pad, cases=PAD_CASES, notes="constant (traced scalar values too), edge, reflect, "
                       "symmetric, wrap; a gather of known indices whose gradient adds repeated elements up"))
register(np.append, Entry("append", _append, cases=((((3,), (2,)), ()), (((2, 3), (1, 3)), (("axis", 0),)),
                                                    (((2, 3), (2,)), ()))))
register(np.insert, Entry("insert", _insert, cases=((((4,),), (("obj", 1), ("values", 2.5))),
                                                    (((2, 3),), (("obj", [0, 2]), ("values", 0.5), ("axis", 1))),
                                                    (((2, 3),), (("obj", 5), ("values", (1.0, 2.0)))))))
register(np.delete, Entry("delete", _delete, cases=((((4,),), (("obj", 1),)),
                                                    (((3, 4),), (("obj", [0, -1]), ("axis", 1))),
                                                    (((2, 3),), (("obj", slice(1, 4)),)))))
register(np.dstack, Entry("dstack", _dstack, form="list", cases=((((3,), (3,)), ()), (((2, 3), (2, 3, 2)), ()))))
register(np.array_split, Entry("array_split", _array_split, cases=(
    (((6,),), (("indices_or_sections", 3),)), (((2, 4),), (("indices_or_sections", 2), ("axis", 1))),
    (((6,),), (("indices_or_sections", [3]),)))))
register(np.vsplit, Entry("vsplit", _axis_split("vsplit"), cases=((((4, 2),), (("indices_or_sections", 2),)),)))
register(np.hsplit, Entry("hsplit", _axis_split("hsplit"), cases=((((2, 4),), (("indices_or_sections", [2]),)),
                                                                   (((6,),), (("indices_or_sections", 3),)))))
register(np.dsplit, Entry("dsplit", _axis_split("dsplit"), cases=((((2, 1, 4),), (("indices_or_sections", 2),)),)))
register(np.rot90, Entry("rot90", _rot90, cases=((((2, 3),), ()), (((2, 3),), (("k", 2),)), (((2, 3),), (("k", -1),)),
                                                 (((2, 3, 4),), (("k", 1), ("axes", (2, 0)))))))
register(np.rollaxis, Entry("rollaxis", _rollaxis, cases=((((2, 3, 4),), (("axis", 2),)),
                                                          (((2, 3, 4),), (("axis", 0), ("start", 3))))))
register(np.linspace, Entry("linspace", _linspace, cases=((((), ()), (("num", 5),)),
                                                          (((2,), ()), (("num", 4), ("endpoint", False))),
                                                          (((2,), (2,)), (("num", 3), ("axis", -1))))))
register(np.meshgrid, Entry("meshgrid", _meshgrid, cases=((((3,), (2,)), ()), (((3,), (2,)), (("indexing", "ij"),)),
                                                          (((2,), (3,), (2,)), ()))))


class _Call:
    """How the table-driven test calls a function whose arguments are lists or written in place (its
    name is the test's id)."""

    def __init__(self, name: str, call) -> None:
        self.name, self.call = name, call

    def __call__(self, func, *arrays):
        return self.call(func, *arrays)

    def __repr__(self) -> str:
        return self.name


def _put_call(func, a, v):
    z = a * 1.0
    func(z, np.array([[1], [0]]), v, axis=1)
    return z


register(np.select, Entry("select", _select, form="call", cases=(
    (((3,), (3,)), (("call", _Call("a>0.5,a<-0.5", lambda f, a, b: f([a > 0.5, a < -0.5], [a * b, b], 0.25))),)),
    (((2, 3), (3,)), (("call", _Call("b>0", lambda f, a, b: f([b > 0], [a]))),)))))
register(np.put_along_axis, Entry("put_along_axis", _put_along_axis, form="call", cases=(
    (((2, 3), (2, 1)), (("call", _Call("z[[1],[0]]=v", _put_call)),)),)))
