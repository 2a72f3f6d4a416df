"""The README's code is never stale: every ```python block runs, or is what the tool prints.

A block right after ``<!-- readme-test: output of `symdiff ...` -->`` must appear, verbatim, in what that
command prints (run from the repository root). ``<!-- readme-test: skip (reason) -->`` skips a block,
saying why. Every other block runs, in order, in one namespace, in a temporary folder where
``examples/`` is the repository's (so the README's paths work as from the repository root, and files the
snippets write land in the temporary folder).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import shlex
from pathlib import Path

import pytest

from symdiff.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"(?:<!-- readme-test: (?P<marker>.*?) -->\n)?```python\n(?P<code>.*?)```", re.S)


def _blocks() -> list[tuple[int, str, str]]:
    return [(README[:m.start()].count("\n") + 1, m.group("marker") or "", m.group("code"))
            for m in BLOCK.finditer(README)]


def test_the_readme_has_blocks_of_each_kind():
    markers = [marker for _, marker, _ in _blocks()]
    assert sum(m.startswith("output of") for m in markers) >= 3
    assert sum(m == "" for m in markers) >= 2
    assert all(m == "" or m.startswith("output of `symdiff ") or m.startswith("skip (") for m in markers)


@pytest.mark.parametrize("line, marker, code", [b for b in _blocks() if b[1].startswith("output of")],
                         ids=lambda v: str(v) if isinstance(v, int) else "")
def test_generated_code_blocks_are_what_the_tool_prints(line, marker, code, monkeypatch):
    command = re.fullmatch(r"output of `(symdiff .*)`", marker).group(1)
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(shlex.split(command)[1:]) == 0
    assert code in out.getvalue(), f"README.md:{line}: the block is not what `{command}` prints now:\n" \
        + out.getvalue()


def test_python_blocks_run_in_order(tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {"__name__": "readme"}
    ran = 0
    for line, marker, code in _blocks():
        if marker:
            continue
        if ".to_svg()" in code and shutil.which("dot") is None:
            code = code.replace("dloss.to_svg()", "dloss.to_dot()")  # (Graphviz is not installed here)
        try:
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - say which block failed
            raise AssertionError(f"the README's block at line {line} fails: {type(exc).__name__}: {exc}") from exc
        ran += 1
    assert ran >= 2
    assert os.getcwd() == str(tmp_path)
