"""Linear-algebra primitives: matmul, outer, einsum, diagonal (and its adjoint, diag_embed), banded
matrices (and their adjoint, band_rows).

Registered into :data:`symdiff.ir.primitives.core.PRIMITIVES`; imported at the end of
:mod:`symdiff.ir.primitives.core`, whose builders these rules use (import that module, not this one).

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node
>>> a = input_node("a", (sp.Integer(2), sp.Integer(3)), 0)
>>> b = input_node("b", (sp.Integer(3), sp.Integer(4)), 1)
>>> einsum((a, b), ("ij", "jk"), "ik").shape
(2, 4)
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from ...errors import ShapeError, UnsupportedError
from ..graph import ARG, Node, Origin
from .core import (_dtype, _grad, _uniform, broadcast_to, defprim, elementwise, expand_dims, reduce, reshape,
                   swapaxes, transpose)
from ..shapes import Shape, broadcast_shapes, same_dim


def matmul(a: Node, b: Node, origin: Origin | None = None) -> Node:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError("matmul: an operand is a scalar; use * instead")
    inner = b.shape[-2] if b.ndim > 1 else b.shape[0]
    try:
        same_dim(a.shape[-1], inner)
    except ShapeError as exc:
        where = f"{origin.file}:{origin.line}: " if origin else ""
        reason = str(exc).split(": ")[-1].split(" (operands")[0]
        raise ShapeError(f"{where}matmul of shapes {tuple(a.shape)} and {tuple(b.shape)}: the inner sizes "
                         f"{a.shape[-1]} and {inner} must match ({reason})") from None
    if a.ndim == 1 and b.ndim == 1:
        shape: Shape = ()
    elif a.ndim == 1:
        shape = b.shape[:-2] + b.shape[-1:]
    elif b.ndim == 1:
        shape = a.shape[:-1]
    else:
        shape = broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    return _logical(Node("matmul", (a, b), shape, dtype=_dtype(a, b), origin=origin), (a, b))


def outer(a: Node, b: Node, origin: Origin | None = None) -> Node:
    return _logical(Node("outer", (a, b), (a.shape[0], b.shape[0]), dtype=_dtype(a, b), origin=origin), (a, b))


def _logical(product: Node, operands: Sequence[Node]) -> Node:
    """NumPy multiplies arrays that are all booleans logically (an or of ands: a boolean), whereas a
    boolean with a number counts as 0/1: the 0/1 product ``!= 0`` in the first case."""
    if all(x.dtype == "bool" for x in operands):
        return elementwise(sp.Ne(ARG[0], 0), (product,), origin=product.origin)
    return product


def _vjp_matmul(g: Node, node: Node) -> list[Node]:
    a, b = node.inputs
    o = _grad(node)
    if a.ndim == 1 and b.ndim == 1:
        return [elementwise(ARG[0] * ARG[1], (g, b), origin=o), elementwise(ARG[0] * ARG[1], (g, a), origin=o)]
    if a.ndim == 1 and b.ndim == 2:
        return [matmul(b, g, o), outer(a, g, o)]
    if a.ndim == 2 and b.ndim == 1:
        return [outer(g, b, o), matmul(g, a, o)]
    if a.ndim == 1:  # batched b: promote a to a row
        ga = matmul(expand_dims(g, (g.ndim - 1,)), swapaxes(b), o)
        return [reshape_like(ga, a), matmul(expand_dims(a, (1,)), expand_dims(g, (g.ndim - 1,)), o)]
    if b.ndim == 1:
        gb = matmul(swapaxes(a), expand_dims(g, (g.ndim,)), o)
        return [matmul(expand_dims(g, (g.ndim,)), expand_dims(b, (0,)), o), reshape_like(gb, b)]
    return [matmul(g, swapaxes(b), o), matmul(swapaxes(a), g, o)]


def reshape_like(g: Node, x: Node) -> Node:
    """Sum leading batch axes of ``g`` and reshape it to ``x``'s shape."""
    g = reduce("sum", g, axis=tuple(range(g.ndim - 2))) if g.ndim > 2 else g
    return reshape(g, x.shape)


