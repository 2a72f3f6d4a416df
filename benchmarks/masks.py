"""Boolean masks: the generated value-and-gradient code against hand-written NumPy, and the compile time.

Run from the repository root: ``PYTHONPATH=. python benchmarks/masks.py``. Prints a table: per
workload, the best time (of 30; the machine may be shared) of one call of symdiff's generated
``value_and_grad`` and of a hand-written NumPy gradient (checked equal first), their ratio, and
the time the first call takes (trace, differentiate, print, import; set SYMDIFF_CACHE_DIR to an
empty folder to leave the disk cache out).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import symdiff  # noqa: E402


def relu_net(X, W1, W2):
    hidden = X @ W1
    hidden[hidden < 0] = 0
    scores = hidden @ W2
    return 0.5 * np.sum(scores ** 2) / X.shape[0]


def relu_net_hand(X, W1, W2):
    pre = X @ W1
    hidden = np.where(pre < 0, 0.0, pre)
    scores = hidden @ W2
    n = X.shape[0]
    dscores = scores / n
    dhidden = (dscores @ W2.T) * (pre >= 0)
    return 0.5 * np.sum(scores ** 2) / n, (X.T @ dhidden, hidden.T @ dscores)


def masked_mean(x, m):
    return np.mean(x[m] ** 2) + np.sum(np.exp(x[~m]))


def masked_mean_hand(x, m):
    kept = x[m]
    value = np.mean(kept ** 2) + np.sum(np.exp(x[~m]))
    grad = np.where(m, 2 * x / max(kept.size, 1), np.exp(x))
    return value, (grad,)


def svm_hinge(X, W, y):
    n = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(n), y]
    margins = scores - correct[:, None] + 1.0
    margins[margins < 0] = 0
    margins[np.arange(n), y] = 0
    return np.sum(margins) / n


def svm_hinge_hand(X, W, y):
    n = X.shape[0]
    scores = X @ W
    margins = np.maximum(scores - scores[np.arange(n), y][:, None] + 1.0, 0)
    margins[np.arange(n), y] = 0
    binary = (margins > 0).astype(float)
    binary[np.arange(n), y] = -binary.sum(axis=1)
    return np.sum(margins) / n, (X.T @ binary / n,)


def best_time(fn, args, repeat: int = 30) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    X, W1, W2 = rng.normal(size=(2000, 100)), rng.normal(size=(100, 64)), rng.normal(size=(64, 10))
    x = rng.normal(size=100_000)
    Xs, Ws, ys = rng.normal(size=(2000, 100)), rng.normal(size=(100, 10)), rng.integers(0, 10, 2000)
    work = [("relu_net 2000x100 -> 64 -> 10", relu_net, relu_net_hand, (X, W1, W2), ("W1", "W2")),
            ("masked_mean 100000", masked_mean, masked_mean_hand, (x, x > 0.3), ("x",)),
            ("svm_hinge 2000x100, 10 classes", svm_hinge, svm_hinge_hand, (Xs, Ws, ys), ("W",))]
    print("| workload | symdiff (ms) | hand NumPy (ms) | ratio | first call (s) |")
    print("|---|---|---|---|---|")
    for name, fn, hand, args, wrt in work:
        g = symdiff.value_and_grad(fn, wrt=wrt if len(wrt) > 1 else wrt[0])
        start = time.perf_counter()
        value, grads = g(*args)
        first = time.perf_counter() - start
        want_value, want = hand(*args)
        grads = grads if isinstance(grads, tuple) else (grads,)
        assert np.isclose(value, want_value) and all(np.allclose(a, b) for a, b in zip(grads, want)), name
        ours, theirs = best_time(g, args), best_time(hand, args)
        print(f"| {name} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {ours / theirs:.2f} | {first:.2f} |")


if __name__ == "__main__":
    main()
