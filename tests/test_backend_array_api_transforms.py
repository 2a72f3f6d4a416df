"""backend="array_api" through every transform (jacobian, hessian, hvp, jvp, vjp, elementwise_grad), table
driven over the registry: for each entry's first case the array API module gives the NumPy backend's
result to 1e-12, on array_api_strict arrays and on NumPy arrays, or the compiler refuses it by name."""
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


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("func,entry", ENTRIES, ids=[e.name for _, e in ENTRIES])
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


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("func,entry", ENTRIES, ids=[e.name for _, e in ENTRIES])
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
