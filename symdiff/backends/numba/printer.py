"""The glue of the numba backend: a function body printed as the NumPy backend prints it, with each
fused loop (:mod:`.fusion`) replaced by one call of its kernel (:mod:`.kernels`).

:class:`FusingPrinter` plans the loops of a body, rebuilds the graph with a ``numba_loop`` node per
loop (its inputs: the arrays the kernel reads) and a ``numba_result`` node per array or scalar it
returns, and lets :class:`~symdiff.backends.numpy.codegen.NodePrinter` print the rest: every node a
kernel cannot express keeps the NumPy backend's code, so every registry entry works.
"""
from __future__ import annotations

import heapq
from dataclasses import replace
from typing import Any

from ...ir.graph import Node, toposort
from ..numpy.codegen import Function, NodePrinter
from ..numpy.dispatch import EMIT
from ..numpy.dispatch.loop import LOOP_OPS
from .fusion import Loop, plan
from .kernels import Kernel, print_loop, printable
from .rolled import compiled_loop, graph_refusal
from .split import split_calls

DECORATOR = "numba.njit(cache=True, error_model=\"numpy\")"  # error_model: 1/0 is inf, as in NumPy


class Kernels:
    """The kernels of one module, named once each (a kernel two functions share is printed once)."""

    def __init__(self, function_name: str, parallel: bool) -> None:
        self.base = f"_{function_name}_loop"
        self.parallel = parallel
        self.functions: list[Function] = []
        self.by_text: dict[tuple, str] = {}
        self.function_name = function_name

    def add(self, kernel: Kernel, printer: NodePrinter) -> str:
        key = (tuple(kernel.params), tuple(kernel.body), kernel.parallel)
        if key in self.by_text and self.by_text[key] not in printer.namer.taken:  # the same loop, printed before
            printer.namer.reserve(self.by_text[key])
            return self.by_text[key]
        taken = printer.module.reserved | set(printer.module.helpers.names.values()) | \
            set(printer.module.const_names.values())
        k, name = len(self.functions), ""
        while not name or name in taken or name in printer.namer.taken:
            k += 1
            name = f"{self.base}{k}"
        printer.module.reserved.add(name)
        printer.namer.reserve(name)
        decorator = DECORATOR[:-1] + ", parallel=True)" if kernel.parallel else DECORATOR
        self.functions.append(Function(name, kernel.params, kernel.doc, kernel.body, decorator))
        self.by_text[key] = name
        return name


    def add_rolled(self, params: list[str], body: list[str], printer: NodePrinter) -> str:
        """The name of the compiled function of a rolled loop (see :mod:`.rolled`)."""
        key = ("rolled", tuple(params), tuple(body))
        if key in self.by_text and self.by_text[key] not in printer.namer.taken:
            printer.namer.reserve(self.by_text[key])
            return self.by_text[key]
        taken = printer.module.reserved | set(printer.module.helpers.names.values()) | \
            set(printer.module.const_names.values())
        k, name = 0, ""
        while not name or name in taken or name in printer.namer.taken:
            k += 1
            name = f"_{self.function_name}_rolled{k}"
        printer.module.reserved.add(name)
        printer.namer.reserve(name)
        doc = "The loop of the function below, compiled by numba."
        self.functions.append(Function(name, params, doc, body, DECORATOR))
        self.by_text[key] = name
        return name


class FusingPrinter(NodePrinter):
    """A :class:`NodePrinter` whose body calls a kernel for each fused loop."""

    emit_table = dict(EMIT)

    def __init__(self, module, params, size_bindings, kernels: Kernels) -> None:
        super().__init__(module, params, size_bindings)
        self.kernels = kernels
        self.loops: dict[int, Kernel] = {}  # id of a numba_loop node -> its kernel
        self.result_names: dict[int, str] = {}  # id of a numba_result node -> the name the call gave it
        self.results_of: dict[int, list[Node]] = {}  # id of a numba_loop node -> its numba_result nodes
        self.loop_ops = {**LOOP_OPS, "loop": _emit_rolled}

    def preset(self, node: Node) -> str | None:
        if node.op != "numba_result":
            return None
        return self.code[id(node.inputs[0])] if node.param("position") == 0 else self.result_names[id(node)]

    def body(self, outputs, labels, returns, casts=()) -> list[str]:
        hints = {id(o): label for o, label in zip(reversed(outputs), reversed(labels))}
        outputs = self._fused(list(outputs), hints)
        return super().body(outputs, labels, returns, casts)

    def _fused(self, outputs: list[Node], hints: dict[int, str]) -> list[Node]:
        split = split_calls(outputs)  # exp, tanh, ...: NumPy's ufuncs; the arithmetic around them: loops
        hints.update({id(new): hints[id(old)] for old, new in zip(outputs, split) if id(old) in hints})
        outputs = split
        order = toposort(outputs)
        loops = plan(order, printable)
        if not loops:
            return outputs
        owner = {id(n): loop for loop in loops for n in loop.nodes}
        needed = {id(o) for o in outputs}
        for node in order:
            for x in node.inputs:
                if id(x) in owner and owner.get(id(node)) is not owner[id(x)]:
                    needed.add(id(x))
        new: dict[int, Node] = {}
        for unit in _schedule(order, owner):
            if isinstance(unit, Loop):
                kernel = print_loop(unit, needed, hints, self.kernels.parallel)
                call = Node("numba_loop", tuple(new.get(id(x), x) for x in kernel.arguments), (),
                            params=(("kernel", id(kernel)),), name=_name(kernel.results[0], hints),
                            origin=unit.members[0].origin)
                self.loops[id(call)] = kernel
                for k, r in enumerate(kernel.results):
                    new[id(r)] = Node("numba_result", (call,), r.shape, params=(("position", k),), dtype=r.dtype,
                                      name=_name(r, hints), origin=r.origin)
                self.results_of[id(call)] = [new[id(r)] for r in kernel.results]
            else:
                inputs = tuple(new.get(id(x), x) for x in unit.inputs)
                if any(a is not b for a, b in zip(inputs, unit.inputs)):
                    new[id(unit)] = replace(unit, inputs=inputs)
        return [new.get(id(o), o) for o in outputs]


