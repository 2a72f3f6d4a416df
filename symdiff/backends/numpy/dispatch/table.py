"""The table of the NumPy backend: primitive name -> ``emit(node, args, printer)``, the NumPy code
computing the node from its arguments' code (an expression, or a list of statements)."""
from __future__ import annotations

from typing import Callable

Emit = Callable[..., "str | list[str]"]

EMIT: dict[str, Emit] = {}

#: Primitives that are one part of a call returning a tuple (``np.linalg.eigh``'s values or vectors):
#: name -> ``parts(node)``, None for a node printed on its own, else ``(key, call, index, count)``: nodes
#: of one primitive, inputs and ``key`` are parts ``index`` of ``count`` of the one call ``call(args, printer)`` (the
#: call's code from the inputs' code), printed once and unpacked when several are used.
PARTS: dict[str, Callable] = {}
