"""The second-order examples, run as a user would: ``python examples/NAME.py`` in a subprocess.

Each example checks its own numbers (asserts) and ends with a success line; here they must
exit 0 and print it. ``optimize_rosenbrock`` needs SciPy and is skipped without it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _run_example(name: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["SYMDIFF_CACHE_DIR"] = str(tmp_path / "symdiff-cache")
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 0, f"{name} exited with {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr}"
    return proc


def test_logistic_newton(tmp_path):
    out = _run_example("logistic_newton.py", tmp_path).stdout
    assert "logistic_newton: all checks passed" in out
    assert "converged in" in out
    assert "def logistic_loss_hessian(w, X, y):" in out


def test_optimize_rosenbrock(tmp_path):
    pytest.importorskip("scipy")
    out = _run_example("optimize_rosenbrock.py", tmp_path).stdout
    assert "optimize_rosenbrock: all checks passed" in out
    assert "def rosenbrock_hessian(x):" in out
    assert "def rosenbrock_hvp(x, v):" in out


def test_optimize_trust_krylov(tmp_path):
    pytest.importorskip("scipy")
    out = _run_example("optimize_trust_krylov.py", tmp_path).stdout
    assert "optimize_trust_krylov: all checks passed" in out
    assert "success=True" in out
