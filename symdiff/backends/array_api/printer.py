"""SymPy kernels as array API code: the NumPy backend's :class:`ExprPrinter`, whose NumPy names are
translated to the standard's (``np.arccos`` -> ``xp.acos``, ``np.power`` -> ``xp.pow``); a name the
standard lacks is refused (:class:`NotInStandard`), never printed.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> ArrayAPIExprPrinter({x: "x"}).doprint(sp.acos(x) + sp.Max(x, 0))
'xp.maximum(x, 0.0) + xp.acos(x)'
"""
from __future__ import annotations

import ast
import re

import sympy as sp

from ...ir.scalar import HELPERS
from ...naming import Namer
from ..numpy.printer import ExprPrinter, Helpers


class NotInStandard(Exception):
    """The code needs a function the array API standard does not have (its NumPy or SciPy name)."""

    def __init__(self, function: str) -> None:
        super().__init__(function)
        self.function = function


#: NumPy names -> the standard's (the same name where it is absent here and in :data:`SAME`).
RENAMED = {
    "absolute": "abs", "arccos": "acos", "arcsin": "asin", "arctan": "atan", "arctan2": "atan2",
    "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh", "power": "pow", "mod": "remainder",
    "concatenate": "concat", "bool_": "bool", "rint": "round",
}
#: Names the standard has as NumPy does (functions, constants, dtypes).
SAME = set("""abs exp expm1 log log1p log2 log10 sqrt square sin cos tan sinh cosh tanh sign floor ceil trunc
round maximum minimum where clip hypot logaddexp copysign remainder floor_divide logical_and logical_or
logical_xor logical_not isnan isinf isfinite signbit reciprocal nan inf pi e float32 float64 int64 bool
sum prod max min mean reshape broadcast_to matmul asarray zeros ones full eye arange tril triu""".split()) | \
    set(RENAMED.values())
#: The linear algebra extension (``xp.linalg``), where the namespace has it.
LINALG = set("inv det slogdet solve pinv cholesky qr svd svdvals eigh eigvalsh matrix_power".split())


def standard_name(dotted: str) -> str:
    """``np.arccos`` -> ``xp.acos``, ``np.linalg.inv`` -> ``xp.linalg.inv``; else :class:`NotInStandard`."""
    parts = dotted.split(".")
    if parts[0] == "np" and len(parts) == 2:
        name = RENAMED.get(parts[1], parts[1])
        if name in SAME:
            return f"xp.{name}"
    if parts[0] == "np" and len(parts) == 3 and parts[1] == "linalg" and parts[2] in LINALG:
        return f"xp.linalg.{parts[2]}"
    raise NotInStandard(dotted)


def _dotted(node: ast.AST) -> str | None:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(names)])
    return None


def to_standard(code: str) -> str:
    """NumPy code (one expression) with every ``np.<name>`` replaced by the standard's name; a module
    other than NumPy (``scipy.special.erf``) or a name the standard lacks raises :class:`NotInStandard`."""
    if "np." not in code and "scipy." not in code:
        return code
    tree = ast.parse(code, mode="eval")
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "parent", None), ast.Attribute):
            dotted = _dotted(node)
            if dotted is None or dotted.split(".")[0] not in ("np", "scipy"):
                continue
            spans.append((node.col_offset, node.end_col_offset, dotted))
        for child in ast.iter_child_nodes(node):
            child.parent = node  # type: ignore[attr-defined]
    data = code.encode()  # (ast's offsets count UTF-8 bytes)
    for start, end, dotted in sorted(spans, reverse=True):
        if dotted.startswith("scipy."):
            raise NotInStandard(dotted)
        data = data[:start] + standard_name(dotted).encode() + data[end:]
    return data.decode()


#: NumPy functions the standard lacks, written with its functions by a helper of the module.
AS_HELPERS = {"np.heaviside": "_heaviside", "np.exp2": "_exp2", "np.logaddexp2": "_logaddexp2", "np.fmax": "_fmax",
              "np.fmin": "_fmin", "np.cbrt": "_cbrt", "np.clip": "_clip"}


def _helper_calls(code: str, use) -> str:
    """``np.heaviside(x, 0.5)`` -> ``_heaviside(xp, x, 0.5)`` for the functions of :data:`AS_HELPERS`."""
    if not any(name in code for name in AS_HELPERS):
        return code
    tree = ast.parse(code, mode="eval")
    spans = [(n.func.col_offset, n.func.end_col_offset or 0, AS_HELPERS[str(_dotted(n.func))]) for n in ast.walk(tree)
             if isinstance(n, ast.Call) and _dotted(n.func) in AS_HELPERS]
    data = code.encode()
    for start, end, helper in sorted(spans, reverse=True):
        assert data[end:end + 1] == b"("
        data = data[:start] + f"{use(helper)}(xp, ".encode() + data[end + 1:]
    return data.decode()


