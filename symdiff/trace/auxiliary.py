"""``has_aux``: a function returning ``(value, aux)`` (as in JAX) passes ``aux`` through.

``aux`` may be an array, a number or a (nested) tuple, list or dict of them; its arrays become
extra outputs of the generated functions (computed with the value, sharing its work), its other
leaves are written into the code as constants. ``<f>_grad`` returns ``(gradient, aux)`` and
``<f>_value_and_grad`` returns ``((value, aux), gradient)``.

>>> text, leaves = flatten({"n": 3, "parts": (1.5, "a")}, lambda a: a)
>>> text, leaves
("{{'n': 3, 'parts': (1.5, 'a')}}", [])
"""
from __future__ import annotations

import numbers
from typing import Any, Callable

import numpy as np

from ..errors import TraceError, UnsupportedError
from ..escape import NotALiteral, comment, literal


def flatten(aux: Any, leaf: Callable[[Any], Any]) -> tuple[str, list[Any]]:
    """``aux`` as a format string (braces escaped; ``\\0k\\0`` marks leaf ``k``) and its array leaves,
    each passed through ``leaf`` (which turns a Tracer or array into a node)."""
    leaves: list[Any] = []

    def fmt(a: Any) -> str:
        from .values import Tracer
        if isinstance(a, (Tracer, np.ndarray)):
            leaves.append(leaf(a))
            return f"\0{len(leaves) - 1}\0"
        if isinstance(a, tuple):
            parts = [fmt(e) for e in a]
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        if isinstance(a, list):
            return "[" + ", ".join(fmt(e) for e in a) + "]"
        if isinstance(a, dict):
            return "{{" + ", ".join(f"{_escape(_key(k))}: {fmt(v)}" for k, v in a.items()) + "}}"
        if a is None or isinstance(a, (bool, str, numbers.Number, np.generic)):
            return _escape(_literal(a, "value"))
        raise TraceError(f"has_aux: cannot pass a {type(a).__name__} through generated code; return arrays, "
                         "numbers, strings, or tuples/lists/dicts of them as aux")
    return fmt(aux), leaves


def _key(k: Any) -> str:
    if isinstance(k, tuple):
        parts = [_key(e) for e in k]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return _literal(k, "key")


def _literal(a: Any, what: str) -> str:
    try:
        return literal(a)
    except NotALiteral:
        raise TraceError(f"has_aux: cannot pass the {what} {comment(repr(a))} ({type(a).__name__}) through generated "
                         "code; use str, int, float, bool or None (or arrays, as values)") from None


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def attach(functions: list, text: str, nodes: list) -> None:
    """Add the aux outputs to the plans of a ``grad`` module (see :mod:`symdiff.ad.derivatives`)."""
    for f in functions:
        if f.suffix not in ("grad", "value_and_grad"):
            raise UnsupportedError(f"has_aux is supported for grad and value_and_grad, not {f.suffix}")
        first = len(f.outputs)
        code = text
        for k in range(len(nodes)):
            code = code.replace(f"\0{k}\0", "{%d}" % (first + k))
        f.casts = tuple(f.casts or (None,) * first) + (None,) * len(nodes)
        f.owners = tuple(f.owners or (None,) * first) + (None,) * len(nodes)
        f.outputs = list(f.outputs) + list(nodes)
        f.labels = list(f.labels) + (["aux"] if len(nodes) == 1 else [f"aux_{k}" for k in range(len(nodes))])
        if f.suffix == "grad":
            f.returns = f"{f.returns}, {code}"
        else:
            assert f.returns.startswith("return {0}, ")
            f.returns = "return ({0}, " + code + "), " + f.returns[len("return {0}, "):]
        f.doc += " Also returns aux, the second value the function returns."
