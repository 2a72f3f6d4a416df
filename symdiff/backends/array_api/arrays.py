"""Argument records (:class:`~symdiff.runtime.specs.ArgSpec`) of arrays of other libraries than NumPy
(PyTorch tensors, JAX, CuPy and dask arrays, ``array_api_strict``), read through ``array_api_compat``.
No SymPy here: a cache hit never imports it."""
from __future__ import annotations

import math
from typing import Any

from ...errors import TraceError
from ...runtime.specs import ArgSpec


def spec_of(name: str, value: Any) -> ArgSpec:
    """The record of ``value`` passed as ``name`` to a function compiled with ``backend="array_api"``."""
    try:
        import array_api_compat
    except ImportError:
        raise TraceError('backend="array_api" needs array-api-compat: pip install "symdiff[array-api]"') from None
    if not array_api_compat.is_array_api_obj(value):
        raise TraceError(f"argument {name!r}: values of type {type(value).__name__} are not supported; pass "
                         "arrays of an array API library (NumPy, PyTorch, JAX, CuPy, dask), floats, or ints")
    xp = array_api_compat.array_namespace(value)
    shape = tuple(value.shape)
    if any(d is None or (isinstance(d, float) and math.isnan(d)) for d in shape):
        raise TraceError(f"argument {name!r} has unknown sizes {shape} (a dask array whose chunks are not known): "
                         f"call {name}.compute_chunk_sizes() first, or build it with known chunks")
    dtype = value.dtype
    for kind, names in (("real floating", ("float32", "float64")), ("integral", ("int64",)), ("bool", ("bool",))):
        if xp.isdtype(dtype, kind):
            for candidate in names:
                if dtype == getattr(xp, candidate):
                    return ArgSpec(name, tuple(int(d) for d in shape), candidate)
            if kind == "integral":  # integer data (labels, tokens): int64, as for NumPy arrays
                return ArgSpec(name, tuple(int(d) for d in shape), "int64")
    raise TraceError(f"argument {name!r}: arrays of dtype {dtype} are not supported; pass float32 or float64 "
                     "arrays (integer arrays as data)")
