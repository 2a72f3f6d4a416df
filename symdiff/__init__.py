"""symdiff: readable, standalone NumPy gradient code from plain NumPy functions.

>>> import numpy as np, symdiff
>>> def f(x):
...     return np.sum(np.sin(x) * x)
>>> g = symdiff.grad(f)
>>> bool(np.allclose(g(np.array([0.0, 1.0])), [0.0, np.cos(1.0) + np.sin(1.0)]))
True
"""
from .version import __version__
from . import functions  # noqa: E402
from .api import elementwise_grad, export, hessian, hvp, jacobian, jvp, stop_gradient, vjp  # noqa: E402
from .gradients import grad, value_and_grad  # noqa: E402
from .errors import (  # noqa: E402
    BackendError, CacheWarning, EnvironmentReadError, MissingProgramError, NonScalarOutputError, ShapeError,
    SymdiffError, TraceError, UnsupportedError)


def __getattr__(name: str):
    # The registry imports SymPy: load it only when asked for.
    if name in ("register", "Entry"):
        from .numpy import core as numpy_api
        return getattr(numpy_api, name)
    if name == "optimize":  # symdiff.optimize.objective: scipy.optimize's calling order
        from . import optimize
        return optimize
    raise AttributeError(f"module 'symdiff' has no attribute {name!r}")


__all__ = ["grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp", "vjp", "elementwise_grad", "export",
           "stop_gradient", "functions", "optimize",
           "register", "Entry", "SymdiffError", "UnsupportedError", "ShapeError", "NonScalarOutputError", "TraceError",
           "BackendError", "EnvironmentReadError", "MissingProgramError", "CacheWarning", "__version__"]
