"""NumPy code of a gradient's loops with ``checkpoint=`` (:mod:`symdiff.ad.checkpoint`). The forward loop
stores its state every ``k`` steps instead of the per-iteration stacks; the reverse loop walks the
segments back, last first: it recomputes the segment's states from its checkpoint into stacks of
``k + 1`` rows, then walks the segment back reading them (rows ``t - lo``)::

    h_ckpt = np.empty(((n_x0 + 99) // 100, n_W1), dtype=np.float64)
    for t in range(n_x0):
        if t % 100 == 0:
            h_ckpt[t // 100] = h
        h = np.tanh(W @ h + U @ x[t] + b)
        ...
    hs = np.empty((101, n_W1), dtype=np.float64)
    for seg in range((n_x0 - 1) // 100, -1, -1):
        lo = seg * 100
        hi = min(lo + 100, n_x0)
        h_1 = h_ckpt[seg]
        for t in range(lo, hi):
            hs[t - lo] = h_1
            h_1 = np.tanh(W @ h_1 + U @ x[t] + b)
        hs[hi - lo] = h_1
        for t in range(hi - 1, lo - 1, -1):
            ...

The forward loop leaves its stacks to the reverse loop, which names them as it fills them.
"""
from __future__ import annotations

import math

import sympy as sp

from ....ir.graph import Graph, Node, toposort
from ....ir.primitives import input_node
from ....ir.primitives.loop import LoopBody
from .loop import LOOP_OPS, emit_loop, loop_block, loop_parts, stack_shape


def _needed(body: LoopBody) -> list[int]:
    """The carried values the stored ones depend on, and those their updates depend on: what a segment
    recomputes from its checkpoint (the others, a running loss say, are not recomputed)."""
    deps = body.carried_dependencies()
    need = set().union(*(deps[id(s)] for s in body.stored)) if body.stored else set()
    todo = list(need)
    while todo:
        for j in deps[id(body.updates[todo.pop()])] - need:
            need.add(j)
            todo.append(j)
    return sorted(need)


def _segment(p, body: LoopBody) -> str:
    """The segment length as code: the int given, or ``isqrt`` of the trip count (a statement first when
    the count is read at run time)."""
    setting = body.checkpoint
    if setting != "sqrt":
        return str(setting)
    if body.count.is_Integer:
        return str(max(math.isqrt(int(body.count)), 1))
    name = p.namer.fresh("seg_len")
    p.__dict__.setdefault("segment_lines", []).append(f"{name} = max(int(np.sqrt({p.size(body.count)})), 1)")
    return name


def _rel(p, index: str, start: sp.Expr) -> str:
    return index if start == 0 else f"({index} - {p.size(start)})"


