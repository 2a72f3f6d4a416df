"""Long programs compile: no recursion by the depth of a program, SymPy never sees the whole program
at once, a while loop's conditions cost one iteration each, and the generated code grows linearly.
(Compile times themselves are measured by benchmarks/compile_scaling.py, not here.)"""
import importlib.util
import inspect
import os
import sys

import numpy as np
import pytest
import sympy as sp

import symdiff
from symdiff.backends.numpy import branches
from symdiff.naming import Namer
from symdiff.rewrite import simplify


def _load(tmp_path, name, lines, first="y = x", result="np.sum(y)"):
    """A straight-line function ``f(x)`` written out one statement per line (no loop to trace)."""
    path = tmp_path / f"{name}.py"
    body = "\n".join(f"    {line}" for line in [first, *lines, f"return {result}"])
    path.write_text(f"import numpy as np\n\n\ndef f(x):\n{body}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def _central(f, x, seed=0, eps=1e-6):
    d = np.random.default_rng(seed).standard_normal(x.shape)
    return d, (f(x + eps * d) - f(x - eps * d)) / (2 * eps)


def test_sin_chain_deeper_than_the_recursion_limit(tmp_path):
    """600 chained np.sin compile with Python's recursion limit at 250 frames above the caller: no pass
    recurses by the depth of the program. The gradient is the product of the cosines."""
    n = 600
    f = _load(tmp_path, "sin_chain", ["y = np.sin(y)"] * n)
    x = np.linspace(0.3, 1.2, 5)
    value, g = _tight_value_and_grad(f, x)
    y, expected = x.copy(), np.ones_like(x)
    for _ in range(n):
        expected *= np.cos(y)
        y = np.sin(y)
    np.testing.assert_allclose(value, np.sum(y), rtol=1e-12)
    np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-300)


def test_sum_of_many_terms_matches_its_closed_form(tmp_path, monkeypatch):
    """A sum of 150 terms s + sin(c_i x): its gradient is sum_i c_i cos(c_i x), also with its common
    subexpressions found in windows (of 50 expressions here, so that the program spans several); the
    terms that share nothing with another never go through SymPy's cse."""
    n = 150
    cs = [1 + i / n for i in range(n)]
    f = _load(tmp_path, "sum_terms", [f"s = s + np.sin(x * {c!r})" for c in cs], first="s = 0.0 * x",
              result="np.sum(s)")
    x = np.linspace(-1.0, 1.0, 7)
    calls = []
    monkeypatch.setattr(simplify, "CSE_WINDOW", 50)
    real_cse = sp.cse
    monkeypatch.setattr(simplify.sp, "cse", lambda es, **kw: calls.append(len(es)) or real_cse(es, **kw))
    value, g = symdiff.value_and_grad(f)(x)
    assert max(calls, default=0) <= simplify.CSE_WINDOW and sum(calls) < n
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    expected = sum(c * np.cos(c * x) for c in cs)
    np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-9)


MIXED = ("y = np.sin(y)", "y = y * 0.9", "y = y + x", "y = np.tanh(y)", "y = np.exp(y * 0.5)", "y = y - x",
         "y = np.cos(y)", "y = y / 1.5")


@pytest.mark.parametrize("n", [100, 200])
def test_mixed_chain_matches_central_differences(tmp_path, n):
    f = _load(tmp_path, f"mixed_{n}", [MIXED[i % len(MIXED)] for i in range(n)])
    x = np.linspace(0.5, 1.5, 6)
    _, g = symdiff.value_and_grad(f)(x)
    d, fd = _central(f, x)
    assert abs(g @ d - fd) <= 1e-6 * max(1.0, abs(fd))


def test_generated_lines_grow_linearly(tmp_path):
    lines = {}
    for n in (150, 300):
        f = _load(tmp_path, f"lines_{n}", [MIXED[i % len(MIXED)] for i in range(n)])
        grad = symdiff.grad(f)
        grad(np.linspace(0.5, 1.5, 3))
        lines[n] = len(grad.source.splitlines())
    assert lines[300] <= 2.2 * lines[150]
    assert lines[300] >= 1.8 * lines[150]  # (every line of the program is still a statement of its own)


