"""``--annotate`` / ``export(annotate=True)``: type hints on the public functions of a generated module,
the same code otherwise (``mypy --strict`` on annotated modules: tests/test_typing.py)."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import numpy as np

from symdiff.api import compile_for_export
from symdiff.backends.numpy.annotations import _returned
from symdiff.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from model import loss  # noqa: E402

SEED = {"x": (5,), "y": (3,), "w": (5, 3), "b": (3,)}


def huber(r, delta=1.0):
    if abs(r) <= delta:
        return 0.5 * r ** 2
    return delta * (abs(r) - 0.5 * delta)


def steps(x, n):
    for _ in range(n):
        x = np.tanh(x)
    return np.sum(x)


def _modules():
    return {
        "seed_grad": compile_for_export(loss, ("w", "b"), SEED, annotate=True),
        "seed_one": compile_for_export(loss, "w", SEED, annotate=True),
        "seed_hessian": compile_for_export(loss, "w", SEED, kind="hessian", annotate=True),
        "seed_hvp": compile_for_export(loss, "b", SEED, kind="hvp", annotate=True),
        "seed_jvp": compile_for_export(loss, "w", SEED, kind="jvp", annotate=True),
        "huber": compile_for_export(huber, "r", {}, annotate=True),
        "steps": compile_for_export(steps, "x", {"x": ("n_x",)}, static={"n": 3}, annotate=True),
    }


def _headers(source: str) -> list[tuple[int, int]]:
    """The (first, last) line numbers of each def's signature (ruff's layout breaks long ones)."""
    return [(n.lineno, n.body[0].lineno - 1) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]


def _defs(source: str) -> dict[str, str]:
    """Each def's signature on one line."""
    lines, out = source.splitlines(), {}
    for first, last in _headers(source):
        text = " ".join(s.strip() for s in lines[first - 1:last])
        text = re.sub(r",? \)", ")", text.replace("( ", "("))
        out[re.match(r"def (\w+)", text).group(1)] = text
    return out


def test_signatures_carry_the_types():
    mods = _modules()
    defs = _defs(mods["seed_grad"].source)
    assert defs["loss_grad"] == ("def loss_grad(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) "
                                 "-> tuple[np.ndarray, np.ndarray]:")
    assert defs["loss_value_and_grad"].endswith("-> tuple[float | np.ndarray, tuple[np.ndarray, np.ndarray]]:")
    assert _defs(mods["seed_one"].source)["loss_grad"].endswith("-> np.ndarray:")
    assert "v: np.ndarray | float" in _defs(mods["seed_hvp"].source)["loss_hvp"]
    huber_defs = _defs(mods["huber"].source)
    assert huber_defs["huber_grad"] == "def huber_grad(r: float, delta: float = 1.0) -> float | np.ndarray:"
    assert all(": " not in d.split("(")[1] for k, d in huber_defs.items() if k.startswith("_"))  # internal: bare
    assert "n: int" in _defs(mods["steps"].source)["steps_grad"]


def test_annotated_code_is_the_same_code():
    plain = compile_for_export(loss, ("w", "b"), SEED).source
    annotated = compile_for_export(loss, ("w", "b"), SEED, annotate=True).source
    def strip(s: str) -> list[str]:
        heads = {k for first, last in _headers(s) for k in range(first, last + 1)}
        return [line for k, line in enumerate(s.splitlines(), 1) if k not in heads and not line.startswith("# mypy: ")]
    assert strip(plain) == strip(annotated)
    assert annotated.startswith('# mypy: disable-error-code="no-any-return, no-untyped-call, no-untyped-def"\n')
    namespace: dict = {}
    exec(compile(annotated, "<annotated>", "exec"), namespace)
    rng = np.random.default_rng(0)
    x, y, w, b = rng.normal(size=5), rng.uniform(size=3), rng.normal(size=(5, 3)), rng.normal(size=3)
    dw, db = namespace["loss_grad"](x, y, w, b)
    dz = (1 / (1 + np.exp(-(x @ w + b))) - y) / 3
    np.testing.assert_allclose(dw, np.outer(x, dz), rtol=1e-12)
    np.testing.assert_allclose(db, dz, rtol=1e-12)


def test_return_types_follow_the_return_statement():
    assert _returned("return {0}", ["np.ndarray"]) == "np.ndarray"
    assert _returned("return ({0},), {1}", ["a", "b"]) == "tuple[tuple[a], b]"
    assert _returned("return {0}, aux", ["a"]) is None  # what it cannot type, it leaves bare


def test_annotated_module_checks_clean(tmp_path):
    from symdiff.cli import check_module
    out = tmp_path / "ann_grad.py"
    assert main(["grad", "examples/model.py:loss", "--wrt", "w", "--shape", "x=5", "--shape", "y=3",
                 "--shape", "w=5,3", "--shape", "b=3", "--annotate", "--dtype", "float32", "-o", str(out)]) == 0
    text = out.read_text()
    from symdiff.check import header_command
    assert header_command(text.split('"""')[1]).endswith("--annotate -o ann_grad.py") and "-> np.ndarray:" in text
    assert check_module(out).status == "fresh"
