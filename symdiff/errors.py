"""Every error symdiff raises, in one place.

All derive from :class:`SymdiffError`, so ``except symdiff.SymdiffError`` catches them all.
Messages name what went wrong, where (file:line of the user's code when known) and what to do.
"""
from __future__ import annotations

from contextvars import ContextVar

#: While a function is traced, every symdiff error made (see :func:`symdiff.trace.run.trace`, which
#: raises a refusal the user's code caught and went on from).
MADE: ContextVar["list[SymdiffError] | None"] = ContextVar("symdiff_errors_made", default=None)


class SymdiffError(Exception):
    """Base class of all symdiff errors."""

    #: Whether this error is symdiff refusing what NumPy would do (not NumPy's own error, mirrored):
    #: user code that catches a refusal and goes on computes something else than it says.
    refusal = True

    def __init__(self, *args) -> None:
        super().__init__(*args)
        made = MADE.get()
        if made is not None:
            made.append(self)


class UnsupportedError(SymdiffError, NotImplementedError):
    """A construct or NumPy function symdiff cannot differentiate (yet)."""


class BranchLimitError(UnsupportedError):
    """Branches on traced values give too many paths (a loop whose condition depends on traced values)."""


class EnvironmentReadError(UnsupportedError):
    """A traced function reads ``os.environ`` (or ``os.getenv``): its compiled code could go stale unseen."""


class ShapeError(SymdiffError, ValueError):
    """Shapes that do not fit together, or a bad shape specification."""

    refusal = False  # NumPy raises a ValueError there too (a refusal sets it on the instance)


class NonScalarOutputError(SymdiffError, TypeError):
    """``grad`` was asked for the gradient of a function whose output is not a scalar."""


class TraceError(SymdiffError, TypeError):
    """The function could not be traced (bad arguments, bad return value, ...)."""


class BackendError(SymdiffError, ValueError):
    """An unknown ``backend=`` (or ``backend_options``), or a backend whose package is not installed."""


class CacheWarning(UserWarning):
    """The cache folder cannot be written: compiled code is kept for this process only."""


def where(origin) -> str:
    """Format an origin (see :class:`symdiff.ir.graph.Origin`) as ``file:line`` for messages."""
    if origin is None:
        return "<unknown location>"
    return f"{origin.file}:{origin.line}"


class MissingProgramError(SymdiffError, OSError):
    """A program symdiff runs is not installed (Graphviz's ``dot``, for ``.to_svg()`` and ``--format svg``)."""


class InternalError(SymdiffError, RuntimeError):
    """A bug of symdiff's: e.g. a generated module that does not compile (it is never written)."""
