"""Data the function reads: large constants stored beside the generated module (``<module>.<NAME>.npy``,
loaded at import and checked by sha256) instead of pasted into it; small ones stay literals."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff import cli

PROGRAM = '''\
import numpy as np

rng = np.random.default_rng(0)
DATA = rng.normal(size=(200, 50))
SMALL = np.array([0.5, -1.5, 2.0])


def loss(w):
    return np.sum(np.tanh(DATA @ w) ** 2) + np.sum(SMALL * w[:3])
'''


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "bigconst.py"
    path.write_text(PROGRAM)
    module = _import(path, "bigconst_prog")
    sys.modules["bigconst_prog"] = module
    yield module, path
    sys.modules.pop("bigconst_prog", None)


def _central(f, w, v, h=1e-6):
    return (f(w + h * v) - f(w - h * v)) / (2 * h)


def _closed_form(w, data, small):
    t = np.tanh(data @ w)
    g = (2 * t * (1 - t ** 2)) @ data
    g[:3] += small
    return g


def test_export_stores_a_large_constant_beside_a_small_module(program, tmp_path):
    prog, _ = program
    out = tmp_path / "loss_grad.py"
    text = symdiff.export(prog.loss, out, shapes={"w": (50,)})
    assert out.stat().st_size < 5000
    assert max(len(line) for line in text.splitlines()) < 240  # no listing of 10,000 numbers
    assert "np.array([[" not in text and 'DATA = _load_data("DATA", "' in text
    assert "np.array([0.5, -1.5, 2.0]" in text  # three elements: a literal
    data_file = tmp_path / "loss_grad.DATA.npy"
    assert np.array_equal(np.load(data_file, allow_pickle=False), prog.DATA)
    module = _import(out, "loss_grad_exported")
    rng = np.random.default_rng(1)
    w = rng.normal(size=50)
    g = module.loss_grad(w)
    np.testing.assert_allclose(g, _closed_form(w, prog.DATA, prog.SMALL), rtol=1e-10)
    for _ in range(3):
        v = rng.normal(size=50)
        np.testing.assert_allclose(g @ v, _central(prog.loss, w, v), rtol=1e-6)


def test_a_tampered_or_missing_data_file_raises(program, tmp_path):
    prog, _ = program
    out = tmp_path / "loss_grad.py"
    symdiff.export(prog.loss, out, shapes={"w": (50,)})
    data_file = tmp_path / "loss_grad.DATA.npy"
    raw = bytearray(data_file.read_bytes())
    raw[-1] ^= 1  # one bit of one number: np.load would read it without complaint
    data_file.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="sha256"):
        _import(out, "loss_grad_tampered")
    data_file.unlink()
    with pytest.raises(FileNotFoundError, match="loss_grad.DATA.npy"):
        _import(out, "loss_grad_missing")


def test_the_decorator_cache_keeps_the_data_file_and_checks_it(program):
    prog, _ = program
    w = np.random.default_rng(2).normal(size=50)
    expected = _closed_form(w, prog.DATA, prog.SMALL)
    g = symdiff.grad(prog.loss)
    np.testing.assert_allclose(g(w), expected, rtol=1e-10)
    assert g.cache_info == "compiled"
    cache = Path(os.environ["SYMDIFF_CACHE_DIR"])
    (stored,) = cache.glob("loss_*.DATA.npy")
    assert stored.with_name(stored.name.replace(".DATA.npy", ".py")).stat().st_size < 5000
    again = symdiff.grad(prog.loss)  # a new transform: from the disk cache
    np.testing.assert_allclose(again(w), expected, rtol=1e-10)
    assert again.cache_info == "disk"
    raw = bytearray(stored.read_bytes())
    raw[-1] ^= 1
    stored.write_bytes(bytes(raw))
    third = symdiff.grad(prog.loss)  # the tampered file fails its check: compiled again, never wrong data
    np.testing.assert_allclose(third(w), expected, rtol=1e-10)
    assert third.cache_info == "compiled"
    assert np.array_equal(np.load(stored, allow_pickle=False), prog.DATA)  # replaced
    prog.DATA[0, 0] += 1.0  # written in place: the staleness check notices
    np.testing.assert_allclose(third(w), _closed_form(w, prog.DATA, prog.SMALL), rtol=1e-10)


def test_a_closure_array_is_named_after_its_variable(tmp_path):
    weights = np.linspace(-1.0, 1.0, 300)

    def loss(x):
        return np.sum(weights * np.sin(x))

    text = symdiff.export(loss, tmp_path / "m.py", shapes={"x": (300,)})
    assert 'weights = _load_data("weights"' in text
    x = np.random.default_rng(3).normal(size=300)
    np.testing.assert_allclose(_import(tmp_path / "m.py", "m_closure").loss_grad(x), weights * np.cos(x))


def test_the_cli_refuses_to_print_a_module_with_stored_data(program, tmp_path, capsys):
    _, path = program
    code = cli.main(["grad", f"{path}:loss", "--shape", "w=50"])
    err = capsys.readouterr()
    assert code == 1 and err.out == ""
    assert "DATA (shape (200, 50), float64" in err.err and "bigconst.py:4" in err.err
    assert "-o FILE" in err.err and "as arguments" in err.err
    out = tmp_path / "cli_out.py"
    assert cli.main(["grad", f"{path}:loss", "--shape", "w=50", "-o", str(out)]) == 0
    assert (tmp_path / "cli_out.DATA.npy").is_file() and out.stat().st_size < 5000


def test_a_failed_write_leaves_no_data_file(program, tmp_path):
    prog, _ = program
    target = tmp_path / "folder.py"
    target.mkdir()  # the module cannot replace a folder
    with pytest.raises(OSError):
        symdiff.export(prog.loss, target, shapes={"w": (50,)})
    assert not list(tmp_path.glob("*.npy")) and not list(tmp_path.glob(".*.tmp"))


# ---------------------------------------------------------------- a generator passed as an argument ----

def noisy_loss(w, x, rng):
    mask = rng.random(x.shape) > 0.5
    eps = rng.standard_normal(w.shape)
    z = np.tanh(x @ (w + 0.1 * eps))
    return np.sum(np.where(mask, x, 0.0) @ z ** 2) + np.sum(eps * w)


def test_a_generator_argument_makes_the_same_draws():
    rng0 = np.random.default_rng(0)
    w, x = rng0.normal(size=4), rng0.normal(size=(4, 4))
    vg = symdiff.value_and_grad(noisy_loss)
    for seed in (5, 6):
        value, _ = vg(w, x, np.random.default_rng(seed))
        np.testing.assert_allclose(value, noisy_loss(w, x, np.random.default_rng(seed)), rtol=1e-13)
    assert vg.cache_info == "memory"  # another generator state: the same code
    shared = np.random.default_rng(9)  # the generator's state advances as the plain function's does
    plain = np.random.default_rng(9)
    for _ in range(3):
        np.testing.assert_allclose(vg(w, x, shared)[0], noisy_loss(w, x, plain), rtol=1e-13)
    assert shared.random() == plain.random()
    # the draws themselves, exactly: the gradient of sum(w * eps) is eps
    eps = symdiff.grad(lambda w, rng: np.sum(w * rng.standard_normal(w.shape)))(w, np.random.default_rng(4))
    assert np.array_equal(eps, np.random.default_rng(4).standard_normal(4))
    g = symdiff.grad(noisy_loss)
    dw = g(w, x, np.random.default_rng(11))
    assert "rng.random(" in g.source and "rng.standard_normal(" in g.source and "def noisy_loss_grad(w, x, rng)" \
        in g.source
    for _ in range(3):
        v = rng0.normal(size=4)
        h = 1e-6
        fd = (noisy_loss(w + h * v, x, np.random.default_rng(11))
              - noisy_loss(w - h * v, x, np.random.default_rng(11))) / (2 * h)
        np.testing.assert_allclose(dw @ v, fd, rtol=1e-6)


def test_a_random_state_argument_and_a_closed_form():
    def loss(w, rs):
        return np.sum(np.sin(w * rs.normal(size=w.shape)))
    w = np.random.default_rng(1).normal(size=5)
    dw = symdiff.grad(loss)(w, np.random.RandomState(3))
    eps = np.random.RandomState(3).normal(size=5)
    np.testing.assert_allclose(dw, np.cos(w * eps) * eps, rtol=1e-12)


def test_a_generator_is_never_differentiated():
    w, x = np.ones(4), np.ones((4, 4))
    with pytest.raises(symdiff.TraceError, match="'rng': it is a np.random.Generator"):
        symdiff.grad(noisy_loss, wrt="rng")(w, x, np.random.default_rng(0))
    with pytest.raises(symdiff.TraceError, match="inside a container"):
        symdiff.grad(lambda p: np.sum(p["w"] * p["rng"].random(4)))({"w": w, "rng": np.random.default_rng(0)})


# ---------------------------------------------------------------- an iteration counter ----------------

def by_batch(w, X, i):
    return np.sum(np.tanh(X[i] @ w))


def noise_of_step(w, i):
    rng = np.random.default_rng(i)
    return np.sum(np.sin(w) * rng.standard_normal(w.shape))


def power_of(w, i):
    return np.sum(w ** i)


def test_a_counter_indexing_data_compiles_once():
    rng = np.random.default_rng(5)
    X, w = rng.normal(size=(5, 3, 2)), np.array([0.3, -0.2])
    g = symdiff.grad(by_batch)
    infos = []
    for i in range(5):
        t = np.tanh(X[i] @ w)
        np.testing.assert_allclose(g(w, X, i), (1 - t ** 2) @ X[i], rtol=1e-12)
        infos.append(g.cache_info)
    assert infos == ["compiled"] + ["memory"] * 4
    for i in (3, 3, 4, 0, 4):  # the fast path (keyed by the counter's type) runs the code for each i
        np.testing.assert_allclose(g(w, X, i), (1 - np.tanh(X[i] @ w) ** 2) @ X[i], rtol=1e-12)
    assert "t1 = X[i]" in g.source and "i: int argument(s) read at run time" in g.graph
    with pytest.raises(IndexError):  # out of range, as the plain function
        g(w, X, 5)
    np.testing.assert_allclose(g(w, X, -1), (1 - np.tanh(X[-1] @ w) ** 2) @ X[-1], rtol=1e-12)


def test_a_counter_seeding_a_generator_compiles_once():
    w = np.array([0.4, -1.0, 2.0])
    g = symdiff.grad(noise_of_step)
    infos = []
    for i in range(5):
        eps = np.random.default_rng(i).standard_normal(3)
        np.testing.assert_allclose(g(w, i), np.cos(w) * eps, rtol=1e-12)
        infos.append(g.cache_info)
    assert infos == ["compiled"] + ["memory"] * 4
    assert "np.random.default_rng(i)" in g.source


def test_a_counter_used_as_a_number_is_a_constant_of_the_code():
    w = np.array([0.0, 2.0])
    g = symdiff.grad(power_of)
    for i, expected in ((0, [0.0, 0.0]), (1, [1.0, 1.0]), (2, [0.0, 4.0])):
        np.testing.assert_array_equal(g(w, i), expected)  # d/dw w**0 is 0 at w = 0, not 0 * 0**-1
        assert g.cache_info == "compiled"
    assert "i: a constant of the code (one module per value): i is an operand of elementwise" in g.graph
    for i, expected in ((1, [1.0, 1.0]), (1, [1.0, 1.0]), (2, [0.0, 4.0]), (0, [0.0, 0.0])):
        np.testing.assert_array_equal(g(w, i), expected)  # each value its own module, from memory
        assert g.cache_info == "memory"


def test_a_function_asking_the_type_of_its_int_keeps_it_a_constant():
    def scaled(w, X, n):
        return np.sum(w) * (2.0 if isinstance(n, int) else 3.0) + np.sum(w * X[n])
    X = np.arange(12.0).reshape(3, 4)
    g = symdiff.grad(scaled)
    np.testing.assert_allclose(g(np.ones(4), X, 1), 2.0 + X[1])  # traced, isinstance would have said False
    assert "n == 1" in g.source  # a constant of the code: the plain function's path
