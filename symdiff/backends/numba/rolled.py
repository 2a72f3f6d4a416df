"""A rolled loop (:mod:`symdiff.ir.primitives.loop`) on the numba backend: the loop as the NumPy backend
prints it (its set-up, stacks, ``for`` statement, ``# Grad of:`` comments), moved into a function of
its own that numba compiles (``numba.njit(cache=True)``) and the glue calls::

    h, hs, loss = _rnn_rolled1(np.ascontiguousarray(W), ..., float(loss), n_x0)

The function's parameters are the names the loop reads before it binds them (the arrays made
contiguous, the scalars made Python numbers: numba types each call's arguments), and it returns the
names the loop binds at its top level and the carried variables and stacks the code after it reads.

Whether numba compiles the loop is decided here, from the code's syntax (:func:`refusal`): only the
NumPy functions and methods of :data:`NUMPY_FUNCTIONS` / :data:`METHODS` (numba's supported NumPy
list), no keyword but ``dtype=`` / ``axis=``, no list, no call of a module helper, no index by an array
(fancy indexing: read from the syntax and from the body graph, :func:`graph_refusal`) and no dtype
cast; any other loop stays the NumPy backend's Python loop, with a
comment saying why. A loop inside a loop is compiled with its outer loop.
"""
from __future__ import annotations

import ast
import re
from typing import Callable

from ...ir.graph import Node
from ...ir.primitives.index import has_arrays
from .kernels import CONSTANTS as KERNEL_CONSTANTS, SCALAR_FUNCTIONS

#: NumPy functions numba compiles in nopython mode (https://numba.readthedocs.io, "Supported NumPy
#: features") with the arguments the NumPy backend prints: the ufuncs the fused kernels call on scalars
#: (numba takes them on arrays too) and the array functions of a loop body.
NUMPY_FUNCTIONS = SCALAR_FUNCTIONS | frozenset(
    "absolute square reciprocal negative sum dot outer empty zeros ones empty_like zeros_like ones_like where "
    "float64 float32 int64".split())
CONSTANTS = KERNEL_CONSTANTS | frozenset({"float64", "float32", "int64"})
#: Array attributes and methods numba has.
METHODS = frozenset({"T", "shape", "size", "ndim", "copy", "sum", "append"})
#: Methods numba has without arguments only (over the whole array).
WHOLE = frozenset({"max", "min"})
BUILTINS = frozenset({"range", "min", "max", "int", "float", "abs", "len", "True", "False", "None"})
KEYWORDS = frozenset({"dtype", "axis"})


