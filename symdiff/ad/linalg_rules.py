"""Forward-mode (JVP) rules of the linear-algebra primitives: matmul, outer, einsum.

Registered into :data:`symdiff.ad.jvp_rules.JVP_RULES` with its helpers; :mod:`symdiff.ad.forward`
imports this module so that the rules are there.
"""
from __future__ import annotations

import sympy as sp

from ..errors import UnsupportedError
from .jvp_rules import _add, _expand, _o, _reshape, defjvp, lift
from ..ir.graph import ARG, Node
from ..ir.primitives import einsum, elementwise, getitem, matmul, swapaxes, transpose
from ..ir.shapes import Shape, size_of

_ALL = ("slice", None, None, None)


def _batch_letters(used: str, nb: int) -> str:
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    if len(free) < nb:
        raise UnsupportedError(f"einsum: no letters left for {nb} tangent axes")
    return "".join(free[:nb])


def _is_identity(t: Node) -> bool:
    """Whether ``t`` is the identity matrix :func:`identity` makes for a vector (a Jacobian's seed)."""
    if t.op != "diag_embed" or t.ndim != 2 or (t.param("offset"), t.param("axis1"), t.param("axis2")) != (0, 0, 1):
        return False
    ones = t.inputs[0]
    return ones.op == "broadcast_to" and ones.inputs[0].op == "elementwise" and ones.inputs[0].expr == 1


@defjvp("matmul")
def _jvp_matmul(node: Node, tangents: list, batch: Shape) -> Node | None:
    """``T(a) @ b + a @ T(b)``, each one matmul whatever the batch: the batch axes are folded into the
    columns of ``T(b)`` (they follow them already) and into the rows of ``T(a)`` (moved next to them);
    a vector ``a`` is contracted from the other side, ``b.T @ T(a)``. Times the identity is skipped."""
    a, b = node.inputs
    ta, tb = tangents
    nb, count = len(batch), size_of(batch)
    shape = node.shape + batch
    k = a.shape[-1]
    terms = []
    if ta is not None:
        if a.ndim == 1 and _is_identity(ta):
            terms.append(b if b.ndim == 1 else swapaxes(b))
        elif a.ndim == 1:  # sum_k T(a)[k, B] b[..., k, n] = (b^T @ T(a) as (k, |B|))[..., n, |B|]
            t = _reshape(ta, (k, count)) if nb else ta
            terms.append(_reshape(matmul(b if b.ndim == 1 else swapaxes(b), t, _o(node)), shape))
        else:  # (..., m, k) + B -> (..., m) + B + (k,), contracted with b
            r, m = a.ndim, a.shape[-2]
            t = transpose(ta, tuple(range(r - 1)) + tuple(range(r, r + nb)) + (r - 1,))
            if b.ndim == 1:
                terms.append(matmul(t, b, _o(node)))
            else:  # -> (..., m*|B|, k) @ b -> (..., m, B, n) -> (..., m, n, B)
                n = b.shape[-1]
                t = matmul(_reshape(t, a.shape[:-2] + (m * count, k)), b, _o(node))
                q = t.ndim - 1
                t = _reshape(t, t.shape[:-2] + (m,) + batch + (n,))
                terms.append(transpose(t, tuple(range(q)) + (q + nb,) + tuple(range(q, q + nb))))
    if tb is not None:
        if b.ndim == 1 and _is_identity(tb):
            terms.append(a)
        else:  # (..., k, n) + B -> (..., k, n*|B|); a vector b: (k,) + B -> (k, |B|)
            if nb:
                tb = _reshape(tb, b.shape[:-1] + (b.shape[-1] * count,) if b.ndim > 1 else (k, count))
            terms.append(_reshape(matmul(a, tb, _o(node)), shape))
    return _add([_reshape(t, shape) for t in terms], shape)


@defjvp("outer")
def _jvp_outer(node: Node, tangents: list, batch: Shape) -> Node | None:
    a, b = node.inputs
    ta, tb = tangents
    nb = len(batch)
    column = getitem(a, (_ALL, None) + (None,) * nb, shape=(a.shape[0],) + (sp.Integer(1),) * (nb + 1))
    args, expr = [column, lift(b, nb)], sp.Integer(0)
    if ta is not None:
        args.append(_expand(ta, (1,)))
        expr += ARG[len(args) - 1] * ARG[1]
    if tb is not None:
        args.append(tb)
        expr += ARG[0] * ARG[len(args) - 1]
    return elementwise(expr, args, shape=node.shape + batch, origin=_o(node))


@defjvp("einsum")
def _jvp_einsum(node: Node, tangents: list, batch: Shape) -> Node | None:
    """Sum over operands k of the einsum with operand k replaced by its tangent, which carries the
    batch axes under fresh letters that the output keeps."""
    spec = node.param("subscripts")
    ins, out = spec.split("->")
    ins = ins.split(",")
    letters = _batch_letters(spec, len(batch))
    terms = []
    for k, t in enumerate(tangents):
        if t is not None:
            ops = list(node.inputs)
            ops[k] = t
            subs = list(ins)
            subs[k] += letters
            terms.append(einsum(ops, subs, out + letters, _o(node)))
    return _add(terms, node.shape + batch)


