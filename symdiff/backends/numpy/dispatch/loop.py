"""NumPy code of a rolled loop (:mod:`symdiff.ir.primitives.loop`): a ``for`` statement whose body is
the body graph's statements, printed by the same printer (so its names never clash with the
function's), indented::

    hs = np.empty((n_x0, n_h), dtype=np.float64)
    for t in range(n_x0):
        hs[t] = h
        # h = np.tanh(W @ h + U @ x[t] + b)
        h = np.tanh(W @ h + U @ x[t] + b)
        ...

A carried variable keeps the user's name and is rebound where the user's line binds it; when a later
statement of the body would read its old value, the new values get names of their own and are
bound together at the end of the body. A sequence's adjoint is added in place (``dx[t] += dz``);
a reverse loop runs ``for t in range(n - 1, -1, -1)``. ``LOOP_OPS`` are the ops the printer hands here
whole (a loop node and its results) instead of asking for an expression.
"""
from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass

from ....ir.graph import Node, toposort
from .table import EMIT


class Rebound(Exception):
    """A statement would read a carried variable's old value after its new value was bound."""


def _zero(node: Node) -> bool:
    if node.op == "broadcast_to":
        node = node.inputs[0]
    return node.op == "elementwise" and not node.inputs and node.expr == 0


def _chain(update: Node, carried: Node, others: list[Node]) -> list[Node] | None:
    """The ``add_at`` nodes of an accumulated sequence adjoint (``acc[i] += v``, innermost first), when
    ``update`` is such a chain on ``carried`` that nothing else of the body returns."""
    chain = []
    node = update
    while node.op == "add_at":
        chain.append(node)
        node = node.inputs[0]
    if not chain or node is not carried or any(o is carried for o in others):
        return None
    return chain[::-1]


def _range(body, p) -> str:
    start, count = body.start, body.count
    if body.reverse:
        return f"range({p.size(start + count - 1)}, {p.size(start - 1)}, -1)"
    return f"range({p.size(count)})" if start == 0 else f"range({p.size(start)}, {p.size(start + count)})"


def _index_name(p, hint: str) -> str:
    free = p.__dict__.setdefault("free_indices", set())
    if hint in free:
        free.discard(hint)
        return hint
    return p.namer.fresh(hint)


def grouped(outputs: list[Node]) -> list[Node]:
    """A topological order of the nodes computing ``outputs`` that takes, whenever it can, a node of the
    same source line as the statement before: a body that evaluates one line at several places (an ODE
    step calling the right-hand side at every stage) prints each run of that line under one comment
    instead of one comment per statement."""
    order = toposort(outputs)
    position = {id(n): k for k, n in enumerate(order)}
    waiting = {id(n): len({id(i) for i in n.inputs}) for n in order}
    users: dict[int, list[Node]] = {}
    for n in order:
        for i in {id(i): i for i in n.inputs}.values():
            users.setdefault(id(i), []).append(n)
    counts: dict[int, int] = {}
    for n in order:
        for i in n.inputs:
            counts[id(i)] = counts.get(id(i), 0) + 1
    ready = [(0, k) for k, n in enumerate(order) if not waiting[id(n)]]
    heapq.heapify(ready)
    out: list[Node] = []
    last = None
    while ready:
        free = [e for e in ready if order[e[1]].origin is None]  # (inputs, literals: no statement)
        same = free or [e for e in ready if last is not None and order[e[1]].origin == last]
        entry = min(same) if same else ready[0]
        ready.remove(entry)
        heapq.heapify(ready)
        n = order[entry[1]]
        out.append(n)
        printed = n.origin is not None and (n.name is not None or counts.get(id(n), 0) != 1)
        if printed:  # (a node read once is written into its reader's line: it prints no comment)
            last = n.origin
        for u in users.get(id(n), ()):
            waiting[id(u)] -= 1
            if not waiting[id(u)]:
                heapq.heappush(ready, (0, position[id(u)]))
    return out


