"""Entry points for container arguments (dicts, lists, tuples, namedtuples: :mod:`symdiff.runtime.pytrees`).

Each public entry point takes the user's arguments, unpacks the containers one leaf a line (a tuple
of leaves in one line) into the names the code made for the leaves uses, runs that code, and returns
the derivatives of a container ``wrt`` in the container's structure (keys through
:func:`symdiff.escape.literal`; a namedtuple rebuilt through the class of the argument it was given,
``type(params)(dW, db)``, so the module needs only NumPy)::

    def loss_grad(params, X, y):
        W1 = params['W1']
        b1 = params['b1']
        ...
        return {'W1': dW1, 'b1': db1}

With branches on traced values (one function per path) or parameters renamed because they shadow
``np`` or a builtin, the code for the leaves is ``_<name>`` and the entry point calls it. Leaves of a
``wrt`` container that are not differentiated (integer data, static values) are None in the gradient.
"""
from __future__ import annotations

from typing import Callable, Mapping

from ... import escape
from ...naming import Namer, grad_name
from ...runtime import pytrees
from ...runtime.pytrees import TreeDef, TreeWrt, path_code, path_text
from .codegen import Function
from .entry_points import defaults

#: Entry points whose result is rebuilt in the structure of the ``wrt`` containers.
REBUILT = ("grad", "value_and_grad", "elementwise_grad", "jacobian")


def tree_wrap(functions: list[Function], tree: TreeWrt, wrt: list[int], public: dict[str, str], fn: Callable,
              name: str, has_aux: bool, entries: set[str], inline: bool = False) -> list[Function]:
    """Each public function of ``functions`` (made for the flat leaves, differentiated with respect to
    the leaves ``wrt``; ``entries``: the names of the public ones) as ``_<name>``, and ``<name>`` taking the
    user's arguments. ``inline`` (no
    branches, no renamed parameters): ``<name>`` unpacks the containers and runs the body itself."""
    if inline and not public:
        return [f if f.name not in entries else _inline(f, tree, wrt, fn, name, has_aux) for f in functions]
    layout = tree.layout
    out = []
    for f in functions:
        if f.name not in entries:
            out.append(f)
            continue
        bare = [p.partition("=")[0] for p in f.params]
        n = len(layout.names)
        extra = bare[n:]  # directions (hvp, jvp) and the cotangent (vjp)
        namer = Namer([*layout.params, *extra, f"_{f.name}", "type"])
        lines, args = [], []
        for i, (param, t) in enumerate(zip(layout.params, layout.trees)):
            span = layout.span(i)
            if t.is_leaf:
                args.append(param)
                continue
            locals_ = [namer.fresh(bare[k]) for k in span]
            lines += unpack_lines(param, t, locals_)
            args += locals_
        call = f"_{f.name}({', '.join(args + extra)})"
        suffix = f.name[len(name) + 1:]
        if tree.rebuilds and suffix in REBUILT:
            aux = has_aux and suffix in ("grad", "value_and_grad")
            lines += _rebuild(suffix, call, tree, wrt, bare, namer, name, aux)
        else:
            lines.append(f"return {call}")
        flat_call = f"{name}({', '.join(public.get(b, b) for b in bare[:n])})"
        user_call = f"{name}({', '.join(layout.params)})"
        user_what = ", ".join(path_text(layout.params[i], p) for i, p in tree.items)
        doc = f.doc.replace(flat_call, user_call).replace(f"respect to {', '.join(bare[k] for k in wrt)}",
                                                          f"respect to {user_what}")
        out.append(Function(f"_{f.name}", f.params, f.doc, f.body))
        out.append(Function(f.name, defaults(fn, [*layout.params, *extra]), doc, lines))
    return out


def unpack_lines(param: str, tree: TreeDef, names: list[str]) -> list[str]:
    """Lines binding the leaves of argument ``param`` (structure ``tree``) to ``names``, one a line; a tuple
    or list of two or more leaves in one line, ``W, b = params['layers'][0]`` (a list of another length
    then raises ValueError, as the code is made for this one)."""
    it = iter(names)
    lines: list[str] = []

    def walk(node: TreeDef, path: tuple) -> None:
        if node.is_leaf:
            lines.append(f"{next(it)} = {path_code(param, path)}")
        elif node.kind in ("tuple", "list") and len(node.children) > 1 and all(c.is_leaf for c in node.children):
            lines.append(f"{', '.join(next(it) for _ in node.children)} = {path_code(param, path)}")
        else:
            for step, child in zip(node.steps(), node.children):
                walk(child, path + (step,))
    walk(tree, ())
    return lines


