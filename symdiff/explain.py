"""The derivative as mathematics: ``dloss.math`` and ``symdiff explain FILE:FUNC``.

The function is traced and differentiated as for its module, but simplified without the passes that
make code fast or stable (lowering ``sigmoid`` to ``exp(min(z, 0)) / (1 + exp(-|z|))``, sharing
subexpressions, matmul contractions), so each statement reads as one would write it by hand:
``dz = (sigma(z) - y)/n_w1``, ``dw = x dz^T``, ``db = dz``. Tensors are single symbols; a matmul is
juxtaposition, an outer product ``a b^T``, sums and means are written as such, and elementwise kernels
are their SymPy expressions, printed by SymPy's LaTeX printer (:attr:`Math.latex`) and by its plain-text
printer (:attr:`Math.text`, for terminals).

Only the statements the derivative needs are shown: the values the program named (``z``), the
derivative's own, and any value used twice (``t1``, ...); sizes are symbols such as ``n_w1``, listed
at the end with where they are read from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from .ad.derivatives import direction_nodes, direction_specs, plans
from .backends.numpy.entry_points import internal
from .ir.graph import ARG, Node, toposort
from .ir.scalar import sigmoid
from .naming import identifier
from .pipeline import _load_scipy_parts, _outcome_text, _trace
from .rewrite.simplify import FORWARD_PASSES, elide_broadcasts, fuse, merge_duplicates, run, simplify_exprs
from .runtime.pytrees import TreeWrt, path_text
from .runtime.signature import name_of
from .runtime.specs import ArgSpec
from .trace.branches import explore

#: The passes of the math: whole kernels, simplified by SymPy, nothing lowered nor shared for speed.
MATH_PASSES = [elide_broadcasts, fuse, elide_broadcasts, simplify_exprs, merge_duplicates]

#: Operations drawn as their input (a broadcast, a copy, a reshape keep the value's entries).
_TRANSPARENT = {"broadcast_to", "copy", "stop_gradient", "reshape", "full_like"}


class _Tensor(sp.Function):
    """A tensor operation shown in math notation; subclasses print themselves."""

    def _arg(self, printer, k: int) -> str:
        return printer.parenthesize(self.args[k], 50)  # below Mul: a sum inside is parenthesized


class Sigma(sp.Function):
    """The logistic sigmoid, written ``sigma``."""

    nargs = 1

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer):
        return f"sigma({printer._print(self.args[0])})"


class MatMul(_Tensor):
    """``a b``; a vector on the left is a row, ``a^T b``."""

    def _latex(self, printer):
        a, b = self._arg(printer, 0), self._arg(printer, 1)
        return (rf"{a}^{{T}} {b}" if self.args[2] else rf"{a} {b}")

    def _sympystr(self, printer):
        a, b = self._arg(printer, 0), self._arg(printer, 1)
        return f"{a}^T {b}" if self.args[2] else f"{a} {b}"


class Outer(_Tensor):
    """The outer product ``a b^T``."""

    def _latex(self, printer):
        return rf"{self._arg(printer, 0)} {self._arg(printer, 1)}^{{T}}"

    def _sympystr(self, printer):
        return f"{self._arg(printer, 0)} {self._arg(printer, 1)}^T"


class Transpose(_Tensor):
    def _latex(self, printer):
        return rf"{printer.parenthesize(self.args[0], 999)}^{{T}}"

    def _sympystr(self, printer):
        return f"{printer.parenthesize(self.args[0], 999)}^T"


class Reduce(_Tensor):
    """``sum``/``mean``/``max``/... over axes (all of them when none are listed)."""

    def _axes(self) -> str:
        axes = self.args[2:]
        return "" if not axes else ", ".join(str(a) for a in axes)

    def _latex(self, printer):
        name, inner = str(self.args[0]), printer._print(self.args[1])
        sub = f"_{{\\mathrm{{axis}}\\,{self._axes()}}}" if self._axes() else ""
        if name == "sum":
            return rf"\sum{sub} {printer.parenthesize(self.args[1], 50)}"
        return rf"\operatorname{{{name}}}{sub}\left({inner}\right)"

    def _sympystr(self, printer):
        axes = f", axis={self._axes()}" if self._axes() else ""
        return f"{self.args[0]}({printer._print(self.args[1])}{axes})"


class Op(_Tensor):
    """Any other primitive: ``name(args)``."""

    def _latex(self, printer):
        args = ", ".join(printer._print(a) for a in self.args[1:])
        return rf"\operatorname{{{self.args[0]}}}\left({args}\right)"

    def _sympystr(self, printer):
        return f"{self.args[0]}({', '.join(printer._print(a) for a in self.args[1:])})"


def _positive_first(terms):
    """A sum's positive terms first: ``sigma(z) - y``, not ``-y + sigma(z)``."""
    return sorted(terms, key=lambda t: t.could_extract_minus_sign())


