"""How symdiff sees the user's callable: its name, the parameters a caller passes, how to call it.

A plain function, a ``functools.partial``, a bound method (``model.loss``), an instance of a class
with ``__call__``, or a transformed function (``grad(grad(f))``) are all accepted. Keyword-only
parameters are parameters like the others (``wrt`` may name them; they are passed by keyword).
Arguments a partial binds are part of the function, as closure values are: constants of the code,
not parameters (as ``self`` of a bound method). ``*args`` and ``**kwargs`` are refused: the code is
made for a fixed list of named arrays.

>>> import functools
>>> def f(x, y, *, lam=0.1):
...     return x
>>> [p.name for p in parameters(functools.partial(f, lam=0.5))], name_of(functools.partial(f, lam=0.5))
(['x', 'y'], 'f')
"""
from __future__ import annotations

import functools
import inspect
import types
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import TraceError


def function_of(fn: Any) -> types.FunctionType | None:
    """The Python function holding the code ``fn`` runs (for its name, source file and globals)."""
    for _ in range(100):  # a partial of a partial of a method ...
        if isinstance(fn, types.FunctionType):
            return fn
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif isinstance(fn, types.MethodType):
            fn = fn.__func__
        elif hasattr(fn, "__wrapped__"):  # a transformed function, functools.wraps
            fn = fn.__wrapped__
        elif callable(fn) and not isinstance(fn, type) and isinstance(getattr(type(fn), "__call__", None),
                                                                        types.FunctionType):
            fn = type(fn).__call__  # an instance of a class with __call__
        else:
            return None
    return None


def name_of(fn: Any) -> str:
    """The name of ``fn`` in messages and generated code: the underlying function's (a callable
    instance's class name: its ``__call__`` is not a name)."""
    if isinstance(fn, types.FunctionType):
        return fn.__name__
    if isinstance(fn, (functools.partial, types.MethodType)) or hasattr(fn, "__wrapped__"):
        inner = getattr(fn, "func", None) or getattr(fn, "__func__", None) or getattr(fn, "__wrapped__", None)
        return name_of(inner)
    name = getattr(fn, "__name__", None)
    if isinstance(name, str):
        return name
    return type(fn).__name__


def _bound_keywords(fn: Any) -> set[str]:
    """Names a partial (or a partial inside a method/wrapper chain) binds by keyword."""
    names: set[str] = set()
    while isinstance(fn, functools.partial):
        names |= set(fn.keywords)
        fn = fn.func
    return names


def parameters(fn: Any) -> list[inspect.Parameter]:
    """The parameters a caller of ``fn`` passes, in order (keyword-only ones last, as declared)."""
    if isinstance(fn, type):
        raise TraceError(f"{fn.__name__} is a class: pass a function, a method of an instance (model.loss) or an "
                         "instance of a class with __call__")
    if not callable(fn):
        raise TraceError(f"{type(fn).__name__} object {fn!r:.60}: not callable; pass a function")
    if isinstance(fn, np.ufunc):  # np.sin: its inputs (its out=, where=, dtype= ... are not arrays to trace)
        names = ["x"] if fn.nin == 1 else [f"x{k + 1}" for k in range(fn.nin)]
        return [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in names]
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise TraceError(f"{name_of(fn)}: symdiff cannot read its parameters ({exc}); "
                         "pass a Python function (def or lambda), a functools.partial or a bound method") from None
    bound = _bound_keywords(fn)
    out = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind == p.VAR_POSITIONAL else "**"
            raise TraceError(
                f"{name_of(fn)}{sig}: {star}{p.name} parameters are not supported: symdiff makes code for a fixed "
                f"list of named arguments. Name each argument (def {name_of(fn)}(x, y, z)), or pass several arrays "
                "as one stacked array (np.stack) and index it")
        if p.kind == p.KEYWORD_ONLY and p.name in bound:
            continue  # bound by a partial: a constant of the function
        out.append(p)
    return out


def param_names(fn: Any) -> list[str]:
    return [p.name for p in parameters(fn)]


def caller(fn: Any, params: Sequence[inspect.Parameter] | None = None) -> Callable[..., Any]:
    """A function of all of ``fn``'s parameters by position that calls ``fn`` as its signature wants
    (keyword-only parameters by keyword)."""
    params = parameters(fn) if params is None else list(params)
    keyword = [(k, p.name) for k, p in enumerate(params) if p.kind == p.KEYWORD_ONLY]
    if not keyword:
        return fn
    first = keyword[0][0]

    def call(*args: Any) -> Any:
        return fn(*args[:first], **{name: args[k] for k, name in keyword})
    return call


def direction_names(kind: str, names: Sequence[str], wrt: Sequence[int]) -> list[str]:
    """The names of the directions ``hvp`` (``v``), ``jvp`` (``x_dot``) and ``vjp`` (``cotangent``) take
    after the function's arguments (:func:`symdiff.ad.derivatives.direction_specs` gives them their shapes)."""
    taken = set(names)
    if kind == "vjp":
        name = "cotangent"
        while name in taken:
            name += "_"
        return [name]
    if kind not in ("hvp", "jvp"):
        return []
    out = []
    for i in wrt:
        base = ("v" if len(wrt) == 1 else f"v_{names[i]}") if kind == "hvp" else f"{names[i]}_dot"
        name, k = base, 0
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        out.append(name)
    return out


def with_directions(params: Sequence[inspect.Parameter], names: Sequence[str]) -> inspect.Signature:
    """The signature of a transformed function taking directions ``names`` after the function's
    positional arguments (those then lose their defaults: a direction without one follows them)."""
    positional = [p.replace(default=p.empty) for p in params if p.kind != p.KEYWORD_ONLY]
    keyword = [p for p in params if p.kind == p.KEYWORD_ONLY]
    extra = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    return inspect.Signature(positional + extra + keyword)
