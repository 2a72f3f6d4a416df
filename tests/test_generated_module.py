"""The generated module as a deliverable: standalone (NumPy only), correct at any size, deterministic,
lint-clean, with an informative header, readable names and ``# Grad of:`` comments quoting the user.

Expected gradients come from hand-derived closed forms or central differences of the plain NumPy
function, never from symdiff itself.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import linecache
import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

import symdiff

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "model.py"
FORBIDDEN = ("sympy", "jinja2", "symdiff")

SEED_SHAPES = {"x": (5,), "y": (3,), "w": (5, 3), "b": (3,)}
SYMBOLIC_SHAPES = {"x": ("n",), "y": ("k",), "w": ("n", "k"), "b": ("k",)}

CASES_SOURCE = '''\
import numpy as np

import symdiff

W0 = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])


def const_arr(x, w):
    scale = np.array([1.0, 2.0, 3.0])
    z = (x @ w + W0.sum(axis=0)) * scale
    return np.sum(z ** 2)


def indexing(x):
    d = x[1:] - x[:-1]
    m = x[:, None] * x[None, :]
    return np.sum(d ** 2) + np.sum(m)


def leaky(z):
    return np.sum(np.where(z > 0, z, 0.1 * z))


def reductions(a):
    m = np.max(a, axis=1, keepdims=True)
    s = np.sum(np.exp(a - m), axis=1, keepdims=True)
    return np.mean(np.log(s) + m)


def stopped(x, w):
    t = symdiff.stop_gradient(x @ w)
    return np.sum((x @ w - t) ** 2 + t * (x @ w))


def header_probe(inputs, weights, bias):
    return np.sum(np.tanh(inputs @ weights + bias))


def deco_loss(x, w):
    z = np.log(x) @ w
    return np.sum(np.tanh(z))
'''

# name -> (wrt, export shapes, shapes to evaluate at): the lint-clean / comment / naming cases.
CASES = {
    "const_arr": (("x", "w"), {"x": (2,), "w": (2, 3)}, [(2,), (2, 3)]),
    "indexing": ("x", {"x": ("n",)}, [(7,)]),
    "leaky": ("z", {"z": (4,)}, [(9,)]),
    "reductions": ("a", {"a": ("n", "k")}, [(3, 5)]),
    "stopped": (("w",), {"x": (3,), "w": (3, 2)}, [(4,), (4, 3)]),
}
MODULES = ["seed", "seed_symbolic", *CASES]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A folder with the user files (cases.py) and every generated module, exported once."""
    work = tmp_path_factory.mktemp("generated")
    (work / "cases.py").write_text(CASES_SOURCE)
    model, cases = _load(MODEL, "gm_test_model"), _load(work / "cases.py", "gm_test_cases")
    out = work / "out"
    symdiff.export(model.loss, out / "seed.py", wrt=("w", "b"), shapes=SEED_SHAPES)
    symdiff.export(model.loss, out / "seed_symbolic.py", wrt=("w", "b"), shapes=SYMBOLIC_SHAPES)
    for name, (wrt, shapes, _) in CASES.items():
        symdiff.export(getattr(cases, name), out / f"{name}.py", wrt=wrt, shapes=shapes)
    return work


@pytest.fixture(scope="module")
def cases(work):
    return _load(work / "cases.py", "gm_test_cases")


def _text(work: Path, name: str) -> str:
    return (work / "out" / f"{name}.py").read_text()


def _source_file(work: Path, name: str) -> Path:
    return MODEL if name.startswith("seed") else work / "cases.py"


def _seed_reference(x, y, w, b):
    """Hand-derived: z = x @ w + b, dz = (sigmoid(z) - y)/k, dw = outer(x, dz), db = dz."""
    z = x @ w + b
    value = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (1.0 / (1.0 + np.exp(-z)) - y) / z.shape[0]
    return value, np.outer(x, dz), dz


def _seed_inputs(n: int, k: int):
    rng = np.random.default_rng(1000 * n + k)
    return rng.normal(size=n), rng.uniform(size=k), rng.normal(size=(n, k)), rng.normal(size=k)


def _central_differences(f, args, i, eps=1e-6):
    args = [np.array(a, dtype=float) for a in args]
    g = np.zeros_like(args[i])
    for idx in np.ndindex(args[i].shape):
        plus, minus = [a.copy() for a in args], [a.copy() for a in args]
        plus[i][idx] += eps
        minus[i][idx] -= eps
        g[idx] = (f(*plus) - f(*minus)) / (2 * eps)
    return g


