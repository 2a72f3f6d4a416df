"""The pipeline, stage by stage, each a function from one value to the next:

1. trace (:mod:`symdiff.trace`): :func:`_trace` runs the function on traced values, once per path
   through its branches (:func:`~symdiff.trace.branches.explore` / ``guided``);
2. differentiate (:mod:`symdiff.ad`): :func:`_differentiate` runs the forward passes, then builds the
   derivative graphs the kind of module needs (:func:`~symdiff.ad.derivatives.plans`);
3. rewrite (:mod:`symdiff.rewrite`): all outputs of a path through the pass list together;
4. print (:mod:`symdiff.backends.numpy`, or the backend ``backend=`` names in
   :data:`symdiff.backends.BACKENDS`): each function's statements, the dispatch on branches;
5. render: the module text from the template, compiled before anyone writes or imports it.

:func:`compile_function` is pure: the same function, argument specs and ``wrt`` give the same
module text, byte for byte.
"""
from __future__ import annotations

import gc
import hashlib
import importlib
import inspect
import os
import sys
import traceback
from typing import Any, Callable, Sequence

import sympy as sp

from .version import __version__
from . import numpy as numpy_registry  # noqa: F401  (loads the NumPy registry: every entry registers itself)
from .trace import random_draws
from .ad.checkpoint import CHECKPOINT, checkpoint_setting
from .ad.loops import ROLLED_KINDS
from .ad import ode as _ode_adjoint  # noqa: F401  (registers the ODE solve's vjp rule)
from .ad.derivatives import KINDS, SCALAR_OUTPUT, direction_nodes, direction_specs, owned, plans
from .errors import NonScalarOutputError, SymdiffError, TraceError, UnsupportedError
from .ir.graph import ConstValue, Graph, forget_sorted, format_graph, toposort
from .backends.numpy.constants import THRESHOLD
from .runtime.data_names import read_arrays
from .naming import identifier, size_name
from .trace.dispatch import as_node
from .ir.primitives import copy, input_node, reshape
from .ir.shapes import ONE, format_shape
from .rewrite.simplify import FORWARD_PASSES, PASSES, REPORT, run
from .backends.numpy.entry_points import internal
from .runtime.progress import stage
from .runtime.signature import function_of, name_of
from .runtime.pytrees import TreeWrt, path_text
from .runtime.specs import ArgSpec, Compiled, RandomArgument
from .trace.random_standins import ArgumentGenerator
from .trace.run import trace
from .trace.tracer import Trace, is_user_file
from .trace.auxiliary import attach, flatten
from .backends.numpy.branches import evaluate
from . import backends
from .backends import dot
from .trace.branches import Path, decision_tree, explore, guided, is_failure
from .trace.values import Tracer



def _deepest(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    return f"in {frames[-1].name} of {os.path.basename(frames[-1].filename)}" if frames else "at an unknown place"


def _user_failure(name: str, exc: Exception, tree: TreeWrt | None = None) -> SymdiffError:
    frame = next((f for f in reversed(traceback.extract_tb(exc.__traceback__)) if is_user_file(f.filename)), None)
    where = f"{frame.filename}:{frame.lineno} ({frame.line})" if frame else "the function"
    if isinstance(exc, AttributeError) and "Tracer" in str(exc):
        return UnsupportedError(f"{where}: {exc}: this method or attribute of arrays is not supported on traced "
                                "values; use a NumPy function symdiff supports (see the README table)")
    if isinstance(exc, RecursionError) and frame is not None:
        return TraceError(f"{name} raised RecursionError ({exc}) while being traced: {frame.name} recursed too "
                          f"deep (without end?) at {where}; give the recursion a base case that does not depend on "
                          "traced values, or write it as a loop")
    if isinstance(exc, (KeyError, IndexError)) and tree is not None and tree.layout.has_trees:
        layout = tree.layout
        key = exc.args[0] if isinstance(exc, KeyError) and exc.args else "KEY"
        part = next((f"{p}.{key}" for p, t in zip(layout.params, layout.trees) if t.kind == "dict"), f"ARG.{key}")
        return TraceError(f"{name} raised {type(exc).__name__}: {exc}, at {where}, while being traced: a container "
                          f"argument lacks a part the function reads? It was given {_leaves_text(tree)}; declare the "
                          f"missing leaves' shapes too (--shape {part}=SIZES; export: shapes={{{part!r}: ...}})")
    return TraceError(f"{name} raised {type(exc).__name__}: {exc}, at {where}, while being traced")


def _leaves_text(tree: TreeWrt) -> str:
    layout = tree.layout
    shown = [path_text(layout.params[i], p) for i, p in map(layout.leaf_path, range(len(layout.names)))
             if not layout.trees[i].is_leaf]
    return ", ".join(shown[:30]) or "no leaves"


def source_hash(fn: Callable) -> str:
    fn = function_of(fn) or fn  # a partial, a method, a callable object: the function holding the code
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):  # no source file (an interactive session): the bytecode
        code = getattr(inspect.unwrap(fn), "__code__", None)
        text = repr(code.co_code) if code is not None else type(fn).__qualname__
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _input_nodes(specs: Sequence[ArgSpec], tr) -> list[Any]:
    args: list[Any] = []
    auto: dict[str, tuple[int, int]] = {}  # the size names made from argument names -> (argument, axis)
    for index, spec in enumerate(specs):
        if isinstance(spec.static, RandomArgument):  # drawn from at run time (see random_standins)
            args.append(ArgumentGenerator(spec.static.flavour, spec.name))
            continue
        if not spec.is_array:
            args.append(spec.static)
            continue
        dims = []
        assert spec.shape is not None  # (an array's spec has its shape)
        for axis, d in enumerate(spec.shape):
            if isinstance(d, str):
                dims.append(tr.new_size(d, tr.values.get(sp.Symbol(d, integer=True, positive=True))))
            elif int(d) == 1:
                dims.append(ONE)
            else:
                name = size_name(spec.name, axis, len(spec.shape))
                if auto.setdefault(name, (index, axis)) != (index, axis):  # w (2-d) axis 1 and w1 (1-d): n_w1
                    name = f"n_{spec.name}_{axis}"  # both, so they are not made one size
                dims.append(tr.new_size(name, int(d)))
        tr.argument_sizes[index] = tuple(dims)
        args.append(Tracer(input_node(spec.name, tuple(dims), index, spec.dtype), argument=True))
    return args


