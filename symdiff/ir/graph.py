"""The intermediate representation: a graph of frozen tensor-level nodes.

Each :class:`Node` is one tensor-valued operation with a (possibly symbolic) shape. Elementwise
arithmetic is a single ``elementwise`` node whose ``expr`` is a SymPy scalar expression over the
placeholders ``ARG[0], ARG[1], ...`` standing for its inputs, so SymPy does the scalar calculus and
simplification; structural operations (matmul, reductions, reshapes, indexing) are nodes of their
own with tensor-level derivative rules (see :mod:`symdiff.ir.primitives.core`). The gradient is just more
nodes of the same kind.

>>> x = Node("input", (), (sp.Integer(3),), params=(("name", "x"), ("index", 0)))
>>> y = Node("elementwise", (x,), x.shape, expr=sp.sin(ARG[0]))
>>> [n.op for n in toposort([y])]
['input', 'elementwise']
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from .shapes import Shape, format_shape
from .text import expr_text

#: Placeholders for the inputs of an elementwise node's expression.
ARG = tuple(sp.Symbol(f"_a{i}", real=True) for i in range(64))


def arg_index(symbol: sp.Symbol) -> int | None:
    name = symbol.name
    if name.startswith("_a") and name[2:].isdigit():
        return int(name[2:])
    return None


@dataclass(frozen=True)
class Origin:
    """Where a node came from in the user's code (``grad``: made by differentiating it)."""

    file: str
    line: int
    text: str
    grad: bool = False

    def as_grad(self) -> "Origin":
        return replace(self, grad=True)


@dataclass(frozen=True, eq=False)
class ConstValue:
    """A NumPy constant array carried by a ``const`` node; compared by content."""

    array: np.ndarray

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.array.tobytes() + str(self.array.shape).encode()).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstValue) and self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)


@dataclass(frozen=True, eq=False)
class Node:
    """One tensor-valued operation. Compared by identity; rebuilt, never mutated."""

    op: str
    inputs: tuple["Node", ...]
    shape: Shape
    params: tuple[tuple[str, Any], ...] = ()
    expr: Any = None  # an elementwise node's SymPy expression (SymPy has no type hints: Any), else None
    dtype: str = "float64"
    name: str | None = None
    origin: Origin | None = None

    def __repr__(self) -> str:  # (not the dataclass's: that one expands a shared graph once per path to it)
        name = f" {self.name}" if self.name else ""
        return f"<Node {self.op}{name} {self.dtype}{tuple(self.shape)} of {len(self.inputs)} inputs>"

    def param(self, key: str, default: Any = None) -> Any:
        for k, v in self.params:
            if k == key:
                return v
        return default

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def key(self) -> tuple:
        """Structural identity (op, inputs, parameters): equal keys compute equal values."""
        return (self.op, tuple(id(i) for i in self.inputs), self.params, self.expr, self.shape, self.dtype)


def toposort(outputs: Sequence[Node]) -> list[Node]:
    """Nodes reachable from ``outputs``, each after its inputs (iterative depth-first order). The last few
    answers are remembered (nodes are immutable: the same outputs reach the same nodes), so the passes
    that change nothing do not walk a long program again; :func:`forget_sorted` drops them."""
    outputs = tuple(outputs)
    for known, order in _SORTED:
        if len(known) == len(outputs) and all(a is b for a, b in zip(known, outputs)):
            return list(order)
    order = _toposort(outputs)
    _SORTED.insert(0, (outputs, order))
    del _SORTED[4:]
    return list(order)


#: The last answers of :func:`toposort`, with their outputs (held: an id is not reused while here).
_SORTED: list[tuple[tuple[Node, ...], list[Node]]] = []


def forget_sorted() -> None:
    """Drop the remembered answers of :func:`toposort` (and the graphs they hold)."""
    _SORTED.clear()


