"""Graph rewrites that change how arrays are built: the gradients of several slices filled into one
buffer, sums over ``i`` or ``j`` of weights times pairwise differences ``A_i - B_j`` as matrix
products, a multiple of the identity added to a diagonal in place, and arrays of equal parts stacked
(``np.array([a, b])``, ``np.stack``) rather than concatenated from reshapes. The nodes they make
(``scatter_sum``, ``add_diagonal``, ``stack``) exist only after differentiation: they have code
(:mod:`symdiff.backends.numpy.dispatch.rewrites`), not derivative rules.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..ir.graph import ARG, Node, consumers, rebuild, with_inputs
from ..ir.primitives import elementwise, getitem, matmul, reduce, transpose
from .report import note, replacement


_FULL = ("slice", None, None, None)


# ---------------------------------------------------------------- sums of scatters ----------------

#: ``_scatter(g1, index1) + _scatter(g2, index2) + ...`` filling one array of zeros.


def merge_scatters(outputs: list[Node]) -> list[Node]:
    """A sum of gradients of indexing (``x[:-1]`` and ``x[1:]``, say) fills one buffer of zeros, in
    place, instead of one array of zeros per term and a sum of them."""
    users = consumers(outputs)

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "elementwise" or not node.expr.is_Add:
            return node
        picked = [i for i, x in enumerate(old.inputs) if x.op == "scatter" and x.shape == node.shape
                  and len(users.get(id(x), ())) == 1 and ARG[i] in node.expr.args]
        if len(picked) < 2:
            return node
        scatters = [node.inputs[i] for i in picked]
        merged = Node("scatter_sum", tuple(x.inputs[0] for x in scatters), node.shape,
                      params=(("indices", tuple(x.param("index") for x in scatters)), ("signs", ("+",) * len(picked))),
                      dtype=node.dtype, origin=scatters[0].origin)
        k = len(node.inputs)
        rest = node.expr - sp.Add(*(ARG[i] for i in picked)) + ARG[k]
        note(f"{len(picked)} gradients of indexing summed in one buffer")
        return replacement(node, rest, (*node.inputs, merged))
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- pairwise differences ------------

def _axes_added(x: Node, shape: tuple) -> Node | None:
    """The array ``x`` is made from by only inserting axes of size 1, if it has ``shape``."""
    if x.op not in ("reshape", "getitem") or tuple(x.inputs[0].shape) != tuple(shape):
        return None
    if x.op == "getitem" and not all(i is None or i == _FULL for i in x.param("index")):
        return None
    return x.inputs[0]


def _pairwise(e: Node) -> tuple[sp.Expr, list[Node], Node, Node, Node] | None:
    """``e = k * (A[:, None, :] - B[None, :, :]) * G[:, :, None]`` as ``(k, scalars, A, B, G)`` (``k`` over
    ``ARG[3:]``, standing for the 0-d ``scalars``);
    elementwise products among ``e``'s inputs are looked into."""
    if e.op != "elementwise" or e.ndim != 3:
        return None
    inputs, mapping = list(e.inputs), {}
    for i, part in enumerate(e.inputs):
        if part.op == "elementwise" and part.expr.is_Mul and part.shape == e.shape:
            mapping[ARG[i]] = part.expr.xreplace({ARG[j]: ARG[len(inputs) + j] for j in range(len(part.inputs))})
            inputs.extend(part.inputs)
    n, m, k = e.shape
    scale: list = []
    diff: Node | None = None
    weight: Node | None = None
    for f in sp.Mul.make_args(e.expr.xreplace(mapping)):
        x = inputs[ARG.index(f)] if f in ARG[:len(inputs)] else None
        if x is None:
            if any(inputs[ARG.index(s)].ndim for s in f.free_symbols if s in ARG[:len(inputs)]):
                return None
            scale.append(f)
        elif x.shape == (n, m, 1) and weight is None and (g := _axes_added(x, (n, m))) is not None:
            weight = g
        elif x.shape == e.shape and diff is None and x.op == "elementwise" and x.expr == ARG[0] - ARG[1]:
            diff = x
        else:
            return None
    if diff is None or weight is None:
        return None
    if diff.inputs[0].shape != (n, 1, k) or diff.inputs[1].shape != (1, m, k):
        return None
    a, b = _axes_added(diff.inputs[0], (n, k)), _axes_added(diff.inputs[1], (m, k))
    if a is None or b is None:
        return None
    scalars = sorted({s for f in scale for s in f.free_symbols if s in ARG[:len(inputs)]}, key=ARG.index)
    scale_expr = sp.Mul(*scale).xreplace({s: ARG[3 + i] for i, s in enumerate(scalars)})
    return scale_expr, [inputs[ARG.index(s)] for s in scalars], a, b, weight


