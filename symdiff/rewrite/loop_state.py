"""A short vector a loop carries, carried as its scalars when the body only takes it apart and puts it
back together (the state of an ODE step written ``np.array([f0(y[0], y[1]), f1(...), ...])``).

Traced as written, each iteration of such a body assembles the vector (``np.array([...])``, a
concatenation) and takes it apart (``y[0]``, ``y[1]``) once per stage, and its adjoint scatters into
zeros and slices back as many times. :func:`unstack_carries` rewrites the loop before it is
differentiated so that it carries ``y_0, y_1, y_2``: every elementwise operation on the vector becomes
one per component, ``y[1]`` is ``y_1``, and the vector is assembled once, after the loop. It applies
only when every vector of the body computed from the carried one has such a form (no matrix product,
reduction or run-time index reads it whole); otherwise the loop stays as it was.
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..ir.graph import Graph, Node, rebuild, toposort, with_inputs
from ..ir.primitives import elementwise, gather, getitem, input_node, reshape
from ..ir.primitives.loop import LoopBody, loop_out, make_loop
from ..ir.primitives.shape import concatenate

#: Longest vector carried as scalars (each elementwise operation on it becomes this many lines).
MAX_COMPONENTS = 8


def _length(node: Node) -> int | None:
    if node.ndim == 1 and node.shape[0].is_Integer and 1 <= int(node.shape[0]) <= MAX_COMPONENTS \
            and node.dtype in ("float64", "float32"):
        return int(node.shape[0])
    return None


def _literal(node: Node) -> Node | None:
    """The scalar a constant-valued vector holds everywhere (a broadcast literal), else None."""
    if node.op == "broadcast_to" and node.inputs[0].ndim == 0:
        inner = node.inputs[0]
        if inner.op == "elementwise" and not inner.inputs:
            return inner
    return None


class _Unstacked:
    """The body rewritten over scalar components: ``parts[id]`` the components of a vector node,
    ``new[id]`` the rewritten node of any other; None from :meth:`run` when some vector has no
    components (it would be assembled inside the loop)."""

    def __init__(self, loop: Node, split: dict[int, list[Node]]):
        body: LoopBody = loop.param("body")
        self.body = body
        k = body.carry_count
        self.new: dict[int, Node] = {id(p): o for p, o in zip(body.invariants, loop.inputs[k:])}
        self.parts: dict[int, list[Node]] = dict(split)

    def components(self, node: Node) -> list[Node] | None:
        n = _length(node)
        if n is None:
            return None
        if id(node) in self.parts:
            return self.parts[id(node)]
        if node.op == "reshape" and node.inputs[0].ndim == 0 and n == 1:
            return [self.new[id(node.inputs[0])]]
        if node.op == "concatenate" and node.param("axis") == 0:
            out = []
            for x in node.inputs:
                got = self._of(x)
                if got is None:
                    return None
                out += got
            return out
        if (literal := _literal(node)) is not None:
            return [literal] * n
        if node.op == "elementwise":
            per = []
            for x in node.inputs:
                got = [self.new[id(x)]] * n if x.ndim == 0 else self._of(x)
                if got is None or len(got) != n:
                    return None
                per.append(got)
            return [elementwise(node.expr, [p[i] for p in per], shape=(), dtype=node.dtype, origin=node.origin)
                    for i in range(n)]
        return None

    def _of(self, x: Node) -> list[Node] | None:
        """The components of an input: its own, or (a short vector computed whole) its elements."""
        if id(x) in self.parts:
            return self.parts[id(x)]
        n = _length(x)
        if n is None or id(x) not in self.new:
            return None
        return [getitem(self.new[id(x)], (i,), origin=x.origin) for i in range(n)]

    def run(self) -> list[Node | list[Node]] | None:
        """The body's new outputs, a list of components for a carried value split into them (None: the
        body reads a split value whole)."""
        body = self.body
        for node in toposort(list(body.graph.outputs)):
            if id(node) in self.new or id(node) in self.parts:
                continue
            if node.op == "input":
                self.new[id(node)] = node
                continue
            got = self.components(node)
            if got is not None:
                self.parts[id(node)] = got
                continue
            x = node.inputs[0] if node.inputs else None
            index = node.param("index") if node.op == "getitem" else None
            if x is not None and id(x) in self.parts and index is not None and len(index) == 1 \
                    and isinstance(index[0], int) and node.ndim == 0:
                self.new[id(node)] = self.parts[id(x)][index[0]]
                continue
            if any(id(i) in self.parts for i in node.inputs):
                return None  # (a vector read whole: assembled every iteration, no gain)
            self.new[id(node)] = with_inputs(node, tuple(self.new[id(i)] for i in node.inputs))
        return [self.parts.get(id(o)) or self.new[id(o)] for o in body.graph.outputs]


def _unstacked(loop: Node) -> tuple[Node, dict[int, list[int]]] | None:
    """The loop carrying its short vectors' components, and where each old result went."""
    body: LoopBody = loop.param("body")
    k = body.carry_count
    if body.stored or body.reverse or body.until is not None or body.checkpoint is not None:
        return None
    split = {}
    for c in body.carried:
        n = _length(c)
        if n is not None:
            name = c.param("name")
            split[id(c)] = [input_node(f"{name}_{i}", (), -1, c.dtype) for i in range(n)]
    outer = loop.inputs[k:]
    if not split and len({id(o) for o in outer}) == len(outer):
        return None
    outputs = _Unstacked(loop, split).run()
    if outputs is None:
        if len({id(o) for o in outer}) == len(outer):
            return None
        split, outputs = {}, _Unstacked(loop, {}).run()  # (one invariant read twice: one input, one adjoint)
        if outputs is None:
            return None
    carried: list[Node] = []
    inits: list[Node] = []
    updates: list[Node] = []
    names: list[str] = []
    where: dict[int, list[int]] = {}
    for j, (c, init, update) in enumerate(zip(body.carried, loop.inputs[:k], outputs)):
        if id(c) in split:
            if not isinstance(update, list):
                return None
            where[j] = list(range(len(carried), len(carried) + len(update)))
            carried += split[id(c)]
            inits += [getitem(init, (i,), origin=init.origin) for i in range(len(update))]
            updates += update
            names += [p.param("name") for p in split[id(c)]]
        else:
            if isinstance(update, list):
                return None
            where[j] = [len(carried)]
            carried.append(c)
            inits.append(init)
            updates.append(update)
            names.append(c.param("name"))
    new = make_loop(body.index, carried, inits, updates, [], body.start, body.count, body.reverse, body.origin,
                    body.base, names)
    return new, where


