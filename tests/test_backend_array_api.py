"""backend="array_api": one generated module, run on array_api_strict (the conformance check: it runs
there only if it uses the standard alone), NumPy, PyTorch, JAX and dask arrays, gives the NumPy
backend's gradients; what the standard cannot express is refused when compiling, by name."""
import subprocess
import sys

import numpy as np
import pytest

import symdiff
from symdiff.errors import UnsupportedError
from symdiff.numpy.core import REGISTRY

xs = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

from test_registry import ARITY, _sample  # noqa: E402  (the registry test's own samples)

ENTRIES = [(func, entry) for func, entry in REGISTRY.items()]
EXPRESSED: list[str] = []


def _body(func, entry, args, kwargs, rng):
    if entry.differentiable:
        weights = rng.standard_normal(np.shape(func(*args, **kwargs)))
        return lambda *a: np.sum(func(*a, **kwargs) * weights)
    return lambda *a: np.sum(np.where(func(*a, **kwargs), a[0] * a[1], a[0] + 2 * a[1]))


def _strict(a):
    return xs.asarray(a) if isinstance(a, np.ndarray) else a


def _close(got, want, tol=1e-12):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    assert np.allclose(got, want, rtol=0, atol=tol * scale, equal_nan=True), np.max(np.abs(got - want))


@pytest.mark.parametrize("func,entry", ENTRIES, ids=[e.name for _, e in ENTRIES])
def test_entry_on_array_api_strict_equals_numpy_backend(func, entry):
    """Every registry entry (its first case): the array API module on array_api_strict arrays gives
    the NumPy backend's gradient on NumPy arrays, or the compiler refuses it naming the function."""
    shapes, kwargs = entry.cases[0]
    rng = np.random.default_rng(abs(hash(entry.name)) % 2**32)
    args = [_sample(rng, entry, s) for s in shapes]
    f = ARITY[len(args)](_body(func, entry, args, dict(kwargs), rng))
    want = symdiff.grad(f)(*args)
    try:
        got = symdiff.grad(f, backend="array_api")(*[_strict(a) for a in args])
    except UnsupportedError as exc:
        message = str(exc)
        assert "backend='array_api' cannot write " in message and "use backend='numpy'" in message
        return
    assert isinstance(got, xs._array_object.Array) or np.ndim(want) == 0 or isinstance(got, float)
    _close(got, want)
    EXPRESSED.append(entry.name)


def test_most_entries_are_expressed():
    """(after the table above) the refusals are the exception: special functions, np.random, ..."""
    if len(EXPRESSED) < 20:
        pytest.skip("run with the table test")
    assert len(EXPRESSED) >= 150, len(EXPRESSED)


# ---------------------------------------------------------------- programs -------------------------

def seed(x, y, w, b):
    z = x @ w + b
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * logp, axis=1))


def mlp_labels(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z) + 0.01 * np.sum(w ** 2)


def _seed_args(rng):
    return [rng.standard_normal(s) for s in [(5,), (3,), (5, 3), (3,)]]


def _mlp_args(rng, n=12):
    X = rng.standard_normal((n, 4))
    Y = np.eye(3)[rng.integers(0, 3, n)]
    return [rng.standard_normal(s) * 0.5 for s in [(4, 8), (8,), (8, 3), (3,)]] + [X, Y]


def _logistic_args(rng, n=40, d=6):
    X = rng.standard_normal((n, d))
    return [rng.standard_normal(d), X, (rng.uniform(size=n) < 0.5).astype(float)]


PROGRAMS = {"seed": (seed, ("w", "b"), _seed_args), "mlp": (mlp, (0, 1, 2, 3), _mlp_args),
            "logistic": (logistic, "w", _logistic_args)}


_TRANSFORMED: dict = {}


def _value_and_grad(fn, wrt, backend="numpy"):
    """One transformed function per program and backend for the whole file: each compiles once for
    each signature it is called with (the tests share the compile)."""
    key = (fn, wrt, backend)
    if key not in _TRANSFORMED:
        _TRANSFORMED[key] = symdiff.value_and_grad(fn, wrt=wrt, backend=backend)
    return _TRANSFORMED[key]


def _reference(fn, wrt, args):
    return _value_and_grad(fn, wrt)(*args)


