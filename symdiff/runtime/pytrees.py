"""Arguments that are containers (pytrees): dicts, lists, tuples and namedtuples of arrays, nested.

:func:`flatten` turns a value into its leaves, each with its path, and a :class:`TreeDef` (the
structure without the leaves: container types, dict keys in insertion order, namedtuple classes);
:func:`unflatten` puts a list of leaves back into that structure. As in ``jax.tree_util``, anything
that is not one of those containers is a leaf; unlike JAX, dict keys keep the caller's insertion
order (a dict with another order is another structure), so what comes back has the caller's order.

A path is a tuple of steps: a dict key, a list or tuple position (an int), or a namedtuple field
(a :class:`Field`). :func:`path_text` writes one as ``params.layers.0.W`` (the form ``wrt=`` takes),
:func:`path_code` as Python code reading it, ``params["layers"][0].W``.

>>> leaves, tree = flatten({"W": 1.0, "layers": [(2.0, 3.0)], "act": "relu"})
>>> [path_text("params", p) for p, _ in leaves]
['params.W', 'params.layers.0.0', 'params.layers.0.1', 'params.act']
>>> unflatten(tree, [10.0, 20.0, 30.0, "relu"])
{'W': 10.0, 'layers': [(20.0, 30.0)], 'act': 'relu'}
>>> path_code("params", ("layers", 0, 1))
"params['layers'][0][1]"
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .. import escape
from ..errors import TraceError
from .fastpath import _F64, _other_key

#: How deep containers may nest (a guard against self-containing lists).
MAX_DEPTH = 64


@dataclass(frozen=True)
class Field:
    """A namedtuple field as a step of a path (read as an attribute, ``params.W``)."""

    name: str


@dataclass(frozen=True)
class TreeDef:
    """The structure of a value: ``kind`` is ``"leaf"``, ``"dict"``, ``"list"``, ``"tuple"`` or
    ``"namedtuple"``; ``keys`` the dict's keys in order (for a namedtuple, its fields); ``cls`` the
    namedtuple's class. Equal structures have equal TreeDefs (hashable: part of cache keys)."""

    kind: str
    keys: tuple = ()
    children: tuple["TreeDef", ...] = ()
    cls: type | None = None

    @property
    def is_leaf(self) -> bool:
        return self.kind == "leaf"

    def steps(self) -> tuple:
        """The path step to each child."""
        if self.kind == "dict":
            return self.keys
        if self.kind == "namedtuple":
            return tuple(Field(k) for k in self.keys)
        return tuple(range(len(self.children)))

    def num_leaves(self) -> int:
        return 1 if self.is_leaf else sum(c.num_leaves() for c in self.children)


LEAF = TreeDef("leaf")


def is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple)


def is_container(value: Any) -> bool:
    """Whether ``value`` is a container :func:`flatten` goes into (a plain dict, list, tuple or namedtuple)."""
    return type(value) in (dict, list, tuple) or is_namedtuple(value)


def _key_ok(key: Any) -> bool:
    if type(key) is tuple:
        return all(_key_ok(k) for k in key)
    return type(key) in (str, int, bool) or key is None


def flatten(value: Any, where: str = "argument") -> tuple[list[tuple[tuple, Any]], TreeDef]:
    """``value``'s leaves as ``(path, leaf)`` pairs (depth first, in the containers' order) and its
    structure. Dict subclasses (``OrderedDict``, ``defaultdict``) and dict keys that are not strings,
    ints, bools, None or tuples of them are refused: the generated code could not rebuild them."""
    leaves: list[tuple[tuple, Any]] = []

    def walk(v: Any, path: tuple, depth: int) -> TreeDef:
        if depth > MAX_DEPTH:
            raise TraceError(f"{where}: containers nested deeper than {MAX_DEPTH} levels (does a list contain itself?)")
        if type(v) is dict:
            for k in v:
                if not _key_ok(k):
                    raise TraceError(f"{where}: dict key {escape.comment(repr(k))} ({type(k).__name__}) at "
                                     f"{path_text('', path) or 'the top'}: use str or int keys")
            return TreeDef("dict", tuple(v), tuple(walk(v[k], path + (k,), depth + 1) for k in v))
        if is_namedtuple(v):
            fields = type(v)._fields
            return TreeDef("namedtuple", tuple(fields),
                           tuple(walk(x, path + (Field(f),), depth + 1) for f, x in zip(fields, v)), type(v))
        if type(v) in (list, tuple):
            return TreeDef(type(v).__name__, (), tuple(walk(x, path + (k,), depth + 1) for k, x in enumerate(v)))
        if isinstance(v, dict):
            raise TraceError(f"{where}: a dict subclass ({type(v).__name__}) at {path_text('', path) or 'the top'}: "
                             f"pass a plain dict (dict(...) of it keeps its order)")
        leaves.append((path, v))
        return LEAF

    tree = walk(value, (), 0)
    return leaves, tree


