"""NumPy code of the primitives of :mod:`symdiff.ir.primitives.index`:
gathers, scatters, assignments and arg-reductions.

``emit(node, args, printer)`` returns the expression (or statements) computing ``node`` from its
arguments' code."""
from __future__ import annotations

import sympy as sp

from ....ir.graph import Node, toposort
from ....ir.primitives.index import mask_sizes
from .table import EMIT


def index_parts(index: tuple, arrays: list[str]) -> list[str]:
    """Each item of the index as code (``None``, ``...``, ``1:-1``, an integer), ``arrays`` naming its
    index arrays and masks: what every backend's indexing is written from."""
    parts = []
    for item in index:
        if item is None:
            parts.append("None")
        elif item is Ellipsis:
            parts.append("...")
        elif isinstance(item, tuple) and item[0] in ("array", "mask"):
            parts.append(arrays[item[1]])
        elif isinstance(item, tuple):
            start, stop, step = item[1:]
            s = f"{'' if start is None else start}:{'' if stop is None else stop}"
            parts.append(s + (f":{step}" if step not in (None, 1) else ""))
        else:
            parts.append(str(item))
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return parts


def format_index(index: tuple, arrays: list[str]) -> str:
    """The index as NumPy code, ``arrays`` naming its index arrays."""
    return ", ".join(index_parts(index, arrays)) or "..."


def _emit_gather(node: Node, a: list[str], p) -> str:
    return f"{p.paren(a[0], '[')}[{format_index(node.param('index'), a[1:])}]"


def _emit_scatter_add(node: Node, a: list[str], p) -> list[str]:
    """Zeros, then ``g`` placed at the index (``dlogp[np.arange(n), y] = -1/n``), or added there with
    ``np.add.at`` when an index may repeat an element. A ``g`` that is a number broadcast to the index's
    shape is written as the number: the assignment broadcasts it."""
    g, value = node.inputs[0], a[0]
    if g.op == "broadcast_to" and g.inputs[0].ndim == 0 and id(g.inputs[0]) in p.code:
        value = p.code[id(g.inputs[0])]
    dtype = "" if node.dtype == "float64" else f", dtype=np.{node.dtype}"
    index = format_index(node.param("index"), a[1:])
    lines = [f"{{name}} = np.zeros({p.shape(node.shape)}{dtype})"]
    if node.param("unique"):
        return lines + [f"{{name}}[{index}] = {value}"]
    plain = all(isinstance(item, tuple) and item[0] == "array" for item in node.param("index"))
    where = (index if len(node.param("index")) == 1 else f"({index})") if plain else f"np.s_[{index}]"
    return lines + [f"np.add.at({{name}}, {where}, {value})"]


def _emit_setitem(node: Node, a: list[str], p) -> str:
    return p.helper_call_code("_updated", [a[0], f"np.s_[{format_index(node.param('index'), a[2:])}]", a[1]])


def _emit_argreduce(node: Node, a: list[str], p) -> str:
    axis = node.param("axis")
    return f"np.{node.param('op')}({a[0]}{'' if axis is None else f', axis={axis}'})"


def _emit_arange(node: Node, a: list[str], p) -> str:
    return f"np.arange({p.size(node.shape[0])})"


def _emit_nonzero(node: Node, a: list[str], p) -> str:
    if node.inputs[0].ndim == 1:
        return f"np.flatnonzero({a[0]})"
    return f"np.nonzero({a[0]})[{node.param('axis')}]"


EMIT.update({
    'nonzero': _emit_nonzero,
    'arange': _emit_arange,
    'gather': _emit_gather,
    'scatter_add': _emit_scatter_add,
    'setitem': _emit_setitem,
    'argreduce': _emit_argreduce,
})


# ---------------------------------------------------------------- sizes known only at run time ----

def runtime_sources(order: list[Node]) -> dict[sp.Symbol, Node]:
    """Each size known only at run time among ``order`` (how many elements a mask picks) and its mask."""
    sources: dict[sp.Symbol, Node] = {}
    for node in order:
        for size, mask in mask_sizes(node):
            sources.setdefault(size, mask)
    return sources


def _symbols(node: Node, wanted: dict) -> list[sp.Symbol]:
    found: set = set()
    for d in node.shape:
        found |= d.free_symbols
    if node.expr is not None:
        found |= node.expr.free_symbols
    stack = [v for _, v in node.params]
    while stack:
        v = stack.pop()
        if isinstance(v, tuple):
            stack.extend(v)
        elif isinstance(v, sp.Basic):
            found |= v.free_symbols
    return [s for s in found if s in wanted]


def after_masks(order: list[Node], sources: dict[sp.Symbol, Node]) -> list[Node]:
    """``order`` with every node that needs a size known only at run time placed after the mask that
    size counts (the code reads it as ``np.count_nonzero(mask)``)."""
    if not sources:
        return order
    placed: set[int] = set()
    out: list[Node] = []

    def place(node: Node) -> None:
        for a in toposort([node]):
            if id(a) in placed:
                continue
            for s in _symbols(a, sources):
                if sources[s] is not a and id(sources[s]) not in placed:
                    place(sources[s])
            placed.add(id(a))
            out.append(a)

    for node in order:
        if id(node) not in placed:
            for s in _symbols(node, sources):
                if id(sources[s]) not in placed:
                    place(sources[s])
            placed.add(id(node))
            out.append(node)
    return out


def needs_sizes(order: list[Node], sources: dict[sp.Symbol, Node]) -> set[sp.Symbol]:
    """The sizes known only at run time some node of ``order`` prints."""
    return {s for node in order for s in _symbols(node, sources)} if sources else set()
