"""Stages 4-5 for the NumPy backend: the generated module's functions, the dispatch on branches (one
function per path and per condition, or each path's outcome string past :data:`DEEP` branches), the
run-time checks of sizes and constants, and the header; rendered by :func:`render.render_module`."""
from __future__ import annotations

from typing import Any, Sequence

import sympy as sp

from ... import escape
from ...ir.graph import toposort
from ...runtime.pytrees import path_text
from ...runtime.specs import ArgSpec, RandomArgument
from .branches import dispatch_lines, failure_lines, size_bindings
from .codegen import Function, ModuleText, NodePrinter
from .render import render_module
from .containers import tree_wrap
from .entry_points import defaults, wrap
from .printer import ExprPrinter
from .size_checks import size_check_lines
from .annotations import annotate


def float32_casts(outputs, casts, float_dtype: str) -> tuple:
    """A float32 module returns float32 everywhere: each float output not cast already is (a scalar by
    ``np.float32(...)``, written ``"float32()"``, an array by ``np.asarray(..., dtype=np.float32)``)."""
    casts = tuple(casts or ()) + (None,) * (len(outputs) - len(casts or ()))
    if float_dtype != "float32":
        return casts
    return tuple(c if c is not None or o.dtype not in ("float64", "float32") else
                 ("float32()" if o.shape == () else "float32") for o, c in zip(outputs, casts))


def module_source(name, fn, specs, wrt, paths, built, branching_tree, guard, kind, public, facts, containers=None,
                  has_aux=False, *, printer=NodePrinter, module_text=ModuleText, render=render_module) -> str:
    """The module's text: for each traced path (``built``: its functions and graphs, None where it failed)
    the printed functions, the dispatch over the branches (``branching_tree``: the decision tree and its
    conditions), the guards of sizes and constants, and the header (``facts``: version, file, source hash;
    ``array_names``, the user's names of large arrays; it receives ``data``, the arrays stored beside the module).
    ``containers``: container arguments (a :class:`~symdiff.runtime.pytrees.TreeWrt`), unpacked by the entry points.
    Another backend reuses this structure with its own ``printer`` (a :class:`NodePrinter` made as
    ``printer(module, params, sizes)``), ``module_text`` and ``render`` (see backends/numba and
    backends/array_api)."""
    params = [s.name for s in specs]
    ok = [b for b in built if b is not None]
    tree, conditions = branching_tree
    nodes = toposort([o for b in ok for f in b[0] for o in f.outputs] + [c for c, _ in conditions]
                     + [c for p in paths for c in p.conditions])
    labels = [label for f in ok[0][0] for label in f.labels]
    module = module_text(reserved={*params, *labels, name, *(n.name for n in nodes if n.name)},
                         array_names=dict(facts.get("array_names", {})))
    floats = {s.dtype for s in specs if s.is_array and s.dtype in ("float32", "float64")}
    module.float_dtype = "float32" if floats == {"float32"} else "float64"
    module.name_constants(nodes)
    facts["data"] = module.data  # the constants stored beside the module (see .constants)
    checks = _guard_lines(name, specs, guard, public) + _relation_lines(name, [p.inputs for p in paths if p.inputs])
    extra = {q for f in ok[0][0] for q in f.extra_params}
    user_params = [p for p in params if p not in extra]
    printed = []
    branching = any(p.outcomes for p in paths)  # branches on traced values: dispatch on them
    for k, b in enumerate(built):
        if b is None:
            continue
        sizes = size_bindings(b[1])
        for f in b[0]:
            fparams = user_params + list(f.extra_params)
            fname = f"_{name}_{f.suffix}_{k}" if branching else f"{name}_{f.suffix}"
            if not branching and not containers and (call := delegated(name, f, b[0], fparams)):
                printed.append(Function(fname, defaults(fn, fparams), f.doc, [call]))
                continue
            body = printer(module, fparams, sizes).body(f.outputs, f.labels, f.returns,
                                                        float32_casts(f.outputs, f.casts, module.float_dtype))
            body = size_check_lines(name, b[1], params, f.outputs, fparams, paths[k].size_origins) + body
            printed.append(Function(fname, fparams if branching else defaults(fn, fparams),
                                    f"{f.doc} Path {k}." if branching else f.doc, body if branching else checks + body))
    if branching and max(len(p.outcomes) for p in paths) > DEEP:
        printed += _signature_dispatch(name, fn, paths, built, ok, user_params, module, checks, printer)
    elif branching:
        sizes = size_bindings(paths[0].inputs)
        for j, (cond, origin) in enumerate(conditions):
            body = printer(module, user_params, sizes).body([cond], ["branch"], "return bool({0})")
            doc = f"Branch condition: {escape.comment(origin.text) if origin else ''}"
            printed.append(Function(f"_{name}_branch_{j}", user_params, doc, body))
        for f in ok[0][0]:
            fparams = user_params + list(f.extra_params)
            call = f"({', '.join(fparams)})"
            lines = dispatch_lines(tree, lambda j: f"_{name}_branch_{j}({', '.join(user_params)})",
                                   lambda k: _leaf(name, f.suffix, k, call, built, paths, module))
            printed.append(Function(f"{name}_{f.suffix}", defaults(fn, fparams), f.doc, checks + lines))
    entries = {f"{name}_{f.suffix}" for f in ok[0][0]}  # the public functions (a user's name may start with _)
    printed = (tree_wrap(printed, containers, list(wrt), public, fn, name, has_aux, entries, inline=not branching)
               if containers else wrap(printed, public, fn, entries))
    wrt_names = ([path_text(containers.layout.params[i], p) for i, p in containers.items] if containers else
                 [public.get(specs[i].name, specs[i].name) for i in wrt])
    if facts.get("annotate") and not containers:
        printed = annotate(printed, ok[0][0], specs, public, name,
                           lambda f: float32_casts(f.outputs, f.casts, module.float_dtype))
    header = {
        "summary": f"{kind.capitalize() if kind != 'grad' else 'Value and gradient'} of `{name}` with respect "
                   f"to {', '.join(wrt_names)}.",
        "version": facts["version"], "function": name, "file": facts["file"], "source_hash": facts["source_hash"],
        "wrt": wrt_names,
        "shapes": ", ".join(f"{_shown(s, k, containers, public)}: {_shape_text(s)}" for k, s in enumerate(specs)),
        "command": facts.get("command"), "annotate": facts.get("annotate"),
        "polymorphic": any(isinstance(d, sp.Symbol) for b in ok for n in b[1] for d in n.shape),
    }
    return render(header, printed, module)