defprim("matmul", _vjp_matmul)
# (the vjp of outer: two matrix-vector products, cheaper than np.outer)
defprim("outer", lambda g, n: [matmul(g, n.inputs[1], _grad(n)), matmul(n.inputs[0], g, _grad(n))])


# ---------------------------------------------------------------- einsum --------------------------

def einsum(operands: Sequence[Node], subscripts: Sequence[str], output: str, origin: Origin | None = None) -> Node:
    """``np.einsum("<subscripts[0]>,...-><output>", *operands)`` (see :func:`_einsum`); logical when every
    operand is boolean, as in NumPy."""
    return _logical(_einsum(operands, subscripts, output, origin), operands)


def _einsum(operands: Sequence[Node], subscripts: Sequence[str], output: str, origin: Origin | None = None) -> Node:
    """``np.einsum("<subscripts[0]>,...-><output>", *operands)``: explicit output, no ellipsis, no
    index repeated within one operand (the front end, :mod:`symdiff.numpy.contractions`, names the
    axes under ``...`` and takes diagonals first). Sizes of an index broadcast (1 stretches), as in NumPy. A
    single operand becomes a sum and a transpose."""
    if len(subscripts) != len(operands):
        raise ShapeError(f"einsum: {len(subscripts)} subscripts for {len(operands)} operands")
    dims: dict[str, sp.Expr] = {}
    for x, sub in zip(operands, subscripts):
        if len(sub) != x.ndim:
            raise ShapeError(f"einsum: subscripts {sub!r} for an operand of {x.ndim} dimensions")
        if len(set(sub)) != len(sub):
            raise UnsupportedError(f"einsum: index repeated within one operand ({sub!r}); the tracer takes "
                                   "such diagonals first (symdiff.numpy.contractions._diagonals)")
        for c, d in zip(sub, x.shape):
            dims[c] = broadcast_shapes((dims[c],), (d,))[0] if c in dims else d
    if len(set(output)) != len(output) or not set(output) <= set(dims):
        raise ShapeError(f"einsum: output subscripts {output!r} repeat an index or use one no operand has")
    uniform = [k for k, x in enumerate(operands) if _uniform(x) is not None]
    if uniform and len(uniform) < len(operands):
        return _without_uniform(operands, subscripts, output, uniform, dims, origin)
    if len(operands) == 1:
        (x,), (sub,) = operands, subscripts
        summed = tuple(i for i, c in enumerate(sub) if c not in output)
        kept = [c for c in sub if c in output]
        x = reduce("sum", x, axis=summed, origin=origin) if summed else x
        return transpose(x, [kept.index(c) for c in output], origin)
    spec = ",".join(subscripts) + "->" + output
    return Node("einsum", tuple(operands), tuple(dims[c] for c in output), params=(("subscripts", spec),),
                dtype=_dtype(*operands), origin=origin)


def _uniform_expr(x: Node):
    """The one number every element of ``x`` is (``x`` is uniform)."""
    u = _uniform(x)
    assert u is not None
    return u.expr


def _without_uniform(operands, subscripts, output, uniform, dims, origin) -> Node:
    """An operand whose elements are all one number (a broadcast scalar, as the adjoint of a sum is)
    is a factor: the einsum of the others, times it, times the sizes of the indices only it sums."""
    rest = [k for k in range(len(operands)) if k not in uniform]
    have = set("".join(subscripts[k] for k in rest))
    r = einsum([operands[k] for k in rest], [subscripts[k] for k in rest], "".join(c for c in output if c in have),
               origin)
    alone = {c for k in uniform for c in subscripts[k] if c not in have and c not in output}
    factor = sp.Mul(*(_uniform_expr(operands[k]) for k in uniform), *(dims[c] for c in alone))
    if factor != 1:
        r = elementwise(ARG[0] * factor, (r,), origin=origin)
    r = expand_dims(r, [i for i, c in enumerate(output) if c not in have])
    return broadcast_to(r, tuple(dims[c] for c in output))


def _parse(spec: str) -> tuple[list[str], str]:
    ins, out = spec.split("->")
    return ins.split(","), out


