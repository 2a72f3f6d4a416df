"""Physical energies: springs, pendulums, pair potentials, gravity, chains."""
import math

import numpy as np

from corpus import C, N, POINTS, U, entry

K_SPRING = 3.0
G = 9.81


@entry(N(5), U(0.5, 2.0, 5), wrt=("x", "k"))
def springs(x, k):
    return 0.5 * np.sum(k * x ** 2)


@entry(N(6), wrt="x")
def harmonic_chain(x):
    stretch = x[1:] - x[:-1] - 1.0
    return 0.5 * K_SPRING * np.sum(stretch ** 2)


@entry(N(6), wrt="x")
def periodic_chain(x):
    return np.sum((np.roll(x, -1) - x) ** 2) + 0.1 * np.sum(x ** 4)


@entry(N(5, 2), wrt="x")
def spring_network_2d(x):
    d = x[1:] - x[:-1]
    length = np.sqrt(np.sum(d ** 2, axis=1))
    return 0.5 * K_SPRING * np.sum((length - 1.0) ** 2)


@entry(U(-1, 1), U(-1, 1), U(0.5, 2.0), wrt=("theta", "omega"))
def pendulum_energy(theta, omega, length):
    m = 1.3
    return 0.5 * m * length ** 2 * omega ** 2 + m * G * length * (1 - np.cos(theta))


@entry(U(-1, 1), U(-1, 1), U(-1, 1), U(-1, 1), wrt=("t1", "t2", "w1", "w2"))
def double_pendulum_lagrangian(t1, t2, w1, w2):
    m1, m2, l1, l2 = 1.0, 0.5, 1.0, 0.7
    T = 0.5 * (m1 + m2) * l1 ** 2 * w1 ** 2 + 0.5 * m2 * l2 ** 2 * w2 ** 2 \
        + m2 * l1 * l2 * w1 * w2 * np.cos(t1 - t2)
    V = -(m1 + m2) * G * l1 * np.cos(t1) - m2 * G * l2 * np.cos(t2)
    return T - V


@entry(U(-1, 1), U(-1, 1), wrt=("theta", "omega"), needs=("math",))
def pendulum_math(theta, omega):
    return 0.5 * omega ** 2 - G * math.cos(theta)


@entry(POINTS(5, 3), wrt="X", needs=("fancy_index",))
def lennard_jones(X, eps=1.0, sigma=1.0):
    i, j = np.triu_indices(X.shape[0], k=1)
    r2 = np.sum((X[i] - X[j]) ** 2, axis=1)
    sr6 = (sigma ** 2 / r2) ** 3
    return 4 * eps * np.sum(sr6 ** 2 - sr6)


@entry(POINTS(4, 3), wrt="X")
def lennard_jones_mask(X):
    diff = X[:, None, :] - X[None, :, :]
    r2 = np.sum(diff ** 2, axis=-1) + np.eye(X.shape[0])
    inv6 = r2 ** -3
    mask = np.triu(np.ones((X.shape[0], X.shape[0])), 1)
    return np.sum(mask * 4 * (inv6 ** 2 - inv6))


@entry(POINTS(5, 2), U(0.5, 1.5), wrt=("X", "a"))
def morse_mask(X, a):
    n = X.shape[0]
    d = np.sqrt(np.sum((X[:, None] - X[None]) ** 2, -1) + np.eye(n))
    e = (1 - np.exp(-a * (d - 1.5))) ** 2
    upper = np.triu(np.ones((n, n)), k=1)
    return np.sum(e * upper)


@entry(POINTS(5, 3), U(-1, 1, 5), wrt=("X", "q"), needs=("fancy_index",))
def coulomb_pairs(X, q):
    i, j = np.triu_indices(len(X), 1)
    r = np.linalg.norm(X[i] - X[j], axis=1)
    return np.sum(q[i] * q[j] / r)


@entry(POINTS(4, 3), U(-1, 1, 4), wrt=("X", "q"))
def coulomb_dense(X, q):
    n = len(q)
    r = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1) + np.eye(n))
    return 0.5 * np.sum((np.outer(q, q) * (1 - np.eye(n))) / r)


@entry(POINTS(4, 2), U(1.0, 2.0, 4), wrt="X")
def gravity(X, m):
    energy = 0.0
    for a in range(len(m)):
        for b in range(a + 1, len(m)):
            r = np.sqrt(np.sum((X[a] - X[b]) ** 2))
            energy = energy - m[a] * m[b] / r
    return energy


@entry(N(4, 3), U(0.5, 1.5, 4), wrt=("v", "m"))
def kinetic_energy(v, m):
    return 0.5 * np.sum(m[:, None] * v ** 2)


@entry(N(3), N(3), wrt=("p", "q"))
def hamiltonian_oscillator(p, q):
    H = 0.5 * p @ p + 0.5 * q @ np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]]) @ q
    return H


@entry(N(5), wrt="phi")
def sine_gordon(phi):
    grad = phi[1:] - phi[:-1]
    return np.sum(0.5 * grad ** 2) + np.sum(1 - np.cos(phi))


@entry(N(4, 4), wrt="s")
def ising_continuous(s):
    right = np.roll(s, 1, axis=1)
    down = np.roll(s, 1, axis=0)
    return -np.sum(np.tanh(s) * np.tanh(right)) - np.sum(np.tanh(s) * np.tanh(down))


@entry(N(6), U(0.1, 0.5), C(5), wrt=("x0", "dt"))
def verlet_trajectory(x0, dt, steps):
    x, v = x0, np.zeros_like(x0)
    for _ in range(steps):
        a = -K_SPRING * x - 0.1 * x ** 3
        v = v + dt * a
        x = x + dt * v
    return np.sum(x ** 2) + np.sum(v ** 2)


@entry(U(0.5, 1.5, 3), U(-1, 1, 3), wrt=("r", "theta"))
def polar_potential(r, theta):
    x, y = r * np.cos(theta), r * np.sin(theta)
    return np.sum(x ** 2 * y - y ** 3 / 3) + np.sum(x ** 2 + y ** 2)


@entry(POINTS(5, 2), wrt="X", needs=("fancy_index",))
def soft_sphere_cutoff(X):
    i, j = np.triu_indices(X.shape[0], 1)
    r = np.sqrt(((X[i] - X[j]) ** 2).sum(-1))
    close = r < 2.0
    return np.sum((2.0 - r[close]) ** 2)


@entry(N(5), U(0.5, 2.0, 4), wrt=("x", "k"), needs=("fancy_index",))
def bonded_chain_index(x, k):
    bonds = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    d = x[bonds[:, 1]] - x[bonds[:, 0]]
    return 0.5 * np.sum(k * (d - 1) ** 2)


@entry(N(6), wrt="u", needs=("index_update",))
def elastic_rod_forces(u):
    f = np.zeros(6)
    f[1:] += u[1:] - u[:-1]
    f[:-1] -= u[1:] - u[:-1]
    return np.sum(f ** 2) + np.sum(u ** 2)


@entry(N(3), N(3), wrt=("r", "p"))
def angular_momentum(r, p):
    L = np.stack([r[1] * p[2] - r[2] * p[1], r[2] * p[0] - r[0] * p[2], r[0] * p[1] - r[1] * p[0]])
    return L @ L
