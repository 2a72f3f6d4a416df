"""Registry entries (see :mod:`symdiff.numpy.core`): shapes, joining and splitting, and constant
arrays shaped like a traced one.

Most are written with transpose, reshape and broadcast_to nodes (``tile`` and ``repeat`` broadcast
along a new axis and merge it: no copies in Python, no loops); concatenate, flip, roll and slicing
along an axis are primitives of :mod:`symdiff.ir.primitives.shape`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from ..ir import primitives as P
from ..errors import ShapeError, UnsupportedError
from ..ir.graph import ARG, Node
from .core import Case, Entry, _here, _no_extras, as_node, register, stack_nodes, tracers
from ..ir.shapes import ONE, broadcast_shapes, normalize_axes, size_of
from ..trace.tracer import current_trace
from ..trace.values import Size, Tracer


def _ax(axis, ndim: int) -> int:
    return normalize_axes(int(axis), ndim)[0]


def _dim(d: Any) -> sp.Expr:
    return d.expr if isinstance(d, Size) else sp.Integer(int(d))


def _dims(shape: Any) -> tuple[sp.Expr, ...]:
    return tuple(_dim(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))


def _flat(x: Node) -> Node:
    return P.reshape(x, (size_of(x.shape),))


def _transpose(origin, a, axes=None):
    return P.transpose(as_node(a), axes, origin)


def _reshape(origin, a, shape=None, order="C", newshape=None, copy=None):
    if order != "C":
        raise UnsupportedError(f"{_here()}: reshape with order={order!r}; only C order is supported")
    node = as_node(a)
    shape = newshape if shape is None else shape
    dims = list(shape) if isinstance(shape, (tuple, list)) else [shape]
    trace = current_trace()
    total = trace.resolve(size_of(node.shape))
    out: list[sp.Expr] = []
    for d in dims:
        out.append(d.expr if isinstance(d, Size) else sp.Integer(int(d)))
    if out.count(sp.Integer(-1)) > 1:
        raise ShapeError(f"{_here()}: reshape can only infer one dimension (-1)")
    if sp.Integer(-1) in out:
        rest = size_of([d for d in out if d != -1])
        inferred = sp.simplify(total / rest)
        if not (inferred.is_integer or inferred.is_Symbol):
            inferred = sp.Integer(trace.concrete(total) // trace.concrete(rest))
        out[out.index(sp.Integer(-1))] = inferred
    new = tuple(trace.resolve(d) for d in out)
    if sp.simplify(size_of(new) - total) != 0 and trace.concrete(size_of(new)) != trace.concrete(total):
        raise ShapeError(f"{_here()}: cannot reshape an array of shape {node.shape} into shape {new}")
    return P.reshape(node, tuple(trace.resolve(d) for d in new), origin)



def _ravel(origin, a, order="C"):
    if order not in ("C", "K", "A"):
        raise UnsupportedError(f"{_here()}: ravel with order={order!r}; only C order is supported")
    return P.reshape(as_node(a), (size_of(as_node(a).shape),), origin)


def _swapaxes(origin, a, axis1, axis2):
    x = as_node(a)
    axes = list(range(x.ndim))
    i, j = _ax(axis1, x.ndim), _ax(axis2, x.ndim)
    axes[i], axes[j] = axes[j], axes[i]
    return P.transpose(x, axes, origin)


def _moveaxis(origin, a, source, destination):
    x = as_node(a)
    listed = lambda v: [v] if isinstance(v, (int, np.integer)) else list(v)  # noqa: E731
    src = [_ax(s, x.ndim) for s in listed(source)]
    dst = [_ax(d, x.ndim) for d in listed(destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError(f"{_here()}: np.moveaxis source {source} and destination {destination} do not pair up")
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return P.transpose(x, order, origin)


def _expand_dims(origin, a, axis):
    x = as_node(a)
    axes = normalize_axes(tuple(axis) if isinstance(axis, (list, tuple)) else axis, x.ndim +
                          (len(axis) if isinstance(axis, (list, tuple)) else 1))
    return P.expand_dims(x, axes)


def _squeeze(origin, a, axis=None):
    x = as_node(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == ONE)
    else:
        axes = normalize_axes(tuple(axis) if isinstance(axis, list) else axis, x.ndim)
        if any(x.shape[i] != ONE for i in axes):
            raise ShapeError(f"{_here()}: cannot squeeze an axis whose size is not 1 (shape {x.shape})")
    return P.squeeze(x, axes)


def broadcast_checked(x: Node, shape: tuple) -> Node:
    """``np.broadcast_to(x, shape)``, unifying sizes that must agree."""
    target = broadcast_shapes(x.shape, shape)
    if len(target) != len(shape) or any(s == ONE and t != ONE for s, t in zip(shape, target)):
        raise ShapeError(f"{_here()}: cannot broadcast an array of shape {x.shape} to shape {shape}")
    return P.broadcast_to(x, target)


def _broadcast_to(origin, array, shape, subok=False):
    return broadcast_checked(as_node(array), _dims(shape))


def _at_least(x: Node, ndim: int) -> Node:
    """``np.atleast_1d/2d/3d`` of one array."""
    if x.ndim >= ndim:
        return x
    if ndim == 3 and x.ndim == 2:
        return P.reshape(x, x.shape + (ONE,))
    if ndim == 3 and x.ndim == 1:
        return P.reshape(x, (ONE, x.shape[0], ONE))
    return P.reshape(x, (ONE,) * (ndim - x.ndim) + x.shape)


def _atleast(ndim: int):
    def build(origin, *arys):
        nodes = [_at_least(as_node(a), ndim) for a in arys]
        return nodes[0] if len(nodes) == 1 else tracers(nodes)
    return build


def _joined(arrays) -> list[Node]:
    if isinstance(arrays, Tracer) and arrays.ndim >= 1:  # NumPy iterates an array: its rows
        return [as_node(row) for row in arrays]
    if isinstance(arrays, (Node,)) or not isinstance(arrays, (list, tuple)):
        raise UnsupportedError(f"{_here()}: pass the arrays to join as a list or tuple")
    return [as_node(a) for a in arrays]


def _concatenate(origin, arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_extras("concatenate", {"out": out, "dtype": dtype})
    nodes = _joined(arrays)
    if axis is None:
        nodes, axis = [_flat(n) for n in nodes], 0
    if any(n.ndim == 0 for n in nodes):
        raise ShapeError(f"{_here()}: zero-dimensional arrays cannot be concatenated")
    try:
        return P.concatenate(nodes, _ax(axis, nodes[0].ndim), origin)
    except ShapeError as exc:
        raise ShapeError(f"{_here()}: {exc}") from None


def _stack(origin, arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_extras("stack", {"out": out, "dtype": dtype})
    return stack_nodes(_joined(arrays), axis, origin)


def _hstack(origin, tup, *, dtype=None, casting="same_kind"):
    nodes = [_at_least(n, 1) for n in _joined(tup)]
    return _concatenate(origin, nodes, 0 if all(n.ndim == 1 for n in nodes) else 1)


def _vstack(origin, tup, *, dtype=None, casting="same_kind"):
    return _concatenate(origin, [_at_least(n, 2) for n in _joined(tup)], 0)


def _column_stack(origin, tup):
    nodes = [P.reshape(n, (n.shape[0], ONE)) if n.ndim == 1 else _at_least(n, 2) for n in _joined(tup)]
    return _concatenate(origin, nodes, 1)


def _split(origin, ary, indices_or_sections, axis=0):
    x = as_node(ary)
    ax = _ax(axis, x.ndim)
    trace, n = current_trace(), x.shape[_ax(axis, x.ndim)]
    if isinstance(indices_or_sections, (int, np.integer)):
        parts = int(indices_or_sections)
        size = n if parts == 1 else trace.concrete(n, "the size of the axis np.split divides")
        if parts <= 0 or (parts > 1 and size % parts):
            raise ShapeError(f"{_here()}: np.split of {size} elements into {parts} equal parts")
        step = n if parts == 1 else sp.Integer(size // parts)
        bounds = [(k * step, (k + 1) * step) for k in range(parts)]
    else:
        cuts = [int(i) for i in indices_or_sections]
        value = trace.value(n)
        if all(0 <= i for i in cuts) and cuts == sorted(cuts) and (value is not None and cuts[-1:] <= [value]):
            edges = [sp.Integer(0)] + [sp.Integer(i) for i in cuts] + [n]
            bounds = list(zip(edges[:-1], edges[1:]))
        else:  # Python slice rules (negative, unsorted, past the end): on the concrete size
            size = trace.concrete(n, "the size of the axis np.split cuts")
            edges = [0] + cuts + [size]
            bounds = []
            for lo, hi in zip(edges[:-1], edges[1:]):
                r = range(size)[lo:hi]
                start = r.start if len(r) else 0
                bounds.append((sp.Integer(start), sp.Integer(start + len(r))))
    return tracers([P.slice_axis(x, ax, lo, hi, origin) for lo, hi in bounds])


def _tile(origin, A, reps):
    x = as_node(A)
    reps = [int(r) for r in (reps if isinstance(reps, (tuple, list)) else (reps,))]
    if any(r < 1 for r in reps):
        raise UnsupportedError(f"{_here()}: np.tile with a repetition count below 1 (empty results)")
    ndim = max(len(reps), x.ndim)
    reps = [1] * (ndim - len(reps)) + reps
    x = P.reshape(x, (ONE,) * (ndim - x.ndim) + x.shape)
    inner = [d for r, d in zip(reps, x.shape) for d in ((ONE, d) if r > 1 else (d,))]
    wide = [d for r, d in zip(reps, x.shape) for d in ((sp.Integer(r), d) if r > 1 else (d,))]
    out = P.broadcast_to(P.reshape(x, tuple(inner)), tuple(wide))
    return P.reshape(out, tuple(r * d for r, d in zip(reps, x.shape)), origin)


def _repeat(origin, a, repeats, axis=None):
    x = as_node(a)
    if not isinstance(repeats, (int, np.integer)):
        raise UnsupportedError(f"{_here()}: np.repeat with an array of counts; only one count for all is supported")
    r = int(repeats)
    if r < 0:
        raise ShapeError(f"{_here()}: np.repeat with a negative count")
    if axis is None:
        x, axis = _flat(x), 0
    ax = _ax(axis, x.ndim)
    if r == 0:  # an empty array (a constant: nothing of x is in it, so its gradient is zero)
        trace = current_trace()
        dims = [0 if i == ax else trace.concrete(d, "an axis size of np.repeat's argument")
                for i, d in enumerate(x.shape)]
        return P.const_node(np.zeros(dims, dtype=x.dtype))
    wide = x.shape[:ax + 1] + (sp.Integer(r),) + x.shape[ax + 1:]
    out = P.broadcast_to(P.expand_dims(x, (ax + 1,)), wide)
    return P.reshape(out, x.shape[:ax] + (x.shape[ax] * r,) + x.shape[ax + 1:], origin)


def _flip(origin, m, axis=None):
    x = as_node(m)
    axes = normalize_axes(tuple(axis) if isinstance(axis, list) else axis, x.ndim)
    return P.flip(x, axes, origin)


def _fliplr(origin, m):
    x = as_node(m)
    if x.ndim < 2:
        raise ShapeError(f"{_here()}: np.fliplr needs at least 2 dimensions")
    return P.flip(x, (1,), origin)


def _flipud(origin, m):
    x = as_node(m)
    if x.ndim < 1:
        raise ShapeError(f"{_here()}: np.flipud needs at least 1 dimension")
    return P.flip(x, (0,), origin)


def _roll(origin, a, shift, axis=None):
    x = as_node(a)
    if axis is None:
        return P.reshape(P.roll(_flat(x), [int(np.sum(shift))], [0], origin), x.shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    total: dict[int, int] = {}
    for s, ax in zip(shifts.tolist(), axes.tolist()):
        total[_ax(ax, x.ndim)] = total.get(_ax(ax, x.ndim), 0) + int(s)
    return P.roll(x, list(total.values()), list(total), origin)


def _constant_like(value: float | None):
    def build(origin, a, *args, dtype=None, order="K", subok=True, shape=None, device=None):
        x = as_node(a)
        fill = args[0] if value is None and args else None
        if value is None and not args:
            raise ShapeError(f"{_here()}: np.full_like needs a fill value")
        _no_extras("full_like" if value is None else "zeros_like", {"dtype": dtype})
        node = P.scalar(sp.Integer(value), x.dtype) if value is not None else as_node(fill)
        return broadcast_checked(node, x.shape if shape is None else _dims(shape))
    return build


def _triangle(fn):
    """``np.triu``/``np.tril`` of a traced array: times a constant 0/1 mask over its last two axes."""
    def build(origin, m, k=0):
        x = as_node(m)
        if x.ndim < 2:
            raise ShapeError(f"{_here()}: np.{fn.__name__} of a traced array of {x.ndim} dimensions; pass a matrix")
        n, p = (current_trace().concrete(d, f"an axis size of np.{fn.__name__}'s argument") for d in x.shape[-2:])
        mask = P.const_node(fn(np.ones((n, p)), int(k)))
        return P.elementwise(ARG[0] * ARG[1], (x, mask), origin=origin)
    return build


def _copy(origin, a, order="K", subok=False):
    return as_node(a)


SWAP_CASES: tuple[Case, ...] = ((((2, 3),), (("axis1", 0), ("axis2", 1))),
                                (((2, 3, 4),), (("axis1", -1), ("axis2", 0))))
MOVE_CASES: tuple[Case, ...] = ((((2, 3, 4),), (("source", 0), ("destination", -1))),
                                (((2, 3, 4),), (("source", (0, 1)), ("destination", (2, 0)))))
JOIN_CASES: tuple[Case, ...] = ((((2, 3), (2, 3)), ()), (((2, 3), (4, 3)), ()), (((2,), (3,), (1,)), ()),
                                (((2, 3), (2, 1)), (("axis", -1),)), (((2, 3), (3,)), (("axis", None),)))
STACK_CASES: tuple[Case, ...] = ((((2, 3), (2, 3)), ()), (((3,), (3,), (3,)), (("axis", -1),)),
                                 (((2, 3), (2, 3)), (("axis", 1),)))
SPLIT_CASES: tuple[Case, ...] = ((((4, 3),), (("indices_or_sections", 2),)),
                                 (((2, 6),), (("indices_or_sections", 3), ("axis", -1))),
                                 (((6,),), (("indices_or_sections", [2, 4]),)),
                                 (((6,),), (("indices_or_sections", [-3]),)))
ROLL_CASES: tuple[Case, ...] = ((((5,),), (("shift", 2),)), (((2, 3),), (("shift", -1), ("axis", 1))),
                                (((2, 3),), (("shift", 4),)), (((2, 3),), (("shift", (1, 2)), ("axis", (0, 1)))))

register(np.transpose, Entry("transpose", _transpose, cases=((((2, 3),), ()), (((2, 3, 4),), (("axes", (1, 2, 0)),)))))
register(np.reshape, Entry("reshape", _reshape, cases=((((2, 3),), (("shape", (3, 2)),)), (((2, 3),), (("shape", -1),)),
                                                      (((6,),), (("shape", (2, -1)),)))))
register(np.ravel, Entry("ravel", _ravel, cases=((((2, 3),), ()), (((4,),), ()), (((),), ()))))
register(np.swapaxes, Entry("swapaxes", _swapaxes, cases=SWAP_CASES))
register(np.moveaxis, Entry("moveaxis", _moveaxis, cases=MOVE_CASES))
register(np.expand_dims, Entry("expand_dims", _expand_dims, cases=(
    (((2, 3),), (("axis", 0),)), (((2, 3),), (("axis", -1),)), (((3,),), (("axis", (0, 2)),)))))
register(np.squeeze, Entry("squeeze", _squeeze, cases=((((1, 3, 1),), ()), (((2, 1, 3),), (("axis", -2),)))))
register(np.broadcast_to, Entry("broadcast_to", _broadcast_to, cases=(
    (((3,),), (("shape", (2, 3)),)), (((2, 1),), (("shape", (4, 2, 3)),)), (((),), (("shape", (2,)),)))))
register(np.atleast_1d, Entry("atleast_1d", _atleast(1), cases=((((),), ()), (((3,),), ()))))
register(np.atleast_2d, Entry("atleast_2d", _atleast(2), cases=((((),), ()), (((3,),), ()), (((2, 3),), ()))))
register(np.atleast_3d, Entry("atleast_3d", _atleast(3), cases=((((),), ()), (((3,),), ()), (((2, 3),), ()))))
register(np.concatenate, Entry("concatenate", _concatenate, form="list", cases=JOIN_CASES))
register(np.stack, Entry("stack", _stack, form="list", cases=STACK_CASES))
register(np.hstack, Entry("hstack", _hstack, form="list",
                          cases=((((2,), (3,)), ()), (((2, 3), (2, 1)), ()), (((), ()), ()))))
register(np.vstack, Entry("vstack", _vstack, form="list", cases=((((3,), (3,)), ()), (((2, 3), (1, 3)), ()))))
register(np.column_stack, Entry("column_stack", _column_stack, form="list",
                                cases=((((3,), (3,)), ()), (((3, 2), (3,)), ()))))
register(np.split, Entry("split", _split, cases=SPLIT_CASES))
register(np.tile, Entry("tile", _tile, cases=((((3,),), (("reps", 2),)), (((2, 3),), (("reps", (2, 1, 2)),)),
                                             (((2, 3),), (("reps", 1),)))))
register(np.repeat, Entry("repeat", _repeat, cases=((((3,),), (("repeats", 2),)),
                                                   (((2, 3),), (("repeats", 2), ("axis", -1))),
                                                   (((2, 3),), (("repeats", 3),)))))
register(np.flip, Entry("flip", _flip, cases=((((4,),), ()), (((2, 3),), (("axis", 1),)),
                                             (((2, 3, 4),), (("axis", (0, -1)),)))))
register(np.fliplr, Entry("fliplr", _fliplr, cases=((((2, 3),), ()),)))
register(np.flipud, Entry("flipud", _flipud, cases=((((2, 3),), ()),)))
register(np.roll, Entry("roll", _roll, cases=ROLL_CASES))
register(np.copy, Entry("copy", _copy))
register(np.triu, Entry("triu", _triangle(np.triu), cases=((((3, 3),), ()), (((3, 4),), (("k", 1),)),
                                                         (((2, 3, 3),), (("k", -1),)))))
register(np.tril, Entry("tril", _triangle(np.tril), cases=((((3, 3),), ()), (((4, 3),), (("k", -1),)),
                                                         (((2, 3, 3),), (("k", 1),)))))
register(np.zeros_like, Entry("zeros_like", _constant_like(0)))
register(np.ones_like, Entry("ones_like", _constant_like(1)))
register(np.full_like, Entry("full_like", _constant_like(None), cases=(
    (((2, 3), ()), ()), (((2, 3), (3,)), ()), (((4,), ()), ()))))
