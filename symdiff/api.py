"""The public API: the transformed function (:class:`Transformed`; ``grad`` and ``value_and_grad`` make it
too, typed for their callers, in :mod:`symdiff.gradients`), ``jacobian``, ``hessian``, ``hvp``, ``jvp``,
``vjp``, ``elementwise_grad``, ``export`` and ``stop_gradient``.

A transformed function traces on first use with the actual arguments, compiles the generated
module and caches it per signature (rank, dtype and which axes have size 1 of each array; the
value of each static argument), like ``jax.jit``. Sizes stay symbolic, so one compiled gradient
serves every length; sizes the program used as Python ints are guarded.

>>> import numpy as np
>>> def f(x):
...     return np.mean(x ** 2)
>>> vg = Transformed(f, None, "value_and_grad")
>>> v, g = vg(np.array([1.0, 2.0]))
>>> float(v), g.tolist()
(2.5, [1.0, 2.0])
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import numbers
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import display
from .runtime import cache
from .runtime import freshness
from .errors import ShapeError, SymdiffError, TraceError
from .runtime.fastpath import MISS, exact_key, guarded, miss
from .runtime.signature import direction_names, name_of, param_names, parameters, with_directions
from .runtime.specs import ArgSpec, Compiled, call_values, split_dtype
from .trace.composites import stop_gradient  # noqa: F401  (public: symdiff.stop_gradient)

# The compiler (SymPy, Jinja) is imported only when something has to be compiled: a function served
# from the on-disk cache never imports it.

Wrt = str | int | Sequence[str | int] | None


def _params(fn: Callable) -> list[str]:
    return param_names(fn)


def _wrt_indices(fn: Callable, wrt: Wrt) -> tuple[list[int], bool]:
    """Positions of the ``wrt`` parameters, and whether a single one was asked for (bare result)."""
    names, fname = _params(fn), name_of(fn)
    if not names:
        raise TraceError(f"{fname} takes no arguments: nothing to differentiate")
    single = wrt is None or isinstance(wrt, (str, int))
    items = [0] if wrt is None else ([wrt] if single else list(wrt))
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise TraceError(f"wrt={item!r}: {fname} has no argument {item!r} (it has {', '.join(names)})")
            out.append(names.index(item))
        elif isinstance(item, numbers.Integral):
            if not -len(names) <= item < len(names):
                raise TraceError(f"wrt={item}: {fname} has only {len(names)} arguments")
            out.append(int(item) % len(names))
        else:
            raise TraceError(f"wrt must be argument names or positions, got {item!r}")
    if len(set(out)) != len(out):
        raise TraceError(f"wrt={wrt!r} names an argument twice")
    return out, single


def _spec_of(name: str, value: Any) -> ArgSpec:
    """The argument record of ``value`` passed as ``name``. ``np.matrix`` (``*`` is a matrix product, every
    result is 2-d) and masked arrays (masked entries are left out) have semantics the traced NumPy code
    does not follow: they are refused rather than differentiated as plain arrays."""
    if isinstance(value, (np.matrix, np.ma.MaskedArray)):
        kind = "an np.matrix" if isinstance(value, np.matrix) else "a masked array (np.ma)"
        raise TraceError(f"argument {name!r} is {kind}: symdiff differentiates plain NumPy arrays and would "
                         f"not follow its semantics; pass np.asarray({name}) (for a masked array, fill or drop "
                         f"its masked entries first, e.g. {name}.filled(0) or {name}.compressed())")
    # (traced values never get here: a transformed function called while tracing composes, see _call)
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (numbers.Integral, np.integer))):
        return ArgSpec(name, None, static=value)
    if isinstance(value, (numbers.Real, np.floating)):
        return ArgSpec(name, (), str(np.result_type(value)) if isinstance(value, np.floating) else "float64")
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return ArgSpec(name, tuple(value.shape), str(value.dtype))
    if isinstance(value, np.ndarray) and value.dtype == bool:  # a mask: booleans, as NumPy computes with them
        return ArgSpec(name, tuple(value.shape), "bool")
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":  # integer data (labels, tokens): int64
        return ArgSpec(name, tuple(value.shape), "int64")
    if isinstance(value, (str, type(None))):
        return ArgSpec(name, None, static=value)
    from .trace.random_standins import is_generator, outside_message
    if is_generator(value):
        raise TraceError(f"argument {outside_message(name, value)}")
    raise TraceError(f"argument {name!r}: values of type {type(value).__name__} are not supported; "
                     "pass NumPy float arrays, floats, or ints (ints are treated as constants)")


#: What each transform calls in the generated module, and the kind of module it needs.
ENTRIES = {"value_and_grad": "grad", "grad": "grad", "jacobian": "jacobian", "hessian": "hessian",
           "hvp": "hvp", "jvp": "jvp", "vjp": "vjp", "elementwise_grad": "elementwise_grad"}


class Transformed:
    """A function transformed by :func:`grad`, :func:`value_and_grad`, :func:`jacobian`, :func:`hessian`,
    :func:`hvp` or :func:`jvp`; ``hvp`` and ``jvp`` take one direction per ``wrt`` argument after the
    function's own arguments."""

    def __init__(self, fn: Callable, wrt: Wrt, entry: str, has_aux: bool = False) -> None:
        functools.update_wrapper(self, fn, updated=())  # a callable object's attributes stay its own
        self.__name__ = name_of(fn)  # a partial, a bound method, a callable object: the function's name
        self.fn = fn
        self.has_aux = bool(has_aux)
        self.wrt, self.single = _wrt_indices(fn, wrt)
        self.entry, self.kind = entry, ENTRIES[entry]
        self.n_directions = {"hvp": len(self.wrt), "jvp": len(self.wrt), "vjp": 1}.get(self.kind, 0)
        self.parameters = parameters(fn)  # keyword-only ones included; a partial's bound ones are not
        self.params = [p.name for p in self.parameters]
        self._signature = inspect.Signature(self.parameters)
        # what inspect.signature says, and what a transform of this one passes (directions last)
        self.__signature__ = with_directions(self.parameters, direction_names(self.kind, self.params, self.wrt)) \
            if self.n_directions else self._signature
        self._cache: dict[tuple, list[tuple[Compiled, Any]]] = {}
        # exact shapes -> the module, its function, and that function behind a guard of those shapes
        self._fast: dict[tuple, tuple[Compiled, Callable, Callable]] = {}
        self._hot: Callable = miss  # the guarded function of the latest call, if it came from self._fast
        self._last: Compiled | None = None
        self._specs: dict[int, list[ArgSpec]] = {}  # id of a module -> the argument specs it was made for
        self._reads = freshness.NEVER  # what the function reads, snapshotted at the latest change
        #: Where the code of the most recent call came from: "memory", "disk" or "compiled".
        self.cache_info: str | None = None

    def _bind(self, args, kwargs) -> list[Any]:
        if self.n_directions:
            if len(args) < self.n_directions:
                raise TraceError(f"{self.entry} of {self.__name__}: pass the function's arguments, then "
                                 f"{self.n_directions} direction(s), one per wrt argument")
            args, directions = args[:-self.n_directions], list(args[-self.n_directions:])
        else:
            directions = []
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TraceError(f"{self.__name__}{self._signature}: {exc}") from None
        bound.apply_defaults()
        return [bound.arguments[p] for p in self.params] + directions

    def _compiled(self, values: list[Any], grow: Compiled | None = None) -> tuple[Compiled, Any]:
        """The module for these arguments and the values the function reads now (``self._reads``): from
        memory, from disk, or compiled. ``grow``: a module whose code lacks the branch these values
        take; the new module has its paths and that one."""
        specs = [_spec_of(n, v) for n, v in zip(self.params, values)]  # directions: shaped like their wrt
        key = tuple((s.dtype, tuple(d == 1 for d in s.shape)) if s.is_array else ("static", repr(s.static))
                    for s in specs)
        fits = lambda guard: all(np.shape(values[i])[axis] == size for i, axis, size in guard)  # noqa: E731
        memo = (self._reads.memo, key)
        for compiled, module in self._cache.get(memo, ()) if grow is None else ():
            if fits(compiled.guard):
                self.cache_info = "memory"
                return compiled, module
        disk_key = self._disk_key(key)
        compiled, module = cache.from_disk(disk_key, fits, self.entry) if disk_key and grow is None else (None, None)
        if compiled is not None:
            self.cache_info = "disk"
        else:
            from .pipeline import compile_function
            compiled = compile_function(self.fn, specs, self.wrt, single=self.single, kind=self.kind,
                                        has_aux=self.has_aux, values=values,
                                        known=grow.paths if grow is not None else ())
            path = cache.save(compiled.source, compiled.func_name, disk_key, compiled.guard, compiled.graph,
                              compiled.paths, compiled.dot)
            module = (cache.import_file(path, compiled.source) if path else
                      cache.import_text(compiled.source, compiled.func_name))
            self.cache_info = "compiled"
        entries = [e for e in self._cache.get(memo, []) if grow is None or e[0] is not grow]
        self._cache[memo] = [(compiled, module)] + entries
        self._specs[id(compiled)] = specs
        return compiled, module

    def _disk_key(self, key: tuple) -> str | None:
        """Key of the on-disk cache: the hash of what the function reads now, the signature, ``wrt``."""
        if self._reads.disk is None:
            return None
        text = repr((self._reads.disk, key, self.wrt, self.single, self.params, self.kind, self.has_aux))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def __call__(self, *args, **kwargs):
        if not kwargs:  # fast path: the same exact key as the latest call
            try:
                result = self._hot(*args)
            except LookupError as exc:  # a branch not compiled yet: the slow path compiles it
                if type(exc).__name__ != "BranchNotCompiled":
                    raise
            else:
                if result is not MISS:
                    return result
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict) -> Any:
        # self._hot is set again only by a call served from self._fast, which sets self._last and
        # self.cache_info: a hot call then leaves both as they are
        self._hot = miss
        if not self._reads.fresh():  # a global, cell, attribute... changed: code for the new values
            self._reads, self._fast = freshness.collect(self.fn), {}
        if not kwargs:  # the same exact key as an earlier call
            key = exact_key(args)
            hit = self._fast.get(key)
            if hit is not None:
                self._last, self.cache_info = hit[0], "memory"
                try:
                    result = hit[1](*args)
                except LookupError as exc:
                    if type(exc).__name__ != "BranchNotCompiled":
                        raise
                else:
                    self._hot = hit[2]
                    return result
        values = self._bind(args, kwargs)
        if any(is_tracer(v) for v in values) or _tracing():  # inside another trace (closures may hold traced values)
            return self._compose(values)
        arrays = call_values(values)
        compiled, module = self._compiled(values)
        while True:
            func = getattr(module, f"{compiled.func_name}_{self.entry}")
            try:
                result = func(*arrays)
                break
            except LookupError as exc:  # these values take a branch the module has no code for yet
                if type(exc).__name__ != "BranchNotCompiled":
                    raise
                compiled, module = self._compiled(values, grow=compiled)
        if self.cache_info == "compiled":
            freshness.after_compile(self.fn, self._reads)
        self._last = compiled
        if not kwargs and len(args) == len(values) and None not in key:
            self._fast[key] = (compiled, func, guarded(key, func, self._reads.check))
        return result

    def _compose(self, values: list[Any]) -> Any:
        """Called inside another trace: the derivative becomes more graph in the enclosing trace
        (:mod:`symdiff.compose`), so ``grad(grad(f))`` and ``jacobian(grad(f))`` are exact."""
        from .compose import compose
        return compose(self, values)

    def _need(self) -> Compiled:
        if self._last is None:
            raise SymdiffError(f"{self.__name__} has not been compiled yet: call it once (it compiles on first "
                               "call, for the shapes it is given), or use symdiff.export with shapes")
        return self._last

    @property
    def source(self) -> str:
        """The generated Python module of the most recent call, as text."""
        return self._need().source

    @property
    def graph(self) -> str:
        """The traced graph and its gradient graph of the most recent call, as text."""
        return self._need().graph

    @property
    def math(self) -> Any:
        """The derivative of the most recent call as equations (:class:`symdiff.explain.Math`): ``print`` it
        for plain text, ``.latex`` for LaTeX; a notebook renders it."""
        return display.math_of(self)

    # the picture and the display (symdiff/display.py): to_dot(), to_svg(), repr, Jupyter's HTML and Markdown
    to_dot, to_svg, __repr__ = display.to_dot, display.to_svg, display.describe
    _repr_html_, _repr_markdown_ = display.html_of, display.markdown_of


