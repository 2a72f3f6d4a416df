"""Registry entries whose function JAX also has (jax.numpy, jax.numpy.linalg, jax.scipy.special,
jax.scipy.linalg) and that tests/corpus does not call: symdiff's gradient along a random direction
against jax.grad in float64, on the entry's first case. Each compiles a gradient (about a second on a
loaded machine), so by default only the contractions run (corpus or not); ``SYMDIFF_JAX_SWEEP=1`` runs every
entry the corpus does not call.
Entries JAX cannot compare are in KNOWN with the reason; matrix functions that read one triangle
(NumPy's cholesky, eigvalsh) are compared along symmetric directions, where JAX's symmetrised gradient
is the derivative too."""
import glob
import os
import re

import numpy as np
import pytest

import symdiff
from symdiff.numpy.core import REGISTRY, SPECIAL_FORMS

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

#: entry name -> why JAX's gradient differs from NumPy's function's (checked against central differences)
KNOWN: dict[str, str] = {
    "nextafter": "JAX defines no derivative of nextafter", "spacing": "JAX has no jnp.spacing derivative",
    "sqrtm": "jax.scipy.linalg.sqrtm has no differentiation rule", "eigvals": "JAX's eigvals are complex",
    "solve_sylvester": "jax.scipy.linalg.solve_sylvester has no differentiation rule",
}
#: read one triangle in NumPy; JAX's gradient is the symmetrised one (the same along symmetric directions)
SYMMETRIC = {"cholesky", "eigvalsh", "eigh"}
#: keyword arguments that stay tuples in the JAX call (others, as take's indices, become arrays)
STATIC = {"axis", "axes", "shape", "newshape", "axisa", "axisb", "axisc", "reps", "pad_width", "s"}
CONTRACTIONS = {"einsum", "tensordot", "inner", "outer", "vdot", "kron", "cross"}
SWEEP = os.environ.get("SYMDIFF_JAX_SWEEP") == "1"
_CORPUS = "".join(open(f).read() for f in glob.glob(os.path.join(os.path.dirname(__file__), "corpus", "*.py")))


def _peer(func):
    module, name = getattr(func, "__module__", "") or "", getattr(func, "__name__", "")
    if not name:
        return None
    if module.startswith("scipy.special") or module == "scipy.special._ufuncs":
        space = jax.scipy.special
    elif module.startswith("scipy.linalg"):
        space = jax.scipy.linalg
    elif module.startswith("numpy.linalg"):
        space = jnp.linalg
    elif module.startswith("numpy") or module == "":
        space = jnp
    else:
        return None
    return getattr(space, name, None)


def _items():
    items = []
    for table in (REGISTRY, SPECIAL_FORMS):
        for func, entry in table.items():
            if not entry.differentiable or not entry.cases or entry.form in ("parts", "call", "static"):
                continue
            if isinstance(func, np.ufunc):
                name = func.__name__
                peer = getattr(jnp, name, None)
            else:
                peer = _peer(func)
            covered = re.search(r"\." + re.escape(entry.name) + r"\(", _CORPUS)
            if not (entry.name in CONTRACTIONS or (SWEEP and not covered)):
                continue
            if peer is not None and callable(peer):
                items.append(pytest.param(func, entry, peer, id=entry.name))
    return items


def _joined(xp, result):
    """A tuple of results (np.split, np.divmod, slogdet) as one vector, as the "parts" form joins them."""
    if isinstance(result, (tuple, list)):
        return xp.concatenate([xp.ravel(r) for r in result])
    return result


ARITY = {
    1: lambda body: lambda a: body(a),
    2: lambda body: lambda a, b: body(a, b),
    3: lambda body: lambda a, b, c: body(a, b, c),
}


@pytest.mark.parametrize("func, entry, peer", _items())
def test_gradient_matches_jax(func, entry, peer):
    if entry.name in KNOWN:
        pytest.skip(KNOWN[entry.name])
    shapes, kwargs = entry.cases[0]
    kwargs = dict(kwargs)
    rng = np.random.default_rng(abs(hash(entry.name)) % 2**32)
    low, high = entry.domain
    args = [np.asarray(entry.sample(rng, s), dtype=float) if entry.sample else
            rng.uniform(low, high, size=s) if s else float(rng.uniform(low, high)) for s in shapes]
    weights = rng.standard_normal(np.shape(_joined(np, entry.invoke(func, args, kwargs))))

    peer_kwargs = {k: np.asarray(v) if isinstance(v, (tuple, list)) and k not in STATIC else v
                   for k, v in kwargs.items()}

    def body(*xs):
        return np.sum(_joined(np, entry.invoke(func, list(xs), kwargs)) * weights)

    def peer_body(*xs):
        return jnp.sum(_joined(jnp, entry.invoke(peer, list(xs), peer_kwargs)) * weights)
    ours = symdiff.grad(ARITY[len(args)](body), wrt=tuple(range(len(args))))(*args)
    for k, x in enumerate(args):
        theirs = np.asarray(jax.grad(peer_body, argnums=k)(*[jnp.asarray(a, dtype=jnp.float64) for a in args]))
        d = rng.standard_normal(np.shape(x))
        if entry.name in SYMMETRIC:
            d = d + np.swapaxes(d, -1, -2)
        a, b = float(np.sum(np.asarray(ours[k]) * d)), float(np.sum(theirs * d))
        assert abs(a - b) <= 1e-7 * (1 + abs(b)), f"{entry.name} argument {k}: symdiff {a}, jax {b}"