def _body_statements(p, wanted, forced, carried, updates, chains):
    """The body's statements, and the carried values bound where the user's lines bind them (``forced``);
    where a statement would read an old value after its new one is bound, the new values named apart."""
    saved = (copy.deepcopy(p.namer), dict(p.code), p.last_origin)
    rebinds = {var for u, var in forced.items()}
    try:
        inner = p.statements(wanted, {}, forced, carried, grouped(wanted))
        if any(id(u) in carried and carried[id(u)] in rebinds for j, u in enumerate(updates) if chains[j] is None
               and id(u) not in forced):  # (a, b = b, a + b: a's new value is b's old one)
            raise Rebound()
    except Rebound:  # new values named apart, bound together at the end
        p.namer, p.code, p.last_origin = copy.deepcopy(saved[0]), dict(saved[1]), saved[2]
        forced = {}
        inner = p.statements(wanted, {}, forced, carried, grouped(wanted))
    return inner, forced


@dataclass
class LoopParts:
    """A loop's code in pieces, for :func:`assemble` (or the segments of ``checkpoint=``, which assemble
    them otherwise): the carried variables' set-up, the stacks, the body's statements and what binds or
    stores at its top and end."""

    setup: list[str]
    names: list[str]  # the carried variables
    index: str
    stacks: list[tuple[str, Node, bool]]  # (name, stored node, is a carried value: one more row)
    inner: list[str]
    tail: list[str]  # after the stores: accumulated sequence adjoints, the carried values bound together
    stores: list[tuple[str, str, bool]]  # (stack, code of the stored value, stored at the top)


def loop_parts(node: Node, p, uses: dict[int, int], store: bool = True,
               stack_names: list[str | None] | None = None) -> LoopParts:
    """The pieces of ``node``'s code; ``store=False``: the stored values are named but not computed (a
    checkpointed forward loop: its segments recompute them); ``stack_names``: the stacks' names (None:
    named after what they hold)."""
    body = node.param("body")
    k = body.carry_count
    graph = body.graph
    setup: list[str] = []
    updates, stored = list(body.updates), list(body.stored)
    chains = {j: _chain(u, body.carried[j], [o for i, o in enumerate(graph.outputs) if i != j])
              for j, u in enumerate(updates)}
    names: list[str] = []
    for j, (inp, init) in enumerate(zip(body.carried, node.inputs[:k])):
        code = p.code[id(init)]
        hint = inp.param("name")
        if _zero(init):  # (a fresh array: an accumulated adjoint is added into it in place)
            var = p.namer.fresh(hint)
            setup.append(f"{var} = np.zeros({p.shape(init.shape)}, dtype=np.{init.dtype})")
        elif chains[j] is not None:
            var = p.namer.fresh(hint)
            setup.append(f"{var} = np.array({code}, dtype=np.{init.dtype})")
        elif code == hint and uses.get(id(init), 0) == 1 and code not in names:
            var = code  # the initial value's variable, not read again: the loop's own
        else:
            var = p.namer.fresh(hint)
            setup.append(f"{var} = {code}")
        names.append(var)
    index = _index_name(p, body.index.param("name"))
    p.code[id(body.index)] = index
    for inp, var in zip(body.carried, names):
        p.code[id(inp)] = var
    for inp, outer in zip(body.invariants, node.inputs[k:]):
        p.code[id(inp)] = p.code[id(outer)]
    carried = {id(inp): var for inp, var in zip(body.carried, names)}
    wanted = [u for j, u in enumerate(updates) if chains[j] is None] + (stored if store else [])
    wanted += [n for c in chains.values() if c for a in c for n in (a.inputs[1], a.inputs[2])]
    own = {id(n) for n in graph.inputs}
    forced: dict[int, str] = {}
    for j, u in enumerate(updates):
        if chains[j] is None and id(u) not in own and id(u) not in forced:
            forced[id(u)] = names[j]
    depth = p.__dict__.setdefault("loop_depth", 0) + 1
    width = p.__dict__.get("comment_width")
    p.loop_depth, p.comment_width = depth, 100 - 4 - 4 * depth - 2  # (the function's and the loops' indents, "# ")
    p.last_origin = None  # (the body's first statement says which line it is, as the loop is read alone)
    try:
        inner, forced = _body_statements(p, wanted, forced, carried, updates, chains)
    finally:
        p.loop_depth, p.comment_width = depth - 1, width
    stack_names = list(stack_names or [None] * len(stored))
    for i in sorted(range(len(stored)), key=lambda i: id(stored[i]) not in carried):
        if stack_names[i] is None:  # named after what they hold (hs: every h)
            code = p.code.get(id(stored[i])) or stored[i].name or ""
            stack_names[i] = p.namer.fresh(f"{code}s" if code.isidentifier() else None)
    named = [name for name in stack_names if name is not None]  # (every one is named by now)
    assert len(named) == len(stored)
    stacks = [(name, s, id(s) in carried) for s, name in zip(stored, named)]
    stores = [(name, p.code[id(s)], id(s) in carried) for name, s, _ in stacks] if store else []
    tail = []
    for j, chain in chains.items():
        for a in chain or ():
            tail.append(f"{names[j]}[{p.code[id(a.inputs[2])]}] += {p.code[id(a.inputs[1])]}")
    pending = [(names[j], p.code[id(u)]) for j, u in enumerate(updates)
               if chains[j] is None and id(u) not in forced and p.code[id(u)] != names[j]]
    if pending:
        tail.append(f"{', '.join(v for v, _ in pending)} = {', '.join(c for _, c in pending)}")
    p.__dict__.setdefault("free_indices", set()).add(index)
    p.__dict__.setdefault("loop_names", {})[id(node)] = names + named
    return LoopParts(setup, names, index, stacks, inner, tail, stores)


