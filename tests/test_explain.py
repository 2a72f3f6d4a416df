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



def _tree_loss(params, x):
    w, (u, v) = params["w"], params["uv"]
    return np.sum(np.sin(w) * u + v ** 2 * x + params["layers"][0] * w)


def _tree_leaves(math, params, x):
    """Each ``d<leaf>`` statement evaluated on the leaves (named as in the generated code: ``uv_0`` is
    ``params["uv"][0]``), beside the central difference of the loss along that leaf."""
    leaves = {"w": params["w"], "uv_0": params["uv"][0], "uv_1": params["uv"][1], "layers_0": params["layers"][0]}
    values = {**leaves, "x": x}
    out = {}
    for s in math.sections[0].statements:
        symbols = sorted(s.expr.free_symbols, key=str)
        got = sp.lambdify(symbols, s.expr, "numpy")(*[values[str(t)] for t in symbols])
        leaf = leaves[s.name[1:]]

        def f(t, leaf=leaf):
            saved = leaf.copy()
            leaf[...] = t
            try:
                return _tree_loss(params, x)
            finally:
                leaf[...] = saved

        out[s.name] = (np.broadcast_to(got, leaf.shape), _central(f, leaf.copy()))
    return out


def test_math_of_container_arguments_names_the_leaves_and_is_the_gradient():
    rng = np.random.default_rng(3)
    params = {"w": rng.normal(size=4), "uv": (rng.normal(size=4), rng.normal(size=4)),
              "layers": [rng.normal(size=4)]}
    x = rng.normal(size=4)
    dloss = symdiff.grad(_tree_loss)
    dloss(params, x)
    math = dloss.math
    assert math.title == "_tree_loss: gradient with respect to params"
    pairs = _tree_leaves(math, params, x)
    assert sorted(pairs) == ["dlayers_0", "duv_0", "duv_1", "dw"]
    for name, (got, want) in pairs.items():
        assert np.allclose(got, want, rtol=1e-6, atol=1e-8), name
    shapes = {"params.w": "n", "params.uv.0": "n", "params.uv.1": "n", "params.layers.0": "n", "x": "n"}
    part = explain(_tree_loss, "params.uv", shapes)  # a path into the container: its leaves only
    assert part.title == "_tree_loss: gradient with respect to params.uv"
    pairs = _tree_leaves(part, params, x)
    assert sorted(pairs) == ["duv_0", "duv_1"] and all(np.allclose(*p) for p in pairs.values())
    assert "n = w.shape[0]" in part.text


def test_explain_of_the_classifier_on_the_command_line():
    cmd = [sys.executable, "-m", "symdiff", "explain", "examples/classifier.py:loss", "--shape", "params.W1=d,h",
           "--shape", "params.b1=h", "--shape", "params.W2=h,k", "--shape", "params.b2=k", "--shape", "X=n,d",
           "--shape", "y=n:int64"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT),
                                                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "loss: gradient with respect to params"
    assert "  dW1 = X^T " in "\n".join(lines) and "  db2 = sum(dlogits, axis=0)" in lines
