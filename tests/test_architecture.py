"""The import graph of the package: no cycles, and imports run one way between the stages.

Every import counts, also one inside a function (an import moved into a function to dodge a cycle
is still a cycle). The rules are the ones the README's "How it is built" describes.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "symdiff"

#: What each part of the package may import besides itself. "" stands for the top-level modules.
ALLOWED = {
    "errors": set(), "naming": set(), "escape": {"errors"},
    "runtime": {"errors", "escape"},
    "ir": {"errors", "naming", "escape"},
    "trace": {"ir", "errors", "naming", "escape", "runtime"},
    "numpy": {"trace", "ir", "errors", "naming", "escape"},
    "scipy": {"numpy", "trace", "ir", "errors", "naming", "escape"},
    "ad": {"ir", "errors", "naming", "escape", "runtime"},
    "rewrite": {"ir", "errors", "naming", "escape"},
    "backends": {"ir", "errors", "naming", "escape", "runtime"},
}
LIMIT = 420  # lines per module (the guideline is about 400)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in modules else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {t for t in found if t in modules and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _part(module: str) -> str:
    """The stage a module belongs to: its first subpackage, or the top-level module's own name."""
    parts = module.split(".")[1:]
    return parts[0] if parts else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_imports_run_one_way_between_stages():
    bad = []
    for module, targets in _graph().items():
        part = _part(module)
        if part not in ALLOWED:  # the top level (api, cli, pipeline, ...) may import every stage
            continue
        for target in targets:
            if _part(target) != part and _part(target) not in ALLOWED[part]:
                bad.append(f"{module} imports {target}")
    assert bad == []


def test_modules_are_small_and_subpackages_say_what_they_hold():
    long = [f"{p.relative_to(PKG)}: {n}" for p in PKG.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT]
    assert long == []
    for init in PKG.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{init.relative_to(PKG)} needs a docstring saying what it holds"


def test_the_checks_see_a_cycle_and_a_wrong_way_import():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert _part("symdiff.ir.graph") == "ir" and _part("symdiff.api") == "api"


def test_every_subpackage_is_shipped():
    """A non-editable install ships exactly the packages pyproject.toml lists: each folder must be there."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(tomllib.loads((PKG.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
                 ["packages"])
    folders = {".".join(p.parent.relative_to(PKG.parent).parts) for p in PKG.rglob("__init__.py")}
    assert folders - listed == set()