#: The parts of SciPy symdiff has registry entries and stand-ins for (symdiff/scipy/<part>.py).
SCIPY_PARTS = ("special", "signal", "stats", "linalg", "integrate")


def _load_scipy_parts(fn: Callable) -> None:
    """The registry entries and stand-ins of each part of SciPy the program has imported (they import
    SciPy, so only then); ``scipy.stats`` also when ``fn`` reads ``.stats`` of a plain ``import scipy``,
    which loads it lazily."""
    names = getattr(getattr(fn, "__code__", None), "co_names", ())
    for part in SCIPY_PARTS:
        if f"scipy.{part}" in sys.modules or (part == "stats" and "scipy" in sys.modules and part in names):
            importlib.import_module(f"{__package__}.scipy.{part}")


def compile_function(fn: Callable, specs: Sequence[ArgSpec], wrt: Sequence[int], *, single: bool | None = None,
                     kind: str = "grad", func_name: str | None = None, file: str | None = None,
                     has_aux: bool = False, values: Sequence[Any] | None = None,
                     known: Sequence[tuple[bool, ...]] = (), tree: TreeWrt | None = None,
                     backend: tuple[str, tuple] | str = ("numpy", ()), command: str | None = None,
                     annotate: bool = False, counters: Sequence[int] = (),
                     checkpoint: int | str | None = None) -> Compiled:
    """Trace ``fn`` on ``specs``, differentiate with respect to the parameters ``wrt`` and print a module
    of the ``kind`` of derivative (see :mod:`symdiff.ad.derivatives`). Branches on traced values: with
    ``values`` (the decorator's actual arguments), the paths ``known`` and the one the values take;
    without, every path (see :mod:`symdiff.trace.branches`). ``tree``: the arguments are containers;
    ``specs``, ``wrt`` and ``values`` are then those of their leaves (see :mod:`symdiff.arguments`).
    ``backend``: a name and options checked by :func:`symdiff.backends.resolve`. ``command``: the command
    line that regenerates the module, written in its header (see :mod:`symdiff.check`); ``annotate``: type
    hints on the public functions (:mod:`symdiff.backends.numpy.annotations`). ``counters``: the int64
    scalar parameters that are Python ints traced as run-time integers; if one is used other than as an index
    (see :func:`counter_uses`), :class:`NeedsValue` says where, and the caller compiles it as a constant.
    ``checkpoint``: a loop's gradient stores its state every that many steps (:mod:`symdiff.ad.checkpoint`)."""
    if kind not in KINDS:
        raise TraceError(f"kind={kind!r}: choose one of {', '.join(KINDS)}")
    if checkpoint is not None and kind not in ("grad", "vjp", "elementwise_grad"):
        raise TraceError(f"checkpoint= applies to the reverse-mode kinds (grad, value_and_grad, vjp), not {kind}")
    backend = backends.resolve(backend) if isinstance(backend, str) else backend
    _load_scipy_parts(fn)
    name = identifier(func_name or name_of(fn))
    for i in wrt:
        if isinstance(specs[i].static, RandomArgument):
            raise TraceError(f"cannot differentiate with respect to {specs[i].name!r}: it is a "
                             f"{specs[i].static.type_name}, whose draws are constants for differentiation; leave it "
                             "out of wrt (name the float arrays the function computes with)")
        if not specs[i].is_array:
            raise TraceError(f"cannot differentiate with respect to {specs[i].name!r}: it is a "
                             f"{type(specs[i].static).__name__} (static); pass a float or a float array")
        if specs[i].dtype == "int64":
            raise TraceError(f"cannot differentiate with respect to {specs[i].name!r}: it is an integer array "
                             "(data such as labels or indices, never differentiated); pass it as a float array "
                             "if it is a real quantity, or leave it out of wrt")
    specs, public = internal(specs)  # parameters named np, sum, ...: internal names (see signature.py)
    report: list[str] = []
    token, segments = REPORT.set(report), CHECKPOINT.set(checkpoint_setting(checkpoint, kind))
    # Python's cycle collector, run while a compilation makes its many SymPy objects (all alive until it
    # ends), walks every one of them at each full collection: work that grows with the program for nothing
    # (15-20% of a 3000-line program's compile time). Reference counting still frees what is dropped.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _compile(fn, specs, wrt, len(wrt) == 1 if single is None else single, name, file, report, kind,
                        has_aux, values, known, public, tree, backends.entry(*backend), (command, annotate),
                        tuple(counters), backends.BACKENDS[backend[0]].loops)
    except RecursionError as exc:  # (the user's own recursion is reported by _user_failure, at its line)
        raise UnsupportedError(f"{name} is too deep for symdiff to compile ({exc}, {_deepest(exc)}): its graph nests "
                               "deeper than Python's recursion limit; split it into smaller functions, or raise "
                               "sys.setrecursionlimit") from None
    finally:
        REPORT.reset(token)
        CHECKPOINT.reset(segments)
        forget_sorted()  # (this compilation's graphs are not kept alive by toposort's memory)
        if collecting:
            gc.enable()


