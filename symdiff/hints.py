"""What to do about the command line's common slips, added under its error message.

The CLI traces every argument without ``--shape`` (and without ``--static``) as a float scalar. When
tracing then fails on a line of the user's that reads such an argument, the message says which
argument, how it was traced and which option fixes it:

- ``range(n)``, ``np.zeros(n)``, ``x.reshape(n, -1)`` with ``n`` a scalar: an int the code is made for,
  ``--static n=10``;
- ``params["W1"]``: a dict of arrays, whose leaves are declared one by one, ``--shape params.W1=...``;
- anything else (``x @ w``, ``x[0]``, ``x.shape[0]``): an array, ``--shape x=n``.
"""
from __future__ import annotations

import linecache
import re
from typing import Any, Callable

from .runtime.signature import parameters

#: Calls whose arguments are ints (a loop bound, a size) rather than arrays.
_INT_USES = r"(?:range|np\.zeros|np\.ones|np\.empty|np\.eye|np\.arange|np\.full|reshape|np\.identity|int)"


def _line_of(message: str) -> str | None:
    """The user's source line a message points at (``file.py:12``)."""
    found = re.findall(r"([^\s:()']+\.py):(\d+)", message)
    for file, line in reversed(found):
        text = linecache.getline(file, int(line))
        if text:
            return text.strip()
    quoted = re.search(r"\.py:\d+ \((.*)\)", message)
    return quoted.group(1) if quoted else None


def _scalars(fn: Callable, shapes: dict[str, Any], static: dict[str, Any]) -> list[str]:
    """The arguments traced as float scalars only because no option said otherwise."""
    try:
        params = parameters(fn)
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.name not in shapes and p.name not in static
            and (p.default is p.empty or p.default is None)]


def hint_for(message: str, fn: Callable, shapes: dict[str, Any], static: dict[str, Any]) -> str | None:
    """A paragraph naming the option that fixes the error ``message`` of tracing ``fn``, or None."""
    scalars = _scalars(fn, shapes, static)
    if not scalars:
        return None
    line = _line_of(message) or ""
    used = [n for n in scalars if re.search(rf"\b{re.escape(n)}\b", line)]
    for name in used:
        n = re.escape(name)
        if re.search(rf"{_INT_USES}\s*\([^)]*\b{n}\b", line) or re.search(rf"\b{n}\s*(?://|%)", line):
            return (f"hint: {name} is traced as a float scalar (no --shape or --static for it), but `{line}` needs "
                    f"an int; pass --static {name}=10 (the code is made for that value, and checks it)")
        if re.search(rf"\b{n}\s*\[\s*['\"]", line) or re.search(rf"\b{n}\.(?:keys|values|items)\(", line):
            key = re.search(rf"\b{n}\s*\[\s*['\"]([^'\"]+)['\"]", line)
            leaf = key.group(1) if key else "W1"
            return (f"hint: {name} is used as a dict of arrays; declare its arrays one by one, "
                    f"--shape {name}.{leaf}=d,k (one --shape per leaf)")
    if used:
        name = used[0]
        return f"hint: {name} is traced as a scalar (no --shape for it); if it is an array, pass --shape {name}=n"
    if re.search(r"scalar|0 dimensions|tuple index out of range|0-d", message):
        if len(scalars) == 1:
            what = f"{scalars[0]} is traced as a float scalar (no --shape for it)"
        else:
            what = f"{', '.join(scalars)} are traced as float scalars (no --shape for them)"
        return (f"hint: {what}; pass --shape {scalars[0]}=n if it is an array, --static {scalars[0]}=10 if it is "
                "an int")
    return None
