"""The pipeline, stage by stage: trace -> forward passes -> reverse mode -> passes -> code.

:func:`compile_function` is pure: the same function, argument specs and ``wrt`` give the same
module text, byte for byte.
"""
from __future__ import annotations

import hashlib
import os
import traceback
import inspect
from typing import Any, Callable, Sequence

import sympy as sp

from . import __version__
from .backward import gradients
from .specs import ArgSpec, Compiled
from .codegen import Function, ModuleText, NodePrinter, render_module
from .errors import NonScalarOutputError, SymdiffError, TraceError, UnsupportedError
from .ir import Graph, Node, format_graph, toposort
from .naming import grad_name, identifier, size_name
from .numpy_api import as_node
from .primitives import full_like, input_node
from .shapes import ONE, format_shape
from .simplify import FORWARD_PASSES, PASSES, REPORT, run
from .tracer import Trace, trace
from .values import Tracer


_PKG = os.path.dirname(os.path.abspath(__file__))


def _user_failure(name: str, exc: Exception) -> SymdiffError:
    frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__))
                  if not f.filename.startswith(_PKG) and "numpy" not in f.filename), None)
    where = f"{frame.filename}:{frame.lineno} ({frame.line})" if frame else "the function"
    if isinstance(exc, AttributeError) and "Tracer" in str(exc):
        return UnsupportedError(f"{where}: {exc}: this method or attribute of arrays is not supported on traced "
                                "values; use a NumPy function symdiff supports (see the README table)")
    return TraceError(f"{name} raised {type(exc).__name__}: {exc}, at {where}, while being traced")


def source_hash(fn: Callable) -> str:
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = repr(fn.__code__.co_code)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _input_nodes(specs: Sequence[ArgSpec], tr) -> list[Any]:
    args: list[Any] = []
    for index, spec in enumerate(specs):
        if not spec.is_array:
            args.append(spec.static)
            continue
        dims = []
        for axis, d in enumerate(spec.shape):
            if isinstance(d, str):
                dims.append(tr.new_size(d, tr.values.get(sp.Symbol(d, integer=True, positive=True))))
            elif int(d) == 1:
                dims.append(ONE)
            else:
                dims.append(tr.new_size(size_name(spec.name, axis, len(spec.shape)), int(d)))
        args.append(Tracer(input_node(spec.name, tuple(dims), index, spec.dtype)))
    return args


def compile_function(fn: Callable, specs: Sequence[ArgSpec], wrt: Sequence[int], *, single: bool | None = None,
                     func_name: str | None = None, file: str | None = None) -> Compiled:
    """Trace ``fn`` on ``specs``, differentiate with respect to the parameters ``wrt`` and print a module."""
    name = identifier(func_name or fn.__name__)
    for i in wrt:
        if not specs[i].is_array:
            raise TraceError(f"cannot differentiate with respect to {specs[i].name!r}: it is a "
                             f"{type(specs[i].static).__name__} (static); pass a float or a float array")
    report: list[str] = []
    token = REPORT.set(report)
    try:
        return _compile(fn, specs, wrt, single, name, file, report)
    finally:
        REPORT.reset(token)


def _compile(fn, specs, wrt, single, name, file, report) -> Compiled:
    tr = Trace()
    args = _input_nodes(specs, tr)
    try:
        result = trace(fn, args, tr)
    except SymdiffError:
        raise
    except Exception as exc:  # the user's code failed on traced values: say where, in one paragraph
        raise _user_failure(name, exc) from exc
    if isinstance(result, tuple):
        raise TraceError(f"{name} returned a tuple; return a single scalar (has_aux comes later)")
    try:
        out = as_node(result)
    except UnsupportedError:
        raise TraceError(f"{name} returned a {type(result).__name__}; return a scalar array") from None
    if out.shape != ():
        shape = tuple(tr.value(d) if tr.value(d) is not None else d for d in out.shape)
        raise NonScalarOutputError(
            f"{name} returns an array of shape {format_shape(shape)}, not a scalar: grad needs a scalar output. "
            "Reduce it (np.sum, np.mean), or differentiate each output with a Jacobian (symdiff.jacobian, "
            "planned; not available yet)")
    inputs = [a.node for a in args if isinstance(a, Tracer)]
    out, *inputs = tr.finish([out, *inputs])
    (out,) = run([out], FORWARD_PASSES)
    forward = Graph(tuple(inputs), (out,), (name,))
    wrt_nodes = [next(n for n in inputs if n.param("index") == i) for i in wrt]
    grads = gradients(out, wrt_nodes)
    value, *grads = run([out, *grads], PASSES)
    grads = [_fresh_array(g, w) for g, w in zip(grads, wrt_nodes)]
    grads = [full_like(w, g) if any(g is h for h in grads[:k]) else g for k, (g, w) in enumerate(zip(grads, wrt_nodes))]
    labels = [grad_name(specs[i].name) for i in wrt]
    joint = Graph(tuple(inputs), (value, *grads), (name, *labels))

    single = len(wrt) == 1 if single is None else single
    guard = tuple((n.param("index"), axis, int(d)) for n in inputs for axis, d in enumerate(n.shape)
                  if d.is_Integer and d != ONE)
    source = _module(name, fn, specs, wrt, value, grads, labels, inputs, file, single, guard)
    graph_text = format_graph(forward, f"{name}: traced graph") + "\n\n" + \
        format_graph(joint, f"{name}: value and gradient with respect to {', '.join(specs[i].name for i in wrt)}")
    graph_text += "\n\nsimplification:\n" + "\n".join(f"  {line}" for line in report or ["(nothing to do)"])
    return Compiled(source, graph_text, name, guard)


