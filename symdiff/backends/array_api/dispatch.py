"""The array API code of each primitive: :data:`EMIT`, primitive name -> ``emit(node, args, printer)``,
as the NumPy backend's table (``backends/numpy/dispatch``) is for NumPy. Written only with the
standard's functions, methods and indexing (every axis indexed, or an ``...``); arrays are made in the
inputs' ``dtype`` on their ``device`` (names the function's prologue binds, see :mod:`.module`).

A primitive missing here, or one whose parameters the standard cannot express, raises
:class:`~.printer.NotInStandard` with the NumPy function it would need: the compiler refuses the
function, naming that function and the user's line (see :mod:`.module`)."""
from __future__ import annotations

from typing import Callable, Sequence

import sympy as sp

from ...escape import literal
from ...ir.graph import Node
from ..numpy.dispatch.core import axis_args, mean_of
from ..numpy.dispatch.decompositions import emit_eigh, emit_qr, emit_svd, emit_tri_mask
from ..numpy.dispatch.index import index_parts
from ..numpy.dispatch.linalg import emit_matmul, emit_outer
from ..numpy.dispatch.shape import emit_concatenate, emit_roll, emit_slice_axis
from ..numpy.dispatch.rewrites import _complement, pairwise_square_lines, sum_terms
from .printer import NotInStandard

Emit = Callable[..., "str | list[str]"]
EMIT: dict[str, Emit] = {}


def dtype_code(node: Node) -> str:
    """The dtype of arrays made for ``node``: the inputs' float dtype, or the standard's int64 / bool."""
    return {"int64": "xp.int64", "bool": "xp.bool"}.get(node.dtype, "dtype")


def index_code(index: tuple, ndim: int, arrays: Sequence[str] = ()) -> str:
    """The index as the standard reads it: each axis of the ``ndim``-dimensional array indexed, or a
    trailing ``...`` (NumPy's ``x[0]`` of a matrix is ``x[0, ...]``)."""
    parts = index_parts(index, list(arrays))
    covered = sum(1 for p in parts if p != "None")
    if "..." not in parts and covered < ndim:
        parts.append("...")
    return ", ".join(parts) if parts else "..."


def index_object(index: tuple, ndim: int, arrays: Sequence[str] = ()) -> str:
    """The index of an ``ndim``-dimensional array as a Python tuple (what ``np.s_[...]`` makes), for a
    helper to index with; as :func:`index_code`, every axis indexed or an ``Ellipsis`` last."""
    out = []
    for item, part in zip(index, index_parts(index, list(arrays))):
        if isinstance(item, tuple) and item[0] == "slice":
            out.append("slice(" + ", ".join("None" if v is None else str(v) for v in item[1:]) + ")")
        else:
            out.append("Ellipsis" if part == "..." else part)
    if "Ellipsis" not in out and sum(1 for part in out if part != "None") < ndim:
        out.append("Ellipsis")
    return "(" + ", ".join(out) + ("," if len(out) == 1 else "") + ")"


def _emit_reduce(fn: str) -> Emit:
    def emit(node: Node, a: list[str], p) -> str:
        x = node.inputs[0]
        arg = f"xp.astype({a[0]}, dtype)" if x.dtype == "bool" and node.dtype != "bool" else a[0]
        name = {"max": "any", "min": "all"}.get(fn, fn) if x.dtype == node.dtype == "bool" else fn  # (np.any)
        return f"xp.{name}({', '.join([arg, *axis_args(node)])})"
    return emit


def _emit_transpose(node: Node, a: list[str], p) -> str:
    axes = node.param("axes")
    if len(axes) == 2 and axes == (1, 0):
        return f"{p.paren(a[0], '.')}.T"
    return f"xp.permute_dims({a[0]}, {tuple(axes)})"


_REVERSED, _WHOLE = ("slice", None, None, -1), ("slice", None, None, None)


def _emit_getitem(node: Node, a: list[str], p) -> str:
    """Basic indexing; whole axes reversed (``x[::-1]``) through ``xp.flip``, which every library has
    (PyTorch's tensors refuse negative steps)."""
    x, index = node.inputs[0], node.param("index")
    axes = [sum(item is not None for item in index[:k]) for k, item in enumerate(index) if item == _REVERSED]
    if axes:
        a = [f"xp.flip({a[0]}, axis={axes[0] if len(axes) == 1 else tuple(axes)})"]
        index = tuple(_WHOLE if item == _REVERSED else item for item in index)
        if all(item == _WHOLE for item in index):
            return a[0]
    base = p.paren(a[0], "[") if x.ndim else f"xp.asarray({a[0]})"
    return f"{base}[{index_code(index, x.ndim)}]"