def _transform(entry: str, fn: Callable | None, wrt: Wrt, has_aux: bool = False) -> Any:
    if fn is None:  # used as a decorator with arguments: @symdiff.grad(wrt="w")
        return lambda f: Transformed(f, wrt, entry, has_aux)
    return Transformed(fn, wrt, entry, has_aux)


# grad and value_and_grad, typed for their callers: symdiff/gradients.py


def jacobian(fn: Callable | None = None, *, wrt: Wrt = None) -> Any:
    """Jacobian of any function: for an output of shape ``S`` and an argument of shape ``W``, an
    array of shape ``S + W`` (as JAX and autograd)."""
    return _transform("jacobian", fn, wrt)


def hessian(fn: Callable | None = None, *, wrt: Wrt = None) -> Any:
    """Hessian of a scalar function; with several ``wrt``, the blocks nested as JAX returns them."""
    return _transform("hessian", fn, wrt)


def hvp(fn: Callable | None = None, *, wrt: Wrt = None) -> Any:
    """Hessian-vector product ``hvp(f)(*args, v)`` without forming the Hessian (one ``v`` per ``wrt``)."""
    return _transform("hvp", fn, wrt)


def jvp(fn: Callable | None = None, *, wrt: Wrt = None) -> Any:
    """Forward mode: ``jvp(f)(*args, t)`` returns ``(f(*args), derivative of f along t)``."""
    return _transform("jvp", fn, wrt)


