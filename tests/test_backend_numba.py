"""backend="numba": fused numba.njit loops against the NumPy backend (to 1e-12), closed forms, central
differences and autograd; the backend= option's refusals; numba's on-disk cache in a second process;
every registry entry through the backend (batched: one module per batch of entries)."""
import importlib.util
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff import backends
from symdiff.errors import BackendError

REPO = Path(__file__).resolve().parent.parent


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_closed_form(x):
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * t - 2.0 * (1 - x[:-1])
    g[1:] += 200.0 * t
    return g


def lennard_jones(X):
    n = X.shape[0]
    d = X[:, None, :] - X[None, :, :]
    r2 = np.sum(d ** 2, axis=-1) + np.eye(n)
    inv6 = (1.0 / r2) ** 3
    return np.sum(4 * (inv6 * inv6 - inv6) * (1 - np.eye(n))) / 2


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z) + 0.1 * np.sum(np.tanh(w) ** 2)


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    assert np.all(np.isnan(a) == np.isnan(b))
    assert float(np.max(np.abs(np.where(np.isnan(b), 0, a - b)), initial=0.0)) <= rtol * scale


def _against_numpy(fn, args, wrt=0, backend="numba"):
    got = symdiff.value_and_grad(fn, wrt=wrt, backend=backend)
    want = symdiff.value_and_grad(fn, wrt=wrt)
    (v1, g1), (v2, g2) = got(*args), want(*args)
    _close(v1, v2)
    for a, b in zip(g1 if isinstance(wrt, tuple) else (g1,), g2 if isinstance(wrt, tuple) else (g2,)):
        _close(a, b)
    return got


# ---- the option (no numba needed) ----

def test_unknown_backend_names_the_option_and_the_choices(tmp_path):
    with pytest.raises(BackendError, match=r"backend='jax'.*'numpy', 'numba'"):
        symdiff.grad(rosen, backend="jax")
    with pytest.raises(BackendError, match=r"backend_options=\{'fast'"):
        symdiff.grad(rosen, backend="numba" if importlib.util.find_spec("numba") else "numpy",
                     backend_options={"fast": True})
    with pytest.raises(BackendError, match="backend="):
        symdiff.export(rosen, tmp_path / "never_written.py", shapes={"x": "n"}, backend="fortran")
    assert not (tmp_path / "never_written.py").exists()


def test_numba_not_installed_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
    with pytest.raises(BackendError, match=r'pip install "symdiff\[numba\]"'):
        symdiff.value_and_grad(rosen, backend="numba")
    with pytest.raises(BackendError, match="numba"):
        symdiff.grad(wrt="x", backend="numba-parallel")


def test_cli_refuses_an_unknown_backend(tmp_path, capsys):
    from symdiff.cli import main
    (tmp_path / "m.py").write_text("import numpy as np\ndef f(x):\n    return np.sum(x * x)\n")
    assert main(["grad", f"{tmp_path / 'm.py'}:f", "--shape", "x=n", "--backend", "cuda"]) == 1
    err = capsys.readouterr().err
    assert "backend='cuda'" in err and "Traceback" not in err and len(err.splitlines()) == 1


def _without_command(text: str) -> str:
    """A module's text without its header's Regenerate line (it names the file it writes)."""
    return re.sub(r"^Regenerate .*(?:\n    .*)*\n", "", text, flags=re.M)


def test_the_numpy_backend_is_the_default_and_unchanged(tmp_path):
    assert backends.resolve() == ("numpy", ())
    a = symdiff.export(rosen, tmp_path / "a.py", shapes={"x": "n"})
    b = symdiff.export(rosen, tmp_path / "b.py", shapes={"x": "n"}, backend="numpy")
    assert _without_command(a) == _without_command(b) and "import numba" not in a and "@numba" not in a


# ---- the backend ----

numba = pytest.importorskip("numba")