def test_bounded_cse_reconstructs_and_stays_in_windows(monkeypatch):
    """More expressions than one window: cse (SymPy's, see symdiff/rewrite/cse.py) is called on at most
    CSE_WINDOW of them at a time, and the replacements put back give every expression exactly."""
    h = sp.symbols("h0:700", real=True)
    exprs = []
    for i in range(len(h) - 1):
        exprs += [sp.sin(h[i]) * sp.exp(h[i + 1]), sp.cos(h[i]) * sp.exp(h[i + 1]) + sp.sin(h[i])]
    seen = []
    real_cse = simplify.cse
    monkeypatch.setattr(simplify, "cse", lambda es, symbols: seen.append(len(es)) or real_cse(es, symbols))
    replacements, reduced = simplify.bounded_cse(exprs, sp.numbered_symbols("_c", real=True))
    assert max(seen) <= simplify.CSE_WINDOW and sum(seen) == len(exprs) and len(seen) > 1
    back = dict(replacements)
    for _ in range(3):  # replacements may refer to earlier ones
        reduced = [e.xreplace(back) for e in reduced]
    assert reduced == exprs
    assert len(replacements) >= len(h) - 2  # the shared sin(h_i) and exp(h_i+1) were found


WHILE = '''import numpy as np


def step(x, a):
    return 0.9 * x + 0.05 * np.cos(x) + 0.1 * a


def f(a, tol):
    x = a
    x_new = step(x, a)
    while np.max(np.abs(x_new - x)) > tol:
        x = x_new
        x_new = step(x, a)
    return np.sum(x_new * x_new)
'''