def refusal(tree: ast.Module, helpers: set[str]) -> str | None:
    """Why numba may not compile the loop's code ``tree`` (None: it does)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.List) and not node.elts and isinstance(node.ctx, ast.Load):
            continue  # (a while loop's stack, appended to: see _stacks_as_arrays)
        if isinstance(node, (ast.List, ast.ListComp, ast.Dict, ast.Set, ast.Lambda, ast.Starred, ast.JoinedStr)):
            return f"numba compiles no {type(node).__name__.lower()} here"
        if isinstance(node, ast.Call):
            f = node.func
            bad = [k.arg for k in node.keywords if k.arg not in KEYWORDS]
            if bad:
                return f"keyword {bad[0]}="
            if isinstance(f, ast.Name):
                if f.id in helpers or f.id not in BUILTINS:
                    return f"call of {f.id}"
            elif isinstance(f, ast.Attribute):
                dotted = ast.unparse(f) if _dotted(f) else ""
                if dotted.startswith("np."):
                    if dotted[3:] not in NUMPY_FUNCTIONS:
                        return dotted
                elif f.attr not in METHODS and not (f.attr in WHOLE and not node.args and not node.keywords):
                    return f".{f.attr}()"
            else:
                return "a computed call"
        elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "np":
                if node.attr not in NUMPY_FUNCTIONS | CONSTANTS:
                    return f"np.{node.attr}"
            elif node.attr not in METHODS | WHOLE:
                return f".{node.attr}"
        elif isinstance(node, ast.Subscript) and _fancy(node.slice):
            return "an index by an array"
    return None


FLOATS = ("float64", "float32")
INTEGERS = ("int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8")
#: The primitives whose index may hold arrays, and where their index arrays start among the inputs.
_ARRAYS_FROM = {"gather": 1, "scatter_add": 1, "setitem": 2}


def graph_refusal(node: Node) -> str | None:
    """Why numba may not compile the loop ``node`` from its body graph (None: nothing found): an index
    by an integer array or a mask (a gather, a scatter, an accumulated row ``acc[i] += v`` at an array
    of rows), in the body or a loop inside it. The code's names do not say which names are arrays."""
    todo, seen = [node], set()
    while todo:
        loop = todo.pop()
        for n in loop.param("body").graph.nodes():
            if id(n) in seen:
                continue
            seen.add(id(n))
            if n.op == "loop":
                todo.append(n)
            elif n.op in _ARRAYS_FROM and has_arrays(n.param("index")) and \
                    any(x.ndim or x.dtype == "bool" for x in n.inputs[_ARRAYS_FROM[n.op]:]):
                return "an index by an array"  # (a 0-d integer, the loop's index say, is a plain index)
            elif n.op == "add_at" and len(n.inputs) > 2 and n.inputs[2].ndim:
                return "an index by an array"
            elif n.dtype not in FLOATS + INTEGERS + ("bool",):
                return f"{n.dtype} values"
            elif n.op in ("matmul", "outer", "contract") and not all(x.dtype in FLOATS for x in n.inputs):
                return f"{n.op} of {'/'.join(sorted({x.dtype for x in n.inputs}))} arrays"  # (numba's: floats)
    return None


def _written(tree: ast.AST) -> list[str]:
    """The names of the arrays the code writes into (``x[t] = v``, ``x[t] += v``)."""
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name):
            if node.value.id not in out:
                out.append(node.value.id)
    return out


def _dotted(node: ast.AST) -> bool:
    """``a.b.c``: names and attributes only."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _fancy(index: ast.AST) -> bool:
    """An index numba may read as fancy indexing: a subscript or call inside it (an index array, a
    mask) rather than names, numbers and their arithmetic, slices and ``None``."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    for part in parts:
        for node in ast.walk(part):
            if isinstance(node, (ast.Subscript, ast.Call, ast.Attribute, ast.Compare)):
                return True
    return False


