"""NumPy's rules for booleans inside the graph: a boolean array counts as 0/1 where arithmetic uses
it (``np.sum(mask)``, ``1.0 * mask``) and stays a truth value where NumPy uses it as one (conditions,
logic, comparisons). The rules for boolean *operands* of NumPy functions (``mask + mask`` is an or)
are in :mod:`symdiff.numpy.booleans`."""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from .graph import ARG, Node


def numeric_dtype(dtype: str) -> str:
    """The dtype of a derivative of values of ``dtype``: a boolean output counts as 0/1 (float64), as in
    autograd, so its derivatives (zero) are float64 zeros, not integer or boolean ones."""
    return "float64" if dtype == "bool" else dtype


def counted_dtype(op: str, x: Node) -> str:
    """The dtype of reduction or scan ``op`` of ``x``: as in NumPy, a sum, mean, product or cumulative
    sum of booleans counts them as 0/1 (a number: float64 data here, as integers are); only ``max`` and
    ``min`` (``any``/``all``) of booleans stay booleans."""
    if x.dtype == "bool" and op not in ("max", "min"):
        return "float64"
    return x.dtype


def booleans_as_numbers(expr: sp.Expr, inputs: Sequence[Node]) -> sp.Expr:
    """``expr`` with its boolean inputs counted as 0/1 where arithmetic uses them, as NumPy does
    (NumPy keeps ``a_bool * b_bool`` or ``x_bool ** 2`` boolean or small-integer, which printed code
    would reproduce with other values); uses as truth values (conditions, logic, comparisons) are kept."""
    flags = {ARG[i]: sp.Piecewise((1, sp.Ne(ARG[i], 0)), (0, True)) for i, n in enumerate(inputs) if n.dtype == "bool"}
    return _count_flags(expr, flags) if flags else expr


def _count_flags(e: sp.Basic, flags: dict) -> sp.Basic:
    """:func:`booleans_as_numbers` on one expression: a flag that is an operand of arithmetic becomes 0/1."""
    if e.is_Atom:
        return flags.get(e, e)
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*((_count_flags(v, flags), _truth_uses(c, flags)) for v, c in e.args))
    if isinstance(e, (sp.logic.boolalg.Boolean, sp.core.relational.Relational)) and not isinstance(e, sp.Expr):
        return _truth_uses(e, flags)
    first = getattr(type(e), "conditions_from", None)  # a function whose later arguments are truth values
    if first is not None:
        return e.func(*(_count_flags(a, flags) if k < first else _truth_uses(a, flags) if not a.is_Atom else a
                        for k, a in enumerate(e.args)))
    return e.func(*(_count_flags(a, flags) for a in e.args))


def _truth_uses(e: sp.Basic, flags: dict) -> sp.Basic:
    """Inside a truth value: bare flags (and flags compared as numbers) stay, arithmetic below is counted."""
    if e.is_Atom:
        return e
    return e.func(*(a if a in flags else (_truth_uses(a, flags) if isinstance(a, sp.logic.boolalg.Boolean)
                                          and not isinstance(a, sp.Expr) else _count_flags(a, flags))
                    for a in e.args))
