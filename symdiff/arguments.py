"""The arguments of a transformed function as the compiler sees them: one :class:`ArgSpec` per leaf.

A plain argument (an array, a float, a static int or string) is one leaf. A container argument (a
dict, list, tuple or namedtuple, nested: :mod:`symdiff.runtime.pytrees`) is one leaf per value in
it: float arrays and Python floats are differentiable, integer arrays are data, and everything else
(strings, ints, None, functions) is a static value of the code. Leaves are named readably from their
path (``params["W1"]`` is ``W1`` when no other leaf or argument has that name, else ``params_W1``).

``wrt`` names arguments or paths into them, ``"params"`` (all its float leaves), ``"params.W1"``,
``"params.layers.0"`` or ``'params["layers"][0]'``; the gradient of a container comes back in its
structure, with None at its leaves that are not differentiated.

>>> import numpy as np
>>> specs, layout = bind(["params", "x"], [{"W": np.zeros((2, 3)), "act": "relu"}, np.zeros(3)])
>>> [(s.name, s.shape, s.static) for s in specs]
[('W', (2, 3), None), ('act', None, 'relu'), ('x', (3,), None)]
"""
from __future__ import annotations

import ast
import inspect
import numbers
import textwrap
from typing import Any, Callable, Sequence

import numpy as np

from .errors import ShapeError, TraceError
from .naming import RESERVED, identifier
from .runtime import pytrees
from .runtime.pytrees import Layout, TreeWrt, path_text
from .runtime.signature import name_of, param_names
from .runtime.specs import ArgSpec, RandomArgument, split_dtype

Wrt = Any  # str | int | Sequence[str | int] | None


def spec_of(name: str, value: Any, leaf_of: str | None = None, backend: str = "numpy") -> ArgSpec:
    """The argument record of ``value`` passed as ``name``. ``np.matrix`` (``*`` is a matrix product, every
    result is 2-d) and masked arrays (masked entries are left out) have semantics the traced NumPy code
    does not follow: they are refused rather than differentiated as plain arrays. ``leaf_of``: the path
    of a leaf of a container (a function there is a static value, as a string is)."""
    shown = leaf_of or name
    if isinstance(value, (np.matrix, np.ma.MaskedArray)):
        kind = "an np.matrix" if isinstance(value, np.matrix) else "a masked array (np.ma)"
        raise TraceError(f"argument {shown!r} is {kind}: symdiff differentiates plain NumPy arrays and would "
                         f"not follow its semantics; pass np.asarray({shown}) (for a masked array, fill or drop "
                         f"its masked entries first, e.g. {shown}.filled(0) or {shown}.compressed())")
    # (traced values never get here: a transformed function called while tracing composes, see api._call)
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
    if isinstance(value, (str, type(None))) or (leaf_of and callable(value) and not isinstance(value, type)):
        return ArgSpec(name, None, static=value)
    if backend == "array_api" and not isinstance(value, np.ndarray):  # torch, JAX, dask, CuPy arrays...
        from .backends.array_api.arrays import spec_of as array_api_spec
        return array_api_spec(shown, value)
    from .trace.random_standins import argument_flavour, is_generator, outside_message
    flavour = argument_flavour(value)
    if flavour is not None and leaf_of is None:  # drawn from by the generated code, at run time
        return ArgSpec(name, None, static=RandomArgument(flavour))
    if flavour is not None:
        raise TraceError(f"argument {shown!r} is a {type(value).__name__} inside a container: symdiff draws from a "
                         "generator passed as an argument of its own (f(params, x, rng)), not from a container's leaf")
    if is_generator(value):
        raise TraceError(f"argument {outside_message(shown, value)}")
    raise TraceError(f"argument {shown!r}: values of type {type(value).__name__} are not supported; pass NumPy "
                     "float arrays, floats, ints (ints are treated as constants), or dicts, lists, tuples and "
                     "namedtuples of them")


