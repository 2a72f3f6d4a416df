"""The on-disk cache: a second process gets the compiled gradient without SymPy, and any edit to
what the function reads (its file, closure constants, globals) makes it compile again."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNNER = textwrap.dedent("""
    import json, sys, importlib.util
    import numpy as np
    import symdiff
    spec = importlib.util.spec_from_file_location("user_model", sys.argv[1])
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    g = symdiff.grad(mod.loss, wrt="w")
    dw = g(np.arange(3.0), np.array([0.5, -1.0, 2.0]))
    print(json.dumps({"cache": g.cache_info, "sympy": "sympy" in sys.modules, "dw": dw.tolist()}))
""")


def run(model: Path, cache: Path) -> dict:
    env = {**os.environ, "SYMDIFF_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", RUNNER, str(model)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_model(path: Path, scale: str, extra: str = "") -> None:
    path.write_text(textwrap.dedent(f"""
        import numpy as np
        SCALE = {scale}
        {extra}
        def loss(x, w):
            return np.sum(np.sin(w) * x) * SCALE
    """))


def test_second_process_uses_the_disk_without_sympy(tmp_path):
    model, cache = tmp_path / "model.py", tmp_path / "cache"
    write_model(model, "2.0")
    first = run(model, cache)
    second = run(model, cache)
    assert first["cache"] == "compiled" and first["sympy"]
    assert second["cache"] == "disk" and not second["sympy"]
    assert second["dw"] == first["dw"]


def test_edits_are_never_served_stale(tmp_path):
    model, cache = tmp_path / "model.py", tmp_path / "cache"
    write_model(model, "2.0")
    w = [0.5, -1.0, 2.0]
    import numpy as np
    assert np.allclose(run(model, cache)["dw"], 2.0 * np.cos(w) * np.arange(3.0))
    write_model(model, "3.0")  # a module-level constant changed
    again = run(model, cache)
    assert again["cache"] == "compiled" and np.allclose(again["dw"], 3.0 * np.cos(w) * np.arange(3.0))
    write_model(model, "3.0", extra="# a comment elsewhere in the file")
    assert run(model, cache)["cache"] == "compiled"


# ---- a hit is verified: corrupted modules and indexes are detected, discarded and recompiled ----

import errno  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import symdiff  # noqa: E402
from symdiff.runtime import cache as cache  # noqa: E402

X = np.array([0.5, -1.0, 2.0])


def tanh_loss(w):
    return np.sum(np.tanh(w) * X)


def expected(w):
    return (1 - np.tanh(w) ** 2) * X




def stored():
    """The (only) index file and the module it names."""
    (index,) = (cache.cache_dir() / "index").glob("*.json")
    (entry,) = json.loads(index.read_text())
    return index, cache.cache_dir() / entry["module"]


def doubled(text: str) -> str:
    """The module edited so that it still imports but returns twice the gradient."""
    assert "return dw" in text
    return text.replace("return dw", "return 2 * dw")


CORRUPT_MODULES = {
    "edited to return twice the gradient": lambda b: doubled(b.decode()).encode(),
    "garbage": lambda b: b"this is ( not python",
    "empty": lambda b: b"",
    "truncated": lambda b: b[: len(b) // 2],
    "not UTF-8": lambda b: b"\xff\xfe\x00garbage" + b,
}


@pytest.mark.parametrize("how", CORRUPT_MODULES)
def test_a_corrupted_module_is_recompiled_not_served(how):
    first = symdiff.grad(tanh_loss)
    assert np.allclose(first(X), expected(X)) and first.cache_info == "compiled"
    _, module = stored()
    module.write_bytes(CORRUPT_MODULES[how](module.read_bytes()))
    again = symdiff.grad(tanh_loss)
    assert np.allclose(again(X), expected(X)) and again.cache_info == "compiled"
    third = symdiff.grad(tanh_loss)  # the cache was repaired
    assert np.allclose(third(X), expected(X)) and third.cache_info == "disk"


CORRUPT_INDEXES = {
    "not JSON": lambda e: "{not json",
    "a list of numbers": lambda e: "[1, 2, 3]",
    "a dict": lambda e: json.dumps(e[0]),
    "a number": lambda e: "42",
    "missing keys": lambda e: json.dumps([{"module": e[0]["module"]}]),
    "no sha256": lambda e: json.dumps([{k: v for k, v in e[0].items() if k != "sha256"}]),
    "wrong types": lambda e: json.dumps([{**e[0], "guard": "x", "func_name": 3, "paths": {}}]),
    "a module path outside the folder": lambda e: json.dumps([{**e[0], "module": "../" + e[0]["module"]}]),
    "a wrong function name": lambda e: json.dumps([{**e[0], "func_name": "nothing"}]),
    "a wrong sha256": lambda e: json.dumps([{**e[0], "sha256": "0" * 64}]),
}


@pytest.mark.parametrize("how", CORRUPT_INDEXES)
def test_an_index_of_the_wrong_shape_is_ignored_and_rewritten(how):
    first = symdiff.grad(tanh_loss)
    assert np.allclose(first(X), expected(X))
    index, _ = stored()
    index.write_text(CORRUPT_INDEXES[how](json.loads(index.read_text())))
    again = symdiff.grad(tanh_loss)
    assert np.allclose(again(X), expected(X)) and again.cache_info == "compiled"
    third = symdiff.grad(tanh_loss)
    assert np.allclose(third(X), expected(X)) and third.cache_info == "disk"


def test_an_edited_module_is_not_served_to_a_fresh_process(tmp_path):
    model, folder = tmp_path / "model.py", tmp_path / "cache"
    write_model(model, "2.0")
    first = run(model, folder)
    (entry_file,) = (folder / "index").glob("*.json")
    module = folder / json.loads(entry_file.read_text())[0]["module"]
    module.write_text(doubled(module.read_text()))
    second = run(model, folder)
    assert second["cache"] == "compiled" and np.allclose(second["dw"], first["dw"])


# ---- an unwritable cache folder: one warning, and the gradient is still computed and right ----

@pytest.fixture
def one_warning(monkeypatch):
    """Reset the once-per-process warning and the folders known to be unwritable."""
    monkeypatch.setattr(cache, "_warned", False)
    monkeypatch.setattr(cache, "_broken", set())
    monkeypatch.setattr(cache, "_fallback", None)


def other_loss(w):
    return np.sum(np.sin(w) ** 2)


def calls_warn_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g, h = symdiff.grad(tanh_loss), symdiff.grad(other_loss)
        assert np.allclose(g(X), expected(X)) and np.allclose(h(X), 2 * np.sin(X) * np.cos(X))
        assert np.allclose(g(2 * X), expected(2 * X)) and g.cache_info == "memory"
    found = [w for w in caught if issubclass(w.category, symdiff.CacheWarning)]
    assert len(found) == 1, [str(w.message) for w in caught]
    assert "SYMDIFF_CACHE_DIR" in str(found[0].message)
    assert found[0].filename == __file__  # it points at the call
    return g


def test_a_cache_path_that_is_a_file(tmp_path, monkeypatch, one_warning):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path / "afile"))
    g = calls_warn_once()
    module = next(iter(g._cache.values()))[0][1]
    assert Path(module.__file__).is_file()  # a real file in a temporary folder


def test_a_cache_path_under_a_file(tmp_path, monkeypatch, one_warning):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path / "afile" / "cache"))
    calls_warn_once()


@pytest.mark.parametrize("error", [PermissionError(errno.EACCES, "Permission denied"),
                                   OSError(errno.ENOSPC, "No space left on device")])
def test_a_read_only_or_full_cache_folder(monkeypatch, one_warning, error):
    real = cache.write_atomic

    def failing(path, text):
        if str(path).startswith(str(cache.cache_dir())):
            raise error
        return real(path, text)
    monkeypatch.setattr(cache, "write_atomic", failing)
    calls_warn_once()


def test_no_folder_can_be_written_at_all(monkeypatch, one_warning):
    def failing(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(cache, "write_atomic", failing)
    monkeypatch.setattr(cache.tempfile, "mkdtemp", lambda **kw: failing(None, None))
    g = calls_warn_once()
    assert "def tanh_loss_grad" in g.source


def test_an_edited_helper_module_is_never_served_stale_to_a_fresh_process(tmp_path):
    """``helpers.SCALE`` and ``helpers.part`` are read through ``module.name``: an edit of helpers.py
    (not of the model's file) gives a new key."""
    model, folder = tmp_path / "model.py", tmp_path / "cache"
    model.write_text(textwrap.dedent("""
        import sys, os
        sys.path.insert(0, os.path.dirname(__file__))
        import numpy as np
        import sd_disk_helpers as helpers
        def loss(x, w):
            return helpers.SCALE * np.sum(helpers.part(w) * x)
    """))
    helpers = tmp_path / "sd_disk_helpers.py"
    w, x = np.array([0.5, -1.0, 2.0]), np.arange(3.0)
    for scale, factor, cached in [(2.0, 1.0, "compiled"), (2.0, 1.0, "disk"), (3.0, 1.0, "compiled"),
                                  (3.0, 5.0, "compiled"), (2.0, 1.0, "disk")]:
        helpers.write_text(f"import numpy as np\nSCALE = {scale}\ndef part(v):\n    return {factor} * np.sin(v)\n")
        shutil.rmtree(tmp_path / "__pycache__", ignore_errors=True)  # a .pyc of the same second and size
        got = run(model, folder)
        assert got["cache"] == cached and np.allclose(got["dw"], scale * factor * np.cos(w) * x), (scale, factor, got)


def test_the_same_symdiff_installed_elsewhere_has_the_same_digest(tmp_path):
    """A copy of the package in another folder (site-packages beside a checkout) serves the same cache."""
    import symdiff
    from symdiff.runtime.fingerprint import symdiff_digest
    from symdiff.runtime.paths import templates_dir
    package = Path(symdiff.__file__).resolve().parent
    shutil.copytree(package, tmp_path / "copy" / "symdiff", ignore=shutil.ignore_patterns("__pycache__"))
    if templates_dir().parent != package:  # a checkout: the templates are the repository's top-level folder
        shutil.copytree(templates_dir(), tmp_path / "copy" / "templates")
    code = "from symdiff.runtime.fingerprint import symdiff_digest; print(symdiff_digest())"
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(tmp_path / "copy"), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert out.stdout.strip() == symdiff_digest()
