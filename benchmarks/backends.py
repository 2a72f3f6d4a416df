"""Benchmark symdiff's backends: value and gradient per call, single thread, float64.

Run from the repository root::

    python benchmarks/backends.py [--quick] [--write]

For Rosenbrock (n = 10**6) and Lennard-Jones (N = 512, 3-D) it times, side by side in alternating
batches (the median per-call time over batches, so machine noise affects all alike):

- symdiff's ``value_and_grad`` with ``backend="numpy"`` and ``backend="numba"``;
- careful hand-written NumPy (from benchmarks/bench.py) and hand-written numba (one loop computing the
  value and the gradient together, ``cache=False``);
- ``jax.jit(jax.value_and_grad(loss))`` when JAX is installed;
- the memory-bandwidth floor: one read of the input and one write of a gradient-sized array
  (``np.copyto`` into a preallocated array), the least any value-and-gradient call must move.

Before timing, every row's value and gradient are checked against the hand-written NumPy code. The
first-call column is construction plus first call: symdiff with an empty ``SYMDIFF_CACHE_DIR`` (trace,
differentiate, print, import, numba compile), numba's and JAX's compile of the hand-written code.
NUMBA_NUM_THREADS, OMP/BLAS threads and XLA are pinned to one thread before anything is imported.
"""
from __future__ import annotations

import os

os.environ.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"), "1"))
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1").strip()

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checked-out package
sys.path.insert(0, str(HERE))
from bench import lj_hand, lj_loss, lj_workload, rosenbrock_hand, rosenbrock_loss  # noqa: E402

MATCH_RTOL = 1e-9
RESULTS_PATH = HERE / "BACKENDS.md"
ARRAY_API_SECTION = "## The array API backend on NumPy arrays"


def rosenbrock_numba():
    import numba

    @numba.njit(cache=False)
    def rosen_vg(x):
        n = x.shape[0]
        g = np.empty(n)
        value = 0.0
        carry = 0.0  # 200 * t of the previous pair: its part of g[i]
        for i in range(n - 1):
            a = x[i]
            t = x[i + 1] - a * a
            u = 1.0 - a
            value += 100.0 * t * t + u * u
            g[i] = carry - 400.0 * t * a - 2.0 * u
            carry = 200.0 * t
        g[n - 1] = carry
        return value, g
    return lambda x: (lambda v, g: (v, (g,)))(*rosen_vg(x))


def lj_numba():
    import numba

    @numba.njit(cache=False)
    def lj_vg(X):
        n, k = X.shape
        g = np.zeros((n, k))
        value = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                r2 = 0.0
                for c in range(k):
                    r2 += (X[i, c] - X[j, c]) ** 2
                s = 1.0 / r2
                s3 = s * s * s
                value += 4.0 * s3 * (s3 - 1.0)
                f = 24.0 * s3 * (1.0 - 2.0 * s3) * s  # 2 dE/dr2
                for c in range(k):
                    d = f * (X[i, c] - X[j, c])
                    g[i, c] += d
                    g[j, c] -= d
        return value, g
    return lambda X: (lambda v, g: (v, (g,)))(*lj_vg(X))


def jax_value_and_grad(loss: Callable) -> Callable | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import types
    code = loss.__code__
    fn = types.FunctionType(code, {**loss.__globals__, "np": jnp}, loss.__name__)
    vg = jax.jit(jax.value_and_grad(fn))

    def call(x):
        v, g = vg(x)
        g.block_until_ready()
        return v, (g,)
    return call


def floor_of(x: np.ndarray) -> Callable:
    out = np.empty_like(x)

    def floor(x):
        np.copyto(out, x)
        return out
    return floor


def first_call(make: Callable[[], Callable], x) -> tuple[Callable, float]:
    start = time.perf_counter()
    fn = make()
    fn(x)
    return fn, time.perf_counter() - start


def symdiff_row(loss, backend: str, x) -> tuple[Callable, float]:
    import symdiff
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SYMDIFF_CACHE_DIR"] = folder
        vg, seconds = first_call(lambda: symdiff.value_and_grad(loss, backend=backend), x)
        # the module stays imported (and numba's compiled kernels loaded) after the folder is gone
        return (lambda x: (lambda v, g: (v, (g,)))(*vg(x))), seconds