def vjp(fn: Callable | None = None, *, wrt: Wrt = None) -> Any:
    """Reverse mode for any output: ``vjp(f)(*args, cotangent)`` returns ``(f(*args), cotangent pulled
    back to wrt)``, the gradient of ``sum(f(*args) * cotangent)``."""
    return _transform("vjp", fn, wrt)


def elementwise_grad(fn: Callable | None = None, *, wrt: Wrt = None) -> Any:
    """For a function applied element by element, its derivative at every element: the gradient of
    the sum of its outputs (as autograd's ``elementwise_grad``)."""
    return _transform("elementwise_grad", fn, wrt)


def _tracing() -> bool:
    """Whether a function is being traced (without importing the tracer when nothing was ever traced)."""
    tracer = sys.modules.get("symdiff.trace.tracer")
    return tracer is not None and tracer._TRACE.get() is not None


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is a traced value (without importing the tracer when nothing was ever traced)."""
    values = sys.modules.get("symdiff.trace.values")
    return values is not None and isinstance(x, values.Tracer)


def parse_shape(text: str) -> tuple:
    """``"5,3"`` -> ``(5, 3)``; ``"n,k"`` -> ``("n", "k")``; ``""`` -> ``()`` (a scalar)."""
    dims: list[int | str] = []
    for part in (p.strip() for p in text.split(",")) if text.strip() else ():
        if part.isdigit() and int(part) > 0:
            dims.append(int(part))
        elif part.isidentifier():
            dims.append(part)
        else:
            raise ShapeError(f"bad size {part!r} in shape {text!r}: use positive integers or names, e.g. 5,3 or n,k")
    return tuple(dims)


def specs_for(fn: Callable, shapes: dict[str, Any] | None, dtype: str = "float64",
              static: dict[str, Any] | None = None) -> list[ArgSpec]:
    """Argument specs for export: listed shapes are arrays, ``static`` values are constants (an int loop
    bound, a flag: the code is made for that value and checks it), the rest scalars."""
    shapes, static = dict(shapes or {}), dict(static or {})
    params = _params(fn)
    for name in [*shapes, *static]:
        if name not in params:
            raise ShapeError(f"shape or value given for {name!r}, but {name_of(fn)} has no such argument "
                             f"({', '.join(params)})")
    specs = []
    for name in params:
        if name in static:
            if not isinstance(static[name], (bool, int, str, type(None))):
                raise ShapeError(f"static value of {name!r}: use an int, bool, str or None (floats and arrays "
                                 "are arguments: give arrays a shape)")
            specs.append(ArgSpec(name, None, static=static[name]))
            continue
        shape, kind = split_dtype(name, shapes.get(name, ()), dtype)
        try:
            shape = parse_shape(shape) if isinstance(shape, str) else tuple(shape)
        except ShapeError as exc:
            raise ShapeError(f"shape of {name!r}: {exc}") from None
        for d in shape:
            if not (isinstance(d, str) and d.isidentifier()) and not (isinstance(d, numbers.Integral) and d > 0):
                raise ShapeError(f"shape of {name!r}: bad size {d!r}; use positive integers or names")
        specs.append(ArgSpec(name, shape, kind))
    return specs


def compile_for_export(fn: Callable, wrt: Wrt = None, shapes: dict[str, Any] | None = None,
                       kind: str = "grad", has_aux: bool = False, static: dict[str, Any] | None = None,
                       command: str | None = None, dtype: str = "float64", annotate: bool = False) -> Compiled:
    from .pipeline import compile_function
    if dtype not in ("float64", "float32"):
        raise ShapeError(f"dtype={dtype!r}: generated modules are float64 (the default) or float32")
    indices, single = _wrt_indices(fn, wrt)
    return compile_function(fn, specs_for(fn, shapes, dtype, static=static), indices, single=single, kind=kind,
                            has_aux=has_aux, command=command, annotate=annotate)


def export(fn: Callable, path: str | Path, wrt: Wrt = None, shapes: dict[str, Any] | None = None,
           kind: str = "grad", has_aux: bool = False, static: dict[str, Any] | None = None,
           dtype: str = "float64", annotate: bool = False) -> str:
    """Write the gradient module of ``fn`` to ``path`` (written whole or not at all); return its text.

    ``shapes`` maps argument names to shapes of ints or names (``("n", "k")``); arguments not listed
    are scalars. The module exposes ``<fn>_grad`` and ``<fn>_value_and_grad`` and imports only NumPy;
    ``kind="hessian"`` adds ``<fn>_hessian``, ``"hvp"`` adds ``<fn>_hvp``; ``"jacobian"`` and ``"jvp"``
    give ``<fn>_jacobian`` and ``<fn>_jvp``. ``static`` maps arguments to constant values the code is
    made for (``{"steps": 10}``). ``dtype="float32"``: the float arguments are float32 and the module
    computes and returns float32 (its own arrays and constants too). ``annotate=True``: type hints on the
    public functions (``x: np.ndarray``, ``-> tuple[np.ndarray, np.ndarray]``). The module's header carries the
    ``symdiff`` command line that writes it again (``symdiff check`` reads it), when one can name ``fn``
    (a function of a module's top level).
    """
    from .commands import for_export
    command = for_export(fn, path, wrt, shapes, kind, has_aux, static, _params(fn), dtype, annotate)
    compiled = compile_for_export(fn, wrt, shapes, kind, has_aux, static, command, dtype, annotate)
    cache.write_atomic(path, compiled.source)
    return compiled.source