def _sizes_only(expr) -> bool:
    """An expression of sizes and numbers alone (``sqrt(n)``, ``log(2)``): Python numbers at run time."""
    return isinstance(expr, sp.Basic) and bool(expr.args) and not expr.is_Number and \
        all(s.is_integer for s in expr.free_symbols)


class ArrayAPIExprPrinter(ExprPrinter):
    """Prints scalar SymPy kernels over named arrays with the standard's functions (``xp.``); helpers
    get the namespace as their first argument; functions of sizes alone are Python's (``n**0.5``)."""

    def _print(self, expr, **kwargs):
        if _sizes_only(expr) and not isinstance(expr, (sp.Add, sp.Mul)):
            if isinstance(expr, sp.Pow) and not expr.exp.is_Integer:
                base, exp = expr.args
                return f"{self.parenthesize(base, 1000)}**{self.parenthesize(exp, 1000)}"
            if isinstance(expr, sp.Function) and expr.func in (sp.log, sp.exp) and len(expr.args) == 1:
                return f"{self.helpers.use('_math')}.{expr.func.__name__}({self._print(expr.args[0])})"
        return super()._print(expr, **kwargs)

    def doprint(self, expr, assign_to=None):
        return to_standard(_helper_calls(super().doprint(expr, assign_to), self.helpers.use))

    def helper_call(self, name: str, *args: sp.Expr) -> str:
        return f"{self.helpers.use(name)}({', '.join(['xp', *(self._print(a) for a in args)])})"

    def _print_Heaviside(self, expr) -> str:
        h0 = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        h = repr(float(h0)) if h0.is_Number else self._print(h0)
        return f"{self.helpers.use('_heaviside')}(xp, {self._print(expr.args[0])}, {h})"

    def _print_Piecewise(self, expr) -> str:
        *pieces, (last, cond) = expr.args
        if cond != sp.true:
            raise ValueError("symdiff printer: Piecewise without a default branch")
        code, number = self._float_arg(last), last.is_Number
        for value, c in reversed(pieces):
            chosen = self._float_arg(value)
            if number and value.is_Number:  # xp.where needs one array among its choices
                chosen = f"xp.asarray({chosen}, dtype={'xp.int64' if self.integer else 'dtype'})"
            code, number = f"np.where({self._print(c)}, {chosen}, {code})", False
        return code


