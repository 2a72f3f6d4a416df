"""Random draws as graph nodes: data the generated code draws again, in the user's order, on every call.

- ``random_source``: a generator made inside the function (``np.random.default_rng(0)``,
  ``np.random.RandomState(0)``) or ``np.random.seed(3)`` on NumPy's global state.
- ``random_draw``: one call that draws (``rng.standard_normal((n,))``, ``np.random.rand(n, k)``).
  Its first input is the generator's source (for generator methods), then the previous node of the
  same stream (a dependency that is only there for the order: each draw is printed after the one
  before it, so a seeded generator gives the plain function's numbers), then constant array
  arguments. Its ``draw`` parameter is its position in the trace, so two draws are never merged.
- ``random_after``: ``value``, printed as ``value``, with the last draws of each stream as extra inputs,
  so a function whose outputs do not use them still makes them (they consume the generator's state).

Draws are constants for differentiation: no input has a gradient, no tangent flows through them.
"""
from __future__ import annotations

from typing import Sequence

from ..graph import Node, Origin
from .core import defprim

DRAW_OPS = ("random_draw", "random_source")


def source(kind: str, serial: int, args: tuple, prev: Node | None, origin: Origin | None) -> Node:
    """``kind`` is ``default_rng``, ``RandomState`` (a new generator) or ``seed`` (``np.random.seed``);
    ``args``: the literal arguments' code."""
    return Node("random_source", (prev,) if prev is not None else (), (),
                params=(("kind", kind), ("draw", serial), ("args", tuple(args))), dtype="object", origin=origin)


def draw(method: str, serial: int, shape, dtype: str, receiver: Node | None, prev: Node | None,
         arrays: Sequence[Node], args: tuple, origin: Origin | None) -> Node:
    """``args``: ``(keyword or None, kind, value)`` with kind ``code`` (printed as is), ``size`` (a size
    expression), ``shape`` (a tuple of them) or ``in`` (the index of an array argument in ``arrays``)."""
    inputs = tuple(n for n in (receiver, prev) if n is not None) + tuple(arrays)
    params = (("method", method), ("draw", serial), ("receiver", receiver is not None),
              ("after", prev is not None), ("args", tuple(args)))
    return Node("random_draw", inputs, tuple(shape), params=params, dtype=dtype, origin=origin)


def after(value: Node, tails: Sequence[Node]) -> Node:
    return Node("random_after", (value, *tails), value.shape, dtype=value.dtype, origin=value.origin)


defprim("random_source", lambda g, n: [None] * len(n.inputs))
defprim("random_draw", lambda g, n: [None] * len(n.inputs))
defprim("random_after", lambda g, n: [g] + [None] * (len(n.inputs) - 1))


def register_jvps(defjvp) -> None:
    defjvp("random_source", "random_draw")(lambda node, tangents, batch: None)
    defjvp("random_after")(lambda node, tangents, batch: tangents[0])