def _vjp_einsum(g: Node, node: Node) -> list[Node]:
    """The adjoint of operand k is the einsum of the other operands and ``g`` onto k's subscripts;
    indices only k has (summed away) come back by broadcasting."""
    ins, out = _parse(node.param("subscripts"))
    grads = []
    for k, x in enumerate(node.inputs):
        subs = [s for j, s in enumerate(ins) if j != k] + [out]
        ops = [n for j, n in enumerate(node.inputs) if j != k] + [g]
        have = set("".join(subs))
        target = "".join(c for c in ins[k] if c in have)
        r = einsum(ops, subs, target, _grad(node))
        if target != ins[k]:
            r = expand_dims(r, [i for i, c in enumerate(ins[k]) if c not in have])
            r = broadcast_to(r, broadcast_shapes(r.shape, x.shape))
        grads.append(r)
    return grads


defprim("einsum", _vjp_einsum)


# ---------------------------------------------------------------- diagonal ------------------------

def diagonal(x: Node, offset: int, axis1: int, axis2: int, length: sp.Expr, origin: Origin | None = None) -> Node:
    """``np.diagonal(x, offset, axis1, axis2)`` (axes non-negative, distinct): the other axes, then
    the diagonal, of ``length`` elements (the caller works it out, possibly specialising sizes)."""
    shape = tuple(d for i, d in enumerate(x.shape) if i not in (axis1, axis2)) + (length,)
    return Node("diagonal", (x,), shape, params=(("offset", offset), ("axis1", axis1), ("axis2", axis2)),
                dtype=x.dtype, origin=origin)


def diag_embed(g: Node, shape: Shape, offset: int, axis1: int, axis2: int, origin: Origin | None = None) -> Node:
    """Zeros of ``shape`` with ``g`` on diagonal ``offset`` of axes ``axis1``, ``axis2`` (the adjoint of
    :func:`diagonal`; also ``np.diag`` of a vector)."""
    shape = tuple(shape)
    params = (("shape", shape), ("offset", offset), ("axis1", axis1), ("axis2", axis2))
    return Node("diag_embed", (g,), shape, params=params, dtype=g.dtype, origin=origin)


defprim("diagonal", lambda g, n: [diag_embed(g, n.inputs[0].shape, n.param("offset"), n.param("axis1"),
                                             n.param("axis2"), _grad(n))], linear=True)
defprim("diag_embed", lambda g, n: [diagonal(g, n.param("offset"), n.param("axis1"), n.param("axis2"),
                                             n.inputs[0].shape[-1], _grad(n))], linear=True)


# ---------------------------------------------------------------- banded matrices -----------------

def banded(diagonals: Sequence[Node], offsets: Sequence[int], shape: Shape, origin: Origin | None = None) -> Node:
    """The array of ``shape`` ``(m, n) + B`` with ``diagonals[k][i]`` at ``[i, i + offsets[k]]`` (for the
    rows ``i`` where that column lies inside; the other elements of a diagonal are not used), zero
    elsewhere. Each diagonal has shape ``(m,) + B``, one element per row. Offsets are distinct integers."""
    if len(diagonals) != len(offsets) or len(set(offsets)) != len(offsets):
        raise ShapeError(f"banded: {len(diagonals)} diagonals for the offsets {tuple(offsets)}")
    shape = tuple(shape)
    for d in diagonals:
        if d.shape != shape[:1] + shape[2:]:
            raise ShapeError(f"banded: a diagonal of shape {d.shape} for a matrix of shape {shape}")
    return Node("banded", tuple(diagonals), shape, params=(("offsets", tuple(int(o) for o in offsets)),),
                dtype=_dtype(*diagonals), origin=origin)


def band_rows(x: Node, offset: int, origin: Origin | None = None) -> Node:
    """``out[i] = x[i, i + offset]`` for the rows where that column lies inside ``x`` (``(m, n) + B``),
    else 0: a diagonal of ``x`` as :func:`banded` takes it (its adjoint), of shape ``(m,) + B``."""
    return Node("band_rows", (x,), x.shape[:1] + x.shape[2:], params=(("offset", int(offset)),), dtype=x.dtype,
                origin=origin)


defprim("banded", lambda g, n: [band_rows(g, o, _grad(n)) for o in n.param("offsets")])
defprim("band_rows", lambda g, n: [banded([g], [n.param("offset")], n.inputs[0].shape, _grad(n))], linear=True)


