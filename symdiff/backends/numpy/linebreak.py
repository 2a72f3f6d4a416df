"""Generated statements laid out as ``ruff format --line-length 100`` lays them out, so a module needs
no formatter to pass ``ruff format --check`` (and every line fits in :data:`WIDTH` columns): each
statement spelled by :mod:`.spelling` (leaves from its syntax tree, so the layout never changes what
is computed), kept on one line where it fits, else broken as ruff (and black) break it: inside
brackets at the delimiters of highest priority (commas: one item per line and a magic trailing
comma; operators: each at the start of its line), else at the last brackets (the right-hand split);
a statement's value broken at its own brackets where ruff's rule omits the optional parentheses
around it, else in them. A long string literal becomes adjacent literals, a trailing comment too long
for its line goes on the line above, a comment quoting a long source line goes on over comment lines.
A line this module cannot spell is left as it is; the result is compiled with the module.
"""
from __future__ import annotations

import ast
import io
import textwrap
import tokenize

from .line_shapes import by_shape
from .prose import WIDTH, docstring_lines
from .same_code import bytecode, same_code, trailing_comment
from .spelling import Leaf, Unknown, string
from .statements import statement


def wrap_lines(lines: list[str], indent: int = 4, width: int = WIDTH) -> list[str]:
    """``lines`` (a function body, to be printed ``indent`` columns in) spelled as ruff formats them, the
    long ones broken; a statement already written over several lines is joined first. The body laid out
    computes what it computed (the same bytecode), checked once for the whole body; if not, each
    statement is checked, and one whose layout would change it is left as it was written."""
    out = lay_out(lines, indent, width)
    try:
        same = bytecode("\n".join(lines)) == bytecode("\n".join(out))
    except SyntaxError:
        same = False
    return out if same else lay_out(lines, indent, width, checked=True)


def lay_out(lines: list[str], indent: int = 4, width: int = WIDTH, checked: bool = False) -> list[str]:
    """:func:`wrap_lines` without its check of the whole body: the caller compares what the body computes
    before and after (``checked``: each statement is checked, one whose layout would change it kept)."""
    return _around_defs(_laid_out(lines, width - indent, checked))


def _laid_out(lines: list[str], width: int, checked: bool) -> list[str]:
    out: list[str] = []
    k = 0
    while k < len(lines):
        start, (line, k) = k, _joined(lines, k)
        out.extend(_statement_lines(lines[start:k], line, width, checked))
    return out


def _joined(lines: list[str], k: int) -> tuple[str, int]:
    """The statement that starts at ``lines[k]``, its continuation lines joined to it, and the index of
    the line after it."""
    line, k = lines[k], k + 1
    while k < len(lines) and _goes_on(line, lines[k]):
        line, k = line.rstrip() + " " + lines[k].strip(), k + 1
    return line, k


def _statement_lines(written: list[str], line: str, width: int, checked: bool = True) -> list[str]:
    """The joined statement ``line`` laid out; the lines as ``written`` if, joined, they turn out not to
    be one statement."""
    return written if len(written) > 1 and _unknown(line) else wrap(line, width, checked)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _around_defs(lines: list[str]) -> list[str]:
    """A blank line before a nested function (above the comments leading it) unless it opens its
    block, and one after it, as ruff format puts them."""
    out: list[str] = []
    inside: list[int] = []  # the indentation of the nested functions whose body goes on
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#") and inside and _indent(line) <= inside[-1]:
            while inside and _indent(line) <= inside[-1]:
                inside.pop()
            if out and out[-1]:
                first = len(out)
                while first and out[first - 1].strip().startswith("#") and _indent(out[first - 1]) == _indent(line):
                    first -= 1  # comments after the function lead the next statement
                out.insert(first, "")
        decorated = out and out[-1].strip().startswith("@") and not out[-1].strip().startswith("@ ")
        if (text.startswith("def ") or (text.startswith("@") and not text.startswith("@ "))) and not decorated:
            first = len(out)
            while first and out[first - 1].strip().startswith("#") and _indent(out[first - 1]) == _indent(line):
                first -= 1
            opens = first and out[first - 1].rstrip().endswith(":") and _indent(out[first - 1]) < _indent(line)
            if first and out[first - 1] and not opens:
                out.insert(first, "")
        if text.startswith("def "):
            inside.append(_indent(line))
        out.append(line)
    return out