def _fresh_array(g: Node, w: Node) -> Node:
    """A gradient the caller owns: never a read-only broadcast, a bare number or one of the inputs."""
    if g.op == "broadcast_to":
        return full_like(w, g.inputs[0])
    if g.shape != w.shape or (g.op == "elementwise" and not g.inputs) or _shares_memory(g):
        return full_like(w, g)
    return g


#: Primitives whose NumPy result may be a view of their first input.
_VIEWS = {"transpose", "reshape", "getitem", "slice_axis", "flip", "diagonal", "stop_gradient", "broadcast_to"}


def _shares_memory(g: Node) -> bool:
    """Whether ``g`` may be (a view of) an argument or a module constant rather than a new array."""
    while g.op in _VIEWS:
        g = g.inputs[0]
    return g.op in ("input", "const")


def _module(name, fn, specs, wrt, value, grads, labels, inputs, file, single, guard) -> str:
    params = [s.name for s in specs]
    sizes: dict[sp.Symbol, str] = {}
    for own in (True, False):  # a size is read from the argument it is named after, if it can be
        for node in inputs:
            arg = node.param("name")
            for axis, d in enumerate(node.shape):
                if isinstance(d, sp.Symbol) and d not in sizes and \
                        (not own or d.name == size_name(arg, axis, node.ndim)):
                    sizes[d] = f"{arg}.shape[{axis}]"
    casts = [None] + [specs[i].dtype if specs[i].dtype != "float64" else None for i in wrt]
    many = not single
    nodes = toposort([value, *grads])
    module = ModuleText(reserved={*params, *labels, name, *(n.name for n in nodes if n.name)})
    module.name_constants(nodes)
    grad_tuple = _tuple(["{%d}" % (k + 1) for k in range(len(grads))]) if many else "{1}"
    vg = NodePrinter(module, params, sizes).body([value, *grads], [name, *labels], "return {0}, " + grad_tuple, casts)
    g_ret = "return " + (_tuple(["{%d}" % k for k in range(len(grads))]) if many else "{0}")
    g = NodePrinter(module, params, sizes).body(list(grads), labels, g_ret, casts[1:])
    checks = _guard_lines(name, specs, guard)
    vg, g = checks + vg, checks + g
    wrt_names = [specs[i].name for i in wrt]
    what, call = ", ".join(wrt_names), f"{name}({', '.join(params)})"
    functions = [
        Function(f"{name}_value_and_grad", params, f"Return {call} and its gradient with respect to {what}.", vg),
        Function(f"{name}_grad", params, f"Gradient of {call} with respect to {what}.", g),
    ]
    shapes = ", ".join(f"{s.name}: {_shape_text(s)}" for s in specs)
    header = {
        "summary": f"Value and gradient of `{name}` with respect to {what}.",
        "version": __version__, "function": name, "file": file or _file_of(fn), "source_hash": source_hash(fn),
        "wrt": wrt_names, "shapes": shapes,
        "polymorphic": any(isinstance(d, sp.Symbol) for n in inputs for d in n.shape),
    }
    return render_module(header, functions, module)


def _guard_lines(name: str, specs: Sequence[ArgSpec], guard) -> list[str]:
    """Sizes the code was specialised to (the function used them as numbers) are checked on every call."""
    lines = []
    for index, axis, size in guard:
        arg = specs[index].name
        lines += [f"if {arg}.shape[{axis}] != {size}:",
                  f"    raise ValueError(\"{name}: this code was generated for {arg}.shape[{axis}] == {size} "
                  f"(the function uses that size as a number); generate it again for other sizes\")"]
    return lines


def _tuple(items: list[str]) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _shape_text(spec: ArgSpec) -> str:
    if not spec.is_array:
        return f"{spec.static!r} (a constant)"
    if not spec.shape:
        return f"{spec.dtype} scalar"
    return f"{spec.dtype} array of shape ({', '.join(str(d) for d in spec.shape)}{',' if len(spec.shape) == 1 else ''})"


def _file_of(fn: Callable) -> str:
    import os
    try:
        return os.path.basename(inspect.getsourcefile(fn) or "<unknown>")
    except TypeError:
        return "<unknown>"
