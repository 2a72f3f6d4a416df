"""Branches on traced values: trace every path, then choose among them at run time.

``if x.sum() > 0:`` asks a Tracer for its truth value; the trace answers from the path it is
following (:meth:`symdiff.trace.tracer.Trace.decide`) and records the condition. :func:`explore` traces
the function once per combination of outcomes the program can reach (depth first, True first),
each path giving its own straight-line graph, so each path's gradient is exact. The generated
function computes the conditions in the order the program does and calls the path's code:

    def f_grad(x):
        if _f_branch_0(x):  # if np.sum(x) > 0:  (model.py:12)
            return _f_grad_0(x)
        return _f_grad_1(x)

so a call whose values take another branch never reuses the code of the first one, through the
decorator, ``export`` and the CLI alike. A path the tracer cannot follow (the user's code raises
there, or uses something unsupported) becomes a ``raise`` with that message, if another path works.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..errors import BranchLimitError, SymdiffError, where
from ..ir.graph import Node, Origin
from .tracer import MAX_PATHS


@dataclass
class Path:
    """One traced path: the outcomes of its branches, their conditions, and its output (or error)."""

    outcomes: tuple[bool, ...]
    conditions: list[Node] = field(default_factory=list)
    origins: list[Origin | None] = field(default_factory=list)
    out: Node | None = None
    inputs: list[Node] = field(default_factory=list)
    error: Exception | None = None
    aux: tuple[str, list[Node]] | None = None  # has_aux: the format of aux and its arrays
    draws: list[Node] = field(default_factory=list)  # the last random draw of each stream (random_draws)
    #: (argument index, axis) -> "file:line" where the program made that axis's size equal to another's
    size_origins: dict[tuple[int, int], str] = field(default_factory=dict)


def guided(run: Callable[[tuple[bool, ...]], Path], new: Callable[[], Path],
           known: Sequence[tuple[bool, ...]]) -> list[Path]:
    """The paths ``known`` (outcomes of earlier calls, traced again) and the one the actual values
    take (``new()``: the trace asks the values at each branch). The decorator compiles this way: a
    module has code for the sides its calls took, and raises ``BranchNotCompiled`` on the others."""
    paths = [run(outcomes) for outcomes in known]
    path = new()
    if path.error is not None:
        raise path.error
    if path.outcomes not in {p.outcomes for p in paths}:
        paths.append(path)
    if len(paths) > MAX_PATHS:
        raise BranchLimitError(
            f"{where(path.origins[0] if path.origins else None)}: calls of this function have taken more than "
            f"{MAX_PATHS} combinations of branches on traced values; write the choices with np.where(cond, a, b)")
    return sorted(paths, key=lambda p: tuple(not o for o in p.outcomes))


def explore(run: Callable[[tuple[bool, ...]], Path]) -> list[Path]:
    """Every path of the program: ``run(prefix)`` traces with the first outcomes fixed (later ones
    True) and reports the outcomes it took. A function without branches on traced values has one."""
    paths: list[Path] = []
    todo: list[tuple[bool, ...]] = [()]
    while todo:
        prefix = todo.pop()
        path = run(prefix)
        paths.append(path)
        if len(paths) > MAX_PATHS:
            origin = next((o for p in paths for o in p.origins if o is not None), None)
            raise BranchLimitError(
                f"{where(origin)}: the branches on traced values give more than {MAX_PATHS} paths; write the "
                "choices with np.where(cond, a, b) (both sides computed, one array), or give loops fixed bounds")
        for k in range(len(prefix), len(path.outcomes)):  # the deepest alternative is traced next
            todo.append(path.outcomes[:k] + (not path.outcomes[k],))
    ok = [p for p in paths if p.error is None]
    if not ok:
        raise paths[0].error  # type: ignore[misc]
    return paths


@dataclass
class Tree:
    """The decision tree of the paths: a leaf (``path``: its index), a branch on ``condition``, or
    neither (a side not traced yet)."""

    path: int | None = None
    condition: int | None = None  # index into the list of distinct conditions
    origin: Origin | None = None
    yes: "Tree | None" = None
    no: "Tree | None" = None


def decision_tree(paths: list[Path]) -> tuple[Tree, list[tuple[Node, Origin | None]]]:
    """The tree of outcomes, and the conditions it tests (each once, in first-reached order)."""
    conditions: list[tuple[Node, Origin | None]] = []

    def build(prefix: tuple[bool, ...], members: list[int]) -> Tree:
        if not members:  # a side no traced path took (values guided the trace): compiled when first taken
            return Tree()
        depth = len(prefix)
        deeper = [i for i in members if len(paths[i].outcomes) > depth]
        if not deeper:
            return Tree(path=members[0])
        first = paths[next((i for i in deeper if paths[i].error is None), deeper[0])]
        conditions.append((first.conditions[depth], first.origins[depth]))
        j = len(conditions) - 1
        yes = [i for i in deeper if paths[i].outcomes[depth]]
        no = [i for i in deeper if not paths[i].outcomes[depth]]
        return Tree(condition=j, origin=first.origins[depth], yes=build(prefix + (True,), yes),
                    no=build(prefix + (False,), no))
    return build((), list(range(len(paths)))), conditions


def is_failure(exc: Exception) -> bool:
    """Errors that make one path a ``raise`` instead of failing the whole compilation."""
    return isinstance(exc, SymdiffError) and not isinstance(exc, BranchLimitError)
