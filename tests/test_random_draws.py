"""Random draws inside traced functions: the generated code draws them again, in the user's order.

Every expected value here is computed by plain NumPy (the same seed, the closed-form gradient), never
by symdiff. Seeds are fixed, so nothing is flaky.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff.errors import SymdiffError, UnsupportedError

ROOT = Path(__file__).resolve().parents[1]
W = np.array([0.5, -1.0, 2.0, 0.25])


def _run(code: str, tmp_path: Path, name: str = "prog.py") -> subprocess.CompletedProcess:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMDIFF_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)


# ---------------------------------------------------------------- (a) no crash --------------------

DANGEROUS = '''
import numpy as np, symdiff

def a(w): return np.sum(w * np.random.randn(*w.shape))
def b(w): return np.sum(w * np.random.rand(len(w)))
def c(w): return np.sum(w * np.random.uniform(size=w.shape))
def d(w): return np.sum(w * np.random.randn(3))
def e(w): return np.sum(w * np.random.default_rng(0).standard_normal(w.shape))
def f(w): return np.sum(w * np.random.RandomState(0).randn(*w.shape))

w = np.ones(3)
for fn, draw in [(a, lambda: np.random.randn(3)), (b, lambda: np.random.rand(3)),
                 (c, lambda: np.random.uniform(size=3)), (d, lambda: np.random.randn(3)),
                 (e, lambda: np.random.default_rng(0).standard_normal(3)),
                 (f, lambda: np.random.RandomState(0).randn(3))]:
    np.random.seed(7)
    got = symdiff.grad(fn)(w)
    np.random.seed(7)
    assert np.array_equal(got, draw()), (fn.__name__, got)
    print(fn.__name__, "ok")
'''


def test_dangerous_forms_do_not_crash_the_interpreter(tmp_path):
    """These forms segfaulted (NumPy's compiled random code got traced values): run in a subprocess."""
    result = _run(DANGEROUS, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["a", "ok", "b", "ok", "c", "ok", "d", "ok", "e", "ok", "f", "ok"]


HELPER = """
from numpy.random import default_rng, randn


def noise(n):
    return randn(n)


def seeded(n):
    return default_rng(0).standard_normal(n)
"""
MAIN = """
import numpy as np, symdiff
from numpy.random import rand
from noisehelper import noise, seeded


def f(w):
    return np.sum(w * noise(4)) + np.sum(w ** 2 * seeded(4)) + np.sum(w ** 3 * rand(4))


w = np.array([1.0, 2.0, -1.0, 0.5])
np.random.seed(1)
g = symdiff.grad(f)(w)
np.random.seed(1)
a, b, c = np.random.randn(4), np.random.default_rng(0).standard_normal(4), np.random.rand(4)
assert np.allclose(g, a + 2 * w * b + 3 * w ** 2 * c, rtol=1e-13, atol=0), g
print("ok")
"""


def test_names_imported_from_numpy_random_in_the_users_modules(tmp_path):
    """``from numpy.random import randn`` in a helper module: the name is bound to NumPy's function, which
    also crashed the interpreter when called during a trace."""
    (tmp_path / "noisehelper.py").write_text(HELPER)
    result = _run(MAIN, tmp_path, "main.py")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["ok"]


# ---------------------------------------------------------------- (b) a seeded generator ----------

def seeded(w):
    rng = np.random.default_rng(0)
    eps = rng.standard_normal(w.shape)
    return np.sum((w + eps) ** 2)


def test_seeded_generator_gives_the_plain_functions_numbers():
    eps = np.random.default_rng(0).standard_normal(W.shape)
    g = symdiff.grad(seeded)
    np.testing.assert_allclose(g(W), 2 * (W + eps), rtol=1e-13)
    np.testing.assert_allclose(g(W), 2 * (W + eps), rtol=1e-13)  # a new generator each call: the same numbers
    assert "rng = np.random.default_rng(0)" in g.source
    assert "eps = rng.standard_normal(" in g.source


def two_generators(w):
    a = np.random.default_rng(1)
    b = np.random.RandomState(2)
    u = a.random(w.shape)
    v = b.random_sample(w.shape)
    n = a.normal(0.0, 2.0, size=w.shape)
    return np.sum(w * u + w ** 2 * v + w ** 3 * n)


def test_generators_keep_their_own_streams():
    a, b = np.random.default_rng(1), np.random.RandomState(2)
    u, v, n = a.random(W.shape), b.random_sample(W.shape), a.normal(0.0, 2.0, size=W.shape)
    np.testing.assert_allclose(symdiff.grad(two_generators)(W), u + 2 * W * v + 3 * W ** 2 * n, rtol=1e-13)


def seeded_by_argument(w, seed):
    return np.sum(w * np.random.default_rng(seed).standard_normal(w.shape))


def test_a_seed_from_an_int_argument_is_a_constant_of_the_code():
    g = symdiff.grad(seeded_by_argument)
    for seed in (3, 4):
        np.testing.assert_allclose(g(W, seed), np.random.default_rng(seed).standard_normal(W.shape), rtol=1e-15)


# ---------------------------------------------------------------- (c) global state -----------------

def global_noise(w):
    eps = np.random.randn(*w.shape)
    return np.sum(np.sin(w) * eps)


def test_global_state_draws_at_run_time():
    g = symdiff.grad(global_noise)
    np.random.seed(3)
    got = g(W)
    np.random.seed(3)
    eps = np.random.randn(*W.shape)
    np.testing.assert_allclose(got, np.cos(W) * eps, rtol=1e-13)
    assert not np.allclose(g(W), g(W))  # two calls, two draws


def order(w):
    a = np.random.randn(*w.shape)
    b = np.random.rand(*w.shape)
    c = np.random.randn(*w.shape)
    return np.sum(w * c) + np.sum(w ** 2 * b) + np.sum(w ** 3 * a)  # used in the other order


def test_draws_are_made_in_the_users_order_and_never_merged():
    np.random.seed(5)
    a, b, c = np.random.randn(*W.shape), np.random.rand(*W.shape), np.random.randn(*W.shape)
    expected = c + 2 * W * b + 3 * W ** 2 * a
    for transform in (symdiff.grad, lambda f: (lambda w: symdiff.value_and_grad(f)(w)[1])):
        np.random.seed(5)
        np.testing.assert_allclose(transform(order)(W), expected, rtol=1e-13)


def twice(w):
    return np.sum(w * np.random.randn(4)) + np.sum(w * np.random.randn(4))


def test_two_identical_calls_are_two_draws():
    np.random.seed(9)
    expected = np.random.randn(4) + np.random.randn(4)
    np.random.seed(9)
    np.testing.assert_allclose(symdiff.grad(twice)(W), expected, rtol=1e-13)


def unused(w):
    first = np.random.randn(3)  # noqa: F841  (unused: still consumes the state)
    eps = np.random.randn(*w.shape)
    np.random.rand(2)
    return np.sum(w ** 2) + np.sum(eps)  # eps does not reach the gradient


def test_unused_draws_still_consume_the_global_state():
    np.random.seed(11)
    unused(W)
    after_plain = np.random.rand()
    for transform in (symdiff.grad, symdiff.value_and_grad, symdiff.hessian):
        np.random.seed(11)
        transform(unused)(W)
        assert np.random.rand() == after_plain, transform


def seeds_inside(w, s):
    np.random.seed(s)
    return np.sum(w * np.random.standard_normal(w.shape))


def test_np_random_seed_inside_the_function():
    g = symdiff.grad(seeds_inside)
    np.random.seed(4)
    expected = np.random.standard_normal(W.shape)
    np.random.seed(21)  # the function seeds the global state itself
    np.testing.assert_allclose(g(W, 4), expected, rtol=1e-15)
    np.testing.assert_allclose(g(W, 4), expected, rtol=1e-15)
    assert "np.random.seed(s)" in g.source  # the int argument, read at run time: one module for every seed
    np.random.seed(5)
    expected = np.random.standard_normal(W.shape)
    np.testing.assert_allclose(g(W, 5), expected, rtol=1e-15)
    assert g.cache_info == "memory"


# ---------------------------------------------------------------- (d) dropout, reparameterisation -

def dropout(w, x):
    h = np.tanh(x * w)
    mask = np.random.rand(*h.shape) < 0.8
    return np.sum(h * mask / 0.8)


def reparam(mu, logsig):
    z = mu + np.exp(logsig) * np.random.randn(*mu.shape)
    return np.sum(z ** 2)


X = np.array([1.0, 2.0, -0.5, 0.3])


def _dropout_grad(w, x, u):
    return (u < 0.8) / 0.8 * x * (1 - np.tanh(x * w) ** 2)


def _reparam_grad(mu, logsig, eps):
    z = mu + np.exp(logsig) * eps
    return 2 * z, 2 * z * eps * np.exp(logsig)


def test_dropout_and_reparameterisation_through_the_decorator():
    np.random.seed(1)
    got = symdiff.grad(dropout)(W, X)
    np.random.seed(1)
    np.testing.assert_allclose(got, _dropout_grad(W, X, np.random.rand(*W.shape)), rtol=1e-13)
    logsig = np.array([0.1, -0.2, 0.0, 0.3])
    np.random.seed(2)
    dmu, dlogsig = symdiff.grad(reparam, wrt=("mu", "logsig"))(W, logsig)
    np.random.seed(2)
    emu, elogsig = _reparam_grad(W, logsig, np.random.randn(*W.shape))
    np.testing.assert_allclose(dmu, emu, rtol=1e-13)
    np.testing.assert_allclose(dlogsig, elogsig, rtol=1e-13)


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dropout_and_reparameterisation_through_export(tmp_path):
    symdiff.export(dropout, tmp_path / "dropout_grad.py", wrt="w", shapes={"w": ("n",), "x": ("n",)})
    symdiff.export(reparam, tmp_path / "reparam_grad.py", wrt=("mu", "logsig"), shapes={"mu": ("n",), "logsig": ("n",)})
    d, r = _import(tmp_path / "dropout_grad.py"), _import(tmp_path / "reparam_grad.py")
    assert "np.random.rand(" in (tmp_path / "dropout_grad.py").read_text()
    w, x = np.linspace(-1, 1, 7), np.linspace(0.5, 2, 7)
    np.random.seed(3)
    got = d.dropout_grad(w, x)
    np.random.seed(3)
    np.testing.assert_allclose(got, _dropout_grad(w, x, np.random.rand(7)), rtol=1e-13)
    np.random.seed(4)
    value, (dmu, dlogsig) = r.reparam_value_and_grad(w, x / 4)
    np.random.seed(4)
    eps = np.random.randn(7)
    np.testing.assert_allclose(value, np.sum((w + np.exp(x / 4) * eps) ** 2), rtol=1e-13)
    np.testing.assert_allclose(dmu, _reparam_grad(w, x / 4, eps)[0], rtol=1e-13)
    np.testing.assert_allclose(dlogsig, _reparam_grad(w, x / 4, eps)[1], rtol=1e-13)


CLI_MODEL = "import numpy as np\n\n\n" + inspect.getsource(dropout) + "\n\n" + inspect.getsource(reparam)


def test_dropout_and_reparameterisation_through_the_cli(tmp_path):
    (tmp_path / "noisy.py").write_text(CLI_MODEL)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMDIFF_CACHE_DIR": str(tmp_path / "cache")}
    for fn, args in (("dropout", ["--wrt", "w", "--shape", "w=n", "--shape", "x=n"]),
                     ("reparam", ["--wrt", "mu,logsig", "--shape", "mu=n", "--shape", "logsig=n"])):
        result = subprocess.run([sys.executable, "-m", "symdiff", "grad", f"noisy.py:{fn}", *args, "-o", f"{fn}_g.py"],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    d, r = _import(tmp_path / "dropout_g.py"), _import(tmp_path / "reparam_g.py")
    np.random.seed(5)
    got = d.dropout_grad(W, X)
    np.random.seed(5)
    np.testing.assert_allclose(got, _dropout_grad(W, X, np.random.rand(4)), rtol=1e-13)
    np.random.seed(6)
    dmu, dlogsig = r.reparam_grad(W, X)
    np.random.seed(6)
    emu, elogsig = _reparam_grad(W, X, np.random.randn(4))
    np.testing.assert_allclose(dmu, emu, rtol=1e-13)
    np.testing.assert_allclose(dlogsig, elogsig, rtol=1e-13)


# ---------------------------------------------------------------- (e) value and gradient ----------

def noisy_square(w):
    eps = np.random.standard_normal(w.shape)
    return np.sum((w + eps) ** 2)


def test_value_and_grad_see_the_same_noise():
    vg = symdiff.value_and_grad(noisy_square)
    np.random.seed(8)
    value, g = vg(W)
    np.random.seed(8)
    eps = np.random.standard_normal(W.shape)
    np.testing.assert_allclose(value, np.sum((W + eps) ** 2), rtol=1e-13)
    np.testing.assert_allclose(g, 2 * (W + eps), rtol=1e-13)
    value, g = vg(W)  # fresh noise, one draw for both
    np.testing.assert_allclose(value, np.sum((g / 2) ** 2), rtol=1e-12)
    draws = [line for line in vg.source.splitlines() if "np.random.standard_normal(" in line
             and not line.strip().startswith("#")]
    assert len(draws) == 2  # one in each of _grad and _value_and_grad


# ---------------------------------------------------------------- (f) Hessians --------------------

def noisy_quartic(w):
    rng = np.random.default_rng(12)
    a = rng.standard_normal(w.shape)
    return np.sum(a * w ** 4) + np.sum(np.random.randn(*w.shape) * w ** 2)


def test_hessian_of_a_noisy_function():
    np.random.seed(13)
    h = symdiff.hessian(noisy_quartic)(W)
    np.random.seed(13)
    b = np.random.randn(*W.shape)
    a = np.random.default_rng(12).standard_normal(W.shape)
    np.testing.assert_allclose(h, np.diag(12 * a * W ** 2 + 2 * b), rtol=1e-13)
    hvp = symdiff.hvp(noisy_quartic)
    v = np.array([1.0, 0.0, -1.0, 2.0])
    np.random.seed(13)
    np.testing.assert_allclose(hvp(W, v), (12 * a * W ** 2 + 2 * b) * v, rtol=1e-13)


# ---------------------------------------------------------------- traced parameters ---------------

def normal_of_traced(w):
    return np.sum(np.random.default_rng(3).normal(w, np.exp(w)) ** 2)


def uniform_of_traced(w):
    return np.sum(np.random.uniform(w, 2 * w + 1) ** 2)


def test_traced_loc_and_scale_are_reparameterised_with_numpys_numbers():
    eps = np.random.default_rng(3).standard_normal(W.shape)
    z = W + np.exp(W) * eps
    assert np.allclose(z, np.random.default_rng(3).normal(W, np.exp(W)), rtol=1e-14)  # NumPy's own formula
    np.testing.assert_allclose(symdiff.grad(normal_of_traced)(W), 2 * z * (1 + np.exp(W) * eps), rtol=1e-13)
    np.random.seed(4)
    got = symdiff.grad(uniform_of_traced)(W)
    np.random.seed(4)
    r = np.random.random_sample(4)
    u = W + (W + 1) * r
    np.random.seed(4)
    assert np.allclose(u, np.random.uniform(W, 2 * W + 1), rtol=1e-14)  # NumPy's own formula
    np.testing.assert_allclose(got, 2 * u * (1 + r), rtol=1e-13)


# ---------------------------------------------------------------- integer data --------------------

def minibatch(w):
    idx = np.random.randint(0, w.shape[0], size=6)
    perm = np.random.permutation(w.shape[0])
    rng = np.random.default_rng(1)
    pick = rng.choice(4, size=3, replace=False)
    keep = np.random.binomial(1, 0.5, size=w.shape)
    return np.sum(w[idx] ** 2) + np.sum(w[perm] * np.arange(4.0)) + np.sum(w[pick] ** 3) + np.sum(w * keep)


def test_integer_draws_are_data():
    np.random.seed(6)
    got = symdiff.grad(minibatch)(W)
    np.random.seed(6)
    idx, perm = np.random.randint(0, 4, size=6), np.random.permutation(4)
    pick = np.random.default_rng(1).choice(4, size=3, replace=False)
    keep = np.random.binomial(1, 0.5, size=4)
    expected = np.bincount(idx, minlength=4) * 2 * W + np.arange(4.0)[np.argsort(perm)] \
        + np.bincount(pick, minlength=4) * 3 * W ** 2 + keep
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert got.dtype == np.float64


def binomial_only(w):
    return np.sum(w * np.random.binomial(1, 0.5, size=w.shape))


def test_a_gradient_equal_to_integer_data_is_typed_like_its_argument():
    np.random.seed(7)
    got = symdiff.grad(binomial_only)(W)
    np.random.seed(7)
    np.testing.assert_array_equal(got, np.random.binomial(1, 0.5, size=4).astype(float))
    assert got.dtype == np.float64


# ---------------------------------------------------------------- refusals ------------------------

OUTSIDE = np.random.default_rng(0)


def _refused(fn, *args, match: str, error=UnsupportedError):
    with pytest.raises(error, match=match) as info:
        symdiff.grad(fn)(*args)
    return str(info.value)


def test_generators_made_outside_the_function_are_refused():
    def from_global(w):
        return np.sum(w * OUTSIDE.standard_normal(4))
    message = _refused(from_global, W, match="'OUTSIDE' is a Generator made outside the function")
    assert "test_random_draws.py:" in message and "create the generator inside the function" in message
    state = np.random.RandomState(1)

    def from_closure(w):
        return np.sum(w * state.randn(4))
    _refused(from_closure, W, match="'state' is a RandomState made outside")
    # (a generator passed as an argument is drawn from at run time: tests/test_data_args.py)
    assert np.isfinite(OUTSIDE.standard_normal())  # the global is itself again after tracing


def test_branches_on_draws_are_refused(tmp_path):
    def coin(w):
        if np.random.rand() < 0.5:
            return np.sum(w)
        return np.sum(w ** 2)

    def noisy_condition(w):
        u = np.random.rand(4)
        if np.sum(u * w) > 0:
            return np.sum(w)
        return np.sum(w ** 2)
    for fn in (coin, noisy_condition):
        message = _refused(fn, W, match="this branch depends on a random draw")
        assert "np.where" in message
        with pytest.raises(UnsupportedError, match="depends on a random draw"):
            symdiff.export(fn, tmp_path / "unused.py", shapes={"w": (4,)})


def test_traced_seeds_and_parameters_and_unsupported_functions_are_refused():
    cases = [
        (lambda w: np.sum(w * np.random.default_rng(w[0]).standard_normal(4)), "seed of np.random.default_rng is"),
        (lambda w: np.sum(np.random.binomial(1, w)), "the p of np.random.binomial is a traced value"),
        (lambda w: np.sum(np.random.choice(w, 3)), r"a\[rng.choice\(len\(a\), size\)\]"),
        (lambda w: np.sum(np.random.permutation(w) * np.arange(4.0)), r"x\[rng.permutation\(len\(x\)\)\]"),
        (lambda w: np.sum(np.random.randn(w[0])), "size of a random draw"),
        (lambda w: np.sum(w * np.random.multivariate_normal(np.zeros(4), np.eye(4))), "multivariate_normal is not"),
        (lambda w: np.sum(w * np.random.Generator(np.random.PCG64(0)).random(4)), "np.random.default_rng"),
        (lambda w: np.sum(w * np.random.default_rng(0).permuted(np.arange(4.0))), "Generator.permuted is not"),
    ]
    for fn, match in cases:
        _refused(fn, W, match=match)

    def shuffles(w):
        x = np.arange(4.0)
        np.random.shuffle(x)
        return np.sum(w * x)
    _refused(shuffles, W, match="np.random.shuffle is not supported")
    assert issubclass(UnsupportedError, SymdiffError)


# ---------------------------------------------------------------- branches on other values --------

def branchy(w):
    eps = np.random.randn(*w.shape)
    if np.sum(w) > 0:
        return np.sum(w * eps)
    return np.sum(w ** 2 * eps)


def test_a_branch_on_the_arguments_draws_once_on_either_side(tmp_path):
    g = symdiff.grad(branchy)
    symdiff.export(branchy, tmp_path / "branchy_grad.py", shapes={"w": ("n",)})
    exported = _import(tmp_path / "branchy_grad.py")
    for w in (W, -W):
        np.random.seed(14)
        eps = np.random.randn(*w.shape)
        after = np.random.rand()
        expected = eps if np.sum(w) > 0 else 2 * w * eps
        for fn in (g, exported.branchy_grad):
            np.random.seed(14)
            np.testing.assert_allclose(fn(w), expected, rtol=1e-13)
            assert np.random.rand() == after  # one draw, not one per condition


# ---------------------------------------------------------------- transforms composed, aux --------

def cubic(w):
    rng = np.random.default_rng(0)
    return np.sum(rng.standard_normal(w.shape) * w ** 3)


def noise_as_aux(w):
    eps = np.random.randn(4)
    return np.sum(w * eps), eps


def test_composed_transforms_and_aux_outputs():
    a = np.random.default_rng(0).standard_normal(W.shape)
    np.testing.assert_allclose(symdiff.jacobian(symdiff.grad(cubic))(W), np.diag(6 * a * W), rtol=1e-13)
    np.random.seed(15)
    (value, eps), g = symdiff.value_and_grad(noise_as_aux, has_aux=True)(W)
    np.random.seed(15)
    expected = np.random.randn(4)
    np.testing.assert_allclose(eps, expected, rtol=1e-15)
    np.testing.assert_allclose(g, expected, rtol=1e-15)
    np.testing.assert_allclose(value, W @ expected, rtol=1e-13)
