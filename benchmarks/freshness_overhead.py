"""Cost of the per-call freshness check (symdiff/freshness.py) on the fast path, in one run.

    PYTHONPATH=. python benchmarks/freshness_overhead.py

Times, in alternating batches (minimum over 300 batches of 2000 calls), the fast-path guard of a
four-array call without the check (as before the check existed) and with it, the check alone, the
whole ``g(*a)`` call and the generated function alone, on 5-element arrays; then the check of a
bound method whose object holds an array.
"""
import timeit

import numpy as np

import symdiff
from symdiff.runtime.fastpath import exact_key, guarded

LAM = 0.1


def f(w, x, y, b):
    return LAM * np.sum((w * x - y) ** 2) + np.sum(b)


class Model:
    def __init__(self, w):
        self.w = w
        self.scale = 1.0

    def loss(self, x):
        return self.scale * np.sum(self.w * x ** 2)


def main() -> None:
    g = symdiff.grad(f)
    a = tuple(np.arange(5.0) + i for i in range(4))
    g(*a), g(*a)
    key = exact_key(a)
    func = g._fast[key][1]
    nothing = lambda *args: None  # noqa: E731 - the guard's own cost
    plain, checked = guarded(key, nothing), guarded(key, nothing, g._reads.check)
    print("values checked:", [item[0] for item in g._reads.items])
    env = {"plain": plain, "checked": checked, "fresh": g._reads.fresh, "g": g, "func": func, "a": a}
    rows = {"guard without the check": "plain(*a)", "guard with the check": "checked(*a)", "check alone": "fresh()",
            "g(*a)": "g(*a)", "generated function alone": "func(*a)"}
    times: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(300):
        for name, stmt in rows.items():
            times[name].append(timeit.timeit(stmt, number=2000, globals=env))
    for name, t in times.items():
        print(f"{name:26s} {min(t) / 2000 * 1e9:7.0f} ns")
    m = Model(np.arange(5.0))
    gm = symdiff.grad(m.loss)
    gm(np.ones(5))
    t = min(timeit.repeat("fresh()", number=2000, repeat=100, globals={"fresh": gm._reads.fresh})) / 2000 * 1e9
    print(f"bound method, {len(gm._reads.items)} values checked (self.w an array): check alone {t:.0f} ns")


if __name__ == "__main__":
    main()
