"""Machine-learning losses."""
import numpy as np
import scipy.special as sp

from corpus import BITS, N, ONEHOT, SIGNS, U, entry

EPS = 1e-12


@entry(N(6), N(6))
def mse(pred, target):
    return np.mean((pred - target) ** 2)


@entry(N(4, 3), N(4, 3))
def sum_squared_error(pred, target):
    diff = pred - target
    return 0.5 * np.sum(diff * diff)


@entry(N(5, 3), N(3), N(5))
def linear_regression(X, w, y):
    residual = X @ w - y
    return residual @ residual / len(y)


@entry(N(5, 3), N(3), N(5), U(0.1, 1.0), wrt=("w", "lam"))
def ridge(X, w, y, lam):
    return np.sum((X.dot(w) - y) ** 2) + lam * np.sum(w ** 2)


@entry(N(8), N(8), wrt=("pred", "target"))
def huber(pred, target, delta=1.0):
    r = np.abs(pred - target)
    return np.mean(np.where(r < delta, 0.5 * r ** 2, delta * (r - 0.5 * delta)))


@entry(N(7), N(7))
def pseudo_huber(pred, target):
    delta = 0.5
    return np.sum(delta ** 2 * (np.sqrt(1 + ((pred - target) / delta) ** 2) - 1))


@entry(N(6), N(6))
def log_cosh(pred, target):
    return np.mean(np.log(np.cosh(pred - target)))


@entry(N(6, 2), N(2), SIGNS(6))
def hinge(X, w, y):
    margins = y * (X @ w)
    return np.mean(np.maximum(0, 1 - margins))


@entry(N(6, 2), N(2), SIGNS(6))
def squared_hinge(X, w, y):
    return np.mean(np.maximum(0.0, 1.0 - y * X.dot(w)) ** 2)


@entry(N(5, 3), N(3), N(5))
def epsilon_insensitive(X, w, y):
    return np.sum(np.maximum(np.abs(X @ w - y) - 0.1, 0))


@entry(N(8), BITS(8))
def logistic(z, y):
    p = 1 / (1 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


@entry(N(8), SIGNS(8))
def logistic_pm1(z, y):
    return np.sum(np.logaddexp(0, -y * z))


@entry(N(6, 3), N(3), N(), BITS(6), wrt=("w", "b"))
def logistic_regression_l2(X, w, b, y):
    z = X @ w + b
    nll = np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - y * z)
    return nll + 1e-2 * w @ w


@entry(N(4, 5), ONEHOT(4, 5))
def softmax_cross_entropy(logits, labels):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(labels * log_probs) / logits.shape[0]


@entry(N(4, 5), ONEHOT(4, 5))
def naive_softmax_cross_entropy(logits, labels):
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return -np.mean(np.sum(labels * np.log(probs), axis=-1))


@entry(N(3, 4), ONEHOT(3, 4), needs=("scipy_special",))
def label_smoothing_cross_entropy(logits, labels):
    k = logits.shape[-1]
    smooth = labels * 0.9 + 0.1 / k
    logp = logits - sp.logsumexp(logits, axis=-1, keepdims=True)
    return -(smooth * logp).sum(axis=-1).mean()


@entry(N(8), BITS(8))
def focal(z, y, gamma=2.0):
    p = 1.0 / (1.0 + np.exp(-z))
    pt = y * p + (1 - y) * (1 - p)
    return -np.mean((1 - pt) ** gamma * np.log(pt))


@entry(N(5), N(5))
def kl_divergence_logits(a, b):
    p = np.exp(a - np.log(np.sum(np.exp(a))))
    logq = b - np.log(np.sum(np.exp(b)))
    return np.sum(p * (np.log(p) - logq))


@entry(U(0.1, 1.0, 6), U(0.1, 1.0, 6), wrt=("p", "q"))
def kl_unnormalized(p, q):
    p = p / p.sum()
    q = q / q.sum()
    return np.sum(p * np.log(p / q))


@entry(N(6, 3), N(6, 3), BITS(6), wrt=("a", "b"))
def contrastive(a, b, same, margin=1.0):
    d = np.sqrt(np.sum((a - b) ** 2, axis=1) + EPS)
    return np.mean(same * d ** 2 + (1 - same) * np.maximum(margin - d, 0) ** 2)


@entry(N(4, 3), N(4, 3), N(4, 3), wrt=("anchor", "positive", "negative"))
def triplet(anchor, positive, negative):
    dp = np.sum((anchor - positive) ** 2, -1)
    dn = np.sum((anchor - negative) ** 2, -1)
    return np.maximum(dp - dn + 0.5, 0.0).mean()


@entry(N(4, 3), N(4, 3))
def infonce(u, v):
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    sim = u @ v.T / 0.5
    logz = np.log(np.exp(sim).sum(axis=1))
    return np.mean(logz - np.diagonal(sim))


@entry(U(0.05, 0.95, 6), BITS(6))
def binary_cross_entropy_probs(p, y):
    return -np.sum(y * np.log(p + EPS) + (1 - y) * np.log(1 - p + EPS))


@entry(N(6), BITS(6), needs=("scipy_special",))
def bce_expit(z, y):
    p = sp.expit(z)
    return -np.mean(sp.xlogy(y, p) + sp.xlogy(1 - y, 1 - p))


@entry(N(6), N(6), needs=("branch",))
def smooth_l1(pred, target):
    total = 0.0
    for i in range(len(pred)):
        d = abs(pred[i] - target[i])
        total = total + (0.5 * d * d if d < 1.0 else d - 0.5)
    return total / len(pred)


@entry(N(7), N(7))
def quantile(pred, target, tau=0.3):
    r = target - pred
    return np.mean(np.maximum(tau * r, (tau - 1) * r))


@entry(U(0.2, 3.0, 6), U(0.2, 3.0, 6))
def poisson_nll(rate, counts):
    return np.sum(rate - counts * np.log(rate))


@entry(N(5), U(0.5, 2.0, 5))
def cosine_embedding(a, b):
    return 1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


@entry(N(3, 4), U(0.1, 1.0, 3, 4))
def dice(logits, target):
    p = 1 / (1 + np.exp(-logits))
    inter = (p * target).sum()
    return 1 - 2 * inter / (p.sum() + target.sum())


@entry(N(6), wrt="z")
def entropy_safe_where(z):
    p = z / 3.0
    return -np.sum(np.where(p > 0, p * np.log(p), 0.0))


@entry(N(4, 3), ONEHOT(4, 3), wrt="logits")
def confidence_weighted_ce(logits, labels):
    pred = np.arange(logits.shape[1]) == np.argmax(logits, axis=1)[:, None]
    correct = np.sum(pred * labels, axis=1)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean((2.0 - correct) * np.sum(labels * logp, axis=1))
