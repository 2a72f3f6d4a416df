"""``symdiff.export``: a function's gradient module written to a file, for shapes declared instead of
arrays given (also the command line's compilation, :func:`compile_for_export`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from . import arguments, backends
from .arguments import specs_for
from .errors import ShapeError
from .runtime import cache
from .runtime.signature import name_of, param_names
from .runtime.specs import Compiled

Wrt = Any  # names, positions or paths (see symdiff.api.Wrt)
Options = dict[str, bool] | None  # backend_options (see symdiff/backends/__init__.py)


def compile_for_export(fn: Callable, wrt: Wrt = None, shapes: dict[str, Any] | None = None,
                       kind: str = "grad", has_aux: bool = False, static: dict[str, Any] | None = None,
                       backend: str = "numpy", backend_options: Options = None, command: str | None = None,
                       dtype: str = "float64", annotate: bool = False, checkpoint: int | str | None = None) -> Compiled:
    from .pipeline import compile_function
    if dtype not in ("float64", "float32"):
        raise ShapeError(f"dtype={dtype!r}: generated modules are float64 (the default) or float32")
    chosen = backends.resolve(backend, backend_options)
    indices, steps, single = arguments.parse_wrt(fn, wrt)
    specs, layout = specs_for(fn, shapes, dtype, static=static)
    flat, flat_single, tree = arguments.plan(name_of(fn), kind, specs, layout, indices, steps, single)
    return compile_function(fn, specs, flat, single=flat_single, kind=kind, has_aux=has_aux, tree=tree,
                            backend=chosen, command=command, annotate=annotate, checkpoint=checkpoint)


def export(fn: Callable, path: str | Path, wrt: Wrt = None, shapes: dict[str, Any] | None = None,
           kind: str = "grad", has_aux: bool = False, static: dict[str, Any] | None = None,
           backend: str = "numpy", backend_options: Options = None, dtype: str = "float64",
           annotate: bool = False, checkpoint: int | str | None = None) -> str:
    """Write the gradient module of ``fn`` to ``path`` (written whole or not at all); return its text.

    ``shapes`` maps argument names to shapes of ints or names (``("n", "k")``); arguments not listed
    are scalars; a container argument's leaves: ``{"params": {"W1": (784, 128)}}`` or ``{"params.W1": ...}``.
    The module exposes ``<fn>_grad`` and ``<fn>_value_and_grad`` and imports only NumPy;
    ``kind="hessian"`` adds ``<fn>_hessian``, ``"hvp"`` adds ``<fn>_hvp``; ``"jacobian"`` and ``"jvp"``
    give ``<fn>_jacobian`` and ``<fn>_jvp``. ``static`` maps arguments to constant values the code is
    made for (``{"steps": 10}``). ``backend="numba"`` (or ``"numba-parallel"``) adds fused
    ``numba.njit`` kernels the module calls, ``"array_api"`` writes it for any array API library (see
    :mod:`symdiff.backends`). ``dtype="float32"``: the float arguments are float32 and the module
    computes and returns float32 (its own arrays and constants too). ``annotate=True``: type hints on the
    public functions (``x: np.ndarray``, ``-> tuple[np.ndarray, np.ndarray]``). The module's header carries the
    ``symdiff`` command line that writes it again (``symdiff check`` reads it), when one can name ``fn``
    (a function of a module's top level). ``checkpoint``: as :func:`symdiff.grad`'s (a loop's gradient
    stores its state every that many steps).
    """
    from .commands import for_export
    chosen = backends.resolve(backend, backend_options)
    command = for_export(fn, path, wrt, shapes, kind, has_aux, static, param_names(fn), dtype, annotate, chosen,
                         checkpoint)
    compiled = compile_for_export(fn, wrt, shapes, kind, has_aux, static, backend, backend_options, command, dtype,
                                  annotate, checkpoint)
    cache.write_module(path, compiled.source, compiled.data)  # large constants: <path stem>.<NAME>.npy beside it
    return compiled.source
