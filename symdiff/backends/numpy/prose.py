"""The layout of prose in generated modules: a docstring refilled where a line is too long, and the
module docstring's lines of text (see :mod:`symdiff.backends.numpy.linebreak` for statements)."""
from __future__ import annotations

import textwrap

#: Longest line of a generated module.
WIDTH = 100


def docstring_lines(lines: list[str], width: int) -> list[str]:
    """A docstring's lines, as written if they fit in ``width`` columns; otherwise each paragraph of
    prose (lines at the opening line's indent, between blank lines) filled again as a whole, so that no
    word is left alone on a line (lines indented deeper, examples, are kept as they are)."""
    if all(len(line) <= width for line in lines):
        return [line.rstrip() for line in lines]
    pad = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.extend(textwrap.wrap(" ".join(paragraph), width, initial_indent=pad, subsequent_indent=pad,
                                     break_long_words=False, break_on_hyphens=False))
            paragraph.clear()

    for line in lines:
        text = line.strip()
        if text and line.startswith(pad) and not line[len(pad):].startswith(" "):
            paragraph.append(text)
        else:
            flush()
            out.append(line.rstrip())
    flush()
    return out


def wrap_text(text: str, width: int = WIDTH, alone: int | None = None) -> str:
    """A line of prose (the module docstring's) as lines of at most ``width`` columns, the later ones
    indented by four spaces; words are never cut (text of several lines is left as it is). ``alone``:
    the longest text kept on one line (default ``width``; a one-line docstring has its closing quotes
    on its line too)."""
    if len(text) <= (width if alone is None else alone) or "\n" in text:
        return text
    width = width if len(text) > width or alone is None else alone
    return textwrap.fill(text, width, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
