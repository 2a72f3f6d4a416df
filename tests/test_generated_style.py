"""Generated code reads as a person would write it: the user's intermediate names kept (``h``, ``dh``),
arithmetic without ``1.0*x`` or ``x*(1.0/n)``, floats as their simple fractions (``0.5``, never
``0.4999999999999999``), and generated modules free of unused imports (ruff, where installed).
Every printed form is also evaluated against SymPy's own value, since a prettier form that computes
something else would be the worst outcome."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symdiff
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
    assert "- y)/n_w1" in text


CORPUS_SUBSET = ("losses.mse", "losses.huber", "containers.ridge_with_l2_in_params", "finance.black_scholes_erf",
                 "layers.rbf_network", "control_flow.augmented_assignment")


def test_corpus_modules_have_no_unused_imports_or_machine_arithmetic(tmp_path):
    from tests.test_corpus import CORPUS, _shapes, _static
    entries = [e for e in CORPUS if e.id in CORPUS_SUBSET]
    assert len(entries) == len(CORPUS_SUBSET)
    for e in entries:
        args = e.with_defaults(e.args(seed=10))
        text = symdiff.export(e.fn, tmp_path / f"{e.category}_{e.name}.py", wrt=e.wrt, shapes=_shapes(e, args),
                              static=_static(e, args))
        for bad in ("*(1.0/", "0.49999"):
            assert bad not in text, (e.id, bad)
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extras)")
    done = subprocess.run([ruff, "check", "--no-cache", "--isolated", "--select", "F,W", "--line-length", "100",
                           "."], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
