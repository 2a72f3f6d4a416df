"""``checkpoint=`` of grad, value_and_grad, vjp, export and the CLI: a rolled loop's gradient stores its
state every k steps and recomputes each segment before walking it back. The gradient is the one without
checkpointing (to 1e-12) and autograd's; the arrays the generated code stores are measured while it runs."""
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff import cli
from symdiff.errors import TraceError
from test_loops import (_rnn_args, pendulum, rnn, rnn_autograd, smoothing, smoothing_autograd, swap, swap_autograd,
                        two_loops)

autograd = pytest.importorskip("autograd")

HERE = Path(__file__).resolve().parent


def _same(a, b, tol=1e-12):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


def _locals_at_return(fn, *args):
    """Run ``fn`` (a generated function) and return its local variables as they are when it returns."""
    seen = {}

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is fn.__code__:
            seen.update(frame.f_locals)
    sys.setprofile(profile)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(None)
    return result, seen


CASES = [
    ("rnn", rnn, lambda rng, T: _rnn_args(rng, T), (0, 1, 2, 3, 4)),
    ("smoothing", smoothing, lambda rng, T: [0.7, rng.normal(size=T + 1)], (0, 1)),  # range(1, n): start 1
    ("swap", swap, lambda rng, T: [0.3, rng.normal(size=T) * 0.3], (0, 1)),  # two carried values, rebound
    ("two_loops", two_loops, lambda rng, T: [0.8, rng.normal(size=T)], (0, 1)),  # two loops, each checkpointed
    ("pendulum", pendulum, lambda rng, T: [np.array([0.3, -0.2]), 1.7, T], (0, 1)),  # a static trip count
]


@pytest.mark.parametrize("case", [c[0] for c in CASES])
@pytest.mark.parametrize("checkpoint", [1, 3, 7, "sqrt"])
def test_same_gradient_as_without_checkpointing(case, checkpoint):
    _, f, make, wrt = next(c for c in CASES if c[0] == case)
    for T in (2, 5, 21):  # fewer steps than a segment, a last segment shorter than the others
        args = make(np.random.default_rng(T), T)
        plain = symdiff.value_and_grad(f, wrt=wrt)(*args)
        g = symdiff.value_and_grad(f, wrt=wrt, checkpoint=checkpoint)
        value, grads = g(*args)
        assert value == pytest.approx(plain[0], rel=1e-12, abs=1e-12)
        _same(grads, plain[1])
        assert "_ckpt" in g.source and "for seg in range(" in g.source


def test_against_autograd():
    rng = np.random.default_rng(0)
    args = _rnn_args(rng, 40)
    grads = symdiff.grad(rnn, wrt=(0, 1, 2, 3, 4), checkpoint=6)(*args)
    _same(grads, autograd.grad(rnn_autograd, argnum=(0, 1, 2, 3, 4))(*args), 1e-9)
    args = [0.7, rng.normal(size=30)]
    _same(symdiff.grad(smoothing, wrt=(0, 1), checkpoint="sqrt")(*args),
          autograd.grad(smoothing_autograd, argnum=(0, 1))(*args), 1e-9)
    args = [0.3, rng.normal(size=12) * 0.3]
    _same(symdiff.grad(swap, wrt=(0, 1), checkpoint=5)(*args), autograd.grad(swap_autograd, argnum=(0, 1))(*args),
          1e-9)


def test_vjp():
    rng = np.random.default_rng(1)
    args = _rnn_args(rng, 17)
    ct = 0.7
    value, pulled = symdiff.vjp(rnn, wrt=(0, 3), checkpoint=4)(*args, ct)
    plain = symdiff.vjp(rnn, wrt=(0, 3))(*args, ct)
    assert value == pytest.approx(plain[0], rel=1e-12)
    _same(pulled, plain[1])


@pytest.mark.parametrize("T, checkpoint, k", [(1000, 10, 10), (1000, 7, 7), (10000, "sqrt", 100), (9999, "sqrt", 99)])
def test_stored_arrays_are_of_the_segment_and_checkpoint_sizes(T, checkpoint, k):
    rng = np.random.default_rng(2)
    n = 4
    args = _rnn_args(rng, T, n=n)
    g = symdiff.value_and_grad(rnn, wrt=(0, 1, 2), checkpoint=checkpoint)
    g(*args)  # compiles
    namespace: dict = {}
    exec(compile(g.source, "rnn_checkpointed.py", "exec"), namespace)
    (value, grads), local = _locals_at_return(namespace["rnn_value_and_grad"], *args)
    _same(grads, symdiff.value_and_grad(rnn, wrt=(0, 1, 2))(*args)[1])
    made = {name: v.shape for name, v in local.items()
            if isinstance(v, np.ndarray) and not any(v is a for a in args) and v.ndim >= 1}
    assert made["h_ckpt"] == (math.ceil(T / k), n)  # the state every k steps
    assert made["hs"] == (k + 1, n)  # one segment's states
    assert max(s[0] for s in made.values() if len(s) == 2) <= max(math.ceil(T / k), k + 1)
    plain_ns: dict = {}
    f = symdiff.value_and_grad(rnn, wrt=(0, 1, 2))
    f(*args)
    exec(compile(f.source, "rnn_plain.py", "exec"), plain_ns)
    _, plain_local = _locals_at_return(plain_ns["rnn_value_and_grad"], *args)
    assert plain_local["hs"].shape == (T + 1, n)  # without checkpointing: every state


