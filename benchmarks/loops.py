"""Rolled loops: compile time, module size and run time against the trip count.

Run from the repository root::

    python benchmarks/loops.py [--quick] [--dump rnn|rk4 [--backend numba]]

Workloads:

1. a tanh RNN, ``h = np.tanh(W @ h + U @ x[t] + b)`` with a loss on every ``h``, gradient with respect to
   ``W, U, b`` over T steps (the bound ``x.shape[0]`` is read at run time), against a hand-written NumPy
   BPTT and, when JAX is installed, ``jax.jit(jax.value_and_grad)`` of a ``lax.scan``;
2. the same RNN with T a static argument (``range(T)``: the trip count is a constant of the code);
3. RK4 of the Lorenz system, gradient of the final state's squared norm with respect to the initial
   state and the parameters (sigma, rho, beta), against a hand-written NumPy adjoint loop (the
   trajectory stored, each step's stages computed again backwards; checked against autograd), autograd
   (one call) and JAX (timed).
4. a fixed-point iteration ``while np.max(np.abs(x_new - x)) > tol:`` (x <- 0.9 x + 0.05 cos(x) + a / 10,
   64 elements) of N
   iterations, the tolerance chosen so that exactly N run, rolled (the trip count read at run time) and
   unrolled (the trace follows the values), against autograd (checked and timed).

Each table has a ``numba`` column: the same function on ``backend="numba"`` (each rolled loop one
``numba.njit`` function; its gradient checked against the NumPy backend's to 1e-12), its median time in
the same alternating batches and its cold compile time, numba's first compile included.

For each T: the cold compile time (a fresh cache folder and a new transform: trace, differentiate,
simplify, print, import; the first call's time less a second call's), the generated module's lines,
and the median time of one value-and-gradient call (batches alternating between the implementations).
Every gradient is checked against the hand-written one (or autograd's) before it is timed.
``unrolled`` rows (T <= 100) show what the same function costs when the loop is unrolled, as before
loops were rolled.

4. ``checkpoint=``: the RNN at T = 10^5 (``--checkpoint`` runs only this table), its gradient without
   checkpointing and with ``checkpoint=100``, ``"sqrt"`` (316) and ``1000``: the peak memory of one call
   (``tracemalloc``, NumPy's arrays included; the input ``x`` is not), the median time of a call, and
   the gradient's largest difference from the plain one.
"""
from __future__ import annotations

import os

os.environ.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import symdiff  # noqa: E402
import symdiff.trace.run as trace_run  # noqa: E402


def rnn(W, U, b, x, h0):
    h = h0
    loss = 0.0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t] + b)
        loss = loss + np.sum(h ** 2)
    return loss


def rnn_static(W, U, b, x, h0, T):
    h = h0
    loss = 0.0
    for t in range(T):
        h = np.tanh(W @ h + U @ x[t] + b)
        loss = loss + np.sum(h ** 2)
    return loss


def bptt(W, U, b, x, h0):
    """Hand-written value and gradient (W, U, b) of ``rnn``: store every h, then walk back."""
    T, n = x.shape[0], h0.shape[0]
    hs = np.empty((T + 1, n))
    hs[0] = h = h0
    loss = 0.0
    for t in range(T):
        h = np.tanh(W @ h + U @ x[t] + b)
        hs[t + 1] = h
        loss += h @ h
    dW, dU, db, dh = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b), np.zeros(n)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        dz = (dh + 2 * h) * (1 - h * h)
        dW += np.outer(dz, hs[t])
        dU += np.outer(dz, x[t])
        db += dz
        dh = W.T @ dz
    return loss, (dW, dU, db)


def lorenz(y, p):
    return np.array([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1], y[0] * y[1] - p[2] * y[2]])


def rk4(y0, p, steps):
    y = y0
    dt = 0.001
    for _ in range(steps):
        k1 = lorenz(y, p)
        k2 = lorenz(y + 0.5 * dt * k1, p)
        k3 = lorenz(y + 0.5 * dt * k2, p)
        k4 = lorenz(y + dt * k3, p)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum(y ** 2)


def lorenz_vjp(y, p, v):
    """``v`` times the Jacobians of ``lorenz`` at ``y``: with respect to ``y`` and to ``p``."""
    dy = np.array([-p[0] * v[0] + (p[1] - y[2]) * v[1] + y[1] * v[2], p[0] * v[0] - v[1] + y[0] * v[2],
                   -y[0] * v[1] - p[2] * v[2]])
    return dy, np.array([(y[1] - y[0]) * v[0], y[0] * v[1], -y[2] * v[2]])


