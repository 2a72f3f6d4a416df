"""backend="array_api" through every transform (jacobian, hessian, hvp, jvp, vjp, elementwise_grad), table
driven over the registry: for each entry's first case the array API module gives the NumPy backend's
result to 1e-12, on array_api_strict arrays and on NumPy arrays, or the compiler refuses it by name."""
import os
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
TRANSFORMS = ("jacobian", "hessian", "hvp", "jvp", "vjp", "elementwise_grad")
#: Every (entry, transform) pair with SYMDIFF_TEST_ALL_ENTRIES=1; by default a rotating quarter of them, so each
#: entry still meets at least one transform (and every transform a quarter of the entries), and an eighth on torch.
_ALL = bool(os.environ.get("SYMDIFF_TEST_ALL_ENTRIES"))
CASES = [(f, e, t) for i, (f, e) in enumerate(ENTRIES) for j, t in enumerate(TRANSFORMS) if _ALL or (i + j) % 4 == 0]
TORCH_CASES = [c for k, c in enumerate(CASES) if _ALL or k % 2 == 0]
EXPRESSED: dict[str, list[str]] = {t: [] for t in TRANSFORMS}


def _outputs(func, entry, kwargs):
    """The entry as an array-valued function of its arguments (a predicate chooses between two of them)."""
    if entry.differentiable:
        return lambda *a: func(*a, **kwargs)
    return lambda *a: np.where(func(*a, **kwargs), a[0] * a[1], a[0] + 2 * a[1])


def _scalar(func, entry, kwargs, rng, args):
    """The entry as a scalar function: its outputs weighted by fixed random numbers and summed, squared
    where it is linear (so that its Hessian is not zero)."""
    out = _outputs(func, entry, kwargs)
    weights = rng.standard_normal(np.shape(out(*args)))
    return lambda *a: np.sum(out(*a) * weights) ** 2


def _strict(a):
    return xs.asarray(a) if isinstance(a, np.ndarray) else a


def _leaves(value):
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _close(got, want, tol=1e-12):
    got, want = _leaves(got), _leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g, dtype=float), np.asarray(w, dtype=float)
        assert g.shape == w.shape, (g.shape, w.shape)
        scale = max(1.0, float(np.max(np.abs(w)))) if w.size else 1.0
        assert np.allclose(g, w, rtol=0, atol=tol * scale, equal_nan=True), np.max(np.abs(g - w))


def _case(transform, func, entry):
    """The function to transform and the arguments to call it with (a direction or cotangent last)."""
    shapes, kwargs = entry.cases[0]
    rng = np.random.default_rng(abs(hash((transform, entry.name))) % 2**32)
    args = [_sample(rng, entry, s) for s in shapes]
    kwargs = dict(kwargs)
    if transform in ("hessian", "hvp"):
        body = _scalar(func, entry, kwargs, rng, args)
    else:
        body = _outputs(func, entry, kwargs)
    fn = ARITY[len(args)](body)
    extra = []
    if transform in ("hvp", "jvp", "vjp"):  # a direction like the first argument, a cotangent like the output
        shape = np.shape(body(*args)) if transform == "vjp" else np.shape(args[0])
        extra = [rng.standard_normal(shape) if shape else float(rng.standard_normal())]
    return fn, args + extra


@pytest.mark.parametrize("func,entry,transform", CASES, ids=[f"{e.name}-{t}" for _, e, t in CASES])
def test_transform_of_entry_equals_numpy_backend(func, entry, transform):
    fn, args = _case(transform, func, entry)
    try:
        want = getattr(symdiff, transform)(fn)(*args)
    except symdiff.SymdiffError:
        pytest.skip(f"the NumPy backend refuses {transform} of {entry.name}")
    api = getattr(symdiff, transform)(fn, backend="array_api")
    try:
        got = api(*[_strict(a) for a in args])
    except UnsupportedError as exc:
        message = str(exc)
        assert "backend='array_api' cannot write " in message and "use backend='numpy'" in message
        return
    _close(got, want)
    _close(api(*args), want)
    EXPRESSED[transform].append(entry.name)


def _tensor(torch, a):
    return torch.from_numpy(a) if isinstance(a, np.ndarray) else a


def _numpy(value):
    if isinstance(value, (tuple, list)):
        return [_numpy(v) for v in value]
    return value.numpy() if hasattr(value, "numpy") else value


@pytest.mark.parametrize("func,entry,transform", TORCH_CASES, ids=[f"{e.name}-{t}" for _, e, t in TORCH_CASES])
def test_transform_of_entry_on_torch_tensors(func, entry, transform):
    """The same modules on PyTorch CPU tensors (float64): the NumPy backend's results to 1e-12."""
    torch = pytest.importorskip("torch")
    fn, args = _case(transform, func, entry)
    try:
        want = getattr(symdiff, transform)(fn)(*args)
        got = getattr(symdiff, transform)(fn, backend="array_api")(*[_tensor(torch, a) for a in args])
    except symdiff.SymdiffError:
        pytest.skip(f"{transform} of {entry.name} is refused")
    _close(_numpy(got), want)


# ---------------------------------------------------------------- decorator, export and the CLI -----

def _model(x, w):
    return np.tanh(x @ w) * np.exp(-w[0])


def _loss(x, w):
    return np.sum(np.log1p(np.exp(x @ w))) - 0.5 * np.sum(w * w)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_decorator_form(transform):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    fn = _loss if transform in ("hessian", "hvp") else _model
    extra = {"hvp": [rng.standard_normal(3)], "jvp": [rng.standard_normal(3)], "vjp": [rng.standard_normal(4)]}
    args = [x, w, *extra.get(transform, [])]
    decorated = getattr(symdiff, transform)(wrt="w", backend="array_api")(fn)
    want = getattr(symdiff, transform)(fn, wrt="w")(*args)
    _close(decorated(*[_strict(a) for a in args]), want)


@pytest.mark.parametrize("kind", ["jacobian", "hessian", "hvp", "jvp", "vjp"])
def test_export_and_cli_of_each_kind(kind, tmp_path):
    """export(kind=...) and `symdiff <kind> --backend array_api`: modules in the standard's namespace
    whose functions give the NumPy backend's results on array_api_strict arrays."""
    fn = _loss if kind in ("hessian", "hvp") else _model
    text = symdiff.export(fn, tmp_path / "m.py", wrt="w", shapes={"x": "n,d", "w": "d"}, kind=kind,
                          backend="array_api")
    functions = text[text.index(f"def {fn.__name__}_"):].splitlines()
    assert not [line for line in functions if "np." in line and not line.lstrip().startswith("#")]
    namespace: dict = {}
    exec(compile(text, str(tmp_path / "m.py"), "exec"), namespace)
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    extra = {"hvp": [rng.standard_normal(3)], "jvp": [rng.standard_normal(3)], "vjp": [rng.standard_normal(4)]}
    args = [x, w, *extra.get(kind, [])]
    _close(namespace[f"{fn.__name__}_{kind}"](*[_strict(a) for a in args]),
           getattr(symdiff, kind)(fn, wrt="w")(*args))
    model = tmp_path / "model.py"
    model.write_text("import numpy as np\n\ndef f(x, w):\n    return np.sum(np.tanh(x @ w) ** 2)\n")
    command = [sys.executable, "-m", "symdiff", kind, f"{model}:f", "--wrt", "w", "--shape", "x=n,d", "--shape", "w=d",
               "--backend", "array_api"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "import array_api_compat" in out and "xp.tanh(" in out and f"def f_{kind}(" in out