def test_rosenbrock_value_and_gradient_in_one_loop():
    x = np.random.default_rng(0).standard_normal(2001)
    vg = _against_numpy(rosen, (x,))
    value, g = vg(x)
    assert value == pytest.approx(rosen(x), rel=1e-13)
    np.testing.assert_allclose(g, rosen_closed_form(x), rtol=1e-12, atol=1e-12)
    src = vg.source
    assert src.count("@numba.njit(cache=True") == 2  # value_and_grad and grad each have one loop
    kernel = src[src.index("def _rosen_loop1"):src.index("def _rosen_loop2")]
    assert kernel.count("for i in range(") == 1 and "+= " in kernel
    assert re.search(r"# Grad of: \w+\.py:\d+: return np\.sum", kernel), kernel
    glue = src[src.index("def rosen_value_and_grad"):src.index("def rosen_grad(")]
    assert "_rosen_loop1(x[:-1], x[1:]" in glue and "np.dot" not in glue  # the reductions are in the loop


def test_slice_gradient_buffers_with_several_offsets():
    def smooth(x):  # offsets 0, 1, 2 into one buffer, over one loop
        return np.sum((x[2:] - 2.0 * x[1:-1] + x[:-2]) ** 2 * np.cos(x[1:-1]))

    def tail(x):  # an offset from the end, and strided reads
        return np.sum(x[-5:] ** 2 * x[:5]) + np.sum(np.sin(x[::2]) * x[1::2])
    x = np.random.default_rng(6).standard_normal(14)
    for fn in (smooth, tail):
        vg = _against_numpy(fn, (x,))
        v = np.random.default_rng(7).standard_normal(x.shape)
        fd = (fn(x + 1e-6 * v) - fn(x - 1e-6 * v)) / 2e-6
        assert np.dot(vg(x)[1], v) == pytest.approx(fd, rel=1e-6)
    kernel = _against_numpy(smooth, (x,)).source
    assert "dx[i + 2] = " in kernel and re.search(r"dx\[i \+ 1\] [+-]= ", kernel) and "dx[i] += " in kernel


def test_lennard_jones_two_axis_loops_against_autograd_and_differences():
    X = np.random.default_rng(1).standard_normal((9, 3)) * 2.0
    vg = _against_numpy(lennard_jones, (X,))
    assert "for j in range(n1):" in vg.source  # loops over (i, j) pairs
    assert "for c in range(X.shape[1]):" in vg.source  # the squared distances too, inside the loop
    _, g = vg(X)
    v = np.random.default_rng(2).standard_normal(X.shape)
    h = 1e-6
    fd = (lennard_jones(X + h * v) - lennard_jones(X - h * v)) / (2 * h)
    assert np.sum(g * v) == pytest.approx(fd, rel=1e-6)
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    def lj_autograd(X):
        n = X.shape[0]
        d = X[:, None, :] - X[None, :, :]
        r2 = anp.sum(d ** 2, axis=-1) + anp.eye(n)
        inv6 = (1.0 / r2) ** 3
        return anp.sum(4 * (inv6 * inv6 - inv6) * (1 - anp.eye(n))) / 2
    np.testing.assert_allclose(g, autograd.grad(lj_autograd)(X), rtol=1e-10, atol=1e-12)


def test_matrix_products_stay_blas_and_the_rest_is_fused():
    rng = np.random.default_rng(3)
    w, X, y = rng.standard_normal(4), rng.standard_normal((30, 4)), rng.uniform(0, 1, 30)
    vg = _against_numpy(logistic, (w, X, y))
    glue = vg.source[vg.source.index("def logistic_value_and_grad"):]
    assert "X @ w" in glue or "np.dot" in glue or "@" in glue
    assert "@numba.njit" in vg.source


