"""Graph passes: fuse elementwise chains, undo needless broadcasts, rewrite for stability,
simplify under a budget, and share common subexpressions. Each pass is a pure function from
output nodes to output nodes; :data:`PASSES` lists them in the order they run.

>>> import sympy as sp
>>> from symdiff.ir.graph import ARG
>>> stabilize(sp.log(1 + sp.exp(ARG[0])))
softplus(_a0)
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..ir.domain import composed_requirements, keep_domain
from ..ir.graph import ARG, Node, consumers, rebuild, toposort, with_inputs
from ..ir.primitives import elementwise, reduce, stop_gradient
from .speed import (contract_products, drop_shift_gradient, share_powers, share_scaled_sums, split_total_sums,
                       tidy_signs)
from .arrays import add_diagonal, merge_scatters, pairwise_squares, pairwise_sums, sums_as_products
from ..ir.special import xlogy
from ..ir.scalar import sigmoid, softplus
from ..ir.shapes import broadcast_shapes
from .report import REPORT
from .loops import merge_loops, prune_loops, run_in_bodies

#: Largest expression (SymPy ``count_ops``) that fusion builds and that simplification attempts.
FUSE_BUDGET = 60
SIMPLIFY_BUDGET = 40
#: Seconds of simplification per graph; past it, expressions are left as they are.
SIMPLIFY_SECONDS = 2.0

Pass = Callable[[list[Node]], list[Node]]


# ---------------------------------------------------------------- stability rewrites --------------
# Each rewrite maps a SymPy expression to an equal one that is finite wherever the math is.

def softplus_opt(e: sp.Expr) -> sp.Expr:
    """``log(1 + exp(u))``, ``log1p(exp(u))`` and ``max(u, 0) + log1p(exp(-|u|))`` -> ``softplus(u)``."""
    e = e.replace(lambda t: isinstance(t, log1p) and isinstance(t.args[0], sp.exp),
                  lambda t: softplus(t.args[0].args[0]))
    e = e.replace(lambda t: isinstance(t, sp.log) and t.args[0].is_Add and len(t.args[0].args) == 2
                  and sp.S.One in t.args[0].args and any(isinstance(a, sp.exp) for a in t.args[0].args),
                  lambda t: softplus(next(a for a in t.args[0].args if isinstance(a, sp.exp)).args[0]))

    def fold(add: sp.Expr) -> sp.Expr:
        terms = list(add.args)
        for t in terms:
            # softplus(-|u|) + max(u, 0) == softplus(u)
            if isinstance(t, softplus) and isinstance(-t.args[0], sp.Abs):
                u = (-t.args[0]).args[0]
                for m in (sp.Max(u, 0), sp.Max(-u, 0)):
                    if m in terms:
                        rest = [x for x in terms if x is not t and x != m]
                        return sp.Add(softplus(u if m == sp.Max(u, 0) else -u), *rest)
        return add
    return e.replace(lambda t: t.is_Add, fold)


def sigmoid_opt(e: sp.Expr) -> sp.Expr:
    """``1 / (1 + exp(-u))`` -> ``sigmoid(u)`` and ``exp(u) / (1 + exp(u))`` -> ``sigmoid(u)``."""
    def is_logistic_den(t):
        return (t.is_Pow and t.exp == -1 and t.base.is_Add and len(t.base.args) == 2 and sp.S.One in t.base.args
                and any(isinstance(a, sp.exp) for a in t.base.args))
    return e.replace(is_logistic_den,
                     lambda t: sigmoid(-next(a for a in t.base.args if isinstance(a, sp.exp)).args[0]))


def log1p_opt(e: sp.Expr) -> sp.Expr:
    """``log(1 + u)`` -> ``log1p(u)``."""
    return e.replace(lambda t: isinstance(t, sp.log) and t.args[0].is_Add and sp.S.One in t.args[0].args,
                     lambda t: log1p(t.args[0] - 1))


def expm1_opt(e: sp.Expr) -> sp.Expr:
    """``exp(u) - 1`` -> ``expm1(u)``."""
    def fold(add):
        if sp.S.NegativeOne in add.args:
            for t in add.args:
                if isinstance(t, sp.exp):
                    return sp.Add(expm1(t.args[0]), *[a for a in add.args if a is not t and a != -1])
        return add
    return e.replace(lambda t: t.is_Add, fold)


def log_sigmoid_opt(e: sp.Expr) -> sp.Expr:
    """``log(sigmoid(u))`` -> ``-softplus(-u)`` and ``log(1 - sigmoid(u))`` -> ``-softplus(u)``."""
    def is_log_sigmoid(t):
        return isinstance(t, sp.log) and isinstance(t.args[0], sigmoid)

    def is_log1m_sigmoid(t):
        return isinstance(t, log1p) and isinstance(-t.args[0], sigmoid)
    e = e.replace(is_log_sigmoid, lambda t: -softplus(-t.args[0].args[0]))
    return e.replace(is_log1m_sigmoid, lambda t: -softplus((-t.args[0]).args[0]))


def xlogy_opt(e: sp.Expr) -> sp.Expr:
    """``x*log(y)`` with ``x`` a variable of ``y`` (``p*log(p)``, ``p*log(p/q)``) -> ``xlogy(x, y)``: 0 where
    ``x == 0``, the limit, where NumPy gives ``0*-inf = nan``. Products of other factors stay as they are
    (``y*log(p)`` of labels and probabilities is finite wherever p > 0, and faster unguarded)."""
    def match(t) -> bool:
        if not t.is_Mul:
            return False
        logs = [a for a in t.args if isinstance(a, sp.log)]
        coeff, rest = t.as_coeff_Mul()
        others = [a for a in (rest.args if rest.is_Mul else (rest,)) if a not in logs]
        return len(logs) == 1 and len(others) == 1 and others[0].is_Symbol and \
            others[0] in logs[0].args[0].free_symbols

    def fold(t):
        coeff, rest = t.as_coeff_Mul()
        log = next(a for a in (rest.args if rest.is_Mul else (rest,)) if isinstance(a, sp.log))
        x = next(a for a in (rest.args if rest.is_Mul else (rest,)) if a is not log)
        return coeff * xlogy(x, log.args[0])
    return e.replace(match, fold)


REWRITES: list[Callable[[sp.Expr], sp.Expr]] = [softplus_opt, sigmoid_opt, log1p_opt, expm1_opt, log_sigmoid_opt,
                                                xlogy_opt]


def sigmoid_reflect(e: sp.Expr) -> sp.Expr:
    """``sigmoid(-u)`` -> ``1 - sigmoid(u)``: lets terms cancel (a candidate form, kept only if shorter)."""
    return e.replace(lambda t: isinstance(t, sigmoid) and t.args[0].could_extract_minus_sign(),
                     lambda t: 1 - sigmoid(-t.args[0]))


def _unstable(e: sp.Expr) -> int:
    """Logarithms of expressions that can underflow to 0 (exponentials, sigmoids)."""
    return sum(1 for t in sp.preorder_traversal(e)
               if isinstance(t, (sp.log, log1p)) and t.args[0].has(sp.exp, sigmoid))


def stabilize(e: sp.Expr) -> sp.Expr:
    """Apply every named rewrite of :data:`REWRITES`, in order."""
    for rewrite in REWRITES:
        e = rewrite(e)
    return e


# ---------------------------------------------------------------- passes -------------------------

def rewritten(node: Node, expr: sp.Expr, inputs: Sequence[Node]) -> Node:
    """An elementwise node standing where ``node`` stood: same shape, dtype, name and origin."""
    return elementwise(expr, inputs, shape=node.shape, origin=node.origin, dtype=node.dtype, name=node.name)


def _is_fusable(node: Node, users: dict[int, list[Node]], protected: set[int]) -> bool:
    return (node.op == "elementwise" and node.dtype != "bool" and id(node) not in protected
            and (not node.inputs or (node.name is None and len(users.get(id(node), ())) == 1)))


def fuse(outputs: list[Node]) -> list[Node]:
    """Inline anonymous single-use elementwise nodes (and constants) into their elementwise users."""
    users = consumers(outputs)
    protected = {id(o) for o in outputs}
    fusable = {id(n) for n in toposort(outputs) if _is_fusable(n, users, protected)}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op != "elementwise" or not any(id(old) in fusable and inp.op == "elementwise"
                                               for old, inp in zip(node.inputs, inputs)):
            return with_inputs(node, inputs)
        expr, new_inputs = node.expr, []
        mapping: dict[sp.Symbol, sp.Expr] = {}
        for i, (old, inp) in enumerate(zip(node.inputs, inputs)):
            room = len(ARG) - (len(new_inputs) + len(inp.inputs) + len(inputs) - i - 1)
            if id(old) in fusable and inp.op == "elementwise" and room >= 0:  # placeholders are finite
                base = len(new_inputs)
                new_inputs.extend(inp.inputs)
                mapping[ARG[i]] = inp.expr.xreplace({ARG[j]: ARG[base + j] for j in range(len(inp.inputs))})
            else:
                new_inputs.append(inp)
                mapping[ARG[i]] = ARG[len(new_inputs) - 1]
        fused = keep_domain(composed_requirements(expr, mapping), expr.xreplace(mapping))
        if sp.count_ops(fused) > FUSE_BUDGET:
            return with_inputs(node, inputs)
        return rewritten(node, fused, new_inputs)
    return rebuild(outputs, fn)


def elide_broadcasts(outputs: list[Node]) -> list[Node]:
    """An elementwise user broadcasts by itself: drop ``broadcast_to`` inputs that do not change its shape."""
    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op == "elementwise":
            trial = tuple(i.inputs[0] if i.op == "broadcast_to" else i for i in inputs)
            if trial != inputs and broadcast_shapes(*(i.shape for i in trial)) == node.shape:
                inputs = trial
        return with_inputs(node, inputs)
    return rebuild(outputs, fn)


#: What simplification did in the current compilation, one line each (shown by ``.graph``).


def _report(line: str) -> None:
    report = REPORT.get()
    if report is not None:
        report.append(line)


def simplify_exprs(outputs: list[Node]) -> list[Node]:
    """Stability rewrites, then cheap SymPy simplification of small expressions, within a time budget."""
    deadline = time.perf_counter() + SIMPLIFY_SECONDS

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op != "elementwise" or node.dtype == "bool" or not node.expr.free_symbols:
            return with_inputs(node, inputs)
        label = node.name or f"<{node.op} {node.origin.text if node.origin else ''}>"
        expr = stabilize(node.expr)
        if expr != node.expr:
            _report(f"{label}: stability rewrites: {node.expr}  ->  {expr}")
        size = sp.count_ops(expr)
        if size > SIMPLIFY_BUDGET:
            _report(f"{label}: not simplified: {size} operations > budget {SIMPLIFY_BUDGET}")
        elif time.perf_counter() >= deadline:
            _report(f"{label}: not simplified: the {SIMPLIFY_SECONDS} s budget of this compilation is spent")
        else:
            # on a tie the factored form: a common factor is one pass over the arrays, not one per term
            candidates = [sp.factor_terms(expr), expr, stabilize(sp.cancel(expr))]
            if expr.has(sigmoid):
                candidates.append(sp.factor_terms(sp.expand(sigmoid_reflect(expr))))
            best = min(candidates, key=sp.count_ops)
            if best != expr:
                _report(f"{label}: simplified ({size} -> {sp.count_ops(best)} operations): {expr}  ->  {best}")
            expr = best
        expr = keep_domain(node.expr, expr)
        if expr == node.expr:
            return with_inputs(node, inputs)
        return rewritten(node, expr, inputs)
    return rebuild(outputs, fn)


def lower(e: sp.Expr) -> sp.Expr:
    """Write sigmoid and softplus through ``exp(-|u|)``, stable and shareable between value and gradient:
    ``softplus(u) = max(u, 0) + log1p(exp(-|u|))``, ``sigmoid(u) = exp(min(u, 0)) / (1 + exp(-|u|))``
    (exact, and faster in NumPy than a ``where``)."""
    def low(t):
        u = t.args[0]
        e = sp.exp(sp.Min(u, 0) - sp.Max(u, 0))  # -|u|, from the min and max the forms use anyway
        if isinstance(t, softplus):
            return sp.Max(u, 0) + log1p(e)
        return sp.exp(sp.Min(u, 0)) / (1 + e)
    return e.replace(lambda t: isinstance(t, (sigmoid, softplus)), low)


def lower_functions(outputs: list[Node]) -> list[Node]:
    """Lower symdiff's scalar functions to NumPy-level stable forms (see :func:`lower`)."""
    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op != "elementwise" or not node.expr.has(sigmoid, softplus):
            return with_inputs(node, inputs)
        return rewritten(node, lower(node.expr), inputs)
    return rebuild(outputs, fn)


