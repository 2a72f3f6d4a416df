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

import dataclasses
import functools
import hashlib
import inspect
import sys
from typing import Any, Callable, Sequence

import numpy as np

from . import backends, display
from .runtime import cache
from .runtime import freshness
from .ad.checkpoint import checkpoint_setting
from .errors import SymdiffError, TraceError
from .runtime.fastpath import MISS, counter_key, exact_key, guarded, miss
from .runtime.signature import direction_names, name_of, parameters, with_directions
from .runtime.specs import ArgSpec, Compiled, call_values
from . import arguments
from .arguments import parse_shape, specs_for  # noqa: F401  (public: the CLI's and export's shapes)
from .trace.composites import stop_gradient  # noqa: F401  (public: symdiff.stop_gradient)

# The compiler (SymPy, Jinja) is imported only when something has to be compiled: a function served
# from the on-disk cache never imports it.

Wrt = str | int | Sequence[str | int] | None
Options = dict[str, bool] | None  # backend_options (see symdiff/backends/__init__.py)


#: What each transform calls in the generated module, and the kind of module it needs.
ENTRIES = {"value_and_grad": "grad", "grad": "grad", "jacobian": "jacobian", "hessian": "hessian",
           "hvp": "hvp", "jvp": "jvp", "vjp": "vjp", "elementwise_grad": "elementwise_grad"}


