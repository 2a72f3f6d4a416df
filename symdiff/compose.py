"""A transformed function called while another function is traced: its derivative becomes more graph
in the enclosing trace, so ``grad(grad(f))``, ``jacobian(grad(f))`` and ``grad`` of ``value_and_grad``,
``hvp``, ``jvp`` or ``vjp`` are exact.

The inner function runs in the enclosing trace (the sizes it unifies are unified there too) on fresh
input nodes, *stand-ins*, for its ``wrt`` arguments, whatever they are in the enclosing trace
(arguments, expressions, slices, the same value twice). Everything else it reads from the enclosing
trace (its other arguments, closures over traced values) is a constant to it: each such value becomes
a stand-in too, so the inner graph is closed, its sizes are resolved like a compiled function's, and
it is differentiated by the same plans (:func:`symdiff.ad.derivatives.plans`). The stand-ins are then
replaced by the values they stand for, so the enclosing transform differentiates through everything,
closures included (as JAX does). Conditions of branches inside the inner function are recorded over
the enclosing values, never over stand-ins.
"""
from __future__ import annotations

import contextlib
import numbers
from typing import Any

import numpy as np

from .errors import NonScalarOutputError, ShapeError, SymdiffError, TraceError
from .ir.graph import Node, rebuild, toposort, with_inputs
from .trace.dispatch import as_node
from .ir.primitives import input_node
from .runtime.signature import caller, direction_names, function_of
from .trace.loops import rolling
from .trace.tracer import _here, current_trace
from .trace.values import Tracer

#: The ``index`` of stand-in input nodes (never an argument of generated code).
STAND_IN = -7


def compose(t: Any, values: list[Any]) -> Any:
    """``t`` (a :class:`symdiff.api.Transformed`) applied to ``values`` (its arguments, then its
    directions) inside the current trace; returns what its generated function would, as traced values."""
    from .ad.derivatives import SCALAR_OUTPUT, plans
    trace = current_trace()
    name, n = t.__name__, len(t.params)
    stand: dict[int, tuple[Node, Node]] = {}  # id(stand-in) -> (the stand-in, the value it stands for)
    args = list(values[:n])
    wrt_stand = []
    for i in t.wrt:
        value = values[i]
        if isinstance(value, (bool, np.bool_, numbers.Integral, np.integer, str, type(None))):
            raise TraceError(f"{_here()}: {t.entry} of {name}: cannot differentiate with respect to {t.params[i]!r}: "
                             f"it is a {type(value).__name__} (static); pass a float or a float array")
        node = as_node(value)
        s = _stand_in(trace, t.params[i], node, stand)
        wrt_stand.append(s)
        args[i] = Tracer(s, argument=True)
    splice = _splicer(stand)
    first = len(trace.decisions)
    evaluate = trace.evaluate
    if evaluate is not None:  # the decorator asks the actual values: of the enclosing trace's conditions
        trace.evaluate = lambda cond: evaluate(splice([cond])[0])
    try:
        # a jvp's loops stay rolled (reverse mode goes through its tangent loop); a reverse-mode transform's are
        # unrolled, since reverse mode does not go through the values a gradient's forward loop stores
        with rolling(function_of(t.fn) or t.fn, trace) if t.kind == "jvp" else contextlib.nullcontext():
            result = caller(t.fn, t.parameters)(*args)
    finally:
        trace.evaluate = evaluate
        trace.decisions[first:] = [(splice([c])[0], o, origin) for c, o, origin in trace.decisions[first:]]
    aux = None
    if t.has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TraceError(f"{name} was given has_aux=True: it must return a pair (value, aux)")
        result, aux = result
    elif isinstance(result, tuple):
        raise TraceError(f"{name} returned a tuple; return a single array, or pass has_aux=True to return "
                         "(value, aux) and get aux back with the gradient")
    out = as_node(result)
    if out.shape != () and t.kind in SCALAR_OUTPUT:
        raise NonScalarOutputError(f"{_here()}: {name} returns an array, not a scalar: {t.entry} needs a scalar "
                                   "output. Reduce it (np.sum, np.mean), or use symdiff.jacobian")
    out = _closed(trace, out, stand)
    names = direction_names(t.kind, t.params, t.wrt)
    directions = [_stand_in(trace, names[k], as_node(v), stand, _like(t, k, out, wrt_stand))
                  for k, v in enumerate(values[n:])]
    keys = list(stand)
    resolved = trace.finish([out, *(stand[k][0] for k in keys)])  # sizes unified, nodes named
    out, back = resolved[0], {id(r): (r, stand[k][1]) for r, k in zip(resolved[1:], keys)}
    new = dict(zip(keys, resolved[1:]))
    wrt_nodes = [new[id(s)] for s in wrt_stand]
    direction_nodes = [new[id(d)] for d in directions]
    plan = next(p for p in plans(t.kind, name, out, wrt_nodes, direction_nodes, t.single, name)
                if p.suffix == t.entry)
    outputs = _splicer(back)(plan.outputs)
    slots = {f"_r{k}": Tracer(o) for k, o in enumerate(outputs)}
    returned = eval(plan.returns.removeprefix("return ").format(*slots), {}, slots)  # the module's nesting
    if not t.has_aux:
        return returned
    aux = _map_traced(aux, lambda x: Tracer(splice([as_node(x)])[0]))
    return (returned, aux) if t.entry != "value_and_grad" else ((returned[0], aux), returned[1])


