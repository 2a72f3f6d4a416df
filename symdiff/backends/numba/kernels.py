"""The text of one fused loop as a ``numba.njit`` kernel: readable nested ``for`` loops, one scalar
statement per elementwise node (with the ``# Grad of:`` comment of the line it differentiates),
accumulators for the reductions, in-place adds for the slice-gradient buffers.

:class:`LoopPrinter` prints a node's SymPy kernel as scalar code: NumPy's ufuncs on scalars (which
numba compiles), ``a if c else b`` for a Piecewise; :func:`printable` says whether a node prints with
functions numba is known to compile (else the node stays NumPy code in the glue).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sympy as sp

from ...ir.graph import ARG, Node
from ...ir.shapes import ONE
from ...naming import Namer
from ..numpy.comments import line, same_line
from ..numpy.printer import ExprPrinter, Helpers
from .fusion import MEMBERS, Loop, contract_axes

#: NumPy functions on scalars that numba compiles (checked: tests/test_backend_numba.py).
SCALAR_FUNCTIONS = frozenset(
    "exp log log1p expm1 sqrt abs sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh "
    "arctanh sign floor ceil hypot logaddexp maximum minimum fmod copysign power rint trunc logical_and "
    "logical_or logical_not logical_xor cbrt exp2 log2 log10".split())
CONSTANTS = frozenset({"nan", "inf", "pi", "e"})
#: Functions NumPy's ufuncs compute with SIMD loops (AVX2, AVX512: 5-12x faster per element than the
#: scalar libm call a numba loop makes, unless numba has Intel's SVML): a node calling one stays a
#: NumPy ufunc call in the glue, while the arithmetic around it is fused.
NUMPY_VECTORIZED = frozenset(
    "exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh "
    "arccosh arctanh cbrt power".split())
LOOP_VARIABLES = "ijklmnpqrs"
#: The least number of iterations a kernel of ``parallel=True`` shares out between threads.
PARALLEL_FROM = 32768


class LoopPrinter(ExprPrinter):
    """Scalar code of an elementwise node inside a loop (no ``np.where``, ``np.heaviside``: numba has
    them for arrays only)."""

    def __init__(self, symbol_code: dict) -> None:
        super().__init__(symbol_code, Helpers(), float_literals=True)

    def _print_Piecewise(self, expr) -> str:
        *pieces, (last, cond) = expr.args
        if cond != sp.true:
            raise ValueError("symdiff printer: Piecewise without a default branch")
        code = self._float_arg(last)
        for value, c in reversed(pieces):
            code = f"({self._float_arg(value)} if {self._print(c)} else {code})"
        return code

    def _print_Heaviside(self, expr) -> str:
        """``np.heaviside(x, h0)`` as NumPy defines it (numba has no scalar form): 0 below zero, ``h0`` at
        zero, 1 above, NaN for NaN (the last branch returns ``x`` itself)."""
        x = self._print(expr.args[0])
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        h0 = repr(float(h0)) if h0.is_Number else self._print(h0)
        return f"(1.0 if {x} > 0.0 else (0.0 if {x} < 0.0 else ({h0} if {x} == 0.0 else {x})))"


def _compiles_in_numba(code: str) -> bool:
    """Only names, numbers, arithmetic, comparisons, conditionals and :data:`SCALAR_FUNCTIONS` (and none
    of :data:`NUMPY_VECTORIZED`: those are faster as NumPy's ufuncs)."""
    try:
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
                    and func.attr in SCALAR_FUNCTIONS and func.attr not in NUMPY_VECTORIZED) or node.keywords:
                return False
        elif isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id == "np"
                    and (node.attr in SCALAR_FUNCTIONS - NUMPY_VECTORIZED or node.attr in CONSTANTS)):
                return False
        elif not isinstance(node, (ast.Expression, ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare,
                                   ast.IfExp, ast.BoolOp, ast.Load, ast.operator, ast.unaryop, ast.cmpop,
                                   ast.boolop, ast.Subscript, ast.Tuple)):
            return False
    return True


def scalar_code(node: Node, args: Sequence[str], sizes: dict | None = None) -> str | None:
    """The scalar code of elementwise ``node`` over its inputs' scalar code (and ``sizes``: the code of
    the array sizes it reads, ``1/n`` of a mean), or None if numba may not compile it."""
    try:
        code = LoopPrinter({**(sizes or {}), **{ARG[i]: a for i, a in enumerate(args)}}).doprint(node.expr)
    except (ValueError, TypeError, NotImplementedError, RecursionError):
        return None
    return code if _compiles_in_numba(code) else None


