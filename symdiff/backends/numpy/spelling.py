"""A statement spelled as ``ruff format`` (and black) spell it, as a list of :class:`Leaf` tokens that
:mod:`.linebreak` joins into lines: spaces around binary operators (``z * y``, ``a / n``), a power
hugging simple operands (``x**2``, but ``(a + b) ** 2``), slices spaced around ``:`` when an operand
is complex (``x[a + 1 :]``), strings in double quotes, and the parentheses the code needs or was
written with (``(1.0 / n) * t``; those around a statement's whole value dropped, as ruff drops them).
The leaves come from the statement's syntax tree, so the spelling never changes what is computed; a
statement this module does not know is left as it is (:class:`Unknown`).
"""
from __future__ import annotations

import ast
import dataclasses
import io
import keyword
import tokenize

from ... import escape


class Unknown(Exception):
    """A construct outside the generated code's grammar: the caller keeps the line as written."""


@dataclasses.dataclass
class Leaf:
    """One token: its text, whether a space comes before it, its split priority (a delimiter at which
    a bracketed line may be broken: 18 commas, 14/13 ``or``/``and``, 10 comparisons, 9-4 arithmetic,
    from ``|`` down to ``*``), and ``bracket``: "(" / ")" for an opening / closing bracket. Optional
    parentheses (around a statement's value, shown only when it is broken) have empty text."""
    text: str
    space: bool = False
    priority: int = 0
    bracket: str = ""
    kind: str = ""  # "call", "subscript", "tuple", "collection", "optional", "def": what a bracket holds


_BIN = {ast.Add: ("+", 5), ast.Sub: ("-", 5), ast.Mult: ("*", 4), ast.Div: ("/", 4), ast.FloorDiv: ("//", 4),
        ast.Mod: ("%", 4), ast.MatMult: ("@", 4), ast.Pow: ("**", 1), ast.LShift: ("<<", 6),
        ast.RShift: (">>", 6), ast.BitAnd: ("&", 7), ast.BitXor: ("^", 8), ast.BitOr: ("|", 9)}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Is: "is",
        ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not"}
# binding strength, as Python's grammar orders it
TUPLE, TEST, OR, AND, NOT, CMP, BOR, BXOR, BAND, SHIFT, ARITH, TERM, FACTOR, POWER, ATOM = range(15)
_OP_PREC = {5: ARITH, 4: TERM, 1: POWER, 6: SHIFT, 7: BAND, 8: BXOR, 9: BOR}


def string(value: str) -> str:
    """A str literal as ruff spells it: double quotes unless the text holds more of them than of
    single quotes (through :func:`symdiff.escape.quoted`, the one path of text into code)."""
    return escape.quoted(value)


def _prec(e: ast.expr) -> int:
    if isinstance(e, (ast.Tuple, ast.NamedExpr)):
        return TUPLE
    if isinstance(e, (ast.IfExp, ast.Lambda)):
        return TEST
    if isinstance(e, ast.BoolOp):
        return OR if isinstance(e.op, ast.Or) else AND
    if isinstance(e, ast.UnaryOp):
        return NOT if isinstance(e.op, ast.Not) else FACTOR
    if isinstance(e, ast.Compare):
        return CMP
    if isinstance(e, ast.BinOp):
        return _OP_PREC[_BIN[type(e.op)][1]]
    if isinstance(e, ast.Starred):
        return TUPLE
    return ATOM


def _parenthesized_spans(source: str) -> set:
    """The spans ((line, byte column) of the first and past the last character, as the syntax tree
    gives them) of the expressions written in parentheses of their own in ``source``: not a call's."""
    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, SyntaxError):
        return set()
    lines = source.splitlines()

    def at(pos):
        row, col = pos
        return row, len(lines[row - 1][:col].encode("utf-8"))

    out, stack = set(), []
    for k, tok in enumerate(toks):
        if tok.type == tokenize.OP and tok.string in "([{":
            stack.append(k)
        elif tok.type == tokenize.OP and tok.string in ")]}" and stack:
            j = stack.pop()
            prev = toks[j - 1] if j else None
            call = prev is not None and (prev.string in ")]}" or prev.type == tokenize.STRING or (
                prev.type == tokenize.NAME and not keyword.iskeyword(prev.string)))
            if toks[j].string == "(" and not call and k > j + 1:
                out.add((at(toks[j + 1].start), at(toks[k - 1].end)))
    return out


