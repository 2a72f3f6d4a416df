"""Passes over rolled loops (:mod:`symdiff.ir.primitives.loop`): one forward loop where the value and
the gradient each had theirs, and the pass list run inside every loop body.

Reverse mode replaces a forward loop by one that also stores what its adjoint reads
(:mod:`symdiff.ad.loops`); the value still reads the plain loop. :func:`merge_loops` makes it read
the storing loop, so the loop runs once. :func:`run_in_bodies` simplifies each body's graph as the
function's own (the passes never see through a loop node otherwise: the body is a graph of its own,
whose inputs are the index, the carried values and the invariants).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from ..ir.graph import Graph, Node, rebuild, toposort, with_inputs
from ..ir.primitives.loop import LoopBody


def merge_loops(outputs: list[Node]) -> list[Node]:
    """A plain loop and a loop storing its residuals, on the same inputs: the storing one, once."""
    order = toposort(outputs)
    storing: dict[tuple, Node] = {}
    for node in order:
        body = node.param("body") if node.op == "loop" else None
        if body is not None and body.base is not None:
            storing.setdefault((id(body.base), tuple(id(i) for i in node.inputs)), node)
    plain = {id(n): storing[key] for n in order if n.op == "loop"
             for key in [(id(n.param("body")), tuple(id(i) for i in n.inputs))] if key in storing}
    if not plain:
        return outputs
    made: dict[int, Node] = {}
    first = list({id(s): s for s in plain.values()}.values())

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        new = made[id(plain[id(node)])] if id(node) in plain else with_inputs(node, inputs)
        made[id(node)] = new
        return new
    return rebuild(first + list(outputs), fn)[len(first):]


def run_in_bodies(outputs: list[Node], passes: Callable[[], Sequence[Callable]]) -> list[Node]:
    """Every loop body through the pass list ``passes()`` (nested loops' bodies too)."""
    done: dict[int, LoopBody] = {}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op != "loop":
            return with_inputs(node, inputs)
        body: LoopBody = node.param("body")
        if id(body) not in done:
            new = list(body.graph.outputs)
            for p in passes():
                new = p(new)
            done[id(body)] = body.with_outputs(new)
        return with_inputs(node, inputs, params=(("body", done[id(body)]),))
    if not any(n.op == "loop" for n in toposort(outputs)):
        return outputs
    return rebuild(outputs, fn)


def _pruned(loop: Node, used: set[int]) -> tuple[LoopBody, dict[int, int], list[int]] | None:
    """The body without the carried values nobody reads (outside, or in what is kept), the stores
    nobody reads and the invariants the body no longer reads; with the new position of each old result
    and the old positions of the kept inputs. None when everything is needed."""
    body: LoopBody = loop.param("body")
    k = body.carry_count
    deps = body.carried_dependencies()
    outputs = list(body.graph.outputs)
    keep = {j for j in range(len(outputs)) if j in used or j == body.until}  # (a while loop's condition)
    todo = list(keep)
    while todo:  # a carried value is needed if read after the loop or by a needed result
        for c in deps.get(id(outputs[todo.pop()]), set()):
            if c not in keep:
                keep.add(c)
                todo.append(c)
    first: dict[int, int] = {}
    for j in sorted(keep):  # a value stored twice (the passes found two the same): stored once
        if j >= k and first.setdefault(id(outputs[j]), j) != j:
            keep.discard(j)
    kept = sorted(keep)
    if len(kept) == len(outputs):
        reachable = {id(n) for n in toposort(outputs)}
        if all(id(i) in reachable for i in body.invariants):
            return None
    carried = [j for j in kept if j < k]
    new_outputs = [outputs[j] for j in kept]
    reachable = {id(n) for n in toposort(new_outputs)}
    invariants = [i for i, n in enumerate(body.invariants) if id(n) in reachable]
    inputs = (body.index, *(body.carried[j] for j in carried), *(body.invariants[i] for i in invariants))
    new_body = replace(body, graph=Graph(inputs, tuple(new_outputs)), carry_count=len(carried),
                       until=None if body.until is None else carried.index(body.until))
    where = {j: kept.index(first.get(id(outputs[j]), j) if j >= k else j) for j in range(len(outputs))
             if (first.get(id(outputs[j]), j) if j >= k else j) in keep}
    return new_body, where, carried + [k + i for i in invariants]


def prune_loops(outputs: list[Node]) -> list[Node]:
    """Loops compute only what is read: results no one uses (the adjoint of an argument not in ``wrt``)
    and the values only they needed are dropped."""
    order = toposort(outputs)
    used: dict[int, set[int]] = {}
    for node in order:
        if node.op == "loop_out":
            used.setdefault(id(node.inputs[0]), set()).add(node.param("k"))
    plans = {}
    for node in order:
        if node.op == "loop":
            plan = _pruned(node, used.get(id(node), set()))
            if plan is not None:
                plans[id(node)] = plan
    if not plans:
        return outputs

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op == "loop" and id(node) in plans:
            body, _, kept_inputs = plans[id(node)]
            return Node("loop", tuple(inputs[i] for i in kept_inputs), (), params=(("body", body),),
                        origin=node.origin)
        if node.op == "loop_out" and id(node.inputs[0]) in plans:
            where = plans[id(node.inputs[0])][1]
            return with_inputs(node, inputs, params=(("k", where[node.param("k")]),))
        return with_inputs(node, inputs)
    return prune_loops(rebuild(outputs, fn))