def inline_for_stability(outputs: list[Node]) -> list[Node]:
    """Substitute an elementwise input into a user whose logarithm then rewrites to a stable form,
    e.g. ``s = 1/(1 + exp(-z)); log(s)`` -> ``-softplus(-z)``. The input stays for its other users."""
    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op != "elementwise" or not node.expr.has(sp.log, log1p):
            return node
        for i, inp in enumerate(node.inputs):
            if inp.op != "elementwise" or inp.dtype == "bool" or not inp.expr.has(sp.exp, sigmoid):
                continue
            base = len(node.inputs)
            inner = inp.expr.xreplace({ARG[j]: ARG[base + j] for j in range(len(inp.inputs))})
            merged = node.expr.xreplace({ARG[i]: inner})  # SymPy already folds log(exp(u)) to u here
            better = keep_domain(composed_requirements(node.expr, {ARG[i]: inner}), stabilize(merged))
            risky = sum(1 for t in sp.preorder_traversal(node.expr)
                        if isinstance(t, (sp.log, log1p)) and t.args[0].has(ARG[i]))
            if _unstable(better) < _unstable(node.expr) + risky:
                node = rewritten(node, better, (*node.inputs, *inp.inputs))
        return node
    return rebuild(outputs, fn)


def _is_exp(node: Node) -> bool:
    return node.op == "elementwise" and node.expr == sp.exp(ARG[0])