def rk4_adjoint(y0, p, steps):
    """Hand-written value and gradient (y0, p) of ``rk4``: store the trajectory, then walk back through
    each step's stages (computed again from the stored state)."""
    dt = 0.001
    ys = np.empty((steps + 1, 3))
    ys[0] = y = y0
    for i in range(steps):
        k1 = lorenz(y, p)
        k2 = lorenz(y + 0.5 * dt * k1, p)
        k3 = lorenz(y + 0.5 * dt * k2, p)
        k4 = lorenz(y + dt * k3, p)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ys[i + 1] = y
    value, gy, gp = y @ y, 2 * y, np.zeros(3)
    for i in range(steps - 1, -1, -1):
        y = ys[i]
        k1 = lorenz(y, p)
        y2 = y + 0.5 * dt * k1
        k2 = lorenz(y2, p)
        y3 = y + 0.5 * dt * k2
        k3 = lorenz(y3, p)
        y4 = y + dt * k3
        a4, b4 = lorenz_vjp(y4, p, dt / 6 * gy)
        a3, b3 = lorenz_vjp(y3, p, dt / 3 * gy + dt * a4)
        a2, b2 = lorenz_vjp(y2, p, dt / 3 * gy + 0.5 * dt * a3)
        a1, b1 = lorenz_vjp(y, p, dt / 6 * gy + 0.5 * dt * a2)
        gy = gy + a1 + a2 + a3 + a4
        gp += b1 + b2 + b3 + b4
    return value, (gy, gp)


@contextlib.contextmanager
def unrolled():
    """Tracing as before loops were rolled (every iteration traced)."""
    saved = trace_run.rolling
    trace_run.rolling = lambda fn, tr: contextlib.nullcontext()
    try:
        yield
    finally:
        trace_run.rolling = saved


def compile_cold(fn, wrt, args, backend="numpy"):
    """A new transform compiled into an empty cache: seconds of the first call less those of the next
    (``backend="numba"``: numba's first compile of the kernels included)."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SYMDIFF_CACHE_DIR"] = cache
        start = time.perf_counter()
        f = symdiff.value_and_grad(fn, wrt=wrt, backend=backend)
        f(*args)
        first = time.perf_counter() - start
        start = time.perf_counter()
        f(*args)
        seconds = first - (time.perf_counter() - start)
    return f, seconds


def warm_up():
    """SymPy's and NumPy's first-use costs, paid before anything is timed."""
    compile_cold(rnn, (0,), (np.eye(2), np.ones((2, 1)), np.ones(2), np.ones((3, 1)), np.ones(2)))


def median_time(fns, args, repeats):
    """Median seconds per call of each function, in alternating batches."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn(*args)
            times[k].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def jax_rnn():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def loss(W, U, b, x, h0):
        def step(carry, xt):
            h, total = carry
            h = jnp.tanh(W @ h + U @ xt + b)
            return (h, total + jnp.sum(h ** 2)), None
        (_, total), _ = jax.lax.scan(step, (h0, 0.0), x)
        return total
    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))


def jax_rk4(steps):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def f(y, p):
        return jnp.array([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1], y[0] * y[1] - p[2] * y[2]])

    def loss(y0, p):
        dt = 0.001

        def step(y, _):
            k1 = f(y, p)
            k2 = f(y + 0.5 * dt * k1, p)
            k3 = f(y + 0.5 * dt * k2, p)
            k4 = f(y + dt * k3, p)
            return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None
        y, _ = jax.lax.scan(step, y0, None, length=steps)
        return jnp.sum(y ** 2)
    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def numba_compiled(fn, wrt, args, value, grads, row):
    """The numba backend's transform of ``fn`` (None without numba): its cold compile time in
    ``row["numba_compile"]``, its gradient checked against the NumPy backend's (``grads``) to 1e-12."""
    if not numba_available():
        return None
    f, row["numba_compile"] = compile_cold(fn, wrt, args, backend="numba")
    v, g = f(*args)
    assert np.isclose(v, value, rtol=1e-12) and \
        all(np.allclose(a, b, rtol=1e-12, atol=1e-12 * np.max(np.abs(b))) for a, b in zip(g, grads)), \
        "numba backend's gradient differs from the NumPy backend's"
    return f


def _numba_cells(r, seconds) -> str:
    if "numba_compile" not in r:
        return "- | -"
    return f"{seconds * 1e3:.2f} | {r['numba_compile']:.2f}"


def _ratio(a, b) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}"