def _unknown(line: str) -> bool:
    try:
        statement(trailing_comment(line.strip())[0])
    except Unknown:
        return True
    return False


def wrap_source(source: str, width: int = WIDTH) -> str:
    """A helper function's source (or the loader's) spelled as ruff formats it: each statement through
    :func:`wrap`, docstrings as written (refilled where a line is too long: ``prose.docstring_lines``),
    a blank line after the imports inside a function."""
    lines, out = source.splitlines(), []
    k = 0
    while k < len(lines):
        line, k = lines[k], k + 1
        text = line.strip()
        if text.startswith(('"""', 'r"""')):
            start = k - 1
            while text.count('"""') % 2 == 1 and k < len(lines) and '"""' not in lines[k]:
                k += 1
            k = min(k + (text.count('"""') % 2 == 1), len(lines))
            out.extend(docstring_lines(lines[start:k], width))
            continue
        start = k - 1
        line, k = _joined(lines, start)
        out.extend(_statement_lines(lines[start:k], line, width))
        nxt = lines[k].strip() if k < len(lines) else ""
        if line.startswith(" ") and text.startswith(("import ", "from ")) and nxt and not nxt.startswith(
                ("import ", "from ")):
            out.append("")
    return "\n".join(out)


def _goes_on(line: str, after: str) -> bool:
    """Whether ``after`` continues the statement ``line`` opened: indented deeper (or closing its
    brackets) while ``line`` leaves brackets open."""
    pad = len(line) - len(line.lstrip())
    return (len(after) - len(after.lstrip()) > pad or after.lstrip()[:1] in ")]}") and _open(line)


def _open(text: str) -> bool:
    """Whether ``text`` stops inside brackets (a statement that goes on over the next line)."""
    depth = sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")
    if "'" not in text and '"' not in text and "#" not in text:
        return depth > 0
    try:
        list(tokenize.generate_tokens(io.StringIO(text.strip() + "\n").readline))
    except tokenize.TokenError as exc:
        return "statement" in str(exc)  # brackets left open (not a string: its text must stay as it is)
    except (IndentationError, SyntaxError):
        return False
    return False


def wrap(line: str, width: int = WIDTH, checked: bool = True) -> list[str]:
    """One statement line spelled as ``ruff format`` spells it, as lines of at most ``width`` columns
    where it can be broken (a statement it cannot spell is left as it is). ``checked``: a layout that
    would change what the statement computes is not used (False: the caller checks)."""
    pad = line[: len(line) - len(line.lstrip())]
    text = line.strip()
    if not text:
        return [""]
    if text.startswith("#"):
        if len(line) <= width or not text.startswith("# "):
            return [line.rstrip()]
        # a quoted source line: continued on comment lines, indented
        return textwrap.wrap(text[2:], width, initial_indent=pad + "# ", subsequent_indent=pad + "#     ",
                             break_long_words=False, break_on_hyphens=False, drop_whitespace=True) or [line]
    if text.startswith(('"""', "'''", 'r"""')):  # a docstring: as it is written
        return [line.rstrip()]
    if not checked:  # (the caller checks: a line of a shape spelled already is filled in)
        known = by_shape(line, width, wrap)  # (a shape itself spelled checked)
        if known is not None:
            return known
    text, comment = trailing_comment(text)
    try:
        leaves = statement(text)
    except Unknown:
        return [line]
    if comment and len(pad) + len(_render(leaves)) + 2 + len(comment) <= width:
        out = [pad + _render(leaves) + "  " + comment]
    else:
        above = wrap(pad + comment, width, checked) if comment else []  # a long line's comment goes above it
        out = above + [pad + s for s in _lines(leaves, 0, width - len(pad), False)]
    return out if not checked or same_code(text, out) else [line]


