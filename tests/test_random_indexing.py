"""Property test: random NumPy indices (ints, negative ints, slices with steps, None, integer arrays
with repeats and negative entries, boolean masks) read from and assigned into a traced array.

The oracle is NumPy itself, applied to the same index object the program uses: for reads,
``f(x) = sum(w * x[index])`` has the gradient ``np.add.at(zeros, index, w)``; for assignments
``y = x.copy(); y[index] = v`` then ``f = sum(w * y)``, the gradient is ``w`` with the assigned
elements zeroed for ``x`` and ``w[index]`` for ``v`` (indices that name an element twice must be
refused, as NumPy keeps only the last write).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symdiff


@st.composite
def indexed(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(2, 4)) for _ in range(ndim))
    items, axis, arrays = [], 0, 0
    while axis < ndim and draw(st.booleans()) or not items:
        if axis >= ndim:
            break
        kind = draw(st.sampled_from(["int", "slice", "array", "mask", "none"] if arrays < 2 else ["int", "slice"]))
        n = shape[axis]
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            step = draw(st.sampled_from([None, 1, 2, -1]))
            items.append(slice(start, None, step))
        elif kind == "array":
            items.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))))
            arrays += 1
        elif kind == "mask":
            mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
            if not mask.any():
                mask[0] = True
            items.append(mask)
            arrays += 1
        else:
            items.append(None)
            continue
        axis += 1
    return shape, tuple(items)


def _readable(shape, index):
    try:
        np.zeros(shape)[index]
    except IndexError:  # e.g. two index arrays whose lengths do not broadcast
        return False
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexed(), st.integers(0, 2**31 - 1))
def test_reading_any_index(case, seed):
    shape, index = case
    if not _readable(shape, index):
        return
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    w = rng.normal(size=np.shape(x[index]))

    def f(x):
        return np.sum(w * x[index])
    value, g = symdiff.value_and_grad(f)(x)
    expected = np.zeros(shape)
    np.add.at(expected, index, w)
    np.testing.assert_allclose(value, f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexed(), st.integers(0, 2**31 - 1))
def test_assigning_any_index(case, seed):
    shape, index = case
    if not _readable(shape, index):
        return
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    region = np.shape(x[index])
    v, w = rng.normal(size=region), rng.normal(size=shape)

    def f(x, v):
        y = x.copy()
        y[index] = v
        return np.sum(w * y)
    positions = np.arange(x.size).reshape(shape)[index]
    if len(np.unique(positions)) < positions.size:
        with pytest.raises(symdiff.UnsupportedError, match="twice"):
            symdiff.grad(f, wrt=(0, 1))(x, v)
        return
    (gx, gv) = symdiff.grad(f, wrt=(0, 1))(x, v)
    expected_x = w.copy()
    expected_x[index] = 0.0
    np.testing.assert_allclose(gx, expected_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gv, w[index], rtol=1e-12, atol=1e-12)
