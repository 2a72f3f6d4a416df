"""Graph pictures: the traced graph and its gradient graph as Graphviz DOT text, and SVG through ``dot``.

One picture per compiled module (see ``Compiled.dot``): per path through the branches, a cluster of
the traced (forward) graph and a cluster of the gradient graph. Inputs are ellipses, the parameters
differentiated with respect to are filled and marked ``wrt``; an operation is a box labelled by its
primitive and the user's source line (``file:line  text``); the function's value is the ``loss``-style
output node (named by the function); gradient nodes (made by differentiating) are red, and each
gradient output points back, dashed, at the parameter it belongs to.

User text (names, source lines, file names) enters the DOT text only through :func:`quote`: node ids
are ours (``p0_f3``), every label is a quoted DOT string with ``\\``, ``"`` and ``&`` escaped and
control characters written out, so no user text can end a label or start an attribute.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Sequence

from ..errors import MissingProgramError, SymdiffError
from ..ir.graph import Graph, Node, expr_text
from ..ir.shapes import format_shape

WRT_FILL = "#fde9b8"
GRAD_COLOR = "#c0392b"
LONGEST = 80  # characters of an expression or a source line shown in a label


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in str(text))


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= LONGEST else text[:LONGEST - 3] + "..."


def quote(*lines: str) -> str:
    """A DOT quoted string showing ``lines`` one under the other, whatever characters they hold (Graphviz
    reads ``&name;`` in a label as an entity: ``&`` is written ``&amp;``, so ``&amp;`` shows as typed)."""
    parts = [_printable(line).replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(parts) + '"'


def _op_text(node: Node) -> str:
    if node.op == "elementwise":
        return _short(f"elementwise {expr_text(node.expr)}")
    if node.op == "const":
        return f"const {format_shape(node.param('value').array.shape)}"
    params = ", ".join(f"{k}={v}" for k, v in node.params if k not in ("name", "index"))
    return _short(f"{node.op} {params}" if params else node.op)


def _where(node: Node) -> str | None:
    if node.origin is None:
        return None
    file = os.path.basename(str(node.origin.file))
    return _short(f"{file}:{node.origin.line}  {node.origin.text}")


class _Writer:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lines: list[str] = []
        self.ids: dict[tuple[str, int], str] = {}

    def node(self, node: Node, part: str, label_lines: Sequence[str], **attrs: str) -> str:
        ident = f"{self.prefix}_{part}{len(self.ids)}"
        self.ids[(part, id(node))] = ident
        extra = "".join(f", {k}={v}" for k, v in attrs.items())
        self.lines.append(f"    {ident} [label={quote(*label_lines)}{extra}];")
        return ident


def _inputs(w: _Writer, graph: Graph, wrt: Sequence[str]) -> dict[int, str]:
    ids = {}
    for node in graph.inputs:
        name = str(node.param("name"))
        shape = f"{node.dtype}{format_shape(node.shape)}"
        if name in wrt:
            ids[node.param("index")] = w.node(node, "in", [f"{name} (wrt)", shape], shape="ellipse",
                                              style="filled", fillcolor=quote(WRT_FILL), penwidth="2")
        else:
            ids[node.param("index")] = w.node(node, "in", [name, shape], shape="ellipse")
    return ids


def _cluster(w: _Writer, graph: Graph, part: str, title: str, inputs: dict[int, str]) -> dict[int, str]:
    """The operations of ``graph`` in a cluster; edges from their inputs. Returns node id -> DOT id."""
    ids: dict[int, str] = {}
    w.lines.append(f"  subgraph cluster_{w.prefix}_{part} {{")
    w.lines.append(f"    label={quote(title)}; fontname=\"Helvetica\"; style=rounded; color=\"#999999\";")
    edges = []
    for node in graph.nodes():
        if node.op == "input":
            ids[id(node)] = inputs.get(node.param("index")) or w.node(node, "in", [str(node.param("name"))])
            continue
        grad = bool(node.origin and node.origin.grad)
        head = f"{node.name}: {_op_text(node)}" if node.name else _op_text(node)
        where = _where(node)
        label = [head, f"{node.dtype}{format_shape(node.shape)}"] + ([where] if where else [])
        attrs = {"shape": "box", "style": "rounded"}
        if grad:
            attrs.update(color=quote(GRAD_COLOR), fontcolor=quote(GRAD_COLOR))
        ids[id(node)] = w.node(node, part, label, **attrs)
        for inp in node.inputs:
            colour = f" [color={quote(GRAD_COLOR)}]" if grad else ""
            edges.append(f"    {ids[id(inp)]} -> {ids[id(node)]}{colour};")
    w.lines.append("  }")
    w.lines.extend(edges)
    return ids


def _outputs(w: _Writer, graph: Graph, part: str, ids: dict[int, str], inputs: dict[int, str],
             by_name: dict[str, int], wrt: Sequence[str], first_is_value: bool, derivative: bool) -> None:
    for k, (label, out) in enumerate(zip(graph.output_names, graph.outputs)):
        value = k == 0 and first_is_value
        attrs = ({"shape": "doubleoctagon", "style": "filled", "fillcolor": quote("#d6eaf8")} if value else
                 {"shape": "octagon", "color": quote(GRAD_COLOR), "fontcolor": quote(GRAD_COLOR)})
        ident = w.node(out, f"{part}out{k}_", [str(label)], **attrs)
        colour = "" if value else f" [color={quote(GRAD_COLOR)}]"
        w.lines.append(f"    {ids[id(out)]} -> {ident}{colour};")
        target = next((n for n in wrt if str(label) in (f"d{n}", n)), None) if not value else None
        if target is not None and by_name.get(target) in inputs:  # the gradient flows back to its parameter
            text = quote(f"{label} = d{graph.output_names[0]}/d{target}" if derivative else f"{label}")
            w.lines.append(f"    {ident} -> {inputs[by_name[target]]} [style=dashed, constraint=false, "
                           f"color={quote(GRAD_COLOR)}, label={text}, fontcolor={quote(GRAD_COLOR)}];")


def path_dot(prefix: str, name: str, forward: Graph, joint: Graph, wrt: Sequence[str], title: str,
             gradient_title: str, value_first: bool = True, derivative: bool = True, path_title: str = "") -> list[str]:
    """The DOT lines of one path: shared inputs, the traced cluster, the gradient cluster, the outputs
    (``derivative``: the gradient outputs are d(value)/d(parameter), so say so on the edges back). With
    ``path_title`` (one path of several through the branches), all of it in a cluster of that title."""
    w = _Writer(prefix)
    if path_title:
        w.lines.append(f"  subgraph cluster_{prefix} {{")
        w.lines.append(f"    label={quote(path_title)}; fontname=\"Helvetica\"; style=dashed; color=\"#666666\";")
    inputs = _inputs(w, joint if len(joint.inputs) >= len(forward.inputs) else forward, wrt)
    by_name = {str(n.param("name")): n.param("index") for n in joint.inputs}
    f_ids = _cluster(w, forward, "f", title, inputs)
    _outputs(w, Graph(forward.inputs, forward.outputs, (name,)), "f", f_ids, inputs, by_name, wrt, True, derivative)
    g_ids = _cluster(w, joint, "g", gradient_title, inputs)
    _outputs(w, joint, "g", g_ids, inputs, by_name, wrt, value_first, derivative)
    return w.lines + (["  }"] if path_title else [])


def failed_path(prefix: str, title: str) -> list[str]:
    return [f"  {prefix}_failed [shape=note, label={quote(title)}];"]


def document(title: str, bodies: Sequence[list[str]]) -> str:
    """A whole DOT digraph from the lines of each path."""
    head = ["digraph symdiff {", f"  label={quote(title)}; labelloc=t; fontname=\"Helvetica\"; rankdir=LR;",
            "  node [fontname=\"Helvetica\", fontsize=11]; edge [fontname=\"Helvetica\", fontsize=9];"]
    return "\n".join(head + [line for body in bodies for line in body] + ["}"]) + "\n"


def node_count(dot_text: str) -> int:
    """How many nodes the picture has (its size: ``dot`` takes long on a graph of hundreds)."""
    return sum(1 for line in dot_text.splitlines() if " [label=" in line and " -> " not in line)


def to_svg(dot_text: str, program: str = "dot", timeout: float = 120) -> str:
    """``dot_text`` drawn as SVG by Graphviz's ``dot`` (``apt-get install graphviz``), within ``timeout`` seconds."""
    exe = shutil.which(program)
    if exe is None:
        raise MissingProgramError(f"drawing the graph needs Graphviz's {program!r} program, which is not on PATH; "
                                  "install it (apt-get install graphviz, brew install graphviz, conda install "
                                  "graphviz), or use .to_dot() and draw the DOT text elsewhere")
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SymdiffError(f"{program} -Tsvg did not finish in {timeout:g} s on a picture of "
                           f"{node_count(dot_text)} nodes; draw .to_dot() with sfdp, or use .graph (text)") from None
    if done.returncode != 0:
        raise SymdiffError(f"{program} -Tsvg failed (exit {done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout.decode("utf-8")