class _LATEX(LatexPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order=order))


class _TEXT(StrPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order=order))


@dataclass
class Statement:
    name: str
    expr: sp.Expr


@dataclass
class Section:
    title: str
    statements: list[Statement]
    error: str | None = None


class Math:
    """The derivative of a function as equations: ``str()`` / :attr:`text` for a terminal, :attr:`latex`
    (and Jupyter's ``_repr_latex_``/``_repr_markdown_``) for a notebook."""

    def __init__(self, title: str, sections: list[Section], sizes: dict[str, str]) -> None:
        self.title, self.sections, self.sizes = title, sections, sizes

    def _lines(self, printer, sep: str) -> list[tuple[str, list[str]]]:
        out = []
        for s in self.sections:
            if s.error is not None:
                out.append((s.title, [f"not traced: {s.error}"]))
                continue
            out.append((s.title, [f"{printer._print(sp.Symbol(st.name))}{sep}{printer._print(st.expr)}"
                                  for st in s.statements]))
        return out

    @property
    def text(self) -> str:
        """Plain text, one statement per line."""
        lines = [self.title]
        for title, body in self._lines(_TEXT(), " = "):
            if title:
                lines.append(f"{title}:")
            lines += [f"  {b}" for b in body]
        if self.sizes:
            lines.append("sizes: " + ", ".join(f"{k} = {v}" for k, v in self.sizes.items()))
        return "\n".join(lines)

    @property
    def latex(self) -> str:
        """LaTeX: an ``aligned`` block of the statements per path (SymPy's LaTeX printer)."""
        blocks = []
        for title, body in self._lines(_LATEX(), " &= "):
            if body and body[0].startswith("not traced"):
                blocks.append(r"\text{" + _latex_text(f"{title}: {body[0]}") + "}")
                continue
            head = (r"\text{" + _latex_text(title) + r"}\\" + "\n") if title else ""
            blocks.append(head + r"\begin{aligned}" + "\n" + " \\\\\n".join(body) + "\n" + r"\end{aligned}")
        return "\n".join(blocks)

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_latex_(self) -> str:
        return "$$\n" + self.latex + "\n$$"

    def _repr_markdown_(self) -> str:
        sizes = ("\n\nsizes: " + ", ".join(f"${sp.latex(sp.Symbol(k))}$ = `{v}`" for k, v in self.sizes.items())
                 if self.sizes else "")
        return f"{_markdown_text(self.title)}\n\n$$\n{self.latex}\n$$" + sizes


def _latex_text(text: str) -> str:
    """User text (a source line, a name) inside ``\\text{}``: LaTeX's special characters escaped."""
    table = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
             "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}"}
    return "".join(table.get(c, c) for c in text)


