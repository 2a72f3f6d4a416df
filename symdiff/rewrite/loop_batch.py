"""Work moved out of rolled loops as one batched operation over every iteration (the model: the
"push out" rewrites of a scan): what a body computes from the sequences it reads at the index alone is
computed before the loop for all rows at once (``U @ x[t] + b`` for every ``t`` is one ``x @ U.T + b``,
read as its row ``t`` inside), and an adjoint accumulated over the iterations (``dW += np.outer(dz, h)``)
is one matrix product after the loop (``dzs.T @ hs[:-1]``) of the values stored per iteration.

:class:`Batcher` gives a body node's batched form: an array with one row per iteration, in index order,
built outside the loop from the loop's inputs. :func:`hoist_loop_work` and :func:`push_out_accumulations`
and :func:`symdiff.rewrite.loop_accumulate.push_out_accumulations` are the passes (listed in
:data:`symdiff.rewrite.simplify.PASSES`).
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..ir.graph import ARG, Graph, Node, rebuild, toposort, with_inputs
from ..ir.primitives import elementwise, gather, input_node, reshape, transpose
from ..ir.primitives.linalg import matmul
from ..ir.primitives.index import arange
from ..ir.primitives.loop import LoopBody
from ..ir.primitives.shape import slice_axis


def _offset(node: Node, index: Node) -> int | None:
    """``c`` when ``node`` is the index plus the integer ``c``."""
    if node is index:
        return 0
    if node.op == "elementwise" and len(node.inputs) == 1 and node.inputs[0] is index:
        rest = sp.expand(node.expr - ARG[0])
        if rest.is_Integer:
            return int(rest)
    return None


def _literal(node: Node) -> bool:
    if node.op == "broadcast_to":
        node = node.inputs[0]
    return node.op == "elementwise" and not node.inputs


class Batcher:
    """Batched forms of the nodes of one loop's body. ``outer``: the node outside standing for each
    invariant placeholder. A node is *per step* when it depends on the index, *carried* when it depends
    on a carried value (those have no batched form before the loop runs)."""

    def __init__(self, loop: Node, stacks: dict[int, Node] | None = None):
        body: LoopBody = loop.param("body")
        self.stacks = stacks or {}  # body nodes whose every value the loop stores: their rows
        self.body, self.loop = body, loop
        k = body.carry_count
        self.outer = {id(p): o for p, o in zip(body.invariants, loop.inputs[k:])}
        self.order = toposort(list(body.graph.outputs))
        self.carried: set[int] = {id(c) for c in body.carried}
        self.step: set[int] = {id(body.index)}
        for node in self.order:
            if any(id(i) in self.carried for i in node.inputs):
                self.carried.add(id(node))
            if any(id(i) in self.step for i in node.inputs):
                self.step.add(id(node))
        self.done: dict[int, Node | None] = {}
        self.moved: dict[int, Node] = {}

    def per_step(self, node: Node) -> bool:
        return id(node) in self.step and id(node) not in self.carried

    def outside(self, node: Node) -> Node | None:
        """A node depending on neither the index nor a carried value, built from the loop's inputs."""
        if id(node) in self.step or id(node) in self.carried:
            return None
        if id(node) in self.outer:
            return self.outer[id(node)]
        if id(node) not in self.moved:
            if any(n is self.body.index or id(n) in self.carried for n in node.inputs):
                return None
            self.moved[id(node)] = rebuild([node], lambda n, i: self.outer.get(id(n)) or with_inputs(n, i))[0]
        return self.moved[id(node)]

    def rows(self, seq: Node, offset: int) -> Node | None:
        """The rows of ``seq`` the loop reads at ``t + offset``, for every ``t``, in order."""
        body = self.body
        lo = body.start + offset
        hi = lo + body.count
        lo, hi = sp.sympify(lo), sp.sympify(hi)
        if seq.ndim == 0 or not lo.is_nonnegative:
            return None  # (a read before the first row: NumPy's wrap-around, not a slice)
        if sp.sympify(seq.shape[0] - hi).is_nonnegative:
            return slice_axis(seq, 0, lo, hi)
        # (rows of a sequence whose length is read at run time: indexed, so a short one raises as the loop did)
        rows = arange(body.count) if lo == 0 else elementwise(ARG[0] + lo, (arange(body.count),), dtype="int64")
        return gather(seq, (("array", 0),), [rows], (body.count, *seq.shape[1:]))

    def batch(self, node: Node) -> Node | None:
        """``node``'s value at every iteration, one row each (None when it has no batched form). A node
        reading carried values has one only where they are stored (``stacks``): after the loop."""
        if id(node) in self.stacks:
            return self.stacks[id(node)]
        if id(node) in self.done:
            return self.done[id(node)]
        self.done[id(node)] = None  # (cycles cannot happen; this marks work in progress)
        varies = id(node) in self.step or id(node) in self.carried
        self.done[id(node)] = out = self._batch(node) if varies and node.op != "input" else None
        return out

    def _operand(self, node: Node) -> tuple[Node, bool] | None:
        """A batched operand (True) or one the same at every iteration (False)."""
        if id(node) in self.step or id(node) in self.carried:
            b = self.batch(node)
            return None if b is None else (b, True)
        if _literal(node):
            return node, False
        o = self.outside(node)
        return None if o is None else (o, False)

    def _batch(self, node: Node) -> Node | None:
        body = self.body
        count = body.count
        if node.op == "gather" and node.param("index") == (("array", 0),) and len(node.inputs) == 2:
            offset = _offset(node.inputs[1], body.index)
            seq = self.outside(node.inputs[0])
            return None if offset is None or seq is None else self.rows(seq, offset)
        if node.op == "elementwise" and node.dtype not in ("bool", "int64") and node.inputs:
            inputs = []
            for i in node.inputs:
                got = self._operand(i)
                if got is None or i.dtype in ("bool", "int64"):
                    return None
                b, batched = got
                if batched and i.ndim < node.ndim:  # the row axis in front of NumPy's broadcasting
                    b = reshape(b, (count, *(sp.Integer(1),) * (node.ndim - i.ndim), *i.shape))
                inputs.append(b)
            return elementwise(node.expr, inputs, shape=(count, *node.shape), dtype=node.dtype, origin=node.origin)
        if node.op == "matmul":
            a, b = node.inputs
            ga, gb = self._operand(a), self._operand(b)
            if ga is None or gb is None:
                return None
            if gb[1] and not ga[1] and a.ndim == 2 and b.ndim == 1:  # A @ v[t] for every t: V @ A.T
                return matmul(gb[0], transpose(ga[0]), node.origin)
            if ga[1] and not gb[1] and a.ndim == 1 and b.ndim == 2:  # v[t] @ A: V @ A
                return matmul(ga[0], gb[0], node.origin)
        if node.op == "contract" and len(node.inputs) == 2:
            ga, gb = self._operand(node.inputs[0]), self._operand(node.inputs[1])
            if ga is None or gb is None:
                return None
            (a, b), out = node.param("subscripts").split("->")[0].split(","), node.param("subscripts").split("->")[1]
            z = next(c for c in "zyxwvutsrq" if c not in a + b)
            spec = f"{z + a if ga[1] else a},{z + b if gb[1] else b}->{z + out}"
            return Node("contract", (ga[0], gb[0]), (count, *node.shape), params=(("subscripts", spec),),
                        dtype=node.dtype, origin=node.origin)
        return None


