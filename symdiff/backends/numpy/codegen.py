"""From nodes to a Python module: schedule statements, name them, print them, render the template.

Statements follow the order of the user's program; each gradient statement carries a
``# Grad of: <source line>`` comment. Anonymous single-use nodes are printed inline in their user.
The module text comes from the Jinja templates in the top-level ``templates/`` folder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import jinja2
import sympy as sp

from ... import escape
from ...ir.graph import ARG, Node, toposort
from ...naming import Namer
from .dispatch.index import format_index
from ...runtime.paths import templates_dir
from .printer import MAX_CODE_DEPTH, ExprPrinter, Helpers, code_depth, is_atomic, unwrap
from .dispatch import EMIT


@dataclass
class Function:
    """One generated function: its name, parameters, docstring, body lines and returned names."""

    name: str
    params: list[str]
    doc: str
    body: list[str]
    hint: str = ""  # the return annotation, " -> ..." (--annotate; parameters carry theirs)


@dataclass
class ModuleText:
    """Everything the module template needs besides the functions: constants and helpers, named so
    that no name of the user's (``reserved``) can shadow them."""

    reserved: set[str] = field(default_factory=set)
    constants: list[tuple[str, str]] = field(default_factory=list)
    const_names: dict[str, str] = field(default_factory=dict)
    helpers: Helpers = field(default_factory=Helpers)
    #: "float32" for a module made for float32 arrays only: arrays it creates (ones, broadcast numbers,
    #: constants) are float32 too, so nothing is promoted to float64 (see :meth:`NodePrinter.dtype_arg`).
    float_dtype: str = "float64"

    def __post_init__(self) -> None:
        self.helpers = Helpers(self.reserved)

    def name_constants(self, nodes: Sequence[Node]) -> None:
        """Name every constant up front, so function bodies can avoid those names."""
        for node in nodes:
            value = node.param("value") if node.op == "const" else None
            if value is None or value.digest in self.const_names:
                continue
            k = len(self.const_names)
            while f"C{k}" in self.reserved:
                k += 1
            name = f"C{k}"
            self.reserved.add(name)
            self.const_names[value.digest] = name
            self.constants.append((name, constant_code(value.array, self.float_dtype)))


def constant_code(arr, float_dtype: str = "float64") -> str:
    """Code that makes the constant ``arr``: ``np.eye(n)``, ``1 - np.eye(n)`` or ``np.full(shape, v)`` where
    it is one of those (exactly), else the listing of its values; in a float32 module (``float_dtype``) a
    float64 constant is made float32."""
    import numpy as np
    if float_dtype == "float32" and arr.dtype == np.float64:
        code = constant_code(arr)
        if code.startswith("np.array("):
            return constant_code(arr.astype(np.float32))
        return f"{code if code.startswith('np.') else f'({code})'}.astype(np.float32)"
    if arr.size > 1 and arr.dtype == np.float64:  # compared bytewise: the signs of zeros count
        first = float(arr.flat[0])
        candidates = [(f"np.full({arr.shape!r}, {first!r})", np.full(arr.shape, first))]
        if arr.ndim == 2 and arr.shape[0] == arr.shape[1]:
            n = arr.shape[0]
            candidates += [(f"np.eye({n})", np.eye(n)), (f"1 - np.eye({n})", 1 - np.eye(n))]
        if arr.ndim == 2 and np.isin(arr, (0.0, 1.0)).all():
            candidates += _triangles(arr)
        for code, made in candidates:
            if made.tobytes() == arr.tobytes():
                return code
    listing = repr(arr.tolist())  # Python's repr of a float reads back to the same float
    return f"np.array({listing}, dtype=np.{arr.dtype})"


def _triangles(arr) -> list:
    """``np.triu(np.ones((n, m)), k)`` and ``np.tril(...)`` with the ``k`` each would need to give ``arr``."""
    import numpy as np
    n, m = arr.shape
    out = []
    row, col = arr[0], arr[:, 0]
    # triu: row 0 starts at column k >= 0, or column 0 holds 1 - k ones (k <= 0)
    k_up = int(np.argmax(row)) if row.any() and not row[0] else -int(np.argmin(col) - 1 if not col.all() else n - 1)
    # tril: column 0 starts at row -k >= 0, or row 0 holds k + 1 ones (k >= 0)
    k_lo = -int(np.argmax(col)) if col.any() and not col[0] else int(np.argmin(row) - 1 if not row.all() else m - 1)
    for fn, k in (("triu", k_up), ("tril", k_lo)):
        out.append((f"np.{fn}(np.ones(({n}, {m})){'' if k == 0 else f', {k}'})", getattr(np, fn)(np.ones((n, m)), k)))
    return out


