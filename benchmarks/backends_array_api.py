"""The array API backend on NumPy arrays against the NumPy backend, on the timed rows of bench.py.

Run from the repository root::

    python benchmarks/backends_array_api.py [--quick]

For each workload of ``benchmarks/bench.py`` both backends' ``symdiff.value_and_grad`` are compiled,
checked to agree (1e-12 relative), and timed side by side in alternating batches (the fastest batch's
per-call time, in CPU time of this process, which other processes on a loaded machine disturb least;
single-threaded, float64, so CPU time is the time a call takes); the table gives
both times, their ratio (target: within 1.1x) and, for information, the array API module on
``array_api_strict`` arrays (the conformance library: a reference implementation, not a fast one).
``--quick``: the small rows only; ``--rows TEXT``: only the rows whose name contains TEXT (case-insensitive;
repeat the option for several).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench  # noqa: E402  (pins BLAS to one thread before NumPy is imported)
import numpy as np  # noqa: E402

import symdiff  # noqa: E402

TARGET = 1.1


def per_call(fn, args, budget: float, clock=time.process_time) -> float:
    """CPU seconds per call of ``fn(*args)``, batches sized to about ``budget`` seconds."""
    start, n = clock(), 0
    while clock() - start < budget / 4 or n < 1:
        fn(*args)
        n += 1
    batch = max(1, int(n * 4 * budget / max(clock() - start, 1e-9) / 4))
    start = clock()
    for _ in range(batch):
        fn(*args)
    return (clock() - start) / batch


def time_side_by_side(fns, args_list, rounds: int, budget: float) -> list[float]:
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for k, (fn, args) in enumerate(zip(fns, args_list)):
            samples[k].append(per_call(fn, args, budget))
    return [min(s) for s in samples]


def _agree(got, want) -> bool:
    (v, g), (wv, wg) = got, want
    g, wg = (g if isinstance(g, tuple) else (g,)), (wg if isinstance(wg, tuple) else (wg,))
    pairs = [(v, wv), *zip(g, wg)]
    return all(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12, atol=1e-12)
               for a, b in pairs)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small rows only")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rows", action="append", default=[], metavar="TEXT",
                        help="only rows whose name contains TEXT (case-insensitive; repeatable)")
    args = parser.parse_args(argv)
    try:
        import array_api_strict as strict
    except ImportError:
        strict = None
    rng = np.random.default_rng(0)
    rows = [w for w in bench.workloads(rng) if w.timed]
    if args.quick:
        rows = [w for w in rows if not w.big]
    if args.rows:
        rows = [w for w in rows if any(text.lower() in w.name.lower() for text in args.rows)]
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}, one thread")
    print(f"command: python benchmarks/{Path(__file__).name} {' '.join(argv if argv is not None else sys.argv[1:])}")
    print()
    print("| workload | NumPy backend (µs) | array API backend on NumPy (µs) | ratio | target <= 1.1x |"
          " array API on array_api_strict (µs) |")
    print("|---|---|---|---|---|---|")
    for w in rows:
        wrt = w.wrt if len(w.wrt) > 1 else w.wrt[0]
        loss = w.loss_fn
        try:
            numpy_vg = symdiff.value_and_grad(loss, wrt=wrt)
            want = numpy_vg(*w.args)
        except symdiff.SymdiffError:
            loss = w.fallback[1]
            numpy_vg = symdiff.value_and_grad(loss, wrt=wrt)
            want = numpy_vg(*w.args)
        try:
            api_vg = symdiff.value_and_grad(loss, wrt=wrt, backend="array_api")
            got = api_vg(*w.args)
        except symdiff.SymdiffError as exc:
            print(f"| {w.name} | | refused: {str(exc)[:80]} | | | |")
            continue
        if not _agree(got, want):
            print(f"| {w.name} | | DISAGREES with the NumPy backend | | | |")
            continue
        budget = 0.02 if w.big else 0.01
        t_numpy, t_api = time_side_by_side([numpy_vg, api_vg], [w.args, w.args], args.rounds, budget)
        t_strict = None
        if strict is not None and not w.big:
            strict_args = [strict.asarray(a) if isinstance(a, np.ndarray) else a for a in w.args]
            t_strict = time_side_by_side([api_vg], [strict_args], 3, budget)[0]
        ratio = t_api / t_numpy
        print(f"| {w.name} | {t_numpy * 1e6:.1f} | {t_api * 1e6:.1f} | {ratio:.2f}x | "
              f"{'PASS' if ratio <= TARGET else 'MISS'} | {'-' if t_strict is None else f'{t_strict * 1e6:.1f}'} |")


if __name__ == "__main__":
    main()
