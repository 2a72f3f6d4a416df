"""Booleans count as 0/1 exactly as NumPy counts them (issue 9, "no silent wrong answer").

Every program is run by plain NumPy for the value and by central differences for the gradient (zero
through a mask almost everywhere): the test points keep every comparison at least 0.2 from its
threshold, so the differences never cross a jump. The same programs go through ``symdiff.export``
(the generated module must count too) and some through ``symdiff.hessian``.
"""
import importlib.util
import itertools

import numpy as np
import pytest

import symdiff
from symdiff.errors import SymdiffError, TraceError, UnsupportedError

X = np.array([1.3, -2.1, 3.2, 0.5, -0.7, 1.7])  # thresholds below: 0, +-1, 1.5, 2, 2.5, -3, -5
M = np.array([True, False, True, True, False, True])  # a mask known when traced


def _set_false(x):
    m = (x > 0).copy()
    m[0] = False
    return m


def _bool_zeros(x):
    a = np.zeros(6, dtype=bool)
    a[1:] = x[1:] > 1
    return a


PROGRAMS = {
    # the example and its reductions
    "sum": lambda x: np.sum(x > 0) * x[0],
    "sum_method": lambda x: (x > 0).sum() * x[0] ** 2,
    "mean": lambda x: np.mean(x > 0) * x[0],
    "mean_axis": lambda x: np.sum(np.mean(x.reshape(2, 3) > 0, axis=0) * x[:3]),
    "mean_keepdims": lambda x: np.sum(np.mean(x.reshape(2, 3) > 0, axis=1, keepdims=True) * x.reshape(2, 3)),
    "sum_axis": lambda x: np.sum((x.reshape(2, 3) > 0).sum(axis=1) * x[:2]),
    "sum_dtype": lambda x: np.sum(x > 0, dtype=float) * x[0],
    "prod": lambda x: np.prod(x > -3) * x[1] + np.prod(x > 0) * x[2],
    "cumsum": lambda x: np.sum(np.cumsum(x > 0) * x),
    "cumprod": lambda x: np.sum(np.cumprod(x > -1) * x),
    "python_sum": lambda x: sum(x > 0) * x[0],
    "var_std": lambda x: (np.var(x > 0) + np.std(x > 1)) * x[0],
    "norm": lambda x: np.linalg.norm(x > 0) * x[0],
    "trace": lambda x: np.trace(x[:4].reshape(2, 2) > 0) * x[0],
    "count_nonzero": lambda x: np.count_nonzero(x > 0) * x[0] + np.count_nonzero(x - 1.5) * x[1],
    # casts
    "astype_float": lambda x: np.sum((x > 0).astype(float)) * x[0],
    "astype_float64": lambda x: np.sum((x > 0).astype(np.float64) * x),
    "astype_float32": lambda x: np.sum((x > 0).astype(np.float32)) * x[0],
    "astype_int": lambda x: np.sum((x > 0).astype(int) * x),
    "astype_bool": lambda x: np.sum((x - 0.5).astype(bool)) * x[0],
    "asarray_float": lambda x: np.sum(np.asarray(x > 0, float)) * x[0],
    "array_dtype": lambda x: np.sum(np.array(x > 1, dtype=np.float64) * x),
    "asarray_bool": lambda x: np.sum(np.asarray(x, dtype=bool)) * x[0],
    "one_times": lambda x: np.sum(1.0 * (x > 0)) * x[0],
    "plus_zero": lambda x: np.sum((x > 0) + 0) * x[0],
    "minus_one": lambda x: np.sum((x > 0) - 1) * x[0],
    "divide": lambda x: np.sum((x > 0) / 2.0) * x[0],
    "power": lambda x: np.sum((x > 0) ** 2 * x),
    "sqrt": lambda x: np.sum(np.sqrt(x > 0) * x),
    "clip": lambda x: np.sum(np.clip(x > 0, 0, 0.5) * x),
    # booleans with booleans stay booleans (NumPy's logic), with numbers count as 0/1
    "mask_times_x": lambda x: np.sum((x > 0) * x),
    "mask_plus_mask": lambda x: np.sum((x > 0) + (x > 1)) * x[0],
    "mask_times_mask": lambda x: np.sum((x > 0) * (x > 1.5)) * x[0],
    "mask_plus_true": lambda x: np.sum((x > 0) + True) * x[0],
    "maximum_masks": lambda x: np.sum(np.maximum(x > 0, x > 1) + (x > 2)) * x[0],
    "abs_mask": lambda x: np.sum(np.abs(x > 0) + (x > 2)) * x[0],
    "eq_of_comparisons": lambda x: np.sum((x > 0) == (x ** 2 > 2)) * x[0],
    "ne_of_comparisons": lambda x: np.sum(((x > 0) != (x < 1.5)) * x),
    "invert": lambda x: np.sum(~(x > 0)) * x[0],
    "and": lambda x: np.sum((x > 0) & (x < 2)) * x[0],
    "or": lambda x: np.sum((x > 2) | (x < -1)) * x[0],
    "xor": lambda x: np.sum((x > 0) ^ (x < 2)) * x[0],
    "and_known": lambda x: np.sum(M & (x > 1)) * x[0] + np.sum((x > 0) | M) * x[1],
    "logical_not": lambda x: np.sum(np.logical_not(x > 0) * x),
    "logical_and": lambda x: np.sum(np.logical_and(x > 0, x < 2) * x),
    "logical_or_xor": lambda x: np.sum(np.logical_or(x > 2, x < -1) + np.logical_xor(x > 0, x > 1)) * x[0],
    "where": lambda x: np.sum(np.where(x > 0, x, 2 * x)),
    "where_of_masks": lambda x: np.sum(np.where(x > 0, x > 1, x < -1) + (x > 2)) * x[0],
    "any_all": lambda x: np.any(x > 2.5) * x[0] + np.all(x > 0) * x[1] + np.all(x > -5) * x[2],
    "any_all_methods": lambda x: (x > 2.5).any() * x[0] + (x > -5).all() * x[1],
    "any_axis": lambda x: np.sum(np.any(x.reshape(2, 3) > 1, axis=0) * x[3:]),
    "max_min_mask": lambda x: np.max(x > 0) * x[0] + np.min(x > 0) * x[1],
    "diff_mask": lambda x: np.sum(np.diff(x > 0) * x[1:]) + np.sum(np.diff(x > 1)) * x[0],
    # masks known when traced
    "known_index": lambda x: np.sum(x[M] ** 2) + np.sum(M) * x[0],
    "known_times": lambda x: np.sum(M * x) + np.sum(M + (x > 0)) * x[1],
    # products and structure of masks
    "dot_mask_x": lambda x: np.dot(x > 0, x),
    "dot_masks": lambda x: np.dot(x > 0, x > 1) * x[0],
    "matmul_masks": lambda x: np.sum((x[:4].reshape(2, 2) > 0) @ (x[:4].reshape(2, 2) > 1)) * x[0],
    "outer_masks": lambda x: np.sum(np.outer(x > 0, x > 1)) * x[0],
    "einsum_one_mask": lambda x: np.einsum("i->", x > 0) * x[0],
    "einsum_masks": lambda x: np.einsum("i,i->", x > 0, x > 1) * x[0] + np.einsum("i,i->", x > 0, x),
    "concatenate_masks": lambda x: np.sum(np.concatenate([x > 0, x > 1]) + np.concatenate([x > 2, x > -5])) * x[0],
    "stack_masks": lambda x: np.sum(np.stack([x > 0, x > 1]).sum(axis=0) * x),
    "tile_repeat": lambda x: (np.sum(np.tile(x > 0, 2)) + np.sum(np.repeat(x > 1, 2))) * x[0],
    "flip_roll_sort": lambda x: np.sum((np.flip(x > 0) + np.roll(x > 1, 1)) * x) + np.sum(np.sort(x > 0) * x),
    "set_false": lambda x: np.sum(_set_false(x)) * x[0],
    "bool_zeros": lambda x: np.sum(_bool_zeros(x)) * x[0],
    "branch_on_count": lambda x: x[0] * 2 if np.sum(x > 0) > 3 else x[0] * 3,
}

