"""Sums over one axis of a matrix as generated code writes them, ``t.sum(axis=0)`` (a bias gradient) and
``t.sum(axis=1, keepdims=True)`` (a softmax normaliser), against products with a vector of ones
(``np.ones(n) @ t``, ``(t @ np.ones(k))[:, None]``, BLAS), which earlier versions printed for speed, and the
other readable spellings of the axis-0 sum, ``np.add.reduce(t, axis=0)`` and ``np.einsum("ij->j", t)``.

Run from the repository root: ``PYTHONPATH=. python benchmarks/axis_sums.py``. Prints a table: per shape,
the best time (of 7 rounds; the machine may be shared) of each form in microseconds, and the ratio of the
sum to the product (above 1: the sum is slower). Both forms are checked equal first.
"""
from __future__ import annotations

import timeit

import numpy as np

SHAPES = [(64, 10), (300, 16), (1000, 10), (1000, 64), (10000, 3), (100000, 3), (2048, 256)]


def best(f, number: int = 20) -> float:
    return min(timeit.repeat(f, number=number, repeat=7)) / number * 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'shape':>14} {'sum(axis=0)':>12} {'ones @ t':>10} {'ratio':>6}   "
          f"{'sum(axis=1)':>12} {'t @ ones':>10} {'ratio':>6}   {'reduce/ones':>11} {'einsum/ones':>11}")
    for n, k in SHAPES:
        t = rng.normal(size=(n, k))
        np.testing.assert_allclose(t.sum(axis=0), np.ones(n) @ t, rtol=1e-12)
        np.testing.assert_allclose(np.add.reduce(t, axis=0), np.ones(n) @ t, rtol=1e-12)
        np.testing.assert_allclose(np.einsum("ij->j", t), np.ones(n) @ t, rtol=1e-12)
        np.testing.assert_allclose(t.sum(axis=1, keepdims=True), (t @ np.ones(k))[:, None], rtol=1e-12)
        s0, p0 = best(lambda: t.sum(axis=0)), best(lambda: np.ones(n) @ t)
        s1, p1 = best(lambda: t.sum(axis=1, keepdims=True)), best(lambda: (t @ np.ones(k))[:, None])
        r0, e0 = best(lambda: np.add.reduce(t, axis=0)), best(lambda: np.einsum("ij->j", t))
        print(f"{str((n, k)):>14} {s0:12.1f} {p0:10.1f} {s0 / p0:6.2f}   {s1:12.1f} {p1:10.1f} {s1 / p1:6.2f}   "
              f"{r0 / p0:11.2f} {e0 / p0:11.2f}")


if __name__ == "__main__":
    main()
