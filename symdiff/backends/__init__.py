"""Backends: from a simplified graph to source text. Each backend is a folder; ``numpy`` is the
default, ``array_api`` writes the same statements against the array API standard's namespace. A
backend imports :mod:`symdiff.ir.graph`, never the frontend or the passes.

:data:`BACKENDS` maps the name given as ``backend=`` (``--backend``) to the backend's module-source
function, with the signature of :func:`symdiff.backends.numpy.module.module_source`. Each is imported
when first used, so a cache hit imports none of them (nor SymPy)."""
from __future__ import annotations

from typing import Any, Callable


def _numpy(*args: Any, **kwargs: Any) -> str:
    from .numpy.module import module_source
    return module_source(*args, **kwargs)


def _array_api(*args: Any, **kwargs: Any) -> str:
    from .array_api.module import module_source
    return module_source(*args, **kwargs)


BACKENDS: dict[str, Callable[..., str]] = {"numpy": _numpy, "array_api": _array_api}


def backend_source(backend: str) -> Callable[..., str]:
    """The module-source function of ``backend``; an unknown name is an error naming the choices."""
    try:
        return BACKENDS[backend]
    except (KeyError, TypeError):
        from ..errors import UnsupportedError
        raise UnsupportedError(f"backend={backend!r}: choose one of {', '.join(repr(b) for b in BACKENDS)} "
                               "(numpy: the default)") from None