def loop_notes(tr, kind: str) -> None:
    """What became of the function's loops, in ``.graph``'s report (once each)."""
    report = REPORT.get()
    for line in getattr(tr, "loop_notes", ()):
        if report is not None and line not in report:
            report.append(line)


def _trace(fn, specs, name, kind, outcomes: tuple[bool, ...], has_aux: bool = False, values=None,
           tree: TreeWrt | None = None, loops: bool = True) -> Path:
    """Stage 1: one path of the program (the branches on traced values decided by ``outcomes``, then
    by ``values`` if given, else True): its output, input nodes and branch conditions, sizes unified."""
    tr = Trace(outcomes)
    tr.roll_loops = kind in ROLLED_KINDS  # (every kind: reverse and forward mode go through rolled loops)
    tr.unrolled_because = None if tr.roll_loops else f"{kind} does not go through rolled loops"
    if tr.roll_loops and not loops:  # (the backend prints no rolled loop)
        tr.roll_loops, tr.unrolled_because = False, "this backend does not print rolled loops"
    path = Path(outcomes)
    try:
        with stage("trace"):
            path.out, path.inputs, path.conditions, path.aux = _trace_path(fn, specs, name, kind, tr, has_aux,
                                                                           values, tree)
        loop_notes(tr, kind)
    except SymdiffError as exc:
        if not tr.decisions or not is_failure(exc):
            raise
        path.error = exc
        try:
            path.conditions = tr.finish([c for c, _, _ in tr.decisions])
        except SymdiffError:
            path.conditions = [c for c, _, _ in tr.decisions]
    path.draws = getattr(tr, "random_tails", [])
    path.size_origins = {(i, axis): tr.unified_at[d] for i, dims in tr.argument_sizes.items()
                         for axis, d in enumerate(dims) if d in tr.unified_at}
    path.outcomes = tuple(o for _, o, _ in tr.decisions)
    path.origins = [origin for _, _, origin in tr.decisions]
    return path