def _pair_parity(x: Node, memo: dict[int, int]) -> int:
    """1 if ``x[i, j, ...] == x[j, i, ...]`` for sure, -1 if ``x[i, j, ...] == -x[j, i, ...]``, else 0."""
    if id(x) in memo:
        return memo[id(x)]
    memo[id(x)] = 0  # unknown while looking (and if nothing below says otherwise)
    p = 0
    if x.ndim >= 2 and x.shape[0] == x.shape[1]:
        if x.op == "const" and x.ndim == 2:
            arr = x.param("value").array
            p = 1 if arr.tobytes() == arr.T.copy().tobytes() else 0
        elif x.op in ("stop_gradient", "copy"):
            p = _pair_parity(x.inputs[0], memo)
        elif x.op == "sum" and min(x.param("axis")) >= 2:
            p = _pair_parity(x.inputs[0], memo)
        elif x.op == "contract":
            ins, out = x.param("subscripts").split("->")
            a, b = ins.split(",")
            if a == b and out == a[:x.ndim] and x.ndim == 2:
                p = _pair_parity(x.inputs[0], memo) * _pair_parity(x.inputs[1], memo)
        elif x.op == "elementwise" and x.expr == ARG[0] - ARG[1] and x.ndim == 3 and \
                x.inputs[0].shape == (x.shape[0], 1, x.shape[2]) and x.inputs[1].shape == (1, *x.shape[1:]):
            a, b = _axes_added(x.inputs[0], (x.shape[0], x.shape[2])), _axes_added(x.inputs[1], x.shape[1:])
            p = -1 if a is not None and a is b else 0
        elif x.op == "elementwise" and x.dtype != "bool":
            parities = [0 if y.shape != x.shape else _pair_parity(y, memo) for y in x.inputs]
            if all(y.ndim == 0 or q for y, q in zip(x.inputs, parities)):
                flipped = x.expr.xreplace({ARG[i]: -ARG[i] for i, q in enumerate(parities) if q == -1})
                p = 1 if flipped == x.expr else -1 if flipped == -x.expr else 0
    memo[id(x)] = p
    return p


def pairwise_sums(outputs: list[Node]) -> list[Node]:
    """``sum_j k*(A_i - B_j)*G_ij`` is ``k*(rowsum(G)*A - G @ B)`` (and over ``i``:
    ``k*(G.T @ A - colsum(G)*B)``): two matrix products instead of a pass over the n*m*k array of
    pairwise differences (the gradient of pairwise distances, as in a Lennard-Jones energy)."""
    memo: dict[int, int] = {}

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "sum" or node.param("keepdims") or node.param("axis") not in ((0,), (1,)) or \
                (found := _pairwise(node.inputs[0])) is None:
            return node
        k, scalars, a, b, g = found  # k is over ARG[3:] (the scalars)
        o = node.origin
        parity = _pair_parity(g, memo)
        if node.param("axis") == (0,) and parity:  # G.T is G (or -G): the products of the sum over j
            rows = getitem(reduce("sum", g, axis=1, origin=o), (_FULL, None), o)
            parts, expr = (matmul(g, a, o), rows, b), parity * k * (ARG[0] - ARG[1] * ARG[2])
        elif node.param("axis") == (1,):
            parts = (getitem(reduce("sum", g, axis=1, origin=o), (_FULL, None), o), a, matmul(g, b, o))
            expr = k * (ARG[0] * ARG[1] - ARG[2])
        else:
            column_sums = getitem(reduce("sum", g, axis=0, origin=o), (_FULL, None), o)
            parts = (matmul(transpose(g, (1, 0), o), a, o), column_sums, b)
            expr = k * (ARG[0] - ARG[1] * ARG[2])
        note(f"sum over axis {node.param('axis')[0]} of products with pairwise differences -> matmul")
        return elementwise(expr, (*parts, *scalars), origin=o)
    return rebuild(outputs, fn)


