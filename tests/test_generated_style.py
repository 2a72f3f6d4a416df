"""Generated code reads as a person would write it: the user's intermediate names kept (``h``, ``dh``),
arithmetic without ``1.0*x`` or ``x*(1.0/n)``, floats as their simple fractions (``0.5``, never
``0.4999999999999999``), long lines broken within 100 columns, and generated modules free of unused
imports (ruff ``E,F,W`` at line length 100, where installed).
Every printed form is also evaluated against SymPy's own value, since a prettier form that computes
something else would be the worst outcome."""
import ast
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symdiff
from symdiff.backends.numpy.linebreak import wrap
from symdiff.backends.numpy.printer import ExprPrinter, _snapped
from symdiff.cli import load_function

ROOT = Path(__file__).resolve().parents[1]
x, y = sp.symbols("x y", real=True)
n = sp.Symbol("n", integer=True, positive=True)
BAD = ("1.0*", "*(1.0/", "0.49999", "99999999")


def _value(code: str, values: dict) -> np.ndarray:
    with np.errstate(all="ignore"):
        return eval(code, {"np": np, **values})


def _random_expr(rng: np.random.Generator, depth: int) -> sp.Expr:
    leaves = [x, y, n, sp.Integer(2), sp.Rational(1, 3), sp.Float(0.5), sp.Float(1.0), 1 / n]
    if depth == 0:
        return leaves[rng.integers(len(leaves))]
    a, b = _random_expr(rng, depth - 1), _random_expr(rng, depth - 1)
    k = rng.integers(7)
    return [a + b, a - b, a * b, a / (b * b + 1), -a * b, sp.exp(-a * a) * b, (a + 1) / n][k]


@pytest.mark.parametrize("small", [frozenset(), frozenset({n})])
def test_printed_arithmetic_computes_sympys_value(small):
    rng = np.random.default_rng(3)
    values = {"x": rng.uniform(-2, 2, 7), "y": rng.uniform(-2, 2, 7), "n": 5}
    printer = ExprPrinter({x: "x", y: "y", n: "n"}, small=small, float_literals=True, floating={x, y})
    checked = 0
    for _ in range(300):
        expr = _random_expr(rng, int(rng.integers(1, 4)))
        if not expr.free_symbols:
            continue
        code = printer.doprint(expr)
        exact = sp.lambdify((x, y, n), expr, "numpy")(values["x"], values["y"], values["n"])
        np.testing.assert_allclose(_value(code, values) + 0 * values["x"], exact + 0 * values["x"],
                                   rtol=1e-12, atol=1e-12, err_msg=f"{expr} printed {code}")
        checked += 1
    assert checked > 200


@pytest.mark.parametrize("expr, code", [
    (sp.Float(1.0) * x, "x"),
    (sp.Mul(sp.Float(1.0), x, 1 / n, evaluate=False), "x/n"),
    (x / n, "x/n"),
    ((x - y) / n, "(x - y)/n"),
    (x / (n * (n + 1)), "x/(n*(n + 1.0))"),
    (-x / n, "-x/n"),
    (2 * x / (x + 1), "2.0*x/(x + 1.0)"),
    (sp.exp(sp.Float(-0.4999999999999999) * x), "np.exp(-0.5*x)"),
])
def test_printed_as_a_person_writes_it(expr, code):
    assert ExprPrinter({x: "x", y: "y", n: "n"}, small={n}, float_literals=True, floating={x, y}).doprint(expr) == code


def test_float_of_integer_data_keeps_its_cast():
    # 1.0*labels makes int64 data float; dropping it would change the dtype
    assert ExprPrinter({x: "labels"}, float_literals=True).doprint(sp.Float(1.0) * x) == "1.0*labels"


def test_snapped_floats():
    assert _snapped(0.4999999999999999) == 0.5
    assert _snapped(0.12249999999999998) == 0.1225 or _snapped(0.12249999999999998) == 0.12249999999999998
    assert _snapped(1 / 3 + 1e-16) == 1 / 3
    assert _snapped(0.7071067811865475) == 0.7071067811865475  # no simple fraction near it: unchanged
    assert _snapped(0.1) == 0.1


def _classifier_module(tmp_path) -> str:
    loss = load_function(f"{ROOT / 'examples' / 'classifier.py'}:loss")
    shapes = {"params.W1": "d,h", "params.b1": "h", "params.W2": "h,k", "params.b2": "k", "X": "n,d",
              "y": "n:int64"}
    return symdiff.export(loss, tmp_path / "classifier_grad.py", shapes=shapes)