def _name(node: Node, hints: dict[int, str]) -> str | None:
    return hints.get(id(node)) or node.name


def _schedule(order: list[Node], owner: dict[int, Loop]) -> list[Any]:
    """The nodes outside loops and the loops, each after everything it reads (loops are acyclic by
    construction, see :func:`.fusion.plan`), as close to the body's order as that allows."""
    position = {id(n): k for k, n in enumerate(order)}
    unit_of = {id(n): owner.get(id(n), n) for n in order}
    key = lambda u: id(u)  # noqa: E731
    first: dict[int, int] = {}
    users: dict[int, set[int]] = {}
    indegree: dict[int, int] = {}
    units: dict[int, Any] = {}
    for n in order:
        u = unit_of[id(n)]
        units[key(u)] = u
        first[key(u)] = min(first.get(key(u), position[id(n)]), position[id(n)])
        indegree.setdefault(key(u), 0)
    for n in order:
        ku = key(unit_of[id(n)])
        for x in n.inputs:
            v = key(unit_of[id(x)])
            if v != ku and ku not in users.setdefault(v, set()):
                users[v].add(ku)
                indegree[ku] += 1
    ready = [(first[k], k) for k, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, k = heapq.heappop(ready)
        out.append(units[k])
        for ku in users.get(k, ()):
            indegree[ku] -= 1
            if indegree[ku] == 0:
                heapq.heappush(ready, (first[ku], ku))
    assert len(out) == len(units), "fused loops would depend on each other"
    return out


def _emit_loop(node: Node, args: list[str], printer: FusingPrinter) -> list[str]:
    kernel = printer.loops[id(node)]
    name = printer.kernels.add(kernel, printer)
    call_args = [f"float({a})" if not x.shape else a for a, x in zip(args, node.inputs)]
    call_args += [printer.size(d) for d in kernel.sizes]
    names = ["{name}"]
    for k, r in enumerate(kernel.results[1:], start=1):
        result = printer.results_of[id(node)][k]
        names.append(printer.namer.fresh(result.name))
        printer.result_names[id(result)] = names[-1]
    return [f"{', '.join(names)} = {name}({', '.join(call_args)})"]


def _emit_rolled(node: Node, p: FusingPrinter, uses: dict[int, int]) -> list[str]:
    """A rolled loop: the NumPy backend's code in a compiled function (:mod:`.rolled`), unless it is
    inside another loop (compiled with it)."""
    outer = p.__dict__.get("loop_depth", 0)
    lines = LOOP_OPS["loop"](node, p, uses)
    if outer:
        return lines
    body = node.param("body")
    later = list(p.__dict__.get("loop_names", {}).get(id(node), []))
    if body.until is not None and body.count in p.size_names:  # a while loop's trip count
        later.append(p.size_names[body.count])
    kinds: dict[str, str] = {}
    for x in node.inputs:
        code = p.code.get(id(x), "")
        if code.isidentifier():
            kinds[code] = "array" if x.shape else ("float64" if x.dtype == "float64" else
                                                   "float32" if x.dtype == "float32" else
                                                   "int" if x.dtype.startswith("int") else
                                                   "bool" if x.dtype == "bool" else "")
    for name in [*p.size_names.values(), *p.size_bindings.values()]:
        kinds.setdefault(name, "int")
    helpers = set(p.module.helpers.names.values()) | {p.module.loader}
    own = {f.name for f in p.kernels.functions}
    return compiled_loop(lines, later, kinds, helpers, lambda params, b: p.kernels.add_rolled(params, b, p), own,
                         graph_refusal(node))


FusingPrinter.emit_table.update({"numba_loop": _emit_loop})
