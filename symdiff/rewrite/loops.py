"""Passes over rolled loops (:mod:`symdiff.ir.primitives.loop`): one forward loop where the value and
the gradient each had theirs, and the pass list run inside every loop body.

Reverse mode replaces a forward loop by one that also stores what its adjoint reads
(:mod:`symdiff.ad.loops`); the value still reads the plain loop. :func:`merge_loops` makes it read
the storing loop, so the loop runs once. :func:`run_in_bodies` simplifies each body's graph as the
function's own (the passes never see through a loop node otherwise: the body is a graph of its own,
whose inputs are the index, the carried values and the invariants).
"""
from __future__ import annotations

from typing import Callable, Sequence

from ..ir.graph import Node, rebuild, toposort, with_inputs
from ..ir.primitives.loop import LoopBody


def merge_loops(outputs: list[Node]) -> list[Node]:
    """A plain loop and a loop storing its residuals, on the same inputs: the storing one, once."""
    order = toposort(outputs)
    storing = {}
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
