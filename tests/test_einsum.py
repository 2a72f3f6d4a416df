"""np.einsum in full (``...``, the sublist form, implicit output, repeated indices, scalars, optimize=)
and the other contractions (tensordot, inner, vdot, outer, kron, cross): gradients against closed forms,
central differences and autograd; refusals that name np.einsum and the subscripts."""
import numpy as np
import pytest

import symdiff
from symdiff.errors import ShapeError
from symdiff.testing import check_grads


def _grads(f, args):
    return list(symdiff.grad(f, wrt=tuple(range(len(args))))(*args))


# ---------------------------------------------------------------- closed forms --------------------

def test_trace_of_a_product_has_the_transpose_as_gradient():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 3))

    def f(A, B):
        return np.einsum("ij,ji", A, B)
    gA, gB = _grads(f, [A, B])
    np.testing.assert_allclose(gA, B.T, rtol=1e-12)
    np.testing.assert_allclose(gB, A.T, rtol=1e-12)


def test_batched_quadratic_form_under_ellipsis():
    """sum over the batch of x^T A x, written '...i,ij,...j->...': gradient (A + A^T) x per row."""
    rng = np.random.default_rng(1)
    X, A = rng.standard_normal((2, 5, 3)), rng.standard_normal((3, 3))

    def f(X, A):
        return np.sum(np.einsum("...i,ij,...j->...", X, A, X))
    gX, gA = _grads(f, [X, A])
    np.testing.assert_allclose(gX, X @ (A + A.T), rtol=1e-10)
    np.testing.assert_allclose(gA, np.einsum("bni,bnj->ij", X, X), rtol=1e-10)


def test_trace_squared_through_the_sublist_form():
    """(trace A)^2 written einsum(A, [0, 0]): gradient 2 trace(A) I."""
    A = np.arange(9.0).reshape(3, 3) / 5

    def f(A):
        return np.einsum(A, [0, 0]) ** 2
    np.testing.assert_allclose(_grads(f, [A])[0], 2 * np.trace(A) * np.eye(3), rtol=1e-12)


def test_iij_to_j_puts_the_gradient_on_the_diagonal():
    rng = np.random.default_rng(2)
    T, w = rng.standard_normal((3, 3, 2)), rng.standard_normal(2)

    def f(T):
        return np.einsum("iij->j", T) @ w
    expected = np.zeros((3, 3, 2))
    for i in range(3):
        expected[i, i] = w
    np.testing.assert_allclose(_grads(f, [T])[0], expected, rtol=1e-12)


def test_cross_product_triple_gradient_is_a_cross_product():
    """d/da c . (a x b) = b x c and d/db = c x a."""
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((3, 4, 3))

    def f(a, b):
        return np.sum(np.cross(a, b) * c)
    ga, gb = _grads(f, [a, b])
    np.testing.assert_allclose(ga, np.cross(b, c), rtol=1e-12)
    np.testing.assert_allclose(gb, np.cross(c, a), rtol=1e-12)


def test_vdot_flattens_and_kron_of_identity_is_a_block_sum():
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))

    def f(A, B):
        return np.vdot(A, B)
    gA, gB = _grads(f, [A, B])
    np.testing.assert_allclose(gA, B.reshape(2, 3), rtol=1e-12)
    np.testing.assert_allclose(gB, A.reshape(3, 2), rtol=1e-12)
    W = rng.standard_normal((6, 6))

    def g(B):
        return np.sum(np.kron(np.eye(2), B) * W)
    gK = _grads(g, [rng.standard_normal((3, 3))])[0]
    np.testing.assert_allclose(gK, W[:3, :3] + W[3:, 3:], rtol=1e-12)


# ---------------------------------------------------------------- against autograd ----------------

