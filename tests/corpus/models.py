"""Whole small models as course solutions and tutorials write them: a convolution by im2col with
``np.pad``, an LSTM over token ids, a VAE's ELBO with the reparameterisation trick."""
import numpy as np

from corpus import LABELS, N, entry


@entry(N(2, 1, 5, 5), N(2, 1, 3, 3), N(2), wrt=("w", "b"))
def conv_im2col(x, w, b):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="constant")
    cols = np.stack([xp[:, :, i:i + kh, j:j + kw].reshape(n, -1) for i in range(h) for j in range(wd)], axis=1)
    out = cols @ w.reshape(f, -1).T + b  # (n, h * wd, f)
    out = np.maximum(out, 0.0)
    return np.mean(out ** 2)


@entry(N(6, 4, scale=0.5), N(4, 12, scale=0.5), N(3, 12, scale=0.5), N(12), LABELS(6, 5),
       wrt=("E", "Wx", "Wh", "b"))
def lstm_tokens(E, Wx, Wh, b, tokens):
    hidden = Wh.shape[0]
    h = np.zeros(hidden)
    c = np.zeros(hidden)
    loss = 0.0
    for t in range(len(tokens)):
        x = E[tokens[t]]
        z = x @ Wx + h @ Wh + b
        i = 1.0 / (1.0 + np.exp(-z[:hidden]))
        f = 1.0 / (1.0 + np.exp(-z[hidden:2 * hidden]))
        o = 1.0 / (1.0 + np.exp(-z[2 * hidden:3 * hidden]))
        g = np.tanh(z[3 * hidden:])
        c = f * c + i * g
        h = o * np.tanh(c)
        loss = loss + np.sum(h ** 2)
    return loss / len(tokens)


@entry(N(5, 4), N(4, 2), N(4, 2), N(2, 4), wrt=("W_mu", "W_logstd", "W_dec"))
def vae_elbo(X, W_mu, W_logstd, W_dec):
    mu = X @ W_mu
    logstd = 0.1 * (X @ W_logstd)
    rng = np.random.default_rng(0)
    eps = rng.standard_normal(mu.shape)
    z = mu + np.exp(logstd) * eps  # the reparameterisation trick: the noise is a constant
    recon = z @ W_dec
    nll = 0.5 * np.sum((X - recon) ** 2)
    kl = 0.5 * np.sum(np.exp(2 * logstd) + mu ** 2 - 1.0 - 2 * logstd)
    return (nll + kl) / X.shape[0]
