"""The array API backend's module: the NumPy backend's structure (:func:`symdiff.backends.numpy.module.
module_source`: functions per path, dispatch on branches, guards of sizes) with this backend's printer,
constants and rendering. Each generated function starts by finding its arguments' namespace::

    xp = _array_namespace.cache.get((type(x), type(w), type(b)))
    if xp is None:
        xp = _array_namespace(x, w, b)
    dtype = xp.result_type(x, w, b)   # (where arrays are made: constants, zeros)
    device = _device(xp, x)           # array_api_compat.device(x)

(``_array_namespace``: array_api_compat.array_namespace, remembered for each combination of argument
types; the function reads that cache itself) and the rest of it calls only ``xp`` (the standard's
functions and its ``linalg`` extension). What the standard cannot express (``scipy.special.erf``,
``np.random``, ``np.add.at``) is refused when the module is compiled, naming the function and the
user's line."""
from __future__ import annotations

import ast
import functools
import math
import os
from typing import Any

from ...errors import UnsupportedError
from ...runtime.specs import ArgSpec
from ..numpy.codegen import ModuleText, NodePrinter
from ..numpy.render import render_module
from ..numpy.module import module_source as numpy_module_source
from . import bands, triangular  # noqa: F401  (register their primitives)
from .dispatch import EMIT
from .printer import ArrayAPIExprPrinter, ArrayAPIHelpers, NotInStandard

#: The names every generated function binds first; no name of the user's takes them.
PROLOGUE_NAMES = ("xp", "dtype", "device", "array_api_compat")


class Refused(Exception):
    """A node the standard cannot express: the function it needs, and the node (for its origin)."""

    def __init__(self, function: str, node) -> None:
        super().__init__(function)
        self.function, self.node = function, node


class _Checked:
    """:data:`EMIT` seen by the printer: a primitive it lacks, or an emit that refuses, names the node."""

    def __getitem__(self, op: str):
        def emit(node, args, printer):
            if op not in EMIT:
                raise Refused(f"the primitive {op!r}", node)
            try:
                return EMIT[op](node, args, printer)
            except NotInStandard as exc:
                raise Refused(exc.function, node) from None
        return emit


class ArrayAPIModuleText(ModuleText):
    """Constants as Python lists at the top of the module (made into arrays of the inputs' namespace,
    dtype and device where used); helpers from :mod:`.printer`. Large constants are listed too (the
    module loads no .npy files: it may run where NumPy is not the arrays' library)."""

    stores_data = False

    def __post_init__(self) -> None:
        self.reserved |= set(PROLOGUE_NAMES)
        self.helpers = ArrayAPIHelpers(self.reserved)

    def constant_code(self, arr) -> str:
        return _listing(arr.tolist())


