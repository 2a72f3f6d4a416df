"""The README's table of supported functions is the registry's, and its commands are the real ones."""
from pathlib import Path

from symdiff.docs import readme_section

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    assert readme_section() in readme, "run `python -m symdiff.docs` and paste it into README.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install ".[test]" && pytest -q' in readme
    assert '".[test]"' in ci and "\npytest -q" in ci


def test_seed_example_runs_and_checks_itself(tmp_path):
    import os
    import subprocess
    import sys
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SYMDIFF_CACHE_DIR": str(tmp_path), "PYTHONPATH": path}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "seed_autograd.py")], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All checks passed" in done.stdout