MASKS = {"x > 0": lambda x: x > 0, "x < 1.5": lambda x: x < 1.5, "~(x > -1)": lambda x: ~(x > -1), "M": lambda x: M}
JOINS = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "&": lambda a, b: a & b, "|": lambda a, b: a | b,
         "^": lambda a, b: a ^ b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
USES = {"sum*x0": lambda m, x: np.sum(m) * x[0], "mean*x.x": lambda m, x: np.mean(m) * (x @ x),
        "sum(m*x)": lambda m, x: np.sum(m * x), "where": lambda m, x: np.sum(np.where(m, x, x ** 2)),
        "cumsum@x": lambda m, x: np.cumsum(m) @ x, "float@x^2": lambda m, x: m.astype(float) @ x ** 2,
        "(1.0*m+m)@x": lambda m, x: (1.0 * m + m) @ x}


def _combined(a, join, b, use):
    return lambda x: USES[use](JOINS[join](MASKS[a](x), MASKS[b](x)), x)


_rng = np.random.default_rng(9)  # a fixed sample of the combinations: the same on every run
_ALL = list(itertools.product(MASKS, JOINS, MASKS, USES))
COMBINED = {f"({a}) {j} ({b}) | {u}": _combined(a, j, b, u)
            for a, j, b, u in (_ALL[i] for i in sorted(_rng.choice(len(_ALL), 40, replace=False)))}