def _listing(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_listing(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "float('nan')" if math.isnan(value) else ("float('inf')" if value > 0 else "-float('inf')")
    return repr(value)


class ArrayAPINodePrinter(NodePrinter):
    """Statements in the standard's namespace: the NumPy backend's body, with the prologue that binds
    ``xp`` (and ``dtype``, ``device`` where used) and makes 0-d arguments (Python floats) arrays."""

    emit_table = _Checked()
    parts_table: dict = {}  # each part through emit_table (the NumPy backend's calls are NumPy's)
    expr_printer = ArrayAPIExprPrinter

    def __init__(self, module, params, size_bindings, specs: dict[str, ArgSpec]) -> None:
        super().__init__(module, params, size_bindings)
        self.params = [p.partition("=")[0] for p in params]
        self.specs = specs

    def helper_call_code(self, name: str, args: list[str]) -> str:
        return f"{self.module.helpers.use(name)}({', '.join(['xp', *args])})"

    def cast(self, code: str, dtype: str) -> str:
        return f"xp.asarray({code}, dtype=xp.{dtype.removesuffix('()')})"  # ("float32()": a scalar, the same here)

    def argument_like(self, node) -> str | None:
        """An array argument of ``node``'s shape (its sizes, read from the argument) and dtype, for
        ``xp.empty_like``: no dtype and device to find for it."""
        for p in self.params:
            shape = self.specs[p].shape if p in self.specs else None
            if shape is not None and len(shape) == node.ndim and self.specs[p].dtype == node.dtype and \
                    all(self.size_bindings.get(d) == f"{p}.shape[{k}]" for k, d in enumerate(node.shape)):
                return p
        return None

    def _in_place(self, node, uses, out_ids) -> bool:
        return False  # arrays may be immutable (JAX): every assignment makes a new array

    def body(self, outputs, labels, returns, casts=()) -> list[str]:
        lines = super().body(outputs, labels, returns, casts)
        return self._prologue(lines) + lines

    def _prologue(self, lines: list[str]) -> list[str]:
        used = _names("\n".join(lines))
        arrays = [p for p in self.params if p in self.specs and self.specs[p].is_array]
        shaped = [p for p in arrays if self.specs[p].shape]
        floats = [p for p in shaped if self.specs[p].dtype.startswith("float")]
        scalars = [p for p in arrays if not self.specs[p].shape and p in used]
        # vjp's cotangent, whose shape is known only after tracing: an array of the same library, or a number
        extra = [p for p in self.params if p in self.specs and not self.specs[p].is_array
                 and self.specs[p].static is None]
        lookup, names = self.module.helpers.use("_array_namespace"), (shaped or arrays) + extra
        key = "(" + ", ".join(f"type({n})" for n in names) + ("," if len(names) == 1 else "") + ")"
        out = [f"xp = {lookup}.cache.get({key})", "if xp is None:", f"    xp = {lookup}({', '.join(names)})"]
        if "dtype" in used or any(self.specs[p].dtype.startswith("float") for p in scalars):
            out.append(f"dtype = {_result_type(floats)}")
        if "device" in used or scalars:
            out.append(f"device = {self.module.helpers.use('_device')}(xp, {shaped[0]})" if shaped else "device = None")
        for p in scalars:  # a Python float (or int) argument: an array of the namespace
            kind = {"int64": "xp.int64", "bool": "xp.bool"}.get(self.specs[p].dtype, "dtype")
            out.append(f"{p} = xp.asarray({p}, dtype={kind}, device=device)")
        return out


def _result_type(floats: list[str]) -> str:
    if not floats:
        return "xp.float64"
    return f"{floats[0]}.dtype" if len(floats) == 1 else f"xp.result_type({', '.join(floats)})"


def _names(body: str) -> set[str]:
    """The names a function body reads."""
    tree = ast.parse("def f():\n" + "\n".join("    " + line for line in body.splitlines()))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _render(header: dict, functions, module, filename: str = "<symdiff generated module>") -> str:
    header = {**header, "summary": header["summary"] + " Array API code: runs on the arrays of any library "
              "array_api_compat supports (NumPy, PyTorch, JAX, CuPy, dask)."}
    return render_module(header, functions, module, filename, imports=["import array_api_compat"])


def module_source(name, fn, specs, *args, **kwargs) -> str:
    """The module for ``backend="array_api"`` (the arguments of the NumPy backend's ``module_source``)."""
    try:
        import array_api_compat  # noqa: F401  (the generated module imports it)
    except ImportError:
        raise UnsupportedError('backend="array_api" needs array-api-compat: pip install "symdiff[array-api]" '
                               '(or pip install array-api-compat), or use backend="numpy"') from None
    printer = functools.partial(ArrayAPINodePrinter, specs={s.name: s for s in specs})
    try:
        return numpy_module_source(name, fn, specs, *args, printer=printer, module_text=ArrayAPIModuleText,
                                   render=_render, **kwargs)
    except Refused as exc:
        origin = exc.node.origin
        where = (f" (needed by {'the gradient of ' if origin.grad else ''}{os.path.basename(origin.file)}:"
                 f"{origin.line}: {origin.text.strip()})" if origin is not None and origin.text else "")
        raise UnsupportedError(f"{name}: backend='array_api' cannot write {exc.function}{where}: the array API "
                               f"standard has no such function; use backend='numpy' (the default) for {name}") from None