def loop_block(parts: LoopParts, range_text: str, at: str) -> list[str]:
    """The ``for`` statement: the stores at the top (a carried value's, before it changes) and end."""
    top = [f"{stack}[{at}] = {code}" for stack, code, first in parts.stores if first]
    end = [f"{stack}[{at}] = {code}" for stack, code, first in parts.stores if not first]
    block = top + parts.inner + end + parts.tail or ["pass"]
    return [f"for {parts.index} in {range_text}:"] + ["    " + line for line in block]


def stack_shape(p, rows: str, shape) -> str:
    """The shape ``(rows, *shape)`` as code (``rows`` already code)."""
    return "(" + ", ".join([rows, *(p.size(d) for d in shape)]) + ("," if not shape else "") + ")"


def emit_loop(node: Node, p, uses: dict[int, int]) -> list[str]:
    body = node.param("body")
    parts = loop_parts(node, p, uses)
    lines = list(parts.setup)
    if body.until is not None and not body.reverse:  # a while loop: its stacks grow
        return lines + _while(body, p, parts)
    for name, s, first in parts.stacks:  # (a carried value's: the final value in the last row)
        lines.append(f"{name} = np.empty({p.shape((body.count + 1 if first else body.count, *s.shape))}, "
                     f"dtype=np.{s.dtype})")
    at = parts.index if body.start == 0 else f"{parts.index} - {p.size(body.start)}"
    lines += loop_block(parts, _range(body, p), at)
    lines += [f"{stack}[{p.size(body.count)}] = {code}" for stack, code, first in parts.stores if first]
    return lines


def _while(body, p, parts: LoopParts) -> list[str]:
    """A while loop: it counts its iterations into the trip count (the symbol ``body.count``, which the
    reverse loop runs over) and appends to its stacks, made arrays after it."""
    index = parts.index
    lines = [f"{name} = []" for name, _, _ in parts.stacks]
    top = [f"{stack}.append({code})" for stack, code, first in parts.stores if first]
    end = [f"{stack}.append({code})" for stack, code, first in parts.stores if not first]
    block = top + parts.inner + end + parts.tail
    lines += [f"{index} = 0", f"while {parts.names[body.until]}:", *("    " + line for line in block),
              f"    {index} += 1"]
    count = p.size_names[body.count] = p.namer.fresh("n_iter")
    lines.append(f"{count} = {index}")
    for (name, n, first), (_, code, _) in zip(parts.stacks, parts.stores):
        if first:
            lines.append(f"{name}.append({code})")
        rows = body.count + 1 if first else body.count
        lines.append(f"{name} = np.array({name}, dtype=np.{n.dtype}).reshape({p.shape((rows, *n.shape))})")
    return lines


def emit_loop_out(node: Node, p, uses: dict[int, int]) -> list[str]:
    p.code[id(node)] = p.loop_names[id(node.inputs[0])][node.param("k")]
    return []


#: Ops printed whole, as statements: ``op -> fn(node, printer, uses)`` returning the lines.
LOOP_OPS = {"loop": emit_loop, "loop_out": emit_loop_out}


def _emit_add_at(node: Node, a: list[str], p) -> list[str]:
    return [f"{{name}} = np.array({a[0]})", f"{{name}}[{a[2]}] += {a[1]}"]


EMIT["add_at"] = _emit_add_at