def test_user_intermediate_names_are_kept(tmp_path):
    text = _classifier_module(tmp_path)
    # the tanh is shared by the value and the gradient (1 - h**2): it still is the user's h
    assert "    h = np.tanh(X @ W1 + b1)\n" in text
    assert "    dh = dlogits @ W2.T\n" in text
    assert "h**2" in text and "t1 = np.tanh(" not in text
    assert "    db1 = " in text and "    db2 = " in text


def test_seed_module_has_no_machine_arithmetic():
    text = (ROOT / "tests" / "golden" / "seed_loss_grad.py").read_text()
    for bad in BAD:
        assert bad not in text
    assert "- y) / n_w1" in text


LONG = [
    "raise ValueError('loss: y.shape[0] (' + str(y.shape[0]) + ') != X.shape[0] (' + str(X.shape[0]) + '), but "
    "loss needs them equal (NumPy raises: operands could not be broadcast together)')",
    "dx = (2/3)/n_x1 + t1.T @ t4 + (t4 @ t1).T + t5*((1/3)/t5.sum(axis=(0, 1), keepdims=True)) + "
    "np.reshape((1/3)*dcol, (1, n_x1))",
    "dlogp = _scatter(np.broadcast_to(-1/n, (n,)), (n, k), np.s_[np.arange(n), y], another_long_argument_name_x)",
    "a, b = np.linalg.eigh(" + "a" * 80 + ")",
    "out = f(x)[0] - g(y)[1] * h(z, w=[1, 2, 3]) - very_long_name_number_one - very_long_name_number_two - q",
]


@pytest.mark.parametrize("line", LONG)
@pytest.mark.parametrize("indent", ["", "        "])
def test_long_lines_are_broken_into_the_same_statement(line, indent):
    lines = wrap(indent + line, 96)
    assert len(lines) > 1 and all(len(s) <= 96 for s in lines), lines
    body = textwrap.dedent("\n".join(lines))
    # the same syntax tree (adjacent string literals are one constant): the same code
    assert ast.dump(ast.parse(body)) == ast.dump(ast.parse(line))


def test_long_comment_goes_on_over_comment_lines():
    line = "    # Grad of: return -0.5 * np.sum((x - mu) ** 2) / sigma ** 2 - x.size * math.log(sigma) - 1.5 * x.size"
    lines = wrap(line, 96)
    assert len(lines) == 2 and all(s.startswith("    # ") and len(s) <= 96 for s in lines)
    assert " ".join(s.strip("# ") for s in lines) == line.strip("# ")


CORPUS_SUBSET = ("losses.mse", "losses.huber", "containers.ridge_with_l2_in_params", "finance.black_scholes_erf",
                 "layers.rbf_network", "control_flow.augmented_assignment", "statistics.normal_loglik",
                 "physics.angular_momentum", "containers.rnn_tuple", "control_flow.value_with_aux")


def test_corpus_modules_pass_ruff_and_have_no_machine_arithmetic(tmp_path):
    from test_corpus import CORPUS, _shapes, _static
    from test_generated_module import check_source_comments
    entries = [e for e in CORPUS if e.id in CORPUS_SUBSET]
    assert len(entries) == len(CORPUS_SUBSET)
    for e in entries:
        args = e.with_defaults(e.args(seed=10))
        kwargs = {"has_aux": True} if "has_aux" in e.needs else {}
        text = symdiff.export(e.fn, tmp_path / f"{e.category}_{e.name}.py", wrt=e.wrt, shapes=_shapes(e, args),
                              static=_static(e, args), **kwargs)
        for bad in ("*(1.0/", "0.49999"):
            assert bad not in text, (e.id, bad)
        assert check_source_comments(text, Path(inspect.getsourcefile(e.fn))) > 0, e.id  # file:line, in order
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extras)")
    done = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "E,F,W", "--line-length", "100",
                           "."], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _ruff() -> str:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extras)")
    return ruff