def delegated(name: str, f, functions, fparams) -> str | None:
    """The gradient of a function whose value the gradient's own forward loop computes anyway (a rolled
    loop accumulates it): the value-and-gradient function's call, whose second result it is, instead of
    the same loops printed twice."""
    if f.suffix != "grad" or not any(n.op == "loop" for n in toposort(list(f.outputs))):
        return None
    g = next((h for h in functions if h.suffix == "value_and_grad"), None)
    if g is None or len(g.outputs) != len(f.outputs) + 1 or tuple(g.extra_params) != tuple(f.extra_params) \
            or tuple(g.casts[1:]) != tuple(f.casts) or not g.returns.startswith("return {0}, ") \
            or any(a is not b and a.key() != b.key() for a, b in zip(g.outputs[1:], f.outputs)):
        return None
    return f"return {name}_value_and_grad({', '.join(fparams)})[1]"


#: Past this many branches on one path, the generated function checks each path's outcomes in turn
#: (one pass over each path's conditions) instead of a tree of condition functions (one pass each).
DEEP = 8


def _signature_dispatch(name, fn, paths, built, ok, user_params, module, checks, printer) -> list[Function]:
    """Per path, a function computing the outcomes of its branches along it; the entry points return
    the code of the path whose outcomes these arguments reproduce (exactly one, when all were traced)."""
    printed = []
    args = ", ".join(user_params)
    for k, path in enumerate(paths):
        sizes = size_bindings(path.inputs or ok[0][1])
        labels = [f"c{i}" for i in range(len(path.conditions))]
        slots = ", ".join("{%d}" % i for i in range(len(labels)))
        returns = f'return "".join("1" if c else "0" for c in ({slots},))'
        body = printer(module, user_params, sizes).body(list(path.conditions), labels, returns)
        printed.append(Function(f"_{name}_branches_{k}", user_params, f"The outcomes of the {len(labels)} branches "
                                f"on path {k} (1: taken), computed along it.", body))
    for f in ok[0][0]:
        fparams = user_params + list(f.extra_params)
        call = f"({', '.join(fparams)})"
        lines = []
        for k, path in enumerate(paths):
            outcomes = escape.literal("".join("1" if o else "0" for o in path.outcomes))
            lines.append(f"if _{name}_branches_{k}({args}) == {outcomes}:")
            lines += ["    " + line for line in _leaf(name, f.suffix, k, call, built, paths, module)]
        lines.append(f"raise {module.helpers.use('BranchNotCompiled')}({escape.literal(name)})")
        printed.append(Function(f"{name}_{f.suffix}", defaults(fn, fparams), f.doc, checks + lines))
    return printed


