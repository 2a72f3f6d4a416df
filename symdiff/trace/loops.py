"""Rolled loops at trace time: the body of a ``for t in range(...)`` loop traced once, as a function
of a traced integer index and of fresh traced carried values, becomes one ``loop`` node
(:mod:`symdiff.ir.primitives.loop`), so the graph, the compile time and the module stay the same
size whatever the trip count. :mod:`symdiff.trace.loop_source` finds the loops and rewrites them into
calls of :data:`ROLL`; :func:`rolling` installs that code while a function is traced, in the function
and in the user's functions it calls by name. A ``while`` loop's body is traced the same way, with its
condition carried as a boolean (evaluated on the initial values, then on each iteration's new ones): the
loop node runs while it holds, and its trip count is a symbol of its own, known when the code runs.

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

from ..ir.graph import ARG, toposort
from ..ir.primitives import elementwise, input_node, scalar
from ..ir.primitives.loop import loop_out, make_loop
from .dispatch import as_node
from .loop_source import rolled_code, with_helper
from .sizes import Size
from .tracer import _TRACE, CONDITION_CHECKS, is_user_file, user_origin
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


class _NotRows:
    """What ``ROLL('rows', ...)`` answers for sequences a loop cannot roll over: the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _rows(seqs: tuple) -> Any:
    """The common length of the sequences a loop iterates over (a Size when it is an array's), or why not."""
    lengths = []
    for s in seqs:
        if isinstance(s, Tracer) and s.node.shape:
            lengths.append(s.node.shape[0])
        elif isinstance(s, Tracer):
            return _NotRows("it iterates over a 0-d array")
        elif isinstance(s, (list, tuple)):
            return _NotRows(f"it iterates over a Python {type(s).__name__} of {len(s)} items, which may differ in "
                            "shape (as the weights of an MLP's layers do): one copy of the body per item; stack them "
                            "into one array to make it roll")
        else:
            return _NotRows(f"it iterates over a {type(s).__module__}.{type(s).__name__}, not a traced array")
    first = sp.sympify(lengths[0])
    if any(sp.sympify(n) != first for n in lengths[1:]):
        return Size(sp.Min(*lengths))  # (zip stops at the shortest)
    return Size(first)


def _bound(b: Any) -> sp.Expr:
    if isinstance(b, _NotRows):
        raise _NoRoll(b.reason)
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


class _Promote(Exception):
    """A while loop's counter started as an int and became a float in the body: traced again as a float."""


def _carried_node(name: str, value: Any, counters: bool = False):
    if value is UNBOUND:
        raise _NoRoll(f"{name} is not bound when the loop starts")
    if isinstance(value, Tracer):
        return value.checked()
    if isinstance(value, Size):
        return as_node(value)
    if counters and isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return scalar(sp.Integer(int(value)), "int64")  # (a while loop's counter: it may index, xs[i])
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


def _condition(value: Any) -> Any:
    """A while loop's condition as a traced boolean (the loop rolls only on a traced one)."""
    if not isinstance(value, Tracer):
        raise _NoRoll(f"its condition is a {type(value).__name__}, which does not depend on a traced value")
    if value.node.shape != ():
        raise _NoRoll(f"its condition is an array of shape {value.node.shape}, not one truth value")
    if value.node.dtype != "bool":
        value = value != 0
    return value


def _trace_body(tr, body: Callable, carried: tuple, names: tuple, target: str, start, count, origin, cond=None,
                floats: frozenset = frozenset()):
    inits = [_carried_node(n, v, cond is not None and n not in floats) for n, v in zip(names, carried)]
    every = tuple(names)
    if cond is not None:  # a while loop carries its condition: evaluated first on the initial values
        inits.append(_condition(cond(*[Tracer(i) for i in inits])).checked())
        every = (*names, "running")
    index = input_node(target, (), -1, "int64")
    ins = [input_node(n, i.shape, -1, i.dtype) for n, i in zip(every, inits)]
    tr.__dict__.setdefault("loop_placeholders", set()).update(id(n) for n in (index, *ins))
    decided = len(tr.decisions)
    token = _IN_BODY.set(True)
    try:
        out = tuple(body(Tracer(index), *[Tracer(i) for i in ins[:len(names)]]))
        if cond is not None:  # and again on each iteration's new values
            out = (*out, _condition(cond(*out)))
    finally:
        _IN_BODY.reset(token)
    if len(tr.decisions) != decided:
        o = tr.decisions[decided][2]
        raise _NoRoll("the body branches on a traced value" + (f" ({o.text}, line {o.line})" if o else ""))
    updates = []
    for name, inp, value in zip(every, ins, out):
        node = _carried_node(name, value)
        if len(node.shape) != len(inp.shape):
            raise _NoRoll(f"{name} changes shape in the body ({inp.shape} -> {node.shape})")
        try:  # the next iteration reads it: its sizes must be the same (as the unrolled loop would find)
            for a, b in zip(inp.shape, node.shape):
                tr.unify(a, b)
        except Exception:
            raise _NoRoll(f"{name} changes shape in the body ({inp.shape} -> {node.shape})") from None
        if cond is not None and inp.dtype == "int64" and node.dtype == "float64" and name in names:
            raise _Promote(name)
        if node.dtype != inp.dtype:
            raise _NoRoll(f"{name} changes dtype in the body ({inp.dtype} -> {node.dtype})")
        updates.append(node)
    if any(n.op.startswith("random") for n in toposort(updates)):
        raise _NoRoll("the body draws random numbers")
    until = len(names) if cond is not None else None
    loop = make_loop(index, ins, inits, updates, [], start, count, origin=origin, names=every, until=until)
    return tuple(Tracer(loop_out(loop, j, name)) for j, name in enumerate(names))