EINSUMS = [
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...j,j", [(2, 3, 4), (4,)]),
    ("i...,i...->...", [(3, 1, 4), (3, 2, 1)]),   # size-1 axes under '...' broadcast
    ("...,...", [(2, 1), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ab,bc,ca", [(2, 3), (3, 4), (4, 2)]),        # implicit: a full contraction, a cycle
]


@pytest.mark.parametrize("spec, shapes", EINSUMS)
def test_einsum_against_autograd(spec, shapes):
    anp = pytest.importorskip("autograd.numpy")
    autograd = pytest.importorskip("autograd")
    rng = np.random.default_rng(5)
    args = [rng.standard_normal(s) for s in shapes]
    w = rng.standard_normal(np.shape(np.einsum(spec, *args)))

    def f(*xs):
        return np.sum(np.einsum(spec, *xs) * w)

    def peer(*xs):
        return anp.sum(anp.einsum(spec, *xs) * w)
    ours = _grads({1: lambda a: f(a), 2: lambda a, b: f(a, b), 3: lambda a, b, c: f(a, b, c)}[len(args)], args)
    for k, g in enumerate(ours):
        np.testing.assert_allclose(g, autograd.grad(peer, k)(*args), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, shapes, kwargs", [
    ("tensordot", [(2, 3, 4), (4, 3, 2)], {"axes": ([1, 2], [1, 0])}),
    ("tensordot", [(2, 3, 4), (3, 4)], {"axes": (-2, 0)}),
    ("tensordot", [(2, 3), (4,)], {"axes": 0}),
    ("inner", [(2, 3, 4), (5, 4)], {}),
    ("outer", [(3,), (4,)], {}),
    ("kron", [(2, 1, 2), (2, 3)], {}),
    ("kron", [(2, 3), (3,)], {}),
    ("cross", [(4, 3), (4, 3)], {}),
    ("cross", [(3, 4), (4, 3)], {"axisa": 0, "axisc": 0}),
])
def test_contraction_against_autograd(name, shapes, kwargs):
    anp = pytest.importorskip("autograd.numpy")
    autograd = pytest.importorskip("autograd")
    rng = np.random.default_rng(6)
    a, b = (rng.standard_normal(s) for s in shapes)
    fn, peer_fn = getattr(np, name), getattr(anp, name)
    w = rng.standard_normal(np.shape(fn(a, b, **kwargs)))

    def f(a, b):
        return np.sum(fn(a, b, **kwargs) * w)

    def peer(a, b):
        return anp.sum(peer_fn(a, b, **kwargs) * w)
    ga, gb = _grads(f, [a, b])
    np.testing.assert_allclose(ga, autograd.grad(peer, 0)(a, b), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, autograd.grad(peer, 1)(a, b), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- forms and central differences ---

@pytest.mark.parametrize("spec, shapes", [
    ("ii->i", [(3, 3)]), ("bii,i->b", [(2, 3, 3), (3,)]), ("iij,jk->ik", [(3, 3, 2), (2, 2)]),
    ("...ii->...i", [(2, 3, 3)]),
])
def test_repeated_indices_against_central_differences(spec, shapes):
    """autograd's einsum refuses an index repeated within one operand: central differences here."""
    rng = np.random.default_rng(10)
    args = [rng.standard_normal(s) for s in shapes]
    w = rng.standard_normal(np.shape(np.einsum(spec, *args)))

    def f(*xs):
        return np.sum(np.einsum(spec, *xs) * w)
    check_grads({1: lambda a: f(a), 2: lambda a, b: f(a, b)}[len(args)], args)


def test_broadcast_cross_and_flattening_outer_have_their_inputs_shapes():
    """Where autograd 0.10's vjps return the broadcast (cross) or flattened (outer) shape, the closed
    forms: d/da sum(W * (a x b)) = sum over the broadcast axis of b x W; d/dA sum(W * outer(A, b)) = W b."""
    rng = np.random.default_rng(11)
    a, b, W = rng.standard_normal((2, 1, 3)), rng.standard_normal((4, 3)), rng.standard_normal((2, 4, 3))

    def f(a, b):
        return np.sum(np.cross(a, b) * W)
    ga, gb = _grads(f, [a, b])
    np.testing.assert_allclose(ga, np.sum(np.cross(b, W), axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(gb, np.sum(np.cross(W, a), axis=0), rtol=1e-12)
    A, v, V = rng.standard_normal((2, 2)), rng.standard_normal(3), rng.standard_normal((4, 3))

    def g(A, v):
        return np.sum(np.outer(A, v) * V)
    gA, gv = _grads(g, [A, v])
    np.testing.assert_allclose(gA, (V @ v).reshape(2, 2), rtol=1e-12)
    np.testing.assert_allclose(gv, V.T @ A.ravel(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cross_of_a_2_vector_and_a_3_vector():
    """NumPy takes the 2-vector's z as 0 (autograd 0.10 returns a 3-vector gradient for it)."""
    rng = np.random.default_rng(12)
    a, b, W = rng.standard_normal((4, 2)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))

    def f(a, b):
        return np.sum(np.cross(a, b) * W)
    ga, gb = _grads(f, [a, b])
    a3 = np.concatenate([a, np.zeros((4, 1))], axis=1)
    np.testing.assert_allclose(ga, np.cross(b, W)[:, :2], rtol=1e-12)
    np.testing.assert_allclose(gb, np.cross(W, a3), rtol=1e-12)


def test_sublist_form_with_ellipsis_and_an_output_list():
    rng = np.random.default_rng(7)
    A, v = rng.standard_normal((2, 3, 4)), rng.standard_normal(4)
    w = rng.standard_normal((3, 2))

    def f(A, v):
        return np.sum(np.einsum(A, [0, Ellipsis, 30], v, [30], [Ellipsis, 0]) * w)
    check_grads(f, [A, v])
    assert np.einsum(A, [0, Ellipsis, 30], v, [30], [Ellipsis, 0]).shape == (3, 2)


def test_scalar_operands_and_optimize_change_no_value():
    rng = np.random.default_rng(8)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))

    def f(A, B):
        return np.sum(np.einsum("ij,,jk->ik", A, 2.5, B, optimize=["einsum_path", (0, 2), (0, 1)]) ** 2)
    check_grads(f, [A, B])
    g = symdiff.grad(f, wrt=(0, 1))
    expected = 2 * (2.5 * A @ B) * 2.5
    np.testing.assert_allclose(g(A, B)[0], expected @ B.T, rtol=1e-10)


def test_three_operands_print_optimize_true():
    def f(a, b, c):
        return np.sum(np.einsum("ij,jk,kl->il", a, b, c) ** 2)
    g = symdiff.grad(f, wrt=(0, 1, 2))
    g(np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 2)))
    assert "optimize=True" in g.source


def test_second_order_through_ellipsis():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((2, 3))

    def f(X):
        return np.sum(np.einsum("...i,...i->...", X, X) ** 2)
    H = symdiff.hessian(f)(X)
    # f = sum_b |x_b|^4: the Hessian of each row is 4 |x|^2 I + 8 x x^T, no coupling between rows
    expected = np.zeros((2, 3, 2, 3))
    for b in range(2):
        x = X[b]
        expected[b, :, b, :] = 4 * (x @ x) * np.eye(3) + 8 * np.outer(x, x)
    np.testing.assert_allclose(H, expected, rtol=1e-10)


# ---------------------------------------------------------------- refusals ------------------------

@pytest.mark.parametrize("spec, shape, words", [
    ("...i->i", (3, 3), "has no '...'"),
    ("i.j", (3, 3), "'.'"),
    ("ijk,", (3, 3), "operands"),
    ("ijk->", (3, 3), "'ijk' names 3 axes"),
    ("ij->kk", (3, 3), "repeats an index"),
    ("i$j", (3, 3), "letters"),
])
def test_einsum_refusals_name_np_einsum_and_the_subscripts(spec, shape, words):
    def f(x):
        return np.sum(np.einsum(spec, x))
    with pytest.raises(ShapeError) as info:
        symdiff.grad(f)(np.ones(shape))
    message = str(info.value)
    assert "np.einsum" in message and repr(spec) in message and words in message
    assert "test_einsum.py:" in message


def test_bad_sublist_label_is_named():
    def f(x):
        return np.sum(np.einsum(x, [0, 60]))
    with pytest.raises(ShapeError, match="label 60"):
        symdiff.grad(f)(np.ones((3, 3)))


def test_tensordot_with_mismatched_axes_is_refused():
    def f(a, b):
        return np.sum(np.tensordot(a, b, axes=([0], [0])))
    with pytest.raises(ShapeError, match="np.tensordot"):
        symdiff.grad(f, wrt=(0, 1))(np.ones((2, 3)), np.ones((3, 2)))