def _check(result, want, tol=1e-12):
    (value, grads), (want_value, want_grads) = result, want
    _close(value, want_value, tol)
    if not isinstance(want_grads, tuple):
        grads, want_grads = (grads,), (want_grads,)
    for g, w in zip(grads, want_grads):
        _close(g, w, tol)


def _central(fn, args, index, rng, eps=1e-6):
    """The directional derivative of ``fn`` along a random direction of argument ``index``."""
    v = rng.standard_normal(np.shape(args[index]))
    plus, minus = list(args), list(args)
    plus[index], minus[index] = args[index] + eps * v, args[index] - eps * v
    return (fn(*plus) - fn(*minus)) / (2 * eps), v


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_on_array_api_strict(name):
    fn, wrt, make = PROGRAMS[name]
    rng = np.random.default_rng(1)
    args = make(rng)
    want = _reference(fn, wrt, args)
    got = _value_and_grad(fn, wrt, "array_api")(*[_strict(a) for a in args])
    _check(got, want)
    # and against central differences, along a random direction of the first wrt argument
    first = 0 if name != "seed" else 2
    slope, v = _central(fn, args, first, rng)
    g = got[1][0] if isinstance(got[1], tuple) else got[1]
    assert np.isclose(np.sum(np.asarray(g) * v), slope, rtol=1e-6, atol=1e-8)


def test_the_module_uses_the_standard_namespace_only():
    fn, wrt, make = PROGRAMS["mlp"]
    f = _value_and_grad(fn, wrt, "array_api")
    f(*[_strict(a) for a in make(np.random.default_rng(2))])
    source = f.source
    import ast
    tree = ast.parse(source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert imported == {"array_api_compat", "numpy"}  # numpy: only inside _array_namespace, for NumPy arrays
    functions = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name != "_array_namespace"]
    assert {f.name for f in functions} >= {"mlp_grad", "mlp_value_and_grad"}
    names = {n.id for f in functions for n in ast.walk(f) if isinstance(n, ast.Name)}
    assert "xp" in names and not names & {"np", "numpy", "scipy"}
    assert "xp = _array_namespace(W1, b1, W2, b2, X, Y)" in source


def test_labels_index_rows_through_one_hot_products():
    rng = np.random.default_rng(3)
    args = _mlp_args(rng)[:5] + [rng.integers(0, 3, 12)]
    want = _reference(mlp_labels, (0, 1, 2, 3), args)
    got = symdiff.value_and_grad(mlp_labels, wrt=(0, 1, 2, 3), backend="array_api")(*[_strict(a) for a in args])
    _check(got, want)


def test_numpy_arrays_and_float32():
    """On NumPy arrays too; float32 in, float32 out (constants are made in the inputs' dtype)."""
    fn, wrt, make = PROGRAMS["logistic"]
    args = make(np.random.default_rng(4))
    f = _value_and_grad(fn, wrt, "array_api")
    _check(f(*args), _reference(fn, wrt, args))
    value, g = f(*[xs.asarray(a, dtype=xs.float32) for a in args])
    assert value.dtype == xs.float32 and g.dtype == xs.float32
    _close(g, _reference(fn, wrt, args)[1], tol=1e-5)


def test_scalar_arguments_and_constants():
    def f(x, lam, c):
        return np.sum(np.sin(x) * np.array([1.0, 2.0, 3.0])) + lam * np.sum(x ** 2) + c

    args = [np.array([0.3, -1.2, 2.0]), 0.5, 1.5]
    want = symdiff.value_and_grad(f, wrt=("x", "lam"))(*args)
    got = symdiff.value_and_grad(f, wrt=("x", "lam"), backend="array_api")(xs.asarray(args[0]), 0.5, 1.5)
    _check(got, want)


def test_slices_and_concatenation():
    def f(x):
        d = x[1:] - x[:-1]
        return np.sum(np.concatenate([d ** 2, x[:2]])) + np.sum(np.cumsum(x) * x[::-1])

    x = np.random.default_rng(5).standard_normal(7)
    _check(symdiff.value_and_grad(f, backend="array_api")(xs.asarray(x)), _reference(f, None, [x]))


