"""NumPy code for nodes and SymPy expressions, strict: anything unknown raises.

:class:`ExprPrinter` is SymPy's ``NumPyPrinter`` with ``np.`` names, exact float literals and
stable or readable forms for functions (``np.where`` for Piecewise, ``np.heaviside``,
``np.maximum``); functions defined by symdiff print themselves through ``_numpycode``.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> ExprPrinter({x: "x"}).doprint(sp.Max(x, 0) + sp.Float(0.1) * sp.exp(-x))
'0.1*np.exp(-x) + np.maximum(x, 0.0)'
"""
from __future__ import annotations

import ast
import functools
import keyword
from typing import Sequence

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from ...ir.graph import ARG
from ...ir.scalar import HELPERS
from ...ir.text import minus, precedence, print_order


_BINOP_PRECEDENCE = {ast.Add: 40, ast.Sub: 40, ast.Mult: 50, ast.Div: 50, ast.FloorDiv: 50, ast.Mod: 50,
                     ast.MatMult: 49, ast.Pow: 60}


def _wrapped(code: str) -> bool:
    """Whether ``code`` is one parenthesised group, ``(...)``."""
    if not (code.startswith("(") and code.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(code):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(code) - 1:
            return False
    return True


def float_coefficients(e: sp.Expr) -> sp.Expr:
    """Integer terms and factors of sums and products as floats (``400*x + 1`` -> ``400.0*x + 1.0``):
    NumPy combines a Python float with an array faster than an int, to the same result. Exponents,
    signs and the arguments of functions (``round(x, 2)``) stay integers."""
    if e.is_Atom or not e.args:
        return e
    args = [float_coefficients(a) for a in e.args]
    if e.is_Add or e.is_Mul:
        args = [sp.Float(a) if a.is_Integer and abs(a) != 1 and abs(a) < 2 ** 53 else a for a in args]
        if e.is_Add:
            args = [sp.Float(a) if a.is_Integer else a for a in args]
    if all(a is b for a, b in zip(args, e.args)):  # nothing to change: no rebuild (SymPy would evaluate again)
        return e
    if e.is_Add or e.is_Mul:
        return e.func(*args, evaluate=False)
    if e.is_Pow:
        return e.func(args[0], e.exp, evaluate=False)
    return e.func(*args)


def unwrap(code: str) -> str:
    """``code`` without parentheses around the whole of it (``(x*x*x)`` -> ``x*x*x``)."""
    while _wrapped(code):
        code = code[1:-1]
    return code


def code_precedence(code: str) -> int:
    """SymPy-scale precedence of a piece of Python code (``x @ w`` binds just below ``*``, so it is
    parenthesised inside products, where NumPy's left-to-right ``@``/``*`` would change its meaning)."""
    if _wrapped(code) or (code.isidentifier() and not keyword.iskeyword(code)):  # (a name: most operands)
        return 1000
    return _parsed_precedence(code)


@functools.lru_cache(maxsize=1 << 12)
def _parsed_precedence(code: str) -> int:
    try:
        node = ast.parse(code, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):  # (too deep to parse: parenthesise it)
        return 0
    if isinstance(node, ast.Constant):
        return 1000 if not (isinstance(node.value, (int, float)) and node.value < 0) else 45
    if isinstance(node, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)):
        return 1000
    if isinstance(node, ast.BinOp):
        return _BINOP_PRECEDENCE.get(type(node.op), 0)
    if isinstance(node, ast.UnaryOp):
        return 45
    return 0


#: Deepest nesting of the code of an operand printed inline in its user. Python's parser recurses by
#: nesting (and a chain ``a*b*c`` nests as deep as it is long), so code that would go deeper gets a
#: statement and a name of its own: a statement nests at most this plus the depth of one node's own
#: expression (which fusion bounds), however long the program (3,500 chained np.sin compile).
MAX_CODE_DEPTH = 60


def code_depth(node, input_depths: Sequence[int]) -> int:
    """How deep the code of ``node`` nests when its inputs' code (of ``input_depths``) is inlined."""
    deepest = max(input_depths, default=0)
    if node.op != "elementwise":
        return deepest + 1
    arg_depth = {ARG[i]: d for i, d in enumerate(input_depths)}
    depths: dict[int, int] = {}  # (by id: a walk of the expression's own objects, nothing hashed)
    stack: list[tuple[sp.Basic, bool]] = [(node.expr, False)]
    while stack:  # children before their parents
        e, ready = stack.pop()
        if id(e) in depths:
            continue
        if not e.args:
            depths[id(e)] = arg_depth.get(e, 0) if e.is_Symbol else 0
        elif not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args)
        else:
            width = len(e.args) - 1 if isinstance(e, (sp.Add, sp.Mul)) else 1
            depths[id(e)] = max(depths[id(a)] for a in e.args) + max(width, 1)
    return depths.get(id(node.expr), deepest)


