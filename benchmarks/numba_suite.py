"""The numba backend on every workload of benchmarks/bench.py, beside the NumPy backend, jax.jit and torch.

Run from the repository root::

    python benchmarks/numba_suite.py [--threads 1|all] [--quick] [--write] [--only NAME] [--dump DIR]

For seed, logistic regression, the MLP, Rosenbrock, Lennard-Jones and softmax regression, at
bench.py's sizes, it builds ``symdiff.value_and_grad`` with ``backend="numpy"`` and
``backend="numba"`` (and ``"numba-parallel"`` with ``--threads all``), each cold (an empty
``SYMDIFF_CACHE_DIR``, SymPy's memo cleared: trace, differentiate, print, import, numba's compile),
checks every backend's value and gradients against the NumPy backend's to 1e-12 relative (the
largest difference over the largest magnitude, per output), and jax.jit's and torch eager's (forward
and ``torch.autograd.grad``, when installed: bench.py's columns) to 1e-7 (they sum in another order),
then times all of them side by side in alternating batches (the median per call).

``--threads 1`` (the default) pins BLAS, OpenMP, numba and XLA to one thread before anything is
imported; ``--threads all`` leaves every library at its default (all cores). ``--write`` replaces
this run's section of benchmarks/BACKENDS.md.
"""
from __future__ import annotations

import os
import sys

THREADS = "all" if "all" in [a.split("=")[-1] for a in sys.argv if a.startswith("--threads")] + \
    [b for a, b in zip(sys.argv, sys.argv[1:]) if a == "--threads"] else "1"
PINNED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
          "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
if THREADS == "1":
    os.environ.update(dict.fromkeys(PINNED, "1"))
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1").strip()

import argparse  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checked-out package
sys.path.insert(0, str(HERE))
_saved = dict(os.environ)
import bench  # noqa: E402  (it pins threads at import: undone below for --threads all)

os.environ.clear()
os.environ.update(_saved)

RESULTS_PATH = HERE / "BACKENDS.md"
BACKEND_RTOL = 1e-12  # every symdiff backend against backend="numpy"
FRAMEWORK_RTOL = 1e-7  # jax.jit and torch against backend="numpy" (they sum in another order)


def suite(rng: np.random.Generator, quick: bool) -> list[bench.Workload]:
    if quick:
        return [bench.seed_workload(rng, 5, 3), bench.logreg_workload(rng, 1000), bench.mlp_workload(rng, 32),
                bench.rosenbrock_workload(rng, 10_000), bench.lj_workload(rng, 64), bench.softmax_workload(rng)]
    return [bench.seed_workload(rng, 5, 3), bench.seed_workload(rng, 784, 10),
            bench.logreg_workload(rng, 1000), bench.logreg_workload(rng, 100_000),
            bench.mlp_workload(rng, 32), bench.mlp_workload(rng, 1024),
            bench.rosenbrock_workload(rng, 10), bench.rosenbrock_workload(rng, 1_000_000),
            bench.lj_workload(rng, 64), bench.lj_workload(rng, 512), bench.softmax_workload(rng)]


def outputs(result: Any) -> list[np.ndarray]:
    value, grads = result
    return [np.asarray(value, dtype=float)] + [np.asarray(g, dtype=float) for g in bench.as_grad_tuple(grads)]


def relative_error(got: Any, want: Any) -> float:
    errors = []
    for a, b in zip(outputs(got), outputs(want), strict=True):
        if a.shape != b.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
        errors.append(float(np.max(np.abs(a - b), initial=0.0)) / scale)
    return max(errors)


def cold(backend: str, w: bench.Workload, root: Path) -> tuple[Callable[[], Any], float, Any]:
    """``value_and_grad`` built and called once in an empty cache folder: (the call, seconds, loss used)."""
    import symdiff
    errors = []
    for loss in [w.loss_fn] + ([w.fallback[1]] if w.fallback else []):
        os.environ["SYMDIFF_CACHE_DIR"] = tempfile.mkdtemp(dir=root)
        bench.clear_sympy_cache()
        start = time.perf_counter()
        try:
            vg = symdiff.value_and_grad(loss, wrt=w.wrt, backend=backend)
            vg(*w.args)
        except Exception as exc:  # the fallback form, as bench.py tries it
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        return (lambda vg=vg: vg(*w.args)), time.perf_counter() - start, vg
    raise RuntimeError(f"{w.name}, backend={backend!r}: " + "; ".join(errors))


def time_side_by_side(fns: list[Callable[[], Any]], repeat: int, budget: float) -> list[float]:
    """Median seconds per call over ``repeat`` batches that alternate between the fns."""
    counts = []
    for fn in fns:
        fn()
        start = time.perf_counter()
        fn()
        counts.append(max(1, int(budget / max(time.perf_counter() - start, 1e-7))))
    samples: list[list[float]] = [[] for _ in fns]
    for r in range(repeat):
        for k in (range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))):
            start = time.perf_counter()
            for _ in range(counts[k]):
                fns[k]()
            samples[k].append((time.perf_counter() - start) / counts[k])
    return [statistics.median(s) for s in samples]


