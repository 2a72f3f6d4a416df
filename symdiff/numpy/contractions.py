"""Registry entries (see :mod:`symdiff.numpy.core`): contractions.

``np.einsum``, ``np.tensordot``, ``np.inner`` and ``np.outer`` are einsum (or outer) nodes, whose
adjoint is an einsum again.
"""
from __future__ import annotations

import string

import numpy as np
import sympy as sp

from ..ir import primitives as P
from ..errors import ShapeError, UnsupportedError
from ..ir.graph import Node
from .core import Entry, _compose, _here, _no_extras, as_node, register, stack_nodes
from ..ir.shapes import broadcast_shapes, normalize_axes, same_dim, size_of
from ..trace.tracer import current_trace

LETTERS = string.ascii_lowercase + string.ascii_uppercase


def contract(a: Node, b: Node, a_axes, b_axes, origin) -> Node:
    """``np.tensordot(a, b, (a_axes, b_axes))`` as an einsum node."""
    a_axes = [normalize_axes(i, a.ndim)[0] for i in a_axes]
    b_axes = [normalize_axes(i, b.ndim)[0] for i in b_axes]
    if len(a_axes) != len(b_axes) or len(set(a_axes)) != len(a_axes) or len(set(b_axes)) != len(b_axes):
        raise ShapeError(f"{_here()}: tensordot axes {a_axes} and {b_axes} do not pair up")
    if a.ndim + b.ndim > len(LETTERS):
        raise UnsupportedError(f"{_here()}: too many dimensions for einsum")
    for i, j in zip(a_axes, b_axes):
        try:
            same_dim(a.shape[i], b.shape[j])
        except ShapeError:
            raise ShapeError(f"{_here()}: np.tensordot: axis {i} of the first operand (size {a.shape[i]}) and "
                             f"axis {j} of the second (size {b.shape[j]}) are summed together; their sizes "
                             "must match") from None
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
        if n < 0 or n > min(na.ndim, nb.ndim):
            raise ShapeError(f"{_here()}: np.tensordot(a, b, axes={n}) of operands of {na.ndim} and {nb.ndim} "
                             "dimensions: axes must be 0 to the smaller of those")
        return contract(na, nb, list(range(na.ndim - n, na.ndim)), list(range(n)), origin)
    axes = axes.tolist() if isinstance(axes, np.ndarray) else axes
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        raise ShapeError(f"{_here()}: np.tensordot axes={axes!r}: give an integer or a pair (axes of a, axes of b)")
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


def _vdot(origin, a, b):
    """``np.vdot``: the dot product of the flattened operands (real: no conjugate to take)."""
    na, nb = (as_node(x) for x in (a, b))
    n = size_of(na.shape)
    try:
        same_dim(n, size_of(nb.shape))
    except ShapeError:
        raise ShapeError(f"{_here()}: np.vdot of {size_of(na.shape)} and {size_of(nb.shape)} elements: the "
                         "flattened operands must have the same length") from None
    return _einsum_checked([P.reshape(na, (n,)), P.reshape(nb, (n,))], ["i", "i"], "", origin)


def _kron(origin, a, b):
    """``np.kron``: the operands padded with leading 1s to one rank r; ``out[i*m + j] = a[i] b[j]`` on
    each axis: an einsum interleaving their axes, reshaped to the products of the sizes."""
    na, nb = as_node(a), as_node(b)
    r = max(na.ndim, nb.ndim)
    if 2 * r > len(LETTERS):
        raise UnsupportedError(f"{_here()}: np.kron of {r}-d operands: too many dimensions")
    one = sp.Integer(1)
    pa = (one,) * (r - na.ndim) + tuple(na.shape)
    pb = (one,) * (r - nb.ndim) + tuple(nb.shape)
    sa, sb = LETTERS[:r], LETTERS[r:2 * r]
    product = _einsum_checked([P.reshape(na, pa), P.reshape(nb, pb)], [sa, sb],
                              "".join(x + y for x, y in zip(sa, sb)), origin)
    return P.reshape(product, tuple(x * y for x, y in zip(pa, pb)), origin)