def test_while_loop_on_traced_values(tmp_path, monkeypatch):
    """A fixed-point loop of 30 iterations: the gradient matches central differences, each condition
    computes only its own iteration (the values of earlier ones are kept), and an input that takes
    another number of iterations gets the code of its own path."""
    path = tmp_path / "fixed_point.py"
    path.write_text(WHILE)
    spec = importlib.util.spec_from_file_location("fixed_point", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    a = np.linspace(0.5, 1.5, 6)
    x, diffs = a, []
    for _ in range(31):
        x_new = module.step(x, a)
        diffs.append(float(np.max(np.abs(x_new - x))))
        x = x_new
    tol = (diffs[29] * diffs[30]) ** 0.5  # exactly 30 steps after the first
    computed = []
    real_cut = branches._cut
    monkeypatch.setattr(branches, "_cut", lambda *args: (lambda r: computed.append(len(r[1])) or r)(real_cut(*args)))
    vg = symdiff.value_and_grad(lambda a: module.f(a, tol))
    value, g = vg(a)
    assert len(computed) == 31
    assert max(computed) <= 12  # per condition: its own iteration's few nodes, not all before it
    np.testing.assert_allclose(value, module.f(a, tol), rtol=1e-12)
    d, fd = _central(lambda a: module.f(a, tol), a)
    assert abs(g @ d - fd) <= 1e-6 * max(1.0, abs(fd))
    b = 2.5 * a  # another start: another number of iterations, another path
    value_b, g_b = vg(b)
    np.testing.assert_allclose(value_b, module.f(b, tol), rtol=1e-12)
    d, fd = _central(lambda b: module.f(b, tol), b, seed=1)
    assert abs(g_b @ d - fd) <= 1e-6 * max(1.0, abs(fd))


def _random_expr(rng, syms, depth=3):
    """A random expression over ``syms`` (sums, products, negations, powers and functions)."""
    if depth == 0 or rng.random() < 0.25:
        return syms[rng.integers(len(syms))] if rng.random() < 0.85 else sp.Float(rng.choice([0.5, -2.0, 3.0]))
    kind = rng.integers(6)
    a, b = _random_expr(rng, syms, depth - 1), _random_expr(rng, syms, depth - 1)
    return [a + b, a * b, -a, a ** int(rng.choice([-2, -1, 2])), sp.sin(a), sp.exp(a) + b][kind]


def test_expressions_that_share_nothing_come_out_of_cse_unchanged():
    """may_share's claim, checked against SymPy itself: in random groups, every expression it says
    shares nothing comes out of cse of the whole group as it went in, and cse of the others alone finds
    the same replacements for them as cse of the whole group does."""
    from symdiff.rewrite.sharing import may_share
    rng = np.random.default_rng(0)
    syms = sp.symbols("a b c d e", real=True)
    skipped = 0
    for _ in range(150):
        exprs = [_random_expr(rng, syms) for _ in range(int(rng.integers(2, 7)))]
        flags = may_share(exprs)
        found, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_c"), order="none")
        for e, r, m in zip(exprs, reduced, flags):
            if not m:
                skipped += 1
                assert r == e, (exprs, flags)
        picked = [e for e, m in zip(exprs, flags) if m]
        found_alone, reduced_alone = sp.cse(picked, symbols=sp.numbered_symbols("_c"), order="none")
        assert found_alone == found
        assert reduced_alone == [r for r, m in zip(reduced, flags) if m]
    assert skipped > 50  # (the check is not empty)


def test_namer_continues_from_the_last_suffix():
    n = Namer(["x", "y_2"])
    assert [n.fresh("y") for _ in range(4)] == ["y", "y_1", "y_3", "y_4"]
    n.reserve("y_5")
    assert n.fresh("y") == "y_6" and n.fresh("x") == "x_1"


def test_kernel_templates_answer_as_sympy_does():
    """A function of expressions asked through its template (floats of sums and products as placeholder
    constants) is computed once per structure, and its answers, floats written back, equal SymPy's own
    answers in value at random points; a float in an exponent or a function's own argument stays part
    of the structure."""
    from symdiff.ir.domain import derivative
    from symdiff.ir.graph import ARG
    from symdiff.ir.templates import by_structure
    a, b = ARG[0], ARG[1]
    rng = np.random.default_rng(3)
    calls = []
    d_b = by_structure(lambda e: calls.append(e) or sp.diff(e, b))
    cs = rng.uniform(-3.0, 3.0, size=40)
    for c in cs:
        d_b(a + sp.sin(sp.Float(abs(c)) * b))
    assert len(calls) == 1
    calls.clear()
    d_b(b ** sp.Float(2.5)), d_b(b ** sp.Float(3.5)), d_b(sp.Max(b, sp.Float(0.5))), d_b(sp.Max(b, sp.Float(1.5)))
    assert len(calls) == 4
    kernels = [lambda c: a + sp.sin(c * b), lambda c: sp.exp(c * a) * (b - c), lambda c: sp.log(c * b ** 2 + 1) - c,
               lambda c: sp.tanh(c * a + b) ** 2 / (1 + c * b), lambda c: (a - c) * (b + 2 * c) + c * a * b]
    points = [{a: float(p), b: float(q)} for p, q in rng.uniform(0.2, 2.0, size=(5, 2))]
    for kernel in kernels:
        for c in cs[:8]:
            e = kernel(sp.Float(float(c)))
            for x in (a, b):
                got, want = derivative(e, x), sp.diff(e, x)
                for p in points:
                    assert abs(complex(got.evalf(subs=p)) - complex(want.evalf(subs=p))) <= 1e-10 * (
                        1 + abs(complex(want.evalf(subs=p)))), (e, x, got, want)


def test_written_back_answers_alone_or_in_tuples_are_sympys():
    """An answer that is a template's float alone (d(2.5*a)/da), and each part of a tuple answer, has the
    floats written back: equal to SymPy's own answer for the floats, the second time from the template."""
    from symdiff.ir.graph import ARG
    from symdiff.ir.templates import by_structure
    a, b = ARG[0], ARG[1]

    def both(e):
        return sp.diff(e, a), sp.diff(e, b), e
    slope, parts = by_structure(lambda e: sp.diff(e, a)), by_structure(both)
    for c, d in [(2.5, 0.5), (1.25, 3.0), (-0.75, 2.0)]:
        assert slope(sp.Float(c) * a) == sp.Float(c)
        e = sp.Float(c) * a + sp.Float(d) * sp.sin(sp.Float(d) * b) - sp.exp(sp.Float(c) * a * b)
        got = parts(e)
        assert got == both(e) and not any(s.name.startswith("_k") for g in got for s in g.free_symbols)


def _tight_value_and_grad(f, x):
    """``symdiff.value_and_grad(f)(x)`` with Python's recursion limit 250 frames above the caller's."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) - 1 + 250)  # (this function's own frame not counted)
    try:
        return symdiff.value_and_grad(f)(x)
    finally:
        sys.setrecursionlimit(old)


def _long_sum(tmp_path, n):
    cs = [1 + i / n for i in range(n)]
    f = _load(tmp_path, f"long_sum_{n}", [f"s = s + np.sin(x * {c!r})" for c in cs], first="s = 0.0 * x",
              result="np.sum(s)")
    x = np.linspace(-1.0, 1.0, 7)
    value, g = _tight_value_and_grad(f, x)
    np.testing.assert_allclose(value, sum(np.sin(c * x) for c in cs).sum(), rtol=1e-12)
    np.testing.assert_allclose(g, sum(c * np.cos(c * x) for c in cs), rtol=1e-9, atol=1e-9)


def test_long_sum_deeper_than_the_recursion_limit(tmp_path):
    """A sum of 600 terms (the value a 600-deep chain of adds, its gradient a fan-out of one adjoint to
    600 terms) compiles with the recursion limit 250 frames above the caller, to the closed form's value
    and gradient sum_i c_i cos(c_i x)."""
    _long_sum(tmp_path, 600)


@pytest.mark.skipif(not os.environ.get("SYMDIFF_LONG_PROGRAMS"), reason="set SYMDIFF_LONG_PROGRAMS=1 (about 15 s)")
def test_sum_of_3000_terms_deeper_than_the_recursion_limit(tmp_path):
    _long_sum(tmp_path, 3000)


def test_written_back_products_are_sympys_own():
    """A product a template's float is written back into is SymPy's product of the same factors, argument
    for argument (its order, its one number first), also with a product, a second number or 1 among them."""
    from sympy.core.mul import _unevaluated_Mul
    from symdiff.ir.templates import _sorted_mul
    a, b, c = sp.symbols("_a0 _a1 _a2", real=True)
    cases = [(sp.Float(1.6), sp.cos(a)), (sp.cos(b * sp.Float(2.5)), sp.Float(0.25), sp.sin(a), c),
             (sp.Float(3.0), sp.Integer(2), a), (sp.S.One, b, a), (sp.Float(-1.5), a * b, c), (sp.Rational(1, 3), b)]
    for args in cases:
        got, want = _sorted_mul(args, True), _unevaluated_Mul(*args)
        assert got == want and got.args == want.args and type(got) is type(want), (args, got, want)
        assert got == sp.Mul(*args)


def test_written_back_sums_combine_alike_terms():
    """Floats written into a sum whose terms become alike but for their numbers (2*x*y and x*y, 3*x and x)
    are added by SymPy: the sum is evaluated, not only sorted."""
    from symdiff.ir.templates import rename
    x, y, k = sp.symbols("x y _k9", real=True)
    for template, want in [(k * x * y + x * y, sp.Float(3.0) * x * y), (k * x + x + y, sp.Float(4.0) * x + y)]:
        got = rename(template, {k: sp.Float(2.0) if template.has(y * x) else sp.Float(3.0)}, symbols=False)
        assert got == want, (template, got)


def test_fusing_parts_that_read_one_array_keeps_cancellation_and_domain(tmp_path):
    """Fusion gives an array read by two fused parts one placeholder: ``sqrt(x) + x`` fused into ``- x``
    cancels the ``x`` terms (the gradient is 1/(2 sqrt(x)), not 1/(2 sqrt(x)) + 1 - 1 left to rounding)
    and keeps the square root's domain (NaN for x < 0, as NumPy)."""
    f = _load(tmp_path, "cancel", ["y = np.sqrt(x) + x", "y = y * 2.0 - x", "y = y - x"])
    x = np.array([0.25, 1.0, 4.0])
    value, g = symdiff.value_and_grad(f)(x)
    np.testing.assert_allclose(value, np.sum(2 * np.sqrt(x)), rtol=1e-12)
    np.testing.assert_allclose(g, 1 / np.sqrt(x), rtol=1e-12)
    with np.errstate(invalid="ignore"):
        value, g = symdiff.value_and_grad(f)(np.array([-1.0, 1.0]))
    assert np.isnan(value) and np.isnan(g[0]) and g[1] == pytest.approx(1.0)


LONG = "SYMDIFF_LONG_PROGRAMS"


@pytest.mark.skipif(not os.environ.get(LONG), reason=f"a long compile (~15 s); set {LONG}=1 "
                    "(benchmarks/compile_scaling.py measures these programs)")
@pytest.mark.parametrize("kind", ["sum", "chain"])
def test_3000_line_programs_compile_without_recursion_and_match(tmp_path, kind):
    """A 3,000-term sum (its value a 3,000-deep chain of adds, its gradient a fan-out of one adjoint) and
    a 3,000-op mixed chain compile at Python's default recursion limit, with correct gradients: the
    sum's is sum_i c_i cos(c_i x) in closed form, the chain's checked by central differences."""
    n = 3000
    x = np.linspace(0.5, 1.5, 6)
    if kind == "sum":
        cs = [1 + i / n for i in range(n)]
        f = _load(tmp_path, "long_sum", [f"s = s + np.sin(x * {c!r})" for c in cs], first="s = 0.0 * x",
                  result="np.sum(s)")
        value, g = symdiff.value_and_grad(f)(x)
        np.testing.assert_allclose(value, f(x), rtol=1e-10)
        np.testing.assert_allclose(g, sum(c * np.cos(c * x) for c in cs), rtol=1e-9)
        return
    f = _load(tmp_path, "long_chain", [MIXED[i % len(MIXED)] for i in range(n)])
    value, g = symdiff.value_and_grad(f)(x)
    d, fd = _central(f, x)
    assert value == pytest.approx(f(x), rel=1e-10)
    assert abs(g @ d - fd) <= 1e-6 * max(1.0, abs(fd))


#: Statements of the random long programs below: bounded values, float constants in sums, products,
#: functions' arguments and divisions, the same constants coming back (a long program's templates).
_RANDOM_STEPS = ("y = np.tanh(y * {c})", "y = np.tanh(y + {c} * x)", "y = np.sin(y * {c})", "y = np.tanh(y) - {c}",
                 "y = np.exp(-{p} * y * y)", "y = y / ({p} + x * x)", "y = np.log1p(y * y) * {c}",
                 "s = np.sin(s + np.cos(x * {c}))", "s = np.tanh(s - {c} * y)", "y = np.tanh(y * s * {c})",
                 "y = np.sqrt(y * y + {p})", "s = np.cos(s + y ** 2 * {c})", "y = np.tanh({c} - y)",
                 "y = np.sin(-y * {c} + x)", "s = np.tanh(s * {c} + y)", "y = np.tanh(y ** 3 * {c} - y)",
                 "y = 1 / (1 + np.exp(-{c} * y))")


@pytest.mark.parametrize("seed", [21, 24])
def test_long_random_programs_match_autograd(tmp_path, seed):
    """250-statement programs drawn at random (a fixed seed) from :data:`_RANDOM_STEPS`: symdiff's value and
    gradient equal autograd's on the same source to 1e-12 (relative to the largest element)."""
    import random
    autograd = pytest.importorskip("autograd")
    rng = random.Random(seed)

    def constant() -> float:
        if rng.random() < 0.3:
            return rng.choice([1.0, -1.0, 0.5, 2.0, 1.5, -0.25, 3.0, 0.1])
        return round(rng.uniform(-3, 3), rng.choice([1, 2, 3, 6]))
    lines = []
    for _ in range(250):
        c = constant()
        lines.append(rng.choice(_RANDOM_STEPS).format(c=repr(c), p=repr(abs(c) + 0.5)))
    f = _load(tmp_path, f"random_long_{seed}", ["s = 0.5 * x", *lines], first="y = x * 1.0",
              result="np.sum(y * s) + np.sum(s)")
    namespace: dict = {}
    exec(compile(inspect.getsource(f).replace("np.", "anp."), "random_long", "exec"),  # noqa: S102 - the test's own
         {"anp": pytest.importorskip("autograd.numpy")}, namespace)
    x = np.linspace(0.3, 1.1, 7)
    value, g = symdiff.value_and_grad(f)(x)
    want = autograd.grad(namespace["f"])(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    assert np.max(np.abs(g - want)) <= 1e-12 * np.max(np.abs(want)), (g, want)
