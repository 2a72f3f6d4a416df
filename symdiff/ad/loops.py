"""Reverse mode through a rolled loop (back-propagation through time): the adjoint of a ``loop``
node is a second loop, run backwards, over the adjoint of the body.

The forward loop is replaced by one that also stores, per iteration, the body's values the adjoint
reads (the carried values ``hs[t] = h`` and the intermediate ones, such as the ``tanh`` a derivative
needs); values the adjoint can compute cheaply from the index alone (``x[t]``, ``t - 1``) are read
again instead. The reverse loop ``for t in range(T - 1, -1, -1)`` carries the adjoints of the
carried values from one iteration to the one before, and accumulates the adjoints of the
loop-invariant values (``dW += ...``) and of the sequences indexed at ``t`` (``dx[t] += ...``).

Forward mode (Hessians, ``hvp``, ``jvp``, ``jacobian``) goes through a loop by a loop carrying the
tangents (:mod:`symdiff.ad.loop_jvp`), so every kind keeps loops rolled (:data:`ROLLED_KINDS`).
"""
from __future__ import annotations

import sympy as sp

from ..ir.graph import ARG, Node, rebuild, toposort, with_inputs
from ..ir.primitives import broadcast_to, elementwise, gather, input_node, scalar
from ..errors import UnsupportedError, where as _where
from ..ir.primitives.loop import LoopBody, add_at, loop_out, make_loop, segment_start
from .checkpoint import CHECKPOINT
from ..naming import grad_name
from .backward import MULTI_VJP, _total, accumulate

def _read_results(outputs: list[Node], body: LoopBody) -> list[Node]:
    """Adjoint expressions read the forward body's results where they recompute them: the derivative
    ``1 - tanh(a)**2`` reads ``h = tanh(a)`` (stored per iteration) instead of storing ``a`` and taking
    ``tanh`` again, as hand-written back-propagation does."""
    forward = toposort(list(body.graph.outputs))
    ids = {id(n) for n in forward}
    users: dict[int, list[Node]] = {}
    for node in forward:
        if node.op == "elementwise" and len(node.inputs) == 1 and node.dtype not in ("bool", "int64") \
                and node.expr.has(*_FUNCTIONS):
            users.setdefault(id(node.inputs[0]), []).append(node)

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op != "elementwise" or id(node) in ids:
            return node
        expr, args = node.expr, list(node.inputs)
        for i, inp in enumerate(node.inputs):
            for u in users.get(id(inp), ()):
                pattern = u.expr.xreplace({ARG[0]: ARG[i]})
                if expr.has(pattern) and len(args) < len(ARG):
                    expr = expr.xreplace({pattern: ARG[len(args)]})
                    args.append(u)
        if expr == node.expr:
            return node
        return elementwise(expr, args, shape=node.shape, origin=node.origin, dtype=node.dtype, name=node.name)
    return rebuild(outputs, fn)


_FUNCTIONS = (sp.tanh, sp.exp, sp.sin, sp.cos, sp.log, sp.Pow)

#: The kinds of derivative whose trace keeps loops rolled (all of them: forward mode has a loop's JVP).
ROLLED_KINDS = ("grad", "vjp", "elementwise_grad", "hessian", "hvp", "jvp", "jacobian")


def _numeric(node: Node) -> bool:
    return node.dtype not in ("bool", "int64")


def _zeros(like: Node) -> Node:
    return broadcast_to(scalar(sp.Integer(0), like.dtype), like.shape)


def _at_index(node: Node, invariants: dict[int, int]) -> bool:
    """``x[i]`` of an invariant ``x`` at an integer scalar ``i``: its adjoint is added at ``i``."""
    return (node.op == "gather" and id(node.inputs[0]) in invariants and node.param("index") == (("array", 0),)
            and len(node.inputs) == 2 and node.inputs[1].shape == ())


def _checkpoint(body: LoopBody, loop: Node) -> int | str | None:
    """The ``checkpoint=`` setting for this loop's gradient (None: store every step)."""
    setting = CHECKPOINT.get()
    if setting is not None and (body.stored or body.reverse):
        raise UnsupportedError(f"{_where(loop.origin)}: checkpoint={setting!r} cannot recompute this loop: it is a "
                               "gradient's loop (a gradient taken inside the function: its reverse loop, or its "
                               "forward loop, which stores values per iteration); pass checkpoint=None, or take "
                               "the inner gradient with a transform outside the function")
    if setting is not None and body.until is not None:
        raise UnsupportedError(f"{_where(loop.origin)}: checkpoint={setting!r} cannot segment a while loop (its "
                               "trip count is known only when it ends); pass checkpoint=None, or write the loop as "
                               "a for loop over range(n)")
    return setting