def _trace_path(fn, specs, name, kind, tr, has_aux, values, tree=None):
    args = _input_nodes(specs, tr)
    if values is not None:
        known: dict = {}  # values of the nodes earlier conditions computed (each condition computes only its own)
        tr.evaluate = lambda cond: evaluate(cond, tr, [a.node for a in args if isinstance(a, Tracer)], specs, values,
                                            known)
    try:
        result = trace(fn, tree.layout.rebuild(args) if tree else args, tr)  # containers hold the leaves' tracers
    except SymdiffError:
        raise
    except Exception as exc:  # the user's code failed on traced values: say where, in one paragraph
        raise _user_failure(name, exc, tree if values is None else None) from exc  # (declared shapes: a hint)
    aux_text, aux_nodes = None, []
    if has_aux:
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TraceError(f"{name} was given has_aux=True: it must return a pair (value, aux)")
        result, aux = result
        aux_text, aux_nodes = flatten(aux, as_node)
    elif isinstance(result, tuple):
        raise TraceError(f"{name} returned a tuple; return a single array, or pass has_aux=True to return "
                         "(value, aux) and get aux back with the gradient")
    try:
        out = as_node(result)
    except UnsupportedError:
        raise TraceError(f"{name} returned a {type(result).__name__}; return an array") from None
    if out.shape and kind in SCALAR_OUTPUT and all(d == ONE for d in out.shape):
        out = reshape(out, ())  # one element (a keepdims=True reduction): its value, as autograd accepts it
    if out.shape != () and kind in SCALAR_OUTPUT:
        shape = tuple(tr.value(d) if tr.value(d) is not None else d for d in out.shape)
        raise NonScalarOutputError(
            f"{name} returns an array of shape {format_shape(shape)}, not a scalar: {kind} needs a scalar output. "
            "Reduce it (np.sum, np.mean), or use symdiff.jacobian for the derivative of every output")
    inputs = [a.node for a in args if isinstance(a, Tracer)]
    conditions = [c for c, _, _ in tr.decisions]
    last = random_draws.tails(tr)  # every function draws every draw: see random_draws.keep_draws
    out, *rest = random_draws.name_draws(tr.finish([out, *inputs, *conditions, *aux_nodes, *last]))
    n, m, k = len(inputs), len(conditions), len(aux_nodes)
    tr.random_tails = rest[n + m + k:]
    return out, rest[:n], rest[n:n + m], (aux_text, rest[n + m:n + m + k]) if has_aux else None


def _compile(fn, specs, wrt, single, name, file, report, kind, has_aux, values, known, public, tree,
             module_source, options, counters=(), loops: bool = True) -> Compiled:
    run = lambda outcomes: _trace(fn, specs, name, kind, outcomes, has_aux, tree=tree, loops=loops)  # noqa: E731
    if values is None:
        paths = explore(run)
    else:
        paths = guided(run, lambda: _trace(fn, specs, name, kind, (), has_aux, values, tree, loops), known)
    if counters:
        why = counter_uses(paths, counters)
        if why is not None:
            raise NeedsValue(why)
        shown = ", ".join(public.get(specs[k].name, specs[k].name) for k in counters)
        report.append(f"{shown}: int argument(s) read at run time (they only index arrays or seed generators): "
                      "one module serves every value")
    dspecs = direction_specs(kind, specs, wrt)
    built = [_differentiate(p, specs, wrt, single, name, kind, dspecs, public) if p.error is None else None
             for p in paths]
    guard = tuple(sorted({(n.param("index"), axis, int(d)) for p in paths for n in p.inputs
                          for axis, d in enumerate(n.shape) if d.is_Integer and d != ONE}))
    decisions, conditions = decision_tree(paths)
    header = {"version": __version__, "file": file or _file_of(fn), "source_hash": source_hash(fn),
              "command": options[0], "annotate": options[1], "array_names": _array_names(fn)}
    with stage("print"):
        source = module_source(name, fn, [*specs, *dspecs], wrt, paths, built, (decisions, conditions), guard, kind,
                               public, header, tree, has_aux)
    with stage("graph text"):
        graph_text, picture = _graph_texts(name, header, paths, built, [specs[i].name for i in wrt], kind, report)
    return Compiled(source, graph_text, name, guard, tuple(p.outcomes for p in paths), picture,
                    tuple(header.get("data", ())))


