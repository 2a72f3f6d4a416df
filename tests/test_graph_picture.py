"""Graph pictures and notebook display: ``.to_dot()`` / ``.to_svg()``, ``symdiff graph --format``,
``repr`` and Jupyter's ``_repr_html_`` / ``_repr_markdown_``.

The DOT text is read back by a small independent parser (quoted strings with backslash escapes, node
and edge statements, clusters), so a label that broke out of its quotes would show as extra nodes or
attributes; when Graphviz's ``dot`` is installed the SVG it draws is parsed as XML.
"""
from __future__ import annotations

import html
import importlib.util
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import symdiff
from symdiff import cli
from symdiff.backends import dot as dot_backend

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "model.py"
SEED_SHAPES = {"x": (5,), "y": (3,), "w": (5, 3), "b": (3,)}
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"


def _load(path: Path, name: str = "loss"):
    spec = importlib.util.spec_from_file_location(f"picture_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def _seed_args(seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=5), rng.random(3), rng.normal(size=(5, 3)), rng.normal(size=3)


# ---- a small DOT reader, independent of the writer ----

TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<arrow>->)|(?P<id>[A-Za-z_0-9.#]+)'
                   r'|(?P<punct>[{}\[\]=;,]))', re.S)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = TOKEN.match(text, pos)
        assert m, f"cannot read DOT at {text[pos:pos + 40]!r}"
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", lambda g: "\n" if g.group(1) == "n" else g.group(1), value[1:-1], flags=re.S)
        out.append((kind, value))
        pos = m.end()
    return out


def parse_dot(text: str) -> dict:
    """Nodes (id -> attributes), edges ((tail, head, attributes)), cluster names, graph label."""
    toks = _tokens(text)
    assert toks[:2] == [("id", "digraph"), ("id", "symdiff")] and toks[2] == ("punct", "{")
    nodes, edges, clusters, depth, i, label = {}, [], [], 1, 3, None

    def attrs(i):
        found = {}
        assert toks[i] == ("punct", "[")
        i += 1
        while toks[i] != ("punct", "]"):
            key, eq, val = toks[i], toks[i + 1], toks[i + 2]
            assert key[0] == "id" and eq == ("punct", "="), toks[i:i + 3]
            found[key[1]] = val[1]
            i += 3
            if toks[i] == ("punct", ","):
                i += 1
        return found, i + 1

    while depth:
        kind, value = toks[i]
        if (kind, value) == ("punct", "}"):
            depth, i = depth - 1, i + 1
        elif value == "subgraph":
            clusters.append(toks[i + 1][1])
            assert toks[i + 2] == ("punct", "{")
            depth, i = depth + 1, i + 3
        elif value in ("node", "edge"):
            _, i = attrs(i + 1)
        elif toks[i + 1] == ("punct", "="):  # a graph attribute
            if depth == 1 and value == "label":
                label = toks[i + 2][1]
            i += 3
        elif toks[i + 1][0] == "arrow":
            head = toks[i + 2][1]
            a, i = attrs(i + 3) if toks[i + 3] == ("punct", "[") else ({}, i + 3)
            edges.append((value, head, a))
        else:
            a, i = attrs(i + 1)
            assert value not in nodes, f"node {value} declared twice"
            nodes[value] = a
        if i < len(toks) and toks[i] == ("punct", ";"):
            i += 1
    assert i == len(toks), f"text after the graph: {toks[i:]}"
    return {"nodes": nodes, "edges": edges, "clusters": clusters, "label": label}


def _edges(text: str) -> list[tuple[str, str]]:
    return [(tail, head) for tail, head, _ in parse_dot(text)["edges"]]


def _by_label(graph: dict, first_line: str) -> list[str]:
    return [k for k, a in graph["nodes"].items() if a.get("label", "").split("\n")[0] == first_line]


@pytest.fixture(scope="module")
def seed_dot() -> str:
    g = symdiff.grad(_load(MODEL), wrt=("w", "b"))
    g(*_seed_args())
    return g.to_dot()


def test_seed_dot_structure(seed_dot):
    graph = parse_dot(seed_dot)
    nodes = graph["nodes"]
    assert graph["clusters"] == ["cluster_p0_f", "cluster_p0_g"]  # the traced graph, the gradient graph
    (x,), (y,) = _by_label(graph, "x"), _by_label(graph, "y")
    assert "style" not in nodes[y]
    (w,), (b,) = _by_label(graph, "w (wrt)"), _by_label(graph, "b (wrt)")
    assert nodes[w]["style"] == "filled" and "style" not in nodes[x]
    assert nodes[x]["label"] == "x\nfloat64(n_x,)"
    zs = [k for k, a in nodes.items() if a["label"].startswith("z: elementwise")]
    assert len(zs) == 2 and all("model.py:17 z = x @ w + b" in nodes[k]["label"] for k in zs)
    matmuls = [k for k, a in nodes.items() if a["label"].startswith("matmul\n")]
    assert len(matmuls) == 2
    edges = _edges(seed_dot)
    for m in matmuls:  # z = x @ w: both operands flow into each matmul
        assert (x, m) in edges and (w, m) in edges
    assert len(_by_label(graph, "loss")) == 2  # the value, in both graphs
    (dw,), (db,) = _by_label(graph, "dw"), _by_label(graph, "db")
    assert (dw, w) in edges and (db, b) in edges  # the gradients point back at their parameters
    for tail, head in edges:
        assert tail in nodes and head in nodes, (tail, head)
    red = [k for k, a in nodes.items() if a.get("color") == dot_backend.GRAD_COLOR and a["shape"] == "box"]
    assert sorted(nodes[k]["label"].split(":")[0] for k in red) == ["dw", "dz"]


@needs_dot
def test_seed_svg_is_xml_naming_w_b_z_loss(seed_dot):
    g = symdiff.grad(_load(MODEL), wrt=("w", "b"))
    g(*_seed_args())
    svg = g.to_svg()
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG_NS}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    for wanted in ("x", "w (wrt)", "b (wrt)", "loss", "dw", "db"):
        assert wanted in texts, wanted
    assert any(t.startswith("z: elementwise") for t in texts)
    assert any("z = x @ w + b" in t for t in texts)


