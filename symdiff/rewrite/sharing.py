"""Which expressions of a group can share anything: the others need not go through SymPy's ``cse``.

``sympy.cse`` finds two things: a subexpression that occurs more than once (in one expression or in
two), and sums or products with two or more terms in common (``a + b + c`` and ``a + b + d`` share
``a + b``). An expression in which neither happens, against every other of its group, comes out of it
as it went in, but ``cse`` takes a millisecond or so to find that out (it rebuilds every expression
it walks, and SymPy evaluates each function in it again). A long straight-line program is mostly
such expressions (``sin(h1)``, ``0.9*h2``, ``dy*cos(h3)``): :func:`may_share` picks the others, in one
walk over the group.

>>> import sympy as sp
>>> a, b, c, d = sp.symbols("a b c d", real=True)
>>> may_share([sp.sin(a), sp.cos(a) * b, sp.exp(a + b), 2 * sp.exp(a + b), a + b + c, b + c + d])
[False, False, True, True, True, True]
>>> may_share([sp.sin(a), sp.cos(a) * b, -a - b, c * (a + b), c / d**2, d**2])
[False, False, True, True, True, True]
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Iterator, Sequence

import sympy as sp


def _subtrees(e: sp.Basic) -> list[sp.Basic]:
    """Every subexpression of ``e`` that is not an atom, with repetition (iterative)."""
    out, stack = [], [e]
    while stack:
        t = stack.pop()
        if t.args:
            out.append(t)
            stack.extend(t.args)
    return out


def _unsigned(t: sp.Basic) -> tuple:
    """``t`` up to its sign (``cse`` shares ``-u`` with ``u``, ``x**-2`` with ``x**2``)."""
    if isinstance(t, sp.Mul):
        c, rest = (t.args[0], t.args[1:]) if t.args[0].is_Number else (sp.S.One, t.args)
        return ("mul", abs(c), rest)
    if isinstance(t, sp.Add):
        return ("add", frozenset(_unsigned(a) if isinstance(a, sp.Mul) else ("mul", abs(a), ()) if a.is_Number
                                 else ("mul", sp.S.One, (a,)) for a in t.args))
    if isinstance(t, sp.Pow) and t.exp.is_Number:
        return ("pow", t.base, abs(t.exp))
    return ("tree", t)


def may_share(exprs: list[sp.Expr]) -> list[bool]:
    """For each expression, whether ``cse`` of all of them may find something in it (True when in doubt):
    a subexpression of it that occurs twice in the group (up to its sign), or a sum (product) in it with
    two terms (factors) in common with another sum (product) of the group, or with itself."""
    trees = [_subtrees(e) for e in exprs]
    seen = Counter(_unsigned(t) for ts in trees for t in ts)
    nodes = [(i, t) for i, ts in enumerate(trees) for t in ts if isinstance(t, (sp.Add, sp.Mul))]
    out = [any(seen[_unsigned(t)] > 1 for t in ts) for ts in trees]
    for k, j in two_in_common([t for _, t in nodes], skip=lambda k: out[nodes[k][0]]):
        out[nodes[k][0]] = out[nodes[j][0]] = True
    return out


def two_in_common(funcs: Sequence[sp.Basic], skip: Callable[[int], bool] | None = None) -> Iterator[tuple[int, int]]:
    """For each of ``funcs`` (sums and products) that has two or more arguments in common with another of
    its kind, ``(its index, the other's)`` (the first such other); ``skip(k)``, asked when ``k``'s turn
    comes: ``funcs[k]`` is not looked at."""
    owners: dict[tuple[type, sp.Basic], list[int]] = {}  # (Add or Mul, an argument) -> indices of its funcs
    for k, f in enumerate(funcs):
        for a in set(f.args):
            owners.setdefault((type(f), a), []).append(k)
    for k, f in enumerate(funcs):
        if skip is not None and skip(k):
            continue
        common = Counter(j for a in set(f.args) for j in owners[(type(f), a)] if j != k)
        j = next((j for j, n in common.items() if n >= 2), None)
        if j is not None:
            yield k, j
