"""The array API backend: the NumPy backend's statements (``backends/numpy/codegen.py`` and
``module.py``, reused through their hooks) written against the array API standard's namespace, so one
generated module runs on NumPy, PyTorch, JAX, CuPy and dask arrays and on ``array_api_strict``.
``printer`` translates kernels to the standard's names, ``dispatch`` holds each primitive's code,
``module`` the prologue (``xp = array_api_compat.array_namespace(...)``) and rendering, ``arrays``
the argument records of other libraries' arrays."""
