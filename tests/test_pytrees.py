"""Container arguments (pytrees): dicts, lists, tuples and namedtuples of arrays, nested, through the
decorator, export and the CLI; gradients come back in the same structure, checked against central
differences along random directions and against autograd's (and JAX's, for namedtuples) gradient
of the same container."""
from __future__ import annotations

import importlib.util
import re
import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff.runtime import pytrees

ROOT = Path(__file__).resolve().parents[1]
Layer = namedtuple("Layer", "W b")


def _tree_map(f, *trees):
    leaves = [pytrees.flatten(t)[0] for t in trees]
    _, tree = pytrees.flatten(trees[0])
    return pytrees.unflatten(tree, [f(*(lv[k][1] for lv in leaves)) for k in range(len(leaves[0]))])


def _float_leaf(x) -> bool:
    return isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f")


def _fd_check(fn, args, argnum, grad, directions=3, eps=1e-6, seed=0):
    """Central differences of ``fn`` along random directions in every float leaf of ``args[argnum]``
    against the gradient tree ``grad`` (same structure; None at leaves that are not differentiated)."""
    rng = np.random.default_rng(seed)
    for _ in range(directions):
        v = _tree_map(lambda x: (rng.standard_normal(np.shape(x)) if isinstance(x, np.ndarray) else
                                 float(rng.standard_normal())) if _float_leaf(x) else None, args[argnum])
        shift = lambda s: _tree_map(lambda x, d: x + s * d if d is not None else x, args[argnum], v)  # noqa: E731
        plus = [*args[:argnum], shift(eps), *args[argnum + 1:]]
        minus = [*args[:argnum], shift(-eps), *args[argnum + 1:]]
        numeric = (fn(*plus) - fn(*minus)) / (2 * eps)
        pairs = zip(pytrees.flatten(grad)[0], pytrees.flatten(v)[0])
        analytic = sum(float(np.sum(g * d)) for (_, g), (_, d) in pairs if d is not None)
        assert abs(analytic - numeric) <= 1e-7 + 1e-5 * abs(numeric), (analytic, numeric)


def _assert_same_tree(ours, theirs, tol=1e-10):
    """Same container types, keys in the same order, and leaves equal to ``tol``."""
    (a, ta), (b, tb) = pytrees.flatten(ours), pytrees.flatten(theirs)
    assert ta == tb, (ta, tb)
    assert [p for p, _ in a] == [p for p, _ in b]
    for (path, x), (_, y) in zip(a, b):
        np.testing.assert_allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float), rtol=tol, atol=tol,
                                   err_msg=str(path))


def mlp_loss(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    z = h @ params["W2"] + params["b2"]
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y]) + params["l2"] * np.sum(params["W1"] ** 2)


def deep_loss(layers, x):
    for W, b in layers:
        x = np.tanh(x @ W + b)
    return np.sum(x ** 2)


def nt_loss(layer, x):
    return np.sum(np.tanh(x @ layer.W + layer.b) ** 2)


def _mlp_args(seed=0):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 3)),
              "b2": rng.normal(size=3), "l2": 1e-3}
    return params, rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)


def _autograd_of(fn, *args, argnum=0):
    """autograd's gradient of ``fn``'s body, run on autograd.numpy (the functions it calls too)."""
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    saved = globals()["np"]
    globals()["np"] = anp
    try:
        return autograd.grad(fn, argnum)(*args)
    finally:
        globals()["np"] = saved


def test_flatten_and_unflatten_keep_types_keys_and_order():
    value = {"b": [1.0, (np.ones(2), "relu")], "a": Layer(np.zeros(3), 2), "e": {}, "n": None}
    leaves, tree = pytrees.flatten(value)
    assert [pytrees.path_text("p", p) for p, _ in leaves] == ["p.b.0", "p.b.1.0", "p.b.1.1", "p.a.W", "p.a.b", "p.n"]
    back = pytrees.unflatten(tree, [x for _, x in leaves])
    assert list(back) == ["b", "a", "e", "n"] and type(back["a"]) is Layer and type(back["b"][1]) is tuple
    assert back["e"] == {} and back["n"] is None and back["b"][1][1] == "relu"
    assert pytrees.path_code("p", leaves[3][0]) == "p['a'].W"
    assert pytrees.flatten({"b": 1, "a": 2})[1] != pytrees.flatten({"a": 1, "b": 2})[1]  # key order is structure
    assert pytrees.parse_path('p["layers"][0].W') == ("p", ["layers", "0", "W"]) == pytrees.parse_path("p.layers.0.W")