#: The helpers of array API modules, each taking the namespace first (``_sigmoid(xp, z)``).
SOURCES = {
    "_sigmoid": '''def _sigmoid(xp, x):
    """Logistic sigmoid 1 / (1 + exp(-x)), without overflow for large |x|."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)''',
    "_heaviside": '''def _heaviside(xp, x, h):
    """0 below 0, h at 0, 1 above (NaN stays NaN), as np.heaviside."""
    return xp.where(x < 0, 0.0, xp.where(x > 0, 1.0, xp.where(x == 0, h, x)))''',
    "_exp2": '''def _exp2(xp, x):
    """2**x, as np.exp2."""
    return xp.pow(2.0, x)''',
    "_logaddexp2": '''def _logaddexp2(xp, a, b):
    """log2(2**a + 2**b), as np.logaddexp2."""
    return xp.logaddexp(a * 0.6931471805599453, b * 0.6931471805599453) / 0.6931471805599453''',
    "_fmax": '''def _fmax(xp, a, b):
    """The larger of a and b, the other where one is NaN, as np.fmax."""
    return xp.where(xp.isnan(b), a, xp.where(xp.isnan(a), b, xp.maximum(a, b)))''',
    "_fmin": '''def _fmin(xp, a, b):
    """The smaller of a and b, the other where one is NaN, as np.fmin."""
    return xp.where(xp.isnan(b), a, xp.where(xp.isnan(a), b, xp.minimum(a, b)))''',
    "_clip": '''def _clip(xp, x, lo, hi):
    """minimum(maximum(x, lo), hi), as np.clip (also where lo > hi, which xp.clip leaves undefined);
    a bound of None is no bound."""
    x = x if lo is None else xp.maximum(x, lo)
    return x if hi is None else xp.minimum(x, hi)''',
    "_cbrt": '''def _cbrt(xp, x):
    """The real cube root, as np.cbrt."""
    return xp.sign(x) * xp.abs(x) ** (1.0 / 3.0)''',
    "_xlogy": '''def _xlogy(xp, x, y):
    """x * log(y), and 0 where x == 0 (as scipy.special.xlogy)."""
    zero = x == 0
    return xp.where(zero, 0.0, x * xp.log(xp.where(zero, 1.0, y)))''',
    "_xlog1py": '''def _xlog1py(xp, x, y):
    """x * log1p(y), and 0 where x == 0 (as scipy.special.xlog1py)."""
    zero = x == 0
    return xp.where(zero, 0.0, x * xp.log1p(xp.where(zero, 0.0, y)))''',
    "_mullog": '''def _mullog(xp, x, y):
    """x * log(y), and 0 where x == y == 0: the limit of y**t * log(y) at y = 0 for t > 0."""
    zero = (x == 0) & (y == 0)
    return xp.where(zero, 0.0, x * xp.log(xp.where(zero, 1.0, y)))''',
    "_put": '''def _put(a, index, value):
    """``a`` with ``a[index] = value``: in place, or a new array where arrays are immutable (JAX)."""
    if hasattr(a, "at"):
        return a.at[index].set(value)
    a[index] = value
    return a''',
    "_add": '''def _add(a, index, value):
    """``a`` with ``value`` added to ``a[index]``: in place, or a new array where arrays are immutable (JAX)."""
    if hasattr(a, "at"):
        return a.at[index].add(value)
    a[index] += value
    return a''',
    "_subtract": '''def _subtract(a, index, value):
    """``a`` with ``value`` subtracted from ``a[index]``: in place, or a new array where arrays are immutable."""
    if hasattr(a, "at"):
        return a.at[index].add(-value)
    a[index] -= value
    return a''',
    "_inner": '''def _inner(xp, a, b):
    """The inner product ``a @ b`` of two vectors (neither conjugated); on NumPy arrays ndarray.dot,
    what np.dot (the NumPy backend's call) runs, without the matmul ufunc's dispatch nor np.dot's:
    0.2 us less than ``@``."""
    if type(xp) is _NumPy:
        return a.dot(b)
    return a @ b''',
    "_add_diagonal": '''def _add_diagonal(xp, a, value, dtype, device):
    """``a + value * eye(n)`` for a square ``a`` the code made for this alone: on NumPy arrays ``value``
    added to its diagonal in place (no n x n identity, no pass over ``a``)."""
    if type(xp) is _NumPy:
        a.flat[::a.shape[1] + 1] += value
        return a
    return a + value * _identity(xp, a.shape[0], dtype, device)''',
    "_identity": '''def _identity(xp, n, dtype, device):
    """The n x n identity of ``xp``, made once for each namespace, dtype and device (never written to)."""
    key = ("identity", n, xp, dtype, device)
    try:
        out = _CONSTANTS.get(key)
    except TypeError:  # a library whose dtypes or devices cannot be hashed: by their names
        key = ("identity", n, xp, str(dtype), str(device))
        out = _CONSTANTS.get(key)
    if out is None:
        out = xp.eye(n, dtype=dtype, device=device)
        _CONSTANTS[key] = out
    return out''',
    "_scatter": '''def _scatter(xp, g, shape, index, dtype, device):
    """Zeros of ``shape`` with ``g`` placed at ``index`` (gradient of indexing)."""
    return _put(xp.zeros(shape, dtype=dtype, device=device), index, g)''',
    "_updated": '''def _updated(xp, a, index, value):
    """A copy of ``a`` with ``a[index]`` replaced by ``value`` (``a[index] = value`` without
    changing ``a``)."""
    return _put(xp.asarray(a, copy=True), index, value)''',
    "_einsum": '''def _einsum(xp, subscripts, *operands):
    """np.einsum with the standard's functions: the operands' axes aligned by letter (those of the
    result first, in its order), multiplied, and summed over the letters the result does not have."""
    inputs, out = subscripts.split("->")
    letters = sorted(set(inputs.replace(",", "")), key=lambda c: (c not in out, out.find(c), c))
    product = None
    for sub, x in zip(inputs.split(","), operands):
        present = sorted(sub, key=letters.index)
        x = xp.permute_dims(x, tuple(sub.index(c) for c in present))
        x = xp.reshape(x, tuple(x.shape[present.index(c)] if c in present else 1 for c in letters))
        product = x if product is None else product * x
    summed = tuple(range(len(out), len(letters)))
    return xp.sum(product, axis=summed) if summed else product''',
    "_array_namespace": '''def _array_namespace(*args):
    """array_api_compat.array_namespace of the arguments that are arrays (Python numbers and None left
    out), remembered for each combination of their types; for NumPy arrays NumPy itself (NumPy 2.1 and
    later implement the standard), so that its calls are NumPy's, without wrappers (see _NumPy)."""
    types = tuple(map(type, args))
    xp = _array_namespace.cache.get(types)
    if xp is None:
        arrays = [a for a in args if a is not None and not isinstance(a, (bool, int, float))]
        if not arrays:
            from array_api_compat import numpy as xp
        else:
            xp = array_api_compat.array_namespace(*arrays)
        if xp.__name__ == "array_api_compat.numpy":
            import numpy
            xp = _NumPy(numpy) if hasattr(numpy, "cumulative_sum") else xp
        _array_namespace.cache[types] = xp
    return xp


class _NumPy:
    """NumPy's namespace, where the functions whose NumPy versions are Python wrappers that only
    forward are called as those wrappers call them: xp.sum(x, axis=1) is np.add.reduce(x, 1), as
    np.sum(x, axis=1) computes it (the same numbers, without a microsecond of wrapping per call)."""

    __name__ = "numpy"

    def __init__(self, numpy):
        self._numpy, ndarray = numpy, numpy.ndarray
        add, multiply = numpy.add.reduce, numpy.multiply.reduce
        maximum, minimum = numpy.maximum.reduce, numpy.minimum.reduce

        def sum(x, /, *, axis=None, dtype=None, keepdims=False):
            return add(x, axis, dtype, None, keepdims)

        def prod(x, /, *, axis=None, dtype=None, keepdims=False):
            return multiply(x, axis, dtype, None, keepdims)

        def max(x, /, *, axis=None, keepdims=False):
            return maximum(x, axis, None, None, keepdims)

        def min(x, /, *, axis=None, keepdims=False):
            return minimum(x, axis, None, None, keepdims)

        def reshape(x, /, shape, *, copy=None):
            return x.reshape(shape) if copy is None and type(x) is ndarray else numpy.reshape(x, shape, copy=copy)

        def astype(x, dtype, /, *, copy=True, device=None):
            return x.astype(dtype, copy=copy) if type(x) is ndarray else numpy.astype(x, dtype, copy=copy)

        self.sum, self.prod, self.max, self.min = sum, prod, max, min
        self.reshape, self.astype = reshape, astype

    def __getattr__(self, name):
        value = getattr(self._numpy, name)
        setattr(self, name, value)  # found directly from now on
        return value


_array_namespace.cache = {}''',
    "_device": '''def _device(xp, x):
    """array_api_compat.device(x): "cpu" for NumPy's namespace without a call into it."""
    return "cpu" if type(xp) is _NumPy else array_api_compat.device(x)''',
    "_constant": '''def _constant(xp, value, dtype, device):
    """The constant ``value`` (nested lists, at the top of the module) as an array of ``xp``, made once
    for each namespace, dtype and device (never written to: the code makes new arrays)."""
    key = (id(value), xp, dtype, device)
    try:
        out = _CONSTANTS.get(key)
    except TypeError:  # a library whose dtypes or devices cannot be hashed: by their names
        key = (id(value), xp, str(dtype), str(device))
        out = _CONSTANTS.get(key)
    if out is None:
        out = xp.asarray(value, dtype=dtype, device=device)
        _CONSTANTS[key] = out
    return out


_CONSTANTS = {}''',
    "_math": "import math as _math",
    "BranchNotCompiled": '''class BranchNotCompiled(LookupError):
    """These arguments take a branch this module has no code for yet (symdiff compiles it when called)."""''',
}
#: Helpers that call other helpers.
NEEDS = {"_scatter": ("_put",), "_updated": ("_put",), "_identity": ("_constant",), "_device": ("_array_namespace",),
         "_inner": ("_array_namespace",), "_add_diagonal": ("_identity", "_array_namespace")}


class ArrayAPIHelpers(Helpers):
    """The helpers of an array API module (:data:`SOURCES`); one the NumPy backend has and this one
    does not (``_erf``: SciPy) is refused."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        super().__init__(reserved)
        namer = Namer(set(reserved) | set(self.names.values()))
        for helper in sorted(set(SOURCES) - set(self.names)):  # this backend's own helpers, named alike
            self.names[helper] = namer.fresh(helper)

    def use(self, helper: str) -> str:
        if helper not in SOURCES:
            numpy_source = HELPERS.get(helper, "")
            raise NotInStandard(f"scipy.special.{helper.strip('_')}" if "scipy.special" in numpy_source
                                else helper.strip("_"))
        for other in NEEDS.get(helper, ()):
            self.use(other)
        return super().use(helper)

    def sources(self) -> list[str]:
        out = []
        for h in sorted(self.used):
            text = re.sub(rf"\b{h}\b", self.names[h], SOURCES[h])  # its def, and what it keeps on itself
            for other in NEEDS.get(h, ()):  # under the name this module gave it
                text = text.replace(f"{other}(", f"{self.names[other]}(")
            out.append(text)
        return out
