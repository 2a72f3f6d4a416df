"""Stability rewrites: each named rewrite on its own, exact values at extreme inputs (mpmath),
and no change beyond 1e-12 relative where the original expression was finite."""
import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

import symdiff
from symdiff.rewrite import simplify
from symdiff.ir.graph import ARG
from symdiff.backends.numpy.printer import ExprPrinter
from symdiff.ir.scalar import sigmoid, softplus
from symdiff.ir.special import xlogy

u, v = ARG[0], ARG[1]


def evaluate(expr, a, b=0.0):
    printer = ExprPrinter({u: "a", v: "b"})
    code = printer.doprint(simplify.lower(expr))
    namespace = {"np": np, "a": a, "b": b}
    for source in printer.helpers.sources():  # helper functions the printed code calls (_xlogy, ...)
        exec(source, namespace)
    with np.errstate(all="ignore"):
        return eval(code, namespace)


REWRITES = [
    (simplify.softplus_opt, sp.log(1 + sp.exp(u)), softplus),
    (simplify.softplus_opt, log1p(sp.exp(u)), softplus),
    (simplify.softplus_opt, sp.Max(u, 0) + log1p(sp.exp(-sp.Abs(u))), softplus),
    (simplify.sigmoid_opt, 1 / (1 + sp.exp(-u)), sigmoid),
    (simplify.log1p_opt, sp.log(1 + u * v), log1p),
    (simplify.expm1_opt, sp.exp(u) - 1, expm1),
    (simplify.log_sigmoid_opt, sp.log(sigmoid(u)), softplus),
    (simplify.log_sigmoid_opt, log1p(-sigmoid(u)), softplus),
    (simplify.xlogy_opt, u * sp.log(u * u), xlogy),
    (simplify.xlogy_opt, -2 * u * sp.log(u * u / (v + 1)), xlogy),
]


@pytest.mark.parametrize("rewrite,expr,made", REWRITES, ids=[f"{r.__name__}-{e}" for r, e, _ in REWRITES])
def test_rewrite_keeps_values_and_makes_stable_form(rewrite, expr, made):
    out = rewrite(expr)
    assert out != expr and out.has(made)
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(-30, 30, 200), rng.uniform(-1e-3, 1e-3, 50)])
    b = rng.uniform(-0.9, 0.9, a.size)
    before, after = evaluate(expr, a, b), evaluate(out, a, b)
    exact = exact_values(expr, a, b)
    finite = np.isfinite(before)
    assert finite.sum() > 150
    # never further from the exact value than the original was, beyond 1e-12 relative
    worse = np.abs(after - exact) - np.abs(before - exact) - 1e-12 * np.abs(exact)
    assert np.all(worse[finite] <= 0), (a[finite][worse[finite] > 0], after[finite][worse[finite] > 0])


MPMATH = {"log1p": mpmath.log1p, "expm1": mpmath.expm1, "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
          "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
          "xlogy": lambda x, y: mpmath.mpf(0) if x == 0 else x * mpmath.log(y)}


def exact_values(expr, a, b):
    f = sp.lambdify((u, v), expr, modules=[MPMATH, "mpmath"])
    with mpmath.workdps(60):
        values = [mpmath.mpmathify(f(mpmath.mpf(x), mpmath.mpf(y))) for x, y in zip(a, b)]
    return np.array([float(z.real) if mpmath.im(z) == 0 else np.nan for z in values])


def exact_softplus(z):
    return float(mpmath.log(1 + mpmath.exp(mpmath.mpf(z))))


def exact_sigmoid(z):
    return float(1 / (1 + mpmath.exp(-mpmath.mpf(z))))


def test_log_one_plus_exp_at_extremes():
    z = np.array([1000.0, -1000.0, 30.0, -30.0, 0.0])
    value, dz = symdiff.value_and_grad(lambda z: np.sum(np.log(1 + np.exp(z))))(z)
    np.testing.assert_allclose(value, sum(exact_softplus(t) for t in z), rtol=1e-14)
    np.testing.assert_allclose(dz, [exact_sigmoid(t) for t in z], rtol=1e-14)
    assert dz[0] == 1.0 and dz[1] == 0.0


def naive_bce(z, y):
    s = 1 / (1 + np.exp(-z))
    return np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s)))


def test_naive_seed_loss_is_finite_and_exact_at_extremes():
    z, y = np.array([1000.0, -1000.0, 40.0, -40.0, 0.5]), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, dz = symdiff.value_and_grad(naive_bce)(z, y)
    exact = [float(mpmath.log(1 + mpmath.exp(-t)) if yi else mpmath.log(1 + mpmath.exp(t)))
             for t, yi in zip(z, y)]
    np.testing.assert_allclose(value, np.mean(exact), rtol=1e-14)
    np.testing.assert_allclose(dz, [(exact_sigmoid(t) - yi) / 5 for t, yi in zip(z, y)], rtol=1e-14, atol=1e-300)


def test_naive_seed_loss_gradient_is_the_closed_form():
    g = symdiff.grad(naive_bce)
    g(np.zeros(3), np.ones(3))
    # (sigmoid(z) - y)/n, with sigmoid printed in its overflow-free form
    # (exp(min(z, 0))/(1 + exp(-|z|)), -|z| written min(z, 0) - max(z, 0))
    assert re.search(r"t1 = np\.minimum\(z, 0\.0\)\n.*dz = \(np\.exp\(t1\) / \(np\.exp\(t1 - np\.maximum\(z, 0\.0\)\) "
                     r"\+ 1\.0\) - y\) / n_y", g.source, re.S), g.source


def naive_softmax_ce(z, y):
    p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
    return -np.sum(y * np.log(p)) / z.shape[0]


def test_naive_softmax_cross_entropy_with_huge_logits():
    z = np.array([[1000.0, 0.0, -5.0], [1.0, 2.0, 3.0], [-1000.0, 999.0, 1000.0]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, dz = symdiff.value_and_grad(naive_softmax_ce)(z, y)
    exact_lse = np.array([float(mpmath.log(sum(mpmath.exp(mpmath.mpf(t)) for t in row))) for row in z])
    softmax = np.array([[float(mpmath.exp(mpmath.mpf(t) - mpmath.mpf(s))) for t in row]
                        for row, s in zip(z, exact_lse)])
    np.testing.assert_allclose(value, -np.sum(y * (z - exact_lse[:, None])) / 3, rtol=1e-14)
    np.testing.assert_allclose(dz, (softmax - y) / 3, rtol=1e-12, atol=1e-300)


def test_entropy_at_zero_probability_is_the_limit():
    def entropy(p):
        return -np.sum(p * np.log(p))
    p = np.array([0.0, 0.25, 0.75])
    value, grad = symdiff.value_and_grad(entropy)(p)
    exact = -float(0.25 * mpmath.log(0.25) + 0.75 * mpmath.log(0.75))
    np.testing.assert_allclose(value, exact, rtol=1e-14)  # NumPy's own entropy(p) is nan here
    np.testing.assert_allclose(grad[1:], -np.log(p[1:]) - 1, rtol=1e-14)
    assert grad[0] == np.inf  # the derivative's limit at 0
