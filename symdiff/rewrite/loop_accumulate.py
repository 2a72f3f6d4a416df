"""Accumulations moved out of rolled loops: a value a loop adds to at every iteration (an adjoint
``dW += np.outer(dz, hs[t])``, a running total ``loss += np.sum(h ** 2)``, a sequence's adjoint
``dx[t] += dz @ U``) computed after the loop from the values stored per iteration, as one matrix
product or one sum (see :mod:`symdiff.rewrite.loop_batch`, whose :class:`Batcher` gives the stored
values' batched forms).
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..ir.graph import ARG, Node, rebuild, toposort, with_inputs
from ..ir.primitives import elementwise, input_node, reduce, transpose
from ..ir.primitives.linalg import matmul
from ..ir.primitives.loop import LoopBody, loop_out
from ..ir.primitives.shape import slice_axis
from .loop_batch import Batcher, _offset


def _zero(node: Node) -> bool:
    if node.op == "broadcast_to":
        node = node.inputs[0]
    return node.op == "elementwise" and not node.inputs and node.expr == 0


def _accumulation(body: LoopBody, j: int, uses: dict[int, int]) -> Node | None:
    """The term ``v`` of a carried value updated as ``acc + v`` and read nowhere else in the body."""
    acc, update = body.carried[j], body.updates[j]
    if update.op != "elementwise" or len(update.inputs) != 2 or update.dtype in ("bool", "int64") \
            or update.expr != ARG[0] + ARG[1] or uses.get(id(acc), 0) != 1 or uses.get(id(update), 0):
        return None  # (the running value read inside, by anything but its next addition: not pushed out)
    if sum(1 for o in body.graph.outputs if o is acc) or sum(1 for o in body.graph.outputs if o is update) != 1:
        return None
    term = update.inputs[1] if update.inputs[0] is acc else update.inputs[0] if update.inputs[1] is acc else None
    return None if term is None or tuple(term.shape) != tuple(acc.shape) and term.op != "outer" else term


def _row_added(body: LoopBody, j: int, uses: dict[int, int], init: Node) -> Node | None:
    """The value ``v`` of a carried adjoint updated as ``acc[t] += v`` (``add_at`` at the index) from
    zeros, over a loop visiting every row of it once, read nowhere else in the body."""
    acc, update = body.carried[j], body.updates[j]
    if update.op != "add_at" or update.inputs[0] is not acc or uses.get(id(acc), 0) != 1 or not _zero(init) \
            or uses.get(id(update), 0):
        return None
    if _offset(update.inputs[2], body.index) != 0 or body.start != 0 or acc.ndim == 0 \
            or sp.sympify(acc.shape[0] - body.count) != 0:
        return None
    if sum(1 for o in body.graph.outputs if o is acc or o is update) != 1:
        return None
    return update.inputs[1]


def _stacks(loop: Node) -> dict[int, Node]:
    """The rows of the carried values a loop stores (``hs``: ``count + 1`` rows), and of their new values."""
    body: LoopBody = loop.param("body")
    k = body.carry_count
    out: dict[int, Node] = {}
    for s, node in enumerate(body.stored):
        for j, c in enumerate(body.carried):
            if node is c:
                stack = loop_out(loop, k + s)
                out[id(c)] = slice_axis(stack, 0, 0, body.count)
                if body.updates[j].op != "input":
                    out.setdefault(id(body.updates[j]), slice_axis(stack, 0, 1, body.count + 1))
    return out


def _total(term: Node, batched: Node, origin) -> Node:
    """The sum over the iterations of ``term``, from its batched form."""
    if batched.op == "contract" and term.op == "contract":  # (the row axis summed too: one dot)
        spec = batched.param("subscripts")
        z = spec.split("->")[1][0]  # (the row axis: first of the result's)
        return Node("contract", batched.inputs, term.shape, params=(("subscripts", spec.replace("->" + z, "->")),),
                    dtype=term.dtype, origin=origin)
    return reduce("sum", batched, axis=(0,), origin=origin)


def _pushed(loop: Node, results: dict[int, dict[int, Node]]) -> Node | None:
    body: LoopBody = loop.param("body")
    if body.checkpoint is not None:
        return None  # (a checkpointed reverse loop prints in segments: its sums stay inside)
    bt = Batcher(loop, _stacks(loop))
    uses: dict[int, int] = {}
    for node in bt.order:
        for i in node.inputs:
            uses[id(i)] = uses.get(id(i), 0) + 1
    own = {id(n) for n in body.graph.inputs}
    stored = list(body.stored)
    # (carried position, the total's form, its factors: a batched node, or the position of a stored value)
    plans: list[tuple[int, str, list[Node | int]]] = []
    for j in range(body.carry_count):
        term = _accumulation(body, j, uses)
        if term is None:
            continue
        factors = term.inputs if term.op == "outer" else (term,)
        if term.op != "outer" and term.ndim == 0:  # (a scalar stored per iteration costs what adding it does)
            if (batched := bt.batch(term)) is not None:
                plans.append((j, "scalar", [batched]))
            continue
        factor_ways: list[Node | int] = []
        for f in factors:
            if (batched := bt.batch(f)) is not None:
                factor_ways.append(batched)
            elif id(f) in bt.carried and id(f) not in own:
                if all(f is not s for s in stored):
                    stored.append(f)
                factor_ways.append(next(k for k, s in enumerate(stored) if s is f))
            else:
                break
        else:
            plans.append((j, "outer" if term.op == "outer" else "sum", factor_ways))
    # a sequence's adjoint added row by row (dx[t] += dz @ U), every row once: the rows batched
    held = {id(s): replace(input_node(f"stack{i}", (body.count, *s.shape), -1, s.dtype), name=None)
            for i, s in enumerate(stored)}
    rows = Batcher(loop, {**_stacks(loop), **held})
    for j in range(body.carry_count):
        value = _row_added(body, j, uses, loop.inputs[j])
        if value is None:
            continue
        if (batched := rows.batch(value)) is not None:
            plans.append((j, "rows", [batched]))
        elif id(value) in rows.carried and id(value) not in own:  # (stored as it is: the stack is the adjoint)
            if all(value is not s for s in stored):
                stored.append(value)
            plans.append((j, "rows", [next(i for i, s in enumerate(stored) if s is value)]))
    if not plans:
        return None
    k = body.carry_count
    updates = list(body.updates)
    for j, _, _ in plans:
        updates[j] = body.carried[j]  # (no longer accumulated: pruned once nothing reads it)
    new_body = body.with_outputs([*updates, *stored])
    new_loop = Node("loop", loop.inputs, (), params=(("body", new_body),), origin=loop.origin)
    totals = {}
    for j, form, ways in plans:
        origin = body.updates[j].origin or loop.origin  # (the line that accumulates)
        stacks = [w if isinstance(w, Node) else loop_out(new_loop, k + w) for w in ways]
        if form == "outer":
            total = matmul(transpose(stacks[0]), stacks[1], origin)
        elif form == "rows":
            total = stacks[0]
        else:
            total = _total(body.updates[j].inputs[1] if body.updates[j].inputs[0] is body.carried[j]
                           else body.updates[j].inputs[0], stacks[0], origin)
        places = {id(p): loop_out(new_loop, k + next(i for i, x in enumerate(stored) if id(x) == key))
                  for key, p in held.items()}
        total = rebuild([total], lambda n, i: new_loop if n is loop else places.get(id(n)) or with_inputs(n, i))[0]
        init = loop.inputs[j]
        totals[j] = total if _zero(init) else elementwise(ARG[0] + ARG[1], (init, total), shape=total.shape,
                                                          dtype=total.dtype, origin=origin)
    results[id(new_loop)] = totals
    return new_loop


def push_out_accumulations(outputs: list[Node]) -> list[Node]:
    """A value a loop accumulates (``dW = dW + np.outer(dz, hs[t])``, ``db = db + dz``, a sequence of
    additions nothing else in the body reads) computed after the loop from the values stored per
    iteration: ``dzs.T @ hs[:-1]``, ``dzs.sum(axis=0)``; the loop stores ``dz`` instead of adding."""
    if not any(n.op == "loop" for n in toposort(outputs)):
        return outputs
    results: dict[int, dict[int, Node]] = {}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op == "loop":
            return _pushed(node, results) or node
        if node.op == "loop_out" and id(node.inputs[0]) in results:
            return results[id(node.inputs[0])].get(node.param("k"), node)
        return node
    return rebuild(outputs, fn)
