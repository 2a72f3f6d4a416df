"""Names in generated code: readable, unique, never shadowing the user's arguments or NumPy.

>>> n = Namer(["x", "w"])
>>> n.fresh("dw"), n.fresh("x"), n.fresh(None), n.fresh(None)
('dw', 'x_1', 't1', 't2')
"""
from __future__ import annotations

import builtins
import keyword
import re
from typing import Iterable

RESERVED = {"np", "numpy"} | set(keyword.kwlist) | set(dir(builtins))


def identifier(text: str, default: str = "f") -> str:
    """A valid Python identifier made from ``text`` (``<lambda>`` -> ``f``)."""
    name = re.sub(r"\W", "", text)
    if not name or keyword.iskeyword(name):
        return default
    return name if not name[0].isdigit() else f"{default}{name}"


def grad_name(name: str) -> str:
    """Name of the adjoint of a variable: ``z`` -> ``dz``."""
    return f"d{name}"


def size_name(arg: str, axis: int, ndim: int) -> str:
    """Name of an argument's symbolic size: ``n_x`` for a vector, ``n_w1`` for axis 1 of a matrix."""
    return f"n_{arg}" if ndim == 1 else f"n_{arg}{axis}"


class Namer:
    """Hands out unique identifiers, preferring the hint it is given."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(RESERVED) | set(taken)
        self.counter = 0

    def reserve(self, name: str) -> None:
        self.taken.add(name)

    def fresh(self, hint: str | None) -> str:
        if hint is None:
            while True:
                self.counter += 1
                name = f"t{self.counter}"
                if name not in self.taken:
                    self.taken.add(name)
                    return name
        hint = identifier(hint)
        name, k = hint, 0
        while name in self.taken:
            k += 1
            name = f"{hint}_{k}"
        self.taken.add(name)
        return name