def unstack_carries(outputs: list[Node]) -> list[Node]:
    """Before differentiation: a loop carrying a short vector (up to :data:`MAX_COMPONENTS` numbers) that
    its body only indexes by constants and combines elementwise carries its components instead, and the
    vector is assembled once after the loop (see the module docstring). A loop reading one value outside
    through several inputs (``p[0]`` at every stage, merged into one node) reads it through one."""
    if not any(n.op == "loop" for n in toposort(outputs)):
        return outputs
    plans: dict[int, tuple[Node, dict[int, list[int]]]] = {}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op == "loop":
            plan = _unstacked(node)
            if plan is None:
                return node
            plans[id(plan[0])] = plan
            return plan[0]
        if node.op == "loop_out" and id(node.inputs[0]) in plans:
            new, where = plans[id(node.inputs[0])]
            k = node.param("k")
            positions = where[k]
            if len(positions) == 1 and new.param("body").carried[positions[0]].ndim == node.ndim:
                return loop_out(new, positions[0], name=node.name)
            scalars = [loop_out(new, p) for p in positions]
            return concatenate([reshape(s, (sp.Integer(1),)) for s in scalars], 0, node.origin)
        return node
    return rebuild(outputs, fn)


# ---------------------------------------------------------------- recomputing --------------------

#: Most nodes a reverse loop recomputes of its forward loop's body instead of reading them stored.
MAX_RECOMPUTED = 64


def _cheap(node: Node) -> bool:
    return node.op == "elementwise" and node.ndim == 0


def _key(o: Node) -> tuple:
    """Equal for two results of one loop at one position (made apart, they are the same array)."""
    return ("loop_out", id(o.inputs[0]), o.param("k")) if o.op == "loop_out" else (id(o),)


