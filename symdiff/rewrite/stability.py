"""Rewrites of one SymPy scalar expression into an equal one that is finite wherever the math is
(``log(1 + exp(u))`` -> ``softplus(u)``, ...), and the lowering of symdiff's scalar functions to stable
NumPy-level forms; :mod:`symdiff.rewrite.simplify` runs them on every elementwise node. Each function
of an expression alone is remembered: node expressions are over the shared placeholders, so a long
program asks the same question many times.

>>> from symdiff.ir.graph import ARG
>>> stabilize(sp.log(1 + sp.exp(ARG[0])))
softplus(_a0)
"""
from __future__ import annotations

import functools
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..ir.special import xlogy
from ..ir.scalar import sigmoid, softplus
from ..ir.templates import by_structure


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


@functools.lru_cache(maxsize=1 << 14)
def stabilize(e: sp.Expr) -> sp.Expr:
    """Apply every named rewrite of :data:`REWRITES`, in order. Each starts from a logarithm or an
    exponential (or a softplus), so an expression with none is left as it is without a look; the answer
    is remembered (node expressions are over the shared placeholders, so a long program repeats them)."""
    if not e.has(sp.log, log1p, sp.exp, softplus):
        return e
    for rewrite in REWRITES:
        e = rewrite(e)
    return e


@by_structure
def ops(e: sp.Expr) -> int:
    """SymPy's ``count_ops`` of ``e``, remembered (once per structure: see :mod:`symdiff.ir.templates`)."""
    return sp.count_ops(e)


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
