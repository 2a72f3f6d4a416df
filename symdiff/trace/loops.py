"""Rolled loops at trace time: the body of a ``for t in range(...)`` loop traced once, as a function
of a traced integer index and of fresh traced carried values, becomes one ``loop`` node
(:mod:`symdiff.ir.primitives.loop`), so the graph, the compile time and the module stay the same
size whatever the trip count. :mod:`symdiff.trace.loop_source` finds the loops and rewrites them into
calls of :data:`ROLL`; :func:`rolling` installs that code while a function is traced.

When the body cannot be rolled (it branches on a traced value, draws random numbers, changes a carried
value's shape or kind, or raises), the trace is put back as it was before the attempt and the
loop runs as written: unrolled, as before. ``Trace.loop_notes`` says what happened to each loop.
"""
from __future__ import annotations

import contextlib
import contextvars
import numbers
import os
import types
from typing import Any, Callable

import numpy as np
import sympy as sp

from ..ir.graph import toposort
from ..ir.primitives import input_node, scalar
from ..ir.primitives.loop import loop_out, make_loop
from .dispatch import as_node
from .loop_source import rolled_code, with_helper
from .sizes import Size
from .tracer import _TRACE, CONDITION_CHECKS, user_origin
from .values import Tracer


class _Unbound:
    def __repr__(self) -> str:
        return "<unbound>"


#: What a carried variable not yet bound when the loop starts holds (the loop then runs as written).
UNBOUND = _Unbound()


class _NoRoll(Exception):
    """Why a loop stays unrolled."""


_IN_BODY = contextvars.ContextVar("symdiff_in_loop_body", default=False)


def _no_branch(condition, origin) -> None:
    """A branch on a traced value in a body traced once would hold for one iteration only."""
    if _IN_BODY.get():
        where = f" ({origin.text}, line {origin.line})" if origin else ""
        raise _NoRoll(f"the body branches on a traced value{where}")


CONDITION_CHECKS.append(_no_branch)


def _note(tr, line: str) -> None:
    notes = tr.__dict__.setdefault("loop_notes", [])
    if line not in notes:
        notes.append(line)


def _bound(b: Any) -> sp.Expr:
    if isinstance(b, Size):
        return b.expr
    if isinstance(b, (bool, np.bool_)) or not isinstance(b, (numbers.Integral, np.integer)):
        raise _NoRoll(f"a bound of range is a {type(b).__name__}, not a size or an int")
    return sp.Integer(int(b))


def _trip(bounds: tuple) -> tuple[sp.Expr, sp.Expr]:
    if len(bounds) == 3 and not (isinstance(bounds[2], (numbers.Integral, np.integer)) and int(bounds[2]) == 1):
        raise _NoRoll("its step is not 1")
    values = [_bound(b) for b in bounds[:2]]
    start, stop = (sp.Integer(0), values[0]) if len(values) == 1 else values
    if not start.is_Integer:
        raise _NoRoll("its start is not a number")
    count = sp.simplify(stop - start)
    if count.is_Integer and count < 2:
        raise _NoRoll(f"it runs {max(int(count), 0)} time(s)")
    return start, count


def _carried_node(name: str, value: Any):
    if value is UNBOUND:
        raise _NoRoll(f"{name} is not bound when the loop starts")
    if isinstance(value, Tracer):
        return value.checked()
    if isinstance(value, Size):
        return as_node(value)
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, (bool, np.bool_)):
        return scalar(float(value))
    raise _NoRoll(f"{name} is a {type(value).__name__}, not an array or a number")


def _save(tr) -> dict:
    return {k: (v, v.copy()) if isinstance(v, (dict, list, set)) else (v, None) for k, v in vars(tr).items()}


def _restore(tr, saved: dict) -> None:
    """The trace's state as it was (containers emptied and refilled, so every holder sees it)."""
    for k in list(vars(tr)):
        if k not in saved:
            delattr(tr, k)
    for k, (v, copy) in saved.items():
        if copy is not None:
            v.clear()
            v.update(copy) if isinstance(v, (dict, set)) else v.extend(copy)
        setattr(tr, k, v)