def _recomputed(loop: Node) -> Node | None:
    """The reverse loop ``loop`` computing again the scalars its forward loop stored, from the stored
    carried values (None when it reads none)."""
    body: LoopBody = loop.param("body")
    if not body.reverse or body.checkpoint is not None:
        return None
    k = body.carry_count
    outer = list(loop.inputs[k:])
    at = {id(body.index)}
    plans = {}
    for place, o in zip(body.invariants, outer):
        if o.op != "loop_out" or o.ndim != 1:
            continue
        fwd = o.inputs[0]
        fb: LoopBody = fwd.param("body")
        s = fb.graph.outputs[o.param("k")]
        if o.param("k") < fb.carry_count or any(s is c for c in fb.carried) or fb.reverse or fb.until is not None \
                or (fb.start, fb.count) != (body.start, body.count) or not _cheap(s):
            continue
        plans[id(place)] = (fwd, s)
    if not plans:
        return None
    if body.start != 0:
        return None  # (rows are read at the index itself only when the loops start at 0)
    places = list(body.invariants)
    by_outer = {_key(o): p for p, o in zip(places, outer)}
    rows_at = {id(n.inputs[0]): n for n in toposort(list(body.graph.outputs)) if n.op == "gather"
               and n.param("index") == (("array", 0),) and len(n.inputs) == 2 and n.inputs[1] is body.index}
    extra: list[Node] = []
    clones: dict[tuple[int, int], Node] = {}
    budget = [MAX_RECOMPUTED]

    def placeholder(o: Node) -> Node:
        if _key(o) not in by_outer:
            p = replace(input_node(f"w{len(places)}", o.shape, -1, o.dtype), name=None)
            places.append(p)
            extra.append(o)
            by_outer[_key(o)] = p
        return by_outer[_key(o)]

    def clone(fwd: Node, node: Node) -> Node | None:
        key = (id(fwd), id(node))
        if key in clones:
            return clones[key]
        fb: LoopBody = fwd.param("body")
        fk = fb.carry_count
        if node is fb.index:
            out = body.index
        elif any(node is p for p in fb.invariants):
            out = placeholder(fwd.inputs[fk + next(i for i, p in enumerate(fb.invariants) if p is node)])
        elif any(node is c for c in fb.carried):
            rows = [j for j, x in enumerate(fb.stored) if x is node]
            if not rows:
                return None
            place = placeholder(loop_out(fwd, fk + rows[0]))
            if id(place) not in rows_at:  # (one read of a row per iteration, shared)
                rows_at[id(place)] = gather(place, (("array", 0),), [body.index], node.shape, node.origin)
            out = rows_at[id(place)]
        elif node.op == "elementwise" and not node.inputs:
            out = node
        elif _cheap(node) and budget[0] > 0:
            budget[0] -= 1
            inputs = []
            for i in node.inputs:
                c = clone(fwd, i)
                if c is None:
                    return None
                inputs.append(c)
            out = with_inputs(node, tuple(inputs))
        else:
            return None
        clones[key] = out
        return out

    reads: dict[int, Node] = {}
    for node in toposort(list(body.graph.outputs)):
        if node.op == "gather" and id(node.inputs[0]) in plans and node.param("index") == (("array", 0),) \
                and len(node.inputs) == 2 and node.inputs[1].op == "input" and id(node.inputs[1]) in at:
            fwd, s = plans[id(node.inputs[0])]
            c = clone(fwd, s)
            if c is not None:
                reads[id(node)] = c
    if not reads:
        return None
    new = rebuild(list(body.graph.outputs), lambda n, i: reads.get(id(n)) or with_inputs(n, i))
    graph = Graph((body.index, *body.carried, *places), tuple(new))
    new_body = replace(body, graph=graph, carry_count=k)
    return Node("loop", (*loop.inputs, *extra), (), params=(("body", new_body),), origin=loop.origin)


def recompute_stored(outputs: list[Node]) -> list[Node]:
    """A reverse loop reading scalars its forward loop stored per iteration (the stages of an ODE step)
    computes them again from the stored carried values: a few scalar operations cost less than storing
    and reading each one, and the forward loop keeps one array per carried value (the unread ones are
    then pruned)."""
    if not any(n.op == "loop" for n in toposort(outputs)):
        return outputs

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        return (_recomputed(node) or node) if node.op == "loop" else node
    return rebuild(outputs, fn)