def _close(a, b):
    return all(np.allclose(x, y, rtol=1e-8, atol=1e-10) for x, y in zip(a, b))


def rnn_rows(Ts, n, d, repeats, static=False):
    rng = np.random.default_rng(0)
    W, U, b, h0 = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=n), \
        np.zeros(n)
    jf = jax_rnn()
    rows = []
    for T in Ts:
        x = rng.normal(size=(T, d))
        args = (W, U, b, x, h0) + ((T,) if static else ())
        fn = rnn_static if static else rnn
        f, seconds = compile_cold(fn, (0, 1, 2), args)
        value, grads = f(*args)
        ref_value, ref_grads = bptt(W, U, b, x, h0)
        assert np.isclose(value, ref_value) and _close(grads, ref_grads), "gradient differs from hand-written BPTT"
        row = {"T": T, "compile": seconds, "lines": len(f.source.splitlines()),
               "rolled": any(line.lstrip().startswith("for ") for line in f.source.splitlines())}
        timed = [lambda *a: f(*a), lambda *a: bptt(*a[:5])]
        fn_numba = numba_compiled(fn, (0, 1, 2), args, value, grads, row)
        if jf is not None:
            start = time.perf_counter()
            jax_value, jax_grads = jf(W, U, b, x, h0)
            row["jax_compile"] = time.perf_counter() - start
            assert np.isclose(float(jax_value), value) and _close([np.asarray(g) for g in jax_grads], grads)
            timed.append(lambda *a: [g.block_until_ready() for g in jf(*a[:5])[1]])
        if fn_numba is not None:
            timed.append(lambda *a: fn_numba(*a))
        row["times"] = median_time(timed, args, repeats if T < 10000 else max(3, repeats // 10))
        if fn_numba is not None:
            row["numba"] = row["times"].pop()
        rows.append(row)
    return rows


def unrolled_rows(Ts, n, d):
    rng = np.random.default_rng(0)
    W, U, b, h0 = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=n), \
        np.zeros(n)
    rows = []
    for T in Ts:
        x = rng.normal(size=(T, d))
        with unrolled():
            f, seconds = compile_cold(rnn_static, (0, 1, 2), (W, U, b, x, h0, T))
        rows.append({"T": T, "compile": seconds, "lines": len(f.source.splitlines())})
    return rows


def rk4_row(steps, repeats):
    import autograd
    import autograd.numpy as anp
    y0, p = np.array([1.0, 1.0, 1.0]), np.array([10.0, 28.0, 8.0 / 3.0])
    f, seconds = compile_cold(rk4, (0, 1), (y0, p, steps))
    value, grads = f(y0, p, steps)

    def rk4_autograd(y0, p):
        def g(y):
            return anp.array([p[0] * (y[1] - y[0]), y[0] * (p[1] - y[2]) - y[1], y[0] * y[1] - p[2] * y[2]])
        y = y0
        for _ in range(steps):
            k1 = g(y)
            k2 = g(y + 0.5 * 0.001 * k1)
            k3 = g(y + 0.5 * 0.001 * k2)
            k4 = g(y + 0.001 * k3)
            y = y + 0.001 / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return anp.sum(y ** 2)
    expected = autograd.grad(rk4_autograd, argnum=(0, 1))(y0, p)
    assert _close(grads, expected), "RK4 gradient differs from autograd's"
    hand_value, hand_grads = rk4_adjoint(y0, p, steps)
    assert np.isclose(hand_value, value) and _close(hand_grads, expected), "hand-written adjoint differs"
    row = {"T": steps, "compile": seconds, "lines": len(f.source.splitlines())}
    start = time.perf_counter()  # (once: autograd takes seconds)
    autograd.grad(rk4_autograd, argnum=(0, 1))(y0, p)
    autograd_seconds = time.perf_counter() - start
    timed = [lambda: f(y0, p, steps), lambda: rk4_adjoint(y0, p, steps)]
    f_numba = numba_compiled(rk4, (0, 1), (y0, p, steps), value, grads, row)
    jf = jax_rk4(steps)
    if jf is not None:
        start = time.perf_counter()
        jf(y0, p)[0].block_until_ready()
        row["jax_compile"] = time.perf_counter() - start
        timed.append(lambda: jf(y0, p)[0].block_until_ready())
    if f_numba is not None:
        timed.append(lambda: f_numba(y0, p, steps))
    row["times"] = median_time(timed, (), repeats)
    if f_numba is not None:
        row["numba"] = row["times"].pop()
    row["times"].insert(2, autograd_seconds)
    return row


def fixed_point(a, tol):
    x = np.zeros_like(a)
    x_new = 0.9 * x + 0.05 * np.cos(x) + 0.1 * a
    while np.max(np.abs(x_new - x)) > tol:
        x = x_new
        x_new = 0.9 * x + 0.05 * np.cos(x) + 0.1 * a
    return np.sum(x_new ** 2)


def fixed_point_rows(ns, repeats):
    """Rolled and unrolled compile time, module size and call time of the fixed point at N iterations."""
    import autograd
    import autograd.numpy as anp

    def fixed_point_autograd(a, tol):
        x = anp.zeros_like(a)
        x_new = 0.9 * x + 0.05 * anp.cos(x) + 0.1 * a
        while anp.max(anp.abs(x_new - x)) > tol:
            x = x_new
            x_new = 0.9 * x + 0.05 * anp.cos(x) + 0.1 * a
        return anp.sum(x_new ** 2)
    a = np.linspace(0.5, 1.5, 64)
    rows = []
    for n in ns:
        x, steps = np.zeros_like(a), []
        for _ in range(n + 1):  # the steps' sizes, to put tol between the n-th and the next
            x_new = 0.9 * x + 0.05 * np.cos(x) + 0.1 * a
            steps.append(float(np.max(np.abs(x_new - x))))
            x = x_new
        tol = (steps[n - 1] * steps[n]) ** 0.5
        ag = autograd.value_and_grad(fixed_point_autograd)
        f, seconds = compile_cold(fixed_point, (0,), (a, tol))
        value, (g,) = f(a, tol)
        assert _close([g], [ag(a, tol)[1]]), "fixed-point gradient differs from autograd's"
        row = {"N": n, "compile": seconds, "lines": len(f.source.splitlines())}
        f_numba = numba_compiled(fixed_point, (0,), (a, tol), value, (g,), row)
        timed = [lambda: f(a, tol), lambda: ag(a, tol)] + ([lambda: f_numba(a, tol)] if f_numba else [])
        row["times"] = median_time(timed, (), repeats)
        if f_numba is not None:
            row["numba"] = row["times"].pop()
        with unrolled():
            fu, row["unrolled_compile"] = compile_cold(fixed_point, (0,), (a, tol))
        row["unrolled_lines"] = len(fu.source.splitlines())
        rows.append(row)
    return rows


def checkpoint_rows(T, n, d, repeats):
    """Peak memory and time of the RNN's gradient at ``T`` steps, without and with checkpointing."""
    rng = np.random.default_rng(0)
    W, U, b, h0 = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=n), \
        np.zeros(n)
    x = rng.normal(size=(T, d))
    args = (W, U, b, x, h0)
    rows, plain = [], None
    for checkpoint in (None, 100, "sqrt", 1000):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["SYMDIFF_CACHE_DIR"] = cache
            f = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), checkpoint=checkpoint)
            value, grads = f(*args)  # compiled before anything is measured
        plain = grads if plain is None else plain
        tracemalloc.start()
        f(*args)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        (seconds,) = median_time([f], args, repeats)
        rows.append({"checkpoint": checkpoint, "peak": peak, "seconds": seconds,
                     "diff": max(float(np.max(np.abs(g - p))) for g, p in zip(grads, plain))})
    return rows


