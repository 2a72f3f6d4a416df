"""Statement lines of one shape spelled once: a long module repeats a few shapes of line with other
names and numbers (``y_7 = 0.9*y_6``, ``t12 = 1.35*x``), and spelling one (parsing it, laying out its
leaves) costs tens of microseconds.

A line's shape is its text with every name written ``a`` and every number ``1.5`` (keywords kept: they
are syntax). Its spelling, asked once, is filled with the line's own names and numbers, in order (a
spelling adds spaces and brackets, never a name or a number); a line whose filled spelling would not
fit on one line is spelled as itself. What a module's lines compute is checked afterwards for the whole
body (:func:`.linebreak.wrap_lines`), so a shape spelled wrongly for some line is never used.

>>> spell = lambda text, width: [text.replace("*", " * ")]
>>> by_shape("    y_7 = 0.9*y_6", 100, spell), by_shape("    t12 = 1.35*x", 100, spell)
(['    y_7 = 0.9 * y_6'], ['    t12 = 1.35 * x'])
"""
from __future__ import annotations

import keyword
import re
from typing import Callable

_WORD = re.compile(r"[A-Za-z_]\w*|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[jJ]?")

#: The spelling of each shape seen ("" where it is not one line).
_SPELLED: dict[str, str] = {}


def by_shape(line: str, width: int, spell: Callable[[str, int], list[str]]) -> list[str] | None:
    """``line`` spelled as ``spell`` spells its shape, or None (a line with strings, comments or
    continuations, one whose shape is not spelled on one line, or one too long for ``width`` then)."""
    pad = line[: len(line) - len(line.lstrip())]
    text = line.strip()
    if not text or any(c in text for c in "\"'#\\"):
        return None
    words: list[str] = []

    def mark(m: re.Match) -> str:
        word = m.group(0)
        if keyword.iskeyword(word):
            return word
        words.append(word)
        return "a" if word[0].isalpha() or word[0] == "_" else "1.5"
    shape = _WORD.sub(mark, text)
    spelled = _SPELLED.get(shape)
    if spelled is None:
        out = spell(shape, 1 << 20)
        spelled = _SPELLED[shape] = out[0].strip() if len(out) == 1 else ""
        if len(_SPELLED) > 1 << 14:
            _SPELLED.clear()
    if not spelled:
        return None
    own = iter(words)
    try:
        filled = _WORD.sub(lambda m: m.group(0) if keyword.iskeyword(m.group(0)) else next(own), spelled)
    except StopIteration:
        return None
    if next(own, None) is not None or len(pad) + len(filled) > width:
        return None
    return [pad + filled]
