"""Table-driven: every registry entry's gradient against finite differences, over its cases
(shapes, including broadcasting, and keyword arguments) and its input domain."""
import numpy as np
import pytest

import symdiff
from symdiff.numpy.core import REGISTRY
from symdiff.testing import check_grads

CASES = [(func, entry, case) for func, entry in REGISTRY.items() for case in entry.cases]


def _id(item):
    func, entry, (shapes, kwargs) = item
    return f"{entry.name}-{'x'.join(str(s) for s in shapes)}-{dict(kwargs)}"


def _sample(rng, entry, shape):
    if entry.sample is not None:
        return np.asarray(entry.sample(rng, shape), dtype=float)
    low, high = entry.domain
    x = rng.uniform(low, high, size=shape)
    if entry.name in ("abs", "maximum", "minimum", "max", "amax", "min", "amin", "where", "greater", "less",
                      "greater_equal", "less_equal", "equal", "not_equal"):
        # keep away from kinks and ties: distinct values with gaps of at least 0.1
        n = max(int(np.prod(shape)), 1)
        x = (rng.permutation(n) - n / 2 + 0.5 + rng.uniform(-0.05, 0.05)) * 0.37
        x = x.reshape(shape) if shape else float(x[0])
    return np.asarray(x, dtype=float) if shape else float(x)


@pytest.mark.parametrize("item", CASES, ids=[_id(c) for c in CASES])
def test_entry_gradient(item):
    func, entry, (shapes, kwargs) = item
    kwargs = dict(kwargs)
    rng = np.random.default_rng(abs(hash(entry.name)) % 2**32)
    args = [_sample(rng, entry, s) for s in shapes]
    if entry.differentiable:
        weights = rng.standard_normal(np.shape(func(*args, **kwargs)))

        def body(*xs):
            return np.sum(func(*xs, **kwargs) * weights)
    else:
        # a comparison: differentiate through the choice it makes
        def body(*xs):
            return np.sum(np.where(func(*xs, **kwargs), xs[0] * xs[1], xs[0] + 2 * xs[1]))
    check_grads(ARITY[len(args)](body), args)


ARITY = {
    1: lambda body: lambda a: body(a),
    2: lambda body: lambda a, b: body(a, b),
    3: lambda body: lambda a, b, c: body(a, b, c),
}


def test_every_entry_has_a_case():
    assert all(entry.cases for entry in REGISTRY.values())


def test_registered_user_function():
    """A user adds a primitive with symdiff.register and its gradient follows."""
    import sympy as sp
    from symdiff.numpy.core import ufunc

    previous = REGISTRY.pop(np.cbrt, None)
    symdiff.register(np.cbrt, ufunc("cbrt", lambda a: a ** sp.Rational(1, 3), domain=(0.5, 2.0)))
    try:
        check_grads(lambda x: np.sum(np.cbrt(x) * x), [np.array([0.5, 1.0, 2.0])])
    finally:
        del REGISTRY[np.cbrt]
        if previous is not None:
            REGISTRY[np.cbrt] = previous
