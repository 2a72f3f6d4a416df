"""How a transformed function shows itself: ``repr``, the graph picture (``to_dot``, ``to_svg``),
Jupyter's rich display (``_repr_html_``, ``_repr_markdown_``) and the derivative as equations (``math``,
:mod:`symdiff.explain`). :class:`symdiff.api.Transformed` takes these functions as its methods; they
read only its public record of the latest call.

User text (names, source lines, file names) reaches HTML only through :func:`html.escape` and DOT
only through :func:`symdiff.backends.dot.quote`.
"""
from __future__ import annotations

import html
import re
import shutil


def _svg(dot_text: str, **options) -> str:
    from .backends.dot import to_svg  # here, not above: a cache hit never imports the IR (nor SymPy)
    return to_svg(dot_text, **options)


def describe(t) -> str:
    """``<symdiff.grad of loss wrt (w, b)>``."""
    names = [t.params[i] if i < len(t.params) else f"#{i}" for i in t.wrt]
    wrt = names[0] if t.single and len(names) == 1 else f"({', '.join(names)})"
    return f"<symdiff.{t.entry} of {t.__name__} wrt {wrt}>"


def math_of(t):
    """The derivative of the most recent call as equations (:mod:`symdiff.explain`), made once per module."""
    compiled = t._need()
    memo = t.__dict__.setdefault("_math", {})
    if id(compiled) not in memo:
        from .arguments import plan
        from .explain import math_of as derive
        specs, layout = t._specs[id(compiled)]
        wrt, single, tree = plan(t.__name__, t.kind, specs, layout, t.wrt, t.wrt_steps, t.single)  # leaves
        memo.clear()  # the latest module's only
        memo[id(compiled)] = derive(t.fn, specs, wrt, single=single, kind=t.kind, has_aux=t.has_aux, tree=tree)
    return memo[id(compiled)]


def to_dot(t) -> str:
    """The Graphviz DOT text of the traced graph and the gradient graph of the most recent call."""
    return t._need().dot


def to_svg(t) -> str:
    """The graph picture of the most recent call as SVG text, drawn by Graphviz's ``dot`` (a
    :class:`~symdiff.backends.dot.MissingProgramError` naming it if it is not installed)."""
    return _svg(to_dot(t))


#: Pictures of more nodes are not drawn inline (``dot`` takes seconds to minutes on hundreds of nodes).
INLINE_NODES = 120


def _inline_svg(dot_text: str) -> str:
    """The SVG element alone (no XML declaration nor DOCTYPE), to sit inside HTML; "" without ``dot``."""
    if not dot_text or shutil.which("dot") is None:
        return ""
    from .backends.dot import node_count
    if node_count(dot_text) > INLINE_NODES:
        return (f"<p>(graph of {node_count(dot_text)} nodes: not drawn inline; <code>.to_svg()</code> draws it, "
                "<code>.graph</code> shows it as text)</p>")
    try:
        svg = _svg(dot_text, timeout=20)
    except Exception:  # noqa: BLE001 - a display never raises; the code is still shown
        return ""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def html_of(t) -> str:
    """Jupyter's HTML: the generated code in a ``<pre>``, then the graph picture when ``dot`` is installed."""
    head = f"<p><code>{html.escape(describe(t))}</code></p>"
    if t._last is None:
        return head + "<p>not compiled yet: call it once (it compiles for the shapes it is given)</p>"
    picture = _inline_svg(t._last.dot)
    return (head + f"<pre>{html.escape(t._last.source)}</pre>"
            + (f"<div class=\"symdiff-graph\">{picture}</div>" if picture else ""))


def markdown_of(t) -> str:
    """Jupyter's Markdown: the generated code in a fenced block (a fence longer than any run of backticks in it)."""
    if t._last is None:
        return f"`{describe(t)}`: not compiled yet; call it once"
    source = t._last.source
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", source)), default=0))
    return f"{fence}python\n{source.rstrip()}\n{fence}\n"