def _with_body(loop: Node, body: LoopBody, extra: list[Node]) -> Node:
    return Node("loop", (*loop.inputs, *extra), (), params=(("body", body),), origin=loop.origin)


def _at(body: LoopBody) -> Node:
    """The row of the current iteration: the index less the loop's start."""
    return body.index if body.start == 0 else elementwise(ARG[0] - body.start, (body.index,), dtype="int64")


# ---------------------------------------------------------------- hoisting -----------------------

def _split(node: Node, old: Node, bt: Batcher) -> Node:
    """An elementwise node reading carried values, with each part of its expression that reads only
    values of the iteration (and constants) made a node of its own, which :func:`hoist_loop_work` then
    batches: ``tanh(W @ h + u[t] + b)`` -> ``tanh(W @ h + v)``, ``v = u[t] + b``. (``old``: the node
    before the rebuild, whose inputs ``bt`` knows.)"""
    if node.op != "elementwise" or node.dtype in ("bool", "int64"):
        return node
    carried = {ARG[i] for i, x in enumerate(old.inputs) if id(x) in bt.carried}
    step = {ARG[i] for i, x in enumerate(old.inputs) if bt.per_step(x) and x.dtype not in ("bool", "int64")}
    if not carried or not step:
        return node
    parts: list[Node] = []

    def part(e: sp.Expr) -> sp.Expr:
        used = sorted(e.free_symbols, key=lambda s: int(s.name[2:]))
        local = e.xreplace({s: ARG[j] for j, s in enumerate(used)})
        parts.append(elementwise(local, [node.inputs[int(s.name[2:])] for s in used], dtype=node.dtype,
                                 origin=node.origin))
        return sp.Symbol(f"_p{len(parts) - 1}", real=True)

    floats = {ARG[i] for i, x in enumerate(old.inputs) if x.dtype not in ("bool", "int64")}

    def movable(e: sp.Expr) -> bool:  # (a number-valued part over numbers: never a condition)
        return bool(e.free_symbols & step) and not e.is_Symbol and isinstance(e, sp.Expr) \
            and not isinstance(e, (sp.logic.boolalg.Boolean, sp.core.relational.Relational)) \
            and e.free_symbols <= floats

    def walk(e: sp.Expr) -> sp.Expr:
        if not e.free_symbols & carried:
            return part(e) if movable(e) else e
        if e.is_Add or e.is_Mul:
            rest = [a for a in e.args if not a.free_symbols & carried]
            args = [walk(a) for a in e.args if a.free_symbols & carried]
            if rest:
                group = e.func(*rest)
                args.append(part(group) if movable(group) else group)
            return e.func(*args)
        return e.func(*(walk(a) for a in e.args)) if e.args else e
    expr = walk(node.expr)
    if not parts:
        return node
    keep = sorted((s for s in expr.free_symbols if s.name.startswith("_a")), key=lambda s: int(s.name[2:]))
    mapping = {s: ARG[j] for j, s in enumerate(keep)}
    mapping.update({sp.Symbol(f"_p{j}", real=True): ARG[len(keep) + j] for j in range(len(parts))})
    inputs = [node.inputs[int(s.name[2:])] for s in keep] + parts
    return elementwise(expr.xreplace(mapping), inputs, shape=node.shape, dtype=node.dtype, origin=node.origin,
                       name=node.name)