def _leaf(name, suffix, k, call, built, paths, module) -> list[str]:
    if k is None:  # a side no call has taken yet (decorator): the caller compiles it and calls again
        return [f"raise {module.helpers.use('BranchNotCompiled')}({escape.literal(name)})"]
    if built[k] is None:
        return failure_lines(name, paths[k])
    return [f"return _{name}_{suffix}_{k}{call}"]


def _guard_lines(name: str, specs: Sequence[ArgSpec], guard, public) -> list[str]:
    """Constants and sizes the code was specialised to (the function used them as numbers) are checked
    on every call."""
    lines = []
    for spec in specs:  # constants the code was made for
        if not spec.is_array and isinstance(_plain(spec.static), (bool, int, str)):
            value = escape.literal(spec.static)
            message = (f"{name}: this code was generated for {public.get(spec.name, spec.name)} == {value}; "
                       "generate it again for other values")
            lines += [f"if {spec.name} != {value}:", f"    raise ValueError({escape.literal(message)})"]
    for index, axis, size in guard:
        arg = specs[index].name
        message = (f"{name}: this code was generated for {public.get(arg, arg)}.shape[{axis}] == {size} "
                   "(the function uses that size as a number); generate it again for other sizes")
        lines += [f"if {arg}.shape[{axis}] != {size}:", f"    raise ValueError({escape.literal(message)})"]
    return lines


def _plain(value):
    try:
        return escape.plain(value)
    except escape.NotALiteral:
        return None


def _relation_lines(name: str, inputs: Sequence[Sequence[Any]]) -> list[str]:
    """Sizes the trace found to be other arguments' sizes combined (``v`` is assigned into ``x[1:]``:
    its size is ``n_x - 1``) are checked on every call, as the code relies on them."""
    lines: list[str] = []
    for nodes in inputs:
        printer = ExprPrinter(size_bindings(nodes))
        for node in nodes:
            for axis, d in enumerate(node.shape):
                if d.is_Symbol or d.is_Integer:
                    continue
                arg, want = node.param("name"), printer.doprint(d)
                line = f"if {arg}.shape[{axis}] != {want}:"
                if line not in lines:
                    message = (escape.literal(f"{name}: {arg}.shape[{axis}] must be {want} (the function relies on "
                                              f"it); {arg} has shape "), f"str({arg}.shape)")
                    lines += [line, f"    raise ValueError({' + '.join(message)})"]
    return lines


def _shown(spec: ArgSpec, k: int, tree, public) -> str:
    """An argument (or a container's leaf: ``params.W1``) as the header lists it."""
    if tree is not None and k < len(tree.layout.names) and tree.layout.has_trees:
        i, path = tree.layout.leaf_path(k)
        return path_text(tree.layout.params[i], path)
    return public.get(spec.name, spec.name)


def _shape_text(spec: ArgSpec) -> str:
    if isinstance(spec.static, RandomArgument):
        return f"a {spec.static.type_name} (drawn from at run time)"
    if not spec.is_array:
        value = _plain(spec.static)
        if value is None and spec.static is not None:
            return f"a {type(spec.static).__name__} (a constant)"
        return f"{escape.literal(spec.static)} (a constant)"
    if not spec.shape:
        return f"{spec.dtype} scalar"
    return f"{spec.dtype} array of shape ({', '.join(str(d) for d in spec.shape)}{',' if len(spec.shape) == 1 else ''})"