HOSTILE_LINE = 'z = x * w # "]; e [label="pwn"]; \\" </text><script>&amp; {'


def _hostile(tmp_path: Path):
    folder = tmp_path / 'we"ird<b>&\\dir'
    folder.mkdir()
    path = folder / 'm"<&>\\.py'
    path.write_text("import numpy as np\n\n\ndef loss(x, w):\n    " + HOSTILE_LINE
                    + "\n    return np.sum(np.sin(z))\n", encoding="utf-8")
    return _load(path), path


def test_hostile_text_stays_inside_labels(tmp_path):
    fn, path = _hostile(tmp_path)
    g = symdiff.grad(fn, wrt="w")
    g(np.ones(3), np.ones(3))
    text = g.to_dot()
    graph = parse_dot(text)
    assert not any("pwn" == a.get("label") for a in graph["nodes"].values())
    assert all(set(a) <= {"label", "shape", "style", "fillcolor", "penwidth", "color", "fontcolor"}
               for a in graph["nodes"].values())
    labels = [html.unescape(a["label"]) for a in graph["nodes"].values()]  # Graphviz reads &...; as entities
    assert any(HOSTILE_LINE in label for label in labels)  # read back exactly as written
    assert html.unescape(graph["label"]) == f"loss ({path.name})"
    if HAVE_DOT:
        root = ET.fromstring(g.to_svg().encode())
        assert not list(root.iter(f"{SVG_NS}script")) and not list(root.iter("script"))
        assert any(HOSTILE_LINE in (t.text or "") for t in root.iter(f"{SVG_NS}text"))
    page = g._repr_html_()
    assert "<script>" not in page and "</text><script>" not in page
    assert "&lt;/text&gt;&lt;script&gt;" in page  # the source line, escaped, in the code and the picture


def test_quote_escapes_quotes_backslashes_and_control_characters():
    assert dot_backend.quote('a"b\\c', "d\x07e\nf") == '"a\\"b\\\\c\\nd\\\\x07e\\\\x0af"'
    assert dot_backend.quote("&amp; <b>") == '"&amp;amp; <b>"'
    (kind, value), = _tokens(dot_backend.quote('a"b\\c'))
    assert kind == "str" and value == 'a"b\\c'


def test_repr_names_the_transform():
    loss = _load(MODEL)
    assert repr(symdiff.grad(loss, wrt=("w", "b"))) == "<symdiff.grad of loss wrt (w, b)>"
    assert repr(symdiff.grad(loss, wrt="w")) == "<symdiff.grad of loss wrt w>"
    assert repr(symdiff.value_and_grad(loss)) == "<symdiff.value_and_grad of loss wrt x>"
    assert repr(symdiff.hessian(loss, wrt=["w", "b"])) == "<symdiff.hessian of loss wrt (w, b)>"


def test_notebook_display_before_and_after_the_first_call():
    g = symdiff.grad(_load(MODEL), wrt=("w", "b"))
    assert "not compiled yet" in g._repr_html_() and "&lt;symdiff.grad of loss wrt (w, b)&gt;" in g._repr_html_()
    assert "not compiled yet" in g._repr_markdown_()
    g(*_seed_args())
    page = g._repr_html_()
    assert f"<pre>{html.escape(g.source)}</pre>" in page
    assert ("<svg" in page) == HAVE_DOT and "<?xml" not in page and "<!DOCTYPE" not in page
    md = g._repr_markdown_()
    assert md.startswith("```python\n") and md.endswith("\n```\n") and "def loss_grad(" in md


