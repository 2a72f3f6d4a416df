"""The rolled loop: ``for t in range(start, start + count)`` over a body graph with carried state, like
``jax.lax.scan``. A ``loop`` node's inputs are the carried values' initial values, then the
loop-invariant values the body reads (weights, and the sequences it indexes at ``t``); its body is a
:class:`LoopBody` whose graph takes ``(t, *carried, *invariants)`` and returns the carried values'
next values, then the values it stores per iteration (``hs[t] = h``, the residuals a reverse loop
reads). ``loop_out`` nodes project the loop's results: the final carried values, then the stacks
(shape ``(count, *shape)``; a carried value's: ``count + 1`` rows, the last its final value).
``add_at(acc, v, i)`` (``acc[i] += v``) accumulates a sequence's adjoint inside a reverse loop.
The loop's vjp rule is :mod:`symdiff.ad.loops` (it needs the whole reverse-mode machinery), its JVP
rule :mod:`symdiff.ad.loop_jvp` (forward mode over the body); the printed code is
:mod:`symdiff.backends.numpy.dispatch.loop`.

>>> import sympy as sp
>>> from symdiff.ir.primitives.core import input_node, elementwise
>>> from symdiff.ir.graph import ARG
>>> t = input_node("t", (), -1, "int64")
>>> h = input_node("h", (), -1)
>>> w = input_node("w", (), 0)
>>> loop = make_loop(t, [h], [w], [elementwise(ARG[0] * ARG[1], (h, w))], [], 0, sp.Integer(5))
>>> [i.op for i in loop.inputs], loop.param("body").invariant_count
(['input', 'input'], 1)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import sympy as sp

from ..graph import Graph, Node, Origin, invariant_inputs, rebuild, toposort, with_inputs
from .core import broadcast_to, defprim, input_node, scalar
from .index import gather


@dataclass(frozen=True, eq=False)
class LoopBody:
    """The body of a rolled loop (compared by identity). ``graph.inputs`` = (index, *carried,
    *invariants); ``graph.outputs`` = (*next carried values, *stored values)."""

    graph: Graph
    carry_count: int
    start: sp.Expr
    count: sp.Expr
    reverse: bool = False
    origin: Origin | None = None
    base: "LoopBody | None" = None  # a forward loop storing residuals: the loop it extends
    until: int | None = None  # a while loop: the carried boolean it runs while (count: a symbol bound by it)
    #: a gradient's loops with ``checkpoint=``: the segment length (an int, or "sqrt" of the trip count);
    #: the forward loop stores its state every that many steps, the reverse loop recomputes each segment
    checkpoint: int | str | None = None

    @property
    def index(self) -> Node:
        return self.graph.inputs[0]

    @property
    def carried(self) -> tuple[Node, ...]:
        return self.graph.inputs[1:1 + self.carry_count]

    @property
    def invariants(self) -> tuple[Node, ...]:
        return self.graph.inputs[1 + self.carry_count:]

    @property
    def invariant_count(self) -> int:
        return len(self.graph.inputs) - 1 - self.carry_count

    @property
    def updates(self) -> tuple[Node, ...]:
        return self.graph.outputs[:self.carry_count]

    @property
    def stored(self) -> tuple[Node, ...]:
        return self.graph.outputs[self.carry_count:]

    def carried_dependencies(self) -> dict[int, set[int]]:
        """For each body node (by id), the positions of the carried inputs it depends on."""
        position = {id(c): j for j, c in enumerate(self.carried)}
        deps: dict[int, set[int]] = {}
        for node in toposort(list(self.graph.outputs)):
            mine = {position[id(node)]} if id(node) in position else set()
            for i in node.inputs:
                mine |= deps.get(id(i), set())
            deps[id(node)] = mine
        return deps

    def with_outputs(self, outputs: Sequence[Node], **changes: Any) -> "LoopBody":
        fields = dict(graph=Graph(self.graph.inputs, tuple(outputs)), carry_count=self.carry_count, start=self.start,
                      count=self.count, reverse=self.reverse, origin=self.origin, base=self.base,
                      until=self.until, checkpoint=self.checkpoint)
        fields.update(changes)
        return LoopBody(**fields)

    def finished(self, trace: Any) -> "LoopBody":
        """The body with the trace's unified sizes and variable names (see ``Trace.finish``)."""
        inputs, outputs = list(self.graph.inputs), list(self.graph.outputs)
        done = trace.finish(inputs + outputs)
        return LoopBody(Graph(tuple(done[:len(inputs)]), tuple(done[len(inputs):])), self.carry_count,
                        trace.resolve(self.start), trace.resolve(self.count), self.reverse, self.origin, self.base,
                        self.until, self.checkpoint)

    def __repr__(self) -> str:
        return f"<body of {len(self.graph.nodes())} nodes>"


