"""Finding the loops that may stay loops, in the user's source: every ``for t in range(...)`` whose
body only computes values (no ``break``, ``return``, assignment into arrays or attributes, appends)
is rewritten, in a copy of the function's code, into a call of the trace-time helper
(:mod:`symdiff.trace.loops`) with the body as a function of the index and the carried variables, and
the original loop as the fallback::

    def _loop_body_0(t, h, loss):           # the body, unchanged
        h = np.tanh(W @ h + U @ x[t] + b)
        loss = loss + np.sum(h ** 2)
        return (h, loss)
    def _loop_plain_0(h, loss):             # the loop as written (unrolled by the trace)
        for t in range(x.shape[0]): ...
        return (h, loss)
    (h, loss) = ROLL(0, (x.shape[0],), _loop_body_0, _loop_plain_0, (h, loss), ('h', 'loss'))

Loops over rows, ``enumerate``, ``zip`` and ``reversed(range(...))`` are first put in this form
(:mod:`symdiff.trace.loop_forms`); a ``while`` loop also gets its condition as a function of the carried
variables (``_loop_cond_0``), passed as the bounds ``("while", _loop_cond_0)``. A loop in a rewritten
body is rewritten too (a nested loop). The carried variables are those the body assigns and that are
bound before the loop or read after it (or, in a while loop, read by its condition). The rewritten code
keeps the file name and line numbers (tracebacks and ``# Grad of:`` lines point at the user's lines) and
the function's closure cells; :func:`rolled_code` returns it, or None with the reasons when no loop
qualifies.
"""
from __future__ import annotations

import __future__
import ast
import functools
import operator
import inspect
import os
import textwrap
import types
import warnings
from typing import Any

from ..runtime.opcodes import may_loop
from .loop_forms import MARK, call as _call, form, while_form
_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "add", "setdefault", "discard",
            "sort", "reverse", "popitem", "fill", "resize", "put", "itemset"}
_CACHE: dict[Any, tuple[Any, list[str], list[int]]] = {}
#: The ``from __future__`` flags a function's code may carry (compiled again with the same ones).
_FUTURE = functools.reduce(operator.or_, (getattr(__future__, f).compiler_flag for f in __future__.all_feature_names))


def _names(node: ast.AST, ctx: type) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def _why_not(loop: ast.For | ast.While) -> str | None:
    """Why this loop cannot be rolled (None: it may be)."""
    if loop.orelse:
        return "it has an else clause"
    for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
        if isinstance(node, (ast.Break, ast.Continue)):
            return "the body has break or continue"
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await)):
            return "the body returns or yields"
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.Delete, ast.NamedExpr, ast.Import, ast.ImportFrom)):
            return f"the body has a {type(node).__name__.lower()} statement"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return "the body defines a function or class"
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            return "the body assigns into an array or attribute"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS:
            return f"the body calls .{node.func.attr}() (changes a list or array in place)"
        if isinstance(node, (ast.Try, ast.With, ast.AsyncWith, ast.AsyncFor)):
            return f"the body has a {type(node).__name__.lower()} statement"
    return None


def _loops(stmts: list[ast.stmt]):
    """The outermost ``for`` statements of a function body (not inside nested functions), with the
    statement list holding each."""
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(stmt, (ast.For, ast.While)):
            yield stmt, stmts
            continue
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield from _loops(inner)
        for handler in getattr(stmt, "handlers", ()):
            yield from _loops(handler.body)


def _typed(fdef: ast.FunctionDef) -> ast.FunctionDef:
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12+
        setattr(fdef, "type_params", [])
    return fdef


def _tuple(names: list[str], ctx) -> ast.Tuple:
    return ast.Tuple(elts=[ast.Name(id=n, ctx=ctx()) for n in names], ctx=ctx())


_BLOCKS = ("body", "orelse", "finalbody")


def _path(stmts: list, loop: ast.For, owner: ast.stmt | None = None) -> list | None:
    """The statement lists from the loop's outward: (list, position, the statement holding the list)."""
    for i, stmt in enumerate(stmts):
        if stmt is loop:
            return [(stmts, i, owner)]
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        inner = [getattr(stmt, f) for f in _BLOCKS if isinstance(getattr(stmt, f, None), list)]
        inner += [h.body for h in getattr(stmt, "handlers", ())]
        for block in inner:
            found = _path(block, loop, stmt)
            if found:
                return found + [(stmts, i, owner)]
    return None


def _loads(node: ast.AST) -> set[str]:
    names = _names(node, ast.Load)
    for n in ast.walk(node):  # x += 1 reads x
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            names.add(n.target.id)
    return names


