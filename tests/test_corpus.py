"""The corpus of realistic functions (tests/corpus/): every entry is differentiated through the
decorator and through ``export`` (a few through the CLI too), each checked against central finite
differences of the plain function, and compared with autograd and JAX when they are installed.

Entries that use a feature listed in ``PENDING`` are expected to fail (strictly) with the error
symdiff raises for unsupported code; remove a feature from ``PENDING`` when it lands. Entries with
"has_aux" are called as JAX does: ``value_and_grad(f, wrt=..., has_aux=True)(*args)`` and the exported
``<f>_value_and_grad`` (``export(..., has_aux=True)``) return ``((value, aux), gradients)``.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff.runtime.pytrees import flatten, is_container, is_namedtuple, path_text
from symdiff.testing import check_grads
from corpus import CATEGORIES, FEATURES, Entry, listing, load, rebind

#: Features symdiff does not support yet: entries needing them must fail with a symdiff error.
PENDING: set[str] = set()

#: What unsupported code raises, per feature still pending (none are now).
PENDING_RAISES: dict[str, tuple[type, ...]] = {}

#: Entries that fail for another reason than a pending feature, each one a bug: id (all paths) or
#: "id:path" (path: decorator, export, cli, peer) -> (reason, the exception observed). None now.
BUGS: dict[str, tuple[str, type]] = {}

#: Entries symdiff does not support, by choice (see the README): id or "id:path" -> (reason, exception
#: observed). Marked like BUGS.
EXPLODE = ("export traces every path: a branch per element of a loop gives 2**n paths (refused past 32; the "
           "decorator follows the values instead)", symdiff.UnsupportedError)
GAPS: dict[str, tuple[str, type]] = {
    "losses.smooth_l1:export": EXPLODE,
    "control_flow.branch_in_loop:export": EXPLODE,
}

#: Entries also run through the command line in a subprocess.
CLI_ENTRIES = ("losses.huber", "layers.mlp", "statistics.normal_loglik_logscale", "finance.portfolio_variance",
               "containers.mlp_dict", "masks.masked_mean_square")

CORPUS = load()
ROOT = Path(__file__).resolve().parents[1]


def _marks(e: Entry, peer: bool = False, path: str = "") -> list:
    pending = sorted(set(e.needs) & PENDING)
    bug = BUGS.get(f"{e.id}:{path}") or BUGS.get(e.id)
    if bug and not pending:
        return [pytest.mark.xfail(strict=True, raises=bug[1], reason=f"bug: {bug[0]}")]
    gap = GAPS.get(f"{e.id}:{path}") or GAPS.get(e.id)
    if gap and not pending:
        return [pytest.mark.xfail(strict=True, raises=gap[1], reason=f"not supported: {gap[0]}")]
    if pending and not peer:
        raises = tuple({exc for f in pending for exc in PENDING_RAISES.get(f, (symdiff.SymdiffError,))})
        return [pytest.mark.xfail(strict=True, raises=raises, reason=f"pending: {', '.join(pending)}")]
    return []


def _params(path: str) -> list:
    return [pytest.param(e, id=e.id, marks=_marks(e, path=path)) for e in CORPUS]


def _as_tuple(g, e: Entry) -> tuple:
    assert isinstance(g, tuple) and len(g) == len(e.wrt), type(g)
    return g


def _flat(e: Entry, fn, args: tuple, grads: tuple) -> tuple:
    """A "pytree" entry (container arguments) as a function of its leaves: that function, the leaves, the
    positions of the differentiated (float) leaves of the wrt arguments and their gradients, matched by
    path (the gradient has the argument's structure, None at the other leaves; an exported module's dict
    has the declared order). Other entries as they are. ``grads=()``: the positions only."""
    if "pytree" not in e.needs:
        return fn, args, e.wrt_positions, grads
    from symdiff.arguments import bind, differentiable
    from symdiff.runtime.pytrees import flatten, leaf_paths
    specs, layout = bind(e.params[:len(args)], args)
    positions, flat_grads = [], []
    for j, i in enumerate(e.wrt_positions):
        paths = leaf_paths(layout.trees[i]) if not layout.trees[i].is_leaf else [()]
        if grads:
            got = dict(flatten(grads[j])[0]) if not layout.trees[i].is_leaf else {(): grads[j]}
            assert set(got) == set(paths), (e.id, sorted(map(str, got)), sorted(map(str, paths)))
        for k, path in zip(layout.span(i), paths):
            if differentiable(specs[k]):
                positions.append(k)
                flat_grads += [got[path]] if grads else []
            else:
                assert not grads or got[path] is None, (e.id, path, got[path])
    return (lambda *leaves: fn(*layout.rebuild(list(leaves)))), tuple(layout.leaves(list(args))), positions, \
        tuple(flat_grads)


def _fd_check(e: Entry, fn, args: tuple, grads: tuple) -> None:
    """Central differences of the plain function along random directions against ``grads``."""
    fn, args, positions, grads = _flat(e, fn, args, grads)
    check_grads(fn, args, wrt=positions, gradient=lambda *a: grads, directions=3, seed=1)


def _value_fn(e: Entry):
    """The scalar the gradient is of: the function itself, or its first output for has_aux entries."""
    if "has_aux" in e.needs:
        return lambda *a: e.fn(*a)[0]
    return e.fn


_COMPILED: dict[str, object] = {}


def _decorated(e: Entry):
    """The decorator-path transform of an entry, compiled once per session (the peer comparison reuses it)."""
    if e.id not in _COMPILED:
        kwargs = {"has_aux": True} if "has_aux" in e.needs else {}
        _COMPILED[e.id] = symdiff.value_and_grad(e.fn, wrt=e.wrt, **kwargs)
    return _COMPILED[e.id]


def _symdiff_value_and_grad(e: Entry, args: tuple) -> tuple:
    value, g = _decorated(e)(*args)
    return value, _as_tuple(g, e)


def test_corpus_listing():
    assert len(CORPUS) >= 150
    counts = {c: sum(e.category == c for e in CORPUS) for c in CATEGORIES}
    assert all(n > 0 for n in counts.values()), counts
    assert len({e.id for e in CORPUS}) == len(CORPUS)
    assert sum(bool(e.needs) for e in CORPUS) >= 30
    assert {f for e in CORPUS for f in e.needs} == set(FEATURES)


def test_listing_is_current():
    text = (ROOT / "tests" / "corpus" / "LISTING.md").read_text(encoding="utf-8")
    assert text == listing(CORPUS), "tests/corpus/LISTING.md is stale: run `cd tests && python -m corpus`"


@pytest.mark.parametrize("e", _params("decorator"))
def test_decorator(e: Entry):
    for seed in _seeds(e, 0):  # later calls reuse the compiled code: for branches, only if its guard holds
        _decorator_check(e, e.args(seed))


def _seeds(e: Entry, first: int) -> range:
    """Several random inputs per entry; more where a branch may go either way."""
    return range(first, first + (6 if "branch" in e.needs else 2))


def _decorator_check(e: Entry, args: tuple) -> None:
    value, grads = _symdiff_value_and_grad(e, args)
    expected = e.fn(*args)
    if "has_aux" in e.needs:
        value, aux = value
        expected, expected_aux = expected
        for a, b in zip(aux if isinstance(aux, tuple) else (aux,),
                        expected_aux if isinstance(expected_aux, tuple) else (expected_aux,)):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12)
    _, leaves, positions, flat_grads = _flat(e, e.fn, args, grads)
    for g, i in zip(flat_grads, positions):
        assert np.shape(g) == np.shape(leaves[i])
    _fd_check(e, _value_fn(e), args, grads)


def _import_file(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shapes(e: Entry, args: tuple) -> dict:
    """Export's shapes: of the arrays, and of each leaf of a container argument by its path (integer data
    as ``"n:int64"``, a float as ``""``); the containers' static leaves are in :func:`_static`."""
    def spec(a: np.ndarray):
        kind = "bool" if a.dtype == bool else "int64" if a.dtype.kind in "iu" else None
        return a.shape if kind is None else f"{','.join(map(str, a.shape))}:{kind}"
    out = {n: spec(a) for n, a in zip(e.params, args) if isinstance(a, np.ndarray)}
    for n, a in zip(e.params, args):  # a namedtuple: declared nested, as its class (its leaves are arrays)
        if is_namedtuple(a):
            out[n] = type(a)(*(np.shape(x) for x in a))
    for path, leaf in _container_leaves(e, args, plain=True):
        if isinstance(leaf, np.ndarray):
            dims = ",".join(map(str, leaf.shape))
            out[path] = spec(leaf) if leaf.dtype.kind in "iub" else dims
        elif isinstance(leaf, float):
            out[path] = ""
    return out


