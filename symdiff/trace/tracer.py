"""Tracing: run the user's plain NumPy function on :class:`Tracer` values and record the graph.

NumPy hands every ufunc and array function called on a Tracer to ``__array_ufunc__`` /
``__array_function__`` (NEP 13 / NEP 18), which look the function up in the registry
(:mod:`symdiff.numpy.core`); operators and methods go through the same table. Users write
``import numpy as np`` and nothing else.

Sizes of array arguments are symbols (so the generated code serves every length); two sizes that
must agree are unified, and a size the program uses as a Python int (``np.zeros(n)``, ``range``)
is specialised to its value, which the cache then guards.
"""
from __future__ import annotations

import ast
import linecache
from bisect import bisect_right
import os
import sys
import sysconfig
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, Callable

import numpy as np
import sympy as sp

from ..errors import BranchLimitError, ShapeError, TraceError, UnsupportedError
from ..ir.graph import Node, Origin, rebuild, toposort
from ..ir.primitives.index import unsourced_sizes

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the symdiff package
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))

#: Most branches on traced values one path may take when every path is traced (export), and most
#: paths one function may have.
MAX_BRANCHES = 16
MAX_PATHS = 32
#: When the trace follows actual values (the decorator), a path ends where the program does; this
#: only stops a loop that would not.
MAX_BRANCHES_FOLLOWED = 256
#: ``check(condition, origin)`` for every branch on a traced value, before it is decided (the random
#: draws add theirs: :func:`symdiff.trace.random_draws.check_condition`).
CONDITION_CHECKS: list[Callable[[Node, Origin | None], None]] = []

_TRACE: ContextVar["Trace | None"] = ContextVar("symdiff_trace", default=None)


# ---------------------------------------------------------------- who is calling ------------------



def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.abspath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(sorted(dirs | {_PKG_DIR, _NUMPY_DIR}))


_LIBRARIES = _library_dirs()


def _from_user(depth: int = 2) -> bool:
    """True when the stand-in was called by the user's code, not by symdiff, NumPy or an installed
    library (a library gets NumPy's own arrays: it may hand them to compiled code that writes into them)."""
    path = sys._getframe(depth).f_code.co_filename
    return not (path.startswith(_LIBRARIES) or path.startswith("<frozen"))


def _tracing() -> bool:
    return _TRACE.get() is not None


def current_trace() -> "Trace":
    trace = _TRACE.get()
    if trace is None:
        raise TraceError("a symdiff Tracer was used outside of tracing")
    return trace


_SYMPY_DIR = os.path.dirname(os.path.abspath(sp.__file__))


def is_user_file(path: str) -> bool:
    """Whether code of ``path`` is the user's (not symdiff's, NumPy's or SymPy's)."""
    return not (path.startswith(_PKG_DIR) or path.startswith(_NUMPY_DIR) or path.startswith(_SYMPY_DIR)
                or path.startswith("<frozen"))


def user_frame():
    """The innermost frame of the user's code (not symdiff's, not NumPy's)."""
    frame = sys._getframe(1)
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            return frame
        frame = frame.f_back
    return None


#: Each code object's line table (id -> (code, start offsets, lines)), read once (see :func:`line_of`).
_LINES: dict[int, tuple[Any, list[int], list[int | None]]] = {}


def line_of(frame) -> int:
    """``frame.f_lineno``, looked up in the code's line table read once: CPython finds ``f_lineno`` by
    walking that table from the start, so a 10,000-line function's trace (a few look-ups per operation)
    spent seconds, growing with the square of its length, finding its own lines."""
    if frame.f_trace is not None:  # (a debugger's line)
        return frame.f_lineno
    code = frame.f_code
    table = _LINES.get(id(code))  # (by id: a code object hashes its whole bytecode)
    if table is None or table[0] is not code:
        if len(_LINES) > 4096:
            _LINES.clear()
        starts, lines = [], []
        for start, _, line in code.co_lines():
            starts.append(start)
            lines.append(line)
        table = _LINES[id(code)] = (code, starts, lines)
    k = bisect_right(table[1], frame.f_lasti) - 1
    line = table[2][k] if k >= 0 else None
    return line if line is not None else frame.f_lineno


