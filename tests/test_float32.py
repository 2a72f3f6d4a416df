"""``export(..., dtype="float32")`` and ``symdiff grad --dtype float32``: the module returns float32
everywhere (values and gradients; ones, broadcast numbers and constants it makes are float32), and
agrees with the float64 module to float32 precision."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff.api import compile_for_export

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import corpus  # noqa: E402

for _category in corpus.CATEGORIES:
    __import__(f"corpus.{_category}")

#: Corpus functions whose float32 modules used to return float64 somewhere (a broadcast 1, np.ones,
#: float64 constants, a value computed with np.sqrt of a size), and a few plain ones.
NAMES = ["control_flow.polynomial_horner", "losses.confidence_weighted_ce", "layers.transpose_heads",
         "statistics.mvn_cholesky_free", "finance.black_scholes_math", "finance.garch_filter",
         "numerics.chebyshev_fit"]


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        for t in tree:
            yield from _leaves(t)
    else:
        yield tree


def _module(entry, dtype):
    args = entry.with_defaults(entry.args(0))
    shapes = {p: a.shape for p, a in zip(entry.params, args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"}
    static = {p: a for p, a in zip(entry.params, args) if isinstance(a, (bool, int, str))}
    wrt = entry.wrt if len(entry.wrt) > 1 else entry.wrt[0]
    compiled = compile_for_export(entry.fn, wrt, shapes, static=static, dtype=dtype)
    namespace: dict = {}
    exec(compile(compiled.source, f"<{entry.id} {dtype}>", "exec"), namespace)
    return namespace, compiled, args


@pytest.mark.parametrize("name", NAMES)
def test_float32_module_returns_float32_and_matches_float64(name):
    entry = next(e for e in corpus.CORPUS if e.id == name)
    m32, c32, args = _module(entry, "float32")
    m64, c64, _ = _module(entry, "float64")
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]
    for suffix in ("value_and_grad", "grad"):
        got = list(_leaves(m32[f"{c32.func_name}_{suffix}"](*args32)))
        want = list(_leaves(m64[f"{c64.func_name}_{suffix}"](*args)))
        assert [np.asarray(g).dtype for g in got] == [np.dtype(np.float32)] * len(want), (suffix, got)
        for g, w in zip(got, want):
            scale = max(float(np.max(np.abs(w))), 1e-30)
            assert float(np.max(np.abs(np.asarray(g, dtype=np.float64) - w))) <= 2e-5 * scale, (suffix, g, w)
    assert "float32" in c32.source.split('"""')[1]  # the header says what it was made for


def test_the_arrays_a_float32_module_makes_are_float32():
    def f(x):
        y = 0.25 * np.ones_like(x)
        return np.sum(y * x ** 2) + np.sum(np.array([1.0, 2.0, 3.0]) * x[:3])

    source = compile_for_export(f, "x", {"x": (5,)}, dtype="float32").source
    assert "np.broadcast_to(np.float32(1)" in source or "np.broadcast_to(" not in source
    assert "dtype=np.float64" not in source
    assert "dtype=np.float32)" in source
    namespace: dict = {}
    exec(compile(source, "<f32>", "exec"), namespace)
    x = np.arange(5, dtype=np.float32)
    value, g = namespace["f_value_and_grad"](x)
    assert value.dtype == np.float32 and g.dtype == np.float32
    np.testing.assert_allclose(g, 0.5 * x + np.r_[1.0, 2.0, 3.0, 0.0, 0.0], rtol=1e-6)


def test_float64_modules_are_unchanged_by_the_option():
    def f(x):
        return np.sum(np.tanh(x) * np.ones_like(x))

    assert compile_for_export(f, "x", {"x": ("n",)}).source == \
        compile_for_export(f, "x", {"x": ("n",)}, dtype="float64").source
    with pytest.raises(symdiff.ShapeError, match="float64 .* or float32"):
        compile_for_export(f, "x", {"x": ("n",)}, dtype="float16")


def test_cli_dtype_float32(tmp_path):
    out = tmp_path / "loss_grad.py"
    cmd = [sys.executable, "-m", "symdiff", "grad", "examples/model.py:loss", "--wrt", "w,b", "--shape", "x=5",
           "--shape", "y=3", "--shape", "w=5,3", "--shape", "b=3", "--dtype", "float32", "-o", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT),
                                                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "--dtype float32 -o loss_grad.py" in text  # the command in the header regenerates it as float32
    namespace: dict = {}
    exec(compile(text, str(out), "exec"), namespace)
    rng = np.random.default_rng(0)
    x, y, w, b = (rng.normal(size=s).astype(np.float32) for s in ((5,), (3,), (5, 3), (3,)))
    value, (dw, db) = namespace["loss_value_and_grad"](x, y, w, b)
    assert value.dtype == dw.dtype == db.dtype == np.float32
    z = x.astype(float) @ w + b
    dz = (1 / (1 + np.exp(-z)) - y) / 3
    np.testing.assert_allclose(dw, np.outer(x, dz), rtol=1e-5, atol=1e-7)