def test_mlp_with_dict_params_and_integer_labels_matches_autograd():
    params, X, y = _mlp_args()
    g = symdiff.grad(mlp_loss)(params, X, y)
    assert list(g) == list(params) and isinstance(g["l2"], (float, np.floating, np.ndarray))
    _assert_same_tree(g, _autograd_of(mlp_loss, params, X, y))
    _fd_check(mlp_loss, (params, X, y), 0, g)
    value, g2 = symdiff.value_and_grad(mlp_loss)(params, X, y)
    assert value == pytest.approx(mlp_loss(params, X, y), rel=1e-12)
    _assert_same_tree(g2, g, 0)


def test_list_of_layer_tuples_matches_autograd():
    rng = np.random.default_rng(1)
    layers = [(rng.normal(size=(3, 4)), rng.normal(size=4)), (rng.normal(size=(4, 2)), rng.normal(size=2))]
    x = rng.normal(size=(5, 3))
    g = symdiff.grad(deep_loss)(layers, x)
    assert type(g) is list and all(type(t) is tuple for t in g)
    _assert_same_tree(g, _autograd_of(deep_loss, layers, x))
    gx = symdiff.grad(deep_loss, wrt=("layers.1", "x"))(layers, x)
    _assert_same_tree(gx[0], g[1], 1e-12)


def test_namedtuple_is_rebuilt_as_its_class_and_matches_autograd():
    rng = np.random.default_rng(2)
    layer, x = Layer(rng.normal(size=(3, 2)), rng.normal(size=2)), rng.normal(size=(4, 3))
    dloss = symdiff.grad(nt_loss)
    g = dloss(layer, x)
    assert type(g) is Layer
    assert "type(layer)(dW, db)" in dloss.source
    _fd_check(nt_loss, (layer, x), 0, g)
    # autograd has no namedtuples: its gradient of the same body on a plain tuple (fields read by position)
    theirs = _autograd_of(lambda t, x: nt_loss(Layer(*t), x), tuple(layer), x)
    _assert_same_tree(g, Layer(*theirs))


def test_wrt_paths_and_their_errors():
    params, X, y = _mlp_args(3)
    full = symdiff.grad(mlp_loss)(params, X, y)
    np.testing.assert_allclose(symdiff.grad(mlp_loss, wrt="params.W1")(params, X, y), full["W1"], rtol=1e-12)
    dW2, db2 = symdiff.grad(mlp_loss, wrt=('params["W2"]', "params.b2"))(params, X, y)
    np.testing.assert_allclose(db2, full["b2"], rtol=1e-12)
    with pytest.raises(symdiff.TraceError, match=r"valid paths: params, params\.W1, params\.b1"):
        symdiff.grad(mlp_loss, wrt="params.W3")(params, X, y)
    with pytest.raises(symdiff.TraceError, match="names 'params.W1' twice"):
        symdiff.grad(mlp_loss, wrt=("params", "params.W1"))(params, X, y)
    data = {"X": X, "y": y}
    with pytest.raises(symdiff.TraceError, match=r"'data\.y'.*integer array"):
        symdiff.grad(lambda p, data: mlp_loss(p, data["X"], data["y"]), wrt="data.y")(params, data)
    with pytest.raises(symdiff.TraceError, match=r"'params\.act'.*str"):
        symdiff.grad(lambda params: np.sum(params["W"]), wrt="params.act")({"W": X, "act": "relu"})


def test_leaves_floats_ints_strings_none_and_functions():
    def f(p, x):
        act = np.tanh if p["act"] == "tanh" else p["fn"]
        return np.sum(act(x * p["scale"])) * p["n"] + (0.0 if p["none"] is None else 1.0)
    x = np.linspace(-1, 1, 4)
    p = {"scale": 0.5, "n": 3, "act": "tanh", "fn": np.sin, "none": None}
    dloss = symdiff.grad(f)
    g = dloss(p, x)
    assert list(g) == list(p) and g["n"] is None and g["act"] is None and g["fn"] is None and g["none"] is None
    assert float(g["scale"]) == pytest.approx(3 * np.sum(x / np.cosh(0.5 * x) ** 2), rel=1e-12)
    g4 = dloss({**p, "n": 4}, x)  # an int leaf is a constant: another value, another code
    assert dloss.cache_info == "compiled" and float(g4["scale"]) == pytest.approx(float(g["scale"]) * 4 / 3)
    gs = dloss({**p, "act": "other"}, x)  # a string too; the function leaf is used now
    assert float(gs["scale"]) == pytest.approx(3 * np.sum(x * np.cos(0.5 * x)), rel=1e-12)
    assert 'if act != "other":' in dloss.source