def user_origin() -> Origin | None:
    frame = user_frame()
    if frame is None:
        return None
    line = line_of(frame)
    text = linecache.getline(frame.f_code.co_filename, line).strip()
    return Origin(frame.f_code.co_filename, line, text)


class Trace:
    """State of one tracing run: size unification and the nodes made, in order."""

    def __init__(self, path: tuple[bool, ...] = (), evaluate: Callable[[Node], bool] | None = None) -> None:
        self.parent: dict[sp.Symbol, sp.Expr] = {}
        self.values: dict[sp.Symbol, int | None] = {}
        self.made: list[tuple[Node, int, int]] = []  # (node, frame id, line)
        self.path = path  # outcomes of the first branches on traced values (later ones: True, or ...)
        self.evaluate = evaluate  # ... the condition's value for the actual arguments, when given
        self.decisions: list[tuple[Node, bool, Origin | None]] = []
        self.unified_at: dict[sp.Symbol, str] = {}  # size symbol -> where it was made equal to another
        self.argument_sizes: dict[int, tuple[sp.Expr, ...]] = {}  # argument index -> its axes' sizes
        # sizes known only at run time (how many elements a boolean mask picks) -> what they count;
        # made by symdiff.trace.masks, never specialised or matched to another size
        self.runtime_sizes: dict[sp.Symbol, str] = {}
        self.runtime_counts: dict[sp.Symbol, Node] = {}  # each of them as a traced value
        self.mask_sizes: dict[Any, tuple[sp.Symbol, Node]] = {}  # a mask's computation -> its count
        self.roll_loops = False  # loops traced once into loop nodes (reverse mode), else unrolled
        self.unrolled_because: str | None = None  # why they are not (shown in .graph)

    # ---- branches on traced values ----
    def decide(self, condition: Node, origin: Origin | None) -> bool:
        """The outcome of ``if condition:`` on this path; the compiler traces every path."""
        for check in CONDITION_CHECKS:  # e.g. a branch on a random draw would draw again: refused
            check(condition, origin)
        k = len(self.decisions)
        limit = MAX_BRANCHES if self.evaluate is None else MAX_BRANCHES_FOLLOWED
        if k >= limit and k >= len(self.path):  # (a replayed path is as long as it was)
            raise BranchLimitError(
                f"{_here()}: more than {limit} branches on traced values on one path (a loop whose "
                "condition depends on traced values?); give the loop a fixed number of steps (for ... in range(n)) "
                "or write the choice with np.where")
        if k < len(self.path):
            outcome = self.path[k]
        else:
            outcome = bool(self.evaluate(condition)) if self.evaluate is not None else True
        self.decisions.append((condition, outcome, origin))
        return outcome

    # ---- sizes ----
    def new_size(self, name: str, value: int | None) -> sp.Symbol:
        sym = sp.Symbol(name, integer=True, positive=True)
        self.values[sym] = value
        return sym

    def find(self, d: sp.Expr) -> sp.Expr:
        """What the size ``d`` now is, in symbols that are bound to nothing: a symbol may be bound to
        a compound size (``n_v -> n_x - 1``) whose own symbols were bound later (``n_x -> 4``)."""
        while isinstance(d, sp.Symbol) and d in self.parent:
            d = self.parent[d]
        if isinstance(d, sp.Basic) and not isinstance(d, sp.Symbol) and any(s in self.parent for s in d.free_symbols):
            d = self.resolve(d)
        return d

    def resolve(self, expr: sp.Expr) -> sp.Expr:
        if not isinstance(expr, sp.Basic) or not expr.free_symbols:
            return expr
        reps = {s: self.find(s) for s in expr.free_symbols if s in self.parent}
        if not reps:
            return expr
        for s, r in reps.items():  # path compression: the next lookup is one step
            self.parent[s] = r
        return expr.xreplace(reps)

    def value(self, expr: sp.Expr) -> int | None:
        expr = self.resolve(expr)
        subs = {s: self.values.get(s) for s in expr.free_symbols}
        if any(v is None for v in subs.values()):
            return None
        return int(expr.xreplace(subs))

    def unify(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        """Record that sizes ``a`` and ``b`` are equal; returns the size both now are."""
        a, b = self.resolve(a), self.resolve(b)
        if a == b:
            return a
        if self.runtime_sizes and (self._runtime(a) or self._runtime(b)):
            raise self.runtime_refusal(a if self._runtime(a) else b, "matched to another size here "
                                       f"({b if self._runtime(a) else a})")
        va, vb = self.value(a), self.value(b)
        for e, n in ((a, b), (b, a)):  # a named size the program needs to be a number: specialise it
            if n.is_Integer and (va is None or vb is None) and self._solve(e, int(n)):
                return n
        for s, e in ((a, b), (b, a)):  # a named size and a compound one (m and n - 1): the code checks it
            if isinstance(s, sp.Symbol) and not isinstance(e, sp.Symbol) and self.values.get(s) is None \
                    and s not in e.free_symbols:
                self.parent[s] = e
                return e
        if (va is None or vb is None) and isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol) and va == vb:
            # two named sizes (--shape x=n --shape y=m) the program needs equal: one size; the generated
            # code compares them at run time (symdiff.backends.numpy.size_checks)
            self.parent[b] = a
            self.unified_at[b] = _here()
            return a
        if va is None or vb is None:
            if isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol):
                hint = "if they are the same size, give them the same name"
            else:
                hint = "names cannot say how they relate: give concrete sizes (e.g. --shape x=5) for this function"
            error = ShapeError(f"{_here()}: sizes {a} and {b} must be equal here; {hint}")
            error.refusal = True  # (NumPy would go on: the sizes may be equal)
            raise error
        if va != vb:
            raise ShapeError(f"{_here()}: sizes {va} and {vb} do not match "
                             "(operands could not be broadcast together)")
        if isinstance(b, sp.Symbol) and b not in a.free_symbols:
            self.parent[b] = a
            self.unified_at[b] = _here()
            return a
        if isinstance(a, sp.Symbol) and a not in b.free_symbols:
            self.parent[a] = b
            self.unified_at[a] = _here()
            return b
        self.concrete(a), self.concrete(b)  # two compound sizes: fall back to their values
        return sp.Integer(va)

    def _solve(self, expr: sp.Expr, n: int) -> bool:
        """``expr == n`` where ``expr`` has one size of unknown value (``k``, ``n_p - 2``): that size is
        specialised to the one positive integer solving it (the generated code checks it on every call)."""
        unknown = [s for s in expr.free_symbols if self.values.get(s) is None]
        if len(unknown) != 1:
            return False
        (s,) = unknown
        known = expr.xreplace({t: self.values[t] for t in expr.free_symbols if t is not s})
        roots = [r for r in sp.solve(sp.Eq(known, n), s) if r.is_Integer and r > 0]
        if len(roots) != 1:
            return False
        for t in expr.free_symbols - {s}:
            self.concrete(t)
        self.values[s] = int(roots[0])
        self.parent[s] = roots[0]
        return True

    def is_one(self, d: sp.Expr) -> bool:
        d = self.resolve(d)
        if d == 1:
            return True
        if isinstance(d, sp.Symbol) or self.value(d) != 1:
            return False  # an argument's axis is 1 only if it was 1 when traced (part of the cache key)
        self.concrete(d)
        return True

    def concrete(self, expr: sp.Expr, what: str = "a size") -> int:
        """The value of a size used as a Python int; its symbols are specialised to their values."""
        expr = self.resolve(expr)
        value = self.value(expr)
        if value is None and self._runtime(expr):
            raise self.runtime_refusal(expr, f"used as a Python int ({what})")
        if value is None:
            raise UnsupportedError(
                f"{_here()}: {what} ({expr}) is used as a Python int, but its value is unknown; "
                "give concrete sizes (e.g. --shape x=5) instead of names for this function")
        for s in expr.free_symbols:
            self.unify(s, sp.Integer(self.values[s]))
        return value

    def _runtime(self, expr: sp.Expr) -> list[sp.Symbol]:
        return [s for s in getattr(expr, "free_symbols", ()) if s in self.runtime_sizes]

    def runtime_refusal(self, expr: sp.Expr, use: str) -> UnsupportedError:
        """The error for a size known only at run time (``len(x[m])``) used where a value is needed."""
        s = self._runtime(expr)[0]
        return UnsupportedError(
            f"{_here()}: the size {expr} ({self.runtime_sizes[s]}) is known only at run time and cannot be "
            f"{use}; keep the shape with np.where(mask, x, 0), count with np.sum(mask) (a traced value), "
            "or reduce the gathered array (np.sum(x[mask]), np.mean(x[mask]))")

    # ---- nodes ----
    def note(self, node: Node) -> Node:
        frame = user_frame()
        if frame is not None:
            self.made.append((node, id(frame), line_of(frame)))
        return node

    def finish(self, outputs: list[Node]) -> list[Node]:
        """Rewrite every shape to unified sizes and name nodes after the variables they were bound to."""
        names = _assigned_names(self.made)

        def fix(node: Node, inputs: tuple[Node, ...]) -> Node:
            params = tuple((k, _resolve_any(self, v)) for k, v in node.params)
            shape = tuple(self.resolve(d) for d in node.shape)
            expr = self.resolve(node.expr) if node.expr is not None else None
            return replace(node, inputs=inputs, params=params, shape=shape, expr=expr,
                           name=node.name or names.get(id(node)))
        nodes = rebuild(outputs, fix)
        if self.runtime_sizes:
            unread = unsourced_sizes(nodes, set(self.runtime_sizes))
            if unread is not None:
                size, node = unread
                origin = node.origin or next((n.origin for n in toposort(nodes) if n.origin is not None
                                              and any(i is node for i in n.inputs)), None)
                where_ = f"{origin.file}:{origin.line}" if origin else "<unknown location>"
                raise UnsupportedError(
                    f"{where_}: an array of a size known only at run time ({size}: "
                    f"{self.runtime_sizes.get(size, 'a mask count')}) made from that size alone (np.ones_like(x[m]), "
                    "np.zeros(...)); compute it from the gathered array itself (x[m] * 0 + 1), or keep the shape "
                    "with np.where(mask, ...)")
        return nodes


