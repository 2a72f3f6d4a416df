"""NumPy code of the nodes that the rewrites of :mod:`symdiff.rewrite` introduce: contractions
(``contract``), buffers of slice gradients (``scatter_sum``), pairwise squared distances, an identity
added to a diagonal in place, and stacks of equal parts (``stack``)."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp


from ....ir.graph import Node
from .table import EMIT

_FULL = ("slice", None, None, None)


def _complement(index: tuple) -> list[tuple] | None:
    """Indexes that with ``index`` cover the whole array, if ``index`` slices one axis with step 1
    (``[:-1]`` -> ``[-1]``; ``[:, 2:5]`` -> ``[:, :2]``, ``[:, 5:]``); None for other indexes."""
    sliced = [k for k, item in enumerate(index) if item != _FULL]
    if len(sliced) != 1 or not isinstance(index[sliced[0]], tuple) or index[sliced[0]][3] not in (None, 1):
        return None
    k = sliced[0]
    _, start, stop, _ = index[k]
    parts = ([0 if start == 1 else ("slice", None, start, None)] if start not in (None, 0) else []) + \
        ([-1 if stop == -1 else ("slice", stop, None, None)] if stop is not None else [])  # x[-1]: faster
    return [index[:k] + (part,) + index[k + 1:] for part in parts]


def sum_terms(g: Node, code: str, p) -> tuple[str, str, str] | None:
    """A sum ``g`` printed inline as ``code``, as a ufunc's name and its two operands' code
    (``("add", "400.0*a*b", "2.0*c")``, ``"subtract"`` for ``a - b``), for the ufunc to write it into an
    array of the caller's; None when ``g`` is not a sum printed inline."""
    if code.isidentifier() or g.op != "elementwise" or not g.expr.is_Add:
        return None
    args = [p.code[id(x)] for x in g.inputs]
    first, *others = g.expr.as_ordered_terms()
    rest = sp.Add(*others)
    ufunc, rest = ("subtract", -rest) if rest.could_extract_minus_sign() else ("add", rest)
    return (ufunc, *(p.expr(replace(g, expr=e), args) for e in (first, rest)))


def _sum_into(g: Node, code: str, target: str, p) -> list[str]:
    """A sum ``g`` (printed inline as ``code``) written into ``target`` by the ufunc itself,
    ``np.add(400.0*a*b, 2.0*c, out=target)``, instead of into a temporary copied there (on a large
    array: a pass and a temporary less; on a small one, the same calls). Empty when ``g`` is not a
    sum printed inline."""
    terms = sum_terms(g, code, p)
    return [] if terms is None else [f"np.{terms[0]}({terms[1]}, {terms[2]}, out={target})"]


def _emit_contract(node: Node, a: list[str], p) -> str:
    spec = node.param("subscripts")
    if spec.endswith("->"):  # a full sum of a product: one BLAS dot
        return f"np.{'dot' if node.inputs[0].ndim == 1 else 'vdot'}({a[0]}, {a[1]})"
    return f"np.einsum({spec!r}, {a[0]}, {a[1]})"


def _emit_scatter_sum(node: Node, a: list[str], p) -> list[str]:
    """One buffer: the first gradient written into it, the rest of it zeroed (an uninitialised
    buffer, not np.zeros: a pass less over a large array), the other gradients added in place."""
    dtype = "" if node.dtype == "float64" else f", dtype=np.{node.dtype}"
    first = node.param("indices")[0]
    rest = _complement(first)
    lines = [f"{{name}} = np.{'zeros' if rest is None else 'empty'}({p.shape(node.shape)}{dtype})"]
    for k, (index, sign, g) in enumerate(zip(node.param("indices"), node.param("signs"), a)):
        target = f"{{name}}[{p.index(index)}]"
        if k == 0:
            view = all(isinstance(item, tuple) and item[0] == "slice" for item in index)  # not x[0]: no out=
            lines += (_sum_into(node.inputs[0], g, target, p) if view else []) or [f"{target} = {g}"]
        else:
            lines.append(f"{target} {sign}= {g}")
        if k == 0:
            lines += [f"{{name}}[{p.index(part)}] = 0.0" for part in rest or ()]
    return lines


def _emit_pairwise_squares(node: Node, a: list[str], p) -> list[str]:
    return pairwise_square_lines(node, a, p, lambda x, y: [f"    {{name}} = {x}[:, None] - {y}[None]",
                                                           "    {name} = np.einsum('ijk,ijk->ij', {name}, {name})"])


def pairwise_square_lines(node: Node, a: list[str], p, differences) -> list[str]:
    """Squared distances between the rows of two matrices: one pass per coordinate when there are few,
    else the lines ``differences(x, y)`` give (each backend's way of summing the squared differences)."""
    x, y = (p.paren(c, "[") for c in a)
    k = node.inputs[0].shape[1]
    square = f"({x}[:, {{c}}, None] - {y}[:, {{c}}])**2"
    if k.is_Integer:
        return [f"{{name}} {'+=' if c else '='} {square.format(c=c)}" for c in range(int(k))]
    k, c = p.size(k), p.namer.fresh("c")
    return [f"if 1 <= {k} <= {node.param('few')}:  # one pass per coordinate, no n*m*k array of differences",
            f"    {{name}} = {square.format(c=0)}",
            f"    for {c} in range(1, {k}):",
            f"        {{name}} += {square.format(c=c)}",
            "else:", *differences(x, y)]


def _emit_add_diagonal(node: Node, a: list[str], p) -> list[str]:
    n = int(node.shape[0])
    return [f"{{name}} = {a[0]}", f"{{name}}.flat[::{n + 1}] += {float(node.param('value'))!r}"]


def _emit_stack(node: Node, a: list[str], p) -> str:
    """Numbers as ``np.array([a, b])`` (rows of numbers: ``np.array([[a, b], [c, d]])``), arrays as
    ``np.stack([x, y], axis=k)``."""
    axis, parts = node.param("axis"), node.inputs
    if axis == 0 and all(x.ndim == 0 for x in parts):
        constant = all(x.op in ("const", "elementwise") and not x.inputs for x in parts)  # np.array([1, n]): ints
        dtype = f", dtype=np.{node.dtype}" if node.dtype != "float64" or constant else ""
        return f"np.array([{', '.join(a)}]{dtype})"
    if axis == 0 and all(x.op == "stack" and c.startswith("np.array([") and c.endswith("])") and
                         c.count("np.array(") == 1 and x.dtype == "float64" for x, c in zip(parts, a)):
        return f"np.array([{', '.join(c[len('np.array('):-1] for c in a)}])"  # rows printed inline
    return f"np.stack([{', '.join(a)}]{'' if axis == 0 else f', axis={axis}'})"


EMIT.update({
    'stack': _emit_stack,
    'contract': _emit_contract,
    'scatter_sum': _emit_scatter_sum,
    'pairwise_squares': _emit_pairwise_squares,
    'add_diagonal': _emit_add_diagonal,
})