def _markdown_text(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!<>|$" else c for c in text)


class _Namer:
    """Symbols of a path's tensors: the program's names, then ``t1``, ``t2``, ... for shared values."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.count = 0

    def fresh(self, base: str | None) -> str:
        if base and base not in self.taken:
            self.taken.add(base)
            return base
        while True:
            self.count += 1
            name = f"{base}_{self.count}" if base else f"t{self.count}"
            if name not in self.taken:
                self.taken.add(name)
                return name


def _section(outputs: Sequence[Node], labels: Sequence[str], inputs: Sequence[Node]) -> list[Statement]:
    """The statements computing ``outputs`` (named ``labels``) from the ``inputs``."""
    order = toposort(list(outputs))
    uses: dict[int, int] = {}
    for node in order:
        for i in node.inputs:
            uses[id(i)] = uses.get(id(i), 0) + 1
    namer = _Namer()
    for node in inputs:
        namer.taken.add(node.param("name"))
    expr: dict[int, sp.Expr] = {id(n): sp.Symbol(n.param("name")) for n in inputs}
    statements: list[Statement] = []
    out_ids = {id(o): label for label, o in reversed(list(zip(labels, outputs)))}
    for node in order:
        if id(node) in expr:
            continue
        value = _math(node, [expr[id(i)] for i in node.inputs])
        named = node.name is not None or id(node) in out_ids or uses.get(id(node), 0) > 1
        if named and not value.is_Symbol and not value.is_Number:
            name = namer.fresh(identifier(node.name or out_ids.get(id(node), "")) or None)
            statements.append(Statement(name, value))
            value = sp.Symbol(name)
        expr[id(node)] = value
    for label, out in zip(labels, outputs):
        if expr[id(out)] != sp.Symbol(label):
            statements.append(Statement(label, expr[id(out)]))
    return statements


def _math(node: Node, args: list[sp.Expr]) -> sp.Expr:
    """One node in math notation, from its inputs' expressions."""
    op = node.op
    if op == "elementwise" and node.expr is not None:
        e = node.expr.xreplace({ARG[k]: a for k, a in enumerate(args)})
        return e.replace(lambda t: isinstance(t, sigmoid), lambda t: Sigma(t.args[0]))
    if op in _TRANSPARENT and args:
        return args[-1] if op == "full_like" else args[0]
    if op == "const":
        array = node.param("value").array
        return sp.Float(float(array)) if array.ndim == 0 else Op(sp.Symbol("const"), sp.Tuple(*array.shape))
    if op == "matmul":
        return MatMul(args[0], args[1], sp.true if node.inputs[0].ndim == 1 and node.inputs[1].ndim >= 2
                      else sp.false)
    if op == "outer":
        return Outer(args[0], args[1])
    if op == "transpose":
        return Transpose(args[0])
    if op in ("sum", "mean", "max", "min", "prod"):
        axes = node.param("axis")
        axes = () if axes is None or tuple(axes) == tuple(range(node.inputs[0].ndim)) else tuple(axes)
        return Reduce(sp.Symbol(op), args[0], *(sp.Integer(a) for a in axes))
    return Op(sp.Symbol(op), *args)


def _sizes(specs: Sequence[ArgSpec], inputs: Sequence[Node]) -> dict[str, str]:
    """Each size symbol the inputs have, and where it is read (``n_w1 = w.shape[1]``)."""
    out: dict[str, str] = {}
    for node in inputs:
        for axis, d in enumerate(node.shape):
            if isinstance(d, sp.Symbol) and d.name not in out:
                out[d.name] = f"{node.param('name')}.shape[{axis}]"
    return out


def math_of(fn: Callable, specs: Sequence[ArgSpec], wrt: Sequence[int], *, single: bool = False,
            kind: str = "grad", has_aux: bool = False, tree: TreeWrt | None = None) -> Math:
    """The derivative of ``kind`` of ``fn`` traced on ``specs`` with respect to the arguments ``wrt``,
    one section per path through its branches. ``tree``: the arguments are containers, ``specs`` and
    ``wrt`` are their leaves (:func:`symdiff.arguments.plan`); the statements name the leaves as the
    generated code does (``params["W1"]`` is ``W1``, its derivative ``dW1``)."""
    _load_scipy_parts(fn)
    name = identifier(name_of(fn))
    specs, _ = internal(list(specs))
    paths = explore(lambda outcomes: _trace(fn, specs, name, kind, outcomes, has_aux, tree=tree))
    dspecs = direction_specs(kind, specs, wrt)
    sections, sizes = [], {}
    wrt_names = ([path_text(tree.layout.params[i], p) for i, p in tree.items] if tree is not None
                 else [specs[i].name for i in wrt])
    for k, path in enumerate(paths):
        title = "" if len(paths) == 1 else f"path {k} ({', '.join(_outcome_text(path))})"
        if path.error is not None or path.out is None:
            sections.append(Section(title, [], str(path.error)))
            continue
        (out,) = run([path.out], FORWARD_PASSES)
        wrt_nodes = [next(n for n in path.inputs if n.param("index") == i) for i in wrt]
        directions = direction_nodes(kind, dspecs, out, wrt_nodes, len(specs))
        functions = plans(kind, name, out, wrt_nodes, directions, single, name)
        main = functions[-1] if kind in ("hessian", "hvp") else functions[0]
        outputs = run(main.outputs, MATH_PASSES)
        skip = 1 if main.with_value else 0
        sections.append(Section(title, _section(outputs[skip:], main.labels[skip:], [*path.inputs, *directions])))
        sizes.update(_sizes(specs, path.inputs))
    what = {"grad": "gradient"}.get(kind, kind)
    return Math(f"{name}: {what} with respect to {', '.join(wrt_names)}", sections, sizes)