def is_atomic(code: str) -> bool:
    """Whether ``code`` can stand as an operand without parentheses."""
    return code_precedence(code) >= 1000


def _power(x: str, e: int) -> str:
    """``x**e`` by squaring, with NumPy's fast ``**2``: ``x*x*x``, ``(x*x)**2``, ``(x*x*x)**2*x``."""
    if e <= 3:
        return "*".join([x] * e)
    half = f"({_power(x, e // 2)})**2"
    return half if e % 2 == 0 else f"{half}*{x}"


def _snapped(v: float) -> float:
    """``v``, or the simple fraction ``p/q`` (``q <= 16``) within a few units in the last place of it:
    ``0.5``, not the ``0.4999999999999999`` that rounding in SymPy's float arithmetic leaves."""
    import math
    if not math.isfinite(v) or v == 0:
        return v
    for q in range(1, 17):
        p = round(v * q)
        if p != 0 and abs(v - p / q) <= 4 * math.ulp(v):
            return p / q
    return v


class ExprPrinter(NumPyPrinter):
    """Prints scalar SymPy expressions as NumPy code over named arrays."""

    def __init__(self, symbol_code: dict[sp.Symbol, str], helpers: "Helpers | None" = None,
                 small: frozenset[sp.Symbol] | set[sp.Symbol] = frozenset(), float_literals: bool = False,
                 integer: bool = False, floating: frozenset[sp.Symbol] | set[sp.Symbol] = frozenset()) -> None:
        """``small``: symbols of arrays smaller than the result (broadcast), which a product
        multiplies together first, so the full-size array is gone over once. ``float_literals``:
        integers (not exponents) print as floats, which NumPy combines with arrays a little faster.
        ``integer``: the code computes int64 data (labels, indices): every integer stays an integer.
        ``floating``: symbols of float64 arrays."""
        super().__init__({"fully_qualified_modules": False, "strict": True, "allow_unknown_functions": False})
        self.symbol_code = symbol_code
        self.helpers = helpers if helpers is not None else Helpers()
        self.small = small
        self.float_literals = float_literals
        self.integer = integer
        self.floating = floating  # symbols of float64 arrays: 1.0*x is x (of int data, 1.0*y stays)
        self.one = "1.0" if float_literals else "1"

    def doprint(self, expr, assign_to=None):
        expr = float_coefficients(expr) if self.float_literals else expr
        if assign_to is not None or not isinstance(expr, sp.Basic) or expr.has(sp.re):
            return super().doprint(expr, assign_to)
        # SymPy's CodePrinter.doprint without what it does for an assignment or a re(...) to tidy: it makes a
        # closure that refers to this printer, and tidies by Basic.replace, whose walk refers to itself: two
        # reference cycles per expression, which only the cycle collector frees (a long program prints 20,000).
        self._not_supported, self._number_symbols = set(), set()
        lines = self._print(expr).splitlines()
        front = [self._get_comment(f"Not supported in {self.language}:")] if self._not_supported else []
        front += [self._get_comment(type(e).__name__) for e in sorted(self._not_supported, key=str)]
        front += [self._declare_number_const(n, v) for n, v in sorted(self._number_symbols, key=str)]
        self._not_supported, self._number_symbols = set(), set()
        return "\n".join(self._format_code(front + lines))

    def _module_format(self, fqn: str, register: bool = True) -> str:
        return "np." + fqn.split(".", 1)[1] if fqn.startswith("numpy.") else fqn

    def helper_call(self, name: str, *args: sp.Expr) -> str:
        return f"{self.helpers.use(name)}({', '.join(self._print(a) for a in args)})"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        code = self.symbol_code.get(expr)
        if code is None:
            raise ValueError(f"symdiff printer: no code for symbol {expr}")
        return code

    _print_Dummy = _print_Symbol  # (a while loop's trip count)

    def parenthesize(self, item, level, strict=False) -> str:
        if isinstance(item, sp.Symbol) and item in self.symbol_code:
            code = self.symbol_code[item]
            prec = code_precedence(code)
            return f"({code})" if prec < 1000 and prec <= level else code
        prec = precedence(item)
        code = self._print(item)
        return f"({code})" if prec < level or (not strict and prec <= level) else code

    def _print_Mul(self, expr) -> str:
        if self._scaled(expr):  # (the most common product of a long program, printed as below would)
            prec = precedence(expr)
            return f"{self.parenthesize(expr.args[0], prec)}*{self.parenthesize(expr.args[1], prec)}"
        c, rest = expr.as_coeff_Mul()
        if c.is_Float and float(c) in (1.0, -1.0) and rest.free_symbols & self.floating:
            return self._print(rest if c > 0 else -rest)  # x, not 1.0*x (x is float data already)
        factors = sp.Mul.make_args(rest)
        adds = [f for f in factors if f.is_Add]
        if c not in (1, -1) and len(factors) >= 2 and len(adds) == 1 and \
                not any(f.free_symbols <= self.small for f in factors if not f.is_Add) and \
                all(t.is_Number or t.as_coeff_Mul()[0] not in (1, -1) for t in adds[0].args):
            # 0.5*C*(12*a - 24*b) as C*(6*a - 12*b): the number goes where it costs no pass of its own
            inner = sp.Add(*(c * t for t in adds[0].args))
            return self._print(sp.Mul(*(inner if f is adds[0] else f for f in factors), evaluate=False))
        if self.small:
            small = [a for a in expr.args if a.free_symbols <= self.small or a.is_number]
            big = [a for a in expr.args if not (a.free_symbols <= self.small or a.is_number)]
            # n*m*x as x*(n*m): the small factors multiplied together first, the array gone over once
            reciprocal = self.float_literals and any(a.is_Pow and a.exp.is_negative for a in small)
            if (len(small) >= 2 or reciprocal) and big:
                sign = ""
                if small[0] == -1 or (small[0].is_Number and small[0] < 0):
                    sign, small[0] = "-", -small[0]
                    if small[0] == 1:
                        small.pop(0)
                if small and all(a.is_Pow and a.exp.is_Integer and a.exp < 0 for a in small):
                    # x/n as a person writes it (not x*(1.0/n)): one pass over x either way
                    den = sp.Mul(*(a.base ** -a.exp for a in small))
                    return f"{sign}{self.parenthesize(sp.Mul(*big), PRECEDENCE['Mul'], strict=True)}/" \
                           f"{self.parenthesize(den, PRECEDENCE['Mul'])}"
                if len(small) >= 2 or reciprocal:
                    scale = self._print(sp.Mul(*small))
                    return f"{sign}{self.parenthesize(sp.Mul(*big), precedence(expr))}*({scale})"
        return self._print_Mul_plain(expr)

    def _scaled(self, expr) -> bool:
        """Whether ``expr`` is a positive float (not 1) times one factor that is no power, no number and no
        symbol whose code binds looser than ``*``: the rules below then print ``c*f``, each parenthesised at
        the product's precedence, which is all that is done (without SymPy's sorting of the factors)."""
        if len(expr.args) != 2:
            return False
        c, f = expr.args
        if not (c.is_Float and c > 0 and float(c) != 1.0) or f.is_Pow or f.is_Number or not f.is_commutative:
            return False
        return not (isinstance(f, sp.Symbol) and f in self.symbol_code and code_precedence(self.symbol_code[f]) < 50)

    def _print_Mul_plain(self, expr) -> str:
        c, _ = expr.as_coeff_Mul()
        factors = sp.Mul.make_args(expr)
        den = [a for a in factors if a.is_Pow and a.exp.is_Integer and a.exp < 0 and not a.base.is_number]
        num = [a for a in factors if not any(a is d for d in den)]
        if den and num and not (len(num) == 1 and num[0] in (1, -1)):
            # 2.0*x/n, not 2.0*x*(1.0/n)
            sign = "-" if c < 0 else ""
            top = sp.Mul(*(-a if a is num[0] and c < 0 else a for a in num))
            bottom = sp.Mul(*(a.base ** -a.exp for a in den))
            # (strict: a product on the left is not wrapped, a sum is; on the right both are)
            lhs = self.parenthesize(top, PRECEDENCE["Mul"], strict=True)
            return f"{sign}{lhs}/{self.parenthesize(bottom, PRECEDENCE['Mul'])}"
        # SymPy prints the factors of a negative product at the precedence of a sum, which would leave
        # ``-6*w*x @ v`` unparenthesised: factors looser than ``*`` are wrapped here instead.
        saved = self.symbol_code
        loose = {s: f"({saved[s]})" for s in expr.args
                 if isinstance(s, sp.Symbol) and s in saved and code_precedence(saved[s]) < 50}
        self.symbol_code = {**saved, **loose} if loose else saved
        try:
            return super()._print_Mul(expr)
        finally:
            self.symbol_code = saved

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(_snapped(float(expr)))

    def _print_Add(self, expr, order=None) -> str:
        terms = print_order(expr)
        pos = [t for t in terms if not minus(t)]
        neg = terms[len(pos):]
        prec = precedence(expr)
        if not pos:
            code, neg = "-" + self.parenthesize(-neg[0], prec), neg[1:]
        else:
            code = " + ".join(self.parenthesize(t, prec) for t in pos)
        for t in neg:
            code += " - " + self.parenthesize(-t, prec)
        return code

    def _print_Pow(self, expr, rational=False) -> str:
        base, exp = expr.args
        if exp == sp.S.Half:
            return f"np.sqrt({self._print(base)})"
        if exp == -sp.S.Half:
            return f"{self.one}/np.sqrt({self._print(base)})"
        prec = precedence(expr)
        if exp.is_Integer and 3 <= abs(exp) <= 8 and isinstance(base, sp.Symbol) and \
                is_atomic(self.symbol_code.get(base, "(")):
            # x*x*x: NumPy's power with an integer exponent is 100 times slower on large arrays
            # parenthesised: the printer places a power where a product would bind wrongly (2/x**3)
            product = f"({_power(self.symbol_code[base], int(abs(exp)))})"
            return product if exp > 0 else f"({self.one}/{product})"
        if exp.is_Integer and exp < 0:
            den = self.parenthesize(base, prec) + ("" if exp == -1 else f"**{-exp}")
            return f"{self.one}/{den}"
        return f"{self.parenthesize(base, prec, strict=True)}**{self.parenthesize(exp, prec, strict=True)}"

    def _print_Heaviside(self, expr) -> str:
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        return f"np.heaviside({self._print(expr.args[0])}, {repr(float(h0)) if h0.is_Number else self._print(h0)})"

    def _print_Abs(self, expr) -> str:
        return f"np.abs({self._print(expr.args[0])})"

    def _print_sign(self, expr) -> str:
        return f"np.sign({self._print(expr.args[0])})"

    def _float_arg(self, expr) -> str:
        """Integers as float literals where NumPy would otherwise convert them on every call (not in
        integer code: ``np.clip(y, 0, 4)`` of int64 labels stays an index)."""
        return f"{float(expr)!r}" if expr.is_Integer and not self.integer else self._print(expr)

    def _minmax(self, expr, func: str) -> str:
        args = [self._float_arg(a) for a in sorted(expr.args, key=lambda t: t.is_number)]
        code = args[-1]
        for a in reversed(args[:-1]):
            code = f"{func}({a}, {code})"
        return code

    def _print_Max(self, expr) -> str:
        return self._minmax(expr, "np.maximum")

    def _print_Min(self, expr) -> str:
        return self._minmax(expr, "np.minimum")

    def _print_Piecewise(self, expr) -> str:
        *pieces, (last, cond) = expr.args
        if cond != sp.true:
            raise ValueError("symdiff printer: Piecewise without a default branch")
        code = self._float_arg(last)
        for value, c in reversed(pieces):
            code = f"np.where({self._print(c)}, {self._float_arg(value)}, {code})"
        return code

    def _print_Relational(self, expr) -> str:
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"{self.parenthesize(expr.lhs, precedence(expr))} {op} {self.parenthesize(expr.rhs, precedence(expr))}"

    def _print_And(self, expr) -> str:
        return self._minmax(expr, "np.logical_and")

    def _print_Or(self, expr) -> str:
        return self._minmax(expr, "np.logical_or")

    def _print_Xor(self, expr) -> str:
        return self._minmax(expr, "np.logical_xor")

    def _print_Not(self, expr) -> str:
        return f"np.logical_not({self._print(expr.args[0])})"


class Helpers:
    """The helper functions a module uses, each under a name that no user name shadows."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        taken = set(reserved)
        self.names: dict[str, str] = {}  # every helper is named up front, so locals can avoid them all
        for helper in sorted(HELPERS):
            name, k = helper, 0
            while name in taken:
                k += 1
                name = f"{helper}_{k}"
            taken.add(name)
            self.names[helper] = name
        self.used: set[str] = set()

    def use(self, helper: str) -> str:
        self.used.add(helper)
        return self.names[helper]

    def sources(self) -> list[str]:
        return [HELPERS[h].replace(f"def {h}(", f"def {self.names[h]}(", 1) for h in sorted(self.used)]

    def __bool__(self) -> bool:
        return bool(self.used)