def leaf_names(params: Sequence[str], trees: Sequence[pytrees.TreeDef]) -> list[str]:
    """The name of each flat leaf in generated code: a plain argument's own name; a container's leaf
    its path without the argument (``W1``, ``layers_0_b``) when that is unique and no argument's
    name, else with it (``params_W1``); made unique in the order of the leaves."""
    paths = [(p, path) for p, t in zip(params, trees) for path in (pytrees.leaf_paths(t) if not t.is_leaf else [None])]
    steps = lambda path: [str(s) if isinstance(s, int) else identifier(str(getattr(s, "name", s)), "k")  # noqa: E731
                          for s in path]
    short = ["_".join(steps(path)) if path else None for _, path in paths]
    counts = {s: short.count(s) for s in short}
    taken, out = set(params) | RESERVED, []
    for (param, path), s in zip(paths, short):
        if path is None:
            out.append(param)
            continue
        name = s if s and s.isidentifier() and counts[s] == 1 and s not in taken else \
            identifier("_".join([param, *steps(path)]))
        base, k = name, 0
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        out.append(name)
    return out


def bind(params: Sequence[str], values: Sequence[Any], backend: str = "numpy") -> tuple[list[ArgSpec], Layout]:
    """The flat leaves' specs of the parameters' ``values`` and the layout mapping them back (``backend``:
    ``"array_api"`` also takes other libraries' arrays)."""
    trees: list = []
    leaves: list[tuple[str, Any, Any]] = []
    for name, value in zip(params, values):
        if pytrees.is_container(value) or isinstance(value, dict):  # (flatten refuses dict subclasses, saying why)
            pairs, tree = pytrees.flatten(value, f"argument {name!r}")
            trees.append(tree)
            leaves.extend((name, path, v) for path, v in pairs)
        else:
            trees.append(pytrees.LEAF)
            leaves.append((name, None, value))
    names = leaf_names(params, trees)
    specs = [spec_of(n, v, path_text(p, path) if path is not None else None, backend)
             for n, (p, path, v) in zip(names, leaves)]
    return specs, Layout(tuple(params), tuple(trees), tuple(names))


def parse_wrt(fn: Callable, wrt: Wrt) -> tuple[list[int], list[list[str]], bool]:
    """Positions of the ``wrt`` parameters, the path into each (textual steps; [] for the whole argument),
    and whether a single one was asked for (bare result)."""
    names, fname = param_names(fn), name_of(fn)
    if not names:
        raise TraceError(f"{fname} takes no arguments: nothing to differentiate")
    single = wrt is None or isinstance(wrt, (str, int))
    items = [0] if wrt is None else ([wrt] if single else list(wrt))
    out, steps = [], []
    for item in items:
        if isinstance(item, str):
            head, path = pytrees.parse_path(item) if ("." in item or "[" in item) else (item, [])
            if head not in names:
                raise TraceError(f"wrt={item!r}: {fname} has no argument {head!r} (it has {', '.join(names)})")
            out.append(names.index(head))
            steps.append(path)
        elif isinstance(item, numbers.Integral):
            if not -len(names) <= int(item) < len(names):
                raise TraceError(f"wrt={item}: {fname} has only {len(names)} arguments")
            out.append(int(item) % len(names))
            steps.append([])
        else:
            raise TraceError(f"wrt must be argument names, positions or paths (params.W1), got {item!r}")
    if len(set(zip(out, map(tuple, steps)))) != len(out):
        raise TraceError(f"wrt={wrt!r} names an argument twice")
    return out, steps, single


#: The derivatives whose results are rebuilt in the structure of a container ``wrt``.
REBUILT = ("grad", "value_and_grad", "elementwise_grad", "jacobian")


def differentiable(spec: ArgSpec) -> bool:
    return spec.is_array and spec.dtype not in ("int64", "bool")


