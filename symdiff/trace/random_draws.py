"""``np.random`` inside a traced function: draws become graph nodes, drawn again by the generated code.

While a function is traced, the user's calls of ``np.random.randn``, ``rand``, ``normal``, ... and the
generators it makes (``np.random.default_rng(seed)``, ``np.random.RandomState(seed)``) are stand-ins
that record each draw (see :mod:`symdiff.ir.primitives.random`) and never hand a traced value to NumPy's
compiled code. The generated code makes the same calls in the same order, so every call of the
gradient draws fresh noise as the function does, and a seeded generator gives the same numbers.

- Sizes may be symbolic (``np.random.randn(*x.shape)``, ``rng.normal(size=x.shape)``); arguments are
  numbers, sizes or constant arrays. A traced ``loc``/``scale`` of ``normal`` or ``low``/``high`` of
  ``uniform`` is written as ``loc + scale * standard_normal(...)`` (``low + (high - low) * random(...)``),
  NumPy's own formulas, so the numbers are the same and the gradient flows to the parameters; a traced
  parameter of any other distribution, or a traced seed, is refused.
- A generator passed as an argument is drawn from by the generated code, which takes it as its
  argument (``random_source`` of kind ``argument``); one read from a global or a closure value is
  refused: its state lives outside the generated code.
- A branch on a value that depends on a draw is refused (the generated code evaluates branch
  conditions apart from the path's code, which would draw twice).
"""
from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import sympy as sp

from ..ir.primitives import random as R
from ..escape import literal
from ..errors import TraceError, UnsupportedError, where
from ..ir.graph import Node, rebuild, toposort, with_inputs
from ..ir.shapes import broadcast_shapes
from .tracer import CONDITION_CHECKS, current_trace, user_origin

#: Methods drawing floats / integers from distributions whose parameters are numbers or constant arrays.
FLOAT = {"random", "random_sample", "ranf", "sample", "standard_normal", "normal", "uniform", "standard_exponential",
         "exponential", "beta", "gamma", "standard_gamma", "lognormal", "laplace", "logistic", "gumbel", "chisquare",
         "standard_t", "standard_cauchy", "rayleigh", "weibull", "pareto", "power", "vonmises", "triangular", "wald",
         "f", "noncentral_chisquare", "noncentral_f"}
INT = {"integers", "randint", "binomial", "poisson", "geometric", "negative_binomial", "hypergeometric", "logseries",
       "zipf"}
SPECIAL = {"rand", "randn", "choice", "permutation"}
#: Reparameterisable: a traced parameter becomes arithmetic on the standard draw (NumPy's own formula).
STANDARD = {"normal": ("standard_normal", ("loc", 0.0), ("scale", 1.0)),
            "uniform": ("random", ("low", 0.0), ("high", 1.0))}
ADVICE = "draw the noise outside the function and pass it as an argument"
#: NumPy's own generator classes (this module is imported before any trace installs stand-ins): the
#: templates whose method signatures the stand-ins bind arguments with.
_RANDOM_STATE, _DEFAULT_RNG = np.random.RandomState, np.random.default_rng


_TEMPLATES: dict[str, Any] = {}


def _template(flavour: str) -> Any:
    if not _TEMPLATES:
        _TEMPLATES["legacy"] = _RANDOM_STATE(0)
        _TEMPLATES["generator"] = _DEFAULT_RNG(0)
    return _TEMPLATES[flavour]


def _signature(flavour: str, method: str) -> inspect.Signature:
    return inspect.signature(getattr(_template(flavour), method))


def _here() -> str:
    return where(user_origin())


# ---------------------------------------------------------------- the trace's streams -------------

class _Streams:
    """Per trace: the draws in the order made, and the last node of each stream."""

    def __init__(self) -> None:
        self.count = 0
        self.tails: dict[Any, Node] = {}

    def serial(self) -> int:
        self.count += 1
        return self.count - 1


def _streams() -> _Streams:
    trace = current_trace()
    streams = getattr(trace, "_random_streams", None)
    if streams is None:
        streams = trace._random_streams = _Streams()  # type: ignore[attr-defined]
    return streams