def _emit_gather(node: Node, a: list[str], p) -> str:
    """One 1-d index array on one axis, every other axis whole: ``xp.take``; basic indexes as such."""
    index, x = node.param("index"), node.inputs[0]
    arrays = [k for k, item in enumerate(index) if isinstance(item, tuple) and item[0] == "array"]
    if not arrays:
        return f"{p.paren(a[0], '[')}[{index_code(index, x.ndim, a[1:])}]"
    full = ("slice", None, None, None)
    if len(arrays) == 1 and node.inputs[1 + index[arrays[0]][1]].ndim == 1 and \
            all(item == full for k, item in enumerate(index) if k != arrays[0]):
        return f"xp.take({a[0]}, {a[1 + index[arrays[0]][1]]}, axis={arrays[0]})"
    if len(index) == x.ndim and all(isinstance(item, int) or k in arrays for k, item in enumerate(index)):
        return f"{p.paren(a[0], '[')}[{index_code(index, x.ndim, a[1:])}]"  # integer arrays on every axis
    raise NotInStandard("indexing by integer arrays on more than one axis (np.take_along_axis, x[i, j])")


def _has_arrays(index: tuple) -> bool:
    return any(isinstance(item, tuple) and item[0] == "array" for item in index)


def _emit_scatter(node: Node, a: list[str], p, arrays=()) -> str:
    index = node.param("index")
    if node.op == "scatter_add" and _has_arrays(index):
        return _emit_one_hot(node, a, p)
    index = index_object(node.param("index"), node.ndim, arrays)
    return p.helper_call_code("_scatter", [a[0], p.shape(node.shape), index, dtype_code(node), "device"])


def _emit_one_hot(node: Node, a: list[str], p) -> str:
    """Adding ``g`` at integer-array indices (``np.add.at``, which the standard lacks) as a product with
    one-hot matrices: one 1-d index array on axis 0 (an embedding's gradient), or two on a matrix
    (``logp[np.arange(n), y]``). Repeated indices add up, as ``np.add.at`` adds them."""
    index, shape = node.param("index"), node.shape
    full = ("slice", None, None, None)
    items = [item for item in index]
    arrays = [node.inputs[1 + item[1]] for item in items if isinstance(item, tuple) and item[0] == "array"]
    codes = [a[1 + item[1]] for item in items if isinstance(item, tuple) and item[0] == "array"]
    if any(x.ndim != 1 for x in arrays):
        raise NotInStandard("np.add.at with index arrays of more than one dimension")
    g = a[0]
    if len(items) >= 1 and items[0][0] == "array" and all(item == full for item in items[1:]) and \
            node.inputs[0].ndim == len(shape):
        hot = f"xp.astype({p.paren(codes[0], '[')}[:, None] == xp.arange({p.size(shape[0])}, device=device), dtype)"
        if len(shape) == 1:
            return f"{g} @ {hot}"
        if len(shape) == 2:
            return f"{hot}.T @ {p.paren(g, '@')}"
    if len(items) == 2 and len(arrays) == 2 and len(shape) == 2 and node.inputs[0].ndim == 1:
        rows, cols = (f"xp.astype({p.paren(c, '[')}[:, None] == xp.arange({p.size(d)}, device=device), dtype)"
                      for c, d in zip(codes, shape))
        return f"{rows}.T @ ({p.paren(g, '[')}[:, None]*{cols})"
    raise NotInStandard("np.add.at (the gradient of this indexing with integer arrays)")


def _emit_setitem(node: Node, a: list[str], p) -> str:
    if _has_arrays(node.param("index")):
        raise NotInStandard("assignment at integer-array indices (x[idx] = v, np.insert, np.delete)")
    return p.helper_call_code("_updated", [a[0], index_object(node.param("index"), node.ndim, a[2:]), a[1]])


def _emit_stack(node: Node, a: list[str], p) -> str:
    """Equal parts stacked along a new axis (numbers too: each part is reshaped, as the standard's
    ``stack`` takes arrays only)."""
    axis = node.param("axis")
    parts = [f"xp.reshape({c}, {p.shape(x.shape[:axis] + (sp.Integer(1),) + x.shape[axis:])})"
             for x, c in zip(node.inputs, a)]
    return f"xp.concat([{', '.join(parts)}]{'' if axis == 0 else f', axis={axis}'})"


def _emit_cumsum(node: Node, a: list[str], p) -> str:
    x = a[0] if node.inputs[0].dtype != "bool" else f"xp.astype({a[0]}, dtype)"
    return f"xp.cumulative_sum({x}, axis={node.param('axis')})"


def _emit_broadcast_to(node: Node, a: list[str], p) -> str:
    x = a[0]
    if not node.inputs[0].ndim:  # a number, or a 0-d array
        x = f"xp.asarray({x}, dtype={dtype_code(node)}, device=device)"
    return f"xp.broadcast_to({x}, {p.shape(node.shape)})"