def test_missing_dot_is_a_clear_error(monkeypatch, capsys):
    g = symdiff.grad(_load(MODEL), wrt=("w", "b"))
    g(*_seed_args())
    monkeypatch.setattr(dot_backend.shutil, "which", lambda name: None)
    with pytest.raises(symdiff.MissingProgramError, match="Graphviz's 'dot' program"):
        g.to_svg()
    page = g._repr_html_()  # the display still shows the code, without the picture
    assert "<pre>" in page and "<svg" not in page
    code = cli.main(["graph", f"{MODEL}:loss", "--wrt", "w,b", "--shape", "x=5", "--shape", "y=3",
                     "--shape", "w=5,3", "--shape", "b=3", "--format", "svg"])
    err = capsys.readouterr().err
    assert code == 1 and "'dot'" in err and "install" in err and "Traceback" not in err


SEED_CLI = ["--wrt", "w,b", "--shape", "x=5", "--shape", "y=3", "--shape", "w=5,3", "--shape", "b=3"]


def test_cli_graph_formats(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert cli.main(["graph", f"{MODEL}:loss", *SEED_CLI, "--format", "dot", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    graph = parse_dot(out.read_text(encoding="utf-8"))
    assert _by_label(graph, "w (wrt)") and _by_label(graph, "dw")
    assert cli.main(["graph", f"{MODEL}:loss", *SEED_CLI]) == 0  # text stays the default
    assert "loss: traced graph" in capsys.readouterr().out
    if HAVE_DOT:
        svg = tmp_path / "graph.svg"
        assert cli.main(["graph", f"{MODEL}:loss", *SEED_CLI, "--format", "svg", "-o", str(svg)]) == 0
        assert ET.parse(svg).getroot().tag == f"{SVG_NS}svg"


def test_disk_cache_keeps_the_picture():
    loss = _load(MODEL)
    first = symdiff.grad(loss, wrt=("w", "b"))
    first(*_seed_args())
    assert first.cache_info == "compiled"
    again = symdiff.grad(loss, wrt=("w", "b"))
    again(*_seed_args(1))
    assert again.cache_info == "disk" and again.to_dot() == first.to_dot() and again.to_dot().startswith("digraph")
    index = next(Path(symdiff.runtime.cache.cache_dir(), "index").glob("*.json"))
    entries = json.loads(index.read_text())
    for e in entries:
        del e["dot"]  # an index written before pictures existed: a miss, compiled again
    index.write_text(json.dumps(entries))
    old = symdiff.grad(loss, wrt=("w", "b"))
    old(*_seed_args(2))
    assert old.cache_info == "compiled" and old.to_dot() == first.to_dot()


BRANCHY = '''import numpy as np


def f(x, w):
    if np.sum(x) > 0:
        return np.sum(np.tanh(x * w))
    return np.sum(w ** 2)


def g(x, w):
    return np.tanh(x * w)
'''


@pytest.mark.parametrize("name,kind", [("f", "grad"), ("f", "hessian"), ("f", "hvp"), ("f", "jvp"), ("f", "vjp"),
                                       ("g", "jacobian"), ("g", "jvp"), ("g", "vjp")])
def test_every_kind_and_every_path_is_drawn(tmp_path, name, kind):
    path = tmp_path / "branchy.py"
    path.write_text(BRANCHY, encoding="utf-8")
    from symdiff.api import compile_for_export
    text = compile_for_export(_load(path, name), ("w",), {"x": (3,), "w": (3,)}, kind).dot
    graph = parse_dot(text)
    paths = 2 if name == "f" else 1
    inner = [c for c in graph["clusters"] if c.endswith(("_f", "_g"))]
    assert len(inner) == 2 * paths
    if paths == 2:  # each path in its own cluster, titled by the branch it takes
        assert {"cluster_p0", "cluster_p1"} <= set(graph["clusters"])
        assert "if np.sum(x) > 0: -> True" in text and "if np.sum(x) > 0: -> False" in text
    assert len(_by_label(graph, "w (wrt)")) == paths
    back = [a.get("label") for _, _, a in graph["edges"] if a.get("style") == "dashed"]
    if kind == "grad":  # the gradient of the value, per path, back to w
        assert back == [f"dw = d{name}/dw"] * paths
    elif kind == "vjp":  # a pullback of a cotangent: not called d(value)/dw
        assert back == ["dw"] * paths
    else:
        assert back == []
    if HAVE_DOT:
        done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        ET.fromstring(done.stdout)


def test_large_pictures_are_not_drawn_inline(monkeypatch, seed_dot):
    import symdiff.display as display
    g = symdiff.grad(_load(MODEL), wrt=("w", "b"))
    g(*_seed_args())
    count = dot_backend.node_count(seed_dot)
    assert count == 4 + 4 + 1 + 10 + 3  # inputs, traced ops, its loss, gradient-graph ops, its 3 outputs
    monkeypatch.setattr(display, "INLINE_NODES", count - 1)
    page = g._repr_html_()
    assert "<pre>" in page and "<svg" not in page
    assert ("not drawn inline" in page) == HAVE_DOT


@needs_dot
def test_dot_that_takes_too_long_is_a_clear_error(seed_dot):
    with pytest.raises(symdiff.SymdiffError, match="did not finish in 1e-06 s on a picture of 22 nodes"):
        dot_backend.to_svg(seed_dot, timeout=1e-6)
