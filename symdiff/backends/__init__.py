"""Backends: from a simplified graph to source text. Each backend is a folder; ``numpy`` is the
default. A backend imports :mod:`symdiff.ir.graph`, never the frontend or the passes.

:data:`BACKENDS` is the one table of them: a name (the ``backend=`` option of the transforms, of
``export`` and of the command line's ``--backend``) maps to the module and function that print a
module from the traced paths (the signature of :func:`symdiff.backends.numpy.module.module_source`),
the package it needs at run time, and the options it is given. Adding a backend is one row here and
a folder beside ``numpy/``; it never touches a primitive.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable, Mapping, NamedTuple

from ..errors import BackendError


class Backend(NamedTuple):
    """One row of :data:`BACKENDS`."""

    module: str  #: the module (under symdiff.backends) holding the entry function
    function: str  #: its ``module_source``-like function
    requires: str | None = None  #: the package the generated code imports (and the extra installing it)
    options: tuple[tuple[str, Any], ...] = ()  #: options this name implies (numba-parallel: parallel=True)
    accepts: tuple[str, ...] = ()  #: the options ``backend_options`` may set
    extra: str | None = None  #: the extra installing ``requires``, where its name differs
    loops: bool = True  #: whether it prints rolled loops (if not, the trace unrolls them)
    setup: str | None = None  #: a module whose ``install()`` runs before this backend's modules are imported


BACKENDS: dict[str, Backend] = {
    "numpy": Backend("numpy.module", "module_source"),
    "numba": Backend("numba.module", "module_source", "numba", accepts=("parallel",), setup="numba.locator"),
    "numba-parallel": Backend("numba.module", "module_source", "numba", (("parallel", True),), ("parallel",),
                              setup="numba.locator"),
    "array_api": Backend("array_api.module", "module_source", "array_api_compat", extra="array-api", loops=False),
}


def resolve(name: Any = "numpy", options: Mapping[str, Any] | None = None) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The backend's name and its options (sorted pairs, part of the cache key), checked: an unknown
    name or option, or a backend whose package is not installed, is a :class:`BackendError` saying
    what to do."""
    name = "numpy" if name is None else name
    row = BACKENDS.get(name) if isinstance(name, str) else None
    if row is None:
        raise BackendError(f"backend={name!r}: unknown backend; choose one of {', '.join(map(repr, BACKENDS))}")
    merged = dict(row.options)
    for key, value in dict(options or {}).items():
        if key not in row.accepts:
            known = ", ".join(map(repr, row.accepts)) or "none"
            raise BackendError(f"backend_options={{{key!r}: ...}}: backend {name!r} has no option {key!r} "
                               f"(its options: {known})")
        if not isinstance(value, bool):
            raise BackendError(f"backend_options={{{key!r}: {value!r}}}: give True or False")
        merged[key] = value
    if row.requires and importlib.util.find_spec(row.requires) is None:
        raise BackendError(f"backend={name!r} needs {row.requires}, which is not installed: "
                           f"pip install \"symdiff[{row.extra or row.requires}]\" (or pip install {row.requires}), "
                           "or leave out backend= for the NumPy backend")
    if row.setup:  # (numba: where its on-disk cache goes when a module's folder is read-only)
        importlib.import_module(f"{__name__}.{row.setup}").install()
    return name, tuple(sorted(merged.items()))


def entry(name: str, options: tuple[tuple[str, Any], ...] = ()) -> Callable[..., str]:
    """The function printing a module with backend ``name`` (given its options), imported on demand."""
    row = BACKENDS[name]
    function = getattr(importlib.import_module(f"{__name__}.{row.module}"), row.function)
    if not options:
        return function
    return lambda *args, **kwargs: function(*args, **kwargs, **dict(options))
