"""Forward mode through a rolled loop: the JVP of a ``loop`` node is a loop carrying the state and its
tangent, whose body is the body's JVP.

The new loop's carried values are the old ones, then the tangents of those that have one; its stored
values the old ones, then their tangents. A carried value whose initial tangent is zero may still get
one from an invariant with a tangent (``h = tanh(W @ h)`` with a tangent of ``W``): the carried tangents
are found by iterating the body's JVP until no new one appears, and such a tangent starts at zeros.
With a batch of tangents (a Jacobian by columns, a Hessian), every tangent carries the batch axes
trailing, as outside the loop. A reverse loop (a gradient's) gives a reverse loop: forward mode over
reverse mode (``hvp``, ``hessian``) keeps both loops rolled.

>>> import sympy as sp
>>> from symdiff.ir.graph import ARG
>>> from symdiff.ir.primitives import elementwise, input_node
>>> from symdiff.ir.primitives.loop import loop_out, make_loop
>>> from symdiff.ad.forward import jvp_nodes
>>> t, h, w = input_node("t", (), -1, "int64"), input_node("h", (), -1), input_node("w", (), 0)
>>> loop = make_loop(t, [h], [w], [elementwise(ARG[0] * ARG[1], (h, w))], [], 0, sp.Integer(5))
>>> (dot,) = jvp_nodes([loop_out(loop, 0)], {id(w): input_node("v", (), 1)})
>>> dot.inputs[0].param("body").carry_count
2
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp

from ..ir.graph import Node, rebuild, with_inputs
from ..ir.primitives import broadcast_to, input_node, scalar
from ..ir.primitives.loop import LoopBody, loop_out, make_loop
from .jvp_rules import tangent_name


@dataclass(frozen=True, eq=False)
class LoopTangent:
    """The tangent of a loop node: the loop computing state and tangents, and where each old result's
    tangent is among its results (None: zero)."""

    loop: Node
    at: dict[int, int]
    carry_count: int  # the old loop's
    shift: int  # how many carried tangents come before the old stored values

    def result(self, k: int) -> Node | None:
        position = self.at.get(k)
        return None if position is None else loop_out(self.loop, position)

    def primal(self, k: int) -> int:
        """Where the old loop's result ``k`` is among the new loop's results (it computes them all)."""
        return k if k < self.carry_count else k + self.shift


def _numeric(node: Node) -> bool:
    return node.dtype not in ("bool", "int64")


def _zeros(shape, dtype: str) -> Node:
    return broadcast_to(scalar(sp.Integer(0), dtype), tuple(shape))


def _placeholder(node: Node, batch: tuple) -> Node:
    name = tangent_name(node.param("name") if node.op == "input" else (node.name or "carry"))
    return input_node(name, node.shape + batch, -1, node.dtype)


def loop_jvp(loop: Node, tangents: list, batch: Sequence, jvp_nodes: Callable) -> LoopTangent | None:
    """The tangent of ``loop`` given its inputs' tangents (``jvp_nodes``: the driver of
    :mod:`symdiff.ad.forward`, which calls this rule and goes through the body with it)."""
    batch = tuple(batch)
    body: LoopBody = loop.param("body")
    k = body.carry_count
    carried, invariants = body.carried, body.invariants
    inits, outer = loop.inputs[:k], loop.inputs[k:]
    t_inits, t_outer = tangents[:k], tangents[k:]
    outputs = list(body.graph.outputs)
    # the invariants' tangents enter the body as the outer nodes themselves (make_loop hoists them again)
    seeds: dict[int, Node] = {id(inv): t for inv, t in zip(invariants, t_outer) if t is not None and _numeric(inv)}
    moving = [j for j in range(k) if t_inits[j] is not None and _numeric(carried[j])]
    holders: dict[int, Node] = {}
    while True:
        for j in moving:
            holders.setdefault(j, _placeholder(carried[j], batch))
        found = jvp_nodes(outputs, {**seeds, **{id(carried[j]): holders[j] for j in moving}}, batch)
        more = [j for j in range(k) if j not in moving and found[j] is not None and _numeric(carried[j])]
        if not more:
            break
        moving = sorted(moving + more)
    if not moving and all(t is None for t in found):
        return None
    t_updates = [found[j] if found[j] is not None else _zeros(carried[j].shape + batch, carried[j].dtype)
                 for j in moving]  # (a tangent no iteration changes after the first: still carried)
    kept = [s for s in range(len(outputs) - k) if found[k + s] is not None]
    # the new body is made of new nodes throughout (fresh placeholders), never sharing one with the old body
    index = input_node(body.index.param("name"), (), -1, body.index.dtype)
    fresh = [input_node(c.param("name"), c.shape, -1, c.dtype) for c in carried]
    mapping = {id(inv): o for inv, o in zip(invariants, outer)}
    mapping.update({id(c): f for c, f in zip(carried, fresh)})
    mapping[id(body.index)] = index

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        return mapping.get(id(node)) or with_inputs(node, inputs)
    made = rebuild([*outputs[:k], *t_updates, *outputs[k:], *(found[k + s] for s in kept)], fn)
    new_carried = [*fresh, *(holders[j] for j in moving)]
    new_inits = [*inits, *(t_inits[j] if t_inits[j] is not None else
                           _zeros(carried[j].shape + batch, carried[j].dtype) for j in moving)]
    n_updates = k + len(moving)
    new = make_loop(index, new_carried, new_inits, made[:n_updates], made[n_updates:], body.start,
                    body.count, body.reverse, body.origin, until=body.until)  # (a while loop's tangents: a while)
    at = {j: k + i for i, j in enumerate(moving)}
    stored_count = len(outputs) - k
    at.update({k + s: n_updates + stored_count + i for i, s in enumerate(kept)})
    return LoopTangent(new, at, k, len(moving))


def share_loops(outputs: list, loops: list[tuple[Node, LoopTangent]]) -> list:
    """``outputs`` (tangents) reading each loop's values from its tangent loop, which computes them too:
    one loop runs where the values and the tangents had one each."""
    primal = {id(old): lt for old, lt in loops}
    made: dict[int, Node] = {}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        lt = primal.get(id(node.inputs[0])) if node.op == "loop_out" else None
        if lt is not None and id(lt.loop) in made:
            new = loop_out(made[id(lt.loop)], lt.primal(node.param("k")), name=node.name)
        else:
            new = with_inputs(node, inputs)
        made[id(node)] = new
        return new
    kept = [o for o in outputs if isinstance(o, Node)]
    done = iter(rebuild([lt.loop for _, lt in loops] + kept, fn)[len(loops):])
    return [next(done) if isinstance(o, Node) else o for o in outputs]


def loop_out_jvp(node: Node, loop_tangent: LoopTangent | None) -> Node | None:
    """The tangent of ``loop_out(loop, k)``: the matching result of the loop's tangent loop."""
    if loop_tangent is None or not _numeric(node):
        return None
    return loop_tangent.result(node.param("k"))
