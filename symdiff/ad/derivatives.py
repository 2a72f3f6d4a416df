"""The kinds of derivative a module can hold, each as the functions it exposes.

``grad`` gives ``<f>_value_and_grad`` and ``<f>_grad``; ``hessian`` adds ``<f>_hessian`` (blocks
nested as JAX returns them); ``jacobian`` gives ``<f>_jacobian`` (shape ``out.shape + w.shape``);
``hvp`` gives ``<f>_hvp(..., v)``; ``jvp`` gives ``<f>_jvp(..., w_dot)`` returning the value and
the output's tangent. Reverse mode makes the gradients; batched forward mode over the gradient
graph (:mod:`symdiff.ad.forward`) makes Hessians, Hessian-vector products and Jacobians, so they go
through the same passes and share subexpressions with the value. A Jacobian is built by columns
(forward mode, one tangent per element of the argument, kept banded while it can be:
:mod:`symdiff.ad.structure`) unless the output has fewer elements than the argument: then by rows
(one pull-back per output element, all at once; a scalar output's Jacobian is its gradient).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from .backward import gradients
from ..ir.booleans import numeric_dtype
from .forward import identity, jacobian_nodes, jvp_nodes
from ..naming import grad_name
from ..ir.graph import ARG, Node, toposort
from ..ir.primitives import broadcast_to, copy, elementwise, full_like, input_node, reduce, scalar, transpose
from ..ir.shapes import size_of
from ..runtime.signature import direction_names
from ..runtime.specs import ArgSpec
from .structure import seed

KINDS = ("grad", "jacobian", "hessian", "hvp", "jvp", "vjp", "elementwise_grad")
SCALAR_OUTPUT = {"grad", "hessian", "hvp"}


@dataclass
class Plan:
    """One generated function: ``outputs`` computed under ``labels``, returned by ``returns``
    (a format string over the labels' names, ``{0}``, ``{1}``, ...)."""

    suffix: str
    doc: str
    outputs: list[Node]
    labels: list[str]
    returns: str
    extra_params: tuple[str, ...] = ()
    casts: tuple[str | None, ...] = ()
    #: The first output is the function's value, returned as computed.
    with_value: bool = False
    #: Per output, the argument it is a gradient of (shaped and typed like it), or None.
    owners: tuple[Node | None, ...] = ()


def reverse_is_cheaper(out: Node, w: Node) -> bool:
    """Whether ``d out / d w`` costs less by rows (reverse mode, one pull-back per output element)
    than by columns (forward mode, one tangent per element of ``w``): when ``out`` has fewer elements
    than ``w`` for every size the symbols may take (never for a square Jacobian, e.g. a Hessian)."""
    gap = sp.expand(size_of(w.shape) - size_of(out.shape))
    return bool(gap.is_nonnegative) and gap != 0


def reverse_jacobians(out: Node, wrt: Sequence[Node]) -> list[Node] | None:
    """``d out / d w`` for each ``w``, by rows: the pull-back ``g(c) = J^T c`` of a cotangent ``c``
    (one reverse pass) is linear in ``c``, and forward mode over it with respect to ``c``, seeded with
    the identity (a batch of one-hot cotangents, banded for a vector ``out``), gives ``J^T``: its
    axes are moved to ``out.shape + w.shape``. None if the result still needed ``c`` (it should not)."""
    if not out.ndim:  # one row: the gradient
        return gradients(out, wrt)
    c = input_node("_cotangent", out.shape, -1, numeric_dtype(out.dtype))
    pulled = gradients(reduce("sum", elementwise(ARG[0] * ARG[1], (out, c), shape=out.shape)), wrt)
    one_hot = seed(c) if c.ndim == 1 else identity(c.shape, c.dtype)
    result = []
    for w, t in zip(wrt, jvp_nodes(pulled, {id(c): one_hot}, out.shape)):
        if t is None:
            t = broadcast_to(scalar(0, numeric_dtype(out.dtype)), out.shape + w.shape)
        elif w.ndim:
            t = transpose(t, tuple(range(w.ndim, w.ndim + out.ndim)) + tuple(range(w.ndim)))
        result.append(t)
    return None if any(n is c for n in toposort(result)) else result


def jacobians(out: Node, wrt: Sequence[Node]) -> list[Node]:
    """``d out / d w`` (shape ``out.shape + w.shape``) for each ``w``: by rows (reverse mode, all of
    them in one pass) where ``out`` has fewer elements than ``w`` (:func:`reverse_is_cheaper`), by
    columns (forward mode, :func:`symdiff.ad.forward.jacobian_nodes`) otherwise."""
    rows = [w for w in wrt if reverse_is_cheaper(out, w)]
    by_rows = dict(zip(map(id, rows), reverse_jacobians(out, rows) or [])) if rows else {}
    return [by_rows[id(w)] if id(w) in by_rows else jacobian_nodes(out, w) for w in wrt]


def direction_specs(kind: str, specs: Sequence[ArgSpec], wrt: Sequence[int]) -> list[ArgSpec]:
    """The extra arguments a kind takes: a direction per ``wrt`` argument for ``hvp`` and ``jvp`` (shaped
    like it), the cotangent for ``vjp`` (shaped like the output, known after tracing); named by
    :func:`symdiff.runtime.signature.direction_names`."""
    names = direction_names(kind, [s.name for s in specs], wrt)
    if kind == "vjp":
        return [ArgSpec(names[0], None)]
    return [ArgSpec(name, specs[i].shape, specs[i].dtype) for name, i in zip(names, wrt)]


def _group(names: list[str], single: bool) -> str:
    if single:
        return names[0]
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _slots(start: int, n: int) -> list[str]:
    return ["{%d}" % k for k in range(start, start + n)]


def plans(kind: str, name: str, out: Node, wrt_nodes: list[Node], directions: list[Node],
          single: bool, call: str) -> list[Plan]:
    """The functions of a module of ``kind`` (nodes not yet simplified); ``call`` names the user's
    function with its arguments in docstrings."""
    wnames = [w.param("name") for w in wrt_nodes]
    what = ", ".join(wnames)
    n = len(wrt_nodes)
    if kind == "jacobian":
        jacs = jacobians(out, wrt_nodes)
        return [Plan("jacobian", f"Jacobian of {call} with respect to {what} (output axes first).", jacs,
                     [f"jac_{w}" for w in wnames], "return " + _group(_slots(0, n), single),
                     owners=tuple(w if not out.ndim else None for w in wrt_nodes))]
    if kind == "jvp":
        seeds = {id(w): d for w, d in zip(wrt_nodes, directions)}
        (t,) = jvp_nodes([out], seeds, ())
        t = t if t is not None else broadcast_to(scalar(0, numeric_dtype(out.dtype)), out.shape)
        return [Plan("jvp", f"Value of {call} and its derivative along the tangents of {what}.", [out, t],
                     [name, f"{name}_dot"], "return {0}, {1}", tuple(d.param("name") for d in directions),
                     with_value=True)]
    if kind == "vjp":
        (ct,) = directions
        pulled = reduce("sum", elementwise(ARG[0] * ARG[1], (out, ct), shape=out.shape))
        vjps = gradients(pulled, wrt_nodes)
        return [Plan("vjp", f"Value of {call} and the cotangent pulled back to {what}.", [out, *vjps],
                     [name, *[grad_name(w) for w in wnames]], "return {0}, " + _group(_slots(1, n), single),
                     (ct.param("name"),), with_value=True, owners=(None, *wrt_nodes))]
    if kind == "elementwise_grad":
        total = reduce("sum", out) if out.ndim else out
        grads = gradients(total, wrt_nodes)
        return [Plan("elementwise_grad", f"Derivative of {call} element by element (the gradient of its sum) "
                     f"with respect to {what}.", list(grads), [grad_name(w) for w in wnames],
                     "return " + _group(_slots(0, n), single), owners=tuple(wrt_nodes))]
    grads = gradients(out, wrt_nodes)
    labels = [grad_name(w) for w in wnames]
    casts = tuple(w.dtype if w.dtype not in ("float64", "bool") else None for w in wrt_nodes)  # a mask's: 0.0
    base = [Plan("value_and_grad", f"Return {call} and its gradient with respect to {what}.", [out, *grads],
                 [name, *labels], "return {0}, " + _group(_slots(1, n), single), casts=(None, *casts),
                 with_value=True, owners=(None, *wrt_nodes)),
            Plan("grad", f"Gradient of {call} with respect to {what}.", list(grads), labels,
                 "return " + _group(_slots(0, n), single), casts=casts, owners=tuple(wrt_nodes))]
    if kind == "hessian":
        blocks = [jacobian_nodes(g, w) for g in grads for w in wrt_nodes]
        hlabels = [f"hess_{a}" if single else f"hess_{a}_{b}" for a in wnames for b in wnames]
        rows = [_group(_slots(i * n, n), single) for i in range(n)]
        base.append(Plan("hessian", f"Hessian of {call} with respect to {what}.", blocks, hlabels,
                         "return " + _group(rows, single)))
    if kind == "hvp":
        seeds = {id(w): d for w, d in zip(wrt_nodes, directions)}
        hv = [t if t is not None else broadcast_to(scalar(0, numeric_dtype(w.dtype)), w.shape)
              for t, w in zip(jvp_nodes(grads, seeds, ()), wrt_nodes)]
        dnames = tuple(d.param("name") for d in directions)
        base.append(Plan("hvp", f"Hessian of {call} with respect to {what} times ({', '.join(dnames)}).", hv,
                         [f"hvp_{w}" for w in wnames], "return " + _group(_slots(0, n), single), dnames,
                         owners=tuple(wrt_nodes)))
    return base


def direction_nodes(kind: str, dspecs: list[ArgSpec], out: Node, wrt_nodes: list[Node], first_index: int) -> list[Node]:
    """Direction inputs, with the sizes of what they are directions of (the output's, for ``vjp``)."""
    if kind == "vjp":
        return [input_node(dspecs[0].name, out.shape, first_index, out.dtype)]
    return [input_node(s.name, w.shape, first_index + k, w.dtype) for k, (s, w) in enumerate(zip(dspecs, wrt_nodes))]


#: Primitives whose NumPy result may be a view of their first input.
_VIEWS = {"transpose", "reshape", "getitem", "slice_axis", "flip", "diagonal", "stop_gradient", "broadcast_to"}


def _shares_memory(g: Node) -> bool:
    """Whether ``g`` may be (a view of) an argument or a module constant rather than a new array."""
    while g.op in _VIEWS:
        g = g.inputs[0]
    return g.op in ("input", "const")


def owned(node: Node, like: Node | None = None) -> Node:
    """A result the caller owns: never a read-only broadcast, a bare number, an argument or a view of one.
    With ``like`` (the argument a gradient belongs to), shaped and typed like it."""
    if like is not None and like.dtype != "bool":  # a mask argument's gradient is float zeros, not a mask
        if node.op == "broadcast_to":
            return full_like(like, node.inputs[0])
        if node.shape != like.shape or (node.op == "elementwise" and not node.inputs) or _shares_memory(node) \
                or node.dtype in ("int64", "bool"):  # (integer data, e.g. a random draw: typed like the argument)
            return full_like(like, node)
        return node
    if node.op == "broadcast_to":  # read-only; a whole number would also make an integer array
        src = node.inputs[0]
        if src.op == "elementwise" and not src.inputs and src.expr.is_Integer and node.dtype == "float64":
            src = scalar(sp.Float(int(src.expr)), node.dtype)
        return copy(broadcast_to(src, node.shape))
    if _shares_memory(node) or (node.op == "elementwise" and not node.inputs and node.shape):
        return copy(node)
    return node