def resolve_wrt(fname: str, kind: str, specs: Sequence[ArgSpec], layout: Layout, indices: Sequence[int],
                steps: Sequence[Sequence[str]], single: bool) -> tuple[list[int], TreeWrt]:
    """The flat leaves to differentiate for ``wrt`` (``indices`` and ``steps`` from :func:`parse_wrt`), and
    the record the generated code rebuilds the gradient's structure from."""
    tw = TreeWrt(layout, (), single)
    items, flat = [], []
    for i, text in zip(indices, steps):
        tree, name = layout.trees[i], layout.params[i]
        path = pytrees.find(tree, list(text))
        if path is None:
            valid = [path_text(name, p) for p, _ in pytrees.subtrees(tree)]
            shown = ", ".join(valid[:40]) + (f", ... ({len(valid)} in all)" if len(valid) > 40 else "")
            raise TraceError(f"wrt={path_text(name, tuple(text))!r}: argument {name!r} of {fname} has no such part; "
                             f"valid paths: {shown}")
        node = pytrees.at(tree, path)
        leaves = tw.item_leaves(i, path)
        if node.is_leaf and not tree.is_leaf and not differentiable(specs[leaves[0]]):
            spec, where = specs[leaves[0]], path_text(name, path)
            what = ("an integer array (data such as labels or indices, never differentiated)" if spec.is_array
                    else f"a {type(spec.static).__name__} (a static value of the code)")
            raise TraceError(f"cannot differentiate {fname} with respect to {where!r}: it is {what}; leave it out of "
                             "wrt (pass a float or a float array to differentiate it)")
        if not node.is_leaf and kind not in REBUILT:
            parts = [path_text(name, pytrees.leaf_paths(tree)[k - layout.span(i).start]) for k in leaves
                     if differentiable(specs[k])]
            raise TraceError(f"{kind} of {fname} with respect to the container {path_text(name, path)!r} is not "
                             f"supported (its blocks would have no agreed structure); name its leaves instead, "
                             f"wrt={tuple(parts)!r}, or use grad/jacobian for a gradient in its structure")
        chosen = leaves if node.is_leaf else [k for k in leaves if differentiable(specs[k])]
        for k in chosen:
            if k in flat:
                raise TraceError(f"wrt names {path_text(*layout_path(layout, k))!r} twice "
                                 f"(wrt={[path_text(layout.params[j], tuple(s)) for j, s in zip(indices, steps)]})")
        flat.extend(chosen)
        items.append((i, path))
    return flat, TreeWrt(layout, tuple(items), single)


def layout_path(layout: Layout, k: int) -> tuple[str, tuple]:
    i, path = layout.leaf_path(k)
    return layout.params[i], path


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


def _is_shape(value: Any) -> bool:
    return isinstance(value, str) or (type(value) in (tuple, list) and all(
        isinstance(d, (numbers.Integral, str)) and not isinstance(d, bool) for d in value))


class _Decl:
    """A declared leaf: a shape (``kind == "shape"``) or a static value."""

    def __init__(self, kind: str, value: Any) -> None:
        self.kind, self.value = kind, value


def _declared(name: str, value: Any, kind: str) -> Any:
    """A declared argument as a tree whose leaves are :class:`_Decl`: a dict, a list or tuple of
    declarations, a namedtuple of them, or a shape (``(5, 3)``, ``"n,k"``, ``"n:int64"``)."""
    if kind == "static" and not pytrees.is_container(value):
        if not isinstance(value, (bool, int, str, type(None))):
            raise ShapeError(f"static value of {name!r}: use an int, bool, str or None (floats and arrays "
                             "are arguments: give arrays a shape)")
        return _Decl(kind, value)
    if kind == "shape" and _is_shape(value) and not (type(value) is list and not value):
        return _Decl(kind, value)
    if type(value) is dict:
        return {k: _declared(f"{name}.{k}", v, kind) for k, v in value.items()}
    if pytrees.is_namedtuple(value):
        return type(value)(*(_declared(f"{name}.{f}", v, kind) for f, v in zip(value._fields, value)))
    if type(value) in (tuple, list):
        return type(value)(_declared(f"{name}.{k}", v, kind) for k, v in enumerate(value))
    raise ShapeError(f"shape of {name!r}: {value!r} is not a shape (a tuple of positive ints or names, or a string "
                     "such as 'n,k' or 'n:int64') nor a dict, list, tuple or namedtuple of shapes")


def _place(tree: dict, name: str, steps: list[str], leaf: Any) -> None:
    """Put ``leaf`` at the dotted path ``steps`` of ``tree[name]`` (dicts; digit steps are list positions)."""
    node, key = tree, name
    for step in steps:
        child = node.get(key) if isinstance(node, dict) else node[key]
        if child is None or isinstance(child, _Decl):
            if child is not None:
                raise ShapeError(f"{path_text(name, tuple(steps))}: its parent is declared as a leaf too")
            child = {}
            node[key] = child
        node, key = child, step
    if key in node:
        raise ShapeError(f"{path_text(name, tuple(steps))} is declared twice")
    node[key] = leaf


