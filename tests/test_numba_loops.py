"""backend="numba" on rolled loops: every loop of the loop corpus is one numba.njit function the glue
calls, with gradients equal to the NumPy backend's (to 1e-12 relative); the reverse loop, checkpoint=,
forward-mode tangent loops, nested loops, float32 and zero-trip loops; the loops numba may not compile
(decided from the code when it is generated) stay Python loops and say why."""
import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff
from corpus import load
from test_loop_forms import nested, settle  # (the loop corpus's own functions)
from test_loops import rnn
from symdiff.backends.numba.rolled import compiled_loop, names, refusal

numba = pytest.importorskip("numba")

REPO = Path(__file__).resolve().parent.parent
ENTRIES = [e for e in load() if e.category == "loops" and (e.name.endswith("_T17") or e.name.endswith("_n8"))]
WHILE = {e.name for e in ENTRIES if "branch" in e.needs}


def _close(got, expected, rtol=1e-12):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-300)
    assert float(np.max(np.abs(got - expected), initial=0.0)) <= rtol * scale, (got, expected)


def _both(fn, args, wrt, **options):
    """value_and_grad on the numba and NumPy backends: (value, grads) of each, and the numba source."""
    vg = symdiff.value_and_grad(fn, wrt=wrt, backend="numba", **options)
    got = vg(*args)
    expected = symdiff.value_and_grad(fn, wrt=wrt, **options)(*args)
    return got, expected, vg.source


def _compare(got, expected, rtol=1e-12):
    (v1, g1), (v2, g2) = got, expected
    _close(v1, v2, rtol)
    g1, g2 = (g1, g2) if isinstance(g2, tuple) else ((g1,), (g2,))
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        _close(a, b, rtol)


def _compiled_loops(source: str) -> list[str]:
    """The names of the njit functions of ``source`` made of a rolled loop (holding a for or while)."""
    tree = ast.parse(source)
    out = []
    for f in tree.body:
        jit = isinstance(f, ast.FunctionDef) and any("numba.njit" in ast.unparse(d) for d in f.decorator_list)
        if jit and "_rolled" in f.name and any(isinstance(n, (ast.For, ast.While)) for n in ast.walk(f)):
            out.append(f.name)
    return out


def _glue_loops(source: str) -> list[str]:
    """The for / while statements of the functions numba does not compile."""
    tree = ast.parse(source)
    return [ast.unparse(n).splitlines()[0] for f in tree.body if isinstance(f, ast.FunctionDef)
            and not f.decorator_list for n in ast.walk(f) if isinstance(n, (ast.For, ast.While))]


@pytest.mark.parametrize("e", ENTRIES, ids=lambda e: e.name)
def test_every_corpus_loop_on_the_numba_backend(e):
    args = e.with_defaults(e.args(0))
    got, expected, source = _both(e.fn, args, e.wrt)
    _compare(got, expected)
    if e.name in WHILE:  # the while loop compiled (its stacks: lists, made arrays after it)
        assert any("while " in source[source.index(f"def {f}"):].split("\n\n\n")[0]
                   for f in _compiled_loops(source))
        assert not any(line.startswith("while ") for line in _glue_loops(source))
        assert len(_glue_loops(source)) == source.count("# Python loop (numba: ")  # each one says why
    else:  # the forward loop and the gradient's reverse loop, each compiled
        assert len(_compiled_loops(source)) >= 2 and not _glue_loops(source)
        assert "# Python loop" not in source


def _rnn_args(T, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(a.astype(dtype) for a in (rng.normal(size=(5, 5)) * 0.4, rng.normal(size=(5, 3)) * 0.5,
                                           rng.normal(size=5), rng.normal(size=(T, 3)), rng.normal(size=5)))


def test_the_rnn_its_reverse_loop_and_the_grad_of_comments():
    got, expected, source = _both(rnn, _rnn_args(40), (0, 1, 2))
    _compare(got, expected)
    assert _compiled_loops(source) == ["_rnn_rolled1", "_rnn_rolled2"]
    kernel = source[source.index("def _rnn_rolled2"):]
    assert "for t in range(n_x0 - 1, -1, -1):" in kernel and "# Grad of: test_loops.py:" in kernel
    assert "np.ascontiguousarray(W)" in source  # numba's @ on a contiguous array


def test_zero_trip_and_other_lengths_with_one_module():
    vg = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), backend="numba")
    for T in (6, 0, 1, 25):  # the bound is read at run time: the module compiled for T=6 runs them all
        got = vg(*_rnn_args(T))
        _compare(got, symdiff.value_and_grad(rnn, wrt=(0, 1, 2))(*_rnn_args(T)))
    assert vg(*_rnn_args(0))[0] == 0.0
    assert vg.cache_info is not None


def test_float32():
    args = _rnn_args(12, np.float32)
    got, expected, source = _both(rnn, args, (0, 1, 2))
    assert got[1][0].dtype == np.float32
    _compare(got, expected, rtol=1e-5)
    assert "dtype=np.float32" in source and len(_compiled_loops(source)) == 2