def _assert_ruff_clean(folder: Path) -> None:
    """``ruff format --check`` and ``ruff check --select E,F,W`` at line length 100 pass on every module
    in ``folder``: the modules are already what the formatter would print."""
    ruff = _ruff()
    names = sorted(p.name for p in folder.glob("*.py"))
    assert names
    done = subprocess.run([ruff, "format", "--check", "--diff", "--no-cache", "--isolated", "--line-length", "100",
                           *names], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    done = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "E,F,W", "--line-length", "100",
                           *names], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_corpus_modules_are_what_ruff_format_prints(tmp_path):
    """Every corpus entry that export supports, plus its hessian where it has one argument: the
    formatter (ruff, the oracle here) would change nothing and the linter finds nothing."""
    _ruff()
    from test_corpus import CORPUS, GAPS, _shapes, _static
    written = 0
    for e in CORPUS:
        if f"{e.id}:export" in GAPS:
            continue
        args = e.with_defaults(e.args(seed=10))
        kwargs = {"has_aux": True} if "has_aux" in e.needs else {}
        symdiff.export(e.fn, tmp_path / f"{e.category}_{e.name}.py", wrt=e.wrt, shapes=_shapes(e, args),
                       static=_static(e, args), **kwargs)
        written += 1
    assert written > 200
    _assert_ruff_clean(tmp_path)


SEED = {"x": (5,), "y": (3,), "w": (5, 3), "b": (3,)}


def test_kinds_loops_annotations_and_float32_are_what_ruff_format_prints(tmp_path):
    from symdiff.api import compile_for_export
    _ruff()
    loss = load_function(f"{ROOT / 'examples' / 'model.py'}:loss")

    def steps(x, n):
        for _ in range(n):
            x = np.tanh(x) * x + 0.5 * np.sin(x) ** 2
        return np.sum(x)

    modules = {f"seed_{kind}": compile_for_export(loss, "w" if kind != "grad" else ("w", "b"), SEED, kind=kind)
               for kind in ("grad", "jacobian", "hessian", "hvp", "jvp", "vjp")}
    modules.update({f"seed_{kind}_annotated": compile_for_export(loss, "w", SEED, kind=kind, annotate=True)
                    for kind in ("grad", "hessian", "hvp", "jvp")})
    modules["seed_float32"] = compile_for_export(loss, ("w", "b"), SEED, dtype="float32")
    modules["steps_loop"] = compile_for_export(steps, "x", {"x": ("n_x",)}, static={"n": 3})
    modules["steps_loop_annotated"] = compile_for_export(steps, "x", {"x": ("n_x",)}, static={"n": 3},
                                                         annotate=True)
    for name, compiled in modules.items():
        (tmp_path / f"{name}.py").write_text(compiled.source, encoding="utf-8")
    from test_odeint import lotka_loss  # an ODE solve: nested functions passed to SciPy
    symdiff.export(lotka_loss, tmp_path / "lotka.py", wrt=("theta", "y0"),
                   shapes={"theta": (4,), "y0": (2,), "t": (6,)})
    (tmp_path / "golden_seed.py").write_text((ROOT / "tests" / "golden" / "seed_loss_grad.py").read_text())
    _classifier_module(tmp_path)
    _assert_ruff_clean(tmp_path)