class Transformed:
    """A function transformed by :func:`grad`, :func:`value_and_grad`, :func:`jacobian`, :func:`hessian`,
    :func:`hvp` or :func:`jvp`; ``hvp`` and ``jvp`` take one direction per ``wrt`` argument after the
    function's own arguments."""

    def __init__(self, fn: Callable, wrt: Wrt, entry: str, has_aux: bool = False, backend: str = "numpy",
                 backend_options: Options = None, checkpoint: int | str | None = None) -> None:
        functools.update_wrapper(self, fn, updated=())  # a callable object's attributes stay its own
        self.__name__ = name_of(fn)  # a partial, a bound method, a callable object: the function's name
        self.fn = fn
        self.has_aux = bool(has_aux)
        self.wrt, self.wrt_steps, self.single = arguments.parse_wrt(fn, wrt)  # steps: paths into containers
        self.entry, self.kind = entry, ENTRIES[entry]
        self.backend = backends.resolve(backend, backend_options)  # checked now: an unknown one fails here
        self.checkpoint = checkpoint_setting(checkpoint, entry)  # a loop's gradient: its state every k steps
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
        # exact structures and shapes of container arguments -> the module and its function
        self._fast_trees: dict[tuple, tuple[Compiled, Callable]] = {}
        self._hot: Callable = miss  # the guarded function of the latest call, if it came from self._fast
        self._last: Compiled | None = None
        self._specs: dict[int, tuple[list[ArgSpec], Any]] = {}  # id of a module -> its argument specs, layout
        #: int arguments the function needs the value of (argument -> why): constants of the code
        self._static_ints: dict[str, str] = {}
        #: the function asks isinstance/type of a value: an int traced at run time would take another path there
        self._inspects_types = _inspects_types(fn)
        self._counters: frozenset = frozenset()  # positions of the int arguments read at run time (fast path key)
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

    def _arguments(self, values: list[Any]) -> tuple[list, Any, list[Any], list[Any]]:
        """The leaves' specs and layout of the arguments (containers: :mod:`symdiff.arguments`), the flat
        leaves then directions, and what the generated entry point is called with."""
        n = len(self.params)
        # (directions: shaped like their wrt; array_api: other libraries' arrays too)
        specs, layout = arguments.bind(self.params, values[:n], self.backend[0])
        if not layout.has_trees:
            return specs, layout, values, call_values(values)
        leaves = layout.leaves(values[:n])
        return specs, layout, leaves + values[n:], layout.rebuild(call_values(leaves)) + call_values(values[n:])

    def _compiled(self, values: list[Any], bound: tuple, grow: Compiled | None = None) -> tuple[Compiled, Any]:
        """The module for these arguments and the values the function reads now (``self._reads``): from
        memory, from disk, or compiled. ``grow``: a module whose code lacks the branch these values
        take; the new module has its paths and that one."""
        specs, layout, values = bound[:3]  # the leaves (and directions)
        promoted, counters = self._promote(specs, layout)
        if counters:  # ints traced as run-time integers: one module for every value, if they only index
            try:
                return self._compiled_for(promoted, layout, values, grow, counters)
            except Exception as exc:  # noqa: BLE001 - it needs their values: compiled as constants, as before
                why = str(exc).split("\n")[0]
                for k in counters:
                    self._static_ints[specs[k].name] = why
        return self._compiled_for(specs, layout, values, grow)

    def _promote(self, specs: list, layout) -> tuple[list, tuple[int, ...]]:
        """Python int arguments as int64 scalars read at run time (an iteration counter indexing data or seeding
        a generator), unless an earlier compilation found that the function needs one's value."""
        if layout.has_trees or self._inspects_types:
            return specs, ()
        out, counters = list(specs), []
        for k, s in enumerate(specs):
            v = s.static
            if (not s.is_array and type(v) is int and -2 ** 63 <= v < 2 ** 63 and s.name not in self._static_ints
                    and s.name in self.params):
                out[k] = ArgSpec(s.name, (), "int64")
                counters.append(k)
        return out, tuple(counters)

    def _compiled_for(self, specs, layout, values, grow, counters=()) -> tuple[Compiled, Any]:
        key = tuple((s.dtype, tuple(d == 1 for d in s.shape)) if s.is_array else ("static", _static_key(s.static))
                    for s in specs)
        if layout.has_trees:  # the structure: container types, keys and their order, namedtuple classes
            key = (layout, *key)
        fits = lambda guard: all(np.shape(values[i])[axis] == size for i, axis, size in guard)  # noqa: E731
        memo = (self._reads.memo, key)
        for compiled, module in self._cache.get(memo, ()) if grow is None else ():
            if fits(compiled.guard):
                self.cache_info = "memory"
                return compiled, module
        disk_key = self._disk_key(key) if not any(callable(s.static) for s in specs) else None
        found = cache.from_disk(disk_key, fits, self.entry) if disk_key and grow is None else None
        if found is not None and found[0] is not None:
            compiled, module = found
            self.cache_info = "disk"
        else:
            from .pipeline import compile_function
            wrt, single, tree = arguments.plan(self.__name__, self.kind, specs, layout, self.wrt, self.wrt_steps,
                                               self.single)
            compiled = compile_function(self.fn, specs, wrt, single=single, kind=self.kind,
                                        has_aux=self.has_aux, values=values,
                                        known=grow.paths if grow is not None else (), tree=tree,
                                        backend=self.backend, counters=counters, checkpoint=self.checkpoint)
            if self._static_ints and not counters:  # why an int argument is a constant of this code: in .graph
                notes = "".join(f"\n  {n}: a constant of the code (one module per value): {why}"
                                for n, why in self._static_ints.items())
                compiled = dataclasses.replace(compiled, graph=f"{compiled.graph}\n\nint arguments:{notes}")
            path = cache.save(compiled.source, compiled.func_name, disk_key, compiled.guard, compiled.graph,
                              compiled.paths, compiled.dot, compiled.data)
            module = (cache.import_file(path, compiled.source) if path else
                      cache.import_text(compiled.source, compiled.func_name, compiled.data))
            self.cache_info = "compiled"
        entries = [e for e in self._cache.get(memo, []) if grow is None or e[0] is not grow]
        self._cache[memo] = [(compiled, module)] + entries
        self._specs[id(compiled)] = (specs, layout)
        return compiled, module

    def _disk_key(self, key: tuple) -> str | None:
        """Key of the on-disk cache: the hash of what the function reads now, the signature, ``wrt``."""
        if self._reads.disk is None:
            return None
        steps = (self.wrt_steps,) if any(self.wrt_steps) else ()  # (paths into containers)
        text = repr((self._reads.disk, key, self.wrt, self.single, self.params, self.kind, self.has_aux, *steps)
                    + ((self.backend,) if self.backend[0] != "numpy" else ())
                    + ((("checkpoint", self.checkpoint),) if self.checkpoint is not None else ()))
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
            self._reads, self._fast, self._fast_trees = freshness.collect(self.fn), {}, {}
        if not kwargs:  # the same exact key as an earlier call
            key = exact_key(args)
            if self._counters:
                key = counter_key(key, self._counters)
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
        tree_key = _tree_key(args) if not kwargs and None in key else None
        if tree_key is not None and tree_key in self._fast_trees:  # containers of the exact key of an earlier call
            compiled, func = self._fast_trees[tree_key]
            self._last, self.cache_info = compiled, "memory"
            try:
                return func(*args)
            except LookupError as exc:
                if type(exc).__name__ != "BranchNotCompiled":
                    raise
        values = self._bind(args, kwargs)
        if any(is_tracer(v) for v in values) or _tracing():  # inside another trace (closures may hold traced values)
            return self._compose(values)
        bound = self._arguments(values)
        arrays = bound[3]
        compiled, module = self._compiled(values, bound)
        while True:
            func = getattr(module, f"{compiled.func_name}_{self.entry}")
            try:
                result = func(*arrays)
                break
            except LookupError as exc:  # these values take a branch the module has no code for yet
                if type(exc).__name__ != "BranchNotCompiled":
                    raise
                compiled, module = self._compiled(values, bound, grow=compiled)
        if self.cache_info == "compiled":
            freshness.after_compile(self.fn, self._reads)
        self._last = compiled
        counting = frozenset(self._promote(*bound[:2])[1])  # ints read at run time: keyed by type in the fast path
        if counting != self._counters and not kwargs and len(args) == len(values):  # (entries keyed otherwise: dropped)
            self._counters, self._fast = counting, {}
            key = counter_key(exact_key(args), counting)
        if not kwargs and len(args) == len(values) and None not in key and counting == self._counters:
            self._fast[key] = (compiled, func, guarded(key, func, self._reads.check))
        elif tree_key is not None and len(args) == len(values):
            self._fast_trees[tree_key] = (compiled, func)
        return result

    def _compose(self, values: list[Any]) -> Any:
        """Called inside another trace: the derivative becomes more graph in the enclosing trace
        (:mod:`symdiff.compose`), so ``grad(grad(f))`` and ``jacobian(grad(f))`` are exact."""
        from .runtime.pytrees import is_container
        if any(is_container(v) for v in values) or any(self.wrt_steps):
            raise TraceError(f"{self.entry} of {self.__name__} called inside a traced function with a container "
                             "argument (dict, list, tuple): not supported yet; call it on arrays there")
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