class _CannotSplit(Exception):
    pass


def _render(leaves: list[Leaf]) -> str:
    out: list[str] = []
    k = 0
    while k < len(leaves):
        leaf = leaves[k]
        if leaf.kind == "part":  # adjacent literals on one line are one literal
            j = k + 1
            while j < len(leaves) and leaves[j].kind == "part" and leaves[j].priority:
                j += 1
            text = string("".join(ast.literal_eval(p.text) for p in leaves[k:j])) if j > k + 1 else leaf.text
        else:
            j, text = k + 1, leaf.text
        out.append((" " if k and leaf.space else "") + text)
        k = j
    return "".join(out)


def _fits(leaves: list[Leaf], depth: int, width: int) -> bool:
    return 4 * depth + len(_render(leaves)) <= width


def _lines(line: list[Leaf], depth: int, width: int, inside: bool) -> list[str]:
    """``line`` at ``depth`` levels of four spaces in, broken as ruff (and black) break it: a line
    inside brackets at its delimiters of highest priority (commas: one item per line and a trailing
    comma; operators: each at the start of its line), else at its last brackets (right-hand split)."""
    if _fits(line, depth, width):
        return ["    " * depth + _render(line)]
    if line[-1].kind == "string" and len(line) <= 2 and (len(line) == 1 or line[0].priority):
        lead = _render(line[:-1]) + " " * (len(line) - 1)
        first, *rest = _split_string(line[-1].text, width - 4 * depth - len(lead))
        if rest:
            return ["    " * depth + lead + first] + ["    " * depth + p for p in rest]
    if line[0].text == "def" and not inside:  # a signature breaks between its parentheses
        matches = _matches(line)
        close = next((c for c, o in matches.items() if line[o].kind == "def" and c - o > 1), None)
        if close is not None:
            return _emit(*_split_at(line, close, matches), depth, width, inside)
    splits = (_delimiter_split, _right_hand_split) if inside else (_right_hand_split,)
    for split in splits:
        try:
            return split(line, depth, width, inside)
        except _CannotSplit:
            continue
    return ["    " * depth + _render(line)]


def _matches(line: list[Leaf]) -> dict[int, int]:
    """Closing bracket position -> its opening bracket's, for the brackets matched within ``line``."""
    stack, out = [], {}
    for k, leaf in enumerate(line):
        if leaf.bracket == "(":
            stack.append(k)
        elif leaf.bracket == ")" and stack:
            out[k] = stack.pop()
    return out


def _delimiters(line: list[Leaf]) -> list[int]:
    """Positions of the delimiters outside every bracket of ``line`` (the first leaf is none)."""
    depth, out = 0, []
    for k, leaf in enumerate(line):
        if leaf.bracket == "(":
            depth += 1
        elif leaf.bracket == ")":
            depth -= 1
        elif depth == 0 and k and leaf.priority and not (leaf.text == "," and k == len(line) - 1):
            out.append(k)  # (a trailing comma is no place to break at)
    return out


def _delimiter_split(line: list[Leaf], depth: int, width: int, inside: bool) -> list[str]:
    found = _delimiters(line)
    if not found:
        raise _CannotSplit
    top = max(line[k].priority for k in found)
    cuts = [k + 1 if top == 18 else k for k in found if line[k].priority == top]
    chunks = [line[a:b] for a, b in zip([0] + cuts, cuts + [len(line)]) if line[a:b]]
    if len(chunks) < 2:
        raise _CannotSplit
    if top == 18 and line[-1].text != ",":
        chunks[-1] = chunks[-1] + [Leaf(",", priority=18)]
    out: list[str] = []
    for chunk in chunks:
        out.extend(_lines(chunk, depth, width, True))
    return out