def bce(w, X, y):
    z = X @ w
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def test_simd_ufuncs_stay_numpy_calls_and_the_arithmetic_and_means_around_them_are_fused():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((50, 4)), rng.uniform(0, 1, 50)
    w = rng.standard_normal(4)
    vg = _against_numpy(bce, (w, X, y))
    value, g = vg(w, X, y)
    z = X @ w
    assert value == pytest.approx(np.mean(np.logaddexp(0, z) - y * z), rel=1e-13)
    np.testing.assert_allclose(g, X.T @ (1 / (1 + np.exp(-z)) - y) / len(y), rtol=1e-12, atol=1e-15)
    src = vg.source
    kernels, glue = src[:src.index("def bce_value_and_grad")], src[src.index("def bce_value_and_grad"):]
    assert "@numba.njit" in kernels and not re.search(r"^ +[^#\n]*np\.(exp|log1p)\(", kernels, re.M)
    assert "np.exp(" in glue and "np.log1p(" in glue  # NumPy's SIMD loops
    assert re.search(r"\n +(\w+) = \1 / \(n0\)\n", kernels)  # the mean: summed in the loop, divided after it
    assert ".sum()" not in glue[:glue.index("def bce_grad")]


def test_split_calls_in_branches_of_scalars_and_shared():
    def f(x, y, b):
        e = np.exp(-x * x)                    # read by the value and by the gradient: one np.exp
        branch = np.where(x > 0, np.tanh(x) * y, np.log1p(x * x) - y)
        return np.sum(e * y + branch * np.sin(b) + x * np.cos(x) ** 2)
    rng = np.random.default_rng(9)
    x, y, b = rng.standard_normal(60), rng.standard_normal(60), 0.7
    vg = _against_numpy(f, (x, y, b), wrt=("x", "y", "b"))
    v = [rng.standard_normal(60), rng.standard_normal(60), 0.3]
    h = 1e-6
    fd = (f(x + h * v[0], y + h * v[1], b + h * v[2]) - f(x - h * v[0], y - h * v[1], b - h * v[2])) / (2 * h)
    _, (gx, gy, gb) = vg(x, y, b)
    assert np.dot(gx, v[0]) + np.dot(gy, v[1]) + gb * v[2] == pytest.approx(fd, rel=1e-6)
    glue = vg.source[vg.source.index("def f_value_and_grad"):vg.source.index("def f_grad(")]
    assert "@numba" not in glue and "_f_loop" in glue
    assert len(re.findall(r"^ +[^#\n]*np\.exp\(", glue, re.M)) == 1
    assert "float(np.cos(b))" in glue  # a call on a scalar: computed once, passed in


def test_nodes_a_loop_cannot_express_keep_their_numpy_code():
    from scipy import special

    def f(x, y):
        s = np.sort(x)                       # no loop form: NumPy code in the glue
        h = special.erf(x) * y               # no scalar form in numba: SciPy's ufunc in the glue
        return np.sum(np.exp(s) * np.cos(y)) + np.sum(h * x) + np.sum(np.where(x > 0, x * y, y))
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(7), rng.standard_normal(7)
    vg = _against_numpy(f, (x, y), wrt=("x", "y"))
    assert "np.sort" in vg.source and "erf(" in vg.source and "@numba.njit" in vg.source


def test_heaviside_in_a_loop_as_numpy_defines_it():
    import sympy as sp
    from symdiff.backends.numba.kernels import LoopPrinter
    from symdiff.ir.graph import ARG

    def f(x, y):
        return np.sum(np.maximum(x, 0.0) ** 2 * y)  # its gradient: 2 max(x, 0) heaviside(x, 0.5) y
    x = np.array([-1.5, -0.0, 0.0, 0.3, 2.0, -7.0])
    y = np.linspace(1, 2, 6)
    vg = _against_numpy(f, (x, y), wrt=("x", "y"))
    assert "0.5 if " in vg.source[:vg.source.index("def f_value_and_grad")]
    code = LoopPrinter({ARG[0]: "x"}).doprint(sp.Heaviside(ARG[0], sp.Rational(1, 4)))
    scalar = numba.njit(eval(f"lambda x: {code}", {"np": np}))  # noqa: S307 - the printer's own text
    special = np.array([-1.5, -0.0, 0.0, 0.3, np.nan, -np.inf, np.inf])
    np.testing.assert_array_equal([scalar(v) for v in special], np.heaviside(special, 0.25))