ALL_PROGRAMS = {**PROGRAMS, **COMBINED}


def central_gradient(f, x, eps=1e-6):
    return np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(x.size)])


@pytest.mark.parametrize("name", list(ALL_PROGRAMS))
def test_booleans_count_as_in_numpy(name):
    f = ALL_PROGRAMS[name]
    value, gradient = symdiff.value_and_grad(f)(X)
    assert np.allclose(value, f(X), rtol=1e-12, atol=1e-12), (value, f(X))
    assert gradient.dtype == np.float64 and gradient.shape == X.shape
    assert np.allclose(gradient, central_gradient(f, X), rtol=1e-6, atol=1e-6)
    assert np.array_equal(symdiff.grad(f)(X), gradient)


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", [n for n in PROGRAMS if n not in ("set_false", "bool_zeros")])
def test_exported_module_counts_booleans(name, tmp_path):
    f = PROGRAMS[name]
    path = tmp_path / "bools_module.py"
    source = symdiff.export(f, path, shapes={"x": (6,)})
    assert "import numpy as np" in source
    module = _load(path, f"bools_module_{abs(hash(name))}")
    value, gradient = module.f_value_and_grad(X.copy())
    assert np.allclose(value, f(X), rtol=1e-12, atol=1e-12)
    assert np.asarray(gradient).dtype == np.float64
    assert np.allclose(gradient, central_gradient(f, X), rtol=1e-6, atol=1e-6)


def central_hessian(f, x, h=1e-4):
    n, eye = x.size, np.eye(x.size)
    return np.array([[(f(x + h * eye[i] + h * eye[j]) - f(x + h * eye[i] - h * eye[j])
                       - f(x - h * eye[i] + h * eye[j]) + f(x - h * eye[i] - h * eye[j])) / (4 * h * h)
                      for j in range(n)] for i in range(n)])


HESSIAN_PROGRAMS = {
    "count_times_square": lambda x: np.sum(x > 0) * np.sum(x ** 2),
    "mean_times_masked_square": lambda x: np.mean(x > 0) * np.sum((x > 1) * x ** 2),
    "cast_cubes": lambda x: np.sum((x > 0).astype(float) * x ** 3) + np.sum((x > 0) + (x > 1)) * x[0] * x[1],
    "where_logic": lambda x: np.sum(np.where((x > 0) & ~(x > 2), x ** 2, x ** 3)),
    "cumsum_weights": lambda x: np.cumsum(x > 0) @ x ** 2,
}