def make_loop(index: Node, carried: Sequence[Node], inits: Sequence[Node], updates: Sequence[Node],
              stored: Sequence[Node], start, count, reverse: bool = False, origin: Origin | None = None,
              base: LoopBody | None = None, names: Sequence[str] = (), until: int | None = None,
              checkpoint: int | str | None = None) -> Node:
    """The loop node running ``updates`` (functions of ``index``, the ``carried`` placeholders and any
    other node) from ``inits``. Every node the body reads that depends on neither the index nor a
    carried value (``W``, ``x``, ``W.T``, constants) is computed once, outside: it becomes an
    invariant input of the loop. ``names``: the carried variables' names, given to their new values.
    ``until``: a while loop, which runs while the carried boolean at that position holds (``count`` is
    then a symbol of its own: the number of iterations it ran, bound by the loop at run time)."""
    own = {id(index)} | {id(c) for c in carried}
    outputs = list(updates) + list(stored)
    outer = invariant_inputs(outputs, own)
    # (placeholders without a node name: their adjoints inside the body stay anonymous)
    inner = {id(n): replace(input_node(n.name or f"w{k}", n.shape, -1, n.dtype), name=None)
             for k, n in enumerate(outer)}
    inner_nodes = [inner[id(n)] for n in outer]
    named = {id(u): name for u, name in zip(updates, names) if u.name is None and id(u) not in own}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if id(node) in inner:
            return inner[id(node)]
        name = named.get(id(node))
        node = with_inputs(node, inputs)
        return replace(node, name=name) if name else node
    new = rebuild(outputs, fn)
    graph = Graph((index, *carried, *inner_nodes), tuple(new))
    body = LoopBody(graph, len(carried), sp.sympify(start), sp.sympify(count), reverse, origin, base, until,
                    checkpoint)
    return Node("loop", (*inits, *outer), (), params=(("body", body),), origin=origin)


def loop_out(loop: Node, k: int, name: str | None = None) -> Node:
    """Result ``k`` of ``loop``: a final carried value, or (past them) the stack of a stored value."""
    body: LoopBody = loop.param("body")
    node = body.graph.outputs[k]
    if k >= body.carry_count:  # a stack (of a carried value: count + 1 rows, the last one its final value)
        rows = body.count + 1 if any(node is c for c in body.carried) else body.count
        return Node("loop_out", (loop,), (rows, *node.shape), params=(("k", k),), dtype=node.dtype,
                    name=name, origin=loop.origin)
    init = loop.inputs[k]
    return Node("loop_out", (loop,), init.shape, params=(("k", k),), dtype=init.dtype, name=name,
                origin=loop.origin)


def segment_start(start) -> Node:
    """The first index of the rows a reverse loop reads of its forward loop's stacks: ``start`` (the
    loop's), or with ``checkpoint=`` the first index of the segment being walked back (printed as the
    segment's ``lo``). A node of its own, so a body reads it as an input, never as a constant."""
    return Node("segment_start", (), (), params=(("start", sp.sympify(start)),), dtype="int64")


def add_at(acc: Node, value: Node, at: Node, origin: Origin | None = None) -> Node:
    """``acc`` with ``value`` added to ``acc[at]`` (``at`` an integer scalar): a sequence's adjoint."""
    return Node("add_at", (acc, value, at), acc.shape, dtype=acc.dtype, origin=origin)


def _vjp_add_at(g: Node, node: Node) -> list[Node | None]:
    return [g, gather(g, (("array", 0),), [node.inputs[2]], node.inputs[1].shape), None]


defprim("loop", None)  # several results: reverse mode handles it whole (symdiff.ad.loops)
defprim("loop_out", None)
defprim("add_at", _vjp_add_at)
defprim("segment_start", lambda g, node: [])


def _jvp_add_at(node: Node, tangents: list, batch) -> Node:
    acc, value = node.inputs[0], node.inputs[1]
    ta, tv = tangents[0], tangents[1]
    zero = scalar(sp.Integer(0), node.dtype)
    ta = ta if ta is not None else broadcast_to(zero, acc.shape + tuple(batch))
    tv = tv if tv is not None else broadcast_to(zero, value.shape + tuple(batch))
    return add_at(ta, tv, node.inputs[2], node.origin)


def register_jvps(defjvp) -> None:
    """Add this module's JVP rules to :data:`symdiff.ad.forward.JVP_RULES` (called by that module)."""
    defjvp("add_at")(_jvp_add_at)
    defjvp("segment_start")(lambda node, tangents, batch: None)
