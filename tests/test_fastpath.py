"""The call fast path: code compiled for one exact key (shapes, dtypes, static values) runs only on
calls of that key; everything else goes through the slow path, which compiles what is missing."""
import numpy as np

import symdiff
from symdiff.runtime.fastpath import MISS, exact_key, guarded


def _echo(*args):
    return "ran"


def test_a_guard_runs_its_function_on_its_key_alone():
    x, w32 = np.ones(3), np.ones((2, 2), dtype=np.float32)
    fast = guarded(exact_key((x, 2, "mean", 1.5, w32)), _echo)
    assert fast(np.zeros(3), 2, "mean", -4.0, np.zeros((2, 2), dtype=np.float32)) == "ran"
    others = [
        (np.ones(4), 2, "mean", 1.5, w32),                      # another shape
        (np.ones((3, 1)), 2, "mean", 1.5, w32),                 # another rank
        (np.ones(3, dtype=np.float32), 2, "mean", 1.5, w32),    # another dtype
        (x, 2, "mean", 1.5, np.ones((2, 2))),                   # float32 -> float64
        (x, 3, "mean", 1.5, w32),                               # another static value
        (x, True, "mean", 1.5, w32),                            # a bool is not the int 1 or 2
        (x, 2, "sum", 1.5, w32),
        (x, 2, "mean", np.float64(1.5), w32),                   # a NumPy scalar is not a float
        (x, 2, "mean", 1, w32),
        (x.view(np.ma.MaskedArray), 2, "mean", 1.5, w32),       # an ndarray subclass
        (x, 2, "mean", 1.5),                                    # fewer arguments
        (x, 2, "mean", 1.5, w32, w32),
    ]
    for args in others:
        assert fast(*args) is MISS, args
    assert guarded((), _echo)() == "ran" and guarded((), _echo)(x) is MISS
    one = guarded(exact_key((x,)), _echo)
    assert one(np.ones(3)) == "ran" and one(np.ones(2)) is MISS


def test_alternating_keys_get_their_own_code():
    def f(x, k):
        return np.sum(x ** k)

    vg = symdiff.value_and_grad(f)
    calls = [(np.array([1.0, 2.0]), 2), (np.array([1.0, 2.0, 3.0]), 2), (np.array([[1.0], [2.0]]), 2),
             (np.array([1.0, 2.0]), 3), (np.array([1.0, 2.0], dtype=np.float32), 3)]
    for _ in range(3):  # each key on the second and third round comes from memory
        for x, k in calls:
            value, g = vg(x, k)
            np.testing.assert_allclose(value, np.sum(x.astype(float) ** k), rtol=1e-6)
            np.testing.assert_allclose(g, k * x.astype(float) ** (k - 1), rtol=1e-6)
            assert g.shape == x.shape
    assert vg.cache_info == "memory"


def test_source_and_cache_info_follow_the_latest_call():
    vg = symdiff.value_and_grad(lambda x: np.sum(np.sin(x)))
    a, b = np.ones(3), np.ones((2, 3))
    vg(a)
    source_a = vg.source
    assert vg.cache_info == "compiled"
    vg(b)
    source_b = vg.source
    assert source_a != source_b
    for x, source in [(a, source_a), (a, source_a), (a, source_a), (b, source_b), (b, source_b), (a, source_a)]:
        np.testing.assert_allclose(vg(x)[1], np.cos(x), rtol=1e-15)
        assert vg.source == source and vg.cache_info == "memory"
    vg(np.ones((2, 1)))  # a new key, compiled between two calls of a hot one
    assert vg.cache_info == "compiled" and vg.source not in (source_a, source_b)
    vg(a)
    assert vg.source == source_a and vg.cache_info == "memory"


def test_a_new_branch_on_a_hot_key_is_compiled():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x ** 2)
        return np.sum(np.exp(x))

    g = symdiff.grad(f)
    pos, neg = np.array([1.0, 2.0]), np.array([-1.0, -2.0])
    for _ in range(3):
        np.testing.assert_allclose(g(pos), 2 * pos, rtol=1e-15)
    for _ in range(3):  # same shape as the calls before: the hot code lacks this side
        np.testing.assert_allclose(g(neg), np.exp(neg), rtol=1e-15)
    np.testing.assert_allclose(g(pos), 2 * pos, rtol=1e-15)