def test_linear_algebra_through_the_extension():
    def f(A, b):
        S = A @ A.T + 3.0 * np.eye(3)
        return np.sum(np.linalg.solve(S, b)) + np.linalg.slogdet(S)[1] + np.sum(np.linalg.inv(S))

    rng = np.random.default_rng(6)
    args = [rng.standard_normal((3, 3)), rng.standard_normal(3)]
    _check(symdiff.value_and_grad(f, wrt=(0, 1), backend="array_api")(*[_strict(a) for a in args]),
           _reference(f, (0, 1), args), tol=1e-11)


# ---------------------------------------------------------------- refusals -------------------------

def test_outside_the_standard_is_refused_by_name():
    special = pytest.importorskip("scipy.special")

    def f(x):
        return np.sum(special.erf(x) * x)

    with pytest.raises(UnsupportedError) as info:
        symdiff.grad(f, backend="array_api")(xs.asarray([0.1, 0.2]))
    message = str(info.value)
    assert "scipy.special.erf" in message and "test_backend_array_api.py:" in message
    assert "backend='numpy'" in message and "return np.sum(special.erf(x) * x)" in message


def test_random_draws_are_refused():
    def f(x):
        return np.sum(x * np.random.standard_normal(x.shape))

    with pytest.raises(UnsupportedError, match=r"np\.random"):
        symdiff.grad(f, backend="array_api")(xs.asarray([0.1, 0.2]))


def test_unknown_backend_is_an_error_naming_the_choices():
    with pytest.raises(symdiff.BackendError, match=r"backend='cuda'.*'numpy'.*'array_api'"):
        symdiff.grad(seed, backend="cuda")


# ---------------------------------------------------------------- export and the CLI ---------------

def test_export_and_cli(tmp_path):
    path = tmp_path / "seed_grad.py"
    text = symdiff.export(seed, path, wrt=("w", "b"), shapes={"x": "n", "y": "k", "w": "n,k", "b": "k"},
                          backend="array_api")
    assert text == path.read_text() and "xp = _array_namespace(x, y, w, b)" in text
    namespace: dict = {}
    exec(compile(text, str(path), "exec"), namespace)
    args = _seed_args(np.random.default_rng(7))
    _check(namespace["seed_value_and_grad"](*[_strict(a) for a in args]), _reference(seed, ("w", "b"), args))
    model = tmp_path / "model.py"
    model.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(np.tanh(x) ** 2)\n")
    out = subprocess.run([sys.executable, "-m", "symdiff", "grad", f"{model}:f", "--shape", "x=n",
                          "--backend", "array_api"], capture_output=True, text=True, check=True).stdout
    assert "xp.tanh(x)" in out and "import array_api_compat" in out


# ---------------------------------------------------------------- other libraries -------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_torch_tensors(name):
    torch = pytest.importorskip("torch")
    fn, wrt, make = PROGRAMS[name]
    args = make(np.random.default_rng(8))
    got = _value_and_grad(fn, wrt, "array_api")(*[torch.from_numpy(a) for a in args])
    grads = got[1] if isinstance(got[1], tuple) else (got[1],)
    assert all(isinstance(g, torch.Tensor) for g in grads)
    numpy_grads = tuple(g.numpy() for g in grads)
    _check((got[0].numpy(), numpy_grads if isinstance(got[1], tuple) else numpy_grads[0]), _reference(fn, wrt, args))
    single = _value_and_grad(fn, wrt, "array_api")(*[torch.from_numpy(a).float() for a in args])
    assert single[0].dtype == torch.float32
    assert all(g.dtype == torch.float32 for g in (single[1] if isinstance(single[1], tuple) else (single[1],)))


def test_jax_arrays():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    fn, wrt, make = PROGRAMS["mlp"]
    args = make(np.random.default_rng(9))
    got = _value_and_grad(fn, wrt, "array_api")(*[jax.numpy.asarray(a) for a in args])
    assert all(isinstance(g, jax.Array) for g in got[1])
    _check(got, _reference(fn, wrt, args))