def _lists(value: Any, where: str) -> Any:
    """Dicts built from dotted paths whose keys are 0, 1, ..., n-1 become lists."""
    if type(value) is not dict:
        return value
    value = {k: _lists(v, f"{where}.{k}") for k, v in value.items()}
    keys = list(value)
    if keys and all(k.isdigit() for k in keys):
        if sorted(map(int, keys)) != list(range(len(keys))):
            raise ShapeError(f"{where}: positions {', '.join(sorted(keys, key=int))} given; a list needs 0 .. n-1")
        return [value[str(k)] for k in range(len(keys))]
    return value


def specs_for(fn: Callable, shapes: dict[str, Any] | None, dtype: str = "float64",
              static: dict[str, Any] | None = None) -> tuple[list[ArgSpec], Layout]:
    """Argument specs for export: listed shapes are arrays, ``static`` values are constants (an int loop
    bound, a flag: the code is made for that value and checks it), the rest scalars. A container argument
    is declared by a dict (list, tuple, namedtuple) of shapes, ``{"params": {"W1": (784, 128)}}``, or leaf by
    leaf with paths, ``{"params.W1": (784, 128)}`` (digit steps are list positions)."""
    params = param_names(fn)
    declared: dict[str, Any] = {}
    for kind, table in (("shape", shapes or {}), ("static", static or {})):
        for key, value in table.items():
            head, steps = pytrees.parse_path(key) if ("." in key or "[" in key) else (key, [])
            if head not in params:
                raise ShapeError(f"shape or value given for {key!r}, but {name_of(fn)} has no such argument "
                                 f"({', '.join(params)})")
            _place(declared, head, steps, _declared(key, value, kind))
    declared = {k: _lists(v, k) for k, v in declared.items()}
    for name in params:
        if name not in declared:
            keys = _subscripted_keys(fn, name)
            if keys:
                reads = ", ".join(f"{name}[{k!r}]" for k in keys)
                flags = " ".join(f"--shape {name}.{k}=SIZES" for k in keys)
                listed = "{" + ", ".join(f"{k!r}: (...)" for k in keys) + "}"
                raise ShapeError(f"argument {name!r} of {name_of(fn)} is read as a container ({reads}) but no shapes "
                                 f"were given for its leaves; give each leaf's shape: {flags} on the command line, "
                                 f"or shapes={{{name!r}: {listed}}} in symdiff.export")
            declared[name] = _Decl("shape", ())
    trees: list = []
    leaves: list = []
    for name in params:
        pairs, tree = pytrees.flatten(declared[name], f"argument {name!r}")
        trees.append(tree)
        leaves.extend((name, path, v) for path, v in pairs)
    names = leaf_names(params, trees)
    specs = [_spec_from(n, path_text(p, path) if path is not None and path else p, leaf, dtype)
             for n, (p, path, leaf) in zip(names, leaves)]
    return specs, Layout(tuple(params), tuple(trees), tuple(names))


def _spec_from(name: str, shown: str, leaf: Any, dtype: str) -> ArgSpec:
    kind, value = leaf.kind, leaf.value
    if kind == "static":
        return ArgSpec(name, None, static=value)
    shape, dt = split_dtype(shown, value, dtype)
    try:
        shape = parse_shape(shape) if isinstance(shape, str) else tuple(shape)
    except ShapeError as exc:
        raise ShapeError(f"shape of {shown!r}: {exc}") from None
    for d in shape:
        if not (isinstance(d, str) and d.isidentifier()) and not (isinstance(d, numbers.Integral) and int(d) > 0):
            raise ShapeError(f"shape of {shown!r}: bad size {d!r}; use positive integers or names")
    return ArgSpec(name, shape, dt)


def _subscripted_keys(fn: Callable, name: str) -> list[str]:
    """The string keys the source of ``fn`` reads from its parameter ``name`` (``params["W1"]``)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    found = sorted(((node.lineno, node.col_offset), node.slice.value) for node in ast.walk(tree)
                   if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name
                   and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str))
    return list(dict.fromkeys(key for _, key in found))


def plan(fname: str, kind: str, specs: Sequence[ArgSpec], layout: Layout, indices: Sequence[int],
         steps: Sequence[Sequence[str]], single: bool) -> tuple[list[int], bool, TreeWrt | None]:
    """The flat ``wrt`` leaves, whether the flat functions return one bare result, and the container
    record (None when every argument is plain and ``wrt`` names whole arguments: as without containers)."""
    if not layout.has_trees and not any(steps):
        return list(indices), single, None
    flat, tree = resolve_wrt(fname, kind, specs, layout, indices, steps, single)
    return flat, single and not tree.rebuilds, tree
