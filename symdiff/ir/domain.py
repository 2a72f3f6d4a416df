"""NumPy's domain survives simplification: NaN outside it, as NumPy computes.

SymPy reasons over the complex numbers, where ``exp(log(x)) == x``, ``sqrt(x)**2 == x`` and
``sin(asin(x)) == x`` hold everywhere; NumPy computes in the reals, where ``np.log(-2.0)`` is NaN and
so is everything after it. When fusion or simplification makes a NaN-producing operation vanish, the
code would return finite numbers where the user's NumPy function returns NaN (an optimizer that
rejects NaN steps would accept them). :func:`keep_domain` compares what the expression before a
rewrite requires of its arguments (:func:`requirements`) with what the rewritten one still
requires, and wraps the rewritten expression in :class:`nan_outside` for every requirement that
got lost and that SymPy cannot prove. The derivative of a guarded expression is the guarded
derivative, so the gradient is NaN where the value is. Expressions whose operations all survive
(every benchmark row, the stable rewrites: ``log(1 + exp(x))`` requires ``1 + exp(x) >= 0``, which
holds) are not touched.

>>> import sympy as sp
>>> from symdiff.ir.graph import ARG
>>> x = ARG[0]
>>> keep_domain(sp.exp(sp.log(x, evaluate=False), evaluate=False), sp.exp(sp.log(x)))
nan_outside(_a0, _a0 >= 0)
>>> keep_domain(sp.log(1 + sp.exp(x)), x)  # 1 + exp(x) > 0: nothing to keep
_a0
"""
from __future__ import annotations

import functools

import sympy as sp
from sympy.codegen.cfunctions import log1p, log2, log10

from .graph import arg_index
from .scalar import isfinite, sigmoid
from .special import mullog, xlog1py, xlogy
from .templates import by_structure


class nan_outside(sp.Function):
    """``nan_outside(e, c1, c2, ...)``: ``e`` where every condition ``ci`` holds, NaN elsewhere;
    printed as ``np.where(c1 & c2 ..., e, np.nan)``."""

    conditions_from = 1  # the arguments after the first are truth values (booleans stay booleans there)

    @classmethod
    def eval(cls, e, *conditions):
        if not conditions:
            return e
        if isinstance(e, nan_outside):  # one guard, all conditions
            return cls(e.args[0], *dict.fromkeys(e.args[1:] + conditions))
        return None

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_derivative(self, s):
        return nan_outside(self.args[0].diff(s), *self.args[1:])

    def _numpycode(self, printer):
        conditions = self.args[1:]
        cond = sp.And(*conditions, evaluate=False) if len(conditions) > 1 else conditions[0]
        return f"np.where({printer._print(cond)}, {printer._float_arg(self.args[0])}, np.nan)"


def _nonnegative(a: sp.Expr) -> sp.Basic:
    return sp.GreaterThan(a, 0)


def _number_exponent_requirements(base: sp.Expr, exp: sp.Expr):
    if not exp.is_Number:  # x**y: NaN for x < 0 unless y is a whole number
        return (sp.Or(_nonnegative(base), sp.Eq(sp.Mod(exp, 1), 0)),)
    out = []
    if not exp.is_integer and not (isinstance(exp, sp.Float) and float(exp).is_integer()):
        out.append(_nonnegative(base))  # x**0.5, x**(1/3): NaN for x < 0 in NumPy
    if exp.is_negative:
        out.append(sp.StrictGreaterThan(sp.Abs(base), 0))  # x/x is NaN at 0 (and NaN != 0 is true: not Ne)
    return out


def _own_requirements(t: sp.Basic):
    """Conditions NumPy needs for ``t``'s own operation to give a number (not NaN)."""
    if isinstance(t, nan_outside):
        return t.args[1:]
    if isinstance(t, (sp.log, log2, log10)):
        return (_nonnegative(t.args[0]),)
    if isinstance(t, log1p):
        return (_nonnegative(t.args[0] + 1),)
    if isinstance(t, (xlogy, mullog)):
        return (_nonnegative(t.args[1]),)
    if isinstance(t, xlog1py):
        return (_nonnegative(t.args[1] + 1),)
    if isinstance(t, (sp.asin, sp.acos, sp.atanh)):
        return (_nonnegative(1 - t.args[0] ** 2),)
    if isinstance(t, sp.acosh):
        return (_nonnegative(t.args[0] - 1),)
    if isinstance(t, sp.Pow):
        return _number_exponent_requirements(*t.args)
    return ()


def requirements(e: sp.Basic) -> dict[sp.Basic, None]:
    """The conditions ``e``'s operations need (see :func:`_requirements`), a fresh dict to change."""
    return dict(_requirements(e))