# ---- (1) standalone and correct, in a fresh process ----

FRESH_SCRIPT = r'''
import importlib.abc, importlib.util, json, sys
FORBIDDEN = {forbidden!r}


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in FORBIDDEN:
            raise ImportError("the generated module must not import " + name)


sys.meta_path.insert(0, Block())
import numpy as np

modules = {{}}
for tag, path in {paths!r}.items():
    spec = importlib.util.spec_from_file_location("gen_" + tag, path)
    modules[tag] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(modules[tag])
data = dict(np.load({inputs!r}))
out = {{}}
for key in sorted({{k.rpartition("-")[0] for k in data}}):
    tag = key.split("@")[0]
    args = [data[key + "-" + a] for a in "xywb"]
    dw, db = modules[tag].loss_grad(*args)
    value, (dw2, db2) = modules[tag].loss_value_and_grad(*args)
    out.update({{key + "-dw": dw, key + "-db": db, key + "-value": np.asarray(value),
                key + "-dw2": dw2, key + "-db2": db2}})
np.savez({outputs!r}, **out)
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in FORBIDDEN)))
'''


def test_fresh_process_needs_only_numpy_and_is_correct_at_any_size(work):
    sizes = [(5, 3), (1000, 3), (8, 6), (2, 1)]
    inputs = {}
    for tag in ("seed", "seed_symbolic"):
        for n, k in sizes:
            for a, value in zip("xywb", _seed_inputs(n, k)):
                inputs[f"{tag}@{n}x{k}-{a}"] = value
    np.savez(work / "inputs.npz", **inputs)
    script = FRESH_SCRIPT.format(forbidden=FORBIDDEN, inputs=str(work / "inputs.npz"),
                                 outputs=str(work / "outputs.npz"),
                                 paths={t: str(work / "out" / f"{t}.py") for t in ("seed", "seed_symbolic")})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # symdiff is not even on the path
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          cwd=work / "out", timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []  # none of sympy, jinja2, symdiff was imported
    out = dict(np.load(work / "outputs.npz"))
    for tag in ("seed", "seed_symbolic"):
        for n, k in sizes:
            key = f"{tag}@{n}x{k}"
            value, dw_ref, db_ref = _seed_reference(*_seed_inputs(n, k))
            assert out[f"{key}-dw"].shape == (n, k) and out[f"{key}-db"].shape == (k,)
            for suffix in ("", "2"):
                np.testing.assert_allclose(out[f"{key}-dw{suffix}"], dw_ref, rtol=1e-10, atol=1e-14, err_msg=key)
                np.testing.assert_allclose(out[f"{key}-db{suffix}"], db_ref, rtol=1e-10, atol=1e-14, err_msg=key)
            np.testing.assert_allclose(out[f"{key}-value"], value, rtol=1e-12, err_msg=key)


def test_single_wrt_name_gives_a_bare_array(tmp_path):
    model = _load(MODEL, "gm_test_model_single")
    path = tmp_path / "loss_w.py"
    symdiff.export(model.loss, path, wrt="w", shapes=SEED_SHAPES)
    module = _load(path, "gm_loss_w")
    x, y, w, b = _seed_inputs(5, 3)
    value, dw_ref, _ = _seed_reference(x, y, w, b)
    dw = module.loss_grad(x, y, w, b)
    assert isinstance(dw, np.ndarray) and dw.shape == (5, 3)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-10)
    v, dw2 = module.loss_value_and_grad(x, y, w, b)
    assert isinstance(dw2, np.ndarray)
    np.testing.assert_allclose(v, value, rtol=1e-12)
    np.testing.assert_allclose(dw2, dw_ref, rtol=1e-10)