def _trailers(line: list[Leaf], matches: dict[int, int]) -> list[int]:
    """Positions of the closing brackets outside other brackets, from the last one back."""
    out, k = [], len(line) - 1
    while k >= 0:
        if line[k].bracket == ")" and k in matches:
            out.append(k)
            k = matches[k]
        k -= 1
    return out


def _split_at(line: list[Leaf], close: int,
              matches: dict[int, int]) -> tuple[list[Leaf], list[Leaf], list[Leaf]]:
    open_ = matches[close]
    return line[: open_ + 1], line[open_ + 1: close], line[close:]


def _emit(head: list[Leaf], body: list[Leaf], tail: list[Leaf], depth: int, width: int, inside: bool) -> list[str]:
    return (_lines(head, depth, width, inside) + _lines(body, depth + 1, width, True)
            + _lines(tail, depth, width, inside))


def _right_hand_split(line: list[Leaf], depth: int, width: int, inside: bool) -> list[str]:
    matches = _matches(line)
    trailers = [k for k in _trailers(line, matches) if k - matches[k] > 1]
    if not trailers:
        raise _CannotSplit
    last = trailers[0]
    if line[last].kind == "optional":
        head, body, tail = _split_at(line, last, matches)
        if _can_omit(body, depth + 1, width):
            inner = [matches[last] + 1 + k for k in _trailers(body, _matches(body)) if k - _matches(body)[k] > 1]
            for close in _omissions(line, inner, matches, width):
                h, b, t = _split_at(line, close, matches)
                if (_fits(h, depth, width) and _prefer_omitting(head, h, depth, width)
                        and (len(b) > 1 or _fits(b, depth + 1, width))):
                    return _emit(h, b, t, depth, width, inside)
        return _emit(head[:-1] + [_shown(head[-1], "(")], body, [_shown(tail[0], ")")] + tail[1:],
                     depth, width, inside)
    for close in _omissions(line, trailers, matches, width):
        h, b, t = _split_at(line, close, matches)
        if _fits(h, depth, width):
            return _emit(h, b, t, depth, width, inside)
    return _emit(*_split_at(line, last, matches), depth, width, inside)


def _shown(leaf: Leaf, text: str) -> Leaf:
    return Leaf(text, leaf.space, leaf.priority, leaf.bracket, "atom")


def _omissions(line: list[Leaf], trailers: list[int], matches: dict[int, int], width: int) -> list[int]:
    """The trailers to split at, last first, while the text after them fits on a line."""
    out = []
    for close in trailers:
        out.append(close)
        if len(_render(line[matches[close]:])) > width:
            break
    return out


def _prefer_omitting(head: list[Leaf], h: list[Leaf], depth: int, width: int) -> bool:
    """Black's choice between the split inside optional parentheses and the one after them."""
    eq = [k for k, leaf in enumerate(h) if leaf.text in ("=", "+=", "-=", "*=", "/=")]
    if not eq or not any(leaf.bracket for leaf in head[: eq[-1]]):
        return True
    if any(leaf.bracket == ")" for leaf in h[eq[-1]:]):
        return True
    return _fits(h, depth, width)


def _can_omit(body: list[Leaf], depth: int, width: int) -> bool:
    """Ruff's ``can_omit_optional_parentheses``: whether a statement's value may be broken at its own
    brackets rather than inside parentheses around it: no operator, or one operator of the lowest
    precedence and the value starting with brackets or ending with a non-empty call or collection."""
    found = _delimiters(body)
    if not found:
        return True
    top = max(body[k].priority for k in found)
    if sum(body[k].priority == top for k in found) > 1:
        return False
    matches = _matches(body)
    if body[0].bracket == "(" and len(body) > 1 and body[1].bracket != ")":
        return True
    last = len(body) - 1
    return (body[last].bracket == ")" and last in matches and last - matches[last] > 1
            and body[matches[last]].kind != "subscript")


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