def tails(trace) -> list[Node]:
    """The last node of each stream the trace drew from (compiler: so every function makes every draw)."""
    streams = getattr(trace, "_random_streams", None)
    return list(streams.tails.values()) if streams is not None else []


# ---------------------------------------------------------------- arguments -----------------------

def _values():
    from . import values
    return values


def _literal(value: Any, what: str) -> str:
    """Code of a constant argument (a number, bool, None, str, dtype, or a tuple/list of them)."""
    v = _values()
    if isinstance(value, v.Tracer):
        if not value.is_const():
            raise UnsupportedError(f"{_here()}: {what} is a traced value; random draws take constants here, "
                                   f"{ADVICE}")
        value = value.node.param("value").array
    if isinstance(value, v.Size):
        value = int(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if value is None or isinstance(value, (bool, int, float, str, np.bool_, np.integer, np.floating)):
        return literal(value)  # a checked literal: the one path of user values into generated code
    if isinstance(value, type) or isinstance(value, np.dtype):
        return f"np.{np.dtype(value).name}"
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_literal(x, what) for x in (value.tolist() if isinstance(value, np.ndarray) else value)]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    raise UnsupportedError(f"{_here()}: {what} of type {type(value).__name__} is not supported in a random draw "
                           f"inside a traced function; {ADVICE}")


def _dim(d: Any, what: str) -> sp.Expr:
    v = _values()
    if isinstance(d, v.Size):
        return d.expr
    if isinstance(d, v.Tracer):
        if d.is_const() and d.node.dtype != "bool" and d.node.ndim == 0:
            return sp.Integer(int(d.node.param("value").array))
        raise UnsupportedError(f"{_here()}: the size of a random draw ({what}) is a traced value; use sizes from "
                               ".shape, len() or ints")
    if isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)):
        return sp.Integer(int(d))
    raise UnsupportedError(f"{_here()}: the size of a random draw must be an int or a tuple of ints, not "
                           f"{type(d).__name__}")


def _size(size: Any) -> tuple[tuple, tuple | None]:
    """(shape, the size argument's (kind, value) for printing) of ``size=``; None: not given."""
    v = _values()
    if size is None:
        return (), None
    if isinstance(size, v.Tracer) and size.is_const() and size.node.ndim == 1:
        size = [int(s) for s in size.node.param("value").array]
    if isinstance(size, (list, tuple)):
        shape = tuple(_dim(d, "size") for d in size)
        return shape, ("shape", shape)
    d = _dim(size, "size")
    return (d,), ("size", d)


class _Call:
    """The arguments of one draw, as they will be printed, and the constant arrays among them."""

    def __init__(self) -> None:
        self.args: list[tuple] = []
        self.arrays: list[Node] = []

    def constant(self, keyword: str | None, value: Any, what: str) -> tuple:
        """A distribution parameter: a number (printed), or a constant array (an input node); its shape."""
        v = _values()
        if isinstance(value, v.Tracer) and not value.is_const():
            raise UnsupportedError(f"{_here()}: {what} is a traced value: the draw would have no gradient with "
                                   f"respect to it; {ADVICE}")
        array = value.node.param("value").array if isinstance(value, v.Tracer) else value
        if isinstance(array, (list, tuple)):
            array = np.asarray(array)
        if isinstance(array, np.ndarray) and array.ndim > 0:
            self.arrays.append(v.const_tracer(np.array(array)).node)
            self.args.append((keyword, "in", len(self.arrays) - 1))
            return tuple(sp.Integer(d) for d in array.shape)
        if isinstance(value, v.Size):
            self.args.append((keyword, "size", value.expr))
            return ()
        self.args.append((keyword, "code", _literal(value, what)))
        return ()


# ---------------------------------------------------------------- making draws --------------------

def _make(stream: Any, receiver: Node | None, method: str, shape: tuple, dtype: str, call: _Call) -> Any:
    streams = _streams()
    prev = streams.tails.get(stream)
    if prev is receiver:
        prev = None
    node = R.draw(method, streams.serial(), shape, dtype, receiver, prev, call.arrays, tuple(call.args),
                  user_origin())
    streams.tails[stream] = node
    v = _values()
    return v.Tracer(current_trace().note(node))