def _trace_body(tr, body: Callable, carried: tuple, names: tuple, target: str, start, count, origin):
    inits = [_carried_node(n, v) for n, v in zip(names, carried)]
    index = input_node(target, (), -1, "int64")
    ins = [input_node(n, i.shape, -1, i.dtype) for n, i in zip(names, inits)]
    tr.__dict__.setdefault("loop_placeholders", set()).update(id(n) for n in (index, *ins))
    decided = len(tr.decisions)
    token = _IN_BODY.set(True)
    try:
        out = body(Tracer(index), *[Tracer(i) for i in ins])
    finally:
        _IN_BODY.reset(token)
    if len(tr.decisions) != decided:
        o = tr.decisions[decided][2]
        raise _NoRoll("the body branches on a traced value" + (f" ({o.text}, line {o.line})" if o else ""))
    updates = []
    for name, inp, value in zip(names, ins, out):
        node = _carried_node(name, value)
        if len(node.shape) != len(inp.shape):
            raise _NoRoll(f"{name} changes shape in the body ({inp.shape} -> {node.shape})")
        try:  # the next iteration reads it: its sizes must be the same (as the unrolled loop would find)
            for a, b in zip(inp.shape, node.shape):
                tr.unify(a, b)
        except Exception:
            raise _NoRoll(f"{name} changes shape in the body ({inp.shape} -> {node.shape})") from None
        if node.dtype != inp.dtype:
            raise _NoRoll(f"{name} changes dtype in the body ({inp.dtype} -> {node.dtype})")
        updates.append(node)
    if any(n.op.startswith("random") for n in toposort(updates)):
        raise _NoRoll("the body draws random numbers")
    loop = make_loop(index, ins, inits, updates, [], start, count, origin=origin, names=names)
    return tuple(Tracer(loop_out(loop, j, name)) for j, name in enumerate(names))


def roll(key: Any, bounds: Any = (), body: Any = None, plain: Any = None,
         carried: tuple = (), names: tuple = (), target: str = "t") -> Any:
    """The loop ``for target in range(*bounds)`` as one loop node when it can be, else run as written."""
    if key == "len":  # len(xs) as a bound: an array's length stays symbolic
        return Size(bounds.node.shape[0]) if isinstance(bounds, Tracer) and bounds.node.shape else len(bounds)
    if key == "bound":  # the carried variables' values (locals(), their names), UNBOUND where not bound yet
        return tuple(bounds.get(name, UNBOUND) for name in body)
    tr = _TRACE.get()
    if tr is None or not getattr(tr, "roll_loops", False):
        return plain(*carried)
    origin = user_origin()
    where = f"{os.path.basename(origin.file)}:{origin.line}" if origin else "a loop"
    saved = _save(tr)
    try:
        start, count = _trip(bounds)
        result = _trace_body(tr, body, carried, names, target, start, count, origin)
    except Exception as exc:  # anything the body cannot do once for all iterations: as written
        _restore(tr, saved)
        reason = str(exc) if isinstance(exc, _NoRoll) else f"tracing the body once raised {type(exc).__name__}: {exc}"
        _note(tr, f"loop at {where} unrolled: {reason}")
        return plain(*carried)
    _note(tr, f"loop at {where} rolled: for {target} in range({_text(start, count)}), carrying {', '.join(names)}")
    return result


def _text(start, count) -> str:
    return str(count) if start == 0 else f"{start}, {start + count}"


@contextlib.contextmanager
def rolling(func: Any, tr):
    """While tracing ``func``: its code with the rollable loops rewritten (when the trace rolls loops)."""
    if not isinstance(func, types.FunctionType):
        yield
        return
    code, notes, lines = rolled_code(func)
    if not getattr(tr, "roll_loops", False):
        because = getattr(tr, "unrolled_because", None)
        for line in lines if because else ():
            _note(tr, f"loop at {os.path.basename(func.__code__.co_filename)}:{line} unrolled: {because}")
        yield
        return
    for note_line in notes:
        _note(tr, note_line)
    if code is None:
        yield
        return
    original = func.__code__
    func.__code__ = _with_roll(code)
    try:
        yield
    finally:
        func.__code__ = original


_HELPED: dict[Any, types.CodeType] = {}


def _with_roll(code: types.CodeType) -> types.CodeType:
    if code not in _HELPED:
        _HELPED[code] = with_helper(code, roll)
    return _HELPED[code]


def _tracers(value: Any, out: list, depth: int = 0) -> list:
    if isinstance(value, Tracer):
        out.append(value.node)
    elif isinstance(value, (tuple, list)) and depth < 20:
        for v in value:
            _tracers(v, out, depth + 1)
    elif isinstance(value, dict) and depth < 20:
        for v in value.values():
            _tracers(v, out, depth + 1)
    return out


def escaped(tr, result: Any) -> bool:
    """Whether a value made inside a rolled body reached the result other than through the loop (a
    helper kept it in a list or an object): then the loops must be unrolled."""
    placeholders = getattr(tr, "loop_placeholders", None)
    if not placeholders:
        return False
    return any(id(n) in placeholders for n in toposort(_tracers(result, [])))


def save(tr) -> dict:
    """The trace's state, to put back with :func:`restore`."""
    return _save(tr)


def restore_unrolled(tr, saved: dict) -> None:
    """The trace as it was before the function ran, now unrolling every loop (and saying why)."""
    _restore(tr, saved)
    tr.roll_loops = False
    tr.unrolled_because = "a value computed in a loop body was kept outside the loop (in a list or an object)"