def unflatten(tree: TreeDef, leaves: list[Any]) -> Any:
    """The value of structure ``tree`` holding ``leaves`` (in :func:`flatten`'s order)."""
    it = iter(leaves)
    out = _build(tree, it)
    if next(it, _END) is not _END:
        raise ValueError("more leaves than the structure holds")
    return out


_END = object()


def _build(tree: TreeDef, it: Iterator[Any]) -> Any:
    if tree.is_leaf:
        value = next(it, _END)
        if value is _END:
            raise ValueError("fewer leaves than the structure holds")
        return value
    parts = [_build(c, it) for c in tree.children]
    if tree.kind == "dict":
        return dict(zip(tree.keys, parts))
    if tree.kind == "namedtuple":
        assert tree.cls is not None
        return tree.cls(*parts)
    return parts if tree.kind == "list" else tuple(parts)


def subtrees(tree: TreeDef, path: tuple = ()) -> Iterator[tuple[tuple, TreeDef]]:
    """Every node of ``tree`` with its path, the root first, depth first."""
    yield path, tree
    for step, child in zip(tree.steps(), tree.children):
        yield from subtrees(child, path + (step,))


def leaf_paths(tree: TreeDef) -> list[tuple]:
    return [p for p, t in subtrees(tree) if t.is_leaf]


def _step_text(step: Any) -> str:
    return step.name if isinstance(step, Field) else str(step)


def path_text(name: str, path: tuple) -> str:
    """``params.layers.0.W``: the argument's name and each step, joined by dots (the ``wrt`` form)."""
    return ".".join([name, *map(_step_text, path)]) if name else ".".join(map(_step_text, path))


def path_code(name: str, path: tuple, literal: Callable[[Any], str] = escape.literal) -> str:
    """Python code reading the leaf at ``path`` of argument ``name``: keys and positions as subscripts
    (keys written by :func:`symdiff.escape.literal`), namedtuple fields as attributes."""
    code = name
    for step in path:
        code += f".{step.name}" if isinstance(step, Field) else f"[{literal(step)}]"
    return code


_SUBSCRIPT = re.compile(r"\[([^\[\]]*)\]")


def _match(pattern: str, text: str) -> re.Match:
    """``re.match`` of a pattern that matches every text it is given here."""
    m = re.match(pattern, text)
    assert m is not None
    return m


def parse_path(text: str) -> tuple[str, list[str]]:
    """A ``wrt`` path as the argument name and its steps as text: ``params.layers.0`` and
    ``params["layers"][0]`` both give ``("params", ["layers", "0"])``."""
    import ast
    head = _match(r"[^.\[]*", text).group(0)
    rest, steps = text[len(head):], []
    while rest:
        if rest.startswith("."):
            part = _match(r"\.([^.\[]*)", rest).group(1)
            steps.append(part)
            rest = rest[len(part) + 1:]
            continue
        m = _SUBSCRIPT.match(rest)
        if not m:
            raise TraceError(f"wrt={text!r}: cannot read the path; write it as name.key.0 (or name['key'][0])")
        try:
            steps.append(str(ast.literal_eval(m.group(1))))
        except (ValueError, SyntaxError):
            steps.append(m.group(1).strip())
        rest = rest[m.end():]
    return head, steps


