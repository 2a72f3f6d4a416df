"""Large constants stored beside the generated module instead of pasted into it.

A constant array of more than :data:`THRESHOLD` elements that no short expression makes (``np.eye``,
``np.full``, ...; see :func:`codegen.constant_code`) is saved as ``<module>.<NAME>.npy`` next to the
module file and loaded when the module is imported, checked against the sha256 the module records
(a missing, edited or replaced file raises; ``allow_pickle=False`` always). ``NAME`` is the user's
name for the array when the function read it by a name (a global, a closure cell, ``self.X``), else
``data0``, ``data1``, ... Smaller constants stay literals in the code.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np

from ... import escape
from ...naming import identifier

#: Constants with more elements than this are stored in a ``.npy`` file beside the module.
THRESHOLD = 256

#: The loader the module calls for each stored array (printed once, under a name no user name shadows).
LOADER = '''def _load_data(name, sha256):
    """The array `name` stored beside this module (in <this module's name>.<name>.npy), checked by its sha256."""
    import hashlib
    import io
    import pathlib
    path = pathlib.Path(__file__)
    path = path.with_name(path.stem + "." + name + ".npy")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(str(path) + ": the data file of this generated module cannot be read (" + str(exc)
                                + "); put it back beside the module, or generate the module again") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(str(path) + " is not the data file this module was generated with (its sha256 differs: "
                         "edited or replaced); generate the module again")
    return np.load(io.BytesIO(data), allow_pickle=False)'''


@dataclass(frozen=True)
class StoredArray:
    """One constant stored beside the module: its name in the code, the ``.npy`` bytes and their sha256,
    and where the user assigned it (``file:line``, or None)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    npy: bytes
    sha256: str
    where: str | None = None

    def file_name(self, module_stem: str) -> str:
        return f"{module_stem}.{self.name}.npy"

    def describe(self) -> str:
        at = f", assigned at {self.where}" if self.where else ""
        return f"{self.name} (shape {self.shape}, {self.dtype}, {self.npy.__len__()} bytes{at})"


def constant_code(arr, float_dtype: str = "float64") -> str:
    """Code that makes the constant ``arr``: ``np.eye(n)``, ``1 - np.eye(n)`` or ``np.full(shape, v)`` where
    it is one of those (exactly), else the listing of its values; in a float32 module (``float_dtype``) a
    float64 constant is made float32."""
    if float_dtype == "float32" and arr.dtype == np.float64:
        code = constant_code(arr)
        if code.startswith("np.array("):
            return constant_code(arr.astype(np.float32))
        return f"{code if code.startswith('np.') else f'({code})'}.astype(np.float32)"
    return short_code(arr) or listing(arr)


def short_code(arr) -> str | None:
    """``np.eye(n)``, ``1 - np.eye(n)``, ``np.full(shape, v)`` or a triangle of ones if ``arr`` is exactly
    one of those, else None."""
    if arr.size > 1 and arr.dtype == np.float64:  # compared bytewise: the signs of zeros count
        first = float(arr.flat[0])
        candidates = [(f"np.full({arr.shape!r}, {first!r})", np.full(arr.shape, first))]
        if arr.ndim == 2 and arr.shape[0] == arr.shape[1]:
            n = arr.shape[0]
            candidates += [(f"np.eye({n})", np.eye(n)), (f"1 - np.eye({n})", 1 - np.eye(n))]
        if arr.ndim == 2 and np.isin(arr, (0.0, 1.0)).all():
            candidates += _triangles(arr)
        for code, made in candidates:
            if made.tobytes() == arr.tobytes():
                return code
    return None


def listing(arr) -> str:
    """``np.array([...], dtype=...)``: the listing of the values (Python's repr of a float reads back)."""
    return f"np.array({arr.tolist()!r}, dtype=np.{arr.dtype})"


def _triangles(arr) -> list:
    """``np.triu(np.ones((n, m)), k)`` and ``np.tril(...)`` with the ``k`` each would need to give ``arr``."""
    n, m = arr.shape
    out = []
    row, col = arr[0], arr[:, 0]
    # triu: row 0 starts at column k >= 0, or column 0 holds 1 - k ones (k <= 0)
    k_up = int(np.argmax(row)) if row.any() and not row[0] else -int(np.argmin(col) - 1 if not col.all() else n - 1)
    # tril: column 0 starts at row -k >= 0, or row 0 holds k + 1 ones (k >= 0)
    k_lo = -int(np.argmax(col)) if col.any() and not col[0] else int(np.argmin(row) - 1 if not row.all() else m - 1)
    for fn, k in (("triu", k_up), ("tril", k_lo)):
        out.append((f"np.{fn}(np.ones(({n}, {m})){'' if k == 0 else f', {k}'})", getattr(np, fn)(np.ones((n, m)), k)))
    return out


def stored(arr: np.ndarray) -> bool:
    """Whether ``arr`` is stored beside the module rather than printed."""
    return arr.size > THRESHOLD


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def store(arr: np.ndarray, hint: str | None, where: str | None, taken: set[str], k: int) -> StoredArray:
    """``arr`` as a stored constant named after ``hint`` (the user's name) or ``data<k>``, avoiding ``taken``."""
    base = identifier(hint, "data") if hint else f"data{k}"
    name, j = base, 0
    while name in taken:
        j += 1
        name = f"{base}_{j}"
    escape.name(name)
    data = npy_bytes(arr)
    return StoredArray(name, tuple(int(d) for d in arr.shape), str(arr.dtype), data,
                       hashlib.sha256(data).hexdigest(), where)


def load_code(loader: str, s: StoredArray) -> str:
    """The statement's right-hand side loading ``s``: ``_load_data('DATA', '<sha256>')``."""
    return f"{loader}({escape.literal(s.name)}, {escape.literal(s.sha256)})"


def loader_source(loader: str) -> str:
    return LOADER.replace("def _load_data(", f"def {loader}(", 1)
