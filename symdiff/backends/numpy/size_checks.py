"""Every size equality the traced program demands is checked at run time, even when simplification
removed the operation that demanded it.

The tracer unifies the sizes of two arguments' axes when the program broadcasts them together
(``x + 0*y``), so the traced graph has one size symbol for both. If the operation that combined them
survives in the generated code, NumPy raises on mismatched sizes by itself; if it was simplified away
(``0*y`` is 0), nothing would, and the code would silently return a number where NumPy raises. Here
the generated function's own nodes are followed (:func:`_ties`: which axes NumPy checks to be equal,
or computes from one another) and an explicit check, one integer comparison, is emitted for each
argument axis that the program tied to another one and that the code left unchecked.
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence

import sympy as sp

from ...escape import literal
from ...ir.graph import Node, toposort
from ...ir.shapes import ONE

REDUCTIONS = ("sum", "mean", "max", "min", "prod")


def _aligned(node: Node, inp: Node):
    """Axes of ``inp`` broadcast against ``node``'s (from the right), except broadcast axes of size 1."""
    for j in range(inp.ndim):
        if inp.shape[j] != ONE:
            yield (inp, j), (node, node.ndim - inp.ndim + j)


def _ties(node: Node) -> Iterable[tuple[tuple[Node, int], tuple[Node, int]]]:
    """Pairs of axes (node, axis) whose sizes are equal whenever ``node``'s NumPy code runs without raising."""
    op, ins = node.op, node.inputs
    if op in ("elementwise", "broadcast_to", "full_like", "copy", "stop_gradient", "cumsum", "flip", "roll"):
        for inp in ins:
            yield from _aligned(node, inp)
    elif op in REDUCTIONS and ins:
        axes = node.param("axis")
        axes = tuple(range(ins[0].ndim)) if axes is None else tuple(axes) if isinstance(axes, tuple) else (axes,)
        kept = [j for j in range(ins[0].ndim) if j not in axes]
        for k, j in enumerate(kept):
            yield (ins[0], j), (node, j if node.param("keepdims") else k)
    elif op == "transpose":
        for k, j in enumerate(node.param("axes")):
            yield (ins[0], j), (node, k)
    elif op == "outer":
        yield (ins[0], 0), (node, 0)
        yield (ins[1], 0), (node, 1)
    elif op == "matmul":
        a, b = ins
        yield (a, a.ndim - 1), (b, b.ndim - 2 if b.ndim > 1 else 0)  # the inner sizes
        if a.ndim == 2 and b.ndim <= 2:
            yield (a, 0), (node, 0)
        if b.ndim == 2 and a.ndim <= 2:
            yield (b, 1), (node, node.ndim - 1)
    elif op in ("einsum", "contract"):
        inputs, output = node.param("subscripts").split("->")
        first: dict[str, tuple[Node, int]] = {c: (node, k) for k, c in enumerate(output)}
        for x, sub in zip(ins, inputs.split(",")):
            for j, c in enumerate(sub):
                if x.shape[j] == ONE:
                    continue
                if c in first:
                    yield first[c], (x, j)
                else:
                    first[c] = (x, j)


def _components(outputs: Sequence[Node]):
    """``find``: the representative of an axis (id(node), axis) among the axes tied to it."""
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(k):
        while parent.get(k, k) != k:
            k = parent[k]
        return k
    for node in toposort(list(outputs)):
        for (a, i), (b, j) in _ties(node):
            ra, rb = find((id(a), i)), find((id(b), j))
            if ra != rb:
                parent[ra] = rb
    return find


def _place(where: str) -> str:
    """``file:line`` without the folders, and nothing that would end the generated f-string."""
    return "".join(c for c in os.path.basename(where) if c not in '{}"\\')


def size_check_lines(name: str, arguments: Sequence[Node], arg_names: Sequence[str],
                     outputs: Sequence[Node], params: Sequence[str],
                     origins: dict[tuple[int, int], str] | None = None) -> list[str]:
    """``if`` statements raising ValueError where two argument axes that the traced program requires
    equal are not compared by the code computing ``outputs``. ``arguments``: the path's input nodes
    (``arg_names`` by their index), of which those among the function's ``params`` are checked;
    ``origins``: where the program made an argument axis equal to another (named in the message)."""
    groups: dict[sp.Symbol, list[tuple[Node, int]]] = {}
    for node in arguments:
        index = node.param("index")
        if index is None or index >= len(arg_names) or arg_names[index] not in params:
            continue
        for axis, d in enumerate(node.shape):
            if isinstance(d, sp.Symbol):
                groups.setdefault(d, []).append((node, axis))
    groups = {d: members for d, members in groups.items() if len(members) > 1}
    if not groups:
        return []
    find = _components(outputs)
    label = {id(n): arg_names[n.param("index")] for members in groups.values() for n, _ in members}
    lines = []
    for members in groups.values():
        seen: dict[tuple[int, int], tuple[Node, int]] = {}
        for node, axis in members:
            seen.setdefault(find((id(node), axis)), (node, axis))
        (first, i), *rest = seen.values()
        a = f"{label[id(first)]}.shape[{i}]"
        places = [(origins or {}).get((n.param("index"), axis)) for n, axis in members]
        at = next((f" at {_place(p)}" for p in places if p and not p.startswith("<")), "")
        for node, j in rest:
            b = f"{label[id(node)]}.shape[{j}]"
            # the place is the user's text: it enters the code only as a checked literal (escape.literal)
            message = (literal(f"{name}: {b} ("), f"str({b})", literal(f") != {a} ("), f"str({a})",
                       literal(f"), but {name} needs them equal{at} (NumPy raises: operands could not be "
                               "broadcast together)"))
            lines += [f"if {b} != {a}:", f"    raise ValueError({' + '.join(message)})"]
    return lines