def find(tree: TreeDef, steps: list[str]) -> tuple | None:
    """The path of the node of ``tree`` the textual ``steps`` lead to, or None."""
    path: tuple = ()
    node = tree
    for text in steps:
        for step, child in zip(node.steps(), node.children):
            if _step_text(step) == text:
                path, node = path + (step,), child
                break
        else:
            return None
    return path


def at(tree: TreeDef, path: tuple) -> TreeDef:
    """The node of ``tree`` at ``path``."""
    for step in path:
        tree = tree.children[tree.steps().index(step)]
    return tree


@dataclass(frozen=True)
class Layout:
    """How the parameters of the user's function map to the flat list of leaves the code is made for:
    per parameter its name and structure (:data:`LEAF` for a plain argument), and per leaf its name
    in the generated code. Hashable: part of the cache key."""

    params: tuple[str, ...]
    trees: tuple[TreeDef, ...]
    names: tuple[str, ...]

    @property
    def has_trees(self) -> bool:
        return any(not t.is_leaf for t in self.trees)

    def span(self, i: int) -> range:
        """The positions of parameter ``i``'s leaves in the flat list."""
        start = sum(t.num_leaves() for t in self.trees[:i])
        return range(start, start + self.trees[i].num_leaves())

    def leaves(self, values: list[Any]) -> list[Any]:
        """The flat leaves of the parameters' ``values`` (which have this layout's structure)."""
        out: list[Any] = []
        for v, t in zip(values, self.trees):
            out.extend([v] if t.is_leaf else [leaf for _, leaf in flatten(v)[0]])
        return out

    def rebuild(self, leaves: list[Any]) -> list[Any]:
        """The parameters' values holding the flat ``leaves``."""
        out = []
        for i, t in enumerate(self.trees):
            part = [leaves[k] for k in self.span(i)]
            out.append(part[0] if t.is_leaf else unflatten(t, part))
        return out

    def leaf_path(self, k: int) -> tuple[int, tuple]:
        """The parameter and the path of flat leaf ``k``."""
        for i, t in enumerate(self.trees):
            span = self.span(i)
            if k in span:
                return i, leaf_paths(t)[k - span.start]
        raise IndexError(k)


@dataclass(frozen=True)
class TreeWrt:
    """What a module for container arguments needs besides the flat leaves: the ``layout``, the ``wrt``
    items (a parameter and a path into it: the whole argument, a sub-container or a leaf) and whether
    one item was asked for (``single``: its gradient comes back bare, as for a plain argument)."""

    layout: Layout
    items: tuple[tuple[int, tuple], ...]
    single: bool

    @property
    def rebuilds(self) -> bool:
        """Whether a ``wrt`` item is a container (its gradient is rebuilt in its structure)."""
        return any(not at(self.layout.trees[i], path).is_leaf for i, path in self.items)

    def item_leaves(self, i: int, path: tuple) -> list[int]:
        """The flat positions of the leaves under ``path`` of parameter ``i``."""
        span = self.layout.span(i)
        return [span.start + k for k, p in enumerate(leaf_paths(self.layout.trees[i])) if p[:len(path)] == path]


def exact_key(value: Any) -> Any:
    """The exact key of an argument for the call fast path (see :mod:`symdiff.runtime.fastpath`), going
    into containers: their types, keys in order, namedtuple classes, and each leaf's exact key; None
    when a leaf is one the fast path does not handle (then the call takes the slow path)."""
    t = type(value)
    if t is dict:
        parts = tuple(exact_key(v) for v in value.values())
        return None if None in parts else ("dict", tuple(value), parts)
    if t is list or t is tuple or is_namedtuple(value):
        parts = tuple(exact_key(v) for v in value)
        return None if None in parts else (t.__name__ if t in (list, tuple) else t, parts)
    if value is None:
        return ("None",)
    return value.shape if t is np.ndarray and value.dtype is _F64 else _other_key(value)