def _toposort(outputs: Sequence[Node]) -> list[Node]:
    order: list[Node] = []
    seen: set[int] = set()
    for out in outputs:
        stack: list[tuple[Node, int]] = [(out, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0 and id(node) in seen:
                continue
            if i < len(node.inputs):
                stack.append((node, i + 1))
                child = node.inputs[i]
                if id(child) not in seen:
                    stack.append((child, 0))
            else:
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
    return order


def consumers(outputs: Sequence[Node]) -> dict[int, list[Node]]:
    """For each node id, the nodes that use it (with repetition)."""
    users: dict[int, list[Node]] = {}
    for node in toposort(outputs):
        for inp in node.inputs:
            users.setdefault(id(inp), []).append(node)
    return users


def rebuild(outputs: Sequence[Node], fn: Callable[[Node, tuple[Node, ...]], Node]) -> list[Node]:
    """Rebuild the graph bottom-up: ``fn(old_node, new_inputs)`` returns the new node.

    Returns the new outputs; identity of shared nodes is preserved.
    """
    new: dict[int, Node] = {}
    for node in toposort(outputs):
        inputs = tuple(new[id(i)] for i in node.inputs)
        new[id(node)] = fn(node, inputs)
    return [new[id(o)] for o in outputs]


def with_inputs(node: Node, inputs: tuple[Node, ...], **changes: Any) -> Node:
    """``node`` with new inputs (and other fields), or ``node`` itself when nothing changed."""
    if not changes and all(a is b for a, b in zip(inputs, node.inputs)):
        return node
    return replace(node, inputs=inputs, **changes)


@dataclass(frozen=True)
class Graph:
    """A traced function: its inputs, its outputs and their names (first output = value)."""

    inputs: tuple[Node, ...]
    outputs: tuple[Node, ...]
    output_names: tuple[str, ...] = field(default=())

    def nodes(self) -> list[Node]:
        return toposort(self.outputs)


def _describe(node: Node) -> str:
    if node.op == "elementwise":
        return f"elementwise[{expr_text(node.expr)}]"
    if node.op == "const":
        return f"const[{node.param('value').array.shape}]"
    if node.op == "loop":
        body = node.param("body")
        first, last = body.start, body.start + body.count
        if getattr(body, "until", None) is not None and not body.reverse:
            return f"loop[while, count={body.count}, carry={body.carry_count}, stored={len(body.stored)}]"
        bounds = f"{last - 1}, {first - 1}, -1" if body.reverse else (f"{last}" if first == 0 else f"{first}, {last}")
        every = "" if getattr(body, "checkpoint", None) is None else f", checkpoint={body.checkpoint!r}"
        return f"loop[range({bounds}), carry={body.carry_count}, stored={len(body.stored)}{every}]"
    params = ", ".join(f"{k}={v}" for k, v in node.params if k not in ("name", "index"))
    return f"{node.op}[{params}]" if params else node.op


def format_graph(graph: Graph, title: str = "") -> str:
    """Readable text of a graph, one equation per line, like a jaxpr."""
    names: dict[int, str] = {}
    lines = []
    if title:
        lines.append(title)
    for node in graph.inputs:
        names[id(node)] = node.param("name")
    lines.append("  in  " + ", ".join(f"{n.param('name')}:{n.dtype}{format_shape(n.shape)}" for n in graph.inputs))
    counter = 0
    used = set(names.values())  # (a set beside the dict: a long program has thousands of names)
    for node in graph.nodes():
        if node.op == "input":
            continue
        name = node.name or f"%{counter}"
        counter += 1 if not node.name else 0
        if name in used:
            name = f"{name}%{counter}"
            counter += 1
        names[id(node)] = name
        used.add(name)
        args = " ".join(names[id(i)] for i in node.inputs)
        where = f"    # {node.origin.text}" if node.origin else ""
        lines.append(f"  {name}:{node.dtype}{format_shape(node.shape)} = {_describe(node)} {args}{where}".rstrip())
        if node.op == "loop":  # the body, indented (its inputs: the index, the carried values, the invariants)
            body = format_graph(node.param("body").graph).splitlines()
            lines.extend("    " + line for line in body)
    labels = graph.output_names or tuple(f"[{k}]" for k in range(len(graph.outputs)))
    outs = ", ".join(f"{label}={names[id(o)]}" for label, o in zip(labels, graph.outputs))
    lines.append(f"  out {outs}")
    return "\n".join(lines)


def _kept_inside(node: Node) -> bool:
    """Values a body keeps for itself rather than read from outside: literal scalars (broadcast)."""
    if node.op == "broadcast_to":
        node = node.inputs[0]
    return node.op == "elementwise" and not node.inputs


def invariant_inputs(outputs: Sequence[Node], own: set[int]) -> list[Node]:
    """The nodes a body computing ``outputs`` from its own placeholders (ids in ``own``: a loop's index
    and carried values, an ODE's state and time) reads from outside: every node it depends on that
    depends on none of them (``W``, ``W.T``, ``theta``), computed once before the body and given to it as
    an input; literal scalars stay inside."""
    order = toposort(list(outputs))
    depends = set(own)
    for node in order:
        if any(id(i) in depends for i in node.inputs):
            depends.add(id(node))
    frontier: dict[int, Node] = {}
    for node in order:
        if id(node) in depends:
            for i in node.inputs:
                if id(i) not in depends and not _kept_inside(i):
                    frontier.setdefault(id(i), i)
    for node in outputs:
        if id(node) not in depends and not _kept_inside(node):
            frontier.setdefault(id(node), node)
    return list(frontier.values())
