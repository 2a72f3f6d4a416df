"""From nodes to a Python module: schedule statements, name them, print them, render the template.

Statements follow the order of the user's program; each gradient statement carries a
``# Grad of: <source line>`` comment. Anonymous single-use nodes are printed inline in their user.
The module text comes from the Jinja templates in the top-level ``templates/`` folder.
"""
from __future__ import annotations

import ast
import functools
import os
import re
import textwrap
from dataclasses import dataclass, field
from typing import Sequence

import jinja2
import sympy as sp

from ... import escape
from ...ir.graph import ARG, Node, toposort
from ...naming import Namer
from .dispatch.index import after_masks, format_index, needs_sizes, runtime_sources
from ...runtime.paths import templates_dir
from .linebreak import wrap_lines, wrap_text
from .printer import MAX_CODE_DEPTH, ExprPrinter, Helpers, code_depth, is_atomic, unwrap
from .dispatch import EMIT, PARTS
from .dispatch.loop import LOOP_OPS, Rebound


@dataclass
class Function:
    """One generated function: its name, parameters, docstring, body lines and returned names."""

    name: str
    params: list[str]
    doc: str
    body: list[str]
    decorator: str = ""  # e.g. numba.njit(cache=True) (symdiff/backends/numba)


@dataclass
class ModuleText:
    """Everything the module template needs besides the functions: constants and helpers, named so
    that no name of the user's (``reserved``) can shadow them."""

    reserved: set[str] = field(default_factory=set)
    constants: list[tuple[str, str]] = field(default_factory=list)
    const_names: dict[str, str] = field(default_factory=dict)
    helpers: Helpers = field(default_factory=Helpers)
    #: printed expressions over named arrays, with marks where the names go (see NodePrinter.expr)
    printed: dict[tuple, str] = field(default_factory=dict)

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
            self.constants.append((name, constant_code(value.array)))