def test_the_loops_read_as_written():
    rng = np.random.default_rng(3)
    g = symdiff.grad(rnn, wrt="W", checkpoint=10)
    g(*_rnn_args(rng, 12))
    lines = [line.strip() for line in g.source.splitlines()]  # (rnn_grad may call rnn_value_and_grad)
    for expected in ("h_ckpt = np.empty(((n_x0 + 9) // 10, n_W1), dtype=np.float64)", "if t % 10 == 0:",
                     "h_ckpt[t // 10] = h", "hs = np.empty((11, n_W1), dtype=np.float64)",
                     "for seg in range((n_x0 - 1) // 10, -1, -1):", "lo = seg * 10", "hi = min(lo + 10, n_x0)",
                     "h_1 = h_ckpt[seg]", "for t in range(lo, hi):", "hs[t - lo] = h_1", "hs[hi - lo] = h_1",
                     "for t in range(hi - 1, lo - 1, -1):"):
        assert expected in lines, expected
    assert "loop[range(n_x0), carry=2, stored=1, checkpoint=10]" in g.graph
    segments = lines[lines.index("for seg in range((n_x0 - 1) // 10, -1, -1):"):]
    assert not [line for line in segments if line.startswith("loss")]  # what no stored value needs: not recomputed


def test_bad_values_are_refused(tmp_path):
    for bad in (0, -3, 2.5, True, "cube"):
        with pytest.raises(TraceError, match="checkpoint="):
            symdiff.grad(rnn, checkpoint=bad)
    with pytest.raises(TraceError, match="checkpoint= applies to the reverse-mode kinds"):
        symdiff.export(smoothing, tmp_path / "h.py", kind="hessian", shapes={"xs": ("n",)}, checkpoint=4)


def test_a_gradient_inside_a_checkpointed_gradient():
    inner = symdiff.grad(smoothing, wrt="w")  # (its loop is unrolled inside the enclosing trace)

    def outer(w, xs):
        return inner(w, xs) ** 2

    def outer_autograd(w, xs):
        return autograd.grad(smoothing_autograd, 0)(w, xs) ** 2
    args = [0.7, np.random.default_rng(4).normal(size=6)]
    _same(symdiff.grad(outer, wrt=(0, 1), checkpoint=3)(*args), autograd.grad(outer_autograd, (0, 1))(*args), 1e-9)


def test_export_cli_and_cache_key(tmp_path, capsys):
    source = symdiff.export(rnn, tmp_path / "rnn_grad.py", wrt="W", shapes={"W": ("n", "n"), "U": ("n", "d"),
                            "b": ("n",), "x": ("T", "d"), "h0": ("n",)}, checkpoint=8)
    assert "--checkpoint 8" in source and "h_ckpt = np.empty(((T + 7) // 8, n)" in source
    namespace: dict = {}
    exec(compile(source, "rnn_grad.py", "exec"), namespace)
    args = _rnn_args(np.random.default_rng(5), 30)
    _same(namespace["rnn_grad"](*args), symdiff.grad(rnn, wrt="W")(*args))
    rc = cli.main(["grad", f"{HERE / 'test_loops.py'}:rnn", "--wrt", "W", "--shape", "W=n,n", "--shape", "U=n,d",
                   "--shape", "b=n", "--shape", "x=T,d", "--shape", "h0=n", "--checkpoint", "8"])
    out = capsys.readouterr().out
    assert rc == 0
    body = lambda text: text[text.index("def rnn_value_and_grad"):]  # noqa: E731  (the header names the file)
    assert body(out) == body(source)
    with pytest.raises(SystemExit):
        cli.main(["grad", f"{HERE / 'test_loops.py'}:rnn", "--checkpoint", "0"])
    capsys.readouterr()
    plain = symdiff.grad(rnn, wrt="W")
    plain(*args)
    assert plain.cache_info == "disk"  # (compiled above)
    checked = symdiff.grad(rnn, wrt="W", checkpoint=8)
    checked(*args)
    assert checked.cache_info == "compiled"  # not the plain module from disk
    again = symdiff.grad(rnn, wrt="W", checkpoint=8)
    again(*args)
    other = symdiff.grad(rnn, wrt="W", checkpoint=9)
    other(*args)
    assert again.cache_info == "disk" and "_ckpt" in again.source and "_ckpt" not in plain.source
    assert other.cache_info == "compiled" and "t % 9 == 0" in other.source
