"""The derivative as equations (``dloss.math``, ``symdiff explain``): the seed reads as the hand-derived
gradient, and the printed equations, evaluated, are the gradient (checked against central differences)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import sympy as sp

import symdiff
from symdiff.cli import explain

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from model import loss  # noqa: E402

SHAPES = {"x": "5", "y": "3", "w": "5,3", "b": "3"}


def _statements(math) -> dict[str, str]:
    (section,) = math.sections
    return {s.name: sp.sstr(s.expr) for s in section.statements}


def test_the_seed_reads_as_the_hand_derived_gradient():
    math = explain(loss, ("w", "b"), SHAPES)
    lines = math.text.splitlines()
    assert "  dz = (sigma(z) - y)/n_w1" in lines
    assert "  dw = x dz^T" in lines
    assert "  db = dz" in lines
    assert any(line.startswith("  z = ") and "x^T w" in line and "b" in line for line in lines)
    assert "n_w1 = y.shape[0]" in lines[-1]
    latex = math.latex
    assert r"\sigma\left(z\right) - y" in latex and r"dw &= x dz^{T}" in latex and r"db &= dz" in latex
    assert math._repr_latex_().startswith("$$") and "\\begin{aligned}" in math._repr_markdown_()


def test_math_of_a_transformed_function_is_its_latest_calls():
    rng = np.random.default_rng(0)
    dloss = symdiff.grad(loss, wrt=("w", "b"))
    dloss(rng.normal(size=5), rng.uniform(size=3), rng.normal(size=(5, 3)), rng.normal(size=3))
    assert "dz = (sigma(z) - y)/n_w1" in str(dloss.math)
    assert dloss.math is dloss.math  # made once per module


def _central(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def test_elementwise_equations_evaluate_to_the_gradient():
    def f(x, a):
        return np.sum(np.sin(x) * x + a * np.exp(-x ** 2) + np.log1p(x ** 2))

    math = explain(f, "x", {"x": "n"})
    (st,) = [s for s in math.sections[0].statements if s.name == "dx"]
    x_, a_ = sp.Symbol("x"), sp.Symbol("a")
    g = sp.lambdify((x_, a_), st.expr, "numpy")
    rng = np.random.default_rng(1)
    x, a = rng.normal(size=6), 0.7
    assert np.allclose(g(x, a), _central(lambda t: f(t, a), x), rtol=1e-6, atol=1e-8)


def test_branches_give_one_section_per_path():
    def huber(r, d):
        if abs(r) <= d:
            return 0.5 * r ** 2
        return d * (abs(r) - 0.5 * d)

    math = explain(huber, "r")
    assert [s.title.split(" (")[0] for s in math.sections] == ["path 0", "path 1"]
    inner, outer = (sp.sympify(_stmt(s, "dr")) for s in math.sections)
    r, d = sp.symbols("r d")
    assert sp.simplify(inner - r) == 0 and sp.simplify(outer - d * sp.sign(r)) == 0


def _stmt(section, name):
    return next(sp.sstr(s.expr) for s in section.statements if s.name == name)


def test_user_text_in_latex_titles_is_escaped():
    from symdiff.explain import _latex_text
    assert _latex_text("if x_1 > 0 & {y}: # $") == r"if x\_1 > 0 \& \{y\}: \# \$"


def test_explain_on_the_command_line():
    cmd = [sys.executable, "-m", "symdiff", "explain", "examples/model.py:loss", "--wrt", "w,b",
           *[a for k, v in SHAPES.items() for a in ("--shape", f"{k}={v}")]]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT),
                                                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "dz = (sigma(z) - y)/n_w1" in done.stdout and "dw = x dz^T" in done.stdout