@pytest.mark.parametrize("name", list(CASES))
def test_case_gradients_are_correct(work, cases, name):
    wrt, _, sample_shapes = CASES[name]
    fn = getattr(cases, name)
    module = _load(work / "out" / f"{name}.py", f"gm_case_{name}")
    rng = np.random.default_rng(7)
    args = [rng.normal(size=s) for s in sample_shapes]
    names = list(inspect.signature(fn).parameters)
    wrt_names = [wrt] if isinstance(wrt, str) else list(wrt)
    grads = getattr(module, f"{name}_grad")(*args)
    value, grads2 = getattr(module, f"{name}_value_and_grad")(*args)
    if isinstance(wrt, str):
        grads, grads2 = (grads,), (grads2,)
    assert len(grads) == len(grads2) == len(wrt_names)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12)
    for wname, g, g2 in zip(wrt_names, grads, grads2):
        i = names.index(wname)
        if name == "stopped":  # t is a constant: d/dw sum((xw - t)^2 + t*xw) = outer(x, 2(xw - t) + t) = outer(x, xw)
            expected = np.outer(args[0], args[0] @ args[1])
        else:
            expected = _central_differences(fn, args, i)
        assert g.shape == args[i].shape
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-6, err_msg=wname)
        np.testing.assert_allclose(g2, g, rtol=1e-12, atol=1e-15)


# ---- (2) deterministic ----

DETERMINISM_SCRIPT = r'''
import importlib.util, sys
from pathlib import Path
import symdiff


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


model, cases = load({model!r}, "gm_test_model"), load({cases!r}, "gm_test_cases")
out = Path({out!r})
symdiff.export(model.loss, out / "seed.py", wrt=("w", "b"), shapes={seed_shapes!r})
symdiff.export(model.loss, out / "seed_symbolic.py", wrt=("w", "b"), shapes={symbolic_shapes!r})
for name, (wrt, shapes, _) in {cases_table!r}.items():
    symdiff.export(getattr(cases, name), out / (name + ".py"), wrt=wrt, shapes=shapes)
'''


def test_exporting_twice_in_one_process_gives_identical_bytes(work, tmp_path):
    model = _load(MODEL, "gm_test_model")
    first = symdiff.export(model.loss, tmp_path / "again.py", wrt=("w", "b"), shapes=SEED_SHAPES)
    assert (tmp_path / "again.py").read_bytes() == (work / "out" / "seed.py").read_bytes()
    second = symdiff.export(model.loss, tmp_path / "again.py", wrt=("w", "b"), shapes=SEED_SHAPES)
    assert first == second
    assert (tmp_path / "again.py").read_text() == second


def test_separate_processes_give_identical_bytes(work, tmp_path):
    results = []
    for hash_seed in ("0", "4242"):  # different str-hash orders, so set/dict order cannot leak into output
        out = tmp_path / f"seed{hash_seed}"
        script = DETERMINISM_SCRIPT.format(model=str(MODEL), cases=str(work / "cases.py"), out=str(out),
                                           seed_shapes=SEED_SHAPES, symbolic_shapes=SYMBOLIC_SHAPES,
                                           cases_table=CASES)
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, SYMDIFF_CACHE_DIR=str(tmp_path / "cache"))
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        results.append(out)
    for name in MODULES:
        reference = (work / "out" / f"{name}.py").read_bytes()
        for out in results:
            assert (out / f"{name}.py").read_bytes() == reference, name


# ---- (3) lint-clean ----

