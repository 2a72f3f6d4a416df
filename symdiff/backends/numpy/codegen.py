"""From nodes to statements: schedule them, name them, print them (the module text is rendered from
these by :mod:`.render`).

Statements follow the order of the user's program, each group under the comment of its source line,
``# Grad of: model.py:7: z = x @ w + b`` for the gradient (the rule: :mod:`.comments`). Anonymous
single-use nodes are printed inline in their user.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import sympy as sp

from ...ir.graph import ARG, Node, Origin, toposort
from . import comments
from ...naming import Namer
from .dispatch.index import after_masks, format_index, needs_sizes, runtime_sources
from .printer import MAX_CODE_DEPTH, ExprPrinter, Helpers, code_depth, is_atomic, unwrap
from .dispatch import EMIT, PARTS
from .dispatch.loop import LOOP_OPS, Rebound
from .constants import StoredArray, constant_code, listing, load_code, loader_source, short_code, store, stored  # noqa: F401


@dataclass
class Function:
    """One generated function: its name, parameters, docstring, body lines and returned names."""

    name: str
    params: list[str]
    doc: str
    body: list[str]
    decorator: str = ""  # e.g. numba.njit(cache=True) (symdiff/backends/numba)
    hint: str = ""  # the return annotation, " -> ..." (--annotate; parameters carry theirs)


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
    #: "float32" for a module made for float32 arrays only: arrays it creates (ones, broadcast numbers,
    #: constants) are float32 too, so nothing is promoted to float64 (see :meth:`NodePrinter.dtype_arg`).
    float_dtype: str = "float64"
    #: the user's names of arrays the function read (digest -> (name, file:line)), for stored constants
    array_names: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    #: constants stored beside the module (see :mod:`.constants`), and the name of their loader
    data: list[StoredArray] = field(default_factory=list)
    loader: str = ""

    #: large constants go to .npy files beside the module (a backend whose code cannot load them: False)
    stores_data = True

    def __post_init__(self) -> None:
        self.helpers = Helpers(self.reserved)

    def name_constants(self, nodes: Sequence[Node]) -> None:
        """Name every constant up front, so function bodies can avoid those names."""
        for node in nodes:
            value = node.param("value") if node.op == "const" else None
            if value is None or value.digest in self.const_names:
                continue
            if self.stores_data and short_code(value.array) is None and stored(value.array):
                self._store(value)  # a large constant: in a .npy file beside the module
                continue
            code = self.constant_code(value.array)
            k = len(self.const_names)
            while f"C{k}" in self.reserved:
                k += 1
            name = f"C{k}"
            self.reserved.add(name)
            self.const_names[value.digest] = name
            self.constants.append((name, code))

    def constant_code(self, arr) -> str:
        """How a constant array is written at the top of the module (a backend's ModuleText replaces it)."""
        return constant_code(arr, self.float_dtype)

    def _store(self, value) -> None:
        if not self.loader:
            self.loader = Namer(self.reserved).fresh("_load_data")
            self.reserved.add(self.loader)
        hint, where = self.array_names.get(value.digest, (None, None))
        arr = value.array.astype("float32") if self.float_dtype == "float32" and value.array.dtype == "float64" \
            else value.array
        s = store(arr, hint, where, self.reserved, len(self.data))
        self.reserved.add(s.name)
        self.const_names[value.digest] = s.name
        self.constants.append((s.name, load_code(self.loader, s)))
        self.data.append(s)


class NodePrinter:
    """Prints one function body: gives nodes names, prints each statement with its primitive's emit.

    A backend printing for another namespace subclasses it and replaces the hooks: ``emit_table`` (the
    primitives' code), ``parts_table`` (calls returning a tuple), ``expr_printer`` (SymPy kernels and sizes),
    :meth:`cast` and :meth:`_in_place`."""

    #: Each primitive's code (another backend's printer may add ops of its own, see backends/numba).
    emit_table: Any = EMIT  # (a mapping of op -> emit function)
    parts_table: Any = PARTS  # primitives printed as one part of a call returning a tuple (see dispatch/table.py)
    expr_printer = ExprPrinter
    loop_ops: Any = LOOP_OPS  # ops printed whole, as statements (a loop; backends/numba compiles loops)

    def __init__(self, module: ModuleText, params: Sequence[str], size_bindings: dict[sp.Symbol, str]) -> None:
        self.module = module
        self.namer = Namer(params)
        for name in [*module.const_names.values(), *module.helpers.names.values(), module.loader]:
            self.namer.reserve(name)
        self.size_bindings = size_bindings
        self.size_names: dict[sp.Symbol, str] = {}
        self.code: dict[int, str] = {}
        self.runtime: dict[sp.Symbol, Node] = {}  # sizes known only at run time -> the mask they count
        self.lines: list[str] = []  # the statements being printed (a run-time size is read into them)
        self.named: set[int] = set()  # nodes that get a statement of their own (a loop's inputs)
        self.last_origin: Origin | None = None  # the line whose comment the statements are under
        self.shown: dict[int, Origin] = {}  # the line each node's statement is listed under (see .comments)

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
        return self.expr_printer(self._size_symbols(d)).doprint(d)

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
            return self.expr_printer({**{ARG[i]: a for i, a in enumerate(args)}, **sizes}, self.module.helpers, small,
                                     float_literals=not integer, integer=integer, floating=floating).doprint(node.expr)
        # Over plain names the printed form does not depend on the names (each is one operand): printed
        # once per module with marks in their places, then filled in (a long program repeats expressions).
        key = (node.expr, frozenset(small), integer, floating, tuple(sorted((s.name, v) for s, v in sizes.items())))
        template = self.module.printed.get(key)
        if template is None:
            marks = {ARG[i]: f"{_MARK}{i}_" for i in range(len(args))}
            template = self.expr_printer({**marks, **sizes}, self.module.helpers, small, float_literals=not integer,
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
            elif s in self.size_names:  # (bound by the printed code itself: a while loop's trip count)
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
        origin = self.shown.get(id(first))
        if origin is not None and not comments.same_line(origin, last_origin):
            lines.append(comments.line(origin))
        return lines + [f"{', '.join(names)} = {call([self.code[id(i)] for i in first.inputs], self)}"]

    def comment_text(self, origin) -> str:
        """The comment over a statement: its source line (:func:`comments.line`). Inside a loop body
        (``comment_width`` set), a line already shown in full and too long for one comment line is shown
        again cut to one, with ... (an ODE step evaluates one long right-hand side at every stage)."""
        text = comments.line(origin)
        shown = self.__dict__.setdefault("shown_comments", set())
        width = getattr(self, "comment_width", None)
        if width and text in shown and (len(text) > width + 2 or "\n" in text):
            return text.splitlines()[0][:width + 2 - 4].rstrip() + " ..."
        shown.add(text)
        return text

    def preset(self, node: Node) -> str | None:
        """The name an earlier statement already gave ``node``'s value (none here)."""
        return None

    def _in_place(self, node: Node, uses: dict[int, int], out_ids: set[int]) -> bool:
        return node.op == "setitem" and _fresh_and_dead(node.inputs[0], uses, out_ids) and \
            self.code.get(id(node.inputs[0]), "").isidentifier()

    def statements(self, outputs: list[Node], hints: dict[int, str], forced: dict[int, str] | None = None,
                   carried: dict[int, str] | None = None, order: list[Node] | None = None) -> list[str]:
        """Statements computing ``outputs`` (codes of nodes already in ``self.code`` are used as they are).
        ``forced``: nodes bound to exactly these names (a loop's carried variables, rebound in place);
        ``carried``: the carried inputs' names, which raises :class:`Rebound` where a statement would read
        a carried variable's old value after its new value was bound; ``order``: the nodes in the order
        to print them (a topological order of ``outputs``' nodes; by default :func:`toposort`'s), which
        :func:`comments.source_order` schedules by source line (ties kept in that order)."""
        full, shown = comments.source_order(toposort(outputs) if order is None else order)
        self.shown.update(shown)
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
        groups = _part_groups(order, self.parts_table)
        for node in order:
            if id(node) in self.code:  # a part of a decomposition unpacked with its first sibling
                continue
            if id(node) in groups:
                lines.extend(self._unpack(groups[id(node)], hints, self.last_origin))
                self.last_origin = self.shown.get(id(node), self.last_origin)
                continue
            if node.op == "input" or (node.op == "random_source" and node.param("kind") == "argument"):
                self.code[id(node)] = node.param("name") if node.op == "input" else node.param("args")[0]
                continue
            if (preset := self.preset(node)) is not None:  # named by an earlier statement (it returned several)
                self.code[id(node)] = preset
                continue
            read = frozenset().union(*(reads.get(id(i), frozenset()) for i in node.inputs))
            if node.op in ("stop_gradient", "random_after"):  # the same array: no statement of its own
                self.code[id(node)] = self.code[id(node.inputs[0])]
                reads[id(node)] = reads.get(id(node.inputs[0]), frozenset())
                continue
            if node.op in self.loop_ops:
                lines.extend(self.loop_ops[node.op](node, self, uses))
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
                assert isinstance(code, str)
                self.code[id(node)] = code
                depths[id(node)] = depth
                reads[id(node)] = read
                continue
            name = forced[id(node)] if id(node) in forced else self.namer.fresh(node.name or hints.get(id(node)))
            self.code[id(node)] = name
            origin = self.shown.get(id(node))
            if origin is not None and not comments.same_line(origin, self.last_origin):
                lines.append(self.comment_text(origin))
                self.last_origin = origin
            lines.extend([line.replace("{name}", name) for line in code] if not isinstance(code, str) else
                         [f"{name} = {unwrap(code)}"])
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
            final.append(code if cast is None else self.cast(code, cast))
        sizes = [f"{name} = {self.size_bindings[s]}"
                 for s, name in sorted(self.size_names.items(), key=lambda kv: kv[1])
                 if s not in self.runtime and s in self.size_bindings]
        return sizes + lines + [returns.format(*final)]


    def cast(self, code: str, dtype: str) -> str:
        """``code`` as an array of ``dtype`` (an output returned in its parameter's dtype)."""
        if dtype.endswith("()"):  # a scalar: np.float32(...)
            return f"np.{dtype[:-2]}({code})"
        return f"np.asarray({code}, dtype=np.{dtype})"


def _part_groups(order: list[Node], parts: dict) -> dict[int, tuple]:
    """Nodes that are parts of one call returning a tuple (``w, V = np.linalg.eigh(A)``: the same
    primitive, inputs and parameters but the part), where more than one part is used: node id ->
    (the call's code, the parts in the call's order, None for those not used)."""
    found: dict[tuple, tuple] = {}
    for node in order:
        spec = parts.get(node.op, lambda n: None)(node)
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
        counts = _placeholder_counts(node.expr, len(node.inputs)) if node.op == "elementwise" else ()
        for i, inp in enumerate(node.inputs):
            uses[id(inp)] = uses.get(id(inp), 0) + max(counts[i] if counts else 1, 1)
    return uses


@functools.lru_cache(maxsize=1 << 14)
def _placeholder_counts(expr: sp.Expr, n: int) -> tuple[int, ...]:
    """How often each of the placeholders ``ARG[:n]`` occurs in ``expr`` (remembered: long programs
    repeat their expressions)."""
    return tuple(expr.count(ARG[i]) for i in range(n))