def _emit_contract(node: Node, a: list[str], p) -> str:
    inputs, out = node.param("subscripts").split("->")
    x, y = (p.paren(c, "*") for c in a)
    # (``@`` of two vectors is their inner product in the standard, as einsum conjugating neither operand;
    # the helper calls np.dot on NumPy arrays, as the NumPy backend does)
    if not out and node.inputs[0].ndim == 1:
        return p.helper_call_code("_inner", a)
    if not out:  # a full sum of a product: one inner product of the flattened operands
        return p.helper_call_code("_inner", [f"xp.reshape({a[0]}, (-1,))", f"xp.reshape({a[1]}, (-1,))"])
    first = inputs.split(",")[0]
    axes = tuple(k for k, c in enumerate(first) if c not in out)
    if "".join(c for c in first if c in out) != out:
        raise NotInStandard(f"np.einsum({node.param('subscripts')!r})")
    return f"xp.sum({x}*{y}, axis={axes[0] if len(axes) == 1 else axes})"


def _emit_einsum(node: Node, a: list[str], p) -> str:
    if any(sub.count(c) > 1 for sub in node.param("subscripts").split("->")[0].split(",") for c in sub):
        raise NotInStandard(f"np.einsum({node.param('subscripts')!r}) (a letter twice in one operand)")
    operands = [f"xp.asarray({c}, dtype={dtype_code(node)}, device=device)" if not x.ndim else c
                for x, c in zip(node.inputs, a)]
    return p.helper_call_code("_einsum", [literal(node.param("subscripts")), *operands])


def _emit_diagonal(node: Node, a: list[str], p) -> str:
    o, a1, a2 = node.param("offset"), node.param("axis1"), node.param("axis2")
    x = node.inputs[0]
    if (a1, a2) != (x.ndim - 2, x.ndim - 1):
        raise NotInStandard(f"np.diagonal(..., axis1={a1}, axis2={a2})")
    return f"xp.linalg.diagonal({a[0]}{'' if o == 0 else f', offset={o}'})"


_EIGH = emit_eigh("xp")


def _emit_eigh(node: Node, a: list[str], p) -> str | list[str]:
    if node.param("uplo") != "L":
        raise NotInStandard("np.linalg.eigh(..., UPLO='U')")
    return _EIGH(node, a, p)


def _emit_pinv(node: Node, a: list[str], p) -> str:
    rcond = node.param("rcond")
    return f"xp.linalg.pinv({a[0]}, rtol={literal(1e-15 if rcond is None else rcond)})"  # NumPy's default


MATRIX_FUNCTIONS = {"inv": "xp.linalg.inv({})", "det": "xp.linalg.det({})",
                    "logabsdet": "xp.linalg.slogdet({}).logabsdet", "signdet": "xp.linalg.slogdet({}).sign"}


def _emit_pairwise_squares(node: Node, a: list[str], p) -> list[str]:
    """Squared distances between the rows of two matrices: one pass per coordinate when there are few."""
    return pairwise_square_lines(node, a, p, lambda x, y: [f"    {{name}} = {x}[:, None, :] - {y}[None, :, :]",
                                                           "    {name} = xp.sum({name}*{name}, axis=2)"])


def _emit_scatter_sum(node: Node, a: list[str], p) -> list[str]:
    """One buffer: the first gradient put into it, the rest of it zeroed (where one slice of one axis
    leaves a rest), the others added (see the NumPy backend's ``scatter_sum``). On NumPy arrays the
    statements the NumPy backend writes (in place, the first sum by the ufunc into its slice of the
    buffer); on other libraries' arrays through helpers, which make new arrays where they are immutable
    (JAX). The namespace is tested once for the buffer, not once per write (``_NumPy``: the namespace
    of NumPy arrays, defined with ``_array_namespace``, which every function calls)."""
    put = p.module.helpers.use("_put")
    indices, signs, rest = node.param("indices"), node.param("signs"), _complement(node.param("indices")[0])
    like = p.argument_like(node) if rest is not None else None  # (xp.zeros_like: slower than xp.zeros on NumPy)
    lines = [f"{{name}} = xp.empty_like({like})" if like else
             f"{{name}} = xp.{'zeros' if rest is None else 'empty'}({p.shape(node.shape)}, dtype={dtype_code(node)}, "
             "device=device)"]
    in_place, helpers = [], []
    for k, (index, sign, g) in enumerate(zip(indices, signs, a)):
        target, where = f"{{name}}[{index_code(index, node.ndim)}]", index_object(index, node.ndim)
        if k == 0:
            view = all(isinstance(item, tuple) and item[0] == "slice" for item in index)  # not x[0]: no out=
            terms = sum_terms(node.inputs[0], g, p) if view and sign == "+" else None
            value = g if sign == "+" else f"-{p.paren(g, '-')}"
            in_place.append(f"{target} = {value}" if terms is None else
                            f"xp.{terms[0]}({terms[1]}, {terms[2]}, out={target})")
            helpers.append(f"{{name}} = {put}({{name}}, {where}, {value})")
            for part in rest or ():
                in_place.append(f"{{name}}[{index_code(part, node.ndim)}] = 0.0")
                helpers.append(f"{{name}} = {put}({{name}}, {index_object(part, node.ndim)}, 0.0)")
        else:
            in_place.append(f"{target} {sign}= {g}")
            helpers.append(f"{{name}} = {p.module.helpers.use('_add' if sign == '+' else '_subtract')}({{name}}, "
                           f"{where}, {g})")
    return [*lines, "if type(xp) is _NumPy:  # NumPy arrays: written in place", *("    " + s for s in in_place),
            "else:  # other libraries' arrays (JAX's are immutable: each write makes a new array)",
            *("    " + s for s in helpers)]