def test_dask_arrays_stay_lazy():
    da = pytest.importorskip("dask.array")
    fn, wrt, make = PROGRAMS["logistic"]
    args = make(np.random.default_rng(10), n=400)
    lazy = [da.from_array(a, chunks=(100,) + a.shape[1:]) if a.shape[0] == 400 else da.from_array(a) for a in args]
    value, g = _value_and_grad(fn, wrt, "array_api")(*lazy)
    assert isinstance(value, da.Array) and isinstance(g, da.Array)  # a graph, not computed yet
    import dask
    value, g = dask.compute(value, g, scheduler="synchronous")
    _check((value, g), _reference(fn, wrt, args))


def _gpu_arrays():
    out = []
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            out.append(cupy.asarray)
    except Exception:
        pass
    try:
        import torch
        if torch.cuda.is_available():
            out.append(lambda a: torch.from_numpy(a).cuda())
    except Exception:
        pass
    return out


def test_gpu_arrays():
    makers = _gpu_arrays()
    if not makers:
        pytest.skip("no GPU (CuPy or torch CUDA)")
    fn, wrt, make = PROGRAMS["mlp"]
    args = make(np.random.default_rng(11))
    for to_gpu in makers:
        value, grads = _value_and_grad(fn, wrt, "array_api")(*[to_gpu(a) for a in args])
        _check((float(value), tuple(np.asarray(g.get() if hasattr(g, "get") else g.cpu()) for g in grads)),
               _reference(fn, wrt, args), 1e-10)


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def slices(x):  # slice gradients of a matrix: rows and columns, added and subtracted, and one row
    return np.sum(x[1:, :] * x[:-1, :]) - np.sum(np.sin(x[:, 2:])) + np.sum(x[0] ** 3) - np.sum(x[:, :-1] ** 2)


def _library(library):
    if library == "numpy":
        return np.asarray
    pytest.importorskip(library)
    if library == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)
        return jax.numpy.asarray
    if library == "torch":
        import torch
        return torch.from_numpy
    import dask.array as da
    return lambda a: da.from_array(a, chunks=3)


@pytest.mark.parametrize("library", ["numpy", "jax", "torch", "dask"])
def test_slice_gradients_on_immutable_and_lazy_arrays(library):
    """Slice gradients fill one buffer: in place on NumPy (the NumPy backend's statements, so the same
    numbers to the last bit) and torch, through .at[] on JAX, lazily on dask."""
    convert, rng = _library(library), np.random.default_rng(12)
    x = rng.standard_normal(7)
    got, reference = _value_and_grad(rosenbrock, None, "array_api")(convert(x)), _reference(rosenbrock, None, [x])
    _check((np.asarray(got[0]), np.asarray(got[1])), reference)
    # the closed form of Rosenbrock's gradient
    want = np.zeros(7)
    want[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    want[1:] += 200 * (x[1:] - x[:-1] ** 2)
    _close(got[1], want, 1e-12)
    m = rng.standard_normal((5, 6))
    f = _value_and_grad(slices, None, "array_api")
    value, grad = f(convert(m))
    want_value, want_grad = _reference(slices, None, [m])
    if library == "numpy":
        assert "if type(xp) is _NumPy:" in f.source and "dx = xp.empty_like(x)" in f.source
        assert value == want_value and np.array_equal(grad, want_grad)
        assert got[0] == reference[0] and np.array_equal(got[1], reference[1])
    _check((np.asarray(value), np.asarray(grad)), (want_value, want_grad))
    want = m * 0
    want[1:] += m[:-1]
    want[:-1] += m[1:]
    want[:, 2:] -= np.cos(m[:, 2:])
    want[0] += 3 * m[0] ** 2
    want[:, :-1] -= 2 * m[:, :-1]
    _close(grad, want, 1e-12)


def gp_nlml(theta, X, y):
    sla = pytest.importorskip("scipy.linalg")
    ell, sf2, sn2 = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = sf2 * np.exp(-0.5 * d2 / ell ** 2) + sn2 * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    alpha = sla.cho_solve((L, True), y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))


def upper_cho(A, b):
    sla = pytest.importorskip("scipy.linalg")
    S = A @ A.T + 4.0 * np.eye(4)
    return np.sum(sla.cho_solve((sla.cholesky(S), False), b) ** 2)


