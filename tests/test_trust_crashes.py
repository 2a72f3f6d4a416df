"""Regression tests of issue 9 ("Trust"): crashes and spurious refusals found by the property tests
and by hand, each pinned by a plain (non-random) test."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import settings

import symdiff
from symdiff.testing import check_grads

W4 = np.array([2.0, 3.0, 4.0, 5.0])


def _exported(fn, tmp_path, shapes, wrt=None, name="mod"):
    path = tmp_path / f"{name}.py"
    symdiff.export(fn, path, wrt=wrt, shapes=shapes)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- sizes bound to compound sizes whose symbols are specialised later ----------------------------

def _assign_tail(x, v):
    y = x.copy()
    y[1:] = v  # n_v is bound to n_x - 1 ...
    return np.sum(W4 * y)  # ... and n_x to 4 afterwards (W4 is a constant of 4 elements)


def test_assigning_a_tail_then_broadcasting_against_a_constant():
    """Found by test_random_indexing.py::test_assigning_any_index: "no code for symbol n_x"."""
    x, v = np.arange(4.0), np.array([1.0, 2.0, 3.0])
    gx, gv = symdiff.grad(_assign_tail, wrt=(0, 1))(x, v)
    np.testing.assert_array_equal(gx, [2.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gv, [3.0, 4.0, 5.0])


@pytest.mark.parametrize("index", [slice(None, -1), slice(None, None, 2), slice(2, None), slice(None, None, -1)])
def test_assigning_slices_then_broadcasting_against_a_constant(index):
    def f(x, v):
        y = x.copy()
        y[index] = v
        return np.sum(W4 * y ** 2)
    x = np.array([0.5, -1.0, 2.0, 1.5])
    v = np.linspace(1.0, 2.0, len(x[index]))
    check_grads(f, [x, v], wrt=(0, 1))


def test_a_size_bound_to_a_chain_of_compound_sizes():
    def f(x, u, v):
        a = x[1:] * u  # n_u -> n_x - 1
        b = a[1:] * v  # n_v -> n_x - 2
        return np.sum(b * np.array([1.0, 2.0]))  # n_x -> 4
    check_grads(f, [np.arange(1.0, 5.0), np.ones(3) * 0.5, np.ones(2) * 2.0], wrt=(0, 1, 2))


def test_the_export_of_an_assigned_tail_reads_sizes_at_run_time(tmp_path):
    """Named sizes m and n with m == n - 1: the module serves every n, and checks m on every call."""
    def f(x, v):
        y = x.copy()
        y[1:] = v
        return np.sum(y ** 2)
    mod = _exported(f, tmp_path, {"x": ("n",), "v": ("m",)}, wrt=("x", "v"))
    for n in (3, 6):
        x, v = np.arange(float(n)), np.arange(1.0, n)
        gx, gv = mod.f_grad(x, v)
        np.testing.assert_allclose(gx, np.r_[2 * x[0], np.zeros(n - 1)])
        np.testing.assert_allclose(gv, 2 * v)
    with pytest.raises(ValueError, match=r"v.shape\[0\] must be x.shape\[0\] - 1"):
        mod.f_grad(np.ones(4), np.ones(1))  # NumPy would broadcast v silently


def test_two_names_for_one_size_are_one_size_checked_at_run_time(tmp_path):
    """Two names the program needs equal (--shape x=n --shape v=m) become one size that the module
    compares on every call (as NumPy raises on mismatched sizes)."""
    def f(x, v):
        return np.sum(x * v)
    mod = _exported(f, tmp_path, {"x": ("n",), "v": ("m",)}, wrt=("x", "v"))
    x, v = np.arange(1.0, 4.0), np.arange(2.0, 5.0)
    gx, gv = mod.f_grad(x, v)
    np.testing.assert_allclose(gx, v)
    np.testing.assert_allclose(gv, x)
    with pytest.raises(ValueError):  # by the module's check or by NumPy's broadcasting in its code
        mod.f_grad(np.ones(3), np.ones(2))


# ---- spurious ShapeErrors on valid NumPy ----------------------------------------------------------

def _split(p, X):
    a, b = p[:2], p[2:]
    return np.sum((X - a) ** 2) + np.sum((X * b - 1.0) ** 2)


P4, X32 = np.array([0.1, -0.2, 0.3, 0.7]), np.arange(6.0).reshape(3, 2) / 5


def test_a_split_parameter_vector_broadcast_against_a_matrix():
    check_grads(_split, [P4, X32], wrt=(0, 1))


@pytest.mark.parametrize("shapes", [{"p": (4,), "X": (3, 2)}, {"p": ("n",), "X": ("m", "k")}])
def test_the_export_of_a_split_parameter_vector(tmp_path, shapes):
    """With names, the program fixes k == 2 and n - 2 == 2: n and k are specialised, and checked."""
    mod = _exported(_split, tmp_path, shapes, wrt=("p", "X"))
    expected = symdiff.grad(_split, wrt=(0, 1))(P4, X32)
    for got, want in zip(mod._split_grad(P4, X32), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match=r"p.shape\[0\] == 4"):
        mod._split_grad(np.ones(6), X32)


def _shifted_softmax(X, W):
    N, D = X.shape
    s = X @ W
    s -= np.max(s, axis=1).reshape(N, 1)
    e = np.exp(s)
    return np.sum(np.log(e / e.sum(axis=1, keepdims=True))[:, 0])


def test_an_in_place_shift_by_a_reshaped_max():
    """``.reshape(N, 1)`` with N from ``X.shape`` kept N symbolic (an int here used to specialise it
    before the in-place check compared shapes)."""
    rng = np.random.default_rng(0)
    check_grads(_shifted_softmax, [rng.normal(size=(3, 2)), rng.normal(size=(2, 4))], wrt=(1,))


@pytest.mark.parametrize("shapes", [{"X": (3, 2), "W": (2, 4)}, {"X": ("n", "d"), "W": ("d", "k")}])
def test_the_export_of_an_in_place_shift(tmp_path, shapes):
    mod = _exported(_shifted_softmax, tmp_path, shapes, wrt="W")
    rng = np.random.default_rng(1)
    X, W = rng.normal(size=(3, 2)), rng.normal(size=(2, 4))
    np.testing.assert_allclose(mod._shifted_softmax_grad(X, W), symdiff.grad(_shifted_softmax, wrt="W")(X, W),
                               rtol=1e-10)
    if "n" in shapes["X"]:  # one module for every number of rows
        X5 = rng.normal(size=(5, 2))
        np.testing.assert_allclose(mod._shifted_softmax_grad(X5, W),
                                   symdiff.grad(_shifted_softmax, wrt="W")(X5, W), rtol=1e-10)


def test_the_cli_on_both(tmp_path):
    from symdiff.cli import main
    src = tmp_path / "model.py"
    src.write_text("import numpy as np\n\n\n"
                   "def split(p, X):\n    a, b = p[:2], p[2:]\n"
                   "    return np.sum((X - a) ** 2) + np.sum((X * b) ** 2)\n\n\n"
                   "def shift(X, W):\n    N, D = X.shape\n    s = X @ W\n"
                   "    s -= np.max(s, axis=1).reshape(N, 1)\n    return np.sum(np.exp(s))\n")
    assert main(["grad", f"{src}:split", "--shape", "p=n", "--shape", "X=m,k", "-o", str(tmp_path / "a.py")]) == 0
    assert main(["grad", f"{src}:shift", "--wrt", "W", "--shape", "X=n,d", "--shape", "W=d,k",
                 "-o", str(tmp_path / "b.py")]) == 0
    assert "def split_grad" in (tmp_path / "a.py").read_text()
    assert "def shift_grad" in (tmp_path / "b.py").read_text()


def test_hypothesis_runs_are_deterministic_by_default():
    """conftest.py loads the ``ci`` profile; ``--hypothesis-profile=dev`` searches at random."""
    if settings.get_current_profile_name() == "ci":
        assert settings.default.derandomize and settings.default.database is None
        assert settings.default.deadline is None


# ---- found by the property tests with random seeds (--hypothesis-profile=dev) ---------------------

W13 = np.array([[0.45, 0.08, 0.87]])


def test_a_slice_of_zeros_whose_size_is_found_to_be_one():
    """Seed 12 of test_random_programs: ``h[1:]`` of a (2, 3) array of zeros broadcast against a
    (1, 3) constant: "cannot broadcast shape () to (n_y0 - 1, n_y1)" (the size was just found to be 1)."""
    def prog(x, y):
        h = y * 0.0
        h = h[1:]
        return np.sum(h * W13) + x * np.sum(y[1:] * W13)
    gx, gy = symdiff.grad(prog, wrt=(0, 1))(np.array(0.5), np.ones((2, 3)))
    assert gx == pytest.approx(np.sum(W13))
    np.testing.assert_allclose(gy, np.r_[np.zeros((1, 3)), 0.5 * W13])


# ---- huge programs ---------------------------------------------------------------------------------

def _ast_depth(tree) -> int:
    import ast
    deepest, stack = 0, [(tree, 1)]
    while stack:  # (iteratively: the point is that the code may be deep)
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(node))
    return deepest


def test_a_long_chain_is_printed_as_statements_of_bounded_depth():
    """3,500 chained np.sin ended in a RecursionError from ast.parse in the printer: the gradient,
    a product of 3,500 cosines, was inlined into one statement. Inlined operands now nest at most
    MAX_CODE_DEPTH deep, so a statement at most twice that (a chain of 200 nested 200 deep before)."""
    import ast

    from symdiff.backends.numpy.printer import MAX_CODE_DEPTH

    def f(x):
        for _ in range(200):
            x = np.sin(x)
        return np.sum(x)
    x = np.array([0.3, 0.9])
    g = symdiff.grad(f)
    got = g(x)
    want, y = np.ones_like(x), x
    for _ in range(200):
        want, y = want * np.cos(y), np.sin(y)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert _ast_depth(ast.parse(g.source)) <= 2 * MAX_CODE_DEPTH + 15  # (+ def, return, call, attribute ...)


def _forever(x):
    return _forever(x)


def _forever_with_math(x):
    return np.sum(x) + _forever_with_math(x * 2.0)  # (the recursion limit is hit inside SymPy)


@pytest.mark.parametrize("fn", [_forever, _forever_with_math])
def test_infinite_recursion_is_reported_at_the_users_line(fn):
    with pytest.raises(symdiff.TraceError) as info:
        symdiff.grad(fn)(np.ones(3))
    message = str(info.value)
    assert f"{fn.__name__} recursed too deep" in message
    assert f"{__file__}:" in message and "sympy" not in message
    line = fn.__code__.co_firstlineno + 1
    assert f"{__file__}:{line} (" in message


# ---- refusals swallowed by the user's try/except ---------------------------------------------------

def _swallows(x):
    try:
        y = np.fft.fft(x)  # not supported: symdiff raises UnsupportedError here ...
    except Exception:  # ... which this catches: the trace would go on with y = x (gradient 1, not fft's)
        y = x
    return np.sum(y)


def test_a_refusal_caught_by_the_users_code_is_raised_anyway(tmp_path):
    with pytest.raises(symdiff.UnsupportedError) as info:
        symdiff.grad(_swallows)(np.ones(3))
    line = _swallows.__code__.co_firstlineno + 2
    assert f"{__file__}:{line}" in str(info.value) and "caught this error" in str(info.value)
    with pytest.raises(symdiff.UnsupportedError, match="caught this error"):
        symdiff.export(_swallows, tmp_path / "unused.py", shapes={"x": ("n",)})


def _catches_its_own(x):
    try:
        if x.shape[0] > 2:
            raise ValueError("too long")
        y = x
    except ValueError:
        y = 3.0 * x
    return np.sum(y)


def _catches_numpys_own(x, w):
    try:
        z = x * w  # shapes (3,) and (2,): NumPy raises ValueError too
    except ValueError:
        z = x * w[0]
    return np.sum(z ** 2)


def _branches_and_composes(x):
    inner = symdiff.grad(lambda v: np.sum(v ** 3))
    return np.sum(inner(x)) if np.sum(x) > 0 else -np.sum(x)


def test_the_users_own_exceptions_still_work():
    np.testing.assert_array_equal(symdiff.grad(_catches_its_own)(np.ones(3)), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(symdiff.grad(_catches_its_own)(np.ones(2)), [1.0, 1.0])
    x, w = np.array([1.0, 2.0, 3.0]), np.array([2.0, 5.0])
    np.testing.assert_allclose(symdiff.grad(_catches_numpys_own)(x, w), 2 * x * w[0] ** 2)
    np.testing.assert_allclose(symdiff.grad(_branches_and_composes)(x), 6 * x)
    np.testing.assert_allclose(symdiff.grad(_branches_and_composes)(-x), -np.ones(3))
