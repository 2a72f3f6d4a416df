"""The signatures of generated functions: the user's parameter names and literal defaults.

Generated code refers to ``np`` and to builtins (``bool``, ``ValueError``, ...). A parameter of the
user's named like one of them (``def f(x, np)``, ``def f(x, sum)``) would shadow it, so such
parameters get an internal name (``np_``) in every generated function, and each public entry point
is a wrapper with the user's signature that only passes its arguments on:

>>> specs, public = internal([ArgSpec("x", ()), ArgSpec("np", ()), ArgSpec("np_", ())])
>>> [s.name for s in specs], public
(['x', 'np__', 'np_'], {'np__': 'np'})
"""
from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Callable, Sequence

from ... import escape
from ...naming import RESERVED
from ...runtime.specs import ArgSpec


def internal(specs: Sequence[ArgSpec]) -> tuple[list[ArgSpec], dict[str, str]]:
    """``specs`` with the names that would shadow what generated code uses replaced; the map from the
    internal names back to the user's."""
    taken = {s.name for s in specs}
    out, public = [], {}
    for s in specs:
        if s.name in RESERVED:
            new = s.name + "_"
            while new in taken or new in RESERVED:
                new += "_"
            taken.add(new)
            public[new] = s.name
            s = replace(s, name=new)
        out.append(s)
    return out, public


def wrap(functions: list, public: dict[str, str], fn: Callable, entries: set[str]) -> list:
    """Each public function (named in ``entries``) as ``_<name>`` with the internal names, and a wrapper
    ``<name>`` with the user's signature calling it (nothing to do if no name was replaced)."""
    if not public:
        return functions
    from .codegen import Function
    out = []
    for f in functions:
        if f.name not in entries:
            out.append(f)
            continue
        bare = [p.partition("=")[0] for p in f.params]
        user = [public.get(p, p) for p in bare]
        out.append(Function(f"_{f.name}", bare, f.doc, f.body))
        out.append(Function(f.name, defaults(fn, user), f.doc, [f"return _{f.name}({', '.join(user)})"]))
    return out


def defaults(fn: Callable, params: list[str]) -> list[str]:
    """Parameters as the user's function declares them: ``delta=1.0`` keeps its default when generated
    code can hold it (see :func:`symdiff.escape.default_code`), and only trailing parameters have
    defaults, so directions added after them stay plain."""
    try:
        declared = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return params
    codes = [_default_code(declared, p) for p in params]
    out: list[str] = []
    for k, (p, code) in enumerate(zip(params, codes)):
        later_plain = any(c is None for c in codes[k + 1:])
        out.append(f"{p}={code}" if code is not None and not later_plain else p)
    return out


def _default_code(declared, p: str) -> str | None:
    if p not in declared or declared[p].default is inspect.Parameter.empty:
        return None
    return escape.default_code(declared[p].default)