def triangular(A, b):
    sla = pytest.importorskip("scipy.linalg")
    M = A + 5.0 * np.eye(4)
    return np.sum(sla.solve_triangular(M, b, lower=True) ** 2) + np.sum(sla.solve_triangular(M, b, trans=True))


SOLVES = {"gp_nlml": (gp_nlml, 0, lambda rng: [np.array([0.1, -0.2, -1.0]), rng.standard_normal((9, 2)),
                                               rng.standard_normal(9)]),
          "upper": (upper_cho, (0, 1), lambda rng: [rng.standard_normal((4, 4)), rng.standard_normal((4, 2))]),
          "triangular": (triangular, (0, 1), lambda rng: [rng.standard_normal((4, 4)), rng.standard_normal((4, 3))])}


@pytest.mark.parametrize("library", ["strict", "numpy", "jax", "torch"])  # (dask: chunks must be square,
@pytest.mark.parametrize("name", SOLVES)  # and array_api_compat 1.16's dask cholesky gives the upper factor)
def test_triangular_solves_by_each_librarys_solver(name, library):
    """scipy.linalg.cho_solve (lower and upper factors: two triangular solves with the factor) and
    solve_triangular (lower, upper, transposed; the other triangle of the matrix is not read, as SciPy
    does not read it): the array API module equals the NumPy backend's scipy code, value and gradient,
    through SciPy's solver on NumPy arrays, torch's and JAX's own, and a general solve of the triangle
    on array_api_strict."""
    pytest.importorskip("scipy.linalg")
    fn, wrt, make = SOLVES[name]
    args = make(np.random.default_rng(11))
    f = symdiff.value_and_grad(fn, wrt=wrt, backend="array_api")
    convert = _strict if library == "strict" else _library(library)
    _check(f(*[convert(a) for a in args]), _reference(fn, wrt, args), tol=1e-10)
    functions = f.source.split("_solve_triangular.cache = {}")[1]  # (after the helpers)
    assert "_solve_triangular(xp, " in functions and "xp.linalg.solve(" not in functions


def test_triangular_solves_without_scipy_solve_the_triangle(monkeypatch):
    """On NumPy arrays SciPy's solver; where SciPy cannot be imported the general solve of the triangle,
    the same numbers."""
    pytest.importorskip("scipy.linalg")
    args = SOLVES["triangular"][2](np.random.default_rng(12))
    f = symdiff.value_and_grad(triangular, wrt=(0, 1), backend="array_api")
    want = f(*args)
    for scipy in (True, False):
        module: dict = {}
        exec(compile(f.source, "<generated>", "exec"), module)
        if not scipy:
            monkeypatch.setitem(sys.modules, "scipy.linalg", None)  # (import scipy.linalg raises ImportError)
        _check(module["triangular_value_and_grad"](*args), want, tol=1e-10)
        code = module["_solve_triangular"].cache[module["_array_namespace"](*args)].__code__
        assert code.co_freevars == ("solve_triangular",) if scipy else \
            code.co_names == ("tril", "triu", "linalg", "solve", "matrix_transpose")


@pytest.mark.parametrize("name", SOLVES)
def test_cholesky_and_triangular_solves_on_dask(name):
    """On dask arrays (one chunk: dask's factorizations need square chunks) the same numbers as the NumPy
    backend: the factor is dask's own lower (or upper) one, where array_api_compat 1.16's dask namespace
    hands back the other triangle (checked here, so a fixed version is noticed)."""
    pytest.importorskip("scipy.linalg")
    da = pytest.importorskip("dask.array")
    import array_api_compat
    fn, wrt, make = SOLVES[name]
    args = make(np.random.default_rng(13))
    f = symdiff.value_and_grad(fn, wrt=wrt, backend="array_api")
    got = f(*[da.from_array(a, chunks=a.shape) for a in args])
    import dask
    value, grad = dask.compute(*got, scheduler="synchronous")
    _check((value, grad), _reference(fn, wrt, args), tol=1e-10)
    S = np.array([[4.0, 2.0], [2.0, 3.0]])
    factor = array_api_compat.array_namespace(da.from_array(S)).linalg.cholesky(da.from_array(S)).compute()
    assert np.allclose(factor, np.linalg.cholesky(S).T)  # (upstream: the upper factor for the lower)
