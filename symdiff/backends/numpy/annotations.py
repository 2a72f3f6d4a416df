"""Type hints for the public functions of a generated module (``--annotate``, ``export(annotate=True)``):

``def loss_value_and_grad(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray)
-> tuple[float, tuple[np.ndarray, np.ndarray]]:``

Arrays are ``np.ndarray``, float scalars ``float`` (a scalar result may be a NumPy scalar or a 0-d
array: ``float | np.ndarray``), static values their Python type. The return type follows the
function's ``return`` statement (its tuples nest as it does). Functions with a leading ``_`` (paths,
branch conditions, helpers) stay unannotated; the module's first line tells mypy so (``# mypy:
disable-error-code=...``: calls to them and NumPy's untyped results are not errors), so ``mypy --strict``
passes on the module, and a caller's code type-checks against its public signatures.

>>> _returned("return {0}, ({1}, {2})", ["float", "np.ndarray", "np.ndarray"])
'tuple[float, tuple[np.ndarray, np.ndarray]]'
"""
from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Any, Callable, Sequence

from ...runtime.specs import ArgSpec

#: The hint of a scalar result: NumPy gives a scalar (``np.float64``, a ``float``) or a 0-d array.
SCALAR = "float | np.ndarray"


def _param_hint(spec: ArgSpec | None) -> str | None:
    if spec is None:
        return None
    if not spec.is_array:
        return None if spec.static is None else type(spec.static).__name__
    return "np.ndarray" if spec.shape else "float"


def _returned(returns: str, hints: Sequence[str]) -> str | None:
    """The type of ``returns`` (``"return {0}, ({1}, {2})"``) with ``hints[k]`` for ``{k}``."""
    code = re.sub(r"\{(\d+)\}", lambda m: f"_{m.group(1)}", returns)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Return) or tree.body[0].value is None:
        return None

    def hint(node: ast.expr) -> str | None:
        if isinstance(node, ast.Tuple):
            parts = [hint(e) for e in node.elts]
            return None if None in parts else f"tuple[{', '.join(parts)}]"  # type: ignore[arg-type]
        if isinstance(node, ast.Name) and node.id.startswith("_") and node.id[1:].isdigit():
            k = int(node.id[1:])
            return hints[k] if k < len(hints) else None
        return None
    return hint(tree.body[0].value)


def annotate(functions: list, plans: Sequence, specs: Sequence[ArgSpec], public: dict[str, str], name: str,
             casts: Callable[[Any], Sequence[str | None]]) -> list:
    """``functions`` with the public ones (``<name>_<suffix>`` of a plan) annotated; ``casts(plan)``: how
    each output is cast on return (``"float32()"``: ``np.float32(...)``, a NumPy scalar)."""
    by_name = {public.get(s.name, s.name): s for s in specs}
    by_name.update({s.name: s for s in specs})
    plan_of = {f"{name}_{p.suffix}": p for p in plans}
    out = []
    for f in functions:
        plan = plan_of.get(f.name)
        if plan is None:
            out.append(f)
            continue
        params = []
        for p in f.params:
            bare, eq, default = p.partition("=")
            spec = by_name.get(bare)
            hint = _param_hint(spec) if spec is not None else None
            if bare in plan.extra_params or (spec is not None and spec.is_array is False and spec.static is None):
                hint = "np.ndarray | float"  # a direction or cotangent: shaped like what it goes with
            params.append(f"{bare}: {hint}{' = ' + default if eq else ''}" if hint else p)
        outs = [("np.float32" if cast == "float32()" else SCALAR) if o.shape == () else "np.ndarray"
                for o, cast in zip(plan.outputs, casts(plan))]
        returned = _returned(plan.returns, outs)
        out.append(replace(f, params=params, hint=f" -> {returned}" if returned else ""))
    return out
