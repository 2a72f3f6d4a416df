"""Log-likelihoods and other statistical objectives."""
import math

import numpy as np
import scipy.special as sp

from corpus import BITS, COUNTS, N, ONEHOT, SPD, U, entry

LOG_2PI = np.log(2 * np.pi)


def log_normal_pdf(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * LOG_2PI


def logsumexp(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


@entry(N(8), N(), U(0.5, 2.0), wrt=("mu", "sigma"))
def normal_loglik(x, mu, sigma):
    n = x.size
    return -n * np.log(sigma) - 0.5 * n * np.log(2 * np.pi) - np.sum((x - mu) ** 2) / (2 * sigma ** 2)


@entry(N(8), N(), N(), wrt=("mu", "log_sigma"))
def normal_loglik_logscale(x, mu, log_sigma):
    return np.sum(log_normal_pdf(x, mu, np.exp(log_sigma)))


@entry(N(6, 3), N(3), SPD(3), wrt=("mu", "P"))
def mvn_loglik_precision(X, mu, P):
    d = X - mu
    quad = np.einsum("ni,ij,nj->n", d, P, d)
    _, logdet = np.linalg.slogdet(P)
    return 0.5 * X.shape[0] * logdet - 0.5 * quad.sum() - 0.5 * X.shape[0] * X.shape[1] * LOG_2PI


@entry(N(5, 2), N(2), U(0.5, 1.5, 2), U(-0.5, 0.5), wrt=("mu", "s", "rho"))
def bivariate_normal(X, mu, s, rho):
    z0 = (X[:, 0] - mu[0]) / s[0]
    z1 = (X[:, 1] - mu[1]) / s[1]
    q = (z0 ** 2 - 2 * rho * z0 * z1 + z1 ** 2) / (1 - rho ** 2)
    return np.sum(-0.5 * q - np.log(2 * np.pi * s[0] * s[1] * np.sqrt(1 - rho ** 2)))


@entry(N(6, 3), N(3), N(3, 3), wrt=("mu", "L"))
def mvn_cholesky_free(X, mu, L):
    cov = L @ L.T + np.eye(3)
    prec = np.linalg.inv(cov)
    d = X - mu
    return -0.5 * np.sum((d @ prec) * d) - 0.5 * len(X) * np.log(np.linalg.det(cov))


@entry(COUNTS(3.0, 8), N(), wrt="log_rate")
def poisson_loglik(k, log_rate):
    return np.sum(k * log_rate - np.exp(log_rate))


@entry(COUNTS(2.0, 6), N(6, 2), N(2), wrt="w")
def poisson_regression(k, X, w):
    eta = X @ w
    return -np.mean(k * eta - np.exp(eta))


@entry(U(0.5, 3.0, 6), U(1.0, 3.0), U(0.5, 2.0), wrt=("shape", "rate"), needs=("scipy_special",))
def gamma_loglik_gammaln(x, shape, rate):
    return np.sum(shape * np.log(rate) - sp.gammaln(shape) + (shape - 1) * np.log(x) - rate * x)


@entry(U(0.5, 3.0, 6), U(1.0, 3.0), wrt="rate")
def gamma_loglik_fixed_shape(x, rate, shape=2.5):
    return np.sum(shape * np.log(rate) + (shape - 1) * np.log(x) - rate * x)


@entry(U(0.5, 3.0, 6), U(0.5, 2.0), wrt="lam")
def exponential_loglik(x, lam):
    return len(x) * np.log(lam) - lam * x.sum()


@entry(N(7), N(), U(0.5, 2.0), U(2.0, 6.0), wrt=("mu", "sigma", "nu"), needs=("scipy_special",))
def student_t_loglik(x, mu, sigma, nu):
    z = (x - mu) / sigma
    c = sp.gammaln((nu + 1) / 2) - sp.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi) - np.log(sigma)
    return np.sum(c - (nu + 1) / 2 * np.log1p(z ** 2 / nu))


@entry(N(7), N(), U(0.5, 2.0), wrt=("mu", "sigma"))
def student_t_kernel(x, mu, sigma, nu=4.0):
    z = (x - mu) / sigma
    return -np.sum((nu + 1) / 2 * np.log(1 + z ** 2 / nu)) - x.shape[0] * np.log(sigma)


@entry(N(8), N(2), N(2), N(2), wrt=("logits", "mu", "log_s"))
def gaussian_mixture(x, logits, mu, log_s):
    log_w = logits - np.log(np.sum(np.exp(logits)))
    comp = log_w + log_normal_pdf(x[:, None], mu, np.exp(log_s))
    return np.sum(logsumexp(comp, axis=1))


@entry(N(8), N(3), N(3), wrt=("logits", "mu"), needs=("scipy_special",))
def gaussian_mixture_scipy(x, logits, mu):
    log_w = logits - sp.logsumexp(logits)
    return np.sum(sp.logsumexp(log_w - 0.5 * (x[:, None] - mu) ** 2, axis=1))


@entry(BITS(8), U(0.1, 0.9), wrt="p")
def bernoulli_loglik(y, p):
    return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


@entry(ONEHOT(6, 4), N(4), wrt="theta")
def categorical_loglik(y, theta):
    log_p = theta - np.log(np.exp(theta).sum())
    return np.sum(y @ log_p)


@entry(U(0.1, 0.9, 4), U(0.5, 3.0, 4), wrt="alpha", needs=("scipy_special",))
def dirichlet_loglik(p, alpha):
    p = p / p.sum()
    return sp.gammaln(alpha.sum()) - sp.gammaln(alpha).sum() + np.sum((alpha - 1) * np.log(p))


@entry(U(0.1, 0.9, 5), U(0.5, 3.0), U(0.5, 3.0), wrt=("a", "b"))
def beta_kernel(x, a, b):
    return np.sum((a - 1) * np.log(x) + (b - 1) * np.log1p(-x))


@entry(N(6), N(), U(0.5, 2.0), wrt=("mu", "b"))
def laplace_loglik(x, mu, b):
    return -np.sum(np.abs(x - mu)) / b - x.size * np.log(2 * b)


@entry(U(0.5, 3.0, 6), N(), U(0.3, 1.0), wrt=("mu", "sigma"))
def lognormal_loglik(x, mu, sigma):
    lx = np.log(x)
    return np.sum(-lx - np.log(sigma) - 0.5 * LOG_2PI - (lx - mu) ** 2 / (2 * sigma ** 2))


@entry(N(6, 3), N(3), N(6), wrt="w")
def bayesian_linreg_map(X, w, y, noise=0.5, prior=2.0):
    r = y - X @ w
    return r @ r / (2 * noise ** 2) + w @ w / (2 * prior ** 2)


@entry(N(5), N(), U(0.5, 1.5), wrt=("x", "mu", "sigma"), needs=("math",))
def normal_loglik_math_consts(x, mu, sigma):
    return -0.5 * np.sum((x - mu) ** 2) / sigma ** 2 - x.size * math.log(sigma) - 0.5 * x.size * math.log(2 * math.pi)


@entry(N(5), N(), wrt="mu")
def cauchy_loglik(x, mu, gamma=1.0):
    return -np.sum(np.log(np.pi * gamma * (1 + ((x - mu) / gamma) ** 2)))


@entry(N(10), U(-0.8, 0.8), U(0.5, 1.5), wrt=("phi", "sigma"))
def ar1_loglik(x, phi, sigma):
    e = x[1:] - phi * x[:-1]
    return -0.5 * np.sum(e ** 2) / sigma ** 2 - (len(x) - 1) * np.log(sigma)


@entry(N(6), wrt="x", needs=("has_aux",))
def standardize_with_stats(x):
    mu = x.mean()
    sd = x.std()
    z = (x - mu) / sd
    return np.sum(z ** 3) / x.size, (mu, sd)


@entry(N(8), N(), U(0.5, 2.0), wrt=("mu", "sigma"), needs=("scipy_special",))
def normal_cdf_loglik_censored(x, mu, sigma):
    z = (x - mu) / sigma
    return np.sum(np.log(0.5 * sp.erfc(-z / np.sqrt(2))))


@entry(N(6), wrt="x", needs=("np_array_list",))
def mean_of_moments(x):
    m1, m2 = np.mean(x), np.mean(x ** 2)
    return np.mean([m1, m2 - m1 ** 2, np.mean(x ** 3)])
