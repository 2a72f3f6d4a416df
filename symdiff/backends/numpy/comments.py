"""The order of a function's statements and the comments naming the source lines they come from.

Each statement is printed under the line of the user's program it computes:
``# model.py:7: z = x @ w + b`` for the value, ``# Grad of: model.py:7: z = x @ w + b`` for its
derivative. The rule, within every function (and within a rolled loop's body, whose statements
name the body's lines):

* the value's statements come first, in source order (line numbers increasing), then the
  derivative's, in reverse source order (the backward pass walks the program from its last line
  to its first), so the comments of a function read ``7, 8, 9, Grad of 9, Grad of 8, Grad of 7``;
* a comment heads the statements of its line and is never repeated for the same line consecutively;
* a statement the program did not write itself (a shared subexpression, the seed of the backward
  pass) belongs to the first line that reads it: a subexpression the derivative of line 9 and the
  value of line 8 share is computed under line 8.

Statements are scheduled by these keys (a priority topological order: the inputs of a statement
always come first); a statement needed earlier than its own line's place is listed under the line
that needs it, so the order of the comments holds without exception. The file name enters the
code through :func:`symdiff.escape.source_comment` only.
"""
from __future__ import annotations

import heapq
from typing import Sequence

from ... import escape
from ...ir.graph import Node, Origin

#: No line: after every line (statements only the function's result reads).
_LAST = (2, 0, "")


def _key(origin: Origin | None) -> tuple:
    if origin is None or not origin.text:
        return _LAST
    return (1, -origin.line, origin.file) if origin.grad else (0, origin.line, origin.file)


def source_order(order: Sequence[Node]) -> tuple[list[Node], dict[int, Origin]]:
    """``order`` (a topological order) rescheduled as the module docstring says, and the origin each
    node is listed under (its own, or that of the first line reading it; none for the function's
    result alone)."""
    index = {id(n): k for k, n in enumerate(order)}
    best: dict[int, tuple[tuple, Origin | None]] = {}
    for node in reversed(order):  # consumers before their inputs
        mine = best.get(id(node))
        own = (_key(node.origin), node.origin if node.origin is not None and node.origin.text else None)
        mine = own if mine is None or own[0] < mine[0] else mine
        best[id(node)] = mine
        for i in node.inputs:
            if id(i) in index and (id(i) not in best or mine[0] < best[id(i)][0]):
                best[id(i)] = mine
    waiting: dict[int, int] = {}
    users: dict[int, list[Node]] = {}
    for n in order:
        inputs = {id(i): i for i in n.inputs if id(i) in index}  # (an input read twice: one edge)
        for k in inputs:
            users.setdefault(k, []).append(n)
        waiting[id(n)] = len(inputs)
    ready = [(best[id(n)][0], index[id(n)], n) for n in order if waiting[id(n)] == 0]
    heapq.heapify(ready)
    out: list[Node] = []
    while ready:
        _, _, node = heapq.heappop(ready)
        out.append(node)
        for u in users.get(id(node), ()):
            waiting[id(u)] -= 1
            if waiting[id(u)] == 0:
                heapq.heappush(ready, (best[id(u)][0], index[id(u)], u))
    assert len(out) == len(order), "a cycle in a topological order"
    return out, {k: o for k, (_, o) in best.items() if o is not None}


def line(origin: Origin) -> str:
    """The comment line of ``origin`` (file name, line number, the line's text)."""
    return escape.source_comment(origin.file, origin.line, origin.text, origin.grad)


def same_line(a: Origin | None, b: Origin | None) -> bool:
    """Whether two origins are one comment (the same line of the same file, value or derivative)."""
    return a is not None and b is not None and (a.file, a.line, a.grad) == (b.file, b.line, b.grad)