def check(name: str, got: tuple[Any, Any], want: tuple[Any, Any]) -> None:
    (v, (g,)), (v0, (g0,)) = got, want
    err = max(abs(float(v) - float(v0)) / abs(float(v0)),
              float(np.max(np.abs(np.asarray(g) - g0)) / np.max(np.abs(g0))))
    if not err <= MATCH_RTOL:
        raise SystemExit(f"{name}: differs from the hand-written NumPy code by {err:.1e} (relative)")


def time_side_by_side(fns: list[Callable], x, repeat: int, budget: float = 0.05) -> list[float]:
    """Median seconds per call over ``repeat`` alternating batches (each batch about ``budget`` seconds)."""
    counts = []
    for fn in fns:
        start = time.perf_counter()
        fn(x)
        counts.append(max(1, int(budget / max(time.perf_counter() - start, 1e-7))))
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(counts[k]):
                fn(x)
            samples[k].append((time.perf_counter() - start) / counts[k])
    return [statistics.median(s) for s in samples]


def run(title: str, loss, hand, hand_numba, x, repeat: int) -> list[str]:
    rows: list[tuple[str, Callable, float | None]] = [("hand-written NumPy", hand, None)]
    for backend in ("numpy", "numba"):
        fn, seconds = symdiff_row(loss, backend, x)
        rows.append((f"symdiff backend={backend!r}", fn, seconds))
    fn, seconds = first_call(hand_numba, x)
    rows.append(("hand-written numba (one loop)", fn, seconds))
    jax_vg = jax_value_and_grad(loss)
    if jax_vg is not None:
        fn, seconds = first_call(lambda: jax_vg, x)
        rows.append(("jax.jit(value_and_grad)", fn, seconds))
    want = hand(x)
    for name, fn, _ in rows[1:]:
        check(f"{title}, {name}", fn(x), want)
    rows.append(("bandwidth floor (read x, write dx)", floor_of(x), None))
    times = time_side_by_side([fn for _, fn, _ in rows], x, repeat)
    by_name = dict(zip([name for name, _, _ in rows], times))
    jax_time = by_name.get("jax.jit(value_and_grad)")
    floor = by_name["bandwidth floor (read x, write dx)"]
    lines = [f"### {title}", "", "| code | us per call | / jax.jit | / floor | first call (s) |",
             "|---|---:|---:|---:|---:|"]
    for (name, _, seconds), t in zip(rows, times):
        vs_jax = f"{t / jax_time:.2f}" if jax_time else "-"
        lines.append(f"| {name} | {t * 1e6:,.1f} | {vs_jax} | {t / floor:.1f} | "
                     f"{'-' if seconds is None else f'{seconds:.2f}'} |")
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer batches (a smoke test)")
    parser.add_argument("--write", action="store_true", help=f"also save the report to {RESULTS_PATH.name}")
    args = parser.parse_args(argv)
    n, atoms, repeat = (10 ** 4, 64, 3) if args.quick else (10 ** 6, 512, 15)
    rng = np.random.default_rng(0)
    x = 1.0 + 0.5 * rng.standard_normal(n)
    X = lj_workload(rng, atoms).args[0]
    import numba
    lines = [f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, NumPy {np.__version__}, numba {numba.__version__}; one thread", "",
             f"command: `python benchmarks/backends.py{' --quick' if args.quick else ''}`", ""]
    lines += run(f"Rosenbrock n={n}", rosenbrock_loss, rosenbrock_hand, rosenbrock_numba, x, repeat)
    lines += run(f"Lennard-Jones N={atoms} 3-D", lj_loss, lj_hand, lj_numba, X, repeat)
    lines.append("targets: backend='numba' <= 0.5x jax.jit on Rosenbrock n=10**6; within 3x of the bandwidth floor")
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if args.write:  # the array API backend's section (benchmarks/backends_array_api.py) stays
        old = RESULTS_PATH.read_text(encoding="utf-8") if RESULTS_PATH.exists() else ""
        kept = old[old.index(ARRAY_API_SECTION):] if ARRAY_API_SECTION in old else ""
        RESULTS_PATH.write_text(report + ("\n" + kept if kept else ""), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