def _stand_in(trace, name: str, node: Node, stand: dict[int, tuple[Node, Node]], like: tuple | None = None) -> Node:
    shape = tuple(trace.resolve(d) for d in node.shape)
    if like is not None:  # a direction: shaped like what it is a direction of
        if len(shape) != len(like):
            raise ShapeError(f"{name} has {len(shape)} dimensions, but it is a direction of a value with "
                             f"{len(like)}: give it the same shape")
        shape = tuple(trace.unify(a, b) for a, b in zip(shape, like))
    s = input_node(name, shape, STAND_IN, node.dtype)
    stand[id(s)] = (s, node)
    return s


def _like(t: Any, k: int, out: Node, wrt: list[Node]) -> tuple:
    return out.shape if t.kind == "vjp" else wrt[k].shape


def _closed(trace, out: Node, stand: dict[int, tuple[Node, Node]]) -> Node:
    """``out`` with every value of the enclosing trace it reads, other than through the stand-ins,
    replaced by a stand-in of its own (a constant to the inner derivative)."""
    inner: set[int] = set(stand)  # nodes that depend on a stand-in
    outer: set[int] = set()  # nodes that depend on an enclosing input, not on a stand-in
    for node in toposort([out]):
        if id(node) in inner:
            continue
        if any(id(i) in inner for i in node.inputs):
            inner.add(id(node))
        elif node.op == "input" or any(id(i) in outer for i in node.inputs):
            outer.add(id(node))
    made: dict[int, Node] = {}

    def close(node: Node, inputs: tuple[Node, ...]) -> Node:
        if id(node) in outer:
            if id(node) not in made:
                made[id(node)] = _stand_in(trace, node.name or "_outer", node, stand)
            return made[id(node)]
        return with_inputs(node, inputs)
    return rebuild([out], close)[0]


def _splicer(stand: dict[int, tuple[Node, Node]]):
    """Replace stand-ins by the values they stand for, in a list of nodes."""
    def swap(node: Node, inputs: tuple[Node, ...]) -> Node:
        hit = stand.get(id(node))
        return hit[1] if hit is not None and hit[0] is node else with_inputs(node, inputs)

    def splice(nodes: list[Node]) -> list[Node]:
        done = rebuild(list(nodes), swap)
        if any(stand.get(id(n), (None,))[0] is n for n in toposort(done)):
            raise SymdiffError("internal: a stand-in of a composed transform was left in the graph")
        return done
    return splice


def _map_traced(x: Any, fn) -> Any:
    if isinstance(x, Tracer):
        return fn(x)
    if isinstance(x, tuple):
        return tuple(_map_traced(e, fn) for e in x)
    if isinstance(x, list):
        return [_map_traced(e, fn) for e in x]
    if isinstance(x, dict):
        return {k: _map_traced(v, fn) for k, v in x.items()}
    return x
