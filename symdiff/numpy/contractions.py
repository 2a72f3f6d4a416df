"""Registry entries (see :mod:`symdiff.numpy.core`): contractions.

``np.einsum``, ``np.tensordot``, ``np.inner`` and ``np.outer`` are einsum (or outer) nodes, whose
adjoint is an einsum again.
"""
from __future__ import annotations

import string

import numpy as np

from ..ir import primitives as P
from ..errors import ShapeError, UnsupportedError
from ..ir.graph import Node
from .core import Entry, _compose, _here, _no_extras, as_node, register
from ..ir.shapes import normalize_axes, same_dim, size_of

LETTERS = string.ascii_lowercase + string.ascii_uppercase


def contract(a: Node, b: Node, a_axes, b_axes, origin) -> Node:
    """``np.tensordot(a, b, (a_axes, b_axes))`` as an einsum node."""
    a_axes = [normalize_axes(i, a.ndim)[0] for i in a_axes]
    b_axes = [normalize_axes(i, b.ndim)[0] for i in b_axes]
    if len(a_axes) != len(b_axes) or len(set(a_axes)) != len(a_axes) or len(set(b_axes)) != len(b_axes):
        raise ShapeError(f"{_here()}: tensordot axes {a_axes} and {b_axes} do not pair up")
    if a.ndim + b.ndim > len(LETTERS):
        raise UnsupportedError(f"{_here()}: too many dimensions for einsum")
    sa = LETTERS[:a.ndim]
    fresh = iter(LETTERS[a.ndim:])
    sb = "".join(sa[a_axes[b_axes.index(i)]] if i in b_axes else next(fresh) for i in range(b.ndim))
    out = "".join(c for i, c in enumerate(sa) if i not in a_axes)
    out += "".join(c for i, c in enumerate(sb) if i not in b_axes)
    return _einsum_checked((a, b), [sa, sb], out, origin)


def _einsum_checked(operands, subs, out, origin) -> Node:
    try:
        return P.einsum(operands, subs, out, origin)
    except ShapeError as exc:
        raise ShapeError(f"{_here()}: {exc}") from None


def _tensordot(origin, a, b, axes=2):
    na, nb = as_node(a), as_node(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        return contract(na, nb, list(range(na.ndim - n, na.ndim)), list(range(n)), origin)
    a_axes, b_axes = axes
    listed = lambda v: list(v) if isinstance(v, (list, tuple)) else [v]  # noqa: E731
    return contract(na, nb, listed(a_axes), listed(b_axes), origin)


def _inner(origin, a, b):
    na, nb = as_node(a), as_node(b)
    if na.ndim == 0 or nb.ndim == 0:
        return _compose(lambda x, y: x * y, (a, b), origin)
    return contract(na, nb, [-1], [-1], origin)


def _outer(origin, a, b, out=None):
    _no_extras("outer", {"out": out})
    flat = [P.reshape(n, (size_of(n.shape),)) for n in (as_node(a), as_node(b))]
    return P.outer(*flat, origin)


def _einsum(origin, *operands, out=None, optimize=False, dtype=None, order="K", casting="safe"):
    _no_extras("einsum", {"out": out, "dtype": dtype})
    if not operands or not isinstance(operands[0], str):
        raise UnsupportedError(f"{_here()}: np.einsum needs a subscripts string first "
                               "(the sublist form is not supported)")
    spec, arrays = operands[0].replace(" ", ""), [as_node(x) for x in operands[1:]]
    if "." in spec:
        raise UnsupportedError(f"{_here()}: np.einsum with '...' is not supported yet; name every axis")
    ins, arrow, output = spec.partition("->")
    subs = ins.split(",")
    if not arrow:  # implicit mode: the indices that occur once, in alphabetical order
        output = "".join(sorted(c for c in set(ins) if c.isalpha() and ins.count(c) == 1))
    if not all(s.isalpha() or s == "" for s in subs + [output]):
        raise ShapeError(f"{_here()}: np.einsum subscripts {operands[0]!r}: use letters, commas and '->'")
    if len(subs) != len(arrays):
        raise ShapeError(f"{_here()}: np.einsum subscripts {operands[0]!r} name {len(subs)} operands, "
                         f"got {len(arrays)}")
    arrays, subs = zip(*[_diagonals(x, sub, origin) for x, sub in zip(arrays, subs)]) if arrays else ((), ())
    try:
        return _einsum_checked(list(arrays), list(subs), output, origin)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{_here()}: {exc}") from None


def _diagonals(x: Node, sub: str, origin) -> tuple[Node, str]:
    """An operand whose subscripts repeat a letter (``'ii'``, ``'iij'``): its diagonal over those axes
    first (np.diagonal puts it last), so each letter names one axis."""
    while len(set(sub)) < len(sub):
        letter = next(c for c in sub if sub.count(c) > 1)
        p = sub.index(letter)
        q = sub.index(letter, p + 1)
        length = same_dim(x.shape[p], x.shape[q])
        x = P.diagonal(x, 0, p, q, length, origin)
        sub = sub[:p] + sub[p + 1:q] + sub[q + 1:] + letter
    return x, sub


register(np.inner, Entry("inner", _inner, cases=((((3,), (3,)), ()), (((2, 3), (4, 3)), ()), (((), (2, 3)), ()))))
register(np.outer, Entry("outer", _outer, cases=((((3,), (4,)), ()), (((2, 2), (3,)), ()))))
register(np.tensordot, Entry("tensordot", _tensordot, cases=(
    (((2, 3, 4), (3, 4, 5)), ()), (((2, 3), (3, 2)), (("axes", 1),)),
    (((2, 3, 4), (4, 2)), (("axes", ((0, -1), (1, 0))),)),
    (((2, 3), (4,)), (("axes", 0),)))))
register(np.einsum, Entry("einsum", _einsum, form="subscripts", cases=(
    (((2, 3), (3, 4)), (("subscripts", "ij,jk->ik"),)), (((2, 3), (2, 3)), (("subscripts", "ij,ij->j"),)),
    (((2, 3),), (("subscripts", "ij->ji"),)), (((2, 3),), (("subscripts", "ij->"),)),
    (((3,), (4,), (3, 4)), (("subscripts", "i,j,ij->"),)), (((2, 3), (3, 4)), (("subscripts", "ij,jk"),)),
    (((1, 3), (2, 3)), (("subscripts", "ij,ij->ij"),)), (((2, 3), (4,)), (("subscripts", "ij,k->ikj"),)))))
