"""Callables and parameters of every kind: keyword-only parameters, ``functools.partial``, bound
methods, instances with ``__call__``, through the decorator, export and the command line. Gradients
are checked against central differences of the user's own function (``symdiff.testing``)."""
from __future__ import annotations

import functools
import inspect

import numpy as np
import pytest

import symdiff
from symdiff import cli
from symdiff.testing import check_grads

X = np.array([0.1, -0.4, 0.3])
Y = np.array([1.0, -1.0, 0.5])


def penalised(x, *, lam=0.1):
    return np.sum(x ** 2) + lam * np.sum(x ** 4)


def required_keyword(x, *, lam):
    return lam * np.sum(np.sin(x))


def mse(x, y, lam):
    return lam * np.sum((x - y) ** 2)


class Model:
    def __init__(self) -> None:
        self.W = np.array([1.0, 2.0, 3.0])

    def loss(self, X, y):
        return np.sum((X * self.W - y) ** 2)


class Scaled:
    def __init__(self, lam: float) -> None:
        self.lam = lam

    def __call__(self, x):
        return self.lam * np.sum(np.sin(x) ** 2)


def test_keyword_only_default():
    d = symdiff.grad(penalised)
    np.testing.assert_allclose(d(X), 2 * X + 0.4 * X ** 3, rtol=1e-12)
    check_grads(penalised, (X,), [0], gradient=lambda x: (d(x),))


def test_keyword_only_passed_by_keyword_and_named_in_wrt():
    d = symdiff.grad(penalised, wrt=("x", "lam"))
    dx, dlam = d(X, lam=2.0)
    np.testing.assert_allclose(dx, 2 * X + 8 * X ** 3, rtol=1e-12)
    np.testing.assert_allclose(dlam, np.sum(X ** 4), rtol=1e-12)
    check_grads(lambda x, lam: penalised(x, lam=lam), (X, 2.0), [0, 1], gradient=lambda x, lam: d(x, lam=lam))
    assert symdiff.grad(penalised, wrt="lam")(X, lam=3.0) == pytest.approx(np.sum(X ** 4), rel=1e-12)


def test_keyword_only_through_value_and_grad_hvp_and_jvp():
    value, dx = symdiff.value_and_grad(penalised)(X, lam=2.0)
    assert value == pytest.approx(penalised(X, lam=2.0), rel=1e-12)
    np.testing.assert_allclose(dx, 2 * X + 8 * X ** 3, rtol=1e-12)
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(symdiff.hvp(penalised)(X, v, lam=2.0), (2 + 24 * X ** 2) * v, rtol=1e-12)
    _, tangent = symdiff.jvp(penalised)(X, v, lam=2.0)
    assert tangent == pytest.approx(np.sum((2 * X + 8 * X ** 3) * v), rel=1e-12)


def test_keyword_only_is_still_keyword_only():
    d = symdiff.grad(required_keyword)
    np.testing.assert_allclose(d(X, lam=3.0), 3 * np.cos(X), rtol=1e-12)
    with pytest.raises(symdiff.TraceError, match="lam"):
        d(X)
    with pytest.raises(symdiff.TraceError, match="positional"):
        d(X, 3.0)


def test_exported_module_takes_keyword_only_parameters_as_valid_python(tmp_path):
    text = symdiff.export(penalised, tmp_path / "pen.py", wrt=("x", "lam"), shapes={"x": "n"})
    namespace: dict = {}
    exec(compile(text, "pen.py", "exec"), namespace)
    grad_fn = namespace["penalised_grad"]
    assert list(inspect.signature(grad_fn).parameters) == ["x", "lam"]
    dx, dlam = grad_fn(X, lam=2.0)
    np.testing.assert_allclose(dx, 2 * X + 8 * X ** 3, rtol=1e-12)
    dx, _ = grad_fn(X)  # the literal default is kept
    np.testing.assert_allclose(dx, 2 * X + 0.4 * X ** 3, rtol=1e-12)


def test_partial_binds_constants():
    p = functools.partial(mse, lam=0.5)
    d = symdiff.grad(p, wrt=("x", "y"))
    dx, dy = d(X, Y)
    np.testing.assert_allclose(dx, X - Y, rtol=1e-12)
    np.testing.assert_allclose(dy, Y - X, rtol=1e-12)
    check_grads(p, (X, Y), [0, 1], gradient=d)
    assert d.__name__ == "mse" and "def mse_grad(x, y):" in d.source  # lam is part of the function
    with pytest.raises(symdiff.TraceError, match="lam"):
        symdiff.grad(p, wrt="lam")
    q = functools.partial(mse, Y)  # a bound positional array
    check_grads(q, (X, 2.0), [0, 1], gradient=symdiff.grad(q, wrt=(0, 1)))
    np.testing.assert_allclose(symdiff.grad(q)(X, 2.0), 4 * (X - Y), rtol=1e-12)