def test_non_contiguous_arguments():
    W, U, b, x, h0 = _rnn_args(9)
    x_t = np.asfortranarray(x)
    W_t = np.asfortranarray(W)
    got = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), backend="numba")(W_t, U, b, x_t, h0)
    _compare(got, symdiff.value_and_grad(rnn, wrt=(0, 1, 2))(W, U, b, x, h0))


@pytest.mark.parametrize("k", [4, "sqrt"])
def test_checkpoint_segments(k):
    got, expected, source = _both(rnn, _rnn_args(30), (0, 1, 2), checkpoint=k)
    _compare(got, expected)
    _compare(got, symdiff.value_and_grad(rnn, wrt=(0, 1, 2))(*_rnn_args(30)), rtol=1e-9)
    assert len(_compiled_loops(source)) == 2 and not _glue_loops(source)


def rk4(y0, p, dts):
    y = y0
    for dt in dts:
        k1 = np.array([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1], y[0] * y[1] - p[2] * y[2]])
        z = y + dt * k1
        y = y + dt * (k1 + np.array([p[0] * (z[1] - z[0]), z[0] * (p[1] - z[2]) - z[1], z[0] * z[1] - p[2] * z[2]]))
    return np.sum(y ** 2)


def test_scalars_carried_and_forward_mode_tangent_loops():
    y0, p, dts = np.array([1.0, 1.0, 1.0]), np.array([10.0, 28.0, 8.0 / 3.0]), np.full(50, 1e-3)
    got, expected, source = _both(rk4, (y0, p, dts), (0, 1))
    _compare(got, expected)
    assert len(_compiled_loops(source)) == 2
    v = np.array([0.3, -0.2, 0.5])
    jvp = symdiff.jvp(rk4, wrt="y0", backend="numba")
    _compare(jvp(y0, p, dts, v), symdiff.jvp(rk4, wrt="y0")(y0, p, dts, v))
    assert _compiled_loops(jvp.source) and not _glue_loops(jvp.source)
    hvp = symdiff.hvp(rk4, wrt="y0", backend="numba")
    _close(hvp(y0, p, dts, v), symdiff.hvp(rk4, wrt="y0")(y0, p, dts, v))
    assert _compiled_loops(hvp.source) and not _glue_loops(hvp.source)


def test_a_nested_loop_is_compiled_with_its_outer_loop():
    rng = np.random.default_rng(7)
    got, expected, source = _both(nested, (0.7, rng.normal(size=(4, 5))), (0, 1))
    _compare(got, expected)
    compiled = _compiled_loops(source)
    assert len(compiled) == 2 and not _glue_loops(source)
    first = ast.parse(source[source.index(f"def {compiled[0]}"):].split("\n\n\n")[0])
    assert sum(isinstance(n, ast.For) for n in ast.walk(first)) == 2  # the inner loop inside the compiled one


def int_matmul(w, xs, M):
    s = np.zeros(3)
    for t in range(xs.shape[0]):
        s = np.tanh(w * (M @ np.array([t, 1, 2])) + s * xs[t])  # an integer matrix product in the body
    return np.sum(s ** 2)


def test_an_integer_matrix_product_in_a_body_keeps_the_python_loop():
    rng = np.random.default_rng(4)
    args = (0.3, rng.normal(size=(6, 3)), rng.integers(0, 3, size=(3, 3)))
    got, expected, source = _both(int_matmul, args, (0, 1))
    _compare(got, expected)
    assert "# Python loop (numba: matmul of float64/int64 arrays)" in source and _glue_loops(source)


def gather(w, xs, idx):
    s = np.zeros(3)
    for t in range(xs.shape[0]):
        s = np.tanh(w[idx[t]] * s + xs[t])  # a row of indices per step: a gather in the body
    return np.sum(s ** 2)


def test_fancy_indexing_in_a_body_keeps_the_python_loop():
    rng = np.random.default_rng(3)
    args = (rng.normal(size=5), rng.normal(size=(7, 3)), rng.integers(0, 5, size=(7, 3)))
    got, expected, source = _both(gather, args, (0, 1))
    _compare(got, expected)
    assert "# Python loop (numba: an index by an array)" in source and _glue_loops(source)


# ---------------------------------------------------------------- refusals, one per kind -----------

def _refused(code: str) -> str | None:
    return refusal(ast.parse(code), {"_helper"})


@pytest.mark.parametrize("code, why", [
    ("for t in range(n):\n    np.add.at(g, idx, v)", "np.add.at"),
    ("for t in range(n):\n    h = h + x[t, idx[t]]", "an index by an array"),
    ("for t in range(n):\n    h = h + x[x > 0]", "an index by an array"),
    ("for t in range(n):\n    h = np.einsum('ij,j->i', W, h)", "np.einsum"),
    ("for t in range(n):\n    h = np.linalg.solve(A, h)", "np.linalg.solve"),
    ("for t in range(n):\n    h = h.astype(np.float32)", ".astype()"),
    ("for t in range(n):\n    s = np.sum(h, axis=0, keepdims=True)", "keyword keepdims="),
    ("for x in [a, b]:\n    h = h + x", "numba compiles no list here"),
    ("for t in range(n):\n    h = _helper(h)", "call of _helper"),
])
def test_a_body_numba_may_not_compile_is_refused(code, why):
    assert _refused(code) == why