def _inline(f: Function, tree: TreeWrt, wrt: list[int], fn: Callable, name: str, has_aux: bool) -> Function:
    """``f`` taking the user's arguments: the containers unpacked into the leaves' names its body uses,
    then its body, returning the derivatives of a container ``wrt`` in its structure."""
    import ast
    layout = tree.layout
    bare = [p.partition("=")[0] for p in f.params]
    n = len(layout.names)
    lines = [line for i, t in enumerate(layout.trees) if not t.is_leaf
             for line in unpack_lines(layout.params[i], t, [bare[k] for k in layout.span(i)])]
    body = list(f.body)
    suffix = f.name[len(name) + 1:]
    if tree.rebuilds and suffix in REBUILT:
        line = body.pop()
        statement = ast.parse(line.strip(), mode="exec").body[0]  # the flat return: our own code
        assert isinstance(statement, ast.Return) and statement.value is not None
        expr = statement.value
        segment = lambda node: ast.get_source_segment(line.strip(), node)  # noqa: E731
        parts = [segment(e) for e in expr.elts] if isinstance(expr, ast.Tuple) else [segment(expr)]
        aux = has_aux and suffix in ("grad", "value_and_grad")
        head, grads = (parts[0], parts[1]) if suffix == "value_and_grad" else (None, parts[0] if aux else None)
        tail = parts[1] if aux and suffix == "grad" else None
        if grads is None:  # grad, elementwise_grad, jacobian without aux: the tuple of the derivatives
            flat = parts
        else:
            node = ast.parse(grads, mode="eval").body
            flat = [ast.get_source_segment(grads, e) for e in node.elts] if isinstance(node, ast.Tuple) else [grads]
        names = dict(zip(wrt, flat))
        items = [_structure(layout.params[i], path, pytrees.at(layout.trees[i], path),
                            iter(tree.item_leaves(i, path)), names) for i, path in tree.items]
        result = items[0] if tree.single else "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        body.append("return " + ", ".join(x for x in (head, result, tail) if x is not None))
    user_call = f"{name}({', '.join(layout.params)})"
    flat_call = f"{name}({', '.join(bare[:n])})"
    user_what = ", ".join(path_text(layout.params[i], p) for i, p in tree.items)
    doc = f.doc.replace(flat_call, user_call).replace(f"respect to {', '.join(bare[k] for k in wrt)}",
                                                      f"respect to {user_what}")
    return Function(f.name, defaults(fn, [*layout.params, *bare[n:]]), doc, lines + body)


def _rebuild(suffix: str, call: str, tree: TreeWrt, wrt: list[int], bare: list[str], namer: Namer, name: str,
             aux: bool) -> list[str]:
    """Lines calling the flat function (``call``) and returning its derivatives in the ``wrt`` structure."""
    prefix = (lambda b: f"jac_{b}") if suffix == "jacobian" else grad_name
    names = {k: namer.fresh(prefix(bare[k])) for k in wrt}
    grads = [names[k] for k in wrt]
    pattern = "(" + ", ".join(grads) + ("," if len(grads) == 1 else "") + ")"
    layout = tree.layout
    parts = [_structure(layout.params[i], path, pytrees.at(layout.trees[i], path),
                        iter(tree.item_leaves(i, path)), names) for i, path in tree.items]
    result = parts[0] if tree.single else "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if suffix == "value_and_grad":
        value = namer.fresh(name)
        head = f"({value}, {namer.fresh('aux')})" if aux else value
        return [f"{head}, {pattern} = {call}", f"return {head}, {result}"]
    if aux:
        a = namer.fresh("aux")
        return [f"{pattern}, {a} = {call}", f"return {result}, {a}"]
    return [f"{', '.join(grads) if grads else '()'}{',' if len(grads) == 1 else ''} = {call}", f"return {result}"]


def _structure(param: str, path: tuple, node: TreeDef, leaves, names: Mapping[int, str | None]) -> str:
    """The code of ``node``'s structure (at ``path`` of argument ``param``) holding the gradients ``names``
    of its leaves (flat positions from ``leaves``, in order); None where a leaf is not differentiated."""
    if node.is_leaf:
        return names.get(next(leaves)) or "None"
    parts = [_structure(param, path + (step,), child, leaves, names)
             for step, child in zip(node.steps(), node.children)]
    if node.kind == "dict":
        return "{" + ", ".join(f"{escape.literal(k)}: {p}" for k, p in zip(node.keys, parts)) + "}"
    if node.kind == "list":
        return "[" + ", ".join(parts) + "]"
    if node.kind == "namedtuple":
        return f"type({path_code(param, path)})(" + ", ".join(parts) + ")"
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
