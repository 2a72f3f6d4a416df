"""Which nodes of a function body one loop computes: the fusion plan of the numba backend.

A :class:`Loop` runs over one iteration space (the shape of its elementwise nodes) and holds

- ``members``: float64 ``elementwise`` nodes of exactly that shape, whose inputs are members or
  arrays (or scalars) broadcast to it: each is one scalar statement per iteration; also the pairwise
  squared distances ``sum((A[:, None] - B[None]) ** 2, -1)`` (a sum over the coordinates) and an
  identity added to a diagonal (``r2 + np.eye(n)``) of a two-axis loop;
- ``reducers``: ``sum``, ``mean`` and ``contract`` (``np.dot``, ``np.einsum('ij,ij->i')``) nodes over members:
  accumulated as the loop runs (a scalar, or an array indexed by the kept axes);
- ``scatters``: ``scatter_sum`` nodes (the buffer of slice gradients, ``dx[:-1] += a; dx[1:] -= b``)
  over members of a one-axis loop: added into the buffer at their offsets.

Nodes are taken in the order of the body; a node joins the latest loop of its shape unless that loop
would then depend on itself through a node outside it (a kernel must have all its inputs before it
runs), else it starts a loop of its own. Everything else stays NumPy code in the glue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from ...ir.graph import Node
from ...ir.shapes import ONE


@dataclass(eq=False)
class Loop:
    """One fused loop (see the module docstring)."""

    index: int
    shape: tuple
    members: list[Node] = field(default_factory=list)
    reducers: list[Node] = field(default_factory=list)
    scatters: list[Node] = field(default_factory=list)
    depends: set[int] = field(default_factory=set)  # the loops this one needs first (directly)
    nodes: list[Node] = field(default_factory=list)  # all of them, in the body's order


def broadcasts_to(shape: Sequence, target: Sequence) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` without growing its rank past it."""
    if len(shape) > len(target):
        return False
    return all(d == t or d == ONE for d, t in zip(shape[::-1], target[::-1]))


def _slice_offset(index) -> bool:
    """A one-axis index ``[a:b]`` with step 1 and a literal start: a fixed offset into the buffer."""
    if len(index) != 1 or not isinstance(index[0], tuple) or index[0][0] != "slice":
        return False
    _, start, _, step = index[0]
    return step in (None, 1) and (start is None or isinstance(start, int))


def contract_axes(node: Node) -> tuple[int, ...] | None:
    """The kept axes of a ``contract`` whose operands share one subscript over all their axes
    (``'ij,ij->i'``: axis 0), or None for any other contraction (a matrix product stays BLAS)."""
    spec = node.param("subscripts")
    ins, _, out = spec.partition("->")
    operands = ins.split(",")
    first = operands[0]
    if len(set(operands)) != 1 or len(set(first)) != len(first) or not set(out) <= set(first):
        return None
    positions = [first.index(c) for c in out]
    return tuple(positions) if positions == sorted(positions) else None


def plan(order: Sequence[Node], printable: Callable[[Node], bool]) -> list[Loop]:
    """The loops over the nodes of ``order`` (a topological order), each with at least one member."""
    loops: list[Loop] = []
    owner: dict[int, Loop] = {}  # node id -> its loop
    needs: dict[int, set[int]] = {}  # node id -> the loops it depends on (directly: through its inputs)

    def reach(start: set[int]) -> set[int]:
        seen, stack = set(), list(start)
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(loops[k].depends)
        return seen

    def member_of(node: Node, loop: Loop) -> bool:
        return owner.get(id(node)) is loop and node in loop.members

    def fits(node: Node, loop: Loop) -> bool:
        """``node``'s inputs are members of ``loop`` or come from nodes that do not need ``loop``."""
        return all(member_of(x, loop) or loop.index not in reach(needs[id(x)]) for x in node.inputs)

    def join(node: Node, loop: Loop, role: list[Node]) -> None:
        role.append(node)
        loop.nodes.append(node)
        owner[id(node)] = loop
        for x in node.inputs:
            if not member_of(x, loop):
                loop.depends |= needs[id(x)] - {loop.index}

    for node in order:
        needs[id(node)] = set().union(*(needs[id(x)] for x in node.inputs)) if node.inputs else set()
        loop = _placement(node, loops, owner, member_of, fits, printable)
        if loop is not None:
            kind = loop.scatters if node.op == "scatter_sum" else loop.members if node.op in MEMBERS else \
                loop.reducers
            join(node, loop, kind)
            needs[id(node)] = needs[id(node)] | {loop.index}
    return [loop for loop in loops if loop.members and _worth_it(loop)]


def _worth_it(loop: Loop) -> bool:
    """A loop saves passes over memory unless it is one NumPy operation (``a + b``, ``-a``): that one
    stays NumPy code (no kernel to compile)."""
    if loop.reducers or loop.scatters or len(loop.members) > 1:
        return True
    return loop.members[0].op != "elementwise" or loop.members[0].expr.count_ops() > 1


#: The nodes a loop computes one element of per iteration.
MEMBERS = ("elementwise", "pairwise_squares", "add_diagonal")


def _mask(x: Node, node: Node) -> bool:
    """A boolean array an elementwise node reads (``np.where(x > 0, ...)``'s condition): read as it is."""
    return x.dtype == "bool" and x.ndim >= 1 and node.op == "elementwise"


def _placement(node, loops, owner, member_of, fits, printable) -> Loop | None:
    """The loop ``node`` joins (a new one for an elementwise node that fits no open loop), or None."""
    if node.dtype != "float64" or not all(x.dtype == "float64" or _mask(x, node) for x in node.inputs):
        return None
    elementwise = node.op == "elementwise" and node.ndim >= 1 and \
        all(broadcasts_to(x.shape, node.shape) for x in node.inputs) and printable(node)
    pairs = node.op == "pairwise_squares" and node.ndim == 2 and all(x.ndim == 2 for x in node.inputs)
    diagonal = node.op == "add_diagonal" and node.ndim == 2 and node.inputs[0].shape == node.shape
    if elementwise or pairs or diagonal:
        for loop in reversed(loops):
            if loop.shape == tuple(node.shape) and fits(node, loop):
                return loop
        loops.append(Loop(len(loops), tuple(node.shape)))
        return loops[-1]
    if not node.inputs:
        return None
    loop = next((owner[id(x)] for x in node.inputs if id(x) in owner and member_of(x, owner[id(x)])), None)
    if loop is None:
        return None
    if node.op in ("sum", "mean") and node.inputs[0].shape == loop.shape:
        return loop
    if node.op == "contract" and len(node.inputs) == 2 and contract_axes(node) is not None and \
            all(tuple(x.shape) == loop.shape for x in node.inputs) and fits(node, loop):
        return loop
    if node.op == "scatter_sum" and len(loop.shape) == 1 and node.ndim == 1 and \
            all(member_of(x, loop) for x in node.inputs) and all(_slice_offset(i) for i in node.param("indices")):
        return loop
    return None