def print_checkpoint_rows(T, n, d, repeats) -> None:
    print(f"RNN gradient at T = {T}: checkpoint= (peak memory of one call by tracemalloc; x itself is "
          f"{T * d * 8 / 1e6:.1f} MB and not counted)\n")
    print("| checkpoint | peak MB | ms per call | time ratio | max abs diff from plain |")
    print("|---|---|---|---|---|")
    rows = checkpoint_rows(T, n, d, repeats)
    for r in rows:
        k = "none" if r["checkpoint"] is None else (f"sqrt ({int(np.sqrt(T))})" if r["checkpoint"] == "sqrt"
                                                    else str(r["checkpoint"]))
        print(f"| {k} | {r['peak'] / 1e6:.2f} | {r['seconds'] * 1e3:.1f} | {r['seconds'] / rows[0]['seconds']:.2f} "
              f"| {r['diff']:.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--dump", choices=("rnn", "rk4"), help="print the generated module of one workload, then stop")
    parser.add_argument("--checkpoint", action="store_true", help="only the checkpoint= table (T = 10^5)")
    parser.add_argument("--backend", choices=("numpy", "numba"), default="numpy", help="the backend --dump prints")
    opts = parser.parse_args()
    if opts.dump:
        rng = np.random.default_rng(0)
        if opts.dump == "rnn":
            f = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), backend=opts.backend)
            f(rng.normal(size=(32, 32)), rng.normal(size=(32, 16)), rng.normal(size=32), rng.normal(size=(10, 16)),
              np.zeros(32))
        else:
            f = symdiff.value_and_grad(rk4, wrt=(0, 1), backend=opts.backend)
            f(np.ones(3), np.array([10.0, 28.0, 8.0 / 3.0]), 1000)
        print(f.source)
        return
    repeats = 5 if opts.quick else 21
    Ts = [10, 100, 1000, 10000]
    n, d = 32, 16
    print(f"python benchmarks/loops.py{' --quick' if opts.quick else ''}{' --checkpoint' if opts.checkpoint else ''}"
          f"  (numpy {np.__version__}, hidden {n}, input {d}, float64, one thread)\n")
    warm_up()
    if opts.checkpoint:
        print_checkpoint_rows(10 ** 5, n, d, 3)
        return
    print("RNN, h = np.tanh(W @ h + U @ x[t] + b), loss on every h; gradient w.r.t. W, U, b\n")
    print("| T | bound | rolled | compile s | module lines | symdiff ms | BPTT ms | ratio | jax ms "
          "| jax trace+compile s | numba ms | numba compile s | numba / jax |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for static in (False, True):
        for r in rnn_rows(Ts, n, d, repeats, static):
            t = r["times"]
            jax = f"{t[2] * 1e3:.2f} | {r['jax_compile']:.2f}" if len(t) > 2 else "- | -"
            bound = 'range(T), static' if static else 'x.shape[0]'
            print(f"| {r['T']} | {bound} | {'yes' if r['rolled'] else 'no'} | {r['compile']:.2f} | {r['lines']} | "
                  f"{t[0] * 1e3:.2f} | {t[1] * 1e3:.2f} | {t[0] / t[1]:.2f} | {jax} | "
                  f"{_numba_cells(r, r.get('numba', 0))} | {_ratio(r.get('numba'), t[2] if len(t) > 2 else None)} |")
    for r in unrolled_rows([10, 100] if not opts.quick else [10, 30], n, d):
        print(f"| {r['T']} | range(T), unrolled | no | {r['compile']:.2f} | {r['lines']} | - | - | - | - | - "
              "| - | - | - |")
    print("\nRK4 of the Lorenz system; gradient of |y(T)|^2 w.r.t. y0 and (sigma, rho, beta)\n")
    print("| steps | compile s | module lines | symdiff ms | hand adjoint ms | ratio | autograd ms (one call) "
          "| jax ms | jax trace+compile s | numba ms | numba compile s | numba / jax |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    r = rk4_row(1000, max(3, repeats // 3))
    t = r["times"]
    jax = f"{t[3] * 1e3:.2f} | {r['jax_compile']:.2f}" if len(t) > 3 else "- | -"
    print(f"| {r['T']} | {r['compile']:.2f} | {r['lines']} | {t[0] * 1e3:.2f} | {t[1] * 1e3:.2f} | "
          f"{t[0] / t[1]:.2f} | {t[2] * 1e3:.2f} | {jax} | {_numba_cells(r, r.get('numba', 0))} | "
          f"{_ratio(r.get('numba'), t[3] if len(t) > 3 else None)} |")
    print("\nFixed point x <- 0.9 x + 0.05 cos(x) + a / 10 of 64 elements, while np.max(np.abs(x_new - x)) > tol, "
          "N iterations; gradient w.r.t. a\n")
    print("| N | compile s | module lines | symdiff ms | autograd ms | unrolled compile s | unrolled lines "
          "| numba ms | numba compile s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in fixed_point_rows([10, 50] if opts.quick else [10, 50, 200], repeats):
        t = r["times"]
        print(f"| {r['N']} | {r['compile']:.2f} | {r['lines']} | {t[0] * 1e3:.2f} | {t[1] * 1e3:.2f} | "
              f"{r['unrolled_compile']:.2f} | {r['unrolled_lines']} | {_numba_cells(r, r.get('numba', 0))} |")
    print()
    print_checkpoint_rows(10 ** 5, n, d, 3)
    print("\nTargets: compile time flat in T (under 2 s at every T); RNN: symdiff <= jax.jit and <= 1.2x hand-written "
          "BPTT at T=1000; RK4: compile < 2 s, module under 200 lines, symdiff <= 1.2x the hand-written adjoint; "
          "checkpoint='sqrt' stores O(sqrt(T)) states; numba backend <= jax.jit at T=1000 and 10000 (RNN) and for RK4.")


if __name__ == "__main__":
    main()
