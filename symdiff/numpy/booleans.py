"""NumPy's rules for boolean operands, which symdiff follows exactly.

A boolean array is a truth value where NumPy uses it as one (``np.where``'s condition, ``&``, ``~``,
``np.any``) and counts as 0/1 where NumPy computes numbers from it (``np.sum(mask)``, ``1.0 * mask``,
``mask.astype(float)``). A ufunc whose operands are all booleans keeps NumPy's own result type: ``mask +
mask`` is a logical or and ``mask * mask`` a logical and (booleans again, so ``np.sum(m + m)`` counts
``m`` once), ``mask / mask`` is a number, ``mask - mask`` and ``-mask`` are NumPy errors. Rather than
a list of such rules, :func:`truth_table_form` asks NumPy: it evaluates the ufunc on every combination
of ``False``/``True`` and, when the result is boolean, builds that truth table as a SymPy formula.

>>> import sympy as sp
>>> a, b = sp.symbols("a b")
>>> truth_table_form("add", (True, np.bool_(False)))(a, b)
a | b
>>> truth_table_form("add", (True, 1)) is None  # an int operand: numbers, 0/1 arithmetic
True
"""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np
import sympy as sp

from ..errors import UnsupportedError, where
from ..trace.tracer import user_origin
from ..trace.values import Tracer


def is_boolean(x: Any) -> bool:
    """``x`` holds booleans: a Python or NumPy bool, a boolean array, or a traced value of dtype bool."""
    if isinstance(x, Tracer):
        return x.node.dtype == "bool"
    if isinstance(x, (bool, np.bool_)):
        return True
    return isinstance(x, np.ndarray) and x.dtype == bool


def truth_table_form(name: str, operands: tuple) -> Callable[..., sp.Basic] | None:
    """For ``np.<name>`` (a ufunc) applied to operands that are all booleans: the formula of its
    result over the operands' truth values when NumPy's result is boolean, None when it is a number
    (then the operands count as 0/1, which is what NumPy computes). Raises :class:`UnsupportedError`
    where NumPy refuses booleans (``-mask``, ``mask - mask``, ``np.sign(mask)``)."""
    func = getattr(np, name, None)
    if not isinstance(func, np.ufunc) or not operands or not all(is_boolean(x) for x in operands):
        return None
    rows = list(itertools.product((False, True), repeat=len(operands)))
    columns = [np.array([row[k] for row in rows]) for k in range(len(operands))]
    try:
        with np.errstate(all="ignore"):
            out = func(*columns)
    except TypeError as exc:
        raise UnsupportedError(f"{where(user_origin())}: np.{name} of boolean arrays is an error in NumPy "
                               f"({exc}); convert them with .astype(float) first if you mean numbers") from None
    if out.dtype != bool:
        return None
    symbols = sp.symbols(f"b0:{len(operands)}")
    form = sp.SOPform(symbols, [list(map(int, row)) for row, value in zip(rows, out) if value])
    return lambda *values: form.xreplace(dict(zip(symbols, values)))


def require_boolean(operator: str, *operands: Any) -> None:
    """Python's ``~``, ``&``, ``|`` and ``^`` on traced values: logical on booleans (as in NumPy); on
    numbers they are bitwise in NumPy (an error for floats), which symdiff does not trace."""
    if not all(is_boolean(x) for x in operands):
        raise UnsupportedError(f"{where(user_origin())}: `{operator}` of a traced value that is not boolean "
                               "(NumPy's bitwise operators do not apply to floats); use it on comparisons such "
                               "as (x > 0), or np.logical_and / np.logical_or / np.logical_not")


#: NumPy's bitwise ufuncs (what ``mask_array & traced`` calls) are its logical ones on booleans.
BITWISE = {np.bitwise_and: (np.logical_and, "&"), np.bitwise_or: (np.logical_or, "|"),
           np.bitwise_xor: (np.logical_xor, "^"), np.invert: (np.logical_not, "~")}


def logical_for(func: Any, operands: tuple) -> Any:
    """The logical ufunc standing for the bitwise ufunc ``func`` on boolean ``operands`` (refused on
    numbers, see :func:`require_boolean`); ``func`` itself if it is not bitwise."""
    if func not in BITWISE:
        return func
    logical, operator = BITWISE[func]
    require_boolean(operator, *operands)
    return logical
