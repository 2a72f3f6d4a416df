"""Signs and precedences of SymPy expressions read without rebuilding them, and the text of an expression.

SymPy's printers ask a product whether it ``could_extract_minus_sign``, and a product answers by
building its own negation to compare with: on a long program that is most of the printing time. The
functions here answer the same questions from the expression as it stands.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> minus(-2 * x), minus(x * y), precedence(-2 * x) == precedence(x + y)
(True, False, True)
>>> expr_text(sp.Float(1.5) * sp.cos(x) - y)
'1.5*cos(x) - y'
"""
from __future__ import annotations

import functools

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.precedence import precedence as sympy_precedence
from sympy.printing.str import StrPrinter


def negative(c: sp.Expr) -> bool:
    """``c.is_extended_negative`` of a number, read from the number itself (SymPy's assumptions deduce
    every fact of a new Float first: tens of microseconds each)."""
    if c.is_Float:
        return c._mpf_[0] == 1  # the sign bit (mpmath has no negative zero; NaN's is 0)
    if c.is_Rational:
        return c.p < 0
    return bool(c.is_extended_negative)


def minus(term: sp.Expr) -> bool:
    """``term.could_extract_minus_sign()``, for a product or a number without building ``-term``."""
    if term.is_Mul:
        c = term.args[0]
        return c.is_Number and negative(c)
    if term.is_Number:
        return negative(term)
    return term.could_extract_minus_sign()


def print_order(expr: sp.Add) -> list[sp.Expr]:
    """The terms of a sum in the order they are printed: SymPy's canonical order (its print order sorts
    them again, 20 times slower on a long sum), the terms added before those subtracted, numbers last in
    each (``x - y + 1`` is printed ``x + 1 - y``; ``1 - x**2`` and ``n + 1`` as a person writes them)."""
    return sorted(expr.args, key=lambda t: (minus(t), t.is_Number))


def precedence(item) -> int:
    """SymPy's precedence of ``item`` (a product's sign found with :func:`minus`)."""
    if isinstance(item, sp.Mul) and not any(isinstance(a, sp.Function) and hasattr(a, "precedence")
                                            for a in item.args):
        return PRECEDENCE["Add"] if minus(item) else PRECEDENCE["Mul"]
    return sympy_precedence(item)


class _Text(StrPrinter):
    """SymPy's text, terms and factors in SymPy's canonical order (its default print order sorts them
    again: 20 times slower on a long sum), signs read with :func:`minus`."""

    def __init__(self) -> None:
        super().__init__({"order": "none"})

    def parenthesize(self, item, level, strict=False) -> str:
        prec = precedence(item)
        code = self._print(item)
        return f"({code})" if prec < level or (not strict and prec <= level) else code

    def _print_Mul(self, expr) -> str:
        """A product as SymPy's text has it (``-2.5*x*y/z**2``), written from its arguments as they are
        (SymPy's makes the product again without its sign, and again without its denominator)."""
        args = expr.args
        c = args[0] if args[0].is_Number else sp.S.One
        factors = args[1:] if args[0].is_Number else args
        sign = ""
        if negative(c):
            sign, c = "-", -c
        num: list[sp.Expr] = []
        den: list[sp.Expr] = []
        if c.is_Rational and not c.is_Integer:
            num += [c.func(c.p)] if c.p != 1 else []
            den.append(sp.Integer(c.q))
        elif c is not sp.S.One:
            num.append(c)
        for f in factors:
            if f.is_commutative and f.is_Pow and f.exp.is_Number and negative(f.exp):
                den.append(f.base if f.exp == -1 else sp.Pow(f.base, -f.exp, evaluate=False))
            else:
                num.append(f)
        prec = PRECEDENCE["Mul"]
        top = "*".join(self.parenthesize(f, prec) for f in num) if num else "1"
        if not den:
            return sign + top
        bottom = self.parenthesize(den[0], prec) if len(den) == 1 else \
            "(" + "*".join(self.parenthesize(f, prec) for f in den) + ")"
        return f"{sign}{top}/{bottom}"

    def _print_Add(self, expr, order=None) -> str:
        out = []
        for term in print_order(expr):
            text = self._print(term)
            sign = "+"
            if text.startswith("-") and not term.is_Add:
                sign, text = "-", text[1:]
            if precedence(term) < PRECEDENCE["Add"] or term.is_Add:
                text = f"({text})"
            out += [sign, text]
        sign = out.pop(0)
        return ("-" if sign == "-" else "") + " ".join(out)


_TEXT = _Text()


@functools.lru_cache(maxsize=1 << 16)
def expr_text(expr: sp.Expr) -> str:
    """The text of an expression, remembered: the printed graph and its picture show the same
    expressions, and a long program repeats the same few (``sin(_a0)``) many times."""
    return _TEXT.doprint(expr)
