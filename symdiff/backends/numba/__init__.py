"""The numba backend (``backend="numba"``): the NumPy backend's module, with each chain of elementwise
nodes, broadcasts, reductions (sums, means) and slice-gradient buffers over one iteration space fused
into one ``numba.njit(cache=True)`` loop the glue calls (fusion.py: which nodes; kernels.py: the loop's
text; printer.py: the glue; module.py: the entry point). Matrix products stay BLAS calls, and the calls
NumPy's SIMD ufuncs compute faster than a loop's scalar libm call (exp, log, tanh, ...) stay NumPy calls
whose results the loops read (split.py); every node a loop cannot express keeps its NumPy code in the
glue. A rolled loop (forward, reverse, tangent, while, nested, checkpointed) is the NumPy backend's loop
moved into one ``numba.njit(cache=True)`` function of its own, unless its code holds what numba may not
compile (rolled.py: that decision, made when the code is generated). locator.py: where numba caches the
kernels of a module whose folder is read-only."""
