"""Models whose parameters are containers: dicts, lists of layer tuples, namedtuples, nested dicts,
hyper-parameters stored beside the weights, written as their authors write them for JAX or autograd."""
from collections import namedtuple

import numpy as np
from scipy.special import logsumexp

from corpus import C, N, U, entry


def D(**makers):
    """A dict of values made by ``makers``, in their order."""
    return lambda rng: {k: m(rng) for k, m in makers.items()}


def L(*makers):
    return lambda rng: [m(rng) for m in makers]


def T(*makers):
    return lambda rng: tuple(m(rng) for m in makers)


def LABELS(k, n):
    """Integer class labels (int64 data)."""
    return lambda rng: rng.integers(0, k, size=n)


Params = namedtuple("Params", ["w", "b"])


def NT(*makers):
    return lambda rng: Params(*(m(rng) for m in makers))


@entry(D(W1=N(4, 6), b1=N(6), W2=N(6, 3), b2=N(3)), N(8, 4), LABELS(3, 8), wrt=("params",), needs=("pytree",))
def mlp_dict(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    logp = logits - logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(logp[np.arange(X.shape[0]), y])


@entry(L(T(N(3, 5), N(5)), T(N(5, 4), N(4)), T(N(4, 1), N(1))), N(6, 3), N(6, 1), wrt=("layers",),
       needs=("pytree",))
def layer_list(layers, x, y):
    *hidden, (W_out, b_out) = layers
    for W, b in hidden:
        x = np.tanh(x @ W + b)
    pred = x @ W_out + b_out
    return np.mean((pred - y) ** 2)


@entry(NT(N(4), N()), N(10, 4), LABELS(2, 10), wrt=("params",), needs=("pytree",))
def namedtuple_logistic(params, X, y):
    z = X @ params.w + params.b
    return np.mean(np.logaddexp(0, z) - y * z)


class SoftmaxRegression:
    def __init__(self, params):
        self.params = params

    def logits(self, X):
        return X @ self.params["W"] + self.params["b"]

    def loss(self, X, y):
        z = self.logits(X)
        logp = z - logsumexp(z, axis=1, keepdims=True)
        return -np.mean(logp[np.arange(len(X)), y])


@entry(D(W=N(5, 3), b=N(3)), N(7, 5), LABELS(3, 7), wrt=("params",), needs=("pytree",))
def model_class_loss(params, X, y):
    return SoftmaxRegression(params).loss(X, y)


@entry(D(logits=N(3), means=N(3, 2), log_scales=U(-0.5, 0.5, 3)), N(12, 2), wrt=("params",), needs=("pytree",))
def gaussian_mixture_nll(params, X):
    log_weights = params["logits"] - logsumexp(params["logits"])
    scales = np.exp(params["log_scales"])
    diff = X[:, None, :] - params["means"][None, :, :]
    sq = np.sum(diff ** 2, axis=-1) / scales ** 2
    d = X.shape[1]
    log_comp = -0.5 * sq - d * params["log_scales"] - 0.5 * d * np.log(2 * np.pi)
    return -np.sum(logsumexp(log_weights + log_comp, axis=1))


@entry(D(w=N(4), b=N(), l2=C(1e-3)), N(9, 4), N(9), wrt=("params",), needs=("pytree",))
def ridge_with_l2_in_params(params, X, y):
    resid = X @ params["w"] + params["b"] - y
    return 0.5 * np.mean(resid ** 2) + params["l2"] * np.sum(params["w"] ** 2)


@entry(D(W=N(3, 4), b=N(4), v=N(4), activation=C("relu"), l2=C(1e-2)), N(6, 3), N(6),
       wrt=("params",), needs=("pytree",))
def activation_by_name(params, X, y):
    z = X @ params["W"] + params["b"]
    if params["activation"] == "relu":
        h = np.maximum(z, 0.0)
    elif params["activation"] == "tanh":
        h = np.tanh(z)
    else:
        raise ValueError(params["activation"])
    pred = h @ params["v"]
    return np.mean((pred - y) ** 2) + params["l2"] * (np.sum(params["W"] ** 2) + np.sum(params["v"] ** 2))


@entry(D(encoder=D(W=N(6, 2), b=N(2)), decoder=D(W=N(2, 6), b=N(6))), N(5, 6), wrt=("params",),
       needs=("pytree",))
def autoencoder_nested(params, X):
    enc, dec = params["encoder"], params["decoder"]
    code = np.tanh(X @ enc["W"] + enc["b"])
    recon = code @ dec["W"] + dec["b"]
    return np.sum((recon - X) ** 2) / X.shape[0]


@entry(T(N(3, 4, scale=0.5), N(4, 4, scale=0.5), N(4)), N(5, 3), wrt=("params",), needs=("pytree",))
def rnn_tuple(params, xs):
    Wx, Wh, b = params
    h = np.zeros(4)
    for x in xs:
        h = np.tanh(x @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


@entry(L(N(), N(), N()), U(-1, 1, 10), N(10), wrt=("coeffs",), needs=("pytree",))
def polynomial_coefficients(coeffs, x, y):
    pred = sum(c * x ** k for k, c in enumerate(coeffs))
    return np.mean((pred - y) ** 2)