def test_cli_output_is_what_ruff_format_prints(tmp_path):
    _ruff()
    done = subprocess.run([sys.executable, "-m", "symdiff", "grad", str(ROOT / "examples" / "model.py") + ":loss",
                           "--wrt", "w,b", "--shape", "x=5", "--shape", "y=3", "--shape", "w=5,3", "--shape", "b=3",
                           "--annotate"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    (tmp_path / "cli_seed.py").write_text(done.stdout)
    _assert_ruff_clean(tmp_path)


@pytest.mark.parametrize("line", [
    "x = aaaaaaaaaaaaaaaaaaaaaaaaa + np.exp(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccccccc)",
    "x = (aaaaaaaaaaaaaaaaaaaaaaaaa * np.exp(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) + cccccccccccccccccc) / n",
    "x = np.exp(aaaaaaaaaaaaaaaaaaaaaaaaa * np.exp(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) + ccccc).sum(axis=0)",
    "x = np.exp(aaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) + ccccccc + ddddddddd",
    "x[aaaaaaaaaaaaaaaa] = aaaaaaaaaaaaaaaa + bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb * cccccccccccccccc(dd)",
    "return (np.exp(aaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb), cccccccccccccccccc)",
    "x = fffffffffffffffffffffff(aaaaaaaaaaaaaaaaaaaaaaaaa)(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb)",
    "x = np.exp(a * np.exp(bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb + ccccccc + dddddddddddddddddddddddddd + e) * f)",
    "y = x[-1:] + x[a.b:] + x[f(a):] + x[a+1:] + x[:n-1] + x[::2] + x[1:n, :, None] + x[-n:] + x[a[1]:]",
    "z = a**2 + a.b**2 + (-a)**2 + f(a)**2 + a[1]**2 + 2**-a + (a+b)**2 + a**-1 + 1.5**a.b.c + -a**2",
    "v = {'a': 1, **d, \"it's\": [i for i in range(3) if i], 'k': lambda a, b=1: a + b}",
    "raise ValueError('f: y.shape[0] (' + str(y.shape[0]) + ') != X.shape[0] (' + str(X.shape[0]) + "
    "'), but f needs them equal (NumPy raises: operands could not be broadcast together, see the docs)')",
] + LONG)
def test_statements_are_spelled_as_ruff_formats_them(line, tmp_path):
    """One statement in a function body, spelled and broken by symdiff, is ruff format's fixed point
    and still the same code."""
    ruff = _ruff()
    mine = "def f():\n" + "\n".join(wrap("    " + line, 100)) + "\n"
    done = subprocess.run([ruff, "format", "--isolated", "--line-length", "100", "-"], input=mine,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == mine
    assert all(len(s) <= 100 for s in mine.splitlines())
    body = textwrap.dedent(mine.split("\n", 1)[1])
    assert ast.dump(ast.parse(body)) == ast.dump(ast.parse(line))


@pytest.mark.parametrize("backend", ["numba", "array_api"])
def test_other_backends_modules_are_what_ruff_format_prints(backend, tmp_path):
    _ruff()
    pytest.importorskip({"numba": "numba", "array_api": "array_api_compat"}[backend])
    loss = load_function(f"{ROOT / 'examples' / 'model.py'}:loss")

    def steps(x, n):
        for _ in range(n):
            x = np.tanh(x) * x + 0.5 * np.sin(x) ** 2
        return np.sum(x)

    symdiff.export(loss, tmp_path / "seed.py", wrt=("w", "b"), shapes=SEED, backend=backend)
    if backend == "numba":  # a fused loop kernel (the array API backend refuses this loop's gathers)
        symdiff.export(steps, tmp_path / "steps.py", wrt="x", shapes={"x": ("n_x",)}, static={"n": 3},
                       backend=backend)
    _assert_ruff_clean(tmp_path)


@pytest.mark.parametrize("text", ["a", "it's", 'say "hi"', "tab\there\nnew line \\ back", "\x00\u2028é", "'\"'",
                                  '"\'"'])
def test_quoted_strings_read_back_in_ruffs_quotes(text):
    code = symdiff.escape.quoted(text)
    assert ast.literal_eval(code) == text
    assert code[0] == ("'" if text.count('"') > text.count("'") else '"')
    assert "\n" not in code and "\x00" not in code


@pytest.mark.parametrize("line, spelled", [
    ("z = (1.0/n)*t2", "z = (1.0 / n) * t2"),  # parentheses written inside the value are kept
    ("x = (a + b)", "x = a + b"),  # around the whole value they are not
    ("return (dw, db)", "return (dw, db)"),  # a tuple keeps its own
    ("q = (a)**2 + b**-c + (-a)**2 + f(a)**2 + x.y**2", "q = (a) ** 2 + b**-c + (-a) ** 2 + f(a) ** 2 + x.y**2"),
    ("s = x[a+1:] + x[:n] + x[f(a):, ::2]", "s = x[a + 1 :] + x[:n] + x[f(a) :, ::2]"),
    ("v = -a**2", "v = -(a**2)"),
    ("t = x if c else {'k': [1, 2]}", 't = x if c else {"k": [1, 2]}'),
    ("if (a > b):  # why", "if a > b:  # why"),
])
def test_statements_are_spelled_with_ruffs_spacing(line, spelled):
    assert wrap(line) == [spelled]
    assert ast.dump(ast.parse(spelled + ("\n    pass" if spelled.endswith(("  # why", ":")) else ""))) == ast.dump(
        ast.parse(line + ("\n    pass" if line.endswith(("  # why", ":")) else "")))


def test_long_docstring_lines_of_helpers_are_refilled_as_paragraphs():
    from symdiff.backends.numpy.linebreak import wrap_source
    words = " ".join(f"word{i}" for i in range(40))
    source = (f'def helper(x):\n    """{words[:95]}\n    {words[95:]}\n\n        kept  as   written\n    '
              f'closing."""\n    return x\n')
    out = wrap_source(source, 100).splitlines()
    assert all(len(line) <= 100 for line in out)
    assert "        kept  as   written" in out  # (an example, indented deeper)
    doc = [line.strip() for line in out[1:out.index("        kept  as   written")] if line.strip()]
    assert " ".join(doc).strip('"') == words  # every word, in order
    assert all(len(line.split()) > 1 for line in doc)  # no word alone on a line
    compile("\n".join(out), "helper", "exec")


def test_a_layout_that_changes_a_statement_is_not_used(monkeypatch):
    """The body is checked as a whole (the same bytecode); when that fails, each statement is checked and
    the one whose layout computes something else stays as it was written, the others laid out."""
    from symdiff.backends.numpy import linebreak
    real = linebreak.statement
    monkeypatch.setattr(linebreak, "statement", lambda text: real("y = b - a") if text == "y = a - b" else real(text))
    assert linebreak.wrap_lines(["x = a*b", "y = a - b", "return x + y"]) == ["x = a * b", "y = a - b", "return x + y"]


def test_a_module_whose_layout_would_change_a_function_keeps_that_statement(monkeypatch):
    """The module is compiled as written and as laid out, and each function compared; where they differ,
    the function is laid out statement by statement, checked: the statement whose layout would compute
    something else stays as written, and the gradient is right."""
    from symdiff.backends.numpy import linebreak
    real = linebreak.statement
    monkeypatch.setattr(linebreak, "statement", lambda text: real(text.replace(" - ", " + ")))
    monkeypatch.setattr(linebreak, "by_shape", lambda line, width, spell: None)  # (every line spelled itself)

    def f(x):
        return np.sum(np.sin(x) - x * x)
    x = np.linspace(-1.0, 1.0, 5)
    vg = symdiff.value_and_grad(f)
    value, grad = vg(x)
    np.testing.assert_allclose(value, np.sum(np.sin(x) - x * x), rtol=1e-12)
    np.testing.assert_allclose(grad, np.cos(x) - 2 * x, rtol=1e-12)
    assert any(" - " in line for line in vg.source.splitlines() if not line.lstrip().startswith("#"))


def test_same_code_tells_constants_and_names_apart():
    from symdiff.backends.numpy.same_code import same_code
    assert same_code("y = f(x, 0.0)", ["y = f(", "    x, 0.0", ")"])
    assert not same_code("y = f(x, -0.0)", ["y = f(x, 0.0)"])
    assert not same_code("y = f(x, 1)", ["y = f(x, 1.0)"])
    assert not same_code("y = f(x, 1)", ["y = f(x, True)"])
    assert not same_code("y = [i * 2 for i in a]", ["y = [i * 3 for i in a]"])
    assert not same_code("y = a if b else c", ["y = aif b else c"])
    assert same_code("return a + b", ["return (", "    a", "    + b", ")"])


def test_chained_assignments_are_spaced():
    assert wrap("out = A[k] = v") == ["out = A[k] = v"]
    assert wrap("a = b = c+1") == ["a = b = c + 1"]


def test_lines_spelled_by_their_shape_are_spelled_as_themselves():
    """A line of a shape seen before is its shape's spelling filled with its own names and numbers: the
    same text as spelling the line itself (checked here on lines of every kind the modules hold), and
    none where that would not fit on one line."""
    from symdiff.backends.numpy.line_shapes import by_shape
    lines = ["y_7 = 0.9*y_6", "t12 = 1.35e-05*x", "dx = dy + dy_6*np.cos(x) - dy_4", "return f, dx",
             "if a > 1.0:", "b = a if c else -d", "z = x**2 + y**-1", "w = -x**2", "v = x[1:, :-1] + m[i + 1:]",
             "for t in range(n - 1, -1, -1):", "s = np.sum(x*y, axis=0, keepdims=True)", "q = not a and b or c",
             "h = lambda u: u*2", "out = A[k] = v", "dW2 = h.T @ dlogits", "r = (a, b)", "g = f(*args, **kw)",
             "del t1, t2", "while np.max(np.abs(x_new - x)) > tol:", "p = 2j*x + 1e3"]
    for line in lines:
        for text in (line, "    " + line.replace("x", "x_long_name")):
            got = by_shape(text, 100, wrap)
            assert got is None or got == wrap(text), (text, got, wrap(text))
            assert by_shape(text, 100, wrap) == got  # (the second time from the remembered shape)
    long = "y = " + " + ".join(f"a{i}*b{i}" for i in range(30))
    assert by_shape(long, 100, wrap) is None and len(wrap(long)) > 1