def _is_traced(x: Any) -> bool:
    v = _values()
    return isinstance(x, v.Tracer) and not x.is_const() or (
        isinstance(x, (list, tuple)) and any(_is_traced(i) for i in x))


def _draw(flavour: str, stream: Any, receiver: Node | None, method: str, args: tuple, kwargs: dict) -> Any:
    """``method(*args, **kwargs)`` of a generator (``flavour`` ``generator``) or of NumPy's legacy
    random state (``legacy``: ``np.random.*`` and ``RandomState``)."""
    label = f"np.random.{method}" if receiver is None else f".{method}"
    if method in ("rand", "randn") and flavour == "legacy":
        if kwargs:
            raise TraceError(f"{_here()}: np.random.{method} takes sizes only")
        call = _Call()
        shape = tuple(_dim(d, f"{method}(...)") for d in args)
        call.args = [(None, "size", d) for d in shape]
        return _make(stream, receiver, method, shape, "float64", call)
    if method not in FLOAT | INT | SPECIAL:
        raise UnsupportedError(f"{_here()}: {label} is not supported inside a traced function (symdiff supports "
                               f"the draws of scalar distributions, choice and permutation); {ADVICE}")
    try:
        bound = _signature(flavour, method).bind(*args, **kwargs)
    except TypeError as exc:
        raise TraceError(f"{_here()}: {label}: {exc}") from None
    given = dict(bound.arguments)
    if given.get("out") is not None:
        raise UnsupportedError(f"{_here()}: {label}(out=...) writes into an array; use the returned array")
    if method in STANDARD and any(_is_traced(given.get(p)) for p, _ in STANDARD[method][1:]):
        return _reparameterised(flavour, stream, receiver, method, given)
    if method == "choice":
        return _choice(flavour, stream, receiver, given)
    if method == "permutation":
        return _permutation(flavour, stream, receiver, given)
    call = _Call()
    shapes = []
    dtype = "int64" if method in INT else "float64"
    for name, value in given.items():
        if name == "size":
            shape, printed = _size(value)
            if printed is not None:
                call.args.append(("size", *printed))
            continue
        if name == "dtype":
            dtype = np.dtype(value).name
            call.args.append(("dtype", "code", _literal(value, "dtype")))
            continue
        shapes.append(call.constant(name, value, f"the {name} of {label}"))
    size_shape, printed = _size(given.get("size"))
    shape = size_shape if printed is not None else broadcast_shapes(*shapes)
    return _make(stream, receiver, method, shape, dtype, call)


def _reparameterised(flavour, stream, receiver, method, given) -> Any:
    """``normal(loc, scale)`` as ``loc + scale * standard_normal()``, ``uniform(low, high)`` as
    ``low + (high - low) * random()``: NumPy computes them so, from the same standard draw."""
    v = _values()
    standard, (p0, d0), (p1, d1) = STANDARD[method]
    a, b = given.get(p0, d0), given.get(p1, d1)
    shape, printed = _size(given.get("size"))
    if printed is None:
        shape = broadcast_shapes(*(tuple(x.node.shape) if isinstance(x, v.Tracer) else np.shape(x) for x in (a, b)))
        shape = tuple(sp.sympify(d) for d in shape)
        printed = ("shape", shape) if shape else None
    if flavour == "legacy" and standard == "random":
        standard = "random_sample"
    call = _Call()
    if printed is not None:
        call.args.append((None, *printed))
    eps = _make(stream, receiver, standard, shape, "float64", call)
    return a + b * eps if method == "normal" else a + (b - a) * eps


