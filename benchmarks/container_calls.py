"""Cost of a call whose parameters are in a container (a dict) against the same call with them as plain
arguments, through the decorator, and of the exported module's entry point that unpacks the dict.

    PYTHONPATH=. python benchmarks/container_calls.py

Times the minimum over 200 batches of 200 calls of a two-layer network's gradient on small arrays (the
code is the same: only the calling differs): plain arguments take the fast path (a guard made for the
exact key of the latest call); a dict takes the container fast path (the freshness check, then the
exact key of its structure and leaves looked up), then the generated entry point unpacks it and builds
the gradient's dict.
"""
import timeit

import numpy as np

import symdiff


def loss_args(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 + b2 - y) ** 2)


def loss_dict(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    return np.mean((h @ params["W2"] + params["b2"] - y) ** 2)


def _best(fn, number=200, repeat=200) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(4, 8)), "b1": rng.normal(size=8), "W2": rng.normal(size=(8, 2)),
              "b2": rng.normal(size=2)}
    X, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    flat = tuple(params.values())
    g_args = symdiff.grad(loss_args, wrt=("W1", "b1", "W2", "b2"))
    g_dict = symdiff.grad(loss_dict)
    g_args(*flat, X, y), g_dict(params, X, y)
    module = g_dict._cache[next(iter(g_dict._cache))][0][1]
    plain = g_args._cache[next(iter(g_args._cache))][0][1]
    rows = [("plain arguments, decorator (fast path)", _best(lambda: g_args(*flat, X, y))),
            ("dict parameters, decorator (container fast path)", _best(lambda: g_dict(params, X, y))),
            ("plain arguments, generated loss_args_grad", _best(lambda: plain.loss_args_grad(*flat, X, y))),
            ("dict parameters, generated loss_dict_grad (unpacks the dict)",
             _best(lambda: module.loss_dict_grad(params, X, y)))]
    print("| call | us per call |")
    print("|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.1f} |")


if __name__ == "__main__":
    main()
