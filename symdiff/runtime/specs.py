"""Plain records shared by the API and the compiler (no SymPy here, so a cache hit never imports it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ArgSpec:
    """One parameter of the user's function: an array (shape of ints or names, dtype) or a static value."""

    name: str
    shape: tuple | None = None  # None: a static (non-differentiable, baked-in) Python value
    dtype: str = "float64"
    static: Any = None

    @property
    def is_array(self) -> bool:
        return self.shape is not None


@dataclass(frozen=True)
class RandomArgument:
    """The static value of an argument that is a ``np.random.Generator`` (``flavour`` ``"generator"``) or a
    ``np.random.RandomState`` (``"legacy"``): the generated code takes the generator and draws from it at run
    time, so the cache key is its type, never its state."""

    flavour: str

    @property
    def type_name(self) -> str:
        return "np.random.Generator" if self.flavour == "generator" else "np.random.RandomState"


@dataclass(frozen=True)
class Compiled:
    """A generated module and what it was made from."""

    source: str
    graph: str
    func_name: str
    guard: tuple[tuple[int, int, int], ...]  # (arg index, axis, size) that the code was specialised to
    paths: tuple[tuple[bool, ...], ...] = ((),)  # outcomes of the branches on traced values, per path
    dot: str = ""  # the graph picture: Graphviz DOT text of the traced and gradient graphs (backends/dot.py)
    #: constants stored beside the module (backends/numpy/constants.StoredArray: name, npy bytes, sha256)
    data: tuple = ()


def call_values(values: list[Any]) -> list[Any]:
    """The arguments a generated function is called with: integer arrays as int64 (the dtype the code was
    made for, see ``api._spec_of``; never floats), everything else as given."""
    import numpy as np
    for v in values:
        if isinstance(v, np.ndarray) and v.dtype == np.uint64 and v.size and v.max() > np.iinfo(np.int64).max:
            from ..errors import TraceError
            raise TraceError(f"a uint64 argument holds {v.max()}, beyond int64, the dtype the code computes "
                             "integer data in; pass values below 2**63 (or a float array)")
    return [np.asarray(v, dtype=np.int64) if isinstance(v, np.ndarray) and v.dtype.kind in "iu"
            and v.dtype != np.int64 else v
            for v in values]


def split_dtype(name: str, shape: Any, default: str) -> tuple[Any, str]:
    """A declared shape and its dtype: ``"n:int64"`` (export's ``shapes``, the CLI's ``--shape y=n:int64``)
    declares integer data, stored as int64 (the dtype the generated code is made for), ``"n:bool"`` a
    boolean mask; no suffix: ``default``."""
    if not isinstance(shape, str) or ":" not in shape:
        return shape, default
    from ..errors import ShapeError
    import numpy as np
    dims, _, text = shape.rpartition(":")
    try:
        kind = np.dtype(text.strip()).kind
    except TypeError:
        kind = None
    if kind not in ("i", "u", "b") and text.strip() != "float64":
        raise ShapeError(f"shape of {name!r}: dtype {text.strip()!r} after ':'; declare integer data as "
                         f"{dims}:int64 (labels, indices), a mask as {dims}:bool, or give no dtype for float64")
    return dims, "int64" if kind in ("i", "u") else "bool" if kind == "b" else "float64"