def _choice(flavour, stream, receiver, given) -> Any:
    v = _values()
    a = given["a"]
    label = "choice"
    if _is_traced(a):
        raise UnsupportedError(f"{_here()}: {label} of a traced array: choose indices instead, "
                               "a[rng.choice(len(a), size)], which draws the same numbers and has a gradient")
    call = _Call()
    if isinstance(a, (int, np.integer, v.Size)) or (isinstance(a, v.Tracer) and a.node.ndim == 0):
        call.constant(None, a, "the a of choice")
        dtype = "int64"
    else:
        array = a.node.param("value").array if isinstance(a, v.Tracer) else np.asarray(a)
        if array.ndim != 1:
            raise UnsupportedError(f"{_here()}: choice of a {array.ndim}-d array inside a traced function; choose "
                                   "indices (rng.choice(len(a), size)) and index a with them")
        call.constant(None, array, "the a of choice")
        dtype = "int64" if array.dtype.kind in "iub" else str(array.dtype)
    shape, printed = _size(given.get("size"))
    if printed is not None:
        call.args.append(("size", *printed))
    for name in ("replace", "p", "axis", "shuffle"):
        if name in given:
            if name == "p":
                call.constant("p", given["p"], "the p of choice")
            else:
                call.args.append((name, "code", _literal(given[name], f"the {name} of choice")))
    return _make(stream, receiver, "choice", shape, dtype, call)


def _permutation(flavour, stream, receiver, given) -> Any:
    v = _values()
    x = given["x"]
    if _is_traced(x):
        raise UnsupportedError(f"{_here()}: permutation of a traced array: permute indices instead, "
                               "x[rng.permutation(len(x))], which draws the same numbers and has a gradient")
    if given.get("axis", 0) != 0:
        raise UnsupportedError(f"{_here()}: permutation(axis=...) is not supported inside a traced function")
    call = _Call()
    if isinstance(x, (int, np.integer, v.Size)):
        n = _dim(x, "permutation")
        call.args.append((None, "size", n))
        return _make(stream, receiver, "permutation", (n,), "int64", call)
    array = x.node.param("value").array if isinstance(x, v.Tracer) else np.asarray(x)
    shape = call.constant(None, array, "the x of permutation")
    dtype = "int64" if array.dtype.kind in "iub" else str(array.dtype)
    return _make(stream, receiver, "permutation", shape, dtype, call)


# ---------------------------------------------------------------- for the compiler ----------------

def check_condition(condition: Node, origin) -> None:
    """Refuse a branch on a value computed from a random draw (called by the trace at each branch; free
    when the function has not drawn)."""
    if getattr(current_trace(), "_random_streams", None) is None:
        return
    if any(n.op in R.DRAW_OPS for n in toposort([condition])):
        raise UnsupportedError(
            f"{where(origin)}: this branch depends on a random draw; symdiff's generated code evaluates branch "
            "conditions in functions of their own, which would draw again. Write the choice with "
            "np.where(condition, a, b), or draw the noise outside the function and pass it as an argument")


def name_draws(nodes: list[Node]) -> list[Node]:
    """Draws and generators the user did not name get names, so each is a statement of its own."""
    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op in R.DRAW_OPS and node.name is None and not (node.op == "random_source"
                                                                and node.param("kind") in ("seed", "argument")):
            from dataclasses import replace
            name = "rng" if node.op == "random_source" else "noise" if node.dtype.startswith("float") else "draw"
            return replace(node, inputs=inputs, name=name)
        return with_inputs(node, inputs)
    return rebuild(nodes, fn) if any(n.op in R.DRAW_OPS for n in toposort(nodes)) else nodes


def keep_draws(outputs: list[Node], last: list[Node]) -> list[Node]:
    """``outputs`` of one generated function, made to draw every draw of the trace (``last``: the last
    node of each stream): a draw none of them uses still consumes its generator's state, so the plain
    function and the generated one leave the generator alike, and later draws get the same numbers.
    Also checks that no draw appears twice (an internal error, never silently two draws)."""
    if not last:
        return outputs
    present: dict[int, Node] = {}
    for node in toposort(outputs):
        if node.op in R.DRAW_OPS:
            other = present.setdefault(node.param("draw"), node)
            if other is not node:
                raise UnsupportedError(f"internal: the random draw at {where(node.origin)} appears twice in the "
                                       "generated code; please report this")
    missing = [t for t in last if t.param("draw") not in present]
    if not missing:
        return outputs

    def fn(node: Node, inputs: tuple[Node, ...]) -> Node:
        if node.op in R.DRAW_OPS and node.param("draw") in present:
            return present[node.param("draw")]
        return with_inputs(node, inputs)
    return [R.after(outputs[0], rebuild(missing, fn)), *outputs[1:]]


CONDITION_CHECKS.append(check_condition)
