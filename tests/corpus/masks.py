"""Boolean masks: masked assignments (``out[out < 0] = 0``) and gathers whose length is known only at run time."""
import numpy as np

from corpus import LABELS, MASK, N, entry


@entry(N(6, 4), N(4, 5), N(5, 3), wrt=("W1", "W2"), needs=("index_update",))
def relu_net_masked(X, W1, W2):
    hidden = X @ W1
    hidden[hidden < 0] = 0  # ReLU, written the way course solutions write it
    scores = hidden @ W2
    return 0.5 * np.sum(scores ** 2) / X.shape[0]


@entry(N(7, 4), N(4, 3), LABELS(3, 7), wrt="W", needs=("index_update",))
def svm_hinge_masked(X, W, y):
    n = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(n), y]
    margins = scores - correct[:, None] + 1.0
    margins[margins < 0] = 0
    margins[np.arange(n), y] = 0
    return np.sum(margins) / n + 0.5 * np.sum(W * W)


@entry(N(8), MASK(8), wrt="x")
def masked_mean_square(x, m):
    return np.mean(x[m] ** 2) + np.sum(x[~m])


@entry(N(8), N(8), wrt="logp")
def positive_log_likelihood(logp, target):
    observed = target > 0
    return -logp[observed].mean() + np.sum(np.exp(logp[~observed]))


@entry(N(6, 3), MASK(6), N(3), wrt=("X", "w"))
def selected_rows_regression(X, keep, w):
    rows = X[keep]
    residual = rows @ w - 1.0
    return np.sum(residual ** 2) + np.sum(X[keep, :] ** 2)


@entry(N(7), wrt="x", needs=("index_update",))
def clamp_and_scale(x):
    s = np.tanh(x) + 0.5
    s[s <= 0] = 0
    s[s > 1] *= 2
    return np.sum(s ** 2)