#: Up to this many coordinates, squared distances are summed coordinate by coordinate.
_FEW = 4


def pairwise_squares(outputs: list[Node]) -> list[Node]:
    """``d = A[:, None, :] - B[None, :, :]`` read only by ``einsum('ijk,ijk->ij', d, d)`` (squared
    distances) is built coordinate by coordinate, ``(A[:, c, None] - B[:, c])**2`` summed over the
    few ``c`` (up to 4; a size known only at run time is tested there): no n*m*k array, and no inner
    loop over k (a few times faster)."""
    users = consumers(outputs)

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "contract" or node.inputs[0] is not node.inputs[1] or node.ndim != 2:
            return node
        ins, out = node.param("subscripts").split("->")
        d = node.inputs[0]
        if ins != f"{out}{ins[2]},{out}{ins[2]}" or len(out) != 2 or d.op != "elementwise" or \
                d.expr != ARG[0] - ARG[1] or (d.shape[2].is_Integer and not 1 <= int(d.shape[2]) <= _FEW) or \
                any(u is not old for u in users.get(id(old.inputs[0]), ())):
            return node
        n, m, k = d.shape
        a, b = _axes_added(d.inputs[0], (n, k)), _axes_added(d.inputs[1], (m, k))
        if a is None or b is None or d.inputs[0].shape != (n, 1, k) or d.inputs[1].shape != (1, m, k):
            return node
        note(f"squared pairwise distances summed over {k} coordinates, without the differences")
        return Node("pairwise_squares", (a, b), node.shape, params=(("few", _FEW),), dtype=node.dtype,
                    origin=node.origin, name=node.name)
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- diagonal --------------------------


def add_diagonal(outputs: list[Node]) -> list[Node]:
    """``sum(d*d, axis) + c*np.eye(n)`` adds ``c`` to the diagonal of the fresh sum of squares in place
    (no pass over an n*n identity matrix). Only for sums of squares, which are never -0.0, so adding
    0.0 off the diagonal is the identity there."""
    users = consumers(outputs)
    protected = {id(o) for o in outputs}

    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "elementwise" or node.ndim != 2 or not node.shape[0].is_Integer or \
                node.shape[0] != node.shape[1] or len(node.inputs) != 2:
            return node
        for i, j in ((0, 1), (1, 0)):
            x, e = node.inputs[i], node.inputs[j]
            if not (x.op == "contract" and x.inputs[0] is x.inputs[1] and x.shape == node.shape
                    and len(users.get(id(old.inputs[i]), ())) == 1 and id(old.inputs[i]) not in protected
                    and e.op == "const" and e.dtype == "float64" and node.dtype == "float64"):
                continue
            c = sp.expand(node.expr - ARG[i])
            arr = e.param("value").array
            off = ~np.eye(len(arr), dtype=bool)
            if c.free_symbols != {ARG[j]} or not (c / ARG[j]).is_Number or np.any(arr[off] != 0) or \
                    np.any(np.diag(arr) != arr[0, 0]):  # zeros of either sign add nothing to squares
                continue
            note("a multiple of the identity added to a sum of squares: added to its diagonal in place")
            return Node("add_diagonal", (x,), node.shape, params=(("value", float(c / ARG[j]) * float(arr[0, 0])),),
                        dtype=node.dtype, origin=node.origin, name=node.name)
        return node
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- stacks ----------------------------

def stack_parts(outputs: list[Node]) -> list[Node]:
    """A concatenation of parts that each are a reshape giving an array the concatenation's axis (of
    size 1) is a stack of those arrays: ``np.array([a, b, c])`` of numbers, ``np.stack([x, y], axis=1)``
    of equal shapes (as ``np.array([...])`` and ``np.stack`` are traced, and their gradients)."""
    def fn(old: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(old, inputs)
        if node.op != "concatenate":
            return node
        axis = node.param("axis")
        if not all(x.op == "reshape" and x.shape[axis] == 1 and x.inputs[0].shape == x.shape[:axis] + x.shape[axis + 1:]
                   for x in inputs):
            return node
        return Node("stack", tuple(x.inputs[0] for x in inputs), node.shape, params=(("axis", axis),),
                    dtype=node.dtype, origin=node.origin, name=node.name)
    return rebuild(outputs, fn)