def _hoisted(loop: Node) -> Node | None:
    """``loop`` with its per-iteration work computed before it, batched (None when there is none)."""
    body: LoopBody = loop.param("body")
    if body.until is not None or body.checkpoint is not None:
        return None  # (a while loop's trip count is known only after it; a checkpointed loop prints in segments)
    first = Batcher(loop)
    split = rebuild(list(body.graph.outputs), lambda n, i: _split(with_inputs(n, i), n, first))
    body = body.with_outputs(split)
    bt = Batcher(Node("loop", loop.inputs, (), params=(("body", body),), origin=loop.origin))
    users: dict[int, list[Node]] = {}
    for node in bt.order:
        for i in node.inputs:
            users.setdefault(id(i), []).append(node)
    outs = {id(o) for o in body.graph.outputs}
    chosen = [n for n in bt.order if n.op not in ("gather", "input") and bt.per_step(n)
              and (id(n) in outs or any(id(u) in bt.carried for u in users.get(id(n), ())))
              and bt.batch(n) is not None]
    if not chosen:
        return None
    at = _at(body)
    places: list[Node] = []
    extra: list[Node] = []
    reads: dict[int, Node] = {}
    for node in chosen:
        outer = bt.batch(node)
        assert outer is not None  # (chosen: batchable)
        place = replace(input_node(f"w{len(places)}", outer.shape, -1, outer.dtype), name=None)
        places.append(place)
        extra.append(outer)
        reads[id(node)] = gather(place, (("array", 0),), [at], node.shape, node.origin)
    new = rebuild(list(body.graph.outputs), lambda n, i: reads.get(id(n)) or with_inputs(n, i))
    graph = Graph((*body.graph.inputs, *places), tuple(new))
    new_body = replace(body, graph=graph)
    return _with_body(loop, new_body, extra)


def _per_loop(outputs: list[Node], change) -> list[Node]:
    """``change(loop)`` (a new loop node, or None) for every loop; its results read the new one."""
    if not any(n.op == "loop" for n in toposort(outputs)):
        return outputs

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op == "loop":
            return change(node) or node
        return node
    return rebuild(outputs, fn)


def hoist_loop_work(outputs: list[Node]) -> list[Node]:
    """Work of a loop body that reads the sequences at the index but no carried value (``U @ x[t] + b``,
    ``1 - hs[t + 1]**2``) computed before the loop for every iteration as one batched operation
    (``x @ U.T + b``), its row read inside; parts of an expression too (``tanh(W @ h + U @ x[t] + b)``)."""
    return _per_loop(outputs, _hoisted)
