"""The on-disk cache: a second process gets the compiled gradient without SymPy, and any edit to
what the function reads (its file, closure constants, globals) makes it compile again."""
import json
import os
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
