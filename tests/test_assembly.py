"""Assembly (pad, insert, delete, take, r_/c_, select, ...) and piecewise elementwise functions (mod,
fmod, divmod, copysign, nan_to_num, ...): values against NumPy, gradients against closed forms, central
differences and autograd. Fixed seeds; every function is compiled once."""
import numpy as np
import pytest

import symdiff
from symdiff.errors import UnsupportedError
from symdiff.testing import check_grads

RNG = np.random.default_rng(12)
X = RNG.standard_normal((3, 4))
W_PAD = {mode: RNG.standard_normal(np.pad(X, ((1, 2), (3, 2)), mode=mode).shape)
         for mode in ("edge", "reflect", "symmetric", "wrap")}


def _adjoint_of_gather(ids: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    """The gradient of sum(x.flat[ids] * w): w added up at each element number (closed form)."""
    out = np.zeros(size)
    np.add.at(out, ids.ravel(), w.ravel())
    return out


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
def test_pad_modes_values_and_gradients(mode):
    w = W_PAD[mode]

    def padded(x):
        return np.sum(np.pad(x, ((1, 2), (3, 2)), mode=mode) * w)

    value, g = symdiff.value_and_grad(padded)(X)
    assert np.isclose(value, padded(X))
    ids = np.pad(np.arange(12).reshape(3, 4), ((1, 2), (3, 2)), mode=mode)
    assert np.allclose(g, _adjoint_of_gather(ids, w, 12).reshape(3, 4))


def test_pad_constant_traced_value_and_corners():
    w = RNG.standard_normal((5, 7))

    def framed(x, c):
        return np.sum(np.pad(x, ((1, 1), (2, 1)), constant_values=c) * w)

    def corners(x):  # per-axis values: corners take the last axis's values, as NumPy
        return np.pad(x, ((1, 0), (0, 1)), constant_values=((1.0, 2.0), (3.0, 4.0)))

    gx, gc = symdiff.grad(framed, wrt=("x", "c"))(X, 0.7)
    assert np.allclose(gx, w[1:4, 2:6]) and np.isclose(gc, w.sum() - w[1:4, 2:6].sum())
    f = symdiff.value_and_grad(lambda x: np.sum(corners(x) ** 2))
    assert np.allclose(f(X)[0], np.sum(corners(X) ** 2))
    check_grads(framed, [X, 0.7])


def test_insert_delete_append_take():
    v = np.array([10.0, 20.0])

    def assembled(x, v):
        a = np.insert(x, [1, 3], v, axis=1)               # traced values at known positions
        b = np.delete(x, [0, -1], axis=1)
        c = np.append(x, v)                               # flattened
        d = np.take(x, [[2, 0], [0, 0]], axis=0)          # repeated rows add up in the gradient
        e = np.take_along_axis(x, np.argsort(X, axis=1), axis=1)
        return np.sum(a ** 2) + np.sum(b ** 3) + np.sum(c * 1.5) + np.sum(d * d[0, 0]) + np.sum(e[:, :2])

    assert np.isclose(symdiff.value_and_grad(assembled, wrt=("x", "v"))(X, v)[0], assembled(X, v))
    check_grads(assembled, [X, v])


def test_r_c_select_put_along_axis_and_stacks_of_one_array():
    b = np.array([0.4, -0.8, 1.3])

    def joined(x, b):
        r = np.r_[x[0], b, 2.0, 0:2]
        c = np.c_[b, 2 * b, x[:, :2]]
        s = np.select([b > 0.5, b < -0.5], [b * 2, b ** 2], 0.25)
        z = np.zeros((3, 3))
        np.put_along_axis(z, np.array([[0], [2], [1]]), b[:, None], axis=1)
        v = np.vstack(x) + np.hstack(x)[None, :4] + np.column_stack(x).T
        return np.sum(r ** 2) + np.sum(c ** 3) + np.sum(s) + np.sum(z * x[:, :3]) + np.sum(v ** 2)

    value, (gx, gb) = symdiff.value_and_grad(joined, wrt=("x", "b"))(X, b)
    assert np.isclose(value, joined(X, b))
    # np.select: d/db of sum(s) is 2 where b > 0.5, 2b where b < -0.5, 0 else (closed form)
    check_grads(joined, [X, b])


def test_splits_rotations_grids():
    def pieces(x, lo, hi):
        p, q, r = np.array_split(x, 3, axis=1)            # sizes 2, 1, 1
        t = np.rot90(x) @ np.rollaxis(x[None], 2, 1)[0].T
        gx, gy = np.meshgrid(x[0], x[:, 1])
        grid = np.linspace(lo, hi, 5)
        return (np.sum(p * 2) + np.sum(q ** 2) + np.sum(r ** 3) + np.sum(t) + np.sum(gx * gy)
                + np.sum(grid ** 2))

    assert np.isclose(symdiff.value_and_grad(pieces)(X, 0.3, 1.7)[0], pieces(X, 0.3, 1.7))
    check_grads(pieces, [X, 0.3, 1.7])
    dlo, dhi = symdiff.grad(lambda lo, hi: np.sum(np.linspace(lo, hi, 5) * np.arange(5.0)), wrt=(0, 1))(0.3, 1.7)
    t = np.linspace(0, 1, 5)
    assert np.isclose(dlo, np.sum(np.arange(5.0) * (1 - t))) and np.isclose(dhi, np.sum(np.arange(5.0) * t))


def test_trace_offsets_and_empty_results():
    def traces(x):
        return sum(np.trace(x, k) * (k + 7) for k in (-4, -3, -1, 0, 2, 3, 4, 9)) + np.sum(np.repeat(x, 0))

    g = symdiff.grad(traces)(X)
    expected = np.zeros((3, 4))
    for k in (-1, 0, 2, 3):  # the others are empty diagonals: 0, with zero gradient
        expected += np.eye(3, 4, k) * (k + 7)
    assert np.allclose(g, expected) and np.isclose(symdiff.value_and_grad(traces)(X)[0], traces(X))
    assert np.trace(X, 4) == 0.0


def test_remainders_against_autograd():
    import autograd
    import autograd.numpy as anp
    a = np.array([2.3, -1.6, 0.4, 5.7])
    b = np.array([1.1, 0.7, -0.9, 2.0])

    def rem(a, b):
        q, r = divmod(a, b)
        return np.sum(np.mod(a, b) * 3 + (a % b) * a + r * b + q)

    def rem_autograd(a, b):
        return anp.sum(anp.mod(a, b) * 3 + anp.remainder(a, b) * a
                       + anp.remainder(a, b) * b + anp.floor_divide(a, b))

    got = symdiff.value_and_grad(rem, wrt=(0, 1))(a, b)
    ref = [autograd.grad(rem_autograd, i)(a, b) for i in (0, 1)]
    assert np.isclose(got[0], rem(a, b))
    assert np.allclose(got[1][0], ref[0]) and np.allclose(got[1][1], ref[1])
    # closed forms: d mod(a, b)/da = 1, d/db = -floor(a / b)
    da, db = symdiff.grad(lambda a, b: np.sum(np.mod(a, b)), wrt=(0, 1))(a, b)
    assert np.allclose(da, 1.0) and np.allclose(db, -np.floor(a / b))
    # autograd has no np.fmod rule: d fmod(a, b)/da = 1, d/db = -trunc(a / b) (the sign of a)
    da, db = symdiff.grad(lambda a, b: np.sum(np.fmod(a, b) * a), wrt=(0, 1))(a, b)
    assert np.allclose(da, 1.0 * a + np.fmod(a, b)) and np.allclose(db, -np.trunc(a / b) * a)


def test_nan_to_num_copysign_ldexp_and_real_helpers():
    x = np.array([1.5, np.nan, np.inf, -np.inf, -0.5])
    b = np.array([-1.0, 2.0, -3.0, 4.0, 5.0])

    def helpers(x, b):
        return np.sum(np.nan_to_num(x, nan=2.0, posinf=9.0, neginf=-4.0) * b
                      + np.copysign(np.nan_to_num(x, neginf=-7.0), b)
                      + np.ldexp(np.nan_to_num(x, posinf=5.0, neginf=-3.0), 3) + np.imag(x) + np.nextafter(1.5, b)
                      + np.spacing(b) + np.angle(b) + np.conj(b) + np.real_if_close(b))

    value, (gx, gb) = symdiff.value_and_grad(helpers, wrt=(0, 1))(x, b)
    finite = np.isfinite(x)
    assert np.isfinite(value) and np.isclose(value, helpers(x, b))
    assert np.allclose(gx[finite], b[finite] + np.sign(x[finite]) * np.sign(b[finite]) + 8.0)
    assert np.all(gx[~finite] == 0.0)
    assert np.allclose(gb, np.nan_to_num(x, nan=2.0, posinf=9.0, neginf=-4.0) + 2.0)


def test_refusals_name_the_users_line():
    def mean_pad(x):
        return np.sum(np.pad(x, 1, mode="mean"))

    def traced_take(x):
        return np.sum(np.take(x, x.astype(bool)))

    def odd_ldexp(x):
        return np.sum(np.ldexp(x, np.array([1, 2, 3, 4])))

    def traced_arange(x):
        return np.sum(np.arange(x[0, 0], 3.0))

    for fn, what in ((mean_pad, "mode='mean'"), (traced_take, "boolean mask"), (odd_ldexp, "np.ldexp"),
                     (traced_arange, "np.arange")):
        with pytest.raises(UnsupportedError, match=what) as info:
            symdiff.grad(fn)(X)
        assert "test_assembly.py:" in str(info.value)
