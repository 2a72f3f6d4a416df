"""symdiff.rewrite.cse.cse is SymPy's cse (order="none"), exactly, on every kind of group it may see:
its own fast path (no two sums or products with two arguments in common) and SymPy's (they have)."""
import random

import sympy as sp

from symdiff.rewrite import cse as cse_module
from symdiff.rewrite.cse import cse

S = sp.symbols("a b c d e", real=True)


def _random_expr(rng: random.Random, depth: int) -> sp.Expr:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(S) if rng.random() < 0.8 else sp.Float(rng.choice([0.5, -1.5, 2.0, 3.0]))
    kind = rng.choice(["add", "mul", "neg", "pow", "sin", "tanh", "exp", "where", "max"])
    arg = _random_expr(rng, depth - 1)
    if kind == "where":  # (np.where: a Piecewise of relations, whose pairs SymPy's cse walks as tuples)
        return sp.Piecewise((arg, rng.choice(S) > rng.choice([0, 1, S[0]])), (_random_expr(rng, depth - 1), True))
    if kind == "max":
        return sp.Max(arg, _random_expr(rng, depth - 1))
    if kind == "add":
        return arg + _random_expr(rng, depth - 1)
    if kind == "mul":
        return arg * _random_expr(rng, depth - 1)
    if kind == "neg":
        return -arg
    if kind == "pow":
        exponent = rng.choice([2, -1, -2, 3, sp.Rational(1, 2)])
        return arg ** (2 if arg.is_number else exponent)  # (no complex numbers: Max and > need real ones)
    return {"sin": sp.sin, "tanh": sp.tanh, "exp": sp.exp}[kind](arg)


def _same(exprs):
    want = sp.cse(exprs, symbols=sp.numbered_symbols("_c", real=True), order="none")
    got = cse(exprs, sp.numbered_symbols("_c", real=True))
    assert got == (list(want[0]), list(want[1])), exprs
    return cse_module._optimisations(exprs) is not None


def test_the_same_answer_as_sympy_on_random_groups():
    rng = random.Random(20261202)
    fast = slow = 0
    for _ in range(400):
        exprs = [_random_expr(rng, 4) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.5:  # sums and products of a few common pieces (partial sums to share)
            pool = [_random_expr(rng, 2) for _ in range(5)]
            op = rng.choice([sp.Add, sp.Mul])
            exprs += [rng.choice([1, -1]) * op(*rng.sample(pool, rng.randint(2, 4))) for _ in range(3)]
        if _same(exprs):
            fast += 1
        else:
            slow += 1
    assert fast > 50 and slow > 50  # both ways were taken


def test_the_groups_of_a_long_program():
    a, b, c, h1, h2 = sp.symbols("a b c h1 h2", real=True)
    tanh_value_and_gradient = [sp.tanh(a), h1 * (1 - sp.tanh(a) ** 2), sp.exp(0.5 * b), 0.5 * h2 * sp.exp(0.5 * b)]
    assert _same(tanh_value_and_gradient)
    negated = [-a - b - c, a + b + h1]  # the sum negated shares two terms with the other: SymPy's way
    assert not _same(negated)
    assert _same([1 / (a + b) ** 2, (a + b) ** 2 * c, -sp.sin(a) * h1, sp.sin(a) * h2])