def _logic(key: str, values: tuple) -> Any:
    """``and``, ``or``, ``not`` in a while loop's condition: of traced booleans, without their truth value."""
    if not any(isinstance(v, Tracer) for v in values):
        if key == "not":
            return not values[0]
        return all(values) if key == "and" else any(values)
    if key == "not":
        return np.logical_not(values[0])
    combine = np.logical_and if key == "and" else np.logical_or
    out = values[0]
    for v in values[1:]:
        out = combine(out, v)
    return out


def roll(key: Any, *args: Any) -> Any:
    """The loop ``for target in range(*bounds)`` (or ``while``, with ``bounds`` = ("while", its condition))
    as one loop node when it can be, else run as written; and the questions the rewritten code asks."""
    if key == "len":  # len(xs) as a bound: an array's length stays symbolic
        xs = args[0]
        return Size(xs.node.shape[0]) if isinstance(xs, Tracer) and xs.node.shape else len(xs)
    if key == "rows":  # the rows of arrays: their common length
        return _rows(args[0])
    if key == "bound":  # the carried variables' values (locals(), their names), UNBOUND where not bound yet
        return tuple(args[0].get(name, UNBOUND) for name in args[1])
    if key in ("and", "or", "not"):
        return _logic(key, args)
    if key == "flip":  # reversed(range(first, stop)): the index counted down, an integer
        first, stop, index = args
        if not isinstance(index, Tracer):
            return first + stop - 1 - index
        last = _bound(first) + _bound(stop) - 1
        return Tracer(elementwise(last - ARG[0], (index.node,), shape=(), dtype="int64"))
    bounds, body, plain, carried, names, target = args
    tr = _TRACE.get()
    if tr is None or not getattr(tr, "roll_loops", False):
        return plain(*carried)
    origin = user_origin()
    where = f"{os.path.basename(origin.file)}:{origin.line}" if origin else "a loop"
    saved = _save(tr)
    try:
        if bounds[:1] == ("while",):
            start, count = sp.Integer(0), sp.Dummy("n_iter", integer=True, nonnegative=True)
            floats: frozenset = frozenset()
            while True:  # (an int that becomes a float in the body is carried as a float)
                try:
                    result = _trace_body(tr, body, carried, names, target, start, count, origin, bounds[1], floats)
                    break
                except _Promote as promoted:
                    _restore(tr, saved)
                    floats |= {promoted.args[0]}
        else:
            start, count = _trip(bounds)
            result = _trace_body(tr, body, carried, names, target, start, count, origin)
    except Exception as exc:  # anything the body cannot do once for all iterations: as written
        _restore(tr, saved)
        reason = str(exc) if isinstance(exc, _NoRoll) else f"tracing the body once raised {type(exc).__name__}: {exc}"
        _note(tr, f"loop at {where} unrolled: {reason}")
        return plain(*carried)
    head = "while its condition holds (the trip count read at run time)" if bounds[:1] == ("while",) else \
        f"for {target} in range({_text(start, count)})"
    _note(tr, f"loop at {where} rolled: {head}, carrying {', '.join(names)}")
    return result


def _text(start, count) -> str:
    return str(count) if start == 0 else f"{start}, {start + count}"


@contextlib.contextmanager
def rolling(func: Any, tr):
    """While tracing ``func``: its code, and the code of the user's functions it calls by name (helpers,
    found in its globals and closure cells), with the rollable loops rewritten (when the trace rolls loops)."""
    if not isinstance(func, types.FunctionType):
        yield
        return
    swapped = []
    try:
        for fn in [func, *helpers(func)]:
            code, notes, lines = rolled_code(fn)
            if not getattr(tr, "roll_loops", False):
                because = getattr(tr, "unrolled_because", None)
                for line in lines if because else ():
                    _note(tr, f"loop at {os.path.basename(fn.__code__.co_filename)}:{line} unrolled: {because}")
                continue
            for note in notes:
                _note(tr, note)
            if code is not None:
                swapped.append((fn, fn.__code__))
                fn.__code__ = _with_roll(code)
        yield
    finally:
        for fn, original in reversed(swapped):
            fn.__code__ = original


def _user_function(v: Any) -> bool:
    if not isinstance(v, types.FunctionType):
        return False
    path = v.__code__.co_filename
    return is_user_file(path) and "site-packages" not in path and "dist-packages" not in path \
        and not path.startswith("<")


def helpers(func: types.FunctionType, depth: int = 4) -> list[types.FunctionType]:
    """The user's functions ``func`` may call by name (its globals and closure cells, and theirs, to
    ``depth`` levels), not ``func`` itself."""
    found: dict[int, types.FunctionType] = {id(func): func}
    todo = [(func, 0)]
    while todo:
        fn, level = todo.pop()
        if level >= depth:
            continue
        names: set[str] = set()
        codes = [fn.__code__]
        while codes:
            code = codes.pop()
            names.update(code.co_names)
            codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        values = [fn.__globals__[n] for n in sorted(names) if n in fn.__globals__]
        for cell in fn.__closure__ or ():
            try:
                values.append(cell.cell_contents)
            except ValueError:  # (an empty cell)
                pass
        for v in values:
            if _user_function(v) and id(v) not in found:
                found[id(v)] = v
                todo.append((v, level + 1))
    return [f for f in found.values() if f is not func]


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