def stable_softmax(outputs: list[Node]) -> list[Node]:
    """``exp(z) / sum(exp(z))`` -> ``exp(z - logsumexp(z))`` with the maximum shifted out, so a
    naive softmax (and the log of it, which then simplifies to ``z - logsumexp(z)``) stays finite."""
    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op != "elementwise" or len(node.inputs) != 2:
            return node
        for i, j in ((0, 1), (1, 0)):
            e, s = node.inputs[i], node.inputs[j]
            if not (node.expr == ARG[i] / ARG[j] and _is_exp(e) and s.op == "sum" and _is_exp(s.inputs[0])
                    and s.inputs[0].inputs[0] is e.inputs[0] and (s.param("keepdims") or s.ndim == 0)):
                continue
            z, axes = e.inputs[0], s.param("axis")
            m = stop_gradient(reduce("max", z, axis=axes, keepdims=True))
            total = reduce("sum", elementwise(sp.exp(ARG[0] - ARG[1]), (z, m)), axis=axes, keepdims=True)
            # named, so it is computed once and not fused (SymPy would split exp(z - log(t)) back into a ratio)
            lse = elementwise(sp.log(ARG[0]) + ARG[1], (total, m), origin=node.origin, name="logsumexp")
            _report(f"stable softmax: exp/sum(exp) over axes {axes} -> exp(z - logsumexp(z))")
            return rewritten(node, sp.exp(ARG[0] - ARG[1]), (z, lse))
        return node
    return rebuild(outputs, fn)