def _container_leaves(e: Entry, args: tuple, plain: bool = False) -> list:
    """The leaves of the container arguments by path (``plain``: not those of namedtuples)."""
    return [(path_text(n, p), leaf) for n, a in zip(e.params, args) if is_container(a)
            and not (plain and is_namedtuple(a)) for p, leaf in flatten(a)[0]]


def _static(e: Entry, args: tuple) -> dict:
    """Export's static values: int arguments (loop bounds) and the containers' ints and strings by path."""
    out = {n: a for n, a in zip(e.params, args) if isinstance(a, int)}
    out.update({p: leaf for p, leaf in _container_leaves(e, args) if isinstance(leaf, (int, str))})
    return out


def _export_check(e: Entry, module, args: tuple, single: bool = False) -> None:
    value, g = getattr(module, f"{e.fn.__name__}_value_and_grad")(*args)
    g = (g,) if single else g
    if "has_aux" in e.needs:
        value = value[0]
    np.testing.assert_allclose(value, _value_fn(e)(*args), rtol=1e-9, atol=1e-12)
    _fd_check(e, _value_fn(e), args, _as_tuple(g, e))


@pytest.mark.parametrize("e", _params("export"))
def test_export(e: Entry, tmp_path: Path):
    args = e.with_defaults(e.args(seed=10))
    path = tmp_path / f"{e.fn.__name__}_generated.py"
    kwargs = {"has_aux": True} if "has_aux" in e.needs else {}
    static = _static(e, args)  # loop bounds: made for that value
    symdiff.export(e.fn, path, wrt=e.wrt, shapes=_shapes(e, args), static=static, **kwargs)
    module = _import_file(path)
    for seed in _seeds(e, 10):  # one module, several inputs (each branch of a symbolic choice)
        _export_check(e, module, e.with_defaults(e.args(seed)))