def emit_forward(node: Node, p, uses: dict[int, int]) -> list[str]:
    """The forward loop: the carried state saved every ``k`` steps; the stacks only named."""
    body: LoopBody = node.param("body")
    parts = loop_parts(node, p, uses, store=False, stack_names=[""] * len(body.stored))  # (named by the segments)
    p.__dict__["segment_lines"] = []
    k = _segment(p, body)
    lines = p.__dict__.pop("segment_lines") + list(parts.setup)
    if k.isdigit():
        rows = str(-(-int(body.count) // int(k))) if body.count.is_Integer else \
            f"({p.size(body.count + int(k) - 1)}) // {k}"
    else:
        rows = f"({p.size(body.count - 1)} + {k}) // {k}"
    saved = []
    for j in _needed(body):
        name = p.namer.fresh(f"{parts.names[j]}_ckpt")
        c = body.carried[j]
        lines.append(f"{name} = np.empty({stack_shape(p, rows, c.shape)}, dtype=np.{c.dtype})")
        saved.append((j, name))
    rel = _rel(p, parts.index, body.start)
    if saved:
        parts.inner[:0] = [f"if {rel} % {k} == 0:"] + [f"    {name}[{rel} // {k}] = {parts.names[j]}"
                                                        for j, name in saved]
    lines += loop_block(parts, _range(p, body), "")
    p.__dict__.setdefault("checkpoints", {})[id(node)] = (k, saved, parts.names)
    return lines


def _range(p, body: LoopBody) -> str:
    start, count = body.start, body.count
    return f"range({p.size(count)})" if start == 0 else f"range({p.size(start)}, {p.size(start + count)})"


def emit_reverse(node: Node, p, uses: dict[int, int]) -> list[str]:
    """The reverse loop in segments: recompute each segment's stacks from its checkpoint, walk it back."""
    body: LoopBody = node.param("body")
    k_in = body.carry_count
    lo_node = next((i for i in node.inputs[k_in:] if i.op == "segment_start"), None)
    forward = next((i.inputs[0] for i in node.inputs[k_in:] if i.op == "loop_out"
                    and id(i.inputs[0]) in p.__dict__.get("checkpoints", {})), None)
    lo = p.code[id(lo_node)] if lo_node is not None else None
    if forward is None:  # nothing stored (or no checkpointed forward loop): walked back as usual
        return ([f"{lo} = {p.size(body.start)}"] if lo else []) + emit_loop(node, p, uses)
    fbody: LoopBody = forward.param("body")
    k, saved, carried_names = p.checkpoints[id(forward)]
    need = [j for j, _ in saved]
    # the segment's recomputation: a loop over the forward body, its carried values from the checkpoints
    for n in toposort(list(fbody.graph.outputs)):
        if n.op != "input":
            p.code.pop(id(n), None)
    starts = [input_node(f"_checkpoint{j}", fbody.carried[j].shape, -1, fbody.carried[j].dtype) for j in need]
    seg = p.namer.fresh("seg")
    for (j, name), init in zip(saved, starts):
        p.code[id(init)] = f"{name}[{seg}]"
    inputs = (fbody.index, *(fbody.carried[j] for j in need), *fbody.invariants)
    again = LoopBody(Graph(inputs, (*(fbody.updates[j] for j in need), *fbody.stored)), len(need), fbody.start,
                     fbody.count, origin=fbody.origin)
    recompute = Node("loop", (*starts, *forward.inputs[fbody.carry_count:]), (), params=(("body", again),))
    lines: list[str] = []
    if lo is None:
        lo = p.namer.fresh("lo")
    hi = p.namer.fresh("hi")
    position = {id(c): j for j, c in enumerate(fbody.carried)}  # (a carried value's stack: hs, as without)
    names = [p.namer.fresh(f"{carried_names[position[id(s)]]}s") if id(s) in position else None
             for s in fbody.stored]
    parts_r = loop_parts(recompute, p, uses, stack_names=names)
    for i in node.inputs[k_in:]:  # the reverse loop reads the segment's stacks
        if i.op == "loop_out" and i.inputs[0] is forward and i.param("k") >= fbody.carry_count:
            p.code[id(i)] = parts_r.stacks[i.param("k") - fbody.carry_count][0]
    parts_b = loop_parts(node, p, uses)
    lines += parts_b.setup
    for name, s, carried in parts_r.stacks:
        rows = (str(int(k) + 1) if k.isdigit() else f"{k} + 1") if carried else k
        lines.append(f"{name} = np.empty({stack_shape(p, rows, s.shape)}, "
                     f"dtype=np.{s.dtype})")
    start, end = fbody.start, fbody.start + fbody.count
    first = str((int(fbody.count) - 1) // int(k)) if fbody.count.is_Integer and k.isdigit() else \
        f"({p.size(fbody.count - 1)}) // {k}"
    segment = [f"{lo} = {seg} * {k}" if start == 0 else f"{lo} = {p.size(start)} + {seg} * {k}",
               f"{hi} = min({lo} + {k}, {p.size(end)})"]
    segment += parts_r.setup
    segment += loop_block(parts_r, f"range({lo}, {hi})", f"{parts_r.index} - {lo}")
    segment += [f"{stack}[{hi} - {lo}] = {code}" for stack, code, top in parts_r.stores if top]
    segment += loop_block(parts_b, f"range({hi} - 1, {lo} - 1, -1)", "")
    lines.append(f"for {seg} in range({first}, -1, -1):")
    lines += ["    " + line for line in segment]
    return lines


def _emit_segment_start(node: Node, p, uses: dict[int, int]) -> list[str]:
    p.code[id(node)] = p.namer.fresh("lo")  # bound by the reverse loop's segments
    return []


def emit_checkpointed(node: Node, p, uses: dict[int, int]) -> list[str]:
    body: LoopBody = node.param("body")
    if body.checkpoint is None:  # (a loop made from a checkpointed one, a JVP's: its rows start at the loop's)
        starts = [i for i in node.inputs[body.carry_count:] if i.op == "segment_start"]
        return [f"{p.code[id(i)]} = {p.size(i.param('start'))}" for i in starts] + emit_loop(node, p, uses)
    if body.reverse:
        return emit_reverse(node, p, uses)
    return emit_forward(node, p, uses) if body.stored else emit_loop(node, p, uses)


LOOP_OPS["loop"] = emit_checkpointed
LOOP_OPS["segment_start"] = _emit_segment_start