def test_empty_containers():
    def f(params, x):
        return np.sum(x ** 2)
    x = np.arange(3.0)
    value, g = symdiff.value_and_grad(f)({}, x)
    assert g == {} and value == 5.0
    g, gx = symdiff.grad(f, wrt=("params", "x"))({"extra": [], "t": ()}, x)
    assert g == {"extra": [], "t": ()}
    np.testing.assert_allclose(gx, 2 * x)


def test_key_order_is_the_callers_and_a_cache_key():
    params, X, y = _mlp_args(4)
    dloss = symdiff.grad(mlp_loss)
    g = dloss(params, X, y)
    assert dloss.cache_info == "compiled"
    dloss(_mlp_args(5)[0], X, y)  # same structure, other values: the same code
    assert dloss.cache_info == "memory"
    reordered = dict(reversed(list(params.items())))
    g2 = dloss(reordered, X, y)
    assert dloss.cache_info == "compiled" and list(g2) == list(reordered)
    _assert_same_tree(dict(reversed(list(g2.items()))), g, 1e-12)
    dloss({**params, "b1": params["b1"][None, :]}, X, y)  # a leaf of another rank: another code
    assert dloss.cache_info == "compiled"


def test_freshness_of_what_the_function_reads_still_works():
    ns: dict = {"np": np, "SCALE": 2.0}
    exec("def f(p):\n    return SCALE * np.sum(p['w'] ** 2)\n", ns)  # noqa: S102
    dloss, p = symdiff.grad(ns["f"]), {"w": np.arange(3.0)}
    np.testing.assert_allclose(dloss(p)["w"], 4 * p["w"])
    ns["SCALE"] = 3.0
    np.testing.assert_allclose(dloss(p)["w"], 6 * p["w"])