@pytest.mark.parametrize("e", [p for p in _params("cli") if p.id in CLI_ENTRIES])
def test_cli(e: Entry, tmp_path: Path):
    args = e.with_defaults(e.args(seed=3))
    out = tmp_path / f"{e.fn.__name__}_cli.py"
    shape_opts = [f"--shape={n}={s if isinstance(s, str) else ','.join(map(str, s))}"
                  for n, s in _shapes(e, args).items()]
    cmd = [sys.executable, "-m", "symdiff", "grad", f"{e.fn.__code__.co_filename}:{e.fn.__name__}",
           "--wrt", ",".join(e.wrt), *shape_opts, "-o", str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    _export_check(e, _import_file(out), args, single=len(e.wrt) == 1)


# ---- peers: autograd and JAX ---------------------------------------------------------------------------------

PEER_CANNOT = {"index_update": "assigns into an array (autograd cannot; JAX needs .at[].set)"}

#: Bodies a peer cannot run: (entry id, peer) -> why.
NDARRAY_METHOD = "a method of a NumPy data array called on a traced argument (X.dot(w)) leaves the peer's tracing"
WHERE_NAN = ("the peer's gradient is NaN where np.where masks log(p) of p <= 0 (the unselected branch's NaN "
             "leaks through its vjp); symdiff's is 0 there, as central differences")
AUTOGRAD_NORM = "autograd's gradient of np.linalg.norm(u, axis=-1, keepdims=True) has the wrong shape (4, 4, 3)"
PEER_SKIP = {
    ("losses.squared_hinge", "autograd"): NDARRAY_METHOD,
    ("masks.positive_log_likelihood", "jax"): "jax.grad cannot trace x[mask] (a size known only at run time: "
                                              "NonConcreteBooleanIndexError)",
    ("losses.ridge", "jax"): NDARRAY_METHOD,
    ("losses.ridge", "autograd"): NDARRAY_METHOD,
    ("losses.squared_hinge", "jax"): NDARRAY_METHOD,
    ("losses.infonce", "autograd"): "autograd has no gradient for np.diagonal of a 2-d array (make_diagonal)",
    ("geometry.batched_angles", "autograd"): AUTOGRAD_NORM,
    ("finance.mean_variance_utility", "autograd"): NDARRAY_METHOD,
    ("finance.mean_variance_utility", "jax"): NDARRAY_METHOD,
    ("control_flow.methods_and_attributes", "autograd"): "autograd's ArrayBox has no .dot method",
    ("losses.bce_expit", "autograd"): "autograd.scipy.special has no xlogy",
    ("layers.attention_scipy_softmax", "autograd"): "autograd.scipy.special has no softmax",
    ("numerics.log_softmax_scipy", "autograd"): "autograd.scipy.special has no log_softmax",
    ("numerics.logit_transform", "autograd"): "autograd.scipy.special has no xlog1py",
    ("layers.silu_expit", "autograd"): NDARRAY_METHOD,
    ("statistics.mean_of_moments", "jax"): "jax.numpy.mean does not take a list",
    ("numerics.gather_permutation", "jax"): "JAX refuses indexing with a Python list (x[[0, 2]])",
    ("finance.survival_annuity", "autograd"): "autograd has no gradient for np.cumprod",
    ("geometry.pairwise_subtract_outer", "autograd"): "autograd.numpy's ufuncs have no .outer",
    ("losses.entropy_safe_where", "autograd"): WHERE_NAN,
    ("losses.entropy_safe_where", "jax"): WHERE_NAN,
    ("numerics.cumulative_ops", "autograd"): "autograd has no gradient for np.ptp",
    ("numerics.shape_manipulations", "autograd"): "autograd has no gradient for np.flip",
    ("containers.model_class_loss", "autograd"): "its class's methods keep the module's NumPy (rebind copies "
                                                 "functions, not classes)",
}


def _peer_gradients(peer: str, e: Entry, args: tuple) -> list:
    """The peer's gradient of the same body (run on autograd.numpy / jax.numpy) at ``args``."""
    if peer == "autograd":
        pytest.importorskip("autograd")
        import autograd
        import autograd.numpy as xnp
        import autograd.scipy.special as xsp
    else:
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as xnp
        import jax.scipy.special as xsp
    body = rebind(e.fn, xnp, xsp)
    scalar = (lambda *a: body(*a)[0]) if "has_aux" in e.needs else body
    if "pytree" in e.needs and not _autograd_takes(args):  # a string or a namedtuple in the containers:
        # the peer differentiates the same body as a function of the float leaves (the others fixed)
        _, leaves, positions, _ = _flat(e, e.fn, args, ())
        from symdiff.arguments import bind
        layout = bind(e.params[:len(args)], args)[1]

        def of_floats(*floats):
            flat = list(leaves)
            for k, f in zip(positions, floats):
                flat[k] = f
            return scalar(*layout.rebuild(flat))
        return list(autograd.grad(of_floats, argnum=tuple(range(len(positions))))(*(leaves[k] for k in positions)))
    if peer == "autograd":
        return list(autograd.grad(scalar, argnum=e.wrt_positions)(*args))
    g = jax.grad(scalar, argnums=e.wrt_positions)
    if not {"branch", "fancy_index"} & set(e.needs):  # compiled as a whole, much faster than op by op
        # (but jit cannot branch on values or index with boolean masks); Python ints stay static
        g = jax.jit(g, static_argnums=tuple(i for i, a in enumerate(args) if isinstance(a, int)))
    return [np.asarray(t) for t in g(*args)]


def _autograd_takes(args: tuple) -> bool:
    """Whether autograd differentiates these containers as they are: dicts, lists and tuples of float
    arrays and floats (no strings, no namedtuples)."""
    from symdiff.runtime.pytrees import subtrees
    for a in args:
        leaves, tree = flatten(a)
        if any(t.kind == "namedtuple" for _, t in subtrees(tree)) or is_namedtuple(a):
            return False
        if not tree.is_leaf and not all(isinstance(x, (float, np.ndarray)) for _, x in leaves):
            return False
    return True


def _peer_params() -> list:
    """autograd for every entry; JAX (a tenth of a second per function to compile) for every sixth entry
    and wherever autograd cannot run the body."""
    out = []
    for k, e in enumerate(CORPUS):
        jax = (k % 6 == 0 or (e.id, "autograd") in PEER_SKIP) and "pytree" not in e.needs  # (JAX sorts dict keys)
        peers = ["autograd"] + (["jax"] if jax else [])
        for peer in peers:
            marks = _marks(e, peer=True, path="peer")
            reason = PEER_SKIP.get((e.id, peer)) or next(
                (f"{peer}: the function {PEER_CANNOT[f]}" for f in e.needs if f in PEER_CANNOT), None)
            if reason:
                marks = [pytest.mark.skip(reason=reason)]
            out.append(pytest.param(e, peer, id=f"{e.id}-{peer}", marks=marks))
    return out


@pytest.mark.parametrize("e, peer", _peer_params())
def test_peer(e: Entry, peer: str):
    if set(e.needs) & PENDING:
        pytest.skip("symdiff: pending feature " + ", ".join(sorted(set(e.needs) & PENDING)))
    args = e.args()
    theirs = _peer_gradients(peer, e, args)
    _, ours = _symdiff_value_and_grad(e, args)
    if "pytree" in e.needs:
        if _autograd_takes(args):  # the same containers: the same structure (types, keys, their order)
            assert [flatten(g)[1] for g in ours] == [flatten(g)[1] for g in theirs], e.id
            theirs = [leaf for g in theirs for _, leaf in flatten(g)[0]]
        else:
            theirs = list(theirs)
        ours = list(_flat(e, e.fn, args, ours)[3])
        assert len(ours) == len(theirs)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=f"leaf {k} of the gradient vs {peer}")
        return
    for name, a, b in zip(e.wrt, ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"gradient wrt {name} vs {peer}")