def _emit_argreduce(node: Node, a: list[str], p) -> str:
    axis = node.param("axis")
    return f"xp.{node.param('op')}({a[0]}{'' if axis is None else f', axis={axis}'})"


def _emit_flip(node: Node, a: list[str], p) -> str:
    axes = node.param("axes")
    return f"xp.flip({a[0]}, axis={axes[0] if len(axes) == 1 else tuple(axes)})"


def _emit_add_diagonal(node: Node, a: list[str], p) -> str:
    """``value`` added to the diagonal of a fresh sum of squares (see the rewrite add_diagonal): in place
    on NumPy arrays, else plus an identity (see the helper)."""
    return p.helper_call_code("_add_diagonal", [a[0], repr(float(node.param("value"))), "dtype", "device"])


def _refuse(function: str) -> Emit:
    def emit(node: Node, a: list[str], p) -> str:
        raise NotInStandard(function)
    return emit


EMIT.update({
    "input": lambda n, a, p: n.param("name"),
    "const": lambda n, a, p: p.helper_call_code("_constant", [p.const_name(n), dtype_code(n), "device"]),
    "elementwise": lambda n, a, p: p.expr(n, a),
    "broadcast_to": _emit_broadcast_to,
    "sum": _emit_reduce("sum"), "mean": mean_of(_emit_reduce("sum")), "max": _emit_reduce("max"),
    "min": _emit_reduce("min"),
    "prod": _emit_reduce("prod"),
    "transpose": _emit_transpose,
    "reshape": lambda n, a, p: f"xp.reshape({a[0]}, {p.shape(n.shape)})",
    "getitem": _emit_getitem,
    "scatter": lambda n, a, p: _emit_scatter(n, a, p),
    "full_like": lambda n, a, p: f"xp.zeros_like({a[0]}) + {p.paren(a[1], '+')}",
    "stop_gradient": lambda n, a, p: a[0],
    "copy": lambda n, a, p: f"xp.asarray({a[0]}, copy=True)",
    "arange": lambda n, a, p: f"xp.arange({p.size(n.shape[0])}, device=device)",
    "gather": _emit_gather,
    "scatter_add": lambda n, a, p: _emit_scatter(n, a, p, a[1:]),
    "setitem": _emit_setitem,
    "argreduce": _emit_argreduce,
    "matmul": emit_matmul,
    "outer": emit_outer,
    "einsum": _emit_einsum,
    "contract": _emit_contract,
    "diagonal": _emit_diagonal,
    "concatenate": emit_concatenate("xp.concat"),
    "stack": _emit_stack,
    "slice_axis": emit_slice_axis(every_axis=True),
    "flip": _emit_flip,
    "roll": emit_roll("xp", keyword=True),
    "cumsum": _emit_cumsum,
    "pinv": _emit_pinv,
    "matrix_fn": lambda n, a, p: MATRIX_FUNCTIONS[n.param("fn")].format(a[0]),
    "solve": lambda n, a, p: f"xp.linalg.solve({a[0]}, {a[1]})",
    "qr": emit_qr("xp", "xp.linalg.qr({})[1]"), "svd": emit_svd("xp", "xp.linalg.svdvals({})"), "eigh": _emit_eigh,
    "tri_mask": emit_tri_mask("xp", "k=", lambda p: ", dtype=dtype, device=device"),
    "random_source": _refuse("np.random (the array API has no random numbers)"),
    "random_draw": _refuse("np.random (the array API has no random numbers)"),
    "random_after": lambda n, a, p: a[0],
    "scatter_sum": _emit_scatter_sum,
    "pairwise_squares": _emit_pairwise_squares,
    "add_diagonal": _emit_add_diagonal,
})