def test_float32_branches_and_other_transforms():
    x32 = np.linspace(-1, 1, 11, dtype=np.float32)
    g = symdiff.grad(lambda x: np.sum(np.sin(x) * x), backend="numba")(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x32) * x32 + np.sin(x32), rtol=1e-5)

    def branchy(x):
        if np.sum(x) > 0:
            return np.sum(np.exp(-x * x))
        return np.sum(np.log1p(x * x))
    for x in (np.linspace(0.1, 1, 5), np.linspace(-1, -0.1, 5)):
        _against_numpy(branchy, (x,))
    x = np.linspace(0.2, 1.4, 6)
    v = np.cos(np.arange(6.0))
    hvp = symdiff.hvp(rosen, backend="numba")(x, v)
    _close(hvp, symdiff.hvp(rosen)(x, v))
    _close(symdiff.hessian(rosen, backend="numba")(x), symdiff.hessian(rosen)(x))
    val, tangent = symdiff.jvp(rosen, backend="numba")(x, v)
    _close(tangent, np.dot(rosen_closed_form(x), v))


def test_export_and_cli_write_a_module_that_runs_without_symdiff(tmp_path, capsys):
    out = tmp_path / "rosen_numba.py"
    text = symdiff.export(rosen, out, shapes={"x": "n"}, backend="numba")
    assert "import numba" in text and "@numba.njit(cache=True" in text and "import symdiff" not in text
    from symdiff.cli import main
    assert main(["grad", f"{Path(__file__).resolve()}:rosen", "--shape", "x=n", "--backend", "numba"]) == 0
    assert "@numba.njit(cache=True" in capsys.readouterr().out
    assert main(["grad", f"{Path(__file__).resolve()}:rosen", "--shape", "x=n", "--backend", "numba", "-o",
                 str(tmp_path / "cli.py")]) == 0
    # the same module as export's (the header's regenerate line names each one's own file)
    assert _without_command((tmp_path / "cli.py").read_text()) == _without_command(text)
    spec = importlib.util.spec_from_file_location("rosen_numba", out)
    module = importlib.util.module_from_spec(spec)
    sys.modules["rosen_numba"] = module
    try:
        spec.loader.exec_module(module)
        x = np.linspace(-1, 1, 50)
        value, g = module.rosen_value_and_grad(x)
    finally:
        del sys.modules["rosen_numba"]
    assert value == pytest.approx(rosen(x), rel=1e-13)
    np.testing.assert_allclose(g, rosen_closed_form(x), rtol=1e-12, atol=1e-12)


def tanh_square(x):
    return np.sum(np.tanh(x) ** 2 + 0.5 * x)


SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
import symdiff
from test_backend_numba import tanh_square
vg = symdiff.value_and_grad(tanh_square, backend="numba")
value, g = vg(np.linspace(-1, 1, 9))
gen = [m for name, m in list(sys.modules.items()) if name.startswith("symdiff_generated_tanh_square_")]
kernels = [v for m in gen for k, v in vars(m).items() if k.startswith("_tanh_square_loop")]
print(vg.cache_info, sum(sum(k.stats.cache_hits.values()) for k in kernels),
      sum(sum(k.stats.cache_misses.values()) for k in kernels), repr(float(value)))
