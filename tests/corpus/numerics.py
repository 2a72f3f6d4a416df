"""Miscellaneous numerics: least squares, PDE residuals, interpolation, quadrature, optimization objectives."""
import numpy as np
import scipy.special as sp

from corpus import N, SPD, U, entry


@entry(N(2), wrt="p")
def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


@entry(N(6), wrt="x")
def rosenbrock_nd(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@entry(N(5), wrt="x")
def rastrigin(x):
    return 10 * len(x) + np.sum(x ** 2 - 10 * np.cos(2 * np.pi * x))


@entry(N(4), SPD(4), N(4), wrt="x")
def quadratic_form(x, A, b):
    return 0.5 * x @ A @ x - b @ x


@entry(N(6), wrt="u")
def poisson_1d_residual(u):
    h = 1.0 / 7
    lap = (u[2:] - 2 * u[1:-1] + u[:-2]) / h ** 2
    f = np.sin(np.pi * np.linspace(0, 1, 6)[1:-1])
    return np.sum((lap + f) ** 2) * h


@entry(N(5, 5), wrt="u")
def laplacian_2d_energy(u):
    gx = u[1:, :] - u[:-1, :]
    gy = u[:, 1:] - u[:, :-1]
    return 0.5 * (np.sum(gx ** 2) + np.sum(gy ** 2))


@entry(N(6), wrt="y")
def trapezoid_integral(y):
    x = np.linspace(0.0, 1.0, 6)
    dx = x[1] - x[0]
    f = np.exp(y)
    return dx * (np.sum(f) - 0.5 * (f[0] + f[-1]))


@entry(N(4), wrt="c")
def chebyshev_fit(c):
    t = np.linspace(-1, 1, 9)
    T = np.stack([np.ones_like(t), t, 2 * t ** 2 - 1, 4 * t ** 3 - 3 * t], axis=1)
    return np.sum((T @ c - np.abs(t)) ** 2)


@entry(U(0.2, 0.8, 5), N(5), wrt="y")
def linear_interpolation(xq, y):
    xs = np.linspace(0, 1, 5)
    w = np.maximum(0, 1 - np.abs(xq[:, None] - xs[None, :]) * 4)
    return np.sum((w @ y) ** 2)


@entry(N(3, 3), N(3), wrt="A")
def solve_least_squares(A, b):
    M = A @ A.T + 3 * np.eye(3)
    x = np.linalg.solve(M, b)
    return x @ x


@entry(N(4, 2), N(4), N(2), wrt="w")
def gauss_newton_objective(J, r, w):
    res = r + J @ w
    return 0.5 * np.dot(res, res)


@entry(N(5), wrt="x")
def softmax_entropy(x):
    p = np.exp(x - x.max())
    p = p / p.sum()
    return -np.sum(p * np.log(p))


@entry(N(5), wrt="x", needs=("scipy_special",))
def log_softmax_scipy(x):
    return np.sum(sp.log_softmax(x) * np.arange(5))


@entry(U(0.1, 0.9, 5), wrt="p", needs=("scipy_special",))
def logit_transform(p):
    return np.sum(sp.logit(p) ** 2) + np.sum(sp.xlog1py(p, -p))


@entry(N(3, 3), wrt="A")
def frobenius_and_trace(A):
    return np.linalg.norm(A) ** 2 + np.trace(A @ A.T) + np.sum(np.diag(A) ** 3)


@entry(N(4), N(4), wrt=("x", "y"))
def outer_tensordot(x, y):
    return np.tensordot(np.outer(x, y), np.outer(y, x), axes=2)


@entry(N(3, 4), wrt="x")
def shape_manipulations(x):
    y = np.concatenate([x, x[::-1]], axis=0).reshape(2, 12).T
    z = np.hstack([y[:, :1], np.flip(y, axis=0)[:, 1:]])
    return np.sum(np.tile(z, (1, 2)) * np.repeat(np.arange(4.0), 3)[:, None])


@entry(N(5), wrt="x")
def cumulative_ops(x):
    return np.sum(np.cumsum(x) ** 2) + np.ptp(x) + np.prod(1 + 0.1 * x)


@entry(N(2, 3), wrt="x")
def expand_squeeze_broadcast(x):
    y = np.expand_dims(x, 1)
    z = np.broadcast_to(y, (2, 4, 3))
    return np.sum(np.squeeze(z[:, :1, :], axis=1) * x) + np.sum(np.moveaxis(z, 2, 0)[0])


@entry(N(6), wrt="x")
def sorted_free_soft_rank(x):
    diff = x[:, None] - x[None, :]
    return np.sum(1 / (1 + np.exp(-diff / 0.5)), axis=1) @ np.arange(6)


@entry(N(5), wrt="x", needs=("fancy_index",))
def boolean_mask_sum(x):
    positive = x > 0
    return np.sum(x[positive] ** 2) + 0.1 * np.sum(x[~positive])


@entry(N(6), wrt="x", needs=("fancy_index",))
def gather_permutation(x):
    perm = np.array([5, 3, 1, 0, 2, 4])
    return np.sum(x * x[perm]) + np.sum(x[[0, 2]])


@entry(N(5), wrt="x", needs=("index_update",))
def cumulative_max_smooth(x):
    out = np.zeros_like(x)
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = np.logaddexp(out[i - 1], x[i])
    return out.sum()


@entry(N(4), wrt="x", needs=("np_array_list", "scipy_special"))
def special_functions_mix(x):
    v = np.array([sp.erf(x[0]), sp.expit(x[1]), sp.erfc(x[2]), x[3]])
    return np.sum(v ** 2)


@entry(N(6), wrt="x")
def quantization_error(x):
    step = 0.25
    return np.sum((x - np.round(x / step) * step) ** 2) + np.sum(np.floor(x) * x)


@entry(N(5), wrt="x")
def builtin_sum_of_array(x):
    return sum(x ** 2) / len(x)


@entry(N(7), wrt="x")
def trimmed_mean_loss(x):
    s = np.sort(x)
    return np.mean(s[1:-1] ** 2)