@functools.lru_cache(maxsize=1 << 14)  # (pure, and asked of the same expressions again and again)
def _requirements(e: sp.Basic) -> dict[sp.Basic, None]:
    """The conditions (relations over the placeholders) that ``e``'s operations need, in order;
    conditions SymPy decides are true on their own (``exp(x) + 1 >= 0``) are left out. Every
    placeholder ``e`` uses counts as ``isfinite(a)``: an input that cancels away (``a - a``, ``a/a``)
    would have made NumPy's result NaN where it is infinite or NaN (NaN from its own domain)."""
    out: dict[sp.Basic, None] = dict.fromkeys(isfinite(s) for s in sorted(e.free_symbols, key=str)
                                              if arg_index(s) is not None)
    for t in sp.preorder_traversal(e):
        for c in _own_requirements(t):
            if c is not sp.true:
                out[c] = None
    return out


def _proved(c: sp.Basic) -> bool:
    """True if ``c`` holds for all real placeholders, seen after writing sigmoids as exponentials
    (``1 - sigmoid(x) >= 0``: ``exp(-x) / (1 + exp(-x)) >= 0``)."""
    if not isinstance(c, (sp.GreaterThan, sp.StrictGreaterThan)):
        return False
    nonzero = isinstance(c.lhs, sp.Abs)  # |u| > 0: u != 0
    lhs = c.lhs.args[0] if nonzero else c.lhs
    lhs = sp.together(lhs.rewrite(sigmoid, sp.exp) if lhs.has(sigmoid) else lhs)
    return bool(lhs.is_nonzero if nonzero else lhs.is_nonnegative)


def composed_requirements(outer: sp.Expr, mapping: dict[sp.Symbol, sp.Expr]) -> dict[sp.Basic, None]:
    """What ``outer.xreplace(mapping)`` needs before SymPy evaluates the composition: the
    requirements of ``outer`` (at the substituted arguments) and those of every substituted expression."""
    out = dict.fromkeys(c.xreplace(mapping) for c in requirements(outer) if not isinstance(c, isfinite))
    for a in outer.free_symbols:
        out.update(requirements(mapping.get(a, a)))
    out.pop(sp.true, None)
    return out


def keep_domain(before, after: sp.Expr) -> sp.Expr:
    """``after`` (equal to ``before`` where both are defined), NaN wherever ``before`` is by its
    domain: the requirements of ``before`` (an expression, or its requirements already collected)
    that ``after`` lost are kept by a :class:`nan_outside`."""
    if after is before or (isinstance(after, sp.logic.boolalg.Boolean) and not isinstance(after, sp.Expr)):
        return after  # a truth value is never NaN: NumPy's comparisons and logic of NaN give False
    required = requirements(before) if isinstance(before, sp.Basic) else before
    if not required:
        return after
    have = requirements(after)
    lost = [c for c in required if c not in have and not _proved(c)]
    if not lost:
        return after
    return nan_outside(after, *lost)


# ---------------------------------------------------------------- derivatives at a zero base ------

def _at_zero_base(m: sp.Mul) -> sp.Expr:
    """In a product with ``b**e`` (``e`` not a number): ``b**e / b`` -> ``b**(e - 1)`` and
    ``b**e * log(b)**k`` -> ``mullog(... mullog(b**e, b) ..., b)``, exact and finite at ``b = 0``."""
    factors = list(m.args)
    for p in [f for f in factors if isinstance(f, sp.Pow) and not f.exp.is_Number]:
        if p not in factors:
            continue
        b, e, k = p.base, p.exp, 0
        for q in list(factors):
            if isinstance(q, sp.Pow) and q.base == b and q.exp.is_Integer and q.exp < 0:
                factors.remove(q)
                e += q.exp
            elif q == sp.log(b) or (isinstance(q, sp.Pow) and q.base == sp.log(b) and q.exp.is_Integer and q.exp > 0):
                factors.remove(q)
                k += 1 if q == sp.log(b) else int(q.exp)
        if e == p.exp and not k:
            continue
        factors.remove(p)
        out = sp.Mul(*factors, b ** e)
        for _ in range(k):
            out = mullog(out, b)
        return out
    return m


@by_structure  # (a pure function: a long program asks for the same derivatives, its constants aside)
def derivative(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """``d expr / d x`` as SymPy gives it, with the derivatives of ``b**e`` in a form that is right
    at ``b = 0``: SymPy's ``b**e * e / b`` and ``b**e * log(b)`` are ``0/0`` and ``0 * -inf`` there
    (NaN), where ``e * b**(e - 1)`` and the limit 0 are the derivatives (``np.power(0.0, y)``)."""
    d = sp.diff(expr, x)
    if not any(isinstance(t, sp.Pow) and not t.exp.is_Number for t in sp.preorder_traversal(d)):
        return d
    return d.replace(lambda t: isinstance(t, sp.Mul), _at_zero_base)