"""


def test_a_second_process_loads_the_kernels_from_numba_cache(tmp_path):
    value, _ = symdiff.value_and_grad(tanh_square, backend="numba")(np.linspace(-1, 1, 9))  # compiled here
    cache = Path(os.environ["SYMDIFF_CACHE_DIR"])
    assert list(cache.glob("tanh_square_*.py"))
    assert list((cache / "__pycache__").glob("tanh_square_*._tanh_square_loop*.nbi"))  # numba's, beside it
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).resolve().parent)))
    second = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert second.returncode == 0, second.stderr
    info, hits, misses, value2 = second.stdout.split()
    assert (info, misses) == ("disk", "0") and int(hits) >= 1 and float(value2) == float(value)


def test_parallel_outer_loops():
    def f(x, y):
        return np.sum(np.exp(-x * x) * y) + np.sum(np.sqrt(1 + x * x))
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal(40), rng.standard_normal(40)
    for options in ({"backend": "numba-parallel"}, {"backend": "numba", "backend_options": {"parallel": True}}):
        vg = symdiff.value_and_grad(f, wrt=("x", "y"), **options)
        (v, (gx, gy)), (v0, (gx0, gy0)) = vg(x, y), symdiff.value_and_grad(f, wrt=("x", "y"))(x, y)
        _close(v, v0), _close(gx, gx0), _close(gy, gy0)
        assert "numba.prange(n0)" in vg.source and "parallel=True" in vg.source
        assert "if n0 < 32768:" in vg.source  # a small loop stays on one thread
        big = rng.standard_normal(40000), rng.standard_normal(40000)  # threads share this one
        (v, (gx, gy)), (v0, (gx0, gy0)) = vg(*big), symdiff.value_and_grad(f, wrt=("x", "y"))(*big)
        _close(v, v0), _close(gx, gx0), _close(gy, gy0)
        np.testing.assert_allclose(gy, np.exp(-big[0] ** 2), rtol=1e-13)
    # a slice-gradient buffer (neighbouring iterations add into one element) stays a serial range
    vg = _against_numpy(rosen, (np.linspace(-1, 1, 30),), backend="numba-parallel")
    assert "prange" not in vg.source[vg.source.index("def _rosen_loop1"):vg.source.index("def _rosen_loop2")]


def test_the_cache_key_includes_the_backend():
    x = np.linspace(-1, 1, 5)
    a = symdiff.value_and_grad(rosen)
    a(x)
    b = symdiff.value_and_grad(rosen, backend="numba")
    b(x)
    assert b.cache_info == "compiled" and "import numba" in b.source and "import numba" not in a.source
    c = symdiff.value_and_grad(rosen, backend="numba")
    c(x)
    assert c.cache_info == "disk" and c.source == b.source


# ---- every registry entry (its first case), batched: one traced function and module per batch ----

def _registry_items(stride: int):
    """The first case of every ``stride``-th registry entry (by name), sampled as tests/test_registry.py
    samples it, from a seed of the entry's name."""
    from symdiff.numpy.core import REGISTRY
    from test_registry import _sample
    items = []
    for func, entry in sorted(REGISTRY.items(), key=lambda kv: kv[1].name)[::stride]:
        shapes, kwargs = entry.cases[0]
        rng = np.random.default_rng(zlib.crc32(entry.name.encode()))
        args = [_sample(rng, entry, s) for s in shapes]
        kwargs = dict(kwargs)
        if entry.differentiable:
            weights = rng.standard_normal(np.shape(func(*args, **kwargs)))
            term = (lambda func, kwargs, weights: lambda *xs: np.sum(func(*xs, **kwargs) * weights))(
                func, kwargs, weights)
        else:
            term = (lambda func, kwargs: lambda *xs: np.sum(np.where(func(*xs, **kwargs), xs[0] * xs[1],
                                                                     xs[0] + 2 * xs[1])))(func, kwargs)
        items.append((entry.name, term, args))
    return items


def _batch_function(items):
    """One function of every item's arguments: the sum of the items' terms."""
    params, calls, k = [], [], 0
    for i, (_, _, args) in enumerate(items):
        names = [_letters(k + j) for j in range(len(args))]  # (p1's axis 0 and p10 would share n_p10)
        params += names
        calls.append(f"TERMS[{i}]({', '.join(names)})")
        k += len(args)
    namespace = {"TERMS": [term for _, term, _ in items]}
    exec(f"def batch({', '.join(params)}):\n    return {' + '.join(calls)}\n", namespace)  # noqa: S102
    return namespace["batch"], [a for _, _, args in items for a in args]


BATCH = 24
#: Every entry takes about a minute and a half (numba compiles the batches' loops): by default every
#: fifth entry, all of them with SYMDIFF_TEST_ALL_ENTRIES=1.
STRIDE = 1 if os.environ.get("SYMDIFF_TEST_ALL_ENTRIES") else 5


