"""SymPy's ``cse`` (``order="none"``) with its costly search skipped where it can find nothing.

``sympy.cse`` first looks for optimisations (``opt_cse``): negated products and sums, powers with a
negative exponent, and sums (products) with two or more terms (factors) in common with another, which
``match_common_args`` turns into a shared partial sum. Then ``tree_cse`` shares every repeated
subexpression. On a long program the first step is most of the time (it asks every sum whether it
``could_extract_minus_sign``, which negates terms, and sets up its argument tracker), and the third
kind of optimisation is rarely there. :func:`cse` finds the first two kinds itself (the signs read with
:mod:`symdiff.ir.text`) and, when no two sums or products have two arguments in common, hands them to
SymPy's ``tree_cse`` directly: the same answer as ``sympy.cse``, which is called whenever they do.

>>> import sympy as sp
>>> a, b = sp.symbols("a b", real=True)
>>> cse([sp.tanh(a), b * (1 - sp.tanh(a) ** 2)], sp.numbered_symbols("c"))
([(c0, tanh(a))], [c0, b*(1 - c0**2)])
"""
from __future__ import annotations

from typing import Any, Iterator

import sympy as sp
from sympy.simplify.cse_main import Unevaluated, tree_cse

from ..ir.text import minus
from .sharing import two_in_common


def cse(exprs: list[sp.Expr], symbols: Iterator[sp.Symbol]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """``sympy.cse(exprs, symbols=symbols, order="none")``: (replacements, reduced expressions)."""
    found = _optimisations(exprs)
    if found is None:
        return sp.cse(exprs, symbols=symbols, order="none")
    replacements, reduced = tree_cse(exprs, symbols, found, "none", ())
    return list(replacements), list(reduced)


def _optimisations(exprs: list[sp.Expr]) -> dict[sp.Basic, Any] | None:
    """What ``opt_cse`` would answer for ``exprs`` when no two of their sums (products) have two
    arguments in common; None if some do, or if an expression is of a kind this does not read."""
    subs: dict[sp.Basic, Any] = {}
    seen: set[sp.Basic] = set()
    adds: dict[sp.Basic, None] = {}  # (ordered sets)
    muls: dict[sp.Basic, None] = {}
    for root in exprs:
        if not isinstance(root, sp.Basic):
            return None
        stack: list[tuple[sp.Basic, bool]] = [(root, False)]
        while stack:  # post-order: each subexpression after its arguments, as opt_cse visits them
            e, ready = stack.pop()
            if e.is_Atom or e.is_Order:
                continue
            if not ready:
                if e in seen:
                    continue
                seen.add(e)
                stack.append((e, True))
                stack.extend((a, False) for a in reversed(e.args))
                continue
            if isinstance(e, sp.MatrixExpr) or (isinstance(e, sp.Mul) and not e.is_commutative):
                return None  # (opt_cse splits a product's noncommutative factors off)
            if _could_extract_minus_sign(e):
                neg = sp.Add(*(-t for t in e.args)) if isinstance(e, sp.Add) else -e
                if not neg.is_Atom:
                    subs[e] = Unevaluated(sp.Mul, (sp.S.NegativeOne, neg))
                    seen.add(neg)
                    e = neg
            if isinstance(e, (sp.Add, sp.Mul)):
                if len(e.args) == 1:
                    return None  # (a one-argument sum or product: opt_cse collapses it)
                (adds if isinstance(e, sp.Add) else muls)[e] = None
            elif isinstance(e, sp.Pow) and _could_extract_minus_sign(e.exp):
                subs[e] = Unevaluated(sp.Pow, (sp.Pow(e.base, -e.exp), -1))
    if next(two_in_common([*adds, *muls]), None) is not None:
        return None
    return subs


def _could_extract_minus_sign(e: sp.Basic) -> bool:
    """SymPy's ``e.could_extract_minus_sign()``; a sum's counted with :func:`~symdiff.ir.text.minus`
    (SymPy's own answer only where the count is even)."""
    if isinstance(e, sp.Add):
        negative = sum(1 for t in e.args if minus(t))
        if 2 * negative != len(e.args):
            return 2 * negative > len(e.args)
        return e.could_extract_minus_sign()
    return minus(e) if isinstance(e, (sp.Mul, sp.Number)) else e.could_extract_minus_sign()
