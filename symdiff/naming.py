"""Names in generated code: readable, unique, never shadowing the user's arguments or NumPy.

>>> n = Namer(["x", "w"])
>>> n.fresh("dw"), n.fresh("x"), n.fresh(None), n.fresh(None)
('dw', 'x_1', 't1', 't2')
"""
from __future__ import annotations

import builtins
import keyword
import unicodedata
from typing import Iterable

RESERVED = {"np", "numpy", "scipy"} | set(keyword.kwlist) | set(dir(builtins))


def identifier(text: str, default: str = "f") -> str:
    """A valid Python identifier made from ``text`` (``<lambda>`` -> ``f``), in the form Python reads it:
    identifiers are NFKC-normalised, so ``ｎ`` (fullwidth) is ``n`` and must not be a second name.

    >>> identifier("ｎ"), identifier("x²"), identifier("2x"), identifier("class")
    ('n', 'x2', 'f2x', 'f')
    """
    name = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ("_" + ch).isidentifier())
    if not name or keyword.iskeyword(name):
        return default
    name = name if name.isidentifier() else f"{default}{name}"
    return name if name.isidentifier() and not keyword.iskeyword(name) else default


def grad_name(name: str) -> str:
    """Name of the adjoint of a variable: ``z`` -> ``dz``."""
    return f"d{name}"


def size_name(arg: str, axis: int, ndim: int) -> str:
    """Name of an argument's symbolic size: ``n_x`` for a vector, ``n_w1`` for axis 1 of a matrix."""
    return f"n_{arg}" if ndim == 1 else f"n_{arg}{axis}"


class Namer:
    """Hands out unique identifiers, preferring the hint it is given."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(RESERVED) | {unicodedata.normalize("NFKC", t) for t in taken}
        self.counter = 0
        #: per hint, the last suffix tried: names are never given back, so every smaller one is still
        #: taken and the search goes on from there (one step per name, not one per earlier name)
        self.suffix: dict[str, int] = {}

    def reserve(self, name: str) -> None:
        self.taken.add(unicodedata.normalize("NFKC", name))

    def fresh(self, hint: str | None) -> str:
        if hint is None:
            while True:
                self.counter += 1
                name = f"t{self.counter}"
                if name not in self.taken:
                    self.taken.add(name)
                    return name
        hint = identifier(hint)
        k = self.suffix.get(hint, 0)
        name = hint if k == 0 else f"{hint}_{k}"
        while name in self.taken:
            k += 1
            name = f"{hint}_{k}"
        self.suffix[hint] = k
        self.taken.add(name)
        return name
