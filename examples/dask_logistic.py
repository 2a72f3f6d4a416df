"""Logistic regression on data that need not fit in one machine's memory: a dask.distributed cluster.

The loss is plain NumPy. ``symdiff.value_and_grad(loss, wrt="w", backend="array_api")`` compiles it
once to array API code; given dask arrays, that code builds a dask graph (nothing is computed), and one
``dask.compute`` runs the value and the gradient together on the cluster's workers, chunk by chunk:
each worker reads its rows of ``X`` once for ``z = X @ w`` and once for ``dz @ X``, and only 20 numbers
per chunk travel back. ``X`` is generated inside the cluster (``dask.array.random``) and kept in the
workers' memory (``persist``): the client never holds it. L-BFGS (scipy.optimize) drives the fit.

    python examples/dask_logistic.py                      # 10^7 x 20, a local cluster of 2 workers
    python examples/dask_logistic.py --rows 100000        # a quick run
    python examples/dask_logistic.py --scheduler tcp://10.0.0.5:8786    # a real cluster: the same code

It prints the time per value-and-gradient on the cluster and, for comparison, of the NumPy backend on
the same data in one process's memory (``--no-numpy`` skips that, for data too large for one machine).
Needs ``pip install "symdiff[array-api,dask]" scipy``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import symdiff


def loss(w, X, y):
    """Mean logistic loss of the logits ``X @ w`` against 0/1 labels ``y``, plus a small ridge."""
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z) + 1e-4 * np.sum(w ** 2)


value_and_grad = symdiff.value_and_grad(loss, wrt="w", backend="array_api")


def make_data(rows: int, cols: int, chunk: int, seed: int = 0):
    """``X`` (rows x cols, standard normal) and labels drawn from a known logistic model, as lazy dask
    arrays in chunks of ``chunk`` rows: the workers generate them, the client never holds them."""
    import dask.array as da
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, cols), chunks=(chunk, cols))
    w_true = np.linspace(-1.0, 1.0, cols)
    p = 1.0 / (1.0 + da.exp(-(X @ w_true)))
    y = (rng.random(rows, chunks=chunk) < p).astype(np.float64)
    return X, y


def on_cluster(w: np.ndarray, X, y) -> tuple[float, np.ndarray]:
    """The loss and its gradient at ``w`` (a NumPy array), computed on the cluster by one dask.compute."""
    import dask
    import dask.array as da
    value, grad = value_and_grad(da.from_array(w), X, y)  # a graph: nothing runs yet
    value, grad = dask.compute(value, grad)
    return float(value), np.asarray(grad, dtype=np.float64)


def fit(X, y, steps: int = 20) -> tuple[np.ndarray, int, float]:
    """L-BFGS from zeros: the weights, the number of value-and-gradient evaluations, seconds per one."""
    from scipy.optimize import minimize
    times = []

    def fun(w):
        start = time.perf_counter()
        out = on_cluster(w, X, y)
        times.append(time.perf_counter() - start)
        return out
    result = minimize(fun, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": steps})
    return result.x, len(times), float(np.median(times))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per chunk")
    parser.add_argument("--workers", type=int, default=2, help="workers of the local cluster")
    parser.add_argument("--scheduler", default=None, help="address of a running scheduler (tcp://host:8786)")
    parser.add_argument("--steps", type=int, default=15, help="L-BFGS iterations")
    parser.add_argument("--no-numpy", action="store_true", help="skip the in-memory NumPy comparison")
    args = parser.parse_args(argv)

    import dask
    from dask.distributed import Client, LocalCluster
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        client = Client(LocalCluster(n_workers=args.workers, threads_per_worker=1, memory_limit=None))
    with client:
        X, y = dask.persist(*make_data(args.rows, args.cols, args.chunk))  # generated in the workers' memory
        w, evaluations, per_gradient = fit(X, y, args.steps)
        workers = len(client.scheduler_info()["workers"])
        print(f"{args.rows} x {args.cols} in chunks of {args.chunk} rows, {workers} workers: {evaluations} "
              f"value-and-gradient evaluations, {per_gradient:.3f} s each (median); loss {on_cluster(w, X, y)[0]:.6f}")
        print("w =", np.array2string(w, precision=3))
        if not args.no_numpy:
            X_np, y_np = dask.compute(X, y)
    if not args.no_numpy:  # the same data in one process's memory, the NumPy backend
        numpy_vg = symdiff.value_and_grad(loss, wrt="w")
        numpy_vg(w, X_np, y_np)  # compile
        times = []
        for _ in range(3):
            start = time.perf_counter()
            numpy_vg(w, X_np, y_np)
            times.append(time.perf_counter() - start)
        print(f"in memory, NumPy backend, one process: {float(np.median(times)):.3f} s per value and gradient")


if __name__ == "__main__":
    main()
