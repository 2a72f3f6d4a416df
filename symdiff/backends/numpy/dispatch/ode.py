"""NumPy code of an ODE solve (:mod:`symdiff.ir.primitives.ode`): the right-hand side printed as a nested
function (it reads the parameters it closes over), passed to SciPy's solver::

    def lotka(y, t):
        return np.array([a*y[0] - b*y[0]*y[1], ...])
    ys = scipy.integrate.odeint(lotka, y0, t, rtol=1e-10, atol=1e-10)

and its adjoint (the augmented system ``(y, a, p)``, integrated backwards from ``t[i]`` to ``t[i-1]`` by the
same solver, see :mod:`symdiff.ad.ode`) as a second nested function and a loop over the output times.
"""
from __future__ import annotations

import sympy as sp

from ....escape import literal
from ..comments import line, same_line
from ....ir.graph import Node, toposort
from .loop import LOOP_OPS


def _function(p, name: str, params: list[str], bound: dict[int, str], prologue: list[str], outputs: list[Node],
              returns) -> list[str]:
    """``def name(params):`` computing ``outputs`` from the placeholders ``bound`` (node id -> code),
    returning ``returns(codes)``. Its statements' names stay local to it."""
    local = [n for n in toposort(outputs)]
    for n in local:
        if id(n) not in bound:
            p.code.pop(id(n), None)
    p.code.update(bound)
    p.last_origin = None
    inner = p.statements(outputs, {})
    ret = returns([p.code[id(o)] for o in outputs])
    for n in local:
        if id(n) not in bound:
            p.code.pop(id(n), None)
    p.last_origin = None
    return [f"def {name}({', '.join(params)}):"] + ["    " + line for line in prologue + inner] + [f"    return {ret}"]


def _rate_code(rate: Node, code: str, p) -> str:
    return f"np.broadcast_to({code}, {p.shape(rate.shape)})" if rate.op == "broadcast_to" else code


def _named(p, node: Node, hint: str, lines: list[str], full: bool = False) -> str:
    code = p.code[id(node)]
    if full and node.op == "broadcast_to":
        code = f"np.broadcast_to({code}, {p.shape(node.shape)})"
    elif code.isidentifier():
        return code
    name = p.namer.fresh(hint)
    lines.append(f"{name} = {code}")
    return name


def _options(body) -> str:
    return "".join(f", {k}={literal(v)}" for k, v in body.options)


def _rhs(p, body, outer: list[Node], lines: list[str]) -> str:
    """The right-hand side's nested function (printed once per function body), its name."""
    defs = p.__dict__.setdefault("ode_defs", {})
    if id(body) in defs:
        return defs[id(body)]
    name = p.namer.fresh(body.name)
    y, t = p.namer.fresh(body.y.param("name")), p.namer.fresh(body.t.param("name"))
    bound = {id(body.y): y, id(body.t): t}
    bound.update({id(w): p.code[id(o)] for w, o in zip(body.invariants, outer)})
    params = [t, y] if body.solver == "solve_ivp" or dict(body.options).get("tfirst") else [y, t]
    lines.extend(_function(p, name, params, bound, [], [body.rate], lambda c: _rate_code(body.rate, c[0], p)))
    defs[id(body)] = name
    return name


def emit_odeint(node: Node, p, uses: dict[int, int]) -> list[str]:
    body = node.param("body")
    outer = list(node.inputs[body.fixed:])
    lines: list[str] = []
    origin = p.shown.get(id(node))
    if origin is not None and not same_line(origin, p.last_origin):
        lines.append(line(origin))
    name = _rhs(p, body, outer, lines)
    y0 = _named(p, node.inputs[0], "y0", lines)
    times = _named(p, node.inputs[1], "t", lines)
    ys = p.namer.fresh(node.name or "ys")
    if body.solver == "odeint":
        lines.append(f"{ys} = scipy.integrate.odeint({name}, {y0}, {times}{_options(body)})")
    else:
        end = p.code[id(node.inputs[2])]
        sol = p.namer.fresh("sol")
        lines.append(f"{sol} = scipy.integrate.solve_ivp({name}, ({times}[0], {end}), {y0}, t_eval={times}[1:]"
                     f"{_options(body)})")
        lines.append(f"{ys} = np.vstack(({y0}, {sol}.y.T))")
    p.code[id(node)] = ys
    p.last_origin = origin
    return lines