def test_other_transforms_with_containers():
    params, X, y = _mlp_args(6)
    small = {"W": params["W1"], "s": 0.7}

    def g(p, X):
        return np.tanh(X @ p["W"])[:, 0] * p["s"]
    J = symdiff.jacobian(g)(small, X)
    assert list(J) == ["W", "s"] and J["W"].shape == (6, 4, 5) and J["s"].shape == (6,)
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp
    body = type(g)(g.__code__, {**g.__globals__, "np": anp}, "g")
    # (autograd's jacobian takes arrays only: one leaf at a time)
    np.testing.assert_allclose(J["W"], autograd.jacobian(lambda W: body({**small, "W": W}, X))(small["W"]),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(J["s"], autograd.jacobian(lambda s: body({**small, "s": s}, X))(0.7), rtol=1e-10)
    with pytest.raises(symdiff.TraceError, match=r"hessian of mlp_loss with respect to the container 'params'.*"
                                                 r"wrt=\('params\.W1', 'params\.b1'"):
        symdiff.hessian(mlp_loss)(params, X, y)
    H = symdiff.hessian(mlp_loss, wrt="params.b2")(params, X, y)
    np.testing.assert_allclose(H, autograd.hessian(lambda b: mlp_loss({**params, "b2": b}, X, y))(params["b2"]),
                               rtol=1e-9, atol=1e-12)
    e = symdiff.elementwise_grad(lambda p: np.tanh(p["a"]) * p["b"])({"a": X[0], "b": X[1]})
    np.testing.assert_allclose(e["a"], X[1] / np.cosh(X[0]) ** 2, rtol=1e-12)

    def with_aux(p, X, y):
        loss = mlp_loss(p, X, y)
        return loss, {"loss": loss}
    (value, aux), grads = symdiff.value_and_grad(with_aux, has_aux=True)(params, X, y)
    assert float(aux["loss"]) == pytest.approx(value) and list(grads) == list(params)


def test_branches_on_traced_values_inside_containers():
    def f(p, x):
        s = np.sum(x @ p["W"])
        if s > 0:
            return s * p["k"]
        return -s
    rng = np.random.default_rng(7)
    p, x = {"W": rng.normal(size=(3, 2)), "k": 2.0}, rng.normal(size=(4, 3))
    dloss = symdiff.grad(f)
    for xs in (x, -x):
        _fd_check(f, (p, xs), 0, dloss(p, xs))


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_export_takes_nested_or_dotted_shapes(tmp_path: Path):
    nested = symdiff.export(mlp_loss, tmp_path / "a.py", shapes={
        "params": {"W1": ("d", "h"), "b1": ("h",), "W2": ("h", "k"), "b2": ("k",), "l2": ()},
        "X": ("n", "d"), "y": "n:int64"})
    dotted = symdiff.export(mlp_loss, tmp_path / "b.py", shapes={
        "params.W1": "d,h", "params.b1": "h", "params.W2": "h,k", "params.b2": "k", "params.l2": "",
        "X": "n,d", "y": "n:int64"})
    from symdiff.check import header_command
    regenerate = re.compile(r"^Regenerate .*(?:\n    .*)*\n", re.M)  # (its -o names each module's own file)
    assert regenerate.sub("", nested) == regenerate.sub("", dotted)
    command = header_command(nested.split('"""')[1])
    assert "--shape params.W1=d,h --shape params.b1=h" in command and command.endswith("-o a.py")
    assert '    W1 = params["W1"]\n' in nested and 'return {"W1": dW1, "b1": db1, ' in nested
    params, X, y = _mlp_args(8)
    g = _import(tmp_path / "a.py").mlp_loss_grad(params, X, y)
    _assert_same_tree(g, symdiff.grad(mlp_loss)(params, X, y), 1e-12)
    layers = symdiff.export(deep_loss, tmp_path / "c.py", shapes={"layers": [((3, 4), (4,)), ((4, 2), (2,))],
                                                                  "x": (5, 3)})
    assert "    layers_0_0, layers_0_1 = layers[0]\n" in layers
    with pytest.raises(symdiff.ShapeError, match=r"--shape params\.W1=SIZES --shape params\.b1=SIZES"):
        symdiff.export(mlp_loss, tmp_path / "d.py", shapes={"X": (3, 4)})


def test_keys_enter_the_code_only_as_literals():
    key = 'a"]\n__import__("os")  # '
    f = lambda p: np.sum(p[key] ** 2)  # noqa: E731
    dloss = symdiff.grad(f)
    g = dloss({key: np.arange(3.0)})
    np.testing.assert_allclose(g[key], 2 * np.arange(3.0))
    compile(dloss.source, "<generated>", "exec")
    assert "__import__(\"os\")  # '" not in dloss.source.replace(repr(key), "")


def test_cli_shapes_of_leaves(tmp_path: Path):
    src = tmp_path / "clf.py"
    src.write_text("import numpy as np\n\n\ndef loss(params, X, y):\n"
                   "    z = X @ params['W'] + params['b']\n"
                   "    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))\n"
                   "    return -np.mean(logp[np.arange(X.shape[0]), y])\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = lambda *a: subprocess.run([sys.executable, "-m", "symdiff", "grad", f"{src}:loss", *a],  # noqa: E731
                                    capture_output=True, text=True, env=env, timeout=120)
    missing = run("--shape", "X=n,d", "--shape", "y=n:int64")
    assert missing.returncode == 1
    assert "--shape params.W=SIZES --shape params.b=SIZES" in missing.stderr
    out = tmp_path / "g.py"
    ok = run("--shape", "params.W=d,k", "--shape", "params.b=k", "--shape", "X=n,d", "--shape", "y=n:int64",
             "-o", str(out))
    assert ok.returncode == 0, ok.stderr
    rng = np.random.default_rng(9)
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    X, y = rng.normal(size=(7, 4)), rng.integers(0, 3, 7)
    mod = _import(out)
    ns: dict = {}
    exec(src.read_text(), ns)  # noqa: S102
    _fd_check(ns["loss"], (params, X, y), 0, mod.loss_grad(params, X, y))


def _readme_block(after: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n", text.index(after)) + len("```python\n")
    return text[start:text.index("```", start)]


def test_readme_classifier_example_is_what_the_tool_prints(capsys, monkeypatch):
    from symdiff.cli import main
    monkeypatch.chdir(ROOT)
    command = ["grad", "examples/classifier.py:loss", "--shape", "params.W1=d,h", "--shape", "params.b1=h",
               "--shape", "params.W2=h,k", "--shape", "params.b2=k", "--shape", "X=n,d", "--shape", "y=n:int64"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "symdiff " + " ".join(command[:2]) + " --shape params.W1=d,h --shape params.b1=h \\\n" in readme
    assert main(command) == 0
    printed = _readme_block("returns the gradient in the same structure")
    assert printed.startswith("def loss_grad(params, X, y):") and printed in capsys.readouterr().out
    source = (ROOT / "examples" / "classifier.py").read_text(encoding="utf-8")
    body = _readme_block("A second example")
    doc = '    """Mean cross-entropy of the softmax of a two-layer network\'s logits against the labels ``y``."""\n'
    assert body.replace("\n    h = ", "\n" + doc + "    h = ") in source


def test_repeated_calls_take_the_container_fast_path():
    def f(p, x):
        return np.sum(np.sin(x * p["w"])) * p["k"] if p["mode"] == "sin" else np.sum(x * p["w"])
    x = np.linspace(0, 1, 5)
    dloss = symdiff.grad(f)
    dloss({"w": np.ones(5), "k": 2.0, "mode": "sin"}, x)
    for w in (np.full(5, 0.5), np.arange(5.0)):  # new values, the same structure: the code of the first call
        g = dloss({"w": w, "k": 2.0, "mode": "sin"}, x)
        assert dloss.cache_info == "memory" and list(dloss._fast_trees)
        np.testing.assert_allclose(g["w"], 2.0 * x * np.cos(x * w), rtol=1e-12)
    g = dloss({"w": w, "k": 2.0, "mode": "lin"}, x)  # a static leaf is part of the key
    np.testing.assert_allclose(g["w"], x, rtol=1e-12)
    assert g["k"] == 0 and g["mode"] is None


def test_a_function_in_a_container_is_keyed_by_what_it_reads():
    ns: dict = {"np": np, "S": 2.0}
    exec("def act(z):\n    return np.tanh(z) * S\n", ns)  # noqa: S102
    f = lambda p, x: np.sum(p["act"](x * p["w"]))  # noqa: E731
    dloss, x = symdiff.grad(f), np.linspace(-1, 1, 4)
    p = {"w": 0.5, "act": ns["act"]}
    assert float(dloss(p, x)["w"]) == pytest.approx(2.0 * np.sum(x / np.cosh(0.5 * x) ** 2), rel=1e-12)
    ns["S"] = 3.0  # what the function in the dict reads changed: compiled again, never the old code
    assert float(dloss(p, x)["w"]) == pytest.approx(3.0 * np.sum(x / np.cosh(0.5 * x) ** 2), rel=1e-12)
    assert dloss.cache_info == "compiled"


def test_entry_points_inline_the_unpacking_unless_branches_or_renamed_parameters():
    def f(params, sum):  # a parameter named like a builtin: the code for the leaves is behind a wrapper
        return np.sum(params["a"] * sum)
    dloss = symdiff.grad(f, wrt=("params", "sum"))
    g, gs = dloss({"a": np.ones(3)}, np.arange(3.0))
    np.testing.assert_allclose(g["a"], np.arange(3.0))
    np.testing.assert_allclose(gs, np.ones(3))
    assert "def _f_grad(a, sum_):" in dloss.source and "da, dsum_ = _f_grad(a, sum)" in dloss.source
    dplain = symdiff.grad(mlp_loss)
    dplain(*_mlp_args())
    assert "def _mlp_loss_grad" not in dplain.source and '    W1 = params["W1"]\n' in dplain.source



def _private_loss(params, x):
    return np.sum(np.tanh(params["w"] * x) * params["pair"][1]) + np.sum(params["pair"][0] ** 2)


def test_a_function_named_with_a_leading_underscore_takes_its_containers():
    rng = np.random.default_rng(7)
    params = {"w": rng.normal(size=4), "pair": (rng.normal(size=4), rng.normal(size=4))}
    x = rng.normal(size=4)
    grad = symdiff.grad(_private_loss)(params, x)
    assert list(grad) == ["w", "pair"] and isinstance(grad["pair"], tuple)
    _fd_check(_private_loss, (params, x), 0, grad)
    value, again = symdiff.value_and_grad(_private_loss)(params, x)
    assert np.isclose(value, _private_loss(params, x))
    _assert_same_tree(again, grad)