def _cross(origin, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of 3- (or 2-) vectors along ``axisa``/``axisb`` (``axis`` sets all three), the other
    axes broadcast; the result's vector axis at ``axisc`` (2-vectors by 2-vectors: the z component only)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    na, nb = as_node(a), as_node(b)
    if na.ndim == 0 or nb.ndim == 0:
        raise ShapeError(f"{_here()}: np.cross of a scalar; it needs vectors (of 2 or 3 elements)")
    u = np.moveaxis(a, normalize_axes(axisa, na.ndim)[0], -1)
    v = np.moveaxis(b, normalize_axes(axisb, nb.ndim)[0], -1)
    trace = current_trace()
    n, m = (trace.concrete(as_node(x).shape[-1], "the length of np.cross's vectors") for x in (u, v))
    if n not in (2, 3) or m not in (2, 3):
        raise ShapeError(f"{_here()}: np.cross of vectors of {n} and {m} elements; they need 2 or 3")
    if n == m == 2:
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    u0, u1, v0, v1 = u[..., 0], u[..., 1], v[..., 0], v[..., 1]
    if n == 3 and m == 3:
        u2, v2 = u[..., 2], v[..., 2]
        parts = [u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0]
    elif n == 2:  # u's z component is 0
        v2 = v[..., 2]
        parts = [u1 * v2, -(u0 * v2), u0 * v1 - u1 * v0]
    else:
        u2 = u[..., 2]
        parts = [-(u2 * v1), u2 * v0, u0 * v1 - u1 * v0]
    nodes = [as_node(x) for x in parts]
    shape = broadcast_shapes(*(x.shape for x in nodes))
    nodes = [x if x.shape == shape else P.broadcast_to(x, shape) for x in nodes]
    return stack_nodes(nodes, normalize_axes(axisc, len(shape) + 1)[0], origin)


def _einsum(origin, *operands, out=None, optimize=False, dtype=None, order="K", casting="safe"):
    """``np.einsum`` in both forms (a subscripts string, or operands interleaved with sublists of
    integers and Ellipsis), with ``...`` and implicit output; ``optimize=`` changes no value."""
    _no_extras("einsum", {"out": out, "dtype": dtype})
    text, arrays, ins, output = _einsum_parse(operands)
    if len(ins) != len(arrays):
        raise ShapeError(f"{_here()}: np.einsum subscripts {text!r} name {len(ins)} operands, got {len(arrays)}")
    used = {c for c in "".join(ins) + (output or "") if c.isalpha()}
    rank, subs = 0, []
    for k, (x, sub) in enumerate(zip(arrays, ins)):
        named = sub.replace("...", "")
        if sub.count("...") > 1 or "." in named:
            raise ShapeError(f"{_here()}: np.einsum subscripts {text!r}: operand {k}'s {sub!r} has a '.' that "
                             "is not one '...'")
        if len(named) > x.ndim or ("..." not in sub and len(named) != x.ndim):
            raise ShapeError(f"{_here()}: np.einsum subscripts {text!r}: {sub!r} names {len(named)} axes of "
                             f"operand {k}, which has {x.ndim} dimensions")
        rank = max(rank, x.ndim - len(named) if "..." in sub else 0)
    free = [c for c in LETTERS if c not in used]
    if rank > len(free):
        raise UnsupportedError(f"{_here()}: np.einsum {text!r}: too many dimensions under '...'")
    ell = "".join(free[:rank])
    for x, sub in zip(arrays, ins):  # the axes under '...' broadcast from the right, as NumPy's
        n = x.ndim - len(sub.replace("...", ""))
        subs.append(sub.replace("...", ell[rank - n:] if n else ""))
    if output is None:  # implicit mode: '...', then the indices that occur once, in alphabetical order
        joined = "".join(ins)
        output = "..." + "".join(sorted(c for c in used if joined.count(c) == 1))
    elif "..." not in output and rank:
        raise ShapeError(f"{_here()}: np.einsum subscripts {text!r}: the operands have axes under '...' but "
                         "the output has no '...'; add '...' to the output (or sum those axes)")
    named = output.replace("...", "")
    if output.count("...") > 1 or "." in named or len(set(named)) != len(named) or not set(named) <= used:
        raise ShapeError(f"{_here()}: np.einsum subscripts {text!r}: the output {output!r} repeats an index, "
                         "names one no operand has, or has a '.' that is not one '...'")
    output = output.replace("...", ell)
    arrays, subs = zip(*[_diagonals(x, sub, origin) for x, sub in zip(arrays, subs)]) if arrays else ((), ())
    try:
        return _einsum_checked(list(arrays), list(subs), output, origin)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{_here()}: np.einsum {text!r}: {exc}") from None


def _einsum_parse(operands) -> tuple[str, list[Node], list[str], str | None]:
    """(the subscripts as the user wrote them, the operands' nodes, each operand's subscripts, the output's
    or None in implicit mode); sublists become letters as NumPy maps them (0-25: A-Z, 26-51: a-z)."""
    if not operands:
        raise ShapeError(f"{_here()}: np.einsum needs subscripts and operands")
    if isinstance(operands[0], str):
        text = operands[0]
        spec = text.replace(" ", "")
        bad = set(spec) - set(LETTERS + ",.->")
        if bad or spec.count("->") > 1 or spec.replace("->", "").count("-") or spec.replace("->", "").count(">"):
            raise ShapeError(f"{_here()}: np.einsum subscripts {text!r}: use letters, commas, '...' and one "
                             "'->'")
        inputs, arrow, written = spec.partition("->")
        return text, [as_node(x) for x in operands[1:]], inputs.split(","), written if arrow else None
    pairs, rest = list(operands), None
    if len(pairs) % 2:
        rest = pairs.pop()
    arrays = [as_node(x) for x in pairs[0::2]]
    ins = [_sublist(s) for s in pairs[1::2]]
    output = None if rest is None else _sublist(rest)
    text = ",".join(ins) + ("" if output is None else "->" + output)
    return text, arrays, ins, output


def _sublist(sub) -> str:
    if isinstance(sub, (str, bytes)) or not hasattr(sub, "__iter__"):
        raise ShapeError(f"{_here()}: np.einsum in the sublist form takes operands each followed by a list of "
                         f"axis labels (integers 0-51 and Ellipsis), got {sub!r}")
    letters = []
    for label in sub:
        if label is Ellipsis:
            letters.append("...")
        elif isinstance(label, (int, np.integer)) and not isinstance(label, bool) and 0 <= label < 52:
            letters.append(LETTERS[int(label) + 26] if label < 26 else LETTERS[int(label) - 26])
        else:
            raise ShapeError(f"{_here()}: np.einsum sublist {list(sub)!r}: the label {label!r} is not an "
                             "integer 0-51 or Ellipsis")
    return "".join(letters)


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
register(np.vdot, Entry("vdot", _vdot, cases=((((3,), (3,)), ()), (((2, 3), (6,)), ()), (((2, 3), (3, 2)), ()))))
register(np.kron, Entry("kron", _kron, cases=((((2,), (3,)), ()), (((2, 2), (3, 2)), ()), (((2,), (2, 3)), ()),
                                              (((2, 1, 2), (2, 3)), ()), (((), (2, 3)), ()))))
register(np.cross, Entry("cross", _cross, notes="3- and 2-vectors, axisa/axisb/axisc/axis, broadcasting", cases=(
    (((3,), (3,)), ()), (((4, 3), (3,)), ()), (((2, 1, 3), (4, 3)), ()), (((3, 4), (4, 3)), (("axisa", 0),)),
    (((3, 2), (2, 3)), (("axisa", 0), ("axisb", -1), ("axisc", 0))), (((3, 2), (3, 2)), (("axis", 0),)),
    (((2,), (3,)), ()), (((4, 3), (4, 2)), ()))))
register(np.tensordot, Entry("tensordot", _tensordot, cases=(
    (((2, 3, 4), (3, 4, 5)), ()), (((2, 3), (3, 2)), (("axes", 1),)),
    (((2, 3, 4), (4, 2)), (("axes", ((0, -1), (1, 0))),)),
    (((2, 3), (4,)), (("axes", 0),)), (((2, 3, 4), (4, 3, 2)), (("axes", ([1, 2], [1, 0])),)),
    (((2, 3, 4), (3, 4)), (("axes", (-2, 0)),)), (((3, 4), (4, 3)), (("axes", ((1, 0), (0, 1))),)))))
register(np.einsum, Entry("einsum", _einsum, form="subscripts", notes=(
    "subscripts or sublists (with Ellipsis), '...', implicit output, repeated indices, scalar operands, any "
    "number of operands; optimize= accepted (no change in value)"), cases=(
    (((2, 3), (3, 4)), (("subscripts", "ij,jk->ik"),)), (((2, 3), (2, 3)), (("subscripts", "ij,ij->j"),)),
    (((2, 3),), (("subscripts", "ij->ji"),)), (((2, 3),), (("subscripts", "ij->"),)),
    (((3,), (4,), (3, 4)), (("subscripts", "i,j,ij->"),)), (((2, 3), (3, 4)), (("subscripts", "ij,jk"),)),
    (((1, 3), (2, 3)), (("subscripts", "ij,ij->ij"),)), (((2, 3), (4,)), (("subscripts", "ij,k->ikj"),)),
    (((2, 3, 4), (4, 5)), (("subscripts", "...ij,...jk->...ik"),)), (((2, 3, 4), (4,)), (("subscripts", "...j,j"),)),
    (((2, 1), (3,)), (("subscripts", "...,..."),)), (((3, 1, 4), (3, 2, 1)), (("subscripts", "i...,i...->..."),)),
    (((3, 3),), (("subscripts", "ii"),)), (((3, 3),), (("subscripts", "ii->i"),)),
    (((3, 3, 2),), (("subscripts", "iij->j"),)), (((2, 3, 3), (3,)), (("subscripts", "bii,i->b"),)),
    (((2, 3), (3, 4), (4, 2)), (("subscripts", "ij,jk,kl->il"), ("optimize", True))),
    (((2, 3), (), (3, 2)), (("subscripts", "ij,,jk->ik"), ("optimize", "greedy"))))))