def test_bound_method_and_callable_object():
    model = Model()
    d = symdiff.grad(model.loss)
    np.testing.assert_allclose(d(X, Y), 2 * (X * model.W - Y) * model.W, rtol=1e-12)
    check_grads(model.loss, (X, Y), [0, 1], gradient=symdiff.grad(model.loss, wrt=("X", "y")))
    assert d.__name__ == "loss" and "def loss_grad(X, y):" in d.source
    obj = Scaled(3.0)
    d = symdiff.grad(obj)
    np.testing.assert_allclose(d(X), 6 * np.sin(X) * np.cos(X), rtol=1e-12)
    check_grads(obj, (X,), [0], gradient=lambda x: (d(x),))
    assert d.__name__ == "Scaled" and not hasattr(d, "lam")  # the object's attributes are not copied


def test_star_args_and_kwargs_are_refused_with_what_to_do():
    def star(x, *rest):
        return np.sum(x)

    def stars(x, **options):
        return np.sum(x)
    with pytest.raises(symdiff.TraceError, match=r"\*rest parameters are not supported.*Name each argument"):
        symdiff.grad(star)
    with pytest.raises(symdiff.TraceError, match=r"\*\*options parameters are not supported"):
        symdiff.grad(stars)
    with pytest.raises(symdiff.TraceError, match="is a class"):
        symdiff.grad(Model)


USER_FILE = '''\
import functools
import numpy as np


def mse(x, y, lam):
    return lam * np.sum((x - y) ** 2)


def penalised(x, *, lam=0.1):
    return np.sum(x ** 2) + lam * np.sum(x ** 4)


class Scaled:
    def __init__(self, lam):
        self.lam = lam

    def __call__(self, x):
        return self.lam * np.sum(np.sin(x) ** 2)


class Model:
    def __init__(self):
        self.W = np.array([1.0, 2.0, 3.0])

    def loss(self, X, y):
        return np.sum((X * self.W - y) ** 2)


part = functools.partial(mse, lam=0.5)
obj = Scaled(3.0)
model = Model()


def star(x, *rest):
    return np.sum(x)
'''


def _cli(tmp_path, capsys, stem, *argv):
    path = tmp_path / f"{stem}.py"
    path.write_text(USER_FILE)
    code = cli.main([argv[0], f"{path}:{argv[1]}", *argv[2:]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("target, args, name, expected", [
    ("part", ["--wrt", "x,y", "--shape", "x=n", "--shape", "y=n"], "mse_grad", lambda: (X - Y, Y - X)),
    ("obj", ["--shape", "x=n"], "Scaled_grad", lambda: 6 * np.sin(X) * np.cos(X)),
    ("model.loss", ["--shape", "X=3", "--shape", "y=3"], "loss_grad",
     lambda: 2 * (X * np.array([1.0, 2.0, 3.0]) - Y) * np.array([1.0, 2.0, 3.0])),
    ("penalised", ["--wrt", "x", "--shape", "x=n"], "penalised_grad", lambda: 2 * X + 0.4 * X ** 3),
])
def test_cli_accepts_partials_objects_methods_and_keyword_only(tmp_path, capsys, target, args, name, expected):
    code, out, err = _cli(tmp_path, capsys, f"cc_{target.replace('.', '_')}", "grad", target, *args)
    assert code == 0, err
    namespace: dict = {}
    exec(compile(out, "generated.py", "exec"), namespace)
    fn = namespace[name]
    result = fn(X, Y) if target in ("part", "model.loss") else fn(X)
    results = result if target == "part" else [result]
    for r, e in zip(results, expected() if target == "part" else [expected()], strict=True):
        np.testing.assert_allclose(r, e, rtol=1e-12)


@pytest.mark.parametrize("target, message", [
    ("star", "*rest parameters are not supported"),
    ("Model", "is a class"),
    ("model", "is not callable"),
])
def test_cli_refuses_clearly(tmp_path, capsys, target, message):
    code, out, err = _cli(tmp_path, capsys, f"cc_bad_{target}", "grad", target, "--shape", "x=3")
    assert code == 1 and message in err and "Traceback" not in err and out == ""


def test_transforms_of_partials_and_keyword_only_compose():
    p = functools.partial(mse, lam=0.5)
    np.testing.assert_allclose(symdiff.jacobian(symdiff.grad(p))(X, Y), np.eye(3), rtol=1e-12)
    assert str(inspect.signature(symdiff.grad(p))) == "(x, y)"
    hess = symdiff.jacobian(symdiff.grad(penalised))
    np.testing.assert_allclose(hess(X, lam=2.0), np.diag(2 + 24 * X ** 2), rtol=1e-12)
    np.testing.assert_allclose(hess(X), np.diag(2 + 1.2 * X ** 2), rtol=1e-12)
