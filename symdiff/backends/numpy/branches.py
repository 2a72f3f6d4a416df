"""The NumPy code of branches on traced values (see :mod:`symdiff.trace.branches` for the paths):
the dispatcher's nested ``if`` statements, the ``raise`` of a path that could not be traced, how
generated code reads sizes, and the evaluation of a condition on the decorator's actual arguments
(its code is generated as for the module, and run)."""
from __future__ import annotations

import builtins
import os
from typing import Any, Callable, Sequence

import sympy as sp

from ...escape import comment, literal
from ...ir.graph import Node, Origin, toposort, with_inputs
from ...naming import size_name
from ...runtime.specs import call_values
from .codegen import ModuleText, NodePrinter


def dispatch_lines(tree: Any, call_condition: Callable[[int], str], leaf: Callable[[int | None], list[str]],
                   indent: str = "") -> list[str]:
    """Nested ``if`` statements choosing the path's code (``tree``: a :class:`symdiff.trace.branches.Tree`);
    ``leaf(k)`` gives path k's lines (``leaf(None)``:
    those of a side not traced yet)."""
    if tree.path is not None or tree.condition is None:
        return [indent + line for line in leaf(tree.path)]
    assert tree.yes is not None and tree.no is not None and tree.condition is not None
    note = f"  # {comment(tree.origin.text)}  ({comment(_short(tree.origin))})" if tree.origin is not None else ""
    test = call_condition(tree.condition)
    missing = [t.path is None and t.condition is None for t in (tree.yes, tree.no)]
    if missing[1] or missing[0]:  # one side not compiled: a guard, and the chain goes on unindented
        lines = [f"{indent}if {'not ' if missing[1] else ''}{test}:{note}"]
        lines += [indent + "    " + line for line in leaf(None)]
        return lines + dispatch_lines(tree.no if missing[0] else tree.yes, call_condition, leaf, indent)
    lines = [f"{indent}if {test}:{note}"]
    lines += dispatch_lines(tree.yes, call_condition, leaf, indent + "    ")
    return lines + dispatch_lines(tree.no, call_condition, leaf, indent)


def _short(origin: Origin) -> str:
    return f"{os.path.basename(origin.file)}:{origin.line}"


def failure_lines(name: str, path: Any) -> list[str]:
    """A path (:class:`symdiff.trace.branches.Path`) that could not be traced: raise what the user's code
    raised there, or say why."""
    exc = path.error
    cause = exc.__cause__ if exc is not None else None
    if cause is not None and type(cause).__module__ == "builtins" and hasattr(builtins, type(cause).__name__):
        return [f"raise {type(cause).__name__}({literal(str.__str__(str(cause)))})"]
    message = f"{name}: symdiff could not trace this branch: {exc}"
    return [f"raise NotImplementedError({literal(message)})"]


# ---------------------------------------------------------------- conditions on actual values -----

def size_bindings(inputs: Sequence[Node]) -> dict[sp.Symbol, str]:
    """How generated code reads each size symbol: from the argument it is named after, if it can."""
    sizes: dict[sp.Symbol, str] = {}
    for own in (True, False):
        for node in inputs:
            arg = node.param("name")
            for axis, d in enumerate(node.shape):
                if isinstance(d, sp.Symbol) and d not in sizes and \
                        (not own or d.name == size_name(arg, axis, node.ndim)):
                    sizes[d] = f"{arg}.shape[{axis}]"
    return sizes


def evaluate(condition: Node, tr, inputs: list[Node], specs, values: Sequence[Any],
             known: dict[int, Any] | None = None) -> bool:
    """The truth value of ``condition`` (a node of the trace ``tr`` over ``inputs``) for the actual
    arguments ``values``: its code is generated as for the module, and run. ``known`` (one dict per
    trace) holds the values of the nodes earlier conditions computed: they are read from it, not
    computed again, so a loop's k-th condition costs its own iteration, not all k (and the values of
    the nodes this one computes are added to it)."""
    known = {} if known is None else known
    params = [s.name for s in specs]
    cut, fresh, originals = _cut([condition], known, set(params))
    condition, *rest = tr.finish([cut[0], *fresh, *inputs])
    fresh, inputs = rest[:len(fresh)], rest[len(fresh):]
    held = [n for n in toposort([condition]) if n.op == "input" and n.param("index") == -1]
    names = [n.param("name") for n in held]
    module = ModuleText(reserved=set(params) | set(names) | {"branch"})
    module.name_constants(toposort([condition]))
    labels = [f"_value{k}" for k in range(len(fresh))]
    returns = "return bool({0}), (" + "".join(f"{{{k + 1}}}, " for k in range(len(fresh))) + ")"
    body = NodePrinter(module, params + names, size_bindings(inputs)).body([condition, *fresh], ["branch", *labels],
                                                                           returns)
    text = "\n".join(["import numpy as np", *(f"{n} = {c}" for n, c in module.constants),
                      *module.helpers.sources(), f"def branch({', '.join(params + names)}):",
                      *("    " + b for b in body)])
    namespace: dict[str, Any] = {}
    exec(compile(text, "<symdiff branch condition>", "exec"), namespace)  # noqa: S102  (our own generated code)
    held_values = [known[int(n.param("held"))] for n in held]
    truth, computed = namespace["branch"](*call_values(list(values)), *held_values)
    known.update(zip(originals, computed))
    return bool(truth)


def _cut(outputs: list[Node], known: dict[int, Any], taken: set[str]) -> tuple[list[Node], list[Node], list[int]]:
    """``outputs`` with every node whose value is ``known`` replaced by an input standing for it (the
    walk stops there), the nodes left to compute (the inputs of the trace and constants aside), and
    the ids of the nodes of the trace they stand for."""
    new: dict[int, Node] = {}
    computed: list[Node] = []
    originals: list[int] = []
    stack = [(o, False) for o in reversed(outputs)]
    while stack:
        node, ready = stack.pop()
        if id(node) in new:
            continue
        if id(node) in known:
            name = next(f"_held{len(new)}{'_' * k}" for k in range(len(taken) + 1)
                        if f"_held{len(new)}{'_' * k}" not in taken)
            new[id(node)] = Node("input", (), node.shape, params=(("name", name), ("index", -1), ("held", id(node))),
                                 dtype=node.dtype)
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs) if id(i) not in new)
            continue
        made = with_inputs(node, tuple(new[id(i)] for i in node.inputs))
        new[id(node)] = made
        if node.op not in ("input", "const") and (node.op != "elementwise" or node.inputs):
            computed.append(made)
            originals.append(id(node))
    return [new[id(o)] for o in outputs], computed, originals