def _transform(entry: str, fn: Callable | None, wrt: Wrt, has_aux: bool = False, backend: str = "numpy",
               backend_options: Options = None, checkpoint: int | str | None = None) -> Any:
    if fn is None:  # used as a decorator with arguments: @symdiff.grad(wrt="w")
        backends.resolve(backend, backend_options)
        checkpoint_setting(checkpoint, entry)
        return lambda f: Transformed(f, wrt, entry, has_aux, backend, backend_options, checkpoint)
    return Transformed(fn, wrt, entry, has_aux, backend, backend_options, checkpoint)


# grad and value_and_grad, typed for their callers: symdiff/gradients.py


def jacobian(fn: Callable | None = None, *, wrt: Wrt = None, backend: str = "numpy",
             backend_options: Options = None) -> Any:
    """Jacobian of any function: for an output of shape ``S`` and an argument of shape ``W``, an
    array of shape ``S + W`` (as JAX and autograd)."""
    return _transform("jacobian", fn, wrt, False, backend, backend_options)


def hessian(fn: Callable | None = None, *, wrt: Wrt = None, backend: str = "numpy",
            backend_options: Options = None) -> Any:
    """Hessian of a scalar function; with several ``wrt``, the blocks nested as JAX returns them."""
    return _transform("hessian", fn, wrt, False, backend, backend_options)


def hvp(fn: Callable | None = None, *, wrt: Wrt = None, backend: str = "numpy",
        backend_options: Options = None) -> Any:
    """Hessian-vector product ``hvp(f)(*args, v)`` without forming the Hessian (one ``v`` per ``wrt``)."""
    return _transform("hvp", fn, wrt, False, backend, backend_options)


def jvp(fn: Callable | None = None, *, wrt: Wrt = None, backend: str = "numpy",
        backend_options: Options = None) -> Any:
    """Forward mode: ``jvp(f)(*args, t)`` returns ``(f(*args), derivative of f along t)``."""
    return _transform("jvp", fn, wrt, False, backend, backend_options)


def vjp(fn: Callable | None = None, *, wrt: Wrt = None, backend: str = "numpy",
        backend_options: Options = None, checkpoint: int | str | None = None) -> Any:
    """Reverse mode for any output: ``vjp(f)(*args, cotangent)`` returns ``(f(*args), cotangent pulled
    back to wrt)``, the gradient of ``sum(f(*args) * cotangent)``. ``checkpoint``: as :func:`grad`'s."""
    return _transform("vjp", fn, wrt, False, backend, backend_options, checkpoint)


def elementwise_grad(fn: Callable | None = None, *, wrt: Wrt = None, backend: str = "numpy",
                     backend_options: Options = None) -> Any:
    """For a function applied element by element, its derivative at every element: the gradient of
    the sum of its outputs (as autograd's ``elementwise_grad``)."""
    return _transform("elementwise_grad", fn, wrt, False, backend, backend_options)


def _tracing() -> bool:
    """Whether a function is being traced (without importing the tracer when nothing was ever traced)."""
    tracer = sys.modules.get("symdiff.trace.tracer")
    return tracer is not None and tracer._TRACE.get() is not None


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is a traced value (without importing the tracer when nothing was ever traced)."""
    values = sys.modules.get("symdiff.trace.values")
    return values is not None and isinstance(x, values.Tracer)


def _tree_key(args: tuple) -> tuple | None:
    """The exact key of a call with container arguments (None if it has none, or a leaf the fast path does
    not handle): their structures and their leaves' exact shapes, dtypes and static values."""
    from .runtime.pytrees import exact_key as tree_exact_key, is_container
    if not any(is_container(a) for a in args):
        return None
    key = tuple(tree_exact_key(a) for a in args)
    return None if None in key else key


def _inspects_types(fn: Callable) -> bool:
    """Whether ``fn``'s code (its nested functions too) reads ``isinstance``, ``type`` or ``issubclass``."""
    code = getattr(inspect.unwrap(getattr(fn, "__func__", fn)), "__code__", None)
    stack, names = [code] if code is not None else [], set()
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))
    return bool(names & {"isinstance", "type", "issubclass"})


def _static_key(value: Any) -> Any:
    """A static value in the cache key: its repr; a function in a container by identity (its repr could be
    another function's later) and by the values it reads now (:func:`freshness.collect`: a global it reads
    rebound gives another key). Keys with functions are kept in memory only."""
    return (value, freshness.collect(value).memo) if callable(value) else repr(value)


# symdiff.export and the CLI's compilation: symdiff/exporting.py
from .exporting import compile_for_export, export  # noqa: E402,F401
