"""The table of the NumPy backend: primitive name -> ``emit(node, args, printer)``, the NumPy code
computing the node from its arguments' code (an expression, or a list of statements)."""
from __future__ import annotations

from typing import Callable

Emit = Callable[..., "str | list[str]"]

EMIT: dict[str, Emit] = {}