def _letters(k: int) -> str:
    out = ""
    while True:
        out, k = "abcdefghijklmnopqrstuvwxyz"[k % 26] + out, k // 26
        if not k:
            return "p" + out


def test_every_registry_entry_through_the_numba_backend():
    items = _registry_items(STRIDE)
    fused = 0
    for start in range(0, len(items), BATCH):
        chunk = items[start:start + BATCH]
        fn, args = _batch_function(chunk)
        wrt = tuple(range(len(args)))
        try:
            got = symdiff.value_and_grad(fn, wrt=wrt, backend="numba")
            (v1, g1), (v2, g2) = got(*args), symdiff.value_and_grad(fn, wrt=wrt)(*args)
            _close(v1, v2)
            for a, b in zip(g1, g2):
                _close(a, b)
            fused += got.source.count("@numba.njit")
        except Exception:  # name the entry: each of the batch alone
            for item in chunk:
                one, one_args = _batch_function([item])
                w = tuple(range(len(one_args)))
                (v1, g1), (v2, g2) = (symdiff.value_and_grad(one, wrt=w, backend=b)(*one_args)
                                      for b in ("numba", "numpy"))
                _close(v1, v2)
                for a, b in zip(g1, g2):
                    _close(a, b)
            raise
    assert fused >= len(items) // (2 * BATCH)  # some loops in every batch, on average


def _read_only(folder: Path) -> None:
    """Make ``folder`` and its subfolders read-only, or skip (root writes through a chmod)."""
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        path.chmod(0o555)
    if os.access(folder, os.W_OK) or os.access(folder / "__pycache__", os.W_OK):
        for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
            path.chmod(0o755)
        pytest.skip("chmod cannot make a folder read-only for this user (root): needs an ordinary user")


def test_a_read_only_cache_folder_keeps_numba_kernels_in_a_writable_one(tmp_path):
    # a cache built once, then read-only: numba cannot write __pycache__ beside its modules, so the
    # kernels go to numba/ in symdiff's default cache folder, not to numba's user-wide one
    built, xdg = tmp_path / "built", tmp_path / "xdg"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).resolve().parent)))
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYMDIFF_CACHE_DIR": str(built), "XDG_CACHE_HOME": str(xdg),
           "HOME": str(tmp_path / "home")}
    env.pop("NUMBA_CACHE_DIR", None)
    first = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    _read_only(built)
    try:
        runs = [subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
                for _ in range(2)]
    finally:
        for path in [built, *(p for p in built.rglob("*") if p.is_dir())]:
            path.chmod(0o755)
    for run in runs:
        assert run.returncode == 0 and "CacheWarning" not in run.stderr, run.stderr
    (info1, _, misses1, value1), (info2, hits2, misses2, value2) = (r.stdout.split() for r in runs)
    assert (info1, info2) == ("disk", "disk")  # the gradient is never compiled again
    assert (misses1, misses2) == ("1", "0") and int(hits2) >= 1 and value1 == value2  # numba: once, then loaded
    assert list((xdg / "symdiff" / "numba").rglob("*.nbi")) and not (xdg / "numba").exists()


def test_only_symdiffs_modules_get_its_numba_cache_folder():
    from symdiff.backends.numba import locator
    assert not locator.generated(tanh_square) and not locator.generated(len)
    vg = symdiff.value_and_grad(tanh_square, backend="numba")
    vg(np.linspace(-1, 1, 9))
    module = next(m for name, m in sys.modules.items() if name.startswith("symdiff_generated_tanh_square_"))
    kernel = next(v for k, v in vars(module).items() if k.startswith("_tanh_square_loop"))
    assert locator.generated(kernel.py_func)
    from numba.core import caching
    classes = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    assert classes._locator_classes.count(locator.SymdiffCacheLocator) == 1
    assert classes._locator_classes[-1] is locator.ProcessCacheLocator