@pytest.mark.parametrize("name", list(HESSIAN_PROGRAMS))
def test_hessian_through_booleans(name, tmp_path):
    f = HESSIAN_PROGRAMS[name]
    expected = central_hessian(f, X)
    hessian = symdiff.hessian(f)(X)
    assert hessian.dtype == np.float64
    assert np.allclose(hessian, expected, rtol=1e-5, atol=1e-5)
    path = tmp_path / "bools_hessian.py"
    symdiff.export(f, path, shapes={"x": (6,)}, kind="hessian")
    exported = _load(path, f"bools_hessian_{abs(hash(name))}").f_hessian(X.copy())
    assert np.allclose(exported, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("f", [
    lambda x: np.sum(-(x > 0)) * x[0],                 # NumPy: boolean negative is an error
    lambda x: np.sum((x > 0) - (x > 1)) * x[0],        # NumPy: boolean subtract is an error
    lambda x: np.ptp(x > 0) * x[0],                    # the same, inside np.ptp
    lambda x: np.sum(~x),                              # bitwise not of floats: an error in NumPy too
    lambda x: np.sum((x > 0) & x),
], ids=["negative", "subtract", "ptp", "invert_float", "and_float"])
def test_what_numpy_refuses_on_booleans_is_refused(f):
    with pytest.raises(TypeError):
        f(X)
    with pytest.raises(UnsupportedError, match="test_trust_bools.py:"):
        symdiff.grad(f)(X)


BOOLEAN_VALUED = {
    "sum_positive": lambda x: np.sum(x) > 0,
    "any": lambda x: np.any(x > 2),
    "all": lambda x: np.all(x > -5),
    "max_of_mask": lambda x: np.max(x > 0),
    "count_test": lambda x: np.sum(x > 0) >= 4,
    "logic": lambda x: (x[0] > 1) & ~(x[1] > 0),
}


@pytest.mark.parametrize("name", list(BOOLEAN_VALUED))
def test_boolean_valued_function_has_zero_gradient(name):
    """Decided: a boolean output counts as 0/1 (as in autograd), so its gradient is float64 zeros;
    value_and_grad returns NumPy's own boolean as the value."""
    f = BOOLEAN_VALUED[name]
    gradient = symdiff.grad(f)(X)
    assert gradient.dtype == np.float64 and np.array_equal(gradient, np.zeros(6))
    assert np.array_equal(central_gradient(lambda x: float(f(x)), X), np.zeros(6))
    value, gradient = symdiff.value_and_grad(f)(X)
    assert bool(value) == bool(f(X)) and np.array_equal(gradient, np.zeros(6))
    hessian = symdiff.hessian(f)(X)
    assert hessian.dtype == np.float64 and np.array_equal(hessian, np.zeros((6, 6)))


def test_boolean_array_output_has_zero_jacobian():
    jacobian = symdiff.jacobian(lambda x: x > 0)(X)
    assert jacobian.dtype == np.float64 and np.array_equal(jacobian, np.zeros((6, 6)))
    value, tangent = symdiff.jvp(lambda x: x > 0)(X, np.ones(6))
    assert np.array_equal(value, X > 0) and tangent.dtype == np.float64 and not tangent.any()


@pytest.mark.parametrize("transform", [symdiff.grad, symdiff.value_and_grad, symdiff.hessian])
@pytest.mark.parametrize("make", [lambda a: np.matrix(a.reshape(2, 3)), lambda a: np.ma.array(a, mask=M)],
                         ids=["matrix", "masked"])
def test_matrix_and_masked_arguments_are_refused(transform, make):
    def f(x, y):
        return np.sum(x * y)

    with pytest.raises(TraceError, match=r"argument 'y' is .*pass np\.asarray\(y\)"):
        transform(f)(X.reshape(2, 3) if make(X).ndim == 2 else X, make(X))


def test_matrix_made_inside_the_function_is_refused():
    with pytest.raises(SymdiffError):
        symdiff.grad(lambda x: np.sum(np.matrix(x) * np.matrix(x).T))(X)
    with pytest.raises(SymdiffError):
        symdiff.grad(lambda x: np.sum(np.ma.array(x, mask=M)))(X)


MASK_ARGUMENT_PROGRAMS = {
    "mask_plus_mask": lambda x, m: np.sum(m + m) * x[0],   # NumPy: an or, so m is counted once
    "mask_times_x": lambda x, m: np.sum(m * x),
    "where": lambda x, m: np.sum(np.where(m, x, x ** 2)),
    "invert": lambda x, m: np.sum(~m * x),
    "and_comparison": lambda x, m: np.sum(m & (x > 0)) * x[0],
    "mean_cast": lambda x, m: np.mean(m) * x[0] + np.sum(m.astype(float) * x ** 2),
    "dot": lambda x, m: np.dot(m, x ** 2) + np.dot(m, m) * x[1],
    "branch_on_or": lambda x, m: np.sum(x) if np.sum(m + m) > 5 else np.sum(x ** 2),  # 4 > 5 in NumPy
}


@pytest.mark.parametrize("name", list(MASK_ARGUMENT_PROGRAMS))
def test_boolean_array_arguments_stay_booleans(name):
    """A mask passed as an argument is a boolean array inside the function, as in NumPy (not 0.0/1.0
    floats, which would make ``m + m`` count twice); its gradient is float64 zeros."""
    f = MASK_ARGUMENT_PROGRAMS[name]
    value, gradient = symdiff.value_and_grad(f)(X, M)
    assert np.allclose(value, f(X, M), rtol=1e-12, atol=1e-12)
    assert np.allclose(gradient, central_gradient(lambda x: f(x, M), X), rtol=1e-6, atol=1e-6)
    dx, dm = symdiff.grad(f, wrt=(0, 1))(X, M)
    assert np.array_equal(dx, gradient) and dm.dtype == np.float64 and np.array_equal(dm, np.zeros(6))
