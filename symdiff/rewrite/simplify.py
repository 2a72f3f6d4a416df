"""Graph passes: fuse elementwise chains, undo needless broadcasts, rewrite for stability (the
rewrites of one expression are in :mod:`symdiff.rewrite.stability`), simplify under a budget, and share
common subexpressions. Each pass is a pure function from output nodes to output nodes; :data:`PASSES`
lists them in the order they run.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Sequence

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ..ir.domain import composed_requirements, keep_domain
from ..ir.graph import ARG, Node, rebuild, toposort, with_inputs
from ..ir.primitives import broadcast_to, copy, elementwise, reduce, stop_gradient
from .speed import (contract_products, drop_shift_gradient, share_powers, share_scaled_sums, split_total_sums,
                       tidy_signs)
from .arrays import add_diagonal, merge_scatters, pairwise_squares, pairwise_sums, stack_parts
from ..ir.scalar import sigmoid, softplus
from ..ir.shapes import broadcast_shapes
from ..ir.templates import by_structure, rename
from .fusion import FUSE_BUDGET, FUSE_TERMS, _is_fusable, fuse, rewritten  # noqa: F401
from .report import REPORT
from .sharing import may_share
from .cse import cse
from .stability import (REWRITES, _unstable, expm1_opt, log1p_opt, log_sigmoid_opt, lower, ops,  # noqa: F401
                        sigmoid_opt, sigmoid_reflect, softplus_opt, stabilize, xlogy_opt)
from .loop_accumulate import push_out_accumulations
from .loop_batch import hoist_loop_work
from .loop_state import recompute_stored, unstack_carries
from .loops import merge_loops, prune_loops, run_in_bodies

SIMPLIFY_BUDGET = 40
#: Seconds of simplification per graph; past it, expressions are left as they are.
SIMPLIFY_SECONDS = 2.0

Pass = Callable[[list[Node]], list[Node]]


# ---------------------------------------------------------------- passes -------------------------

def elide_broadcasts(outputs: list[Node]) -> list[Node]:
    """An elementwise user broadcasts by itself: drop ``broadcast_to`` inputs that do not change its shape.
    A reshape of a broadcast scalar is the scalar broadcast to the new shape (the gradient of a mean
    over rows, ``np.reshape(np.broadcast_to(-1/n, (n,)), (n, 1))``, is ``-1/n``, which its user
    broadcasts by itself)."""
    out_ids = {id(o) for o in outputs}  # (an output stays an array of its own: never a read-only broadcast)

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op == "reshape" and inputs[0].op == "broadcast_to" and inputs[0].inputs[0].ndim == 0:
            return broadcast_to(inputs[0].inputs[0], node.shape)
        if node.op == "elementwise":
            trial = tuple(i.inputs[0] if i.op == "broadcast_to" else i for i in inputs)
            shape = broadcast_shapes(*(i.shape for i in trial))
            if trial != inputs and shape == node.shape:
                inputs = trial
            elif trial != inputs and all(i.op == "broadcast_to" or not i.shape for i in inputs):
                # numbers broadcast, then combined: the number combined, then broadcast (its users
                # broadcast it by themselves): 0.5*np.broadcast_to(1, (n,)) is 0.5; an output is
                # an array of its own (np.full((n,), 0.5))
                inner = dataclasses.replace(node, inputs=trial, shape=shape, name=None)
                out = broadcast_to(inner, node.shape)
                return dataclasses.replace(copy(out), name=node.name) if id(node) in out_ids else out
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
        size = ops(expr)
        if size > SIMPLIFY_BUDGET:
            _report(f"{label}: not simplified: {size} operations > budget {SIMPLIFY_BUDGET}")
        elif time.perf_counter() >= deadline:
            _report(f"{label}: not simplified: the {SIMPLIFY_SECONDS} s budget of this compilation is spent")
        else:
            best = _simplest(expr)
            if best != expr:
                _report(f"{label}: simplified ({size} -> {ops(best)} operations): {expr}  ->  {best}")
            expr = best
        expr = keep_domain(node.expr, expr)
        if expr == node.expr:
            return with_inputs(node, inputs)
        return rewritten(node, expr, inputs)
    return rebuild(outputs, fn)


@by_structure
def _simplest(expr: sp.Expr) -> sp.Expr:
    """The shortest of SymPy's cheap forms of ``expr``; on a tie the factored form (a common factor is
    one pass over the arrays, not one per term)."""
    candidates = [sp.factor_terms(expr), expr, stabilize(sp.cancel(expr))]
    if expr.has(sigmoid):
        candidates.append(sp.factor_terms(sp.expand(sigmoid_reflect(expr))))
    return min(candidates, key=ops)


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
    exprs = _renamed([n.expr for n in nodes], [{ARG[i]: handles[id(inp)] for i, inp in enumerate(n.inputs)}
                                               for n in nodes], len(nodes) > CSE_WINDOW)
    fresh = sp.numbered_symbols("_s", real=True)
    exprs, powers = share_powers(exprs, set(by_handle), fresh)
    exprs, sums = share_scaled_sums(exprs, fresh)
    sums = powers + sums
    replacements, reduced = bounded_cse(exprs + [e for _, e in sums], sp.numbered_symbols("_c", real=True))
    replacements += [(s, e) for (s, _), e in zip(sums, reduced[len(exprs):])]
    reduced = reduced[:len(exprs)]
    if not replacements:
        return outputs
    replacements, reduced = _positive_shares(replacements, reduced)
    shared = dict(replacements)
    reduced_of = {id(n): e for n, e in zip(nodes, reduced)}
    new: dict[int, Node] = {}
    made: dict[sp.Symbol, Node] = {}
    owners = _owners(nodes, reduced, shared)

    def operand(s: sp.Symbol, user: Node) -> Node:
        if s in by_handle:
            return new[id(by_handle[s])]
        if s not in made:  # a shared subexpression, placed with its first user
            owner = owners.get(s)
            made[s] = build(shared[s], user, temporary=True) if owner is None else build(shared[s], owner)
        return made[s]

    def build(expr: sp.Expr, like: Node, temporary: bool = False) -> Node:
        syms = sorted((s for s in expr.free_symbols if s in by_handle or s in shared), key=lambda s: s.name)
        local = rename(expr, {s: ARG[i] for i, s in enumerate(syms)})
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


def _owners(nodes: list[Node], reduced: list[sp.Expr], shared: dict) -> dict[sp.Symbol, Node]:
    """Shared subexpressions that are the whole value of a named node (``h = np.tanh(a)`` whose
    ``tanh(a)`` the gradient reads too): the shared node is built as that node, so it keeps the user's
    name and source line (``h = ...``, not ``t1 = ...`` with ``h`` an alias of it)."""
    owners: dict[sp.Symbol, Node] = {}
    for node, expr in zip(nodes, reduced):
        if node.name is not None and expr in shared and expr not in owners:
            owners[expr] = node
    return owners


#: Largest number of expressions one call of SymPy's ``cse`` sees (its time grows faster than their number).
CSE_WINDOW = 100


def _renamed(exprs: list[sp.Expr], names: list[dict[sp.Symbol, sp.Symbol]], large: bool) -> list[sp.Expr]:
    """Each expression with its placeholders renamed. In a large program without SymPy evaluating again
    what it evaluated already (a renaming changes no value; evaluating costs a millisecond per expression),
    under one switch for all of them (SymPy clears its cache at every switch)."""
    if not large:
        return [e.xreplace(m) for e, m in zip(exprs, names)]
    with sp.evaluate(False):
        return [rename(e, m, as_written=True) for e, m in zip(exprs, names)]


def bounded_cse(exprs: list[sp.Expr], symbols) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """``sympy.cse(exprs)`` (replacements, reduced expressions), with SymPy seeing at most
    :data:`CSE_WINDOW` expressions at once. A program of more is cut into groups of expressions that
    share a symbol (an array): two expressions with no array in common have no subexpression in common.
    Each expression joins the group of the last expression that used one of its arrays while that group
    has room, so the value and the gradient of one line (``sin(y)`` and ``dy*cos(y)``) still share."""
    if len(exprs) <= CSE_WINDOW:
        return _cse_of_sharing(exprs, list(range(len(exprs))), symbols)
    parent = list(range(len(exprs)))
    size = [1] * len(exprs)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    last: dict[sp.Symbol, int] = {}
    for i, e in enumerate(exprs):
        for sym in sorted(e.free_symbols, key=lambda t: t.name):
            j = last.get(sym)
            last[sym] = i
            a, b = root(i), root(j) if j is not None else None
            if b is not None and a != b and size[a] + size[b] <= CSE_WINDOW:
                parent[a] = b
                size[b] += size[a]
    groups: dict[int, list[int]] = {}
    for i in range(len(exprs)):
        groups.setdefault(root(i), []).append(i)
    batches: list[list[int]] = [[]]  # unrelated groups side by side, up to the window (fewer calls)
    for members in groups.values():
        if len(batches[-1]) + len(members) > CSE_WINDOW:
            batches.append([])
        batches[-1].extend(members)
    replacements: list[tuple[sp.Symbol, sp.Expr]] = []
    reduced: list[sp.Expr] = list(exprs)
    for members in batches:
        found, reduced = _cse_of_sharing(reduced, members, symbols)
        replacements += found
    return replacements, reduced


def _cse_of_sharing(exprs: list[sp.Expr], members: list[int], symbols):
    """SymPy's ``cse`` of the ``members`` of ``exprs`` that may share something with another (see
    :func:`~symdiff.rewrite.sharing.may_share`; the others would come out as they went in):
    (replacements, ``exprs`` with those members reduced)."""
    members = [i for i, m in zip(members, may_share([exprs[i] for i in members])) if m]
    reduced = list(exprs)
    if not members:
        return [], reduced
    found, out = cse([exprs[i] for i in members], symbols)
    for i, e in zip(members, out):
        reduced[i] = e
    return found, reduced


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
                              merge_duplicates, unstack_carries]
#: Passes on the value together with its gradient.
PASSES: list[Pass] = [merge_loops, prune_loops, loop_bodies, hoist_loop_work, push_out_accumulations, recompute_stored,
                      prune_loops, elide_broadcasts, fuse, elide_broadcasts,
                      simplify_exprs, merge_duplicates, split_total_sums,
                      contract_products, pairwise_sums, merge_duplicates, fuse, add_diagonal, pairwise_squares,
                      merge_scatters, stack_parts, lower_functions, share_subexpressions, merge_duplicates,
                      tidy_signs]