def merge_duplicates(outputs: list[Node]) -> list[Node]:
    """Nodes computing the same thing from the same inputs become one."""
    seen: dict[tuple, Node] = {}

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        node = with_inputs(node, inputs)
        if node.op == "input":
            return node
        return seen.setdefault(node.key(), node)
    return rebuild(outputs, fn)


def _positive_shares(replacements, reduced):
    """A shared ``-u`` is shared as ``u`` and negated where used, so printing never says ``--u``."""
    flip: dict[sp.Symbol, sp.Expr] = {}
    out = []
    for sym, sub in replacements:
        sub = sub.xreplace(flip)
        if sub.is_Mul and sub.args[0] == -1:
            flip[sym] = -sym
            sub = -sub
        out.append((sym, sub))
    return out, [e.xreplace(flip) for e in reduced]


def share_subexpressions(outputs: list[Node]) -> list[Node]:
    """Common subexpressions of all elementwise expressions (value and gradient alike) computed once."""
    order = toposort(outputs)
    nodes = [n for n in order if n.op == "elementwise" and n.dtype != "bool" and n.inputs]
    handles: dict[int, sp.Symbol] = {}
    by_handle: dict[sp.Symbol, Node] = {}
    for n in nodes:
        for inp in n.inputs:
            if id(inp) not in handles:
                handles[id(inp)] = sp.Symbol(f"_h{len(handles)}", real=True)
                by_handle[handles[id(inp)]] = inp
    exprs = [n.expr.xreplace({ARG[i]: handles[id(inp)] for i, inp in enumerate(n.inputs)}) for n in nodes]
    fresh = sp.numbered_symbols("_s", real=True)
    exprs, powers = share_powers(exprs, set(by_handle), fresh)
    exprs, sums = share_scaled_sums(exprs, fresh)
    sums = powers + sums
    replacements, reduced = sp.cse(exprs + [e for _, e in sums], symbols=sp.numbered_symbols("_c", real=True),
                                   order="none")
    replacements += [(s, e) for (s, _), e in zip(sums, reduced[len(exprs):])]
    reduced = reduced[:len(exprs)]
    if not replacements:
        return outputs
    replacements, reduced = _positive_shares(replacements, reduced)
    shared = dict(replacements)
    reduced_of = {id(n): e for n, e in zip(nodes, reduced)}
    new: dict[int, Node] = {}
    made: dict[sp.Symbol, Node] = {}

    def operand(s: sp.Symbol, user: Node) -> Node:
        if s in by_handle:
            return new[id(by_handle[s])]
        if s not in made:  # a shared subexpression, placed with its first user
            made[s] = build(shared[s], user, temporary=True)
        return made[s]

    def build(expr: sp.Expr, like: Node, temporary: bool = False) -> Node:
        syms = sorted((s for s in expr.free_symbols if s in by_handle or s in shared), key=lambda s: s.name)
        local = expr.xreplace({s: ARG[i] for i, s in enumerate(syms)})
        args = [operand(s, like) for s in syms]
        if temporary:
            return elementwise(local, args, origin=like.origin)
        return rewritten(like, local, args)

    for node in order:
        if id(node) in reduced_of:
            new[id(node)] = build(reduced_of[id(node)], node)
        else:
            new[id(node)] = with_inputs(node, tuple(new[id(i)] for i in node.inputs))
    return [new[id(o)] for o in outputs]


def run(outputs: Sequence[Node], passes: Sequence[Pass]) -> list[Node]:
    out = list(outputs)
    for p in passes:
        out = p(out)
    return out


def loop_bodies(outputs: list[Node]) -> list[Node]:
    """The pass list inside every rolled loop's body (see :mod:`symdiff.rewrite.loops`)."""
    return run_in_bodies(outputs, lambda: PASSES)


#: Passes on the traced function before differentiation (so rewrites see whole expressions).
FORWARD_PASSES: list[Pass] = [stable_softmax, fuse, drop_shift_gradient, simplify_exprs, inline_for_stability,
                              merge_duplicates]
#: Passes on the value together with its gradient.
PASSES: list[Pass] = [merge_loops, prune_loops, loop_bodies, prune_loops, elide_broadcasts, fuse, elide_broadcasts,
                      simplify_exprs, merge_duplicates, split_total_sums,
                      contract_products, pairwise_sums, merge_duplicates, fuse, add_diagonal, pairwise_squares,
                      merge_scatters, sums_as_products, lower_functions, share_subexpressions, merge_duplicates,
                      tidy_signs]