def _simple_power(e: ast.expr) -> bool:
    if isinstance(e, ast.UnaryOp) and not isinstance(e.op, ast.Not):
        return _simple_power(e.operand)
    if isinstance(e, ast.Attribute):
        return _simple_power(e.value)
    return isinstance(e, ast.Name) or (isinstance(e, ast.Constant) and type(e.value) in (int, float, complex))


def _simple_slice(e: ast.expr | None) -> bool:
    if e is None or isinstance(e, ast.Name):
        return True
    if isinstance(e, ast.UnaryOp) and not isinstance(e.op, ast.Not):
        return _simple_slice(e.operand)
    return isinstance(e, ast.Constant) and type(e.value) in (int, float, complex)


class Speller:
    """The leaves of one statement parsed from ``source`` (numbers keep their source spelling)."""

    def __init__(self, source: str):
        self.source = source
        self.out: list[Leaf] = []
        self.lines = source.splitlines()
        self.wrapped = _parenthesized_spans(source) if source.startswith("(") or "((" in source or any(
            source[k - 1:k] in " ([{,=-+*/@%~&|^<>:" for k in range(1, len(source)) if source[k] == "(") else set()

    def put(self, text: str, space: bool = False, priority: int = 0, bracket: str = "", kind: str = ""):
        self.out.append(Leaf(text, space, priority, bracket, kind))

    def optional(self, e: ast.expr, space: bool = True) -> None:
        """A statement's value in optional parentheses (shown only where the line is broken)."""
        if isinstance(e, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp)) or (
                isinstance(e, ast.Tuple) and self._parenthesized(e)):
            self.expr(e, TUPLE, space)  # its own brackets
            return
        self.put("", space, bracket="(", kind="optional")
        self.expr(e, TUPLE, top=True)
        self.put("", bracket=")", kind="optional")

    def kept(self, e: ast.expr) -> bool:
        """Whether ``e`` is written in parentheses it does not need (ruff keeps them, and so does this)."""
        span = ((e.lineno, e.col_offset), (e.end_lineno, e.end_col_offset))
        return span in self.wrapped

    def expr(self, e: ast.expr, need: int = TUPLE, space: bool = False, top: bool = False) -> None:
        """``e``, in parentheses when it binds less than ``need`` or was written in them (but for a
        statement's whole value, ``top``); the first leaf spaced as ``space``."""
        if not top and self.kept(e) and not isinstance(e, ast.Tuple):
            self.put("(", space, bracket="(", kind="atom")
            self._expr(e, False)
            self.put(")", bracket=")")
        elif isinstance(e, ast.Tuple) and need > TUPLE:
            self.put("(", space, bracket="(", kind="tuple")
            self.items(e.elts, one_comma=True)
            self.put(")", bracket=")")
        elif _prec(e) < need:
            self.put("(", space, bracket="(", kind="tuple" if isinstance(e, ast.Tuple) else "atom")
            self._expr(e, False)
            self.put(")", bracket=")")
        else:
            self._expr(e, space)

    def _expr(self, e: ast.expr, space: bool) -> None:
        if isinstance(e, ast.Name):
            self.put(e.id, space)
        elif isinstance(e, ast.Constant) and isinstance(e.value, str):
            self._string(e, space)
        elif isinstance(e, ast.Constant):
            self.put(self._constant(e), space)
        elif isinstance(e, ast.Attribute):
            if isinstance(e.value, ast.Constant) and isinstance(e.value.value, int):
                self.put("(", space, bracket="(", kind="atom")
                self._expr(e.value, False)
                self.put(")", bracket=")")
            else:
                self.expr(e.value, ATOM, space)
            self.put("." + e.attr)
        elif isinstance(e, ast.BinOp):
            op, priority = _BIN[type(e.op)]
            prec = _OP_PREC[priority]
            if prec == POWER:
                hug = (_simple_power(e.left) and not isinstance(e.left, ast.UnaryOp) and _simple_power(e.right)
                       and not self.kept(e.left) and not self.kept(e.right))
                self.expr(e.left, POWER + 1, space)
                self.put(op, not hug, priority)
                self.expr(e.right, FACTOR, not hug)
            else:
                self.expr(e.left, prec, space)
                self.put(op, True, priority)
                self.expr(e.right, prec + 1, True)
        elif isinstance(e, ast.UnaryOp):
            self.put(_UNARY[type(e.op)], space)
            if isinstance(e.op, ast.Not):
                self.expr(e.operand, NOT, True)
            elif isinstance(e.operand, ast.BinOp) and isinstance(e.operand.op, ast.Pow):
                self.expr(e.operand, ATOM)  # ruff writes -(a**2) for -a**2
            else:
                self.expr(e.operand, FACTOR)
        elif isinstance(e, ast.BoolOp):
            word, prec = ("or", OR) if isinstance(e.op, ast.Or) else ("and", AND)
            for k, v in enumerate(e.values):
                if k:
                    self.put(word, True, 14 if prec == OR else 13)
                self.expr(v, prec + 1, space if k == 0 else True)
        elif isinstance(e, ast.Compare):
            self.expr(e.left, CMP + 1, space)
            for cmp, right in zip(e.ops, e.comparators):
                self.put(_CMP[type(cmp)], True, 10)
                self.expr(right, CMP + 1, True)
        elif isinstance(e, ast.IfExp):
            self.expr(e.body, TEST + 1, space)
            self.put("if", True, 16)
            self.expr(e.test, TEST + 1, True)
            self.put("else", True, 16)
            self.expr(e.orelse, TEST, True)
        elif isinstance(e, ast.Call):
            self.expr(e.func, ATOM, space)
            self.put("(", bracket="(", kind="call")
            items = [(None, a) for a in e.args] + [(k.arg, k.value) for k in e.keywords]
            items.sort(key=lambda kv: (kv[1].lineno, kv[1].col_offset))
            for k, (name, value) in enumerate(items):
                if k:
                    self.put(",", priority=18)
                if name is None and isinstance(value, ast.Starred):
                    self.put("*", k > 0)
                    self.expr(value.value, TEST)
                elif name is None and any(value is kw.value and kw.arg is None for kw in e.keywords):
                    self.put("**", k > 0)
                    self.expr(value, TEST)
                elif name is None:
                    if isinstance(value, ast.GeneratorExp) and len(items) == 1:
                        self._comprehension(value.elt, value.generators, False)
                    else:
                        self.expr(value, TEST, k > 0)
                else:
                    self.put(f"{name}=", k > 0)
                    self.expr(value, TEST)
            self.put(")", bracket=")")
        elif isinstance(e, ast.Subscript):
            self.expr(e.value, ATOM, space)
            self.put("[", bracket="(", kind="subscript")
            index = e.slice
            if isinstance(index, ast.Tuple) and index.elts and not self._parenthesized(index):
                for k, item in enumerate(index.elts):
                    if k:
                        self.put(",", priority=18)
                    self._index(item, k > 0)
                if len(index.elts) == 1:
                    self.put(",", priority=18)
            else:
                self._index(index, False)
            self.put("]", bracket=")")
        elif isinstance(e, ast.Tuple):
            if self._parenthesized(e) or not e.elts:
                self.put("(", space, bracket="(", kind="tuple")
                self.items(e.elts, one_comma=True)
                self.put(")", bracket=")")
            else:
                self.items(e.elts, one_comma=True, space=space)
        elif isinstance(e, (ast.List, ast.Set)):
            self.put("[" if isinstance(e, ast.List) else "{", space, bracket="(", kind="collection")
            self.items(e.elts)
            self.put("]" if isinstance(e, ast.List) else "}", bracket=")")
        elif isinstance(e, ast.Dict):
            self.put("{", space, bracket="(", kind="collection")
            for k, (key, value) in enumerate(zip(e.keys, e.values)):
                if k:
                    self.put(",", priority=18)
                if key is None:
                    self.put("**", k > 0)
                    self.expr(value, BOR)
                else:
                    self.expr(key, TEST, k > 0)
                    self.put(":")
                    self.expr(value, TEST, True)
            self.put("}", bracket=")")
        elif isinstance(e, ast.Starred):
            self.put("*", space)
            self.expr(e.value, BOR)
        elif isinstance(e, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            close = {ast.ListComp: "]", ast.SetComp: "}", ast.GeneratorExp: ")"}[type(e)]
            self.put({"]": "[", "}": "{", ")": "("}[close], space, bracket="(", kind="collection")
            self._comprehension(e.elt, e.generators, False)
            self.put(close, bracket=")")
        elif isinstance(e, ast.Lambda):
            self.put("lambda", space)
            self.arguments(e.args, lambda_=True)
            self.put(":")
            self.expr(e.body, TEST, True)
        elif isinstance(e, ast.Slice):
            self._slice(e)
        else:
            raise Unknown(type(e).__name__)

    def _parenthesized(self, e: ast.expr) -> bool:
        line = self.lines[e.lineno - 1].encode("utf-8") if e.lineno <= len(self.lines) else b""
        return line[e.col_offset:e.col_offset + 1] == b"("

    def segment(self, e: ast.expr) -> str | None:
        """The source text of ``e`` (one line: generated statements are; else ast's own way)."""
        if e.lineno != e.end_lineno or e.lineno > len(self.lines):
            return ast.get_source_segment(self.source, e)
        return self.lines[e.lineno - 1].encode("utf-8")[e.col_offset:e.end_col_offset].decode("utf-8")

    def items(self, elts, one_comma: bool = False, space: bool = False) -> None:
        for k, item in enumerate(elts):
            if k:
                self.put(",", priority=18)
            self.expr(item, TEST if not isinstance(item, ast.Starred) else TUPLE, space if k == 0 else True)
        if one_comma and len(elts) == 1:
            self.put(",", priority=18)

    def _index(self, e: ast.expr, space: bool) -> None:
        if isinstance(e, ast.Slice):
            self._slice(e, space)
        else:
            self.expr(e, TEST if not isinstance(e, ast.Starred) else TUPLE, space)

    def _slice(self, e: ast.Slice, space: bool = False) -> None:
        parts = [e.lower, e.upper] + ([e.step] if e.step is not None else [])
        spaced = not all(_simple_slice(p) for p in parts)
        for k, part in enumerate(parts):
            if k:
                self.put(":", (spaced and parts[k - 1] is not None) or (k == 1 and parts[0] is None and space))
            if part is not None:
                self.expr(part, TEST, space if k == 0 else spaced)

    def _comprehension(self, elt, generators, space: bool) -> None:
        self.expr(elt, TEST, space)
        for g in generators:
            self.put("async for" if g.is_async else "for", True, 20)
            self.expr(g.target, TUPLE, True)
            self.put("in", True)
            self.expr(g.iter, OR, True)
            for cond in g.ifs:
                self.put("if", True, 20)
                self.expr(cond, OR, True)

    def arguments(self, args: ast.arguments, lambda_: bool = False) -> None:
        if args.posonlyargs or args.kwonlyargs or args.vararg or args.kwarg:
            raise Unknown("arguments")
        defaults = [None] * (len(args.args) - len(args.defaults)) + list(args.defaults)
        for k, (a, d) in enumerate(zip(args.args, defaults)):
            if k:
                self.put(",", priority=18)
            self.put(a.arg, lambda_ or k > 0)
            if a.annotation is not None:
                self.put(":")
                self.expr(a.annotation, TEST, True)
            if d is not None:
                spaced = a.annotation is not None
                self.put("=", spaced)
                self.expr(d, TEST, spaced)

    def _string(self, e: ast.Constant, space: bool) -> None:
        """A str constant; one written as adjacent literals keeps its parts, each part after the first
        a leaf of priority 12 (ruff joins the parts only where the whole line fits: see ``joined``)."""
        segment = self.segment(e) or ""
        try:
            parts = [t.string for t in tokenize.generate_tokens(io.StringIO(segment).readline)
                     if t.type == tokenize.STRING]
        except (tokenize.TokenError, SyntaxError):
            parts = []
        values = [ast.literal_eval(p) for p in parts] if all(p[:1] in "'\"" for p in parts) else []
        if len(values) < 2 or "".join(values) != e.value:
            self.put(string(str(e.value)), space, kind="string")
            return
        for k, v in enumerate(values):
            self.put(string(v), space if k == 0 else True, 12 if k else 0, kind="part")

    def _constant(self, e: ast.Constant) -> str:
        if isinstance(e.value, bytes) or e.value is Ellipsis:
            return repr(e.value) if e.value is not Ellipsis else "..."
        text = self.segment(e)
        if text is None or type(e.value) not in (int, float, complex):
            return repr(e.value)
        text = text.lower() if not text.lower().startswith("0x") else "0x" + text[2:].upper()
        return text