def _ruff() -> list[str]:
    exe = shutil.which("ruff")
    if exe:
        return [exe]
    pytest.importorskip("ruff")
    return [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize("name", MODULES)
def test_ruff_reports_nothing(work, name):
    path = work / "out" / f"{name}.py"
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "--isolated", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr + "\n" + path.read_text()


# ---- (4) the header ----

def _docstring(text: str) -> str:
    doc = ast.get_docstring(ast.parse(text))
    assert doc, "the module has no docstring"
    return doc


def _function_source(path: Path, name: str) -> str:
    """The text of ``def name`` in ``path``, cut out with ast (independently of symdiff)."""
    text = path.read_text()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return "".join(text.splitlines(keepends=True)[node.lineno - 1:node.end_lineno])


def _assert_hash_of(doc: str, source: str) -> None:
    assert "sha256" in doc.lower()
    digest = hashlib.sha256(source.encode()).hexdigest()
    runs = re.findall(r"\b[0-9a-f]{12,64}\b", doc)
    assert any(digest.startswith(run) for run in runs), (digest, runs)


def test_header_of_the_seed(work):
    doc = _docstring(_text(work, "seed"))
    assert "symdiff 0.1.0" in doc
    assert re.search(r"\bloss\b", doc)
    assert "model.py" in doc
    assert re.search(r"\bw, b\b", doc)
    for shape in ("(5,)", "(3,)", "(5, 3)"):
        assert shape in doc, shape
    _assert_hash_of(doc, _function_source(MODEL, "loss"))
    symbolic = _docstring(_text(work, "seed_symbolic"))
    assert "(n, k)" in symbolic and "(n,)" in symbolic and "(k,)" in symbolic


def test_header_names_function_file_wrt_shapes_and_hash(work, cases, tmp_path):
    path = tmp_path / "probe.py"
    text = symdiff.export(cases.header_probe, path, wrt=("weights", "bias"),
                          shapes={"inputs": (4,), "weights": (4, 2), "bias": (2,)})
    doc = _docstring(text)
    assert "header_probe" in doc
    assert "cases.py" in doc
    assert "symdiff 0.1.0" in doc
    lines = doc.splitlines()
    assert any("weights" in line and "bias" in line and "inputs" not in line for line in lines), \
        "no line names exactly the wrt arguments"
    for name, shape in (("inputs", "(4,)"), ("weights", "(4, 2)"), ("bias", "(2,)")):
        assert re.search(rf"\b{name}\b[^,]*{re.escape(shape)}", doc), (name, shape)
    _assert_hash_of(doc, _function_source(work / "cases.py", "header_probe"))


# ---- (5) # Grad of: comments quote the user's lines, with their file and line ----

COMMENT = re.compile(r"# (?P<grad>Grad of: )?(?P<file>[^:]+):(?P<line>\d+): (?P<text>.*)")


def _comments(text: str) -> list[str]:
    """Comments inside the generated functions (the docstring excluded)."""
    return [line.strip() for line in text.splitlines() if line.startswith("    ") and line.strip().startswith("#")]


def _function_comments(text: str) -> list[list[re.Match]]:
    """The source comments of each generated function (and of each loop body in it), in order."""
    out = []
    for f in ast.walk(ast.parse(text)):
        if isinstance(f, ast.FunctionDef):
            lines: list[str] = []
            for line in text.splitlines()[f.lineno:f.end_lineno]:
                if line.strip().startswith("#     ") and lines and lines[-1].startswith("#"):
                    lines[-1] += " " + line.strip()[len("#     "):]  # a long comment goes on over lines
                else:
                    lines.append(line.strip())
            out.append([m for m in map(COMMENT.fullmatch, lines) if m])
    return out


def check_source_comments(text: str, source: Path) -> int:
    """Every comment names ``source`` and a line of it by number, quoting that line; within a function the
    value's lines come in increasing order, then the derivative's in decreasing order (a loop's body
    restarts the order: its lines are the body's), and no line's comment is repeated consecutively.
    Returns how many comments were checked."""
    lines = source.read_text().splitlines()
    checked = 0
    for comments in _function_comments(text):
        previous = None
        for m in comments:
            assert m["file"] == source.name, m.group(0)
            assert lines[int(m["line"]) - 1].strip() == m["text"], (m.group(0), lines[int(m["line"]) - 1])
            key = (1, -int(m["line"])) if m["grad"] else (0, int(m["line"]))
            if previous is not None:
                assert key != previous or _restarts_in_a_loop(text, m.group(0)), f"repeated: {m.group(0)}"
                in_loop = previous[0] == 1 and key[0] == 0 or key < previous
                assert not in_loop or _restarts_in_a_loop(text, m.group(0)), f"out of order: {m.group(0)}"
            previous = key
            checked += 1
    return checked


def _restarts_in_a_loop(text: str, comment: str) -> bool:
    """Whether ``comment`` is the first comment of a rolled loop's body (where the order starts again)."""
    lines = [line.strip() for line in text.splitlines()]
    for k in [i for i, line in enumerate(lines) if line and comment.startswith(line)]:
        while k > 0 and not lines[k - 1].startswith("#"):
            if lines[k - 1].startswith(("for ", "while ")):
                return True
            k -= 1
    return False


def test_seed_has_grad_of_comments(work):
    text = _text(work, "seed")
    assert "# Grad of: model.py:17: z = x @ w + b" in text
    assert "# Grad of: model.py:18: return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))" in text
    assert "# model.py:17: z = x @ w + b" in text


@pytest.mark.parametrize("name", MODULES)
def test_every_comment_names_and_quotes_a_user_line_in_order(work, name):
    comments = _comments(_text(work, name))
    assert any(c.startswith("# Grad of: ") for c in comments)
    assert check_source_comments(_text(work, name), _source_file(work, name)) == \
        len([c for c in comments if COMMENT.fullmatch(c)])


# ---- (6) readable names ----

def test_seed_names_are_readable(work):
    for name in ("seed", "seed_symbolic"):
        text = _text(work, name)
        code = text.split('"""', 2)[2]  # after the header
        assert re.search(r"^    dw = ", code, re.MULTILINE), name
        assert re.search(r"^    db = ", code, re.MULTILINE), name
        assert re.search(r"^    z = x @ w \+ b$", code, re.MULTILINE), name  # the user's own statement, kept as written
        assert not re.search(r"\b_\w", code), re.findall(r"\b_\w+", code)


@pytest.mark.parametrize("name", MODULES)
def test_no_underscore_or_placeholder_names(work, name):
    tree = ast.parse(_text(work, name))
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    params = {a.arg for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for a in f.args.args}
    bad = sorted(n for n in stored | params if n.startswith("_"))
    assert not bad, bad
    code = _text(work, name)
    assert not re.search(r"\b_[a-z]\d*\b", code), re.findall(r"\b_[a-z]\d*\b", code)  # _x, _a0, ...
    assert {f.name for f in tree.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")} == \
        {f"{_function_name(name)}_grad", f"{_function_name(name)}_value_and_grad"}


def _function_name(module_name: str) -> str:
    return "loss" if module_name.startswith("seed") else module_name


# ---- (7) the decorator path: a real file in SYMDIFF_CACHE_DIR ----

def test_decorator_module_is_a_real_file_in_the_cache(work, cases):
    cache = Path(os.environ["SYMDIFF_CACHE_DIR"])
    before = set(cache.glob("*.py")) if cache.exists() else set()
    rng = np.random.default_rng(3)
    x, w = rng.uniform(0.5, 2.0, size=4), rng.normal(size=(4, 3))
    g = symdiff.grad(cases.deco_loss, wrt="w")
    dw = g(x, w)
    expected = np.outer(np.log(x), 1 - np.tanh(np.log(x) @ w) ** 2)
    np.testing.assert_allclose(dw, expected, rtol=1e-12)

    files = [p for p in set(cache.glob("*.py")) - before if "def deco_loss_grad(" in p.read_text()]
    assert len(files) == 1, sorted(p.name for p in cache.iterdir())
    path = files[0]
    module = _load(path, "gm_cached_deco_loss")
    source = inspect.getsource(module.deco_loss_grad)
    assert source.startswith("def deco_loss_grad(")
    assert source in path.read_text()
    assert Path(inspect.getsourcefile(module.deco_loss_grad)) == path
    first = module.deco_loss_grad.__code__.co_firstlineno
    assert "def deco_loss_grad(" in linecache.getline(str(path), first)
    np.testing.assert_allclose(module.deco_loss_grad(x, w), expected, rtol=1e-12)

    # A failure inside the gradient shows the generated line, in the cached file, in the traceback.
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError) as info:
        g(-x, w)
    frames = [f for f in traceback.extract_tb(info.tb) if Path(f.filename).resolve().parent == cache.resolve()]
    assert frames, [f.filename for f in traceback.extract_tb(info.tb)]
    assert frames[-1].name == "deco_loss_grad"
    assert "np.log(x)" in frames[-1].line


def test_exported_functions_keep_literal_defaults(tmp_path):
    import importlib.util

    import symdiff

    def huber(p, t, delta=1.0):
        r = p - t
        return np.mean(np.where(np.abs(r) <= delta, 0.5 * r ** 2, delta * (np.abs(r) - 0.5 * delta)))
    path = tmp_path / "huber_grad.py"
    text = symdiff.export(huber, path, shapes={"p": ("n",), "t": ("n",)})
    assert "def huber_grad(p, t, delta=1.0):" in text
    spec = importlib.util.spec_from_file_location("huber_grad", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    p, t = np.array([0.2, 3.0, -2.5]), np.zeros(3)
    np.testing.assert_allclose(module.huber_grad(p, t), np.clip(p, -1.0, 1.0) / 3)
    np.testing.assert_allclose(module.huber_grad(p, t, 0.1), np.clip(p, -0.1, 0.1) / 3)
