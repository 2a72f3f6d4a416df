"""Neural-network layers and small models, each reduced to a scalar loss."""
import numpy as np
import scipy.special as sp

from corpus import BITS, C, N, ONEHOT, U, entry


def relu(x):
    return np.maximum(x, 0.0)


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


@entry(N(4, 3), N(3), N(5, 4), wrt=("W", "b"))
def dense_tanh(W, b, x):
    return np.sum(np.tanh(x @ W + b) ** 2)


@entry(N(3, 4), N(4), N(4, 2), N(2), N(5, 3), N(5, 2), wrt=("W1", "b1", "W2", "b2"))
def mlp(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - y) ** 2)


@entry(N(3, 4), N(4, 3), N(6, 3), ONEHOT(6, 3), wrt=("W1", "W2"))
def mlp_relu_classifier(W1, W2, x, labels):
    logits = relu(x @ W1) @ W2
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -(labels * logp).sum() / len(x)


@entry(N(5, 4), N(4), N(4), wrt=("x", "gamma", "beta"))
def layernorm_loss(x, gamma, beta):
    return np.sum(layer_norm(x, gamma, beta) ** 3)


@entry(N(6, 3), N(3), N(3), wrt=("x", "gamma"))
def batchnorm(x, gamma, beta):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mean) / np.sqrt(var + 1e-5)
    return np.sum(np.sin(gamma * xhat + beta))


@entry(N(4, 3), N(4, 3), N(4, 3), wrt=("q", "k", "v"))
def attention(q, k, v):
    d = q.shape[-1]
    scores = q @ k.T / np.sqrt(d)
    weights = softmax(scores, axis=-1)
    return np.sum((weights @ v) ** 2)


@entry(N(2, 4, 3), N(3, 3), N(3, 3), N(3, 3), wrt=("Wq", "Wk", "Wv"))
def batched_self_attention(x, Wq, Wk, Wv):
    q, k, v = x @ Wq, x @ Wk, x @ Wv
    scores = np.einsum("bqd,bkd->bqk", q, k) / np.sqrt(x.shape[-1])
    w = softmax(scores)
    out = np.einsum("bqk,bkd->bqd", w, v)
    return np.mean(out ** 2)


@entry(N(4, 3), N(4, 3), N(4, 3), needs=("scipy_special",), wrt=("q", "k"))
def attention_scipy_softmax(q, k, v):
    w = sp.softmax(q @ k.T, axis=1)
    return np.sum(w @ v)


@entry(N(5, 2), N(3, 2), U(0.5, 2.0), wrt=("x", "centers", "gamma"))
def rbf_kernel_sum(x, centers, gamma):
    d2 = np.sum((x[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
    return np.sum(np.exp(-gamma * d2))


@entry(N(4, 2), N(3), N(4), U(0.5, 1.5), wrt=("alpha", "lengthscale"))
def rbf_network(x, alpha, y, lengthscale):
    centers = x[:3]
    sq = (x ** 2).sum(1)[:, None] + (centers ** 2).sum(1)[None, :] - 2 * x @ centers.T
    K = np.exp(-0.5 * sq / lengthscale ** 2)
    return 0.5 * np.sum((K @ alpha - y) ** 2)


@entry(N(2, 4, 6), wrt="x")
def avg_pool_reshape(x):
    b, h, w = x.shape
    pooled = x.reshape(b, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    return np.sum(pooled ** 2)


@entry(N(4, 4), wrt="x")
def max_pool_reshape(x):
    pooled = x.reshape(2, 2, 2, 2).max(axis=(1, 3))
    return np.sum(np.tanh(pooled))


@entry(N(3, 4), N(4, 5), N(5), N(3, 5), wrt=("W", "b"))
def gelu_tanh_layer(x, W, b, y):
    z = x @ W + b
    g = 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))
    return np.sum((g - y) ** 2)


@entry(N(3, 4), N(4, 5), wrt="W")
def swish_layer(x, W):
    z = x @ W
    return np.mean(z / (1 + np.exp(-z)))


@entry(N(3, 4), N(4, 4), wrt="W", needs=("scipy_special",))
def silu_expit(x, W):
    z = x.dot(W)
    return np.sum(z * sp.expit(z))


@entry(N(5, 3), N(3, 4), wrt="W")
def softplus_layer(x, W):
    z = x @ W
    return np.sum(np.logaddexp(0.0, z))


@entry(N(4, 3), N(3, 3), N(3, 3), N(3), wrt=("Wx", "Wh", "b"))
def rnn_unrolled(xs, Wx, Wh, b):
    h = np.zeros(3)
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


@entry(N(4, 3), N(3, 4), N(2, 4), wrt=("W", "U"))
def gru_like(xs, W, U):
    h = np.zeros(2)
    for x in xs:
        gates = x @ W + h @ U
        z = 1 / (1 + np.exp(-gates[:2]))
        cand = np.tanh(gates[2:])
        h = (1 - z) * h + z * cand
    return h.sum()


@entry(N(6, 3), N(3), wrt=("x", "w"))
def residual_block(x, w):
    y = x + np.tanh(x * w)
    y = y + np.tanh(y * w[::-1])
    return np.sum(y ** 2) / y.size


@entry(N(3, 5), wrt="x")
def l2_normalize_loss(x):
    xn = x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True) + 1e-8)
    return np.sum(xn[:, :2])


@entry(N(6, 4), N(4, 2), BITS(6, 2), wrt="W")
def multilabel_sigmoid(x, W, y):
    z = x @ W
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


@entry(N(2, 3, 4), N(4, 4), wrt=("x", "W"))
def transpose_heads(x, W):
    h = np.transpose(x @ W, (1, 0, 2))
    return np.sum(np.swapaxes(h, -1, -2) ** 2 * np.arange(1, 5)[:, None])


@entry(N(4, 3), N(3, 2), C(3), wrt="W")
def deep_linear(x, W, depth):
    V = np.tanh(x @ W)
    for _ in range(depth):
        V = np.tanh(V * 1.5 + 0.1)
    return V.mean()
