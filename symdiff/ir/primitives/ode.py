"""An ODE solve, ``scipy.integrate.odeint(func, y0, t)`` or ``solve_ivp(fun, t_span, y0, t_eval=t)``,
over a right-hand side traced once into a body graph.

An ``odeint`` node's inputs are the initial state ``y0`` (shape ``(n,)``), the output times ``t`` (shape
``(T,)``; for ``solve_ivp``: ``t_span[0]`` then ``t_eval``), for ``solve_ivp`` the end of the span, then
the values the right-hand side reads from outside (its ``args``, closures): the body's invariants. Its
result is the states at the times, shape ``(T, n)``, as ``odeint`` returns them. The body is an
:class:`OdeBody` whose graph takes ``(y, t, *invariants)`` and returns ``dy/dt`` (shape ``(n,)``).

The gradient is the adjoint method (:mod:`symdiff.ad.ode`): an ``odeint_adjoint`` node integrates the
augmented system (state, adjoint, parameter adjoint) backwards between consecutive output times with the
same solver; its result is one vector holding the adjoints of ``y0``, of the invariants (raveled) and of
the times. The printed code is :mod:`symdiff.backends.numpy.dispatch.ode`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import sympy as sp

from ...errors import UnsupportedError, where
from ..graph import Graph, Node, Origin, invariant_inputs, rebuild, with_inputs
from .core import defprim, input_node


@dataclass(frozen=True, eq=False)
class OdeBody:
    """A right-hand side (compared by identity): ``graph.inputs`` = (y, t, *invariants), ``graph.outputs`` =
    (dy/dt,). ``solver``: "odeint" or "solve_ivp"; ``options``: the solver's keyword arguments that are
    numbers or strings (rtol, atol, method, ...), as (name, value) pairs; ``fixed``: how many of the node's
    inputs come before the invariants (2 for odeint, 3 for solve_ivp); ``name``: the user's function's."""

    graph: Graph
    solver: str
    options: tuple
    fixed: int
    name: str = "rhs"
    origin: Origin | None = None

    @property
    def y(self) -> Node:
        return self.graph.inputs[0]

    @property
    def t(self) -> Node:
        return self.graph.inputs[1]

    @property
    def invariants(self) -> tuple[Node, ...]:
        return self.graph.inputs[2:]

    @property
    def rate(self) -> Node:
        return self.graph.outputs[0]

    def finished(self, trace: Any) -> "OdeBody":
        """The body with the trace's unified sizes and variable names (see ``Trace.finish``)."""
        inputs, outputs = list(self.graph.inputs), list(self.graph.outputs)
        done = trace.finish(inputs + outputs)
        return replace(self, graph=Graph(tuple(done[:len(inputs)]), tuple(done[len(inputs):])))

    def __repr__(self) -> str:
        return f"<{self.solver} of {self.name}: {len(self.graph.nodes())} nodes>"


@dataclass(frozen=True, eq=False)
class AdjointBody:
    """The augmented system's right-hand side: ``graph.inputs`` = (y, t, a, *invariants), ``graph.outputs``
    = (dy/dt, a^T df/dy, a^T df/dw for each invariant w); ``forward``: the body it differentiates."""

    graph: Graph
    forward: OdeBody

    def __repr__(self) -> str:
        return f"<adjoint of {self.forward.name}: {len(self.graph.nodes())} nodes>"


def make_ode(y: Node, t: Node, rate: Node, fixed_inputs: Sequence[Node], solver: str, options: tuple,
             name: str = "rhs", origin: Origin | None = None) -> Node:
    """The ``odeint`` node of the right-hand side ``rate`` (a function of the placeholders ``y``, ``t`` and
    of any other node): every node it reads that depends on neither ``y`` nor ``t`` (``theta``, ``A.T``,
    constants) is computed once, outside, and becomes an invariant input."""
    own = {id(y), id(t)}
    outer = invariant_inputs([rate], own)
    inner = {id(n): replace(input_node(n.name or f"w{k}", n.shape, -1, n.dtype), name=None)
             for k, n in enumerate(outer)}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        return inner[id(node)] if id(node) in inner else with_inputs(node, inputs)
    new_rate, = rebuild([rate], fn)
    body = OdeBody(Graph((y, t, *(inner[id(n)] for n in outer)), (new_rate,)), solver, tuple(options),
                   len(fixed_inputs), name, origin)
    y0, times = fixed_inputs[0], fixed_inputs[1]
    return Node("odeint", (*fixed_inputs, *outer), (times.shape[0], y0.shape[0]), params=(("body", body),),
                dtype=y0.dtype, origin=origin)


def adjoint_size(node: Node) -> sp.Expr:
    """The length of the ``odeint_adjoint`` vector of ``node``: n + the invariants' sizes + T."""
    body: OdeBody = node.param("body")
    total = node.shape[0] + node.shape[1]
    for w in node.inputs[body.fixed:]:
        total += sp.Mul(*w.shape) if w.shape else 1
    return total


def _no_second_order(g: Node, node: Node) -> list:
    raise UnsupportedError(f"{where(node.origin)}: the derivative of an ODE solve's adjoint (a second "
                           "derivative through scipy.integrate.odeint or solve_ivp) is not supported; "
                           "differentiate the ODE solve once (symdiff.grad, value_and_grad, vjp)")


defprim("odeint", None)  # its vjp rule (the adjoint method) is symdiff.ad.ode
defprim("odeint_adjoint", _no_second_order)
