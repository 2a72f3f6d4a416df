"""Reverse mode through an ODE solve (:mod:`symdiff.ir.primitives.ode`): the adjoint method, as
autograd's ``odeint`` and ``jax.experimental.ode`` do it.

With ``a(t) = dL/dy(t)``, between two output times the adjoint obeys ``da/dt = -a^T df/dy`` and the
parameters' adjoint ``dp/dt = -a^T df/dw``; the augmented state ``(y, a, p)`` is integrated backwards
from ``t[i]`` to ``t[i-1]`` by the same solver (``y`` too, from the stored ``ys[i]``, so nothing but the
outputs is kept), and ``g[i-1]`` is added to ``a`` at each output time. The times' adjoints are
``g[i] . f(ys[i], t[i])`` for ``i >= 1`` and ``-a(t[0]) . f(y0, t[0])`` (``a`` before ``g[0]`` is added).
The result is exact up to the integrator's tolerance (``rtol``, ``atol``): it is the exact gradient of
the exact solution, not of the solver's steps.

The right-hand side's vjp (``a^T df/dy``, ``a^T df/dw``) is the body graph differentiated by
:func:`symdiff.ad.backward.accumulate`, so it is printed as readable code like the rest. Forward mode
(Hessians, ``hvp``, ``jvp``, ``jacobian``) has no rule for an ODE solve and says so.
"""
from __future__ import annotations

import sympy as sp

from ..ir.graph import Graph, Node
from ..ir.primitives import broadcast_to, input_node, reshape, scalar
from ..ir.primitives.ode import AdjointBody, OdeBody, adjoint_size
from ..ir.primitives.shape import slice_axis
from ..ir.primitives.core import defprim
from ..errors import UnsupportedError, where
from .backward import accumulate
from .jvp_rules import JVP_RULES


def _zeros(like: Node) -> Node:
    return broadcast_to(scalar(sp.Integer(0), like.dtype), like.shape)


def adjoint_body(body: OdeBody) -> AdjointBody:
    """The augmented system's right-hand side: the rate and its vjp with a cotangent ``a``."""
    y, t, rate = body.y, body.t, body.rate
    a = input_node("a", rate.shape, -1, rate.dtype)
    grads = accumulate({id(rate): a}, [rate])
    outs = [rate, grads.get(id(y)) or _zeros(y)]
    outs += [grads.get(id(w)) or _zeros(w) for w in body.invariants]
    return AdjointBody(Graph((y, t, a, *body.invariants), tuple(outs)), body)


def odeint_vjp(g: Node, node: Node) -> list[Node | None]:
    body: OdeBody = node.param("body")
    times = node.inputs[1]
    with_t = times.op != "const"
    origin = node.origin.as_grad() if node.origin else None
    size = adjoint_size(node)
    adj = Node("odeint_adjoint", (g, node, *node.inputs[1:]), (size,),
               params=(("adjoint", adjoint_body(body)), ("with_t", with_t)), dtype=node.dtype, origin=origin)
    n, count = node.shape[1], node.shape[0]
    out: list[Node | None] = [slice_axis(adj, 0, 0, n, origin)]
    out.append(slice_axis(adj, 0, size - count, size, origin) if with_t else None)
    if body.fixed == 3:
        out.append(None)  # (solve_ivp's end of the span: the outputs at t_eval do not depend on it)
    start = n
    for w in node.inputs[body.fixed:]:
        k = sp.Mul(*w.shape) if w.shape else sp.Integer(1)
        part = slice_axis(adj, 0, start, start + k, origin)
        out.append(reshape(part, w.shape) if w.dtype not in ("bool", "int64") else None)
        start += k
    return out


defprim("odeint", odeint_vjp)


def _no_forward_mode(node: Node, tangents, batch) -> Node:
    raise UnsupportedError(
        f"{where(node.origin)}: forward mode (hessian, hvp, jvp, jacobian) through scipy.integrate.odeint or "
        "solve_ivp is not supported; its gradient is the adjoint method (reverse mode): use symdiff.grad, "
        "value_and_grad, vjp or elementwise_grad, or finite differences of the gradient for second derivatives")


JVP_RULES["odeint"] = _no_forward_mode
JVP_RULES["odeint_adjoint"] = _no_forward_mode
