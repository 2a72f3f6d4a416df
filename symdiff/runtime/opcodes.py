"""Reading a code object's bytecode the way ``dis`` reads it, fast enough for a 10,000-line function.

``dis.get_instructions`` makes an object per instruction (0.4 s for a function of 100,000 instructions);
the two questions symdiff asks of the user's code are answered here from ``co_code`` itself, on the
Pythons whose encoding this module knows (3.11 to 3.14: two bytes per unit, inline caches as units of
opcode 0, every backward jump an instruction named ``*BACKWARD*``), and through ``dis`` on the others:

- :func:`name_loads`: each load of a global or closure name with the attribute names read from it right
  after (``np.linalg.solve``: ``("LOAD_GLOBAL", "np", ("linalg", "solve"))``);
- :func:`may_loop`: whether the code (not its nested code objects) may hold a loop.

>>> def f(x):
...     return np.linalg.norm(x) + y
>>> name_loads(f.__code__) == dis_name_loads(f.__code__)
True
>>> [load[1:] for load in name_loads(f.__code__)]
[('np', ('linalg', 'norm')), ('y', ())]
"""
from __future__ import annotations

import dis
import re
import sys
import types

#: The loads :func:`name_loads` reports, and the attribute loads that extend them.
NAME_LOADS = ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF")
ATTR_LOADS = ("LOAD_ATTR", "LOAD_METHOD")
LOOP_OPS = frozenset({"FOR_ITER", "GET_ITER", "GET_AITER", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
                      "JUMP_ABSOLUTE", "SETUP_LOOP"})

FAST = (3, 11) <= sys.version_info[:2] < (3, 15)
_VERSION = sys.version_info[:2]
_CACHE = dis.opmap.get("CACHE", 0)
_EXTENDED = dis.EXTENDED_ARG
_OP = {name: dis.opmap[name] for name in (*NAME_LOADS, *ATTR_LOADS) if name in dis.opmap}
_NAME_OPS = frozenset(_OP[n] for n in NAME_LOADS if n in _OP)
_ATTR_OPS = frozenset(_OP[n] for n in ATTR_LOADS if n in _OP)
_FIND = re.compile(b"[" + b"".join(re.escape(bytes([op])) for op in sorted(_NAME_OPS)) + b"]")
_LOOP_CODES = frozenset(op for name, op in dis.opmap.items() if name in LOOP_OPS or "BACKWARD" in name)


def dis_name_loads(code: types.CodeType) -> list[tuple[str, str, tuple[str, ...]]]:
    """:func:`name_loads` read through ``dis`` (every Python)."""
    ins = [i for i in dis.get_instructions(code) if i.opname != "EXTENDED_ARG"]
    out = []
    for k, op in enumerate(ins):
        if op.opname in NAME_LOADS:
            j = k + 1  # (by index: a slice of the rest at every load is quadratic in a long function)
            while j < len(ins) and ins[j].opname in ATTR_LOADS:
                j += 1
            out.append((op.opname, op.argval, tuple(i.argval for i in ins[k + 1:j])))
    return out


def name_loads(code: types.CodeType) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(opname, name, attributes)`` of each load in ``code`` (not its nested code objects) of a global,
    a name or a closure cell, with the attributes loaded from it right after, in order."""
    if not FAST:
        return dis_name_loads(code)
    raw = code.co_code
    ops, args = raw[0::2], raw[1::2]
    out = []
    for m in _FIND.finditer(ops):
        k = m.start()
        op = ops[k]
        opname = dis.opname[op]
        attrs = []
        j = _next(ops, k + 1)
        while j < len(ops) and ops[j] in _ATTR_OPS:
            a = _arg(ops, args, j)
            attrs.append(code.co_names[a >> 1 if ops[j] == _OP["LOAD_ATTR"] and _VERSION >= (3, 12) else a])
            j = _next(ops, j + 1)
        out.append((opname, _name(code, opname, _arg(ops, args, k)), tuple(attrs)))
    return out


def _name(code: types.CodeType, opname: str, arg: int) -> str:
    if opname == "LOAD_GLOBAL":
        return code.co_names[arg >> 1]
    if opname == "LOAD_NAME":
        return code.co_names[arg]
    return code._varname_from_oparg(arg)  # type: ignore[attr-defined]  # (a cell: numbered as the fast locals)


def _next(ops: bytes, j: int) -> int:
    """The unit of the instruction at or after unit ``j``: past inline caches and EXTENDED_ARG prefixes."""
    while j < len(ops) and ops[j] in (_CACHE, _EXTENDED):
        j += 1
    return j


def _arg(ops: bytes, args: bytes, k: int) -> int:
    """The argument of the instruction at unit ``k``, with the EXTENDED_ARG prefixes before it."""
    arg, shift, p = args[k], 8, k - 1
    while p >= 0 and ops[p] == _EXTENDED:
        arg |= args[p] << shift
        shift += 8
        p -= 1
    return arg


def may_loop(code: types.CodeType) -> bool:
    """Whether ``code`` itself (not its nested code objects) may hold a loop: a ``for``, a ``while``, a
    backward jump."""
    if FAST:
        return not _LOOP_CODES.isdisjoint(code.co_code[0::2])
    return any(i.opname in LOOP_OPS or "BACKWARD" in i.opname  # (3.11's while: POP_JUMP_BACKWARD_IF_TRUE)
               or ("JUMP" in i.opname and isinstance(i.argval, int) and i.argval <= i.offset)
               for i in dis.get_instructions(code))