def _resolve_any(trace: Trace, v: Any) -> Any:
    if hasattr(v, "finished"):  # a rolled loop's body (symdiff.ir.primitives.loop.LoopBody)
        return v.finished(trace)
    if isinstance(v, sp.Expr):
        return trace.resolve(v)
    if isinstance(v, tuple):
        return tuple(_resolve_any(trace, x) for x in v)
    return v


def _here() -> str:
    o = user_origin()
    return f"{o.file}:{o.line}" if o else "<unknown location>"


def _assigned_names(made: list[tuple[Node, int, int]]) -> dict[int, str]:
    """The last node made on a line ``name = ...`` (or ``name += ...``) is called ``name``."""
    names: dict[int, str] = {}
    for i, (node, frame, line) in enumerate(made):
        nxt = made[i + 1] if i + 1 < len(made) else None
        if nxt is not None and (nxt[1], nxt[2]) == (frame, line):
            continue
        if node.origin is None:
            continue
        target = _target_of(node.origin.text)
        if target:
            names[id(node)] = target
    return names


def _target_of(text: str) -> str | None:
    try:
        stmt = ast.parse(text).body[0]
    except (SyntaxError, IndexError):
        return None
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else \
        stmt.target if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) else None
    while isinstance(target, ast.Subscript):  # y[t] = ...: the new value of y
        target = target.value
    return target.id if isinstance(target, ast.Name) else None
