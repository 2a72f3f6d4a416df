"""How compile time grows with program size: straight-line programs and a while loop on a traced value.

Run from the repository root::

    python benchmarks/compile_scaling.py [--sizes 100,300,1000] [--budget 60] [--rows chain,sum,sin,while]
        [--profile] [--write]

Each measurement runs in a fresh Python process (NumPy, SymPy and symdiff imported before the clock
starts, ``SYMDIFF_CACHE_DIR`` a fresh empty directory) and times ``symdiff.value_and_grad(f)`` plus its
first call, which traces, differentiates, simplifies, prints, compiles and imports the module. The
programs are written out as straight-line source files (one statement per operation, as a person would
write them, so no loop of the frontend is involved):

- ``chain``: N mixed elementwise operations on one array (sin, *, +, tanh, exp, -, cos, /);
- ``sum``: a sum of N terms ``s = s + np.sin(x * c_i)``;
- ``sin``: N chained ``np.sin``;
- ``while``: a fixed-point iteration ``while np.max(np.abs(x_new - x)) > tol:`` with N iterations (the
  sizes of this row are iteration counts; the loop rolls, so the module is the same for every N).

A size is skipped (printed as such) once the previous size of its row took longer than the time budget
divided by the growth in size, or failed. Each row ends with a least-squares fit of the growth exponent
(time ~ N**k) over its measured sizes of at least 100 ms. Every compiled gradient is checked against
central differences along a random direction before its time is reported. ``--write`` also puts the
report in its own section of ``benchmarks/RESULTS.md`` (between the markers below, replacing the last one).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- compile-scaling: begin -->", "<!-- compile-scaling: end -->"
SIZES = (100, 300, 1000, 3000, 10000, 20000)
WHILE_SIZES = (10, 20, 30, 50, 100, 200)
TARGETS = {"chain": 20.0, "sum": 20.0, "sin": None, "while": 5.0}  # seconds at the target size
TARGET_SIZE = {"chain": 20000, "sum": 10000, "while": 50}

# ---------------------------------------------------------------- the programs ---------------------

CHAIN_STEPS = ("y = np.sin(y)", "y = y * 0.9", "y = y + x", "y = np.tanh(y)", "y = np.exp(y * 0.5)",
               "y = y - x", "y = np.cos(y)", "y = y / 1.5")


def chain_source(n: int) -> str:
    body = [CHAIN_STEPS[i % len(CHAIN_STEPS)] for i in range(n)]
    return _function("f", body, "np.sum(y)", "y = x")


def sum_source(n: int) -> str:
    body = [f"s = s + np.sin(x * {1 + i / n!r})" for i in range(n)]
    return _function("f", body, "np.sum(s)", "s = 0.0 * x")


def sin_source(n: int) -> str:
    return _function("f", ["y = np.sin(y)"] * n, "np.sum(y)", "y = x")


def while_source(n: int) -> str:
    """x <- 0.9 x + 0.05 cos(x) + a/10 until the step is below tol; tol is chosen (by running the plain
    iteration on the benchmark's input) so that exactly ``n`` iterations run."""
    return textwrap.dedent(f"""\
        import numpy as np

        def step(x, a):
            return 0.9 * x + 0.05 * np.cos(x) + 0.1 * a

        def tolerance(a, n):
            x = a
            diffs = []
            for _ in range(n + 1):
                x_new = step(x, a)
                diffs.append(float(np.max(np.abs(x_new - x))))
                x = x_new
            return (diffs[n - 1] * diffs[n]) ** 0.5

        TOL = tolerance(np.linspace(0.5, 1.5, 16), {n})

        def f(a):
            x = a
            x_new = step(x, a)
            while np.max(np.abs(x_new - x)) > TOL:
                x = x_new
                x_new = step(x, a)
            return np.sum(x_new * x_new)
        """)


def _function(name: str, body: list[str], result: str, first: str) -> str:
    lines = ["import numpy as np", "", "", f"def {name}(x):", f"    {first}"]
    lines += [f"    {line}" for line in body] + [f"    return {result}", ""]
    return "\n".join(lines)


PROGRAMS = {"chain": chain_source, "sum": sum_source, "sin": sin_source, "while": while_source}
TITLES = {"chain": "chain of N mixed elementwise ops", "sum": "sum of N terms s + sin(x * c_i)",
          "sin": "N chained np.sin", "while": "fixed-point while loop, N iterations"}

# ---------------------------------------------------------------- one measurement (child) ---------

CHILD = r"""
import importlib.util, json, sys, time
sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
sys.path.insert(0, sys.argv[1])
import numpy as np, sympy, symdiff
spec = importlib.util.spec_from_file_location("scaling_program", sys.argv[2])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
x = np.linspace(0.5, 1.5, 16)
profile = sys.argv[3] == "1"
if profile:  # CPU seconds of each pipeline stage and of each rewrite pass (a pass's time is inside "rewrite")
    from symdiff.runtime.progress import Listener, listening
    from symdiff.rewrite import simplify

    class CpuListener(Listener):
        def enter(self, name):
            self.__dict__.setdefault("begun", []).append(time.process_time())

        def leave(self, name, seconds):
            super().leave(name, time.process_time() - self.begun.pop())

    listener = CpuListener()

    def timed(p):
        def run(outputs):
            begin = time.process_time()
            try:
                return p(outputs)
            finally:
                key = "pass " + p.__name__
                listener.times[key] = listener.times.get(key, 0.0) + time.process_time() - begin
        run.__name__ = p.__name__
        return run
    for passes in (simplify.PASSES, simplify.FORWARD_PASSES):
        passes[:] = [timed(p) for p in passes]
start, cpu = time.perf_counter(), time.process_time()
vg = symdiff.value_and_grad(mod.f)
if profile:
    with listening(listener):
        value, grad = vg(x)
else:
    value, grad = vg(x)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
rng = np.random.default_rng(0)
d = rng.standard_normal(x.shape)
eps = 1e-6
fd = (mod.f(x + eps * d) - mod.f(x - eps * d)) / (2 * eps)
err = abs(fd - float(np.dot(grad, d))) / max(1.0, abs(fd))
ok = bool(np.isclose(value, mod.f(x), rtol=1e-9, atol=1e-12) and err < 1e-5)
stages = {k: round(v, 3) for k, v in listener.times.items()} if profile else {}
print(json.dumps({"seconds": seconds, "cpu": cpu, "lines": len(vg.source.splitlines()), "ok": ok, "err": float(err),
                  "stages": stages}))
"""


def measure(row: str, n: int, timeout: float, profile: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / f"scaling_{row}_{n}.py"
        program.write_text(PROGRAMS[row](n))
        env = dict(os.environ, SYMDIFF_CACHE_DIR=str(Path(tmp) / "cache"), PYTHONPATH=str(REPO_ROOT),
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        try:
            done = subprocess.run([sys.executable, "-c", CHILD, str(REPO_ROOT), str(program), "1" if profile else "0"],
                                  env=env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(time) against log(N)."""
    points = [(n, s) for n, s in points if s >= 0.1]
    if len(points) < 2:
        return None
    xs, ys = [math.log(n) for n, _ in points], [math.log(s) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated N of the straight-line rows (default %(default)s)",
                        default=",".join(map(str, SIZES)))
    parser.add_argument("--while-sizes", default=",".join(map(str, WHILE_SIZES)),
                        help="comma-separated iteration counts of the while row (default %(default)s)")
    parser.add_argument("--rows", default="chain,sum,sin,while", help="rows to run (default %(default)s)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per measurement (default 60)")
    parser.add_argument("--profile", action="store_true",
                        help="also print the CPU seconds of each pipeline stage and rewrite pass per measurement")
    parser.add_argument("--write", action="store_true", help="also write the report to benchmarks/RESULTS.md")
    args = parser.parse_args()
    report: list[str] = []

    def out(line: str = "") -> None:
        print(line, flush=True)
        report.append(line)
    out(f"Command: `{' '.join(['python', 'benchmarks/compile_scaling.py', *sys.argv[1:]])}`")
    out(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start, "
        f"budget {args.budget:.0f} s per measurement")
    out()
    out("| program | N | compile s | CPU s | ms per N | lines | gradient check |")
    out("|---|---:|---:|---:|---:|---:|---|")
    summary = []
    profiles: list[str] = []  # CPU seconds per stage (--profile)
    for row in args.rows.split(","):
        sizes = [int(s) for s in (args.while_sizes if row == "while" else args.sizes).split(",")]
        points: list[tuple[int, float]] = []
        previous: tuple[int, float] | None = None
        stop = None
        for n in sizes:
            if stop is None and previous is not None and previous[1] * n / previous[0] > args.budget:
                stop = f"skipped (projected over {args.budget:.0f} s)"
            if stop is not None:
                out(f"| {TITLES[row]} | {n} | {stop} | | | | |")
                continue
            result = measure(row, n, args.budget, args.profile)
            if "error" in result:
                out(f"| {TITLES[row]} | {n} | failed: {result['error']} | | | | |")
                stop = "skipped (a smaller N failed)"
                continue
            s = result["seconds"]
            check = "ok" if result["ok"] else f"WRONG (error {result['err']:.1e})"
            out(f"| {TITLES[row]} | {n} | {s:.2f} | {result['cpu']:.2f} | {1e3 * s / n:.2f} | {result['lines']} "
                f"| {check} |")
            shown = [f"{k} {v:.2f}" for k, v in sorted(result.get("stages", {}).items(), key=lambda kv: -kv[1])
                     if v >= 0.05]
            if shown:
                profiles.append(f"- {row} {n}: " + ", ".join(shown))
            points.append((n, s))
            previous = (n, s)
        k = exponent(points)
        target = TARGET_SIZE.get(row)
        at = dict(points).get(target) if target else None
        verdict = "" if not target else (f"; {target}: {'not measured' if at is None else f'{at:.1f} s'}"
                                         f" (target < {TARGETS[row]:.0f} s)")
        summary.append(f"- {TITLES[row]}: growth exponent "
                       f"{'n/a' if k is None else f'{k:.2f}'} (target <= 1.1){verdict}")
    out()
    for line in summary:
        out(line)
    if profiles:
        out()
        out("CPU seconds per stage (stages trace, differentiate, rewrite, print; each rewrite pass, inside rewrite, "
            "as `pass NAME`; at least 0.05 s):")
        out()
        for line in profiles:
            out(line)
    if args.write:
        write_section(report)


def write_section(report: list[str]) -> None:
    """The report as the compile-scaling section of RESULTS.md (the rest of the file kept)."""
    text = RESULTS_PATH.read_text(encoding="utf-8") if RESULTS_PATH.exists() else "# symdiff benchmark results\n"
    section = "\n".join([BEGIN, "## Compile time against program size", "",
                         "Written by `benchmarks/compile_scaling.py --write`; rerun it to refresh.", "",
                         *report, END])
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS_PATH.write_text(text, encoding="utf-8")
    print(f"\nWrote {RESULTS_PATH.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
