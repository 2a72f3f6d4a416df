"""Stage 1's entry point: run the user's function on traced values, with the trace-time stand-ins
installed, and check afterwards that none of symdiff's refusals was swallowed by the user's code.
Importing it installs everything a trace needs (the registry's dispatch, indexing, random draws)."""
from __future__ import annotations

from typing import Any, Callable

from ..errors import MADE, SymdiffError
from ..ir.shapes import _sizes
from ..runtime.signature import caller, function_of
from . import dispatch, indexing, random_draws  # noqa: F401  (they install their handlers)
from . import loops
from .loops import rolling
from .patches import active
from .tracer import _TRACE, Trace, is_user_file


def trace(fn: Callable, args: list[Any], tr: Trace) -> Any:
    """Call ``fn`` on ``args`` (one per parameter, in order; keyword-only ones are passed by keyword;
    args may hold Tracers) with the trace ``tr`` active; return its result."""
    call = caller(fn)
    made: list[SymdiffError] = []
    token, utoken, etoken = _TRACE.set(tr), _sizes.set(tr), MADE.set(made)
    try:
        saved = loops.save(tr)
        with active(function_of(fn) or fn), rolling(function_of(fn) or fn, tr):
            result = call(*args)
        if loops.escaped(tr, result):  # a rolled body's value escaped the loop: all over, unrolled
            loops.restore_unrolled(tr, saved)
            with active(function_of(fn) or fn), rolling(function_of(fn) or fn, tr):
                result = call(*args)
    finally:
        _TRACE.reset(token)
        _sizes.reset(utoken)
        MADE.reset(etoken)
    swallowed = next((e for e in made if e.refusal and _caught_by_user(e)), None)
    if swallowed is not None:
        tb = swallowed.__traceback__
        assert tb is not None  # (it was raised)
        raise type(swallowed)(
            f"{swallowed} -- and the function caught this error ({tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}, "
            f"in {tb.tb_frame.f_code.co_name}) and went on, which computes something else than the code says: "
            "symdiff refuses it anyway. Do not catch symdiff's errors around traced values (catch only your own)")
    return result


def _caught_by_user(error: SymdiffError) -> bool:
    """Whether ``error`` was raised and then caught in the user's code: the outermost frame its
    traceback reached is the user's (errors symdiff catches itself end in symdiff's frames)."""
    tb = error.__traceback__
    return tb is not None and is_user_file(tb.tb_frame.f_code.co_filename)