def loop_vjp(loop: Node, adjoints: dict[int, Node]) -> list[Node | None]:
    body: LoopBody = loop.param("body")
    k = body.carry_count
    if any(j >= k for j in adjoints):  # (the stacks of a gradient's forward loop, read by a gradient inside)
        raise UnsupportedError(f"{_where(loop.origin)}: reverse mode does not go through the values this loop "
                               "stores per iteration (the forward loop of a gradient, Hessian or Jacobian taken "
                               "inside the differentiated function); differentiate the whole function with one "
                               "transform (symdiff.hessian, symdiff.hvp) instead of a gradient of a gradient")
    index, carried, invariants, updates = body.index, body.carried, body.invariants, body.updates
    outer = loop.inputs[k:]
    position = {id(n): i for i, n in enumerate(invariants)}
    live = [j for j in range(k) if _numeric(carried[j])]
    g_in = {j: input_node(grad_name(carried[j].param("name")), carried[j].shape, -1, carried[j].dtype) for j in live}
    seeds: dict[int, Node] = {}
    for j in live:
        seeds[id(updates[j])] = g_in[j] if id(updates[j]) not in seeds else _total([seeds[id(updates[j])], g_in[j]])
    at: dict[int, list[tuple[Node, Node]]] = {}

    def intercept(node: Node, g: Node) -> bool:
        if _at_index(node, position):
            at.setdefault(position[id(node.inputs[0])], []).append((node.inputs[1], g))
            return True
        return False
    grads = accumulate(seeds, list(updates), intercept)

    # the reverse body: new adjoints of the carried values, accumulated adjoints of the invariants
    new_g = {j: grads.get(id(carried[j])) or _zeros(carried[j]) for j in live}
    g0 = {j: adjoints.get(j) or _zeros(carried[j]) for j in live}
    fixed = {j for j in live if new_g[j] is g_in[j]}  # (an adjoint no iteration changes: its initial value)
    acc_in, new_acc = {}, {}
    for i, inv in enumerate(invariants):
        if not _numeric(inv) or (id(inv) not in grads and i not in at):
            continue
        acc = acc_in[i] = input_node(grad_name(inv.param("name")), inv.shape, -1, inv.dtype)
        value = acc if id(inv) not in grads else elementwise(ARG[0] + ARG[1], (acc, grads[id(inv)]), shape=acc.shape)
        for where, g in at.get(i, ()):
            value = add_at(value, g, where, origin=g.origin)
        new_acc[i] = value
    moving = [j for j in live if j not in fixed]
    outputs = _read_results([new_g[j] for j in moving] + [new_acc[i] for i in acc_in], body)

    # what the reverse body reads of the forward body: the index, invariants, values stored per iteration
    forward = {id(n) for n in toposort(list(body.graph.outputs))}
    on_carry = {id(c) for c in carried}
    for node in toposort(list(body.graph.outputs)):
        if any(id(i) in on_carry for i in node.inputs):
            on_carry.add(id(node))
    frontier: dict[int, Node] = {}
    for node in toposort(outputs):
        if id(node) in forward:
            continue
        for inp in node.inputs:
            if id(inp) in forward and id(inp) in on_carry:
                frontier.setdefault(id(inp), inp)
    for node in outputs:
        if id(node) in forward and id(node) in on_carry:
            frontier.setdefault(id(node), node)
    # a carried value's new value at t is the value at t + 1: one stack of count + 1 rows holds both
    carried_ids = {id(c): j for j, c in enumerate(carried)}
    next_of: dict[int, int] = {}
    for j, u in enumerate(updates):
        if id(u) not in carried_ids and id(u) in on_carry:
            next_of.setdefault(id(u), j)
    stored: list[Node] = []
    shifted: dict[int, tuple[Node, int]] = {}
    for node in frontier.values():
        row = next_of.get(id(node))
        if row is not None:
            shifted[id(node)] = (node, row)
            node = carried[row]
        if all(node is not s for s in stored):
            stored.append(node)
    rev_index = input_node(index.param("name"), (), -1, "int64")
    fwd = loop
    mapping: dict[int, Node] = {id(index): rev_index}
    mapping.update({id(g_in[j]): g0[j] for j in fixed})
    mapping.update({id(inv): o for inv, o in zip(invariants, outer)})
    checkpoint = _checkpoint(body, loop) if stored else None
    if stored:
        fwd = Node("loop", loop.inputs, (), params=(("body", body.with_outputs(
            [*body.graph.outputs, *stored], base=body, checkpoint=checkpoint)),), origin=loop.origin)
        if checkpoint is not None:  # rows of the segment being walked back (its first index: lo)
            step = elementwise(ARG[0] - ARG[1], (rev_index, segment_start(body.start)), dtype="int64")
        elif body.start == 0:
            step = rev_index
        else:
            step = elementwise(ARG[0] - body.start, (rev_index,), dtype="int64")
        # (a reverse loop's next iteration is t - 1; after its last one, row -1: the final value's row)
        after = elementwise(ARG[0] - 1 if body.reverse else ARG[0] + 1, (step,), dtype="int64")
        stacks = {}
        for s, node in enumerate(stored):
            stacks[id(node)] = loop_out(fwd, k + s, name=f"{node.name}s" if node.name else None)
            mapping[id(node)] = gather(stacks[id(node)], (("array", 0),), [step], node.shape,
                                       node.origin.as_grad() if node.origin else None)
        for node, j in shifted.values():
            mapping[id(node)] = gather(stacks[id(carried[j])], (("array", 0),), [after], node.shape,
                                       node.origin.as_grad() if node.origin else None)

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        return mapping.get(id(node)) or with_inputs(node, inputs)
    outputs = rebuild(outputs, fn)
    a0 = [_zeros(invariants[i]) for i in acc_in]
    origin = loop.origin.as_grad() if loop.origin else None
    back = make_loop(rev_index, [*(g_in[j] for j in moving), *acc_in.values()], [*(g0[j] for j in moving), *a0],
                     outputs, [], body.start, body.count, reverse=not body.reverse, origin=origin,
                     checkpoint=checkpoint)
    out: list[Node | None] = [None] * len(loop.inputs)
    for j in fixed:
        out[j] = g0[j]
    for n, j in enumerate(moving):
        out[j] = loop_out(back, n)
    for n, i in enumerate(acc_in):
        out[k + i] = loop_out(back, len(moving) + n)
    return out

MULTI_VJP["loop"] = loop_vjp