def size_symbols(node: Node) -> list[sp.Symbol] | None:
    """The array sizes ``node``'s kernel reads besides its inputs (by name), or None if it reads
    another symbol."""
    other = node.expr.free_symbols - set(ARG[:len(node.inputs)])
    if not all(isinstance(x, sp.Symbol) and x.is_integer and x.is_positive for x in other):
        return None
    return sorted(other, key=str)


def printable(node: Node) -> bool:
    sizes = size_symbols(node) if node.expr is not None else None
    return sizes is not None and scalar_code(node, [f"a{i}" for i in range(len(node.inputs))],
                                             {x: f"s{k}" for k, x in enumerate(sizes)}) is not None


@dataclass
class Kernel:
    """A loop printed: its parameters (``arguments``: glue nodes; then the sizes, as SymPy expressions),
    its body, and which of its nodes it returns, in order."""

    arguments: list[Node]
    sizes: list[sp.Expr]
    params: list[str]
    body: list[str]
    results: list[Node]
    doc: str
    parallel: bool


def print_loop(loop: Loop, needed: set[int], hints: Mapping[int, str | None], parallel: bool) -> Kernel:
    """The kernel of ``loop``: ``needed`` are the ids of its nodes used after it (returned), ``hints``
    the names the glue gives them (the arrays it returns keep those names)."""
    namer = Namer(["numba"])
    rank = len(loop.shape)
    loop_vars = [namer.fresh(v) for v in LOOP_VARIABLES[:rank]]
    inside = {id(n) for n in loop.nodes}
    arguments: list[Node] = []
    for n in loop.nodes:
        for x in n.inputs:
            if id(x) not in inside and all(x is not a for a in arguments):
                arguments.append(x)
    params = [namer.fresh(_hint(x, hints) or f"a{k}") for k, x in enumerate(arguments)]
    extents = [namer.fresh(f"n{k}") for k in range(rank)]
    sizes: list[sp.Expr] = list(loop.shape)
    scalar = {id(x): p for x, p in zip(arguments, params)}
    lines_before: list[str] = []
    lines_loop: list[str] = []
    lines_after: list[str] = []
    results: list[Node] = []
    code: dict[Any, str] = {}  # node id -> its scalar's code; ("out", node id) -> the array it fills
    size_code: dict[sp.Symbol, str] = {}  # the sizes the kernels of elementwise nodes read: parameters

    def read(x: Node) -> str:
        if id(x) in code:
            return code[id(x)]
        name = scalar[id(x)]
        if not x.shape:
            return name
        offset = rank - len(x.shape)
        index = ["0" if d == ONE else loop_vars[offset + j] for j, d in enumerate(x.shape)]
        return f"{name}[{', '.join(index)}]"

    last_origin = None

    def comment(n: Node) -> None:
        nonlocal last_origin
        if n.origin is not None and n.origin.text and not same_line(n.origin, last_origin):
            lines_loop.append(line(n.origin))
            last_origin = n.origin

    shape_code = f"({', '.join(extents)}{',' if rank == 1 else ''})"
    all_index = ", ".join(loop_vars)
    for n in loop.nodes:
        if n.op in MEMBERS:
            comment(n)
            local = namer.fresh(n.name or _hint(n, hints))
            if n.op == "pairwise_squares":  # sum((A[:, None] - B[None]) ** 2, -1): over the coordinates
                a, b = (scalar[id(x)] for x in n.inputs)
                c = namer.fresh("c")
                lines_loop += [f"{local} = 0.0", f"for {c} in range({a}.shape[1]):",
                               f"    {local} += ({a}[{loop_vars[0]}, {c}] - {b}[{loop_vars[1]}, {c}])**2"]
            elif n.op == "add_diagonal":
                value = float(n.param("value"))
                on_diagonal = " == ".join(loop_vars)
                lines_loop.append(f"{local} = {read(n.inputs[0])} + ({value!r} if {on_diagonal} else 0.0)")
            else:
                for x in size_symbols(n) or ():
                    if x in size_code:
                        continue
                    if x in loop.shape:  # an extent of the loop
                        given = extents[loop.shape.index(x)]
                    else:
                        given = namer.fresh(str(x))
                        sizes.append(x)
                        extents.append(given)
                    size_code[x] = namer.fresh(f"{x}_float")  # as a float: no int64 overflow of n**4
                    lines_before.append(f"{size_code[x]} = float({given})")
                statement = scalar_code(n, [read(x) for x in n.inputs], size_code)
                assert statement is not None, "a fused node that printed in the plan no longer prints"
                lines_loop.append(f"{local} = {statement}")
            code[id(n)] = local
            if id(n) in needed:
                out = namer.fresh(f"{_hint(n, hints) or local}_out")
                lines_before.append(f"{out} = np.empty({shape_code})")
                lines_loop.append(f"{out}[{all_index}] = {local}")
                results.append(n)
                code[("out", id(n))] = out
        elif n.op != "scatter_sum":
            comment(n)
            if n.op in ("sum", "mean"):
                kept = [k for k in range(rank) if k not in set(n.param("axis"))]
                keepdims = bool(n.param("keepdims"))
                term = read(n.inputs[0])
            else:
                fused = contract_axes(n)
                assert fused is not None, "a contraction the plan fused is not one a loop computes"
                kept, keepdims = list(fused), False
                term = "*".join(_factor(read(x)) for x in n.inputs)
            axes = range(rank) if keepdims else kept  # (keepdims: index 0 on the summed axes)
            index = [loop_vars[k] if k in kept else "0" for k in axes]
            dims = [extents[k] if k in kept else "1" for k in axes]
            acc = namer.fresh(_hint(n, hints) or "total")
            if index:
                lines_before.append(f"{acc} = np.zeros(({', '.join(dims)}{',' if len(dims) == 1 else ''}))")
                lines_loop.append(f"{acc}[{', '.join(index)}] += {term}")
                parallel = parallel and 0 in kept  # each iteration of the outer loop writes its own row
            else:
                lines_before.append(f"{acc} = 0.0")
                lines_loop.append(f"{acc} += {term}")
            code[("out", id(n))] = acc
            results.append(n)
            if n.op == "mean":  # the sum, divided by the number of its terms after the loop
                count = " * ".join(extents[k] for k in range(rank) if k not in kept) or "1"
                lines_after.append(f"{acc} {'/= ' if index else '= ' + acc + ' / '}({count})")
        else:
            comment(n)
            size = namer.fresh("size")
            sizes.append(n.shape[0])
            extents.append(size)
            buf = namer.fresh(_hint(n, hints) or "buffer")
            starts = [index[0][1] or 0 for index in n.param("indices")]
            first = starts.index(max(starts)) if min(starts) >= 0 else None
            if first is None:  # an offset from the end: a zeroed buffer
                lines_before.append(f"{buf} = np.zeros(({size},))")
            else:  # the farthest write of each iteration is the first to reach its element: no zeroing pass
                top = max(starts)
                lines_before.append(f"{buf} = np.empty(({size},))")
                lines_before += [f"{buf}[:{top}] = 0.0"] if top else []
                lines_before.append(f"{buf}[{extents[0]}{f' + {top}' if top else ''}:] = 0.0")
            for k, (start, sign, g) in enumerate(zip(starts, n.param("signs"), n.inputs)):
                at = loop_vars[0] if not start else (f"{loop_vars[0]} + {start}" if start > 0
                                                     else f"{loop_vars[0]} + {size} - {-start}")
                if k == first:
                    lines_loop.append(f"{buf}[{at}] = {'' if sign == '+' else '-'}{_factor(read(g))}")
                else:
                    lines_loop.append(f"{buf}[{at}] {'+' if sign == '+' else '-'}= {read(g)}")
            code[("out", id(n))] = buf
            results.append(n)
    parallel = parallel and not loop.scatters  # (neighbouring iterations add into the same element)
    results = [r for r in results if id(r) in needed]
    body = lines_before + _nest(loop_vars, extents, lines_loop, False) + lines_after
    if parallel:  # a small loop runs serially: starting the threads would cost more than it saves
        serial, threads = (["    " + line for line in _nest(loop_vars, extents, lines_loop, p)] for p in (False, True))
        body = lines_before + [f"if {' * '.join(extents[:rank])} < {PARALLEL_FROM}:"] + serial + ["else:"] + \
            threads + lines_after
    outs = [code[("out", id(r))] for r in results]
    body.append(f"return {', '.join(outs)}")
    what = [f"{len(loop.members)} elementwise step{'s' * (len(loop.members) != 1)}"]
    what += [f"{len(loop.reducers)} reduction{'s' * (len(loop.reducers) != 1)}"] if loop.reducers else []
    what += [f"{len(loop.scatters)} slice-gradient buffer{'s' * (len(loop.scatters) != 1)}"] if loop.scatters else []
    doc = f"One pass over {shape_code}: {', '.join(what)}."
    return Kernel(arguments, sizes, params + extents, body, results, doc, parallel)


def _hint(n: Node, hints: Mapping[int, str | None]) -> str | None:
    return hints.get(id(n)) or n.name


def _factor(code: str) -> str:
    return code if code.isidentifier() or code.endswith("]") else f"({code})"


def _nest(loop_vars, extents, lines, parallel) -> list[str]:
    out: list[str] = []
    for depth, (v, n) in enumerate(zip(loop_vars, extents)):
        loop_range = "numba.prange" if parallel and depth == 0 else "range"
        out.append("    " * depth + f"for {v} in {loop_range}({n}):")
    pad = "    " * len(loop_vars)
    return out + [pad + line for line in lines]