def _graph_texts(name, header, paths, built, wrt_names, kind, report) -> tuple[str, str]:
    """``.graph``'s text and the picture's DOT text of every path."""
    texts, pictures = [], []
    for k, (path, b) in enumerate(zip(paths, built)):
        title = "" if len(paths) == 1 else f"path {k} ({', '.join(_outcome_text(path))}): "
        if b is None:
            texts.append(f"{title}not traced: {path.error}")
            pictures.append(dot.failed_path(f"p{k}", f"{title}not traced: {path.error}"))
            continue
        forward, joint, main = b[2], b[3], b[4]
        gradient_title = f"{title}{name}: {TITLES[main.suffix]} with respect to {', '.join(wrt_names)}"
        texts.append(format_graph(forward, f"{title}{name}: traced graph") + "\n\n"
                     + format_graph(joint, gradient_title))
        pictures.append(dot.path_dot(f"p{k}", name, forward, joint, wrt_names, f"{name}: traced graph",
                                     gradient_title[len(title):], bool(main.with_value), kind == "grad",
                                     title.rstrip(": ")))
    graph_text = "\n\n".join(texts)
    graph_text += "\n\nsimplification:\n" + "\n".join(f"  {line}" for line in report or ["(nothing to do)"])
    return graph_text, dot.document(f"{name} ({header['file']})", pictures)


def _array_names(fn: Callable) -> dict[str, tuple[str, str | None]]:
    """The user's names (and assignments' ``file:line``) of the large arrays ``fn`` reads, by the digest
    of their constant nodes: a constant stored beside the module is named after them."""
    return {ConstValue(a).digest: (n, where) for n, a, where in read_arrays(fn, THRESHOLD)}


class NeedsValue(TraceError):
    """An int argument traced as a run-time integer is used in a way that needs its Python value."""


def counter_uses(paths, counters: Sequence[int]) -> str | None:
    """Why a Python int argument traced as a run-time integer (its parameter index in ``counters``) needs its
    value (None if it does not): anything but an index of a gather (``X[i]``, ``batches[i]`` of an array
    argument) or a seed (``np.random.default_rng(i)``, which reads it by name) does, a branch on it too."""
    for p in paths:
        if p.error is not None:
            return f"a path of the function failed with it traced ({p.error})"
        aux = list(p.aux[1]) if p.aux else []
        for node in toposort([p.out, *p.conditions, *aux]):
            for k, x in enumerate(node.inputs):
                if x.op == "input" and x.param("index") in counters and not (node.op == "gather" and k >= 1):
                    at = f" at {node.origin.file}:{node.origin.line}" if node.origin else ""
                    return f"{x.param('name')} is an operand of {node.op}{at}, not only an index"
    return None


def _outcome_text(path: Path) -> list[str]:
    return [f"{o.text if o else 'branch'} -> {outcome}" for o, outcome in zip(path.origins, path.outcomes)]


def _differentiate(path: Path, specs, wrt, single, name, kind, dspecs, public):
    """Stages 2-4 for one path: forward passes, derivative plans, passes over all outputs together."""
    inputs = path.inputs
    with stage("forward passes"):
        assert path.out is not None  # (a path that failed has no derivative to make)
        (out,) = run([path.out], FORWARD_PASSES)
    forward = Graph(tuple(inputs), (out,), (name,))
    wrt_nodes = [next(n for n in inputs if n.param("index") == i) for i in wrt]
    directions = direction_nodes(kind, dspecs, out, wrt_nodes, len(specs))
    call = f"{name}({', '.join(public.get(s.name, s.name) for s in specs)})"
    with stage("differentiate"):
        functions = plans(kind, name, out, wrt_nodes, directions, single, call)
    if path.aux is not None:
        attach(functions, *path.aux)
    # Every function's outputs through the passes together, so they share their work.
    flat = [o for f in functions for o in f.outputs]
    with stage("rewrite"):
        simplified = iter(run(flat, PASSES))
    for f in functions:
        f.outputs = [next(simplified) for _ in f.outputs]
        owners = f.owners or (None,) * len(f.outputs)
        f.outputs = [o if k == 0 and f.with_value else owned(o, owner)
                     for k, (o, owner) in enumerate(zip(f.outputs, owners))]
        f.outputs = [copy(o) if any(o is p for p in f.outputs[:k]) else o  # one array returned twice would alias
                     for k, o in enumerate(f.outputs)]
        f.outputs = random_draws.keep_draws(f.outputs, path.draws)  # unused draws still consume the generator
    main = functions[-1] if kind in ("hessian", "hvp") else functions[0]
    joint = Graph(tuple(inputs + directions), tuple(main.outputs), tuple(main.labels))
    return functions, inputs + directions, forward, joint, main


TITLES = {"value_and_grad": "value and gradient", "jacobian": "Jacobian", "hessian": "Hessian (from the gradient)",
          "hvp": "Hessian-vector product (from the gradient)", "jvp": "value and tangent",
          "vjp": "value and vector-Jacobian product", "elementwise_grad": "elementwise derivative"}


def _file_of(fn: Callable) -> str:
    try:
        return os.path.basename(inspect.getsourcefile(function_of(fn) or fn) or "<unknown>")
    except TypeError:
        return "<unknown>"