class NodePrinter:
    """Prints one function body: gives nodes names, prints each statement with its primitive's emit."""

    def __init__(self, module: ModuleText, params: Sequence[str], size_bindings: dict[sp.Symbol, str]) -> None:
        self.module = module
        self.namer = Namer(params)
        for name in list(module.const_names.values()) + list(module.helpers.names.values()):
            self.namer.reserve(name)
        self.size_bindings = size_bindings
        self.size_names: dict[sp.Symbol, str] = {}
        self.code: dict[int, str] = {}

    # ---- services for primitives' emit functions ----
    def dtype_arg(self) -> str:
        """``, dtype=np.float32`` for the arrays a float32 module creates (``np.ones(n, dtype=...)``), else ""."""
        return ", dtype=np.float32" if self.module.float_dtype == "float32" else ""

    def float_number(self, node: Node, code: str) -> str:
        """A number broadcast into an array: ``np.float32(1.0)`` in a float32 module (a bare ``1`` would make an
        integer array, ``1.0`` a float64 one), else ``code``."""
        if self.module.float_dtype == "float32" and node.dtype in ("float64", "float32") and _is_number(code):
            return f"np.float32({code})"
        return code

    def paren(self, code: str, op: str, right: bool = False) -> str:
        return code if is_atomic(code) else f"({code})"

    def size(self, d: sp.Expr) -> str:
        return ExprPrinter(self._size_symbols(d)).doprint(d)

    def shape(self, shape) -> str:
        parts = [self.size(d) for d in shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    def index(self, index: tuple) -> str:
        return format_index(index, [])

    def helper_call_code(self, name: str, args: list[str]) -> str:
        return f"{self.module.helpers.use(name)}({', '.join(args)})"

    def const_name(self, node: Node) -> str:
        return self.module.const_names[node.param("value").digest]

    def expr(self, node: Node, args: list[str]) -> str:
        symbols = {ARG[i]: a for i, a in enumerate(args)}
        sizes = self._size_symbols(node.expr)
        symbols.update(sizes)
        small = {ARG[i] for i, x in enumerate(node.inputs) if tuple(x.shape) != tuple(node.shape)} | set(sizes)
        integer = node.dtype == "int64"  # integer data (labels, indices) keeps integer literals
        return ExprPrinter(symbols, self.module.helpers, small, float_literals=not integer,
                            integer=integer).doprint(node.expr)

    def _size_symbols(self, expr: sp.Expr) -> dict[sp.Symbol, str]:
        out = {}
        for s in expr.free_symbols:
            if s in self.size_bindings:
                if s not in self.size_names:
                    self.size_names[s] = self.namer.fresh(s.name)
                out[s] = self.size_names[s]
        return out

    # ---- the body ----
    def _in_place(self, node: Node, uses: dict[int, int], out_ids: set[int]) -> bool:
        return node.op == "setitem" and _fresh_and_dead(node.inputs[0], uses, out_ids) and \
            self.code.get(id(node.inputs[0]), "").isidentifier()

    def body(self, outputs: list[Node], labels: list[str], returns: str,
             casts: Sequence[str | None] = ()) -> list[str]:
        """Statements computing ``outputs``, bound to ``labels``, then ``returns`` formatted with
        their names (cast to the dtype in ``casts``, where given)."""
        order = toposort(outputs)
        uses = _use_counts(order)
        out_ids = {id(o) for o in outputs}
        hints = {id(o): label for o, label in zip(reversed(outputs), reversed(labels))}
        lines: list[str] = []
        last_origin = None
        depths: dict[int, int] = {}  # how deep the code of inlined nodes nests (named ones: 0)
        for node in order:
            if node.op == "input":
                self.code[id(node)] = node.param("name")
                continue
            if node.op in ("stop_gradient", "random_after"):  # the same array: no statement of its own
                self.code[id(node)] = self.code[id(node.inputs[0])]
                continue
            if self._in_place(node, uses, out_ids):  # y[t] = v into the array made by the previous assignment
                base = self.code[id(node.inputs[0])]
                index = format_index(node.param("index"), [self.code[id(a)] for a in node.inputs[2:]])
                lines.append(f"{base}[{index}] = {unwrap(self.code[id(node.inputs[1])])}")
                self.code[id(node)] = base
                continue
            emit = EMIT[node.op]
            code = emit(node, [self.code[id(i)] for i in node.inputs], self)
            block = not isinstance(code, str)  # statements filling the array named {name}
            depth = code_depth(node, [depths.get(id(i), 0) for i in node.inputs])
            inline = not block and node.op != "setitem" and (
                (node.name is None and id(node) not in out_ids and uses.get(id(node), 0) == 1
                 and depth <= MAX_CODE_DEPTH) or node.op == "const" or (node.op == "elementwise" and not node.inputs))
            if inline:
                self.code[id(node)] = code
                depths[id(node)] = depth
                continue
            name = self.namer.fresh(node.name or hints.get(id(node)))
            self.code[id(node)] = name
            origin = node.origin
            if origin is not None and origin.text and origin != last_origin:
                lines.append(f"# {'Grad of: ' if origin.grad else ''}{escape.comment(origin.text)}")
                last_origin = origin
            lines.extend([line.replace("{name}", name) for line in code] if block else [f"{name} = {unwrap(code)}"])
        # Outputs under their own labels (the value, dw, db, ...).
        final = []
        for node, label, cast in zip(outputs, labels, list(casts) + [None] * len(outputs)):
            code = self.code[id(node)]
            if code != label and label not in self.namer.taken:
                self.namer.reserve(label)
                lines.append(f"{label} = {code}")
                code = label
            final.append(code if cast is None else f"np.{cast[:-2]}({code})" if cast.endswith("()")
                         else f"np.asarray({code}, dtype=np.{cast})")
        sizes = [f"{name} = {self.size_bindings[s]}"
                 for s, name in sorted(self.size_names.items(), key=lambda kv: kv[1])]
        return sizes + lines + [returns.format(*final)]


def _is_number(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return True


def _fresh_and_dead(base: Node, uses: dict[int, int], out_ids: set[int]) -> bool:
    """``base`` is an array this function made by an assignment (so no one else holds it) and nothing
    reads it later: the next assignment may write into it instead of copying it."""
    return base.op == "setitem" and uses.get(id(base), 0) == 1 and id(base) not in out_ids


def _use_counts(order: list[Node]) -> dict[int, int]:
    """How often each node's value is read: an elementwise user reads an input once per occurrence
    of its placeholder, so inlining is only done where it does not repeat work."""
    uses: dict[int, int] = {}
    for node in order:
        for i, inp in enumerate(node.inputs):
            n = node.expr.count(ARG[i]) if node.op == "elementwise" else 1
            uses[id(inp)] = uses.get(id(inp), 0) + max(n, 1)
    return uses


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(os.fspath(templates_dir())),
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, autoescape=False)
        # the only ways user text enters the module text: see symdiff.escape
        _ENV.filters.update(comment=escape.comment, docstring=escape.docstring)
    return _ENV


def render_module(header: dict, functions: list[Function], module: ModuleText,
                  filename: str = "<symdiff generated module>") -> str:
    """The module text, checked: every function and parameter name an identifier, and the whole text
    compiled (as ``filename``) before anyone writes or imports it (see :mod:`symdiff.escape`)."""
    try:
        for f in functions:
            escape.name(f.name)
            for p in f.params:
                escape.name(p.partition("=")[0].partition(":")[0].strip())
    except escape.NotALiteral as exc:
        from ...errors import InternalError
        raise InternalError(f"internal error: a generated function or parameter name: {exc}; nothing was "
                            "written. Please report this with the function") from exc
    body_text = "\n".join(line for f in functions for line in f.body)
    uses_np = "np." in body_text or bool(module.constants) or bool(module.helpers)
    text = environment().get_template("module.py.j2").render(
        header=header, functions=functions, constants=module.constants,
        helpers=module.helpers.sources(), uses_numpy=uses_np, uses_scipy_linalg="scipy.linalg." in body_text)
    escape.check_compiles(text, filename)
    return text
