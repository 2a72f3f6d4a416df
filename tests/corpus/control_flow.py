"""Python control flow and program structure around NumPy: helpers, closures, loops, branches."""
import math

import numpy as np

from corpus import C, N, U, add, entry

SCALE = 0.5
WEIGHTS = np.array([1.0, 2.0, 3.0])


def _square(x):
    return x * x


def _affine(x, a=2.0, b=-1.0):
    return a * x + b


def _stats(x):
    return x.mean(), x.std()


@entry(N(5), wrt="x")
def helper_calls(x):
    return np.sum(_square(_affine(x)) + _affine(x, b=0.5))


@entry(N(3), wrt="x")
def module_constants(x):
    return SCALE * np.sum(WEIGHTS * x ** 2)


@entry(N(4), U(0.5, 2.0), wrt=("x", "a"))
def keyword_arguments(x, a):
    return np.sum(_affine(x, b=a, a=a * a))


@entry(N(6), wrt="x")
def tuple_unpacking(x):
    mu, sd = _stats(x)
    lo, hi = x.min(), x.max()
    return (hi - lo) * sd + mu


def make_scaled_loss(scale):
    def loss(w, x):
        return scale * np.sum((x @ w) ** 2)
    return loss


add(make_scaled_loss(0.25), N(3), N(4, 3), wrt="w", name="closure_factory")


@entry(N(4), wrt="x")
def nested_function(x):
    k = 3.0

    def inner(y):
        return np.sin(k * y)
    return np.sum(inner(x) * inner(x[::-1]))


@entry(N(5), wrt="x")
def range_loop_known(x):
    total = 0.0
    for i in range(5):
        total = total + (i + 1) * x[i] ** 2
    return total


@entry(N(5), C(4), wrt="x")
def range_loop_int_argument(x, n_iter):
    y = x
    for _ in range(n_iter):
        y = np.tanh(y) + 0.5 * x
    return np.sum(y)


@entry(N(4, 3), N(3), wrt=("X", "w"))
def loop_over_rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(row @ w)
    return total


@entry(N(4, 3), wrt="X")
def enumerate_rows(X):
    total = 0.0
    for i, row in enumerate(X):
        total = total + (i + 1) * np.sum(row ** 2)
    return total


@entry(N(4), wrt="x")
def while_known(x):
    y, k = x, 0
    while k < 3:
        y = y * 0.5 + np.sin(y)
        k += 1
    return np.sum(y)


@entry(N(4), wrt="x")
def while_halving(x):
    step = 1.0
    out = 0.0
    while step > 0.1:
        out = out + step * np.sum(np.cos(x * step))
        step /= 2
    return out


@entry(N(5, 3), wrt="X")
def list_comprehension_stack(X):
    cols = [X[:, j] * (j + 1) for j in range(X.shape[1])]
    return np.sum(np.stack(cols, axis=1) ** 2)


@entry(N(4), wrt="x")
def sum_of_list(x):
    terms = [np.sin(k * x) / k for k in range(1, 4)]
    return np.sum(sum(terms))


@entry(N(3, 4), wrt="x")
def methods_and_attributes(x):
    n, m = x.shape
    col = x.sum(axis=0) / n
    return (x.T @ x).trace() / m + col.dot(col) + x.mean() * x.ndim + x.max() / len(x)


@entry(N(2, 3, 4), wrt="x")
def reductions_axis_keepdims(x):
    a = x.sum(axis=(0, 2), keepdims=True)
    b = np.mean(x, axis=-1)
    c = np.max(x, axis=1, keepdims=True)
    return np.sum(a * x) + np.sum(b ** 2) + np.sum(c)


@entry(N(8), wrt="x")
def slicing_steps(x):
    return np.sum(x[::2] * x[1::2]) + np.sum(x[-3:] ** 2) + x[::-1][0] * x[-1]


@entry(N(3, 4), wrt="x")
def slicing_none_ellipsis(x):
    row = x[None, 0, :]
    col = x[..., -1][:, None]
    return np.sum(row * col) + np.sum(x[1:, ...][:, ::-2])


@entry(N(4), N(4), wrt=("a", "b"))
def aliasing_rebinding(a, b):
    c = a
    c = c * 2
    a = a + b
    d = c
    d = d + a
    return np.sum(d * c) + np.sum(a)


@entry(N(4), wrt="x")
def augmented_assignment(x):
    y = x * 1.0
    y += 1.0
    y *= x
    y -= x ** 3
    y /= 2.0
    return np.sum(y)


@entry(N(5), wrt="x", needs=("branch",))
def if_elif_else(x):
    s = np.sum(x)
    if s > 1.0:
        return s ** 2
    elif s > -1.0:
        return np.sum(np.sin(x))
    else:
        return -s


@entry(N(4), N(4), wrt=("a", "b"), needs=("branch",))
def conditional_expression(a, b):
    d = np.sum(a * b)
    return d * d if d > 0 else np.exp(d) - 1.0


@entry(N(3), N(3), wrt=("a", "b"), needs=("branch",))
def builtin_min_max(a, b):
    return max(np.sum(a ** 2), np.sum(b ** 2)) - min(a[0], b[0])


@entry(N(6), wrt="x", needs=("branch",))
def branch_in_loop(x):
    acc = 0.0
    for i in range(6):
        acc = acc + (x[i] if x[i] > 0 else 0.1 * x[i])
    return acc


@entry(N(5), wrt="x", needs=("has_aux",))
def value_with_aux(x):
    loss = np.sum(x ** 2)
    metrics = {"norm": np.sqrt(loss)}
    return loss, metrics["norm"]


@entry(N(4, 3), N(3), wrt="w", needs=("has_aux",))
def value_with_predictions(X, w):
    pred = X @ w
    return np.mean(pred ** 2), pred


@entry(N(5), wrt="x", needs=("index_update",))
def recurrence_index_update(x):
    a = np.zeros(5)
    a[0] = x[0]
    for i in range(1, 5):
        a[i] = 0.5 * a[i - 1] + x[i]
    return np.sum(a ** 2)


@entry(N(6), wrt="v", needs=("index_update",))
def slice_augmented_update(v):
    a = np.zeros(6)
    a[1:] += v[:-1]
    a[:3] = a[:3] * 2
    return np.sum(a * v)


@entry(N(3), wrt="x", needs=("np_array_list",))
def array_from_list(x):
    y = np.array([x[0] * x[1], x[1] + x[2], np.sin(x[2])])
    return np.sum(y ** 2)


@entry(N(), N(), wrt=("a", "b"), needs=("np_array_list",))
def matrix_from_scalars(a, b):
    M = np.array([[a, b], [-b, a]])
    return np.sum(M @ M)


@entry(U(0.5, 2.0), U(0.5, 2.0), wrt=("a", "b"), needs=("math",))
def math_module_scalars(a, b):
    return math.exp(-a) * math.sin(b) + math.sqrt(a * b) + math.log(a + b) + math.pi * a


@entry(N(4), C(3), wrt="x")
def polynomial_horner(x, degree):
    coeffs = [1.0 / (k + 1) for k in range(degree + 1)]
    y = coeffs[-1] * np.ones_like(x)
    for c in coeffs[-2::-1]:
        y = y * x + c
    return np.sum(y)


@entry(N(4), wrt="x", needs=("branch",))
def early_return_guard(x):
    norm = np.sqrt(np.sum(x ** 2))
    if norm < 1e-8:
        return 0.0 * norm
    return np.sum(x / norm * np.arange(4))