def constant_code(arr) -> str:
    """Code that makes the constant ``arr``: ``np.eye(n)``, ``1 - np.eye(n)`` or ``np.full(shape, v)`` where
    it is one of those (exactly), else the listing of its values."""
    import numpy as np
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
    (n, m), out = arr.shape, []
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

    #: Each primitive's code (another backend's printer may add ops of its own, see backends/numba).
    emit_table = EMIT

    def __init__(self, module: ModuleText, params: Sequence[str], size_bindings: dict[sp.Symbol, str]) -> None:
        self.module = module
        self.namer = Namer(params)
        for name in list(module.const_names.values()) + list(module.helpers.names.values()):
            self.namer.reserve(name)
        self.size_bindings = size_bindings
        self.size_names: dict[sp.Symbol, str] = {}
        self.code: dict[int, str] = {}
        self.runtime: dict[sp.Symbol, Node] = {}  # sizes known only at run time -> the mask they count
        self.lines: list[str] = []  # the statements being printed (a run-time size is read into them)
        self.named: set[int] = set()  # nodes that get a statement of their own (a loop's inputs)
        self.last_origin = None

    # ---- services for primitives' emit functions ----
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
        sizes = self._size_symbols(node.expr)
        small = {ARG[i] for i, x in enumerate(node.inputs) if tuple(x.shape) != tuple(node.shape)} | set(sizes)
        integer = node.dtype == "int64"  # integer data (labels, indices) keeps integer literals
        floating = frozenset(ARG[i] for i, x in enumerate(node.inputs) if x.dtype == "float64")
        names = [*args, *sizes.values()]
        if not all(a.isidentifier() and not a.startswith(_MARK) for a in names):
            return ExprPrinter({**{ARG[i]: a for i, a in enumerate(args)}, **sizes}, self.module.helpers, small,
                               float_literals=not integer, integer=integer, floating=floating).doprint(node.expr)
        # Over plain names the printed form does not depend on the names (each is one operand): printed
        # once per module with marks in their places, then filled in (a long program repeats expressions).
        key = (node.expr, frozenset(small), integer, floating, tuple(sorted((s.name, v) for s, v in sizes.items())))
        template = self.module.printed.get(key)
        if template is None:
            marks = {ARG[i]: f"{_MARK}{i}_" for i in range(len(args))}
            template = ExprPrinter({**marks, **sizes}, self.module.helpers, small, float_literals=not integer,
                                   integer=integer, floating=floating).doprint(node.expr)
            self.module.printed[key] = template
        return _MARKS.sub(lambda m: args[int(m.group(1))], template)

    def _size_symbols(self, expr: sp.Expr) -> dict[sp.Symbol, str]:
        out = {}
        for s in expr.free_symbols:
            if s in self.runtime:  # read where first needed, after its mask is computed
                if s not in self.size_names:
                    self.size_names[s] = self.namer.fresh(s.name)
                    self.lines.append(f"{self.size_names[s]} = np.count_nonzero({self.code[id(self.runtime[s])]})")
                out[s] = self.size_names[s]
            elif s in self.size_bindings:
                if s not in self.size_names:
                    self.size_names[s] = self.namer.fresh(s.name)
                out[s] = self.size_names[s]
        return out

    # ---- the body ----
    def _unpack(self, group: tuple, hints: dict[int, str], last_origin) -> list[str]:
        """One call for every used part of a decomposition: ``w, V = np.linalg.eigh(A)``."""
        call, slots = group
        first = next(s for s in slots if s is not None)
        names = []
        for s in slots:
            if s is None:
                names.append("_" if "_" not in self.namer.taken else self.namer.fresh("unused"))
                continue
            self.code[id(s)] = self.namer.fresh(s.name or hints.get(id(s)))
            names.append(self.code[id(s)])
        lines = []
        origin = first.origin
        if origin is not None and origin.text and origin != last_origin:
            lines.append(f"# {'Grad of: ' if origin.grad else ''}{escape.comment(origin.text)}")
        return lines + [f"{', '.join(names)} = {call([self.code[id(i)] for i in first.inputs], self)}"]

    def preset(self, node: Node) -> str | None:
        """The name an earlier statement already gave ``node``'s value (none here)."""
        return None

    def _in_place(self, node: Node, uses: dict[int, int], out_ids: set[int]) -> bool:
        return node.op == "setitem" and _fresh_and_dead(node.inputs[0], uses, out_ids) and \
            self.code.get(id(node.inputs[0]), "").isidentifier()

    def statements(self, outputs: list[Node], hints: dict[int, str], forced: dict[int, str] | None = None,
                   carried: dict[int, str] | None = None) -> list[str]:
        """Statements computing ``outputs`` (codes of nodes already in ``self.code`` are used as they are).
        ``forced``: nodes bound to exactly these names (a loop's carried variables, rebound in place);
        ``carried``: the carried inputs' names, which raises :class:`Rebound` where a statement would read
        a carried variable's old value after its new value was bound."""
        full = toposort(outputs)
        self.runtime.update(runtime_sources(full))
        full = after_masks(full, self.runtime)
        order = [n for n in full if id(n) not in self.code]
        uses = _use_counts(full)
        for s in needs_sizes(full, self.runtime):  # np.count_nonzero(mask) reads the mask once more
            uses[id(self.runtime[s])] = uses.get(id(self.runtime[s]), 0) + 1
        out_ids = {id(o) for o in outputs}
        forced = forced or {}
        reads: dict[int, frozenset] = {k: frozenset((v,)) for k, v in (carried or {}).items()}
        rebound: set[str] = set()
        lazy: set[int] = set()  # zeros only a loop starts from: it makes its own (np.zeros)
        for node in order:
            if node.op == "loop":  # read on every iteration: computed once, before the loop
                k = node.param("body").carry_count
                self.named.update(id(i) for i in node.inputs[k:])
                lazy.update(id(i) for i in node.inputs[:k] if i.op == "broadcast_to")
        lazy -= {id(i) for n in order if n.op != "loop" for i in n.inputs} | self.named | out_ids
        lines: list[str] = []
        outer, self.lines = self.lines, lines
        try:
            self._statements(order, hints, uses, out_ids, forced, reads, rebound, lazy, lines)
        finally:
            self.lines = outer
        return lines

    def _statements(self, order, hints, uses, out_ids, forced, reads, rebound, lazy, lines) -> None:
        depths: dict[int, int] = {}  # how deep the code of inlined nodes nests (named ones: 0)
        groups = _part_groups(order)
        for node in order:
            if id(node) in self.code:  # a part of a decomposition unpacked with its first sibling
                continue
            if id(node) in groups:
                lines.extend(self._unpack(groups[id(node)], hints, self.last_origin))
                if node.origin is not None and node.origin.text:
                    self.last_origin = node.origin
                continue
            if node.op == "input":
                self.code[id(node)] = node.param("name")
                continue
            if (preset := self.preset(node)) is not None:  # named by an earlier statement (it returned several)
                self.code[id(node)] = preset
                continue
            read = frozenset().union(*(reads.get(id(i), frozenset()) for i in node.inputs))
            if node.op in ("stop_gradient", "random_after"):  # the same array: no statement of its own
                self.code[id(node)] = self.code[id(node.inputs[0])]
                reads[id(node)] = reads.get(id(node.inputs[0]), frozenset())
                continue
            if node.op in LOOP_OPS:
                lines.extend(LOOP_OPS[node.op](node, self, uses))
                continue
            if read & rebound:
                raise Rebound(sorted(read & rebound))
            if self._in_place(node, uses, out_ids):  # y[t] = v into the array made by the previous assignment
                base = self.code[id(node.inputs[0])]
                index = format_index(node.param("index"), [self.code[id(a)] for a in node.inputs[2:]])
                lines.append(f"{base}[{index}] = {unwrap(self.code[id(node.inputs[1])])}")
                self.code[id(node)] = base
                continue
            emit = self.emit_table[node.op]
            code = emit(node, [self.code[id(i)] for i in node.inputs], self)
            block = not isinstance(code, str)  # statements filling the array named {name}
            depth = code_depth(node, [depths.get(id(i), 0) for i in node.inputs])
            inline = not block and node.op != "setitem" and id(node) not in forced and (
                id(node) in lazy or (node.name is None and id(node) not in out_ids and id(node) not in self.named
                                     and uses.get(id(node), 0) == 1 and depth <= MAX_CODE_DEPTH
                                     and len(code) <= MAX_INLINE_CHARS)
                or node.op == "const" or (node.op == "elementwise" and not node.inputs))
            if inline:
                self.code[id(node)] = code
                depths[id(node)] = depth
                reads[id(node)] = read
                continue
            name = forced[id(node)] if id(node) in forced else self.namer.fresh(node.name or hints.get(id(node)))
            self.code[id(node)] = name
            origin = node.origin
            if origin is not None and origin.text and origin != self.last_origin:
                lines.append(f"# {'Grad of: ' if origin.grad else ''}{escape.comment(origin.text)}")
                self.last_origin = origin
            lines.extend([line.replace("{name}", name) for line in code] if block else [f"{name} = {unwrap(code)}"])
            if id(node) in forced:
                rebound.add(name)

    def body(self, outputs: list[Node], labels: list[str], returns: str,
             casts: Sequence[str | None] = ()) -> list[str]:
        """Statements computing ``outputs``, bound to ``labels``, then ``returns`` formatted with
        their names (cast to the dtype in ``casts``, where given)."""
        hints = {id(o): label for o, label in zip(reversed(outputs), reversed(labels))}
        lines = self.statements(outputs, hints)
        # Outputs under their own labels (the value, dw, db, ...).
        final = []
        for node, label, cast in zip(outputs, labels, list(casts) + [None] * len(outputs)):
            code = self.code[id(node)]
            if code != label and label not in self.namer.taken:
                self.namer.reserve(label)
                lines.append(f"{label} = {code}")
                code = label
            final.append(code if cast is None else f"np.asarray({code}, dtype=np.{cast})")
        sizes = [f"{name} = {self.size_bindings[s]}"
                 for s, name in sorted(self.size_names.items(), key=lambda kv: kv[1]) if s not in self.runtime]
        return sizes + lines + [returns.format(*final)]


