"""Kernel templates: SymPy's answer for an expression's structure, asked once and reused for every
expression of that structure.

A long program repeats a few kernels with other constants (``s + sin(1.01*x)``, ``s + sin(1.02*x)``,
...). Asked of each expression, SymPy's derivatives, fusion and simplification cost a few milliseconds
per line, every time. :func:`by_structure` wraps a pure function of expressions so that it is asked of
the *template* instead: every float coefficient (a factor of a product or a term of a sum) written as a
positive placeholder constant ``_k0, _k1, ...`` (a negative one as ``-_k``; equal values share one),
and the answer, computed once per template, gets the floats written back in.

An answer over ``_k`` holds for every positive value of it, so writing the floats back gives an
expression equal in value to the one SymPy would have given for the floats themselves (perhaps in
another but equal form, e.g. ``1.2*cos(x) + 1.4*cos(y)`` not refactored). Floats anywhere else stay
as they are, part of the template: an exponent (``x**2.5`` is not ``x**k``: the domain and the
derivative at 0 depend on the value), a function's own argument (``Max(x, 0.5)``), a condition
(``x > 0.5``), and every zero (``_k`` is never 0, so a division by it is no question of its value).

>>> import sympy as sp
>>> from symdiff.ir.graph import ARG
>>> calls = []
>>> twice = by_structure(lambda e: calls.append(e) or sp.diff(e, ARG[0]))
>>> twice(sp.sin(1.5 * ARG[0])), twice(sp.sin(2.5 * ARG[0]))
(1.5*cos(1.5*_a0), 2.5*cos(2.5*_a0))
>>> calls
[sin(_a0*_k0)]
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import sympy as sp
from sympy.core.basic import Basic
from sympy.core.add import _unevaluated_Add
from sympy.core.mul import _mulsort, _unevaluated_Mul

#: The placeholder constants of templates (made as needed, shared by every template).
_K: list[sp.Symbol] = []


def _k(i: int) -> sp.Symbol:
    while len(_K) <= i:
        _K.append(sp.Symbol(f"_k{len(_K)}", positive=True))
    return _K[i]


_SAFE_PARENTS = (sp.Add, sp.Mul)


def structure(args: tuple) -> tuple[tuple, list[sp.Float], Callable[[], dict[sp.Float, sp.Expr]]]:
    """``(key, floats, to_template)`` of ``args`` (expressions, or tuples, ints and None around them): the
    key is equal for two ``args`` exactly when their templates are equal; ``floats[i]`` is the value of
    ``_k{i}``; ``to_template()`` maps each templated float to ``_k{i}`` or ``-_k{i}`` (made when asked: a
    template answered already needs none). Iterative (a deep expression does not recurse)."""
    tokens: list[Any] = []
    floats: list[sp.Float] = []
    index: dict[tuple, int] = {}  # (mantissa and exponent of |value|, precision) -> its placeholder
    unsafe: set[tuple] = set()
    seen_at: list[tuple[int, tuple, int, sp.Float]] = []  # (token position, key, sign, the float) in a sum or product
    stack: list[tuple[Any, Any]] = [(a, None) for a in reversed(args)]
    while stack:
        e, parent = stack.pop()
        if not isinstance(e, sp.Basic):
            tokens.append(("py", type(e).__name__, e) if not isinstance(e, tuple) else ("tuple", len(e)))
            if isinstance(e, tuple):
                stack.extend((a, None) for a in reversed(e))
            continue
        if isinstance(e, sp.Float):
            sign, man, exp, bc = e._mpf_
            key = ((man, exp, bc), e._prec)
            if man and isinstance(parent, _SAFE_PARENTS):
                seen_at.append((len(tokens), key, -1 if sign else 1, e))
                tokens.append(None)  # filled in below, once every float's position is known
            else:
                unsafe.add(key)
                tokens.append(("float", e._mpf_, e._prec))
            continue
        if not e.args:
            tokens.append(("atom", type(e), e))
            continue
        tokens.append((type(e), len(e.args)))
        stack.extend((a, e) for a in reversed(e.args))
    templated: list[tuple[sp.Float, int, int]] = []  # (a float, its placeholder, its sign)
    for position, key, sign, original in seen_at:
        if key in unsafe:  # the same value also stands where it must stay itself: kept as it is everywhere
            tokens[position] = ("float", (0 if sign > 0 else 1, *key[0]), key[1])
            continue
        if key not in index:
            index[key] = len(floats)
            floats.append(original if sign > 0 else sp.Float._new((0, *key[0]), key[1]))
        tokens[position] = ("k", index[key], sign)
        templated.append((original, index[key], sign))

    def to_template() -> dict[sp.Float, sp.Expr]:
        return {original: _k(i) if sign > 0 else -_k(i) for original, i, sign in templated}
    return tuple(tokens), floats, to_template


def _substitute(value: Any, mapping: dict) -> Any:
    """``value`` (an expression, or tuples and other values around them) with ``mapping`` substituted."""
    if isinstance(value, sp.Basic):
        return value.xreplace(mapping) if mapping else value
    if isinstance(value, tuple):
        return tuple(_substitute(v, mapping) for v in value)
    return value


def rename(expr: sp.Basic, mapping: dict, symbols: bool = True, as_written: bool = False) -> sp.Basic:
    """``expr.xreplace(mapping)`` for a ``mapping`` of atoms that changes no function's answer (symbols to
    distinct symbols of the same assumptions; a template's placeholders to the floats they stand for), with
    sums, products and powers evaluated (their order, and numbers multiplied out) but a function of them
    not evaluated again: SymPy made ``sin(_k0*_a0)`` already, and asking ``sin`` of ``1.2*_a0`` costs
    about a millisecond (its search for multiples of pi and I) for the same answer, or an equal one.
    ``symbols``: the mapping renames symbols, so sums and products are only put in SymPy's order again
    (not evaluated: nothing in them can combine). ``as_written``: sums and products keep the order of their
    arguments (what ``xreplace`` makes under ``sympy.evaluate(False)``, under which the caller calls it for the
    rest). Post-order and iterative."""
    done: dict[int, sp.Basic] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in done:
            continue
        if not e.args:  # (the mapping's keys are symbols: a number is not hashed to look it up)
            done[id(e)] = mapping.get(e, e) if e.is_Symbol else e
            continue
        if not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if id(a) not in done)
            continue
        args = tuple(done[id(a)] for a in e.args)
        done[id(e)] = e if all(a is b for a, b in zip(args, e.args)) else _rebuilt(e, args, symbols, as_written)
    return done[id(expr)]


def _rebuilt(e: sp.Basic, args: tuple, symbols: bool, as_written: bool = False) -> sp.Basic:
    """``e`` with the arguments ``args`` in place of its own, as :func:`rename` builds it."""
    if isinstance(e, sp.Function):
        return _applied(e, args)
    if as_written and type(e) in _SORTED:
        return type(e)._from_args(args)
    if type(e) in _SORTED and (symbols or _only_order(e, args)):  # nothing combines: only the order changes
        return _unevaluated_Add(*args) if type(e) is sp.Add else _sorted_mul(args, e.is_commutative)
    return e.func(*args)


def _plan(value: Any) -> Any:
    """How to write floats back into an answer ``value`` (an expression, or a tuple of them): its
    subexpressions holding a placeholder ``_k``, each after its arguments (the rest is kept as it is)."""
    if isinstance(value, tuple):
        return tuple(_plan(v) for v in value)
    if not isinstance(value, sp.Basic):
        return None
    placeholders = set(_K)
    holds: dict[int, bool] = {}
    order: list[sp.Basic] = []
    stack: list[tuple[sp.Basic, bool]] = [(value, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in holds:
            continue
        if not e.args:
            holds[id(e)] = e in placeholders if e.is_Symbol else False
        elif not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if id(a) not in holds)
        else:
            holds[id(e)] = any(holds[id(a)] for a in e.args)
            if holds[id(e)]:
                order.append(e)
    return order


def _written_back(value: Any, plan: Any, floats: list[sp.Float]) -> Any:
    """The answer ``value`` of a template with each placeholder ``_k{i}`` replaced by ``floats[i]``
    (:func:`rename` of it, walking only the subexpressions its ``plan`` lists)."""
    if isinstance(value, tuple):
        return tuple(_written_back(v, p, floats) for v, p in zip(value, plan))
    fill = {_k(i): f for i, f in enumerate(floats)}  # (by value: a placeholder SymPy made again is equal, not the same)
    if not plan:  # (no placeholder inside: the answer itself, or it is one)
        return fill.get(value, value) if isinstance(value, sp.Symbol) else value
    done: dict[int, sp.Basic] = {}
    for e in plan:
        args = tuple(done[id(a)] if id(a) in done else fill.get(a, a) if a.is_Symbol else a for a in e.args)
        done[id(e)] = _rebuilt(e, args, False)
    return done[id(value)]


def _applied(e: sp.Function, args: tuple) -> sp.Basic:
    """``e.func(*args, evaluate=False)``: for a function whose construction is SymPy's generic one, what
    that construction makes (``Basic.__new__`` and the function's ``nargs``), without its cache (which hashes
    every float of the arguments) and without making ``nargs`` again (a FiniteSet each time)."""
    cls = type(e)
    generic = _GENERIC.get(cls)
    if generic is None:
        first = next(k for k in cls.__mro__ if "__new__" in k.__dict__)
        generic = _GENERIC[cls] = first in _GENERIC_NEW
    if not generic:
        return e.func(*args, evaluate=False)
    out = Basic.__new__(cls, *args)
    out.nargs = e.nargs
    return out


_GENERIC: dict[type, bool] = {}
_GENERIC_NEW = tuple(k for k in (getattr(sp.core.function, "DefinedFunction", None), sp.Function,
                                 sp.core.function.Application) if k is not None)


def _sorted_mul(args: tuple, commutative: bool | None) -> sp.Basic:
    """``_unevaluated_Mul(*args)`` (the factors in SymPy's order, the numbers multiplied), without the
    multiplication of the one number by 1 when there is one number, no product among ``args`` and the
    product they were renamed from is ``commutative`` (a template's float written back: ``1.6*cos(...)``;
    the renamed factors are asked nothing, as new objects SymPy would deduce their facts for)."""
    numbers = [a for a in args if a.is_Number]
    if len(numbers) != 1 or numbers[0] is sp.S.One or not commutative or any(a.is_Mul for a in args):
        return _unevaluated_Mul(*args)
    rest = [a for a in args if not a.is_Number]
    _mulsort(rest)
    return sp.Mul._from_args([numbers[0], *rest])


#: Sums and products of renamed symbols are put in SymPy's order, numbers first, not evaluated again.
_SORTED = (sp.Add, sp.Mul)


def _only_order(e: sp.Basic, args: tuple) -> bool:
    """Whether SymPy, evaluating ``e.func(*args)`` (floats written into a sum or product of a template),
    would only multiply or add the numbers and sort: no number times a sum alone (a float coefficient
    distributes over it), no two terms alike, the numbers not vanishing into a one-argument result."""
    rest = [a for a in args if not a.is_Number]
    numbers = [a for a in args if a.is_Number]
    if any(isinstance(a, type(e)) for a in rest):
        return False
    if isinstance(e, sp.Mul) and numbers and len(rest) == 1 and rest[0].is_Add:
        return False  # (SymPy distributes a number over a sum it multiplies alone: 1.2*(x + y))
    if not all(a.is_Float or a.is_Rational for a in numbers):
        return False
    if isinstance(e, sp.Mul):  # (one number: its own product)
        product = numbers[0] if len(numbers) == 1 else sp.Mul(*numbers)
        return len(rest) >= 2 or (len(rest) == 1 and bool(numbers) and product not in (0, 1))
    if len({(a.args[1:] if a.args[0].is_Number else a.args) if a.is_Mul else (a,) for a in rest}) != len(rest):
        return False  # (two terms alike but for their numbers: each term without its number, as a tuple)
    return len(rest) >= 2 or (len(rest) == 1 and bool(numbers) and sp.Add(*numbers) != 0)


def _same_as(answer: Any, templated: tuple) -> int | None:
    """The position of the argument of a template the answer is (``expr`` unchanged by a simplification),
    if it is one: its floats written back, it is the argument the caller gave."""
    if isinstance(answer, sp.Basic):
        for i, a in enumerate(templated):
            if a is answer or (isinstance(a, sp.Basic) and a == answer):
                return i
    return None


def by_structure(fn: Callable[..., Any], maxsize: int = 1 << 14) -> Callable[..., Any]:
    """``fn`` (a pure function of SymPy expressions and hashable values, answering an expression, a
    tuple of them, a number or None) computed once per template of its arguments (see the module
    docstring); the answers of up to ``maxsize`` templates are remembered (then forgotten all at once)."""
    answers: dict[tuple, Any] = {}
    exact: dict[tuple, Any] = {}  # the same arguments again (a kernel with the same constants): no walk at all

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        if args in exact:
            return exact[args]
        key, floats, to_template = structure(args)
        if key in answers:
            answer, same, plan = answers[key]
        else:
            if len(answers) >= maxsize:
                answers.clear()
            templated = _substitute(args, to_template())
            answer = fn(*templated)
            same = _same_as(answer, templated)
            plan = _plan(answer) if same is None else None
            answers[key] = answer, same, plan
        if len(exact) >= maxsize:
            exact.clear()
        if same is not None:  # (the answer is an argument as it came: that argument, nothing to write back)
            out = exact[args] = args[same]
        else:
            out = exact[args] = _written_back(answer, plan, floats)
        return out

    def cache_clear() -> None:
        answers.clear()
        exact.clear()
    wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
    return wrapper