class _Names(ast.NodeVisitor):
    """The names the code reads before it binds them (in order), and those it binds at its top level."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.free: list[str] = []
        self.top: list[str] = []
        self.depth = 0

    def _bind(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            if self.depth == 0 and target.id not in self.top:
                self.top.append(target.id)
            self.bound.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._bind(t)
        else:  # x[t] = v reads x and t
            self.visit(target)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id not in self.bound and node.id not in self.free:
            self.free.append(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for t in node.targets:
            self._bind(t)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.visit_Name(node.target)
        self._bind(node.target)

    def _block(self, body) -> None:
        self.depth += 1
        for s in body:
            self.visit(s)
        self.depth -= 1

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.depth += 1
        self._bind(node.target)
        self.depth -= 1
        self._block(node.body)

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        self._block(node.body)

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self._block(node.body)
        self._block(node.orelse)


def names(tree: ast.Module) -> tuple[list[str], list[str]]:
    """(read before bound, bound at the top level) of ``tree``."""
    v = _Names()
    for s in tree.body:
        v.visit(s)
    return v.free, v.top


def compiled_loop(lines: list[str], later: list[str], kinds: dict[str, str], helpers: set[str],
                  add_function: Callable[[list[str], list[str]], str], globals_: set[str],
                  why: str | None = None) -> list[str]:
    """The glue's lines for the loop ``lines``: a call of its compiled function (``add_function(params,
    body)`` names it), or ``lines`` under a comment saying why numba does not compile them. ``later``:
    the names the code after the loop may read (carried variables, stacks); ``kinds``: how the glue
    passes a name (``array``, ``float64``, ``float32``, ``int``, ``bool``); ``globals_``: the module's
    compiled functions the loop may call (read as globals, not passed); ``why``: a refusal found
    already (:func:`graph_refusal`)."""
    compiled, made = _stacks_as_arrays(lines)
    compiled = [_ZEROS_BROADCAST.sub(r"np.zeros(\1)", _scalar_zeros(line)) for line in compiled]
    text = "\n".join(compiled)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return lines
    why = why or refusal(tree, helpers)
    free, top = names(tree)
    params = [n for n in free if n not in BUILTINS and n not in globals_ and n not in ("np", "numba", "math")]
    if why is None:
        why = next((f"call of {n}" for n in params if n in helpers), None)
    if why is None and not any(isinstance(s, (ast.For, ast.While)) for s in tree.body):
        why = "no loop"
    if why is not None:
        return [f"# Python loop (numba: {why})"] + lines
    bound_anywhere = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    returned = [n for n in top if n not in made] + [n for n in later if n in bound_anywhere and n not in top]
    returned += [n for n in later if n in params and n not in returned and n not in bound_anywhere]
    # an argument written in place is returned too: the glue may have passed a contiguous copy of it
    returned += [n for n in _written(tree) if n in params and n not in returned]
    tail = "," if len(returned) == 1 else ""
    body = compiled + [f"return {', '.join(returned)}{tail}"]
    name = add_function(params, body)
    args = [_passed(p, kinds.get(p)) for p in params]
    call = f"{name}({', '.join(args)})"
    if not returned:
        return [call]
    return [f"{', '.join(returned)}{',' if len(returned) == 1 else ''} = {call}"]


_STACKED = re.compile(r"^(\s*)(\w+) = np\.array\(\2, dtype=np\.(\w+)\)\.reshape\((.*)\)$")


def _stacks_as_arrays(lines: list[str]) -> tuple[list[str], set[str]]:
    """A while loop's stacks (lists it appends to) made arrays row by row after it (numba's
    ``np.array`` takes no list of arrays), and the names that takes."""
    text = "\n".join(lines)
    out, made = [], set()
    for line in lines:
        m = _STACKED.match(line)
        if m is None:
            out.append(line)
            continue
        indent, name, dtype, shape = m.groups()
        rows, k = f"{name}_rows", f"{name}_k"
        while re.search(rf"\b({rows}|{k})\b", text):
            rows, k = rows + "_", k + "_"
        made |= {rows, k}
        out += [f"{indent}{rows} = {name}", f"{indent}{name} = np.empty({shape}, dtype=np.{dtype})",
                f"{indent}for {k} in range(len({rows})):", f"{indent}    {name}[{k}] = {rows}[{k}]"]
    return out, made


#: A zero adjoint broadcast to a shape (``np.broadcast_to(0, (n,))``, int64): float64 zeros in a compiled
#: loop, where the variable it binds holds float arrays on other iterations (NumPy adds either the same).
_ZEROS_BROADCAST = re.compile(r"np\.broadcast_to\(0(?:\.0)?, (\([^()]*\))\)")
_ZEROS_0D = re.compile(r"^(\s*\w+ = )np\.zeros\(\(\), dtype=np\.(float64|float32|int64)\)$")


def _scalar_zeros(line: str) -> str:
    """``np.zeros((), dtype=...)`` (a carried scalar adjoint) as a scalar zero: numba does not unify a
    0-d array with the scalars the loop adds to it."""
    m = _ZEROS_0D.match(line)
    return line if m is None else f"{m.group(1)}np.{m.group(2)}({'0' if m.group(2) == 'int64' else '0.0'})"


def _passed(name: str, kind: str | None) -> str:
    if kind == "array":
        return f"np.ascontiguousarray({name})"
    if kind in ("float64", "int", "bool"):
        return f"{'float' if kind == 'float64' else kind}({name})"
    if kind == "float32":
        return f"np.float32({name})"
    return name
