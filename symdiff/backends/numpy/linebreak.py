"""Long generated lines broken as a person breaks them, so every line of a module fits in
:data:`WIDTH` columns: inside the outermost brackets of the statement, one item per line at the
top-level commas (or before the top-level ``+``/``-`` of a long sum), the closing bracket on a line
of its own; a string literal longer than a line becomes adjacent literals (implicit concatenation);
a comment quoting a long source line goes on over indented comment lines.
A line that cannot be broken this way is left as it is; the result is compiled with the module.
"""
from __future__ import annotations

import io
import textwrap
import tokenize

#: Longest line of a generated module.
WIDTH = 100
_OPEN, _CLOSE = "([{", ")]}"


def wrap_lines(lines: list[str], indent: int = 4, width: int = WIDTH) -> list[str]:
    """``lines`` (a function body, to be printed ``indent`` columns in) with the long ones broken."""
    out: list[str] = []
    for line in lines:
        out.extend(wrap(line, width - indent))
    return out


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """One line as lines of at most ``width`` columns where it can be broken, else as it is."""
    if len(line) <= width:
        return [line]
    pad = line[: len(line) - len(line.lstrip())]
    if line.lstrip().startswith("# "):  # a quoted source line: continued on comment lines, indented
        return textwrap.wrap(line.lstrip()[2:], width, initial_indent=pad + "# ", subsequent_indent=pad + "#     ",
                             break_long_words=False, break_on_hyphens=False, drop_whitespace=True) or [line]
    if line.lstrip().startswith("#"):
        return [line]
    text = line.strip()
    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(text + "\n").readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [line]
    if len(toks) == 1 and toks[0].type == tokenize.STRING:
        return [pad + s for s in _split_string(text, width - len(pad))] if _plain_string(text) else [line]
    if len(toks) == 2 and toks[0].string in "+-" and toks[1].type == tokenize.STRING and _plain_string(toks[1].string):
        first, *rest = _split_string(toks[1].string, width - len(pad) - 2)  # + 'a long message'
        return [f"{pad}{toks[0].string} {first}"] + [f"{pad}  {r}" for r in rest]
    span = _widest_brackets(toks)
    eq = _assignment(toks)
    if eq is not None and not (span is not None and span[1] == len(toks) - 1 and
                               all(t.type == tokenize.NAME or t.string == "." for t in toks[eq + 1: span[0]])):
        # a long right-hand side that is not one call: parenthesised, to be broken inside
        cut = toks[eq].end[1]
        return wrap(f"{pad}{text[:cut]} ({text[cut:].strip()})", width)
    if span is None:
        return [line]
    i, j = span
    head, inner, tail = text[: toks[i].end[1]], text[toks[i].end[1]: toks[j].start[1]], text[toks[j].start[1]:]
    items = _items(toks[i + 1: j], toks[i].end[1], text)
    if not items:
        return [line]
    deeper = pad + "    "
    body: list[str] = []
    for item in items:
        body.extend(wrap(deeper + item, width))
    if not inner.strip():
        return [line]
    return [pad + head] + body + [pad + tail]


def _assignment(toks) -> int | None:
    """Position of the ``=`` of an assignment statement (at bracket depth 0), else None."""
    depth = 0
    for k, t in enumerate(toks):
        if t.type == tokenize.OP and t.string in _OPEN:
            depth += 1
        elif t.type == tokenize.OP and t.string in _CLOSE:
            depth -= 1
        elif depth == 0 and t.type == tokenize.OP and t.string == "=":
            return k
    return None


def _widest_brackets(toks) -> tuple[int, int] | None:
    """Token positions of the outermost bracket pair enclosing the most text (None: no brackets)."""
    best, stack = None, []
    for k, t in enumerate(toks):
        if t.type == tokenize.OP and t.string in _OPEN:
            stack.append(k)
        elif t.type == tokenize.OP and t.string in _CLOSE and stack:
            start = stack.pop()
            if not stack and (best is None or t.start[1] - toks[start].end[1] > best[2]):
                best = (start, k, t.start[1] - toks[start].end[1])
    return None if best is None else best[:2]


def _items(toks, offset: int, text: str) -> list[str]:
    """The text between two brackets as lines: split at top-level commas (each kept with its item),
    else before top-level binary ``+`` and ``-``; a long string literal split in pieces."""
    depth, cuts, ops = 0, [], []
    prev = None
    for t in toks:
        if t.type == tokenize.OP and t.string in _OPEN:
            depth += 1
        elif t.type == tokenize.OP and t.string in _CLOSE:
            depth -= 1
        elif depth == 0 and t.type == tokenize.OP and t.string == ",":
            cuts.append(t.end[1])
        elif depth == 0 and t.type == tokenize.OP and t.string in "+-" and prev is not None and \
                (prev.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING) or prev.string in _CLOSE):
            ops.append(t.start[1])
        prev = t
    if not toks:
        return []
    end = toks[-1].end[1]
    bounds = cuts if cuts else ops
    pieces, start = [], offset
    for b in bounds:
        pieces.append(text[start:b].strip())
        start = b
    pieces.append(text[start:end].strip())
    pieces = [p for p in pieces if p]
    if cuts and pieces and not pieces[-1].endswith(","):
        pieces[-1] += ","  # the trailing comma of a list of items on lines of their own
    if len(pieces) == 1 and len(toks) == 1 and toks[0].type == tokenize.STRING and _plain_string(pieces[0]):
        return _split_string(pieces[0], 80)
    return pieces


def _plain_string(s: str) -> bool:
    return len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" and not s.startswith(("'''", '"""'))


def _split_string(s: str, width: int) -> list[str]:
    """A plain string literal as adjacent literals of at most ``width`` columns, cut after spaces."""
    quote, body = s[0], s[1:-1]
    room = max(width - 3, 20)  # the quotes and the space ending a piece
    parts, cur = [], ""
    for word in body.split(" "):
        piece = word if not cur else " " + word
        if cur and len(cur) + len(piece) > room:
            parts.append(cur + " ")
            cur = word
        else:
            cur += piece
    parts.append(cur)
    return [f"{quote}{p}{quote}" for p in parts]


def wrap_text(text: str, width: int = WIDTH) -> str:
    """A line of prose (the module docstring's) as lines of at most ``width`` columns, the later ones
    indented by four spaces; words are never cut (text of several lines is left as it is)."""
    if len(text) <= width or "\n" in text:
        return text
    return textwrap.fill(text, width, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