def _part_groups(order: list[Node]) -> dict[int, tuple]:
    """Nodes that are parts of one call returning a tuple (``w, V = np.linalg.eigh(A)``: the same
    primitive, inputs and parameters but the part), where more than one part is used: node id ->
    (the call's code, the parts in the call's order, None for those not used)."""
    found: dict[tuple, tuple] = {}
    for node in order:
        spec = PARTS.get(node.op, lambda n: None)(node)
        if spec is None:
            continue
        key, call, index, count = spec
        key = (node.op, tuple(id(i) for i in node.inputs), key)
        slots = found.setdefault(key, (call, [None] * count))[1]
        if slots[index] is None:
            slots[index] = node
    out = {}
    for call, slots in found.values():
        if sum(s is not None for s in slots) > 1:
            for s in slots:
                if s is not None:
                    out[id(s)] = (call, slots)
    return out


#: Longest code printed inline in its user; longer code gets a statement and a name of its own, so a
#: long sum is printed as a few lines a person can read, not one line of thousands of characters.
MAX_INLINE_CHARS = 240

_MARK = "_symdiff_arg"
_MARKS = re.compile(_MARK + r"(\d+)_")


def _fresh_and_dead(base: Node, uses: dict[int, int], out_ids: set[int]) -> bool:
    """``base`` is an array this function made by an assignment (so no one else holds it) and nothing
    reads it later: the next assignment may write into it instead of copying it."""
    return base.op == "setitem" and uses.get(id(base), 0) == 1 and id(base) not in out_ids


