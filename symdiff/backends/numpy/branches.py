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
from ...ir.graph import Node, Origin, toposort
from ...naming import size_name
from ...runtime.specs import call_values
from .codegen import ModuleText, NodePrinter


def dispatch_lines(tree: Any, call_condition: Callable[[int], str], leaf: Callable[[int], list[str]],
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


def evaluate(condition: Node, tr, inputs: list[Node], specs, values: Sequence[Any]) -> bool:
    """The truth value of ``condition`` (a node of the trace ``tr`` over ``inputs``) for the actual
    arguments ``values``: its code is generated as for the module, and run."""
    condition, *inputs = tr.finish([condition, *inputs])
    params = [s.name for s in specs]
    module = ModuleText(reserved=set(params) | {"branch"})
    module.name_constants(toposort([condition]))
    body = NodePrinter(module, params, size_bindings(inputs)).body([condition], ["branch"], "return bool({0})")
    text = "\n".join(["import numpy as np", *(f"{n} = {c}" for n, c in module.constants),
                      *module.helpers.sources(), f"def branch({', '.join(params)}):", *("    " + b for b in body)])
    namespace: dict[str, Any] = {}
    exec(compile(text, "<symdiff branch condition>", "exec"), namespace)  # noqa: S102  (our own generated code)
    return bool(namespace["branch"](*call_values(list(values))))
