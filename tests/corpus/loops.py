"""Loop programs as they are written: recurrent networks over the rows of a sequence, ODE integrators
over a time grid, a fixed-point iteration and a Newton solve (``while`` on a traced condition) and a
discounted return, each at several lengths. Every one of them rolls (tests/test_loop_forms.py checks
that the generated code has its loop)."""
import numpy as np

from corpus import N, U, add

LENGTHS = (3, 17, 64)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rnn_last_loss(Wx, Wh, b, Wy, xs, y):
    h = np.zeros(Wh.shape[0])
    for x_t in xs:
        h = np.tanh(Wx @ x_t + Wh @ h + b)
    logits = Wy @ h
    return -np.sum(y * (logits - np.log(np.sum(np.exp(logits)))))


def lstm_loss(W, U, b, xs, h0, c0):
    n = h0.shape[0]
    h, c = h0, c0
    total = 0.0
    for t in range(xs.shape[0]):
        z = W @ xs[t] + U @ h + b
        i = sigmoid(z[:n])
        f = sigmoid(z[n:2 * n])
        o = sigmoid(z[2 * n:3 * n])
        g = np.tanh(z[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        total = total + np.sum(h ** 2)
    return total / xs.shape[0]


def gru_cell(h, x, Wz, Uz, Wr, Ur, Wh, Uh):
    z = sigmoid(Wz @ x + Uz @ h)
    r = sigmoid(Wr @ x + Ur @ h)
    h_tilde = np.tanh(Wh @ x + Uh @ (r * h))
    return (1 - z) * h + z * h_tilde


def gru_loss(Wz, Uz, Wr, Ur, Wh, Uh, xs, targets):
    h = np.zeros(Uz.shape[0])
    loss = 0.0
    for i, x in enumerate(xs):
        h = gru_cell(h, x, Wz, Uz, Wr, Ur, Wh, Uh)
        loss = loss + np.sum((h - targets[i]) ** 2)
    return loss


def lotka_volterra(y, theta):
    prey, predator = y[0], y[1]
    return np.array([theta[0] * prey - theta[1] * prey * predator,
                     theta[2] * prey * predator - theta[3] * predator])


def euler_lotka_volterra(theta, y0, ts):
    y = y0
    for i in range(len(ts) - 1):
        dt = ts[i + 1] - ts[i]
        y = y + dt * lotka_volterra(y, theta)
    return np.sum(y ** 2)


def pendulum(state, k):
    return np.array([state[1], -k * np.sin(state[0]) - 0.1 * state[1]])


def rk4_pendulum(state0, k, dts):
    state = state0
    for dt in dts:
        k1 = pendulum(state, k)
        k2 = pendulum(state + 0.5 * dt * k1, k)
        k3 = pendulum(state + 0.5 * dt * k2, k)
        k4 = pendulum(state + dt * k3, k)
        state = state + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return state[0] ** 2 + 0.5 * state[1] ** 2


def fixed_point_cos(a, tol=1e-10):
    """x = cos(a x), elementwise, by iterating the map until it stops moving."""
    x = np.zeros_like(a)
    x_new = np.cos(a * x)
    while np.max(np.abs(x_new - x)) > tol:
        x = x_new
        x_new = np.cos(a * x)
    return np.sum(x_new ** 2)


def newton_kepler(M, e, tol=1e-12, maxit=50):
    """Kepler's equation E - e sin(E) = M solved for the eccentric anomaly E by Newton's method."""
    E = M
    err = 1.0
    it = 0
    while err > tol and it < maxit:
        step = (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
        E = E - step
        err = np.max(np.abs(step))
        it += 1
    return np.sum(np.cos(E))


def discounted_return(rewards, values, gamma):
    """The discounted returns G_t = r_t + gamma G_{t+1}, computed backwards, and a value loss on them."""
    G = 0.0
    loss = 0.0
    for t in reversed(range(len(rewards))):
        G = rewards[t] + gamma * G
        loss = loss + (G - values[t]) ** 2
    return loss / rewards.shape[0]


for T in LENGTHS:
    d, n, k = 3, 4, 3
    add(rnn_last_loss, N(n, d, scale=0.5), N(n, n, scale=0.4), N(n), N(k, n), N(T, d), U(0.0, 1.0, k),
        wrt=("Wx", "Wh", "b", "Wy"), name=f"rnn_last_loss_T{T}")
    add(lstm_loss, N(4 * n, d, scale=0.5), N(4 * n, n, scale=0.4), N(4 * n), N(T, d), N(n), N(n),
        wrt=("W", "U", "b", "h0", "c0"), name=f"lstm_T{T}")
    add(gru_loss, *[N(n, d, scale=0.5) if j % 2 == 0 else N(n, n, scale=0.4) for j in range(6)], N(T, d), N(T, n),
        wrt=("Wz", "Uz", "Wr", "Ur", "Wh", "Uh"), name=f"gru_T{T}")
    add(euler_lotka_volterra, U(0.5, 1.0, 4), U(0.5, 1.5, 2), lambda rng, T=T: np.linspace(0.0, 2.0, T + 1),
        wrt=("theta", "y0"), name=f"euler_lotka_volterra_T{T}")
    add(rk4_pendulum, N(2, scale=0.5), U(1.0, 2.0), lambda rng, T=T: np.full(T, 3.0 / T),
        wrt=("state0", "k"), name=f"rk4_pendulum_T{T}")
    add(discounted_return, N(T), N(T), U(0.8, 0.99), wrt=("rewards", "values", "gamma"),
        name=f"discounted_return_T{T}")

for n, tol in ((3, 1e-4), (8, 1e-8), (16, 1e-12)):
    add(fixed_point_cos, U(0.2, 0.9, n), lambda rng, tol=tol: tol, wrt="a", needs=("branch",),
        name=f"fixed_point_cos_n{n}")  # (a while loop's condition is a branch on a traced value)
    add(newton_kepler, U(0.1, 3.0, n), U(0.1, 0.8), wrt=("M", "e"), needs=("branch",),
        name=f"newton_kepler_n{n}")