def _use_counts(order: list[Node]) -> dict[int, int]:
    """How often each node's value is read: an elementwise user reads an input once per occurrence
    of its placeholder, so inlining is only done where it does not repeat work."""
    uses: dict[int, int] = {}
    for node in order:
        counts = _placeholder_counts(node.expr, len(node.inputs)) if node.op == "elementwise" else ()
        for i, inp in enumerate(node.inputs):
            uses[id(inp)] = uses.get(id(inp), 0) + max(counts[i] if counts else 1, 1)
    return uses


@functools.lru_cache(maxsize=1 << 14)
def _placeholder_counts(expr: sp.Expr, n: int) -> tuple[int, ...]:
    """How often each of the placeholders ``ARG[:n]`` occurs in ``expr`` (remembered: long programs
    repeat their expressions)."""
    return tuple(expr.count(ARG[i]) for i in range(n))


def _reads_np(functions: list[Function]) -> bool:
    """Whether some function's code reads ``np`` (comments quoting the user's ``np.mean`` do not count:
    a module with no NumPy call imports no NumPy)."""
    for f in functions:
        text = "\n".join(f.body)
        if "np" not in text:
            continue
        try:
            tree = ast.parse(textwrap.dedent(text))
        except SyntaxError:  # not a statement list by itself: the text decides
            return True
        if any(isinstance(n, ast.Name) and n.id == "np" for n in ast.walk(tree)):
            return True
    return False


_ENV: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(os.fspath(templates_dir())),
                                  undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, autoescape=False)
        # the only ways user text enters the module text: see symdiff.escape
        _ENV.filters.update(comment=escape.comment, docstring=escape.docstring, wrap=wrap_text)
    return _ENV


def render_module(header: dict, functions: list[Function], module: ModuleText,
                  filename: str = "<symdiff generated module>") -> str:
    """The module text, checked: every function and parameter name an identifier, and the whole text
    compiled (as ``filename``) before anyone writes or imports it (see :mod:`symdiff.escape`)."""
    try:
        for f in functions:
            escape.name(f.name)
            for p in f.params:
                escape.name(p.partition("=")[0])
    except escape.NotALiteral as exc:
        from ...errors import InternalError
        raise InternalError(f"internal error: a generated function or parameter name: {exc}; nothing was "
                            "written. Please report this with the function") from exc
    functions = [Function(f.name, f.params, f.doc, wrap_lines(f.body), f.decorator) for f in functions]
    body_text = "\n".join(line for f in functions for line in f.body)
    uses_np = _reads_np(functions) or bool(module.constants) or bool(module.helpers)
    uses_numba = any(f.decorator.startswith("numba.") for f in functions)
    text = environment().get_template("module.py.j2").render(
        header=header, functions=functions, constants=module.constants,
        helpers=module.helpers.sources(), uses_numpy=uses_np, uses_numba=uses_numba,
        uses_scipy_linalg="scipy.linalg." in body_text)
    escape.check_compiles(text, filename)
    return text