def _first_use(stmts: list, name: str) -> str | None:
    """Whether ``name`` is read ("load") or surely assigned ("store") first, running ``stmts``."""
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if name in _loads(stmt):
                return "load"
            continue
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            head = stmt.iter if isinstance(stmt, (ast.For, ast.AsyncFor)) else stmt.test
            if name in _loads(head):
                return "load"
            if isinstance(stmt, (ast.For, ast.AsyncFor)) and name in _names(stmt.target, ast.Store):
                continue  # (the loop binds it before its body runs)
            if "load" in (_first_use(stmt.body, name), _first_use(stmt.orelse, name)):
                return "load"
            continue
        if isinstance(stmt, ast.If):
            if name in _loads(stmt.test):
                return "load"
            sides = (_first_use(stmt.body, name), _first_use(stmt.orelse, name))
            if "load" in sides:
                return "load"
            if sides == ("store", "store"):
                return "store"
            continue
        if name in _loads(stmt):
            return "load"
        if not isinstance(stmt, (ast.With, ast.AsyncWith, ast.Try)) and name in _names(stmt, ast.Store):
            return "store"
    return None


def _live_after(path: list, loop: ast.For, name: str) -> bool:
    """Whether the code after the loop may read ``name`` before assigning it."""
    for stmts, i, owner in path:
        use = _first_use(stmts[i + 1:], name)
        if use is not None:
            return use == "load"
        if isinstance(owner, (ast.For, ast.AsyncFor, ast.While)):  # the enclosing loop comes round again
            others = [s for s in owner.body if s is not loop]
            if any(name in _loads(s) for s in others):
                return True
    return False


def _bound_before(func: ast.FunctionDef, path: list, name: str) -> bool:
    """Whether ``name`` may be bound when the loop starts (a parameter, or assigned earlier)."""
    if name in {a.arg for a in func.args.args + func.args.kwonlyargs + func.args.posonlyargs}:
        return True
    for stmts, i, owner in path:
        if any(name in _names(s, ast.Store) for s in stmts[:i]):
            return True
        if isinstance(owner, (ast.For, ast.AsyncFor, ast.While)) and name in _names(owner, ast.Store):
            return True
    return False


def _rewrite(func: ast.FunctionDef, loop: ast.For, stmts: list, k: int, used: set[str]) -> str | ast.FunctionDef:
    """Rewrite ``loop`` in place (returning the body's new function), or say why it stays as written."""
    shape = while_form(loop, used) if isinstance(loop, ast.While) else form(loop, k, used)
    if isinstance(shape, str):
        return shape
    path = _path(func.body, loop)
    if path is None:
        return "it is not where the function's statements are"
    for target in sorted(shape.targets):
        if _live_after(path, loop, target):
            return f"the loop variable {target!r} is read after the loop"
    body = [*shape.prefix, *loop.body]
    assigned = set()
    for stmt in body:
        assigned |= _names(stmt, ast.Store)
    assigned.discard(shape.index)
    tested = _loads(shape.test) if shape.test is not None else set()  # (a while loop's condition reads them first)
    carried = sorted(n for n in assigned if n in tested or _first_use(body, n) == "load" or _live_after(path, loop, n))
    unbound = sorted(n for n in carried if not _bound_before(func, path, n))
    if unbound:
        return f"{', '.join(unbound)} is not bound before the loop and is read after it"
    if not carried:
        return "it carries no value from one iteration to the next"
    body_name, plain_name = f"_loop_body_{k}", f"_loop_plain_{k}"
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in [shape.index, *carried]], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    plain_args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in carried], vararg=None,
                               kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    ret = ast.Return(value=_tuple(carried, ast.Load))
    body_def = ast.FunctionDef(name=body_name, args=args, body=[*body, ret], decorator_list=[], returns=None)
    plain_def = ast.FunctionDef(name=plain_name, args=plain_args,
                                body=[shape.plain or loop, ast.Return(value=_tuple(carried, ast.Load))],
                                decorator_list=[], returns=None)
    conds = []
    if shape.test is not None:  # the condition, a function of the carried values
        cond_name = f"_loop_cond_{k}"
        conds = [_typed(ast.FunctionDef(name=cond_name, args=plain_args, body=[ast.Return(value=shape.test)],
                                        decorator_list=[], returns=None))]
        shape.bounds = [ast.Constant("while"), ast.Name(id=cond_name, ctx=ast.Load())]
    bounds = ast.Tuple(elts=shape.bounds, ctx=ast.Load())
    values = _call(ast.Constant("bound"), ast.Call(func=ast.Name(id="locals", ctx=ast.Load()), args=[], keywords=[]),
                   ast.Constant(tuple(carried)))  # type: ignore[arg-type]  # (a tuple constant) (unbound ones: a marker, and the loop runs as written)
    call = _call(ast.Constant(k), bounds, ast.Name(id=body_name, ctx=ast.Load()),
                 ast.Name(id=plain_name, ctx=ast.Load()), values,
                 ast.Constant(tuple(carried)),  # type: ignore[arg-type]  # (a tuple constant: typeshed omits it)
                 ast.Constant(shape.index))
    assign = ast.Assign(targets=[_tuple(carried, ast.Store)], value=call)
    new = [*shape.before, *conds, _typed(body_def), _typed(plain_def), assign]
    for node in new:
        ast.copy_location(node, loop)
        ast.fix_missing_locations(node)
    at = next(i for i, s in enumerate(stmts) if s is loop)
    stmts[at:at + 1] = new
    return body_def


