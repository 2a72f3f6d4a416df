"""Integer arrays as data: labels and tokens keep int64, are never differentiated, and index traced
arrays with values known only at run time (the gradient adds into zeros with np.add.at)."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import symdiff
from symdiff.errors import ShapeError, TraceError

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(11)
N, D, K, V = 7, 4, 3, 5
W, B, X = RNG.normal(size=(D, K)), RNG.normal(size=K), RNG.normal(size=(N, D))
Y = np.array([0, 2, 1, 1, 0, 2, 2])
E = RNG.normal(size=(V, 3))
TOKENS = np.array([1, 3, 1, 1, 4, 0, 3])  # 1 three times, 3 twice, 2 never

SOURCE = '''
import numpy as np


def loss(W, b, X, y):
    z = X @ W + b
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def embed(E, tokens):
    return np.sum(np.tanh(E[tokens]) ** 2)
'''


def loss(W, b, X, y):
    z = X @ W + b
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def loss_autograd(W, b, X, y):  # the same program in autograd's NumPy
    z = anp.dot(X, W) + b
    z = z - anp.max(z, axis=1, keepdims=True)
    logp = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
    return -anp.mean(logp[np.arange(X.shape[0]), y])


def softmax_probs(W, X):
    z = X @ W
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def central(f, args, i, eps=1e-6):
    args = list(args)
    x = np.array(args[i], dtype=float)
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[j] += eps
        down[j] -= eps
        g[j] = (f(*args[:i], up, *args[i + 1:]) - f(*args[:i], down, *args[i + 1:])) / (2 * eps)
    return g


def _closed_form_classifier_grad(W, b, X, y):
    """d/dz of mean cross-entropy is (softmax(z) - onehot(y)) / n."""
    z = X @ W + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(W.shape[1])[y]) / X.shape[0]
    return X.T @ dz, dz.sum(axis=0)


def test_classifier_decorator_matches_closed_form_central_differences_and_autograd():
    dW, db = symdiff.grad(loss, wrt=("W", "b"))(W, B, X, Y)
    cW, cb = _closed_form_classifier_grad(W, B, X, Y)
    np.testing.assert_allclose(dW, cW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, cb, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW, central(loss, (W, B, X, Y), 0), atol=1e-7)
    np.testing.assert_allclose(db, central(loss, (W, B, X, Y), 1), atol=1e-7)
    aW, ab = autograd.grad(loss_autograd, (0, 1))(W, B, X, Y)
    np.testing.assert_allclose(dW, aW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, ab, rtol=1e-10, atol=1e-12)


def test_labels_are_runtime_values_not_constants():
    """New labels of the same shape reuse the compiled code (one compilation) and give their own gradient."""
    dloss = symdiff.grad(loss, wrt="W")
    dloss(W, B, X, Y)
    other = (Y + 1) % K
    g = dloss(W, B, X, other)
    assert dloss.cache_info == "memory"
    np.testing.assert_allclose(g, _closed_form_classifier_grad(W, B, X, other)[0], rtol=1e-10, atol=1e-12)
    # (np.arange(n) names each row once: the gradient is placed, not added with np.add.at)
    code = re.sub(r"\s+", "", dloss.source)
    assert "y: int64 array" in dloss.source and "np.add.at" not in code and "_scatter" not in code
    assert re.search(r"(\w+)=np\.zeros\(\(\w+,\w+\)\)\1\[[^\]]*,y\]=", code), dloss.source  # zeros, then placed
    assert "y.astype" not in dloss.source and "float(" not in dloss.source


def test_int32_labels_and_value():
    value, dW = symdiff.value_and_grad(loss, wrt="W")(W, B, X, Y.astype(np.int32))
    np.testing.assert_allclose(value, loss(W, B, X, Y), rtol=1e-12)
    np.testing.assert_allclose(dW, _closed_form_classifier_grad(W, B, X, Y)[0], rtol=1e-10, atol=1e-12)


def test_wrt_an_integer_array_is_refused():
    with pytest.raises(TraceError, match="'y': it is an integer array"):
        symdiff.grad(loss, wrt="y")(W, B, X, Y)


@pytest.mark.parametrize("form", [
    lambda W, X, y: -np.sum(np.log(softmax_probs(W, X)[range(X.shape[0]), y])),
    lambda W, X, y: -np.sum(np.take_along_axis(np.log(softmax_probs(W, X)), y[:, None], axis=1)),
    lambda W, X, y: -np.sum(np.eye(K)[y] * np.log(softmax_probs(W, X))),
], ids=["range", "take_along_axis", "one_hot"])
def test_cross_entropy_forms(form):
    g = symdiff.grad(form, wrt="W")(W, X, Y)
    p = softmax_probs(W, X)
    np.testing.assert_allclose(g, X.T @ (p - np.eye(K)[Y]), rtol=1e-10, atol=1e-12)


def embed(E, tokens):
    return np.sum(np.tanh(E[tokens]) ** 2)


def embed_take(E, tokens):
    return np.sum(np.tanh(np.take(E, tokens, axis=0)) ** 2)


@pytest.mark.parametrize("fn", [embed, embed_take], ids=["getitem", "np.take"])
def test_embedding_repeated_tokens_accumulate(fn):
    g = symdiff.grad(fn)(E, TOKENS)
    t = np.tanh(E)
    per_row = 2 * t * (1 - t ** 2)
    counts = np.bincount(TOKENS, minlength=V)  # row 1 counted three times, row 2 never
    np.testing.assert_allclose(g, counts[:, None] * per_row, rtol=1e-12)
    assert np.all(g[2] == 0)
    np.testing.assert_allclose(g, central(fn, (E, TOKENS), 0), atol=1e-7)


def test_integer_arithmetic_follows_numpy():
    """int + float is float64; an int label scaled into the result is data, not a variable."""
    f = lambda w, y: np.sum(w * (y + 0.5) + w ** 2 * (y * y))  # noqa: E731
    w = RNG.normal(size=N)
    np.testing.assert_allclose(symdiff.grad(f)(w, Y), (Y + 0.5) + 2 * w * Y * Y, rtol=1e-12)


def test_hessian_through_a_runtime_gather():
    h = symdiff.hessian(lambda E, tokens: np.sum(E[tokens] ** 3))(E, TOKENS)
    counts = np.bincount(TOKENS, minlength=V)
    expected = np.diag((6 * counts[:, None] * E).ravel()).reshape(V, 3, V, 3)
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_declares_integer_data(tmp_path):
    src = tmp_path / "clf.py"
    src.write_text(SOURCE)
    user = _load(src)
    out = tmp_path / "clf_grad.py"
    symdiff.export(user.loss, out, wrt=("W", "b"), shapes={"W": (D, K), "b": (K,), "X": (N, D), "y": "7:int64"})
    dW, db = _load(out).loss_grad(W, B, X, Y)
    cW, cb = _closed_form_classifier_grad(W, B, X, Y)
    np.testing.assert_allclose(dW, cW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, cb, rtol=1e-10, atol=1e-12)
    with pytest.raises(ShapeError, match="int64"):
        symdiff.export(user.loss, out, wrt="W", shapes={"W": (D, K), "b": (K,), "X": (N, D), "y": "7:float32"})


def test_cli_int64_shape(tmp_path):
    src = tmp_path / "clf.py"
    src.write_text(SOURCE)
    out = tmp_path / "embed_grad.py"
    run = subprocess.run([sys.executable, "-m", "symdiff", "grad", f"{src}:embed", "--shape", "E=v,d",
                          "--shape", "tokens=t:int64", "-o", str(out)], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                  "SYMDIFF_CACHE_DIR": str(tmp_path / "cache")})
    assert run.returncode == 0, run.stderr
    module = _load(out)
    g = module.embed_grad(E, TOKENS)
    t = np.tanh(E)
    np.testing.assert_allclose(g, np.bincount(TOKENS, minlength=V)[:, None] * 2 * t * (1 - t ** 2), rtol=1e-12)
    tokens = np.array([0, 0, 2])  # other sizes and values at run time
    expected = np.zeros_like(E)
    np.add.at(expected, tokens, 2 * t[tokens] * (1 - t[tokens] ** 2))
    np.testing.assert_allclose(module.embed_grad(E, tokens), expected, rtol=1e-12)


def test_integer_arithmetic_on_labels_stays_an_index():
    """``tokens + 1`` and ``2 * y - 1`` of int64 data are int64 in NumPy: printed with integer literals, they
    index; ``y / 4`` is float64 and is data, not an index."""
    f = lambda w, y: np.sum(w[y + 1] ** 2) + np.sum(w[2 * y - 1]) + np.sum(w * (y / 4))  # noqa: E731
    w = RNG.normal(size=12)
    y = np.array([0, 3, 3, 5, 1, 0, 5, 2, 4, 3, 1, 2])
    dloss = symdiff.grad(f)
    expected = y / 4
    np.add.at(expected, y + 1, 2 * w[y + 1])
    np.add.at(expected, 2 * y - 1, 1.0)
    np.testing.assert_allclose(dloss(w, y), expected, rtol=1e-12)
    assert "y + 1]" in dloss.source and "2 * y - 1" in dloss.source


def test_cli_classifier_with_symbolic_batch_size(tmp_path):
    """``np.arange(X.shape[0])`` of a size named on the command line is ``np.arange(n)`` in the code: the
    module serves every batch size and every labelling."""
    src = tmp_path / "clf.py"
    src.write_text(SOURCE)
    out = tmp_path / "loss_grad.py"
    run = subprocess.run([sys.executable, "-m", "symdiff", "grad", f"{src}:loss", "--wrt", "W,b", "--shape", "W=d,k",
                          "--shape", "b=k", "--shape", "X=n,d", "--shape", "y=n:int64", "-o", str(out)],
                         capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SYMDIFF_CACHE_DIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert "np.arange(n), y] = " in text and "_scatter" not in text
    module = _load(out)
    for n in (N, 3):
        X2, y2 = RNG.normal(size=(n, D)), RNG.integers(0, K, size=n)
        value, (dW, db) = module.loss_value_and_grad(W, B, X2, y2)
        np.testing.assert_allclose(value, loss(W, B, X2, y2), rtol=1e-12)
        cW, cb = _closed_form_classifier_grad(W, B, X2, y2)
        np.testing.assert_allclose(dW, cW, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db, cb, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="needs them equal"):
        module.loss_grad(W, B, X, Y[:3])


def test_boolean_mask_argument_as_index():
    """``x[m]`` with a mask argument has a size known only at run time (see tests/test_masks.py)."""
    g = symdiff.grad(lambda x, m: np.sum(x[m] ** 2))(np.arange(4.0), np.array([True, False, True, True]))
    np.testing.assert_allclose(g, [0.0, 0.0, 4.0, 6.0])
    g = symdiff.grad(lambda x, m: np.sum(np.where(m, x, 0) ** 2))(np.arange(4.0), np.array([True, False, True, True]))
    np.testing.assert_allclose(g, [0.0, 0.0, 4.0, 6.0])


def test_classifier_hessian_against_autograd():
    h = symdiff.hessian(loss, wrt="W")(W, B, X, Y)
    expected = autograd.hessian(loss_autograd, 0)(W, B, X, Y)
    np.testing.assert_allclose(h, expected, rtol=1e-9, atol=1e-12)


def test_take_along_axis_hessian_against_autograd():
    def f(W, X, y):
        return np.sum(np.take_along_axis(np.tanh(X @ W), y[:, None], axis=1) ** 3)

    def f_autograd(W):
        return anp.sum(anp.tanh(anp.dot(X, W))[np.arange(N), Y] ** 3)
    h = symdiff.hessian(f)(W, X, Y)
    np.testing.assert_allclose(h, autograd.hessian(f_autograd)(W), rtol=1e-9, atol=1e-12)


def test_uint64_beyond_int64_is_refused_not_wrapped():
    f = lambda w, y: np.sum(w * y)  # noqa: E731
    w = np.ones(2)
    np.testing.assert_allclose(symdiff.grad(f)(w, np.array([3, 2 ** 40], dtype=np.uint64)), [3.0, 2.0 ** 40])
    with pytest.raises(TraceError, match="beyond int64"):
        symdiff.grad(f)(w, np.array([3, 2 ** 63], dtype=np.uint64))