def emit_adjoint(node: Node, p, uses: dict[int, int]) -> list[str]:
    aug = node.param("adjoint")
    body = aug.forward
    g, fwd = node.inputs[0], node.inputs[1]
    outer = list(node.inputs[1 + body.fixed:])
    lines: list[str] = []
    origin = p.shown.get(id(node))
    if origin is not None and not same_line(origin, p.last_origin):
        lines.append(line(origin))
    n, count = p.size(fwd.shape[1]), p.size(fwd.shape[0])
    n2, last = p.size(2 * fwd.shape[1]), p.size(fwd.shape[0] - 1)
    gs = _named(p, g, "g", lines, full=True)
    ys = p.code[id(fwd)]
    times = _named(p, node.inputs[2], "t", lines)
    rhs = _rhs(p, body, outer, lines) if node.param("with_t") else None
    # the augmented system: the state, its adjoint, the parameters' adjoint (backwards in time)
    name = p.namer.fresh(f"{body.name}_adjoint")
    s, t = p.namer.fresh("s"), p.namer.fresh(body.t.param("name"))
    y, a = p.namer.fresh(body.y.param("name")), p.namer.fresh("a")
    bound = {id(aug.graph.inputs[0]): y, id(aug.graph.inputs[1]): t, id(aug.graph.inputs[2]): a}
    bound.update({id(w): p.code[id(o)] for w, o in zip(body.invariants, outer)})
    prologue = [f"{y} = {s}[:{n}]", f"{a} = {s}[{n}:{n2}]"]
    parts = list(aug.graph.outputs)

    def returns(codes: list[str]) -> str:
        pieces = [_rate_code(parts[0], codes[0], p), f"-{p.paren(codes[1], '*')}"]
        for w, c in zip(parts[2:], codes[2:]):
            pieces.append(f"-{p.paren(c, '*')}" if len(w.shape) == 1 and w.op != "broadcast_to" else
                          f"-np.ravel(np.broadcast_to({c}, {p.shape(w.shape)}))" if w.op == "broadcast_to" else
                          f"-np.ravel({c})")
        return f"np.concatenate(({', '.join(pieces)}))"
    params = [t, s] if body.solver == "solve_ivp" or dict(body.options).get("tfirst") else [s, t]
    lines.extend(_function(p, name, params, bound, prologue, parts, returns))
    total = p.size(sp.Add(*[sp_size(w) for w in outer], sp.Integer(0)))
    acc, adj_y, i, state = p.namer.fresh("adj_params"), p.namer.fresh("adj_y"), p.namer.fresh("i"), p.namer.fresh("s")
    lines.append(f"{adj_y} = {gs}[{last}]")
    lines.append(f"{acc} = np.zeros({total})")
    dts = p.namer.fresh("adj_t") if rhs else None
    if rhs:
        lines.append(f"{dts} = np.zeros({count})")
    start = f"np.concatenate(({ys}[{i}], {adj_y}, {acc}))"
    loop = [f"{dts}[{i}] = {gs}[{i}] @ {rhs}({ys}[{i}], {times}[{i}])"] if rhs else []
    if rhs and params[0] == t:
        loop = [f"{dts}[{i}] = {gs}[{i}] @ {rhs}({times}[{i}], {ys}[{i}])"]
    if body.solver == "odeint":
        loop.append(f"{state} = scipy.integrate.odeint({name}, {start}, np.array([{times}[{i}], {times}[{i} - 1]])"
                    f"{_options(body)})[-1]")
    else:
        loop.append(f"{state} = scipy.integrate.solve_ivp({name}, ({times}[{i}], {times}[{i} - 1]), {start}"
                    f"{_options(body)}).y[:, -1]")
    loop.append(f"{adj_y} = {state}[{n}:{n2}] + {gs}[{i} - 1]")
    loop.append(f"{acc} = {state}[{n2}:]")
    lines.append(f"for {i} in range({last}, 0, -1):")
    lines.extend("    " + line for line in loop)
    pieces = [adj_y, acc]
    if rhs:
        call = f"{rhs}({times}[0], {ys}[0])" if params[0] == t else f"{rhs}({ys}[0], {times}[0])"
        lines.append(f"{dts}[0] = -({adj_y} - {gs}[0]) @ {call}")
        pieces.append(dts)
    out = p.namer.fresh("adj")
    lines.append(f"{out} = np.concatenate(({', '.join(pieces)}))")
    p.code[id(node)] = out
    p.last_origin = origin
    return lines


def sp_size(w: Node):
    return sp.Mul(*w.shape) if w.shape else sp.Integer(1)


LOOP_OPS["odeint"] = emit_odeint
LOOP_OPS["odeint_adjoint"] = emit_adjoint
