"""The generated module for the seed example, compared byte for byte with a reviewed snapshot.

A change in the emitted code shows up here as a diff. If the change is intended, read the new
module, check it by hand, and only then replace tests/golden/seed_loss_grad.py with it:
    symdiff grad examples/model.py:loss --wrt w,b --shape x=5 --shape y=3 --shape w=5,3 --shape b=3 \
        -o tests/golden/seed_loss_grad.py
(its header's command line names the source relative to the module's folder: the snapshot's line is
compared with the one written next to the test's own output, which depends on where that is)
"""
import difflib
import re
import importlib.util
from pathlib import Path

import numpy as np

import symdiff
from symdiff.cli import load_function

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "seed_loss_grad.py"
SHAPES = {"x": (5,), "y": (3,), "w": (5, 3), "b": (3,)}


def test_seed_module_matches_snapshot(tmp_path):
    loss = load_function(f"{ROOT / 'examples' / 'model.py'}:loss")
    out = tmp_path / "seed_loss_grad.py"
    text = symdiff.export(loss, out, wrt=("w", "b"), shapes=SHAPES)
    expected = GOLDEN.read_text()
    line = re.compile(r"^Regenerate \(from this file's folder\): (.*(?:\n    .*)*)$", re.M)  # (wrapped lines)
    written = " ".join(part.strip() for part in line.search(text).group(1).split("\n"))
    assert written.startswith("symdiff grad ") and "/examples/model.py:loss --wrt w,b" in written
    assert written.endswith("--shape x=5 --shape y=3 --shape w=5,3 --shape b=3 -o seed_loss_grad.py")
    text = line.sub(line.search(expected).group(0), text)
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "generated"))
    assert text == expected, f"generated module changed; review it and update the snapshot:\n{diff}"


def test_snapshot_computes_the_closed_form():
    spec = importlib.util.spec_from_file_location("seed_loss_grad_golden", GOLDEN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(7)
    x, y, w, b = rng.standard_normal(5), np.array([0.0, 1.0, 1.0]), rng.standard_normal((5, 3)), rng.standard_normal(3)
    value, (dw, db) = module.loss_value_and_grad(x, y, w, b)
    z = x @ w + b
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(value, -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rtol=1e-12)
    np.testing.assert_allclose(dw, np.outer(x, (p - y) / 3), rtol=1e-12)
    np.testing.assert_allclose(db, (p - y) / 3, rtol=1e-12)
