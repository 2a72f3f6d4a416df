"""The package as a typed library: py.typed shipped, the LICENSE the metadata names, ``mypy --strict`` on
a user's call site inferring arrays from ``grad`` / ``value_and_grad``, symdiff's public modules clean
under mypy, and ``help(symdiff.grad)`` showing a full docstring with an example."""
from __future__ import annotations

import pydoc
import subprocess
import sys
from pathlib import Path

import pytest

import symdiff

ROOT = Path(__file__).resolve().parents[1]

CALL_SITE = '''\
import numpy as np
import symdiff


def loss(w: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum(np.tanh(x @ w) ** 2))


w, x = np.zeros(3), np.ones((2, 3))
reveal_type(symdiff.grad(loss, wrt="w")(w, x))
dw, dx = symdiff.grad(loss, wrt=("w", "x"))(w, x)
reveal_type(dx)
value, g = symdiff.value_and_grad(loss)(w, x)
reveal_type(g)


@symdiff.grad(wrt="w")
def f(w: np.ndarray) -> float:
    return float(np.sum(w ** 2))


reveal_type(f(w))
source: str = f.source
'''

#: The modules held to mypy (default strictness, --check-untyped-defs; SymPy has no type hints).
PUBLIC = ["symdiff/gradients.py", "symdiff/optimize.py", "symdiff/explain.py", "symdiff/check.py",
          "symdiff/commands.py", "symdiff/display.py", "symdiff/backends/numpy/annotations.py"]

#: One mypy run for every check of this file (mypy reads NumPy's stubs for 15 s or so each run): the call
#: site and the annotated modules under --strict's per-module flags, symdiff's public modules under
#: mypy's defaults and --check-untyped-defs.
CONFIG = """\
[mypy]
ignore_missing_imports = True
follow_imports = silent
check_untyped_defs = True
warn_redundant_casts = True
warn_unused_configs = True

[mypy-call_site,{annotated}]
disallow_untyped_defs = True
disallow_incomplete_defs = True
disallow_untyped_calls = True
disallow_untyped_decorators = True
disallow_any_generics = True
disallow_subclassing_any = True
warn_return_any = True
no_implicit_reexport = True
strict_equality = True
warn_unused_ignores = True
"""


def _annotated_modules():
    import numpy as np
    from symdiff.api import compile_for_export

    sys.path.insert(0, str(ROOT / "examples"))
    from model import loss

    def huber(r, delta=1.0):
        if abs(r) <= delta:
            return 0.5 * r ** 2
        return delta * (abs(r) - 0.5 * delta)

    def steps(x, n):
        for _ in range(n):
            x = np.tanh(x)
        return np.sum(x)

    seed = {"x": (5,), "y": (3,), "w": (5, 3), "b": (3,)}
    return {"seed": compile_for_export(loss, ("w", "b"), seed, annotate=True),
            "seed_hessian": compile_for_export(loss, "w", seed, kind="hessian", annotate=True),
            "seed_hvp": compile_for_export(loss, "b", seed, kind="hvp", annotate=True),
            "seed_f32": compile_for_export(loss, "w", {"x": "n", "y": "k", "w": "n,k", "b": "k"}, annotate=True,
                                           dtype="float32"),
            "huber": compile_for_export(huber, "r", {}, annotate=True),
            "steps": compile_for_export(steps, "x", {"x": ("n_x",)}, static={"n": 3}, annotate=True)}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    pytest.importorskip("mypy")
    folder = tmp_path_factory.mktemp("typing")
    modules = _annotated_modules()
    (folder / "mypy.ini").write_text(CONFIG.replace("{annotated}", ",".join(f"annotated_{m}" for m in modules)))
    (folder / "call_site.py").write_text(CALL_SITE)
    for name, compiled in modules.items():
        (folder / f"annotated_{name}.py").write_text(compiled.source)
    files = ["call_site.py", *sorted(p.name for p in folder.glob("annotated_*.py")), *(str(ROOT / p) for p in PUBLIC)]
    env = {"PYTHONPATH": str(ROOT), "MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir",
                           str(folder / ".cache"), *files], cwd=folder, capture_output=True, text=True, env=env,
                          timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_packaging_files():
    assert (ROOT / "symdiff" / "py.typed").is_file()
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == {"text": "MIT"}
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["symdiff"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")


def test_help_shows_a_full_docstring_with_an_example():
    text = pydoc.render_doc(symdiff.grad, renderer=pydoc.plaintext)
    assert "wrt" in text and "has_aux" in text and "decorator" in text
    assert ">>> dloss = symdiff.grad(loss, wrt=\"w\")" in text
    assert ">>>" in pydoc.render_doc(symdiff.value_and_grad, renderer=pydoc.plaintext)


def test_mypy_finds_nothing(mypy_output):
    code, text = mypy_output
    errors = [line for line in text.splitlines() if ": error:" in line]
    assert code == 0 and errors == [], text


def test_a_strict_call_site_infers_arrays(mypy_output):
    notes = [line for line in mypy_output[1].splitlines() if line.startswith("call_site.py") and "Revealed" in line]
    assert len(notes) == 4 and all('"numpy.ndarray[' in n for n in notes), mypy_output[1]


def test_annotated_modules_were_checked(mypy_output):
    assert "Success: no issues found in 14 source files" in mypy_output[1]
    assert "Patterns must be" not in mypy_output[1] and "unused section" not in mypy_output[1]


def test_mypy_on_the_whole_package(tmp_path):
    """``mypy symdiff`` (the configuration of pyproject.toml: SymPy and SciPy have no type hints) finds nothing,
    every module of the package checked (no override ignores a module's errors)."""
    tomllib = pytest.importorskip("tomllib")
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"].get("overrides", [])
    assert not [o["module"] for o in overrides if o.get("ignore_errors")]
    pytest.importorskip("mypy")
    done = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".cache"), "symdiff"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 0 and errors == [], done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
