"""Geometry: distances, angles, areas, curve lengths."""
import numpy as np

from corpus import N, POINTS, POLYGON, U, entry


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@entry(N(3), N(3), wrt=("a", "b"))
def euclidean_distance(a, b):
    return np.sqrt(np.sum((a - b) ** 2))


@entry(N(4, 3), N(3), wrt=("X", "c"))
def sum_of_distances_to_center(X, c):
    return np.linalg.norm(X - c, axis=1).sum()


@entry(POINTS(5, 2), wrt="X")
def pairwise_distance_matrix(X):
    d2 = np.sum(X ** 2, axis=1)[:, None] + np.sum(X ** 2, axis=1)[None, :] - 2 * X @ X.T
    return np.sum(np.sqrt(d2 + np.eye(len(X))))


@entry(N(3), N(3), wrt=("u", "v"))
def angle_between(u, v):
    cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return np.arccos(np.clip(cos, -1.0, 1.0))


@entry(N(4, 3), N(4, 3), wrt=("u", "v"))
def batched_angles(u, v):
    cos = np.sum(unit(u) * unit(v), axis=-1)
    return np.sum(np.arccos(np.clip(cos, -0.999999, 0.999999)) ** 2)


@entry(POINTS(4, 3, spacing=1.2), wrt="X")
def dihedral_angle(X):
    b0 = X[0] - X[1]
    b1 = X[2] - X[1]
    b2 = X[3] - X[2]
    b1 = b1 / np.linalg.norm(b1)
    v = b0 - np.dot(b0, b1) * b1
    w = b2 - np.dot(b2, b1) * b1
    x = np.dot(v, w)
    y = np.dot(np.stack([b1[1] * v[2] - b1[2] * v[1], b1[2] * v[0] - b1[0] * v[2], b1[0] * v[1] - b1[1] * v[0]]), w)
    return np.arctan2(y, x)


@entry(POLYGON(6), wrt="P")
def shoelace_area(P):
    x, y = P[:, 0], P[:, 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


@entry(POLYGON(5), wrt="P")
def polygon_perimeter(P):
    edges = np.roll(P, -1, axis=0) - P
    return np.sum(np.sqrt(np.sum(edges ** 2, axis=1)))


@entry(POLYGON(6), wrt="P")
def polygon_centroid_x(P):
    x, y = P.T
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    return np.sum((x + xn) * cross) / (6 * area)


@entry(N(8, 2), wrt="pts")
def curve_length(pts):
    seg = pts[1:] - pts[:-1]
    return np.sum(np.hypot(seg[:, 0], seg[:, 1]))


@entry(N(8, 3), wrt="pts")
def curve_bending_energy(pts):
    d2 = pts[2:] - 2 * pts[1:-1] + pts[:-2]
    return np.sum(d2 ** 2)


@entry(U(0.1, 0.9, 6), wrt="t")
def parametric_arc_length(t):
    x = np.cos(2 * np.pi * t)
    y = np.sin(2 * np.pi * t) * 0.5
    return np.sum(np.sqrt(np.diff(x) ** 2 + np.diff(y) ** 2))


@entry(N(3), N(3), N(3), wrt=("a", "b", "c"))
def triangle_area_3d(a, b, c):
    u, v = b - a, c - a
    cx = u[1] * v[2] - u[2] * v[1]
    cy = u[2] * v[0] - u[0] * v[2]
    cz = u[0] * v[1] - u[1] * v[0]
    return 0.5 * np.sqrt(cx ** 2 + cy ** 2 + cz ** 2)


@entry(N(5, 3), N(3), U(0.5, 1.5), wrt=("X", "center", "r"))
def sphere_fit_residual(X, center, r):
    return np.mean((np.linalg.norm(X - center, axis=1) - r) ** 2)


@entry(N(6, 2), N(2), N(), wrt=("normal", "offset"))
def line_fit(P, normal, offset):
    n = normal / np.sqrt(normal @ normal)
    return np.sum((P @ n - offset) ** 2)


@entry(U(-1, 1), N(5, 2), N(5, 2), wrt="theta", needs=("np_array_list",))
def procrustes_rotation(theta, A, B):
    c, s = np.cos(theta), np.sin(theta)
    R = np.array([[c, -s], [s, c]])
    return np.sum((A @ R.T - B) ** 2)


@entry(U(-1, 1), N(4, 2), N(4, 2), wrt="theta")
def rotation_by_hand(theta, A, B):
    c, s = np.cos(theta), np.sin(theta)
    x = c * A[:, 0] - s * A[:, 1]
    y = s * A[:, 0] + c * A[:, 1]
    return np.sum((x - B[:, 0]) ** 2 + (y - B[:, 1]) ** 2)


@entry(N(4, 3), N(3, 3), wrt="T")
def chamfer_like(X, T):
    Y = X @ T
    d2 = np.sum((Y[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    return np.sum(np.min(d2, axis=1))


@entry(N(5, 2), wrt="X", needs=("fancy_index",))
def edge_lengths_from_index(X):
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]])
    d = X[edges[:, 0]] - X[edges[:, 1]]
    return np.sum(np.sqrt((d ** 2).sum(axis=1)))


@entry(U(-1, 1, 3), wrt="angles")
def euler_rotation_trace(angles):
    a, b, c = angles[0], angles[1], angles[2]
    Rz = np.stack([np.stack([np.cos(a), -np.sin(a), 0 * a]), np.stack([np.sin(a), np.cos(a), 0 * a]),
                   np.stack([0 * a, 0 * a, 1 + 0 * a])])
    Ry = np.stack([np.stack([np.cos(b), 0 * b, np.sin(b)]), np.stack([0 * b, 1 + 0 * b, 0 * b]),
                   np.stack([-np.sin(b), 0 * b, np.cos(b)])])
    Rx = np.stack([np.stack([1 + 0 * c, 0 * c, 0 * c]), np.stack([0 * c, np.cos(c), -np.sin(c)]),
                   np.stack([0 * c, np.sin(c), np.cos(c)])])
    return np.trace(Rz @ Ry @ Rx)


@entry(N(4), wrt="q")
def quaternion_norm_penalty(q):
    return (q @ q - 1) ** 2 + np.sum(q[::-1] * q)


@entry(N(5), wrt="x")
def pairwise_subtract_outer(x):
    d = np.subtract.outer(x, x)
    return np.sum(np.exp(-d ** 2))