def row(w: bench.Workload, backends: list[str], frameworks: list, root: Path, opts) -> tuple[list[str], list[str]]:
    """The table cells of one workload (time per call, the ratios to jax.jit, first-call seconds) and its
    notes."""
    calls, firsts, notes = {}, {}, []
    for backend in backends:
        calls[backend], firsts[backend], vg = cold(backend, w, root)
        if opts.dump:
            slug = re.sub(r"\W+", "_", f"{w.name}_{backend}").strip("_")
            (opts.dump / f"{slug}.py").write_text(vg.source, encoding="utf-8")
    want = calls["numpy"]()
    for backend in backends[1:]:
        err = relative_error(calls[backend](), want)
        if not err <= BACKEND_RTOL:
            raise SystemExit(f"{w.name}: backend={backend!r} differs from backend='numpy' by {err:.1e} (relative)")
    for fw in frameworks:
        start = time.perf_counter()
        try:
            call = fw.make(w.loss_fn, w.args, bench.wrt_indices(w.loss_fn, w.wrt))
            got = call()
        except Exception as exc:  # a dash in its column, the reason in a note
            notes.append(f"{w.name}: {bench.FRAMEWORK_TITLES[fw.key]} failed: {type(exc).__name__}: {exc}"[:300])
            continue
        firsts[fw.key] = time.perf_counter() - start
        err = relative_error(got, want)
        if not err <= FRAMEWORK_RTOL:
            notes.append(f"{w.name}: {bench.FRAMEWORK_TITLES[fw.key]} differs from backend='numpy' by {err:.1e}")
        calls[fw.key] = call
    repeat = opts.repeat_big if w.big else opts.repeat
    times = dict(zip(calls, time_side_by_side(list(calls.values()), repeat, opts.budget)))
    ref = times.get("jax")
    keys = backends + [fw.key for fw in frameworks]
    cells = [f"{times[k] * 1e6:,.1f}" if k in times else "-" for k in keys]
    cells += [f"{times[k] / ref:.2f}" if ref else "-" for k in backends[1:]]
    cells += [f"{firsts[k]:.2f}" if k in firsts else "-" for k in keys]
    return cells, notes


def load_frameworks(threads: str) -> tuple[list, list[str]]:
    """jax.jit and torch eager when importable (bench.py's columns), at one thread or their defaults."""
    frameworks, notes = [], []
    for key, load in (("jax", bench.jax_framework), ("torch", bench.torch_framework)):
        try:
            fw = load()
        except ImportError:
            notes.append(f"{bench.FRAMEWORK_TITLES[key]}: not installed, no column")
            continue
        if key == "torch" and threads == "all":
            import torch
            torch.set_num_threads(os.cpu_count() or 1)  # (bench.py pins it to one)
        frameworks.append(fw)
    return frameworks, notes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", choices=("1", "all"), default="1")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer batches (a smoke test)")
    parser.add_argument("--write", action="store_true", help=f"also write the table into {RESULTS_PATH.name}")
    parser.add_argument("--only", default="", help="only the workloads whose name contains this text")
    parser.add_argument("--dump", type=Path, default=None, help="write each generated module into this folder")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--repeat-big", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.04, help="seconds per batch")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.repeat, opts.repeat_big = 3, 3
    if opts.dump:
        opts.dump.mkdir(parents=True, exist_ok=True)
    import numba
    frameworks, notes = load_frameworks(THREADS)
    backends = ["numpy", "numba"] + (["numba-parallel"] if THREADS == "all" else [])
    columns = [f"backend={b!r}" for b in backends] + [bench.FRAMEWORK_TITLES[fw.key] for fw in frameworks]
    threads = "one thread" if THREADS == "1" else f"default threads (numba {numba.config.NUMBA_NUM_THREADS})"
    lines = [f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, NumPy {np.__version__}, numba {numba.__version__}"
             + "".join(f", {fw.key} {fw.version}" for fw in frameworks) + f"; {threads}; load average before the "
             "run " + "{:.1f}, {:.1f}, {:.1f}".format(*os.getloadavg()), "",
             f"command: `python benchmarks/numba_suite.py --threads {THREADS}{' --quick' if opts.quick else ''}`",
             "", "us per call (median of alternating batches); / jax: the ratio to jax.jit; first call in seconds "
             "(cold: an empty cache folder; symdiff: trace, differentiate, print, import, numba compile; jax: trace "
             "and XLA compile; torch: the first forward and backward)",
             "", "| workload | " + " | ".join(columns) + " | " + " | ".join(f"{b} / jax" for b in backends[1:])
             + " | " + " | ".join(f"first call {c}" for c in columns) + " |",
             "|---|" + "---:|" * (len(columns) * 2 + len(backends) - 1)]
    with tempfile.TemporaryDirectory() as root:
        for w in suite(np.random.default_rng(0), opts.quick):
            if opts.only not in w.name:
                continue
            cells, more = row(w, backends, frameworks, Path(root), opts)
            notes += more
            lines.append(f"| {w.name} | " + " | ".join(cells) + " |")
            print(lines[-1], file=sys.stderr, flush=True)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((32, 784)), rng.standard_normal((784, 128))
    blas = time_side_by_side([lambda: a @ b], opts.repeat, opts.budget)[0]
    notes.append(f"NumPy's matrix product alone, (32, 784) @ (784, 128) (the MLP's first layer at N=32), "
                 f"in this process: {blas * 1e6:,.1f} us per call")
    lines += [""] + [f"- {n}" for n in notes] + [""]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if opts.write:
        from backends import write_section
        threads = "one thread" if THREADS == "1" else "default threads"
        write_section(RESULTS_PATH, f"## Every workload of bench.py, {threads}", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