def test_a_refused_loop_is_the_python_loop_under_a_comment():
    lines = ["for t in range(n):", "    np.add.at(g, idx, v)"]
    out = compiled_loop(lines, [], {}, set(), lambda params, body: pytest.fail("compiled"), set())
    assert out == ["# Python loop (numba: np.add.at)"] + lines


def test_what_a_compiled_loop_reads_and_returns():
    lines = ["h = h0", "hs = np.empty((n + 1, m), dtype=np.float64)", "for t in range(n):", "    hs[t] = h",
             "    h = np.tanh(W @ h + x[t])", "hs[n] = h"]
    free, top = names(ast.parse("\n".join(lines)))
    assert free == ["h0", "np", "n", "m", "range", "W", "x"] and top == ["h", "hs"]
    made = {}
    out = compiled_loop(lines, ["h", "hs"], {"h0": "array", "W": "array", "x": "array", "n": "int", "m": "int"},
                        set(), lambda params, body: made.setdefault("f", (params, body)) and "_f_rolled1", set())
    assert out == ["h, hs = _f_rolled1(np.ascontiguousarray(h0), int(n), int(m), np.ascontiguousarray(W), "
                   "np.ascontiguousarray(x))"]
    assert made["f"][1][-1] == "return h, hs"


def test_an_argument_written_in_place_is_returned():
    lines = ["for t in range(n):", "    acc[t] += v[t]"]
    out = compiled_loop(lines, [], {"acc": "array", "v": "array", "n": "int"}, set(),
                        lambda params, body: "_f_rolled1", set())
    assert out == ["acc, = _f_rolled1(int(n), np.ascontiguousarray(v), np.ascontiguousarray(acc))"]


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np, symdiff
from test_numba_loops import rnn, _rnn_args
vg = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), backend="numba")
value = vg(*_rnn_args(20))[0]
gen = [m for name, m in list(sys.modules.items()) if name.startswith("symdiff_generated_rnn_")]
loops = [v for m in gen for k, v in vars(m).items() if "_rolled" in k]
print(vg.cache_info, len(loops), sum(sum(k.stats.cache_hits.values()) for k in loops),
      sum(sum(k.stats.cache_misses.values()) for k in loops), repr(float(value)))
"""


def test_a_second_process_loads_the_compiled_loops_from_numba_cache(tmp_path):
    value = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), backend="numba")(*_rnn_args(20))[0]
    cache = Path(os.environ["SYMDIFF_CACHE_DIR"])
    assert list((cache / "__pycache__").glob("rnn_*._rnn_rolled*.nbi"))
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).resolve().parent)))
    second = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert second.returncode == 0, second.stderr
    info, count, hits, misses, value2 = second.stdout.split()
    assert (info, count, misses) == ("disk", "2", "0") and int(hits) == 2 and float(value2) == float(value)


def fixed_point(a, tol):
    x = np.zeros_like(a)
    x_new = 0.9 * x + 0.05 * np.cos(x) + 0.1 * a
    while np.max(np.abs(x_new - x)) > tol:
        x = x_new
        x_new = 0.9 * x + 0.05 * np.cos(x) + 0.1 * a
    return np.sum(x_new ** 2)


def test_a_while_loop_its_trip_count_and_zero_trips():
    a = np.linspace(0.5, 1.5, 8)
    vg = symdiff.value_and_grad(fixed_point, backend="numba")
    for tol in (1e-9, 1e-3, 10.0):  # 10.0: the condition fails at once, zero iterations
        _compare(vg(a, tol), symdiff.value_and_grad(fixed_point)(a, tol))
    assert len(_compiled_loops(vg.source)) == 2 and not _glue_loops(vg.source)
    assert "n_iter = t" in vg.source and "while running:" in vg.source


def test_a_while_loop_inside_a_for_loop():
    rng = np.random.default_rng(12)
    got, expected, source = _both(settle, (0.5, rng.normal(size=5)), (0, 1))
    _compare(got, expected)
    assert len(_glue_loops(source)) == source.count("# Python loop (numba: ")


def test_export_writes_the_compiled_loops(tmp_path):
    text = symdiff.export(rnn, tmp_path / "rnn_grad.py", wrt=("W", "U", "b"),
                          shapes={"W": ("n", "n"), "U": ("n", "d"), "b": ("n",), "x": ("T", "d"), "h0": ("n",)},
                          backend="numba")
    assert _compiled_loops(text) == ["_rnn_rolled1", "_rnn_rolled2"] and not _glue_loops(text)
    sys.path.insert(0, str(tmp_path))
    try:
        import rnn_grad
    finally:
        sys.path.remove(str(tmp_path))
    args = _rnn_args(11)
    _compare(rnn_grad.rnn_value_and_grad(*args), symdiff.value_and_grad(rnn, wrt=(0, 1, 2))(*args))
