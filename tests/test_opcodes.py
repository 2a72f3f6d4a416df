"""The bytecode reader (symdiff/runtime/opcodes.py) answers what ``dis`` answers, on the Python running."""
import dis
import textwrap
import types

import numpy as np
import pytest

from symdiff.runtime import opcodes
from symdiff.trace.loop_source import _may_loop

SCALE = 2.0


def _samples():
    k = 3

    def closure(x):
        return np.linalg.norm(x) * k + SCALE

    def loops(x):
        for i in range(3):
            x = x + i
        while x.sum() > 1:
            x = x / 2
        return [v * 2 for v in x]

    def straight(x):
        y = np.sin(x)
        return np.sum(y * np.cos(y))

    class Holder:
        def method(self, x):
            return np.exp(x) + self.scale * np.random.default_rng(0).normal()

    many = "\n".join(f"    v{i} = np.sin(x) + g{i}.a.b" for i in range(300))  # (EXTENDED_ARG: over 256 names)
    env: dict = {"np": np}
    exec(f"def big(x):\n{many}\n    return x\n", env)  # noqa: S102 - a test's own code
    return [closure, loops, straight, Holder.method, env["big"], textwrap.dedent, _samples]


def _codes(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _codes(c)


@pytest.mark.parametrize("fn", _samples(), ids=lambda f: f.__name__)
def test_name_loads_as_dis_reads_them(fn):
    for code in _codes(fn.__code__):
        assert opcodes.name_loads(code) == opcodes.dis_name_loads(code)


def test_name_loads_follow_attribute_chains():
    code = _samples()[0].__code__
    loads = {(name, attrs) for _, name, attrs in opcodes.name_loads(code)}
    assert ("np", ("linalg", "norm")) in loads and ("SCALE", ()) in loads and ("k", ()) in loads
    big = _samples()[4].__code__
    assert ("g299", ("a", "b")) in {(n, a) for _, n, a in opcodes.name_loads(big)}


@pytest.mark.parametrize("fn", _samples(), ids=lambda f: f.__name__)
def test_may_loop_as_dis_reads_it(fn):
    def by_dis(code):
        return any(i.opname in opcodes.LOOP_OPS or "BACKWARD" in i.opname
                   or ("JUMP" in i.opname and isinstance(i.argval, int) and i.argval <= i.offset)
                   for i in dis.get_instructions(code))
    for code in _codes(fn.__code__):
        assert opcodes.may_loop(code) == by_dis(code)


def test_loops_found_and_straight_code_not():
    closure, loops, straight = _samples()[:3]
    assert _may_loop(loops.__code__) and not _may_loop(straight.__code__) and not _may_loop(closure.__code__)