def rolled_code(func: types.FunctionType) -> tuple[types.CodeType | None, list[str], list[int]]:
    """The code of ``func`` with its rollable loops rewritten (None if none), the reasons the other
    loops stay unrolled (``file:line unrolled: why``), and the line of each rewritten loop."""
    code = func.__code__
    key = (code, id(func.__globals__))
    if key in _CACHE:
        return _CACHE[key]
    result = _rolled_code(func) if _may_loop(code) else (None, [], [])
    _CACHE[key] = result
    return result


def _may_loop(code: types.CodeType) -> bool:
    """Whether the bytecode of ``code`` (or of code nested in it) may hold a loop: a long straight-line
    function is not read, parsed and walked for none (seconds for 10,000 lines)."""
    return may_loop(code) or any(_may_loop(c) for c in code.co_consts if isinstance(c, types.CodeType))


def _rolled_code(func):
    code = func.__code__
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None, [], []
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].name != code.co_name:
        return None, [], []
    fdef = tree.body[0]
    # co_firstlineno is the first decorator's line (the def's if there is none): the source's lines as the file's
    ast.increment_lineno(tree, code.co_firstlineno - min([fdef.lineno, *(d.lineno for d in fdef.decorator_list)]))
    where = os.path.basename(code.co_filename)
    if any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in ast.walk(fdef)):
        return None, [], []
    notes, lines, k = [], [], 0
    used = {n.id for n in ast.walk(fdef) if isinstance(n, ast.Name)} | {a.arg for a in ast.walk(fdef)
                                                                        if isinstance(a, ast.arg)}
    todo = [(loop, stmts, fdef) for loop, stmts in _loops(fdef.body)]
    while todo:
        loop, stmts, func = todo.pop(0)
        done = _why_not(loop) or _rewrite(func, loop, stmts, k, used)
        if isinstance(done, ast.FunctionDef):  # rolled; a loop in its body may roll inside it
            lines.append(loop.lineno)
            k += 1
            todo[:0] = [(inner, block, done) for inner, block in _loops(done.body)]
            continue
        notes.append(f"loop at {where}:{loop.lineno} unrolled: {done}")
        todo[:0] = [(inner, block, func) for inner, block in _loops(loop.body)]  # a loop inside may still roll
    if not k:
        return None, notes, []
    fdef.decorator_list = []
    fdef.returns = None
    for a in fdef.args.args + fdef.args.kwonlyargs + fdef.args.posonlyargs:
        a.annotation = None
    fdef.args.defaults = []
    fdef.args.kw_defaults = [None] * len(fdef.args.kwonlyargs)
    if code.co_freevars:  # the same free variables, read from the same closure cells
        factory = ast.FunctionDef(name="_factory", args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=n) for n in code.co_freevars], vararg=None, kwonlyargs=[],
            kw_defaults=[], kwarg=None, defaults=[]),
            body=[fdef, ast.Return(value=ast.Name(id=fdef.name, ctx=ast.Load()))],
            decorator_list=[], returns=None)
        tree.body = [ast.copy_location(_typed(factory), fdef)]
        ast.fix_missing_locations(tree)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = compile(tree, code.co_filename, "exec", flags=code.co_flags & _FUTURE, dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None, notes, []
    new = _find(module, code.co_name, fdef.lineno)  # (compiled without its decorators: from its def line)
    if new is None or new.co_freevars != code.co_freevars or new.co_argcount != code.co_argcount or \
            new.co_kwonlyargcount != code.co_kwonlyargcount or (new.co_flags | 0x10) != (code.co_flags | 0x10):
        return None, notes, []
    return new, notes, lines


def _find(code: types.CodeType, name: str, line: int) -> types.CodeType | None:
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            if c.co_name == name and c.co_firstlineno == line:
                return c
            found = _find(c, name, line)
            if found is not None:
                return found
    return None


def with_helper(code: types.CodeType, helper: Any) -> types.CodeType:
    """``code`` (and the code of functions it defines) calling ``helper`` where it says :data:`MARK`."""
    consts = tuple(helper if isinstance(c, str) and c == MARK else
                   with_helper(c, helper) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_consts=consts)
