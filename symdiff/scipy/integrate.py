"""Registry entries for ``scipy.integrate``: ``odeint`` and ``solve_ivp`` with a traced right-hand side.

The right-hand side (a plain Python function of ``(y, t, *args)``, for ``solve_ivp`` of ``(t, y, *args)``)
is traced once, on a traced state and time, into the body of an ``odeint`` node
(:mod:`symdiff.ir.primitives.ode`); the generated code calls SciPy's solver with the right-hand side
printed as a nested function, so the values are SciPy's. The gradient is the adjoint method
(:mod:`symdiff.ad.ode`), exact up to the solver's tolerance. As in :mod:`symdiff.scipy.signal`, the
functions are replaced while tracing by stand-ins that call SciPy itself when nothing is traced.
"""
from __future__ import annotations

import contextvars
import numbers
import types

import numpy as np
import sympy as sp
import scipy.integrate as integrate

from ..errors import ShapeError, UnsupportedError
from ..ir.primitives import concatenate, input_node, reshape, transpose
from ..ir.primitives.ode import make_ode
from ..ir.primitives.shape import slice_axis
from ..numpy.core import Entry, _here, register
from ..trace import patches
from ..trace.dispatch import as_node
from ..trace.tracer import CONDITION_CHECKS, _tracing, current_trace, user_origin
from ..trace.values import Tracer

_ORIG = {"odeint": integrate.odeint, "solve_ivp": integrate.solve_ivp}
METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
_ODEINT_OPTIONS = ("rtol", "atol", "h0", "hmax", "hmin", "mxstep")
_IVP_OPTIONS = ("rtol", "atol", "max_step", "first_step")


_IN_RHS: contextvars.ContextVar[str | None] = contextvars.ContextVar("symdiff_in_ode_rhs", default=None)


def _no_branch(condition, origin) -> None:
    """A right-hand side is traced once for every step of the solver: a branch on the state is refused."""
    fn = _IN_RHS.get()
    if fn is not None:
        line = f" ({origin.text}, line {origin.line})" if origin else ""
        raise UnsupportedError(f"{_here()}: scipy.integrate.{fn}: the right-hand side branches on a traced value"
                               f"{line}; it is traced once for every step of the solver, so write the choice with "
                               "np.where")


CONDITION_CHECKS.append(_no_branch)


def _number(name: str, fn: str, value) -> float | int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise UnsupportedError(f"{_here()}: scipy.integrate.{fn}(..., {name}=...) must be a number here (got "
                               f"{type(value).__name__}); per-component or traced tolerances are not supported")
    return int(value) if isinstance(value, (numbers.Integral, np.integer)) else float(value)


def _given(value, default) -> bool:
    """Whether an option was given another value than its default (None, or a number)."""
    if value is default:
        return False
    if default is None or isinstance(value, np.ndarray):
        return True
    return not (isinstance(value, (bool, int, np.integer)) and value == default)


def _plain(fn: str, func) -> str:
    """The right-hand side's name; anything but a plain Python function is refused."""
    target = func.__func__ if isinstance(func, types.MethodType) else func
    if not isinstance(target, types.FunctionType):
        raise UnsupportedError(
            f"{_here()}: scipy.integrate.{fn}'s right-hand side must be a plain Python function (a def or a "
            f"lambda) written with NumPy, not a {type(func).__name__}; wrap it: def rhs(y, t, *args): ...")
    return target.__name__ if target.__name__.isidentifier() else "rhs"


def _names(func, first: str, second: str) -> tuple[str, str]:
    target = func.__func__ if isinstance(func, types.MethodType) else func
    code = target.__code__
    skip = 1 if isinstance(func, types.MethodType) else 0
    names = list(code.co_varnames[skip:skip + min(code.co_argcount - skip, 2)])
    names += [first, second][len(names):]
    return names[0], names[1]


def _rate(fn: str, func, y0, args, t_first: bool):
    """The right-hand side traced once: (y placeholder, t placeholder, rate node)."""
    if not isinstance(args, tuple):
        args = (args,)
    n0 = as_node(y0)
    if len(n0.shape) != 1 or n0.dtype in ("bool", "int64"):
        raise UnsupportedError(f"{_here()}: scipy.integrate.{fn}: the initial state must be a 1-d float array "
                               f"here (got shape {n0.shape}, {n0.dtype}); use np.atleast_1d(y0) and y[0]")
    a, b = _names(func, "t" if t_first else "y", "y" if t_first else "t")
    y_name, t_name = (b, a) if t_first else (a, b)
    y = input_node(y_name, n0.shape, -1, n0.dtype)
    t = input_node(t_name, (), -1)
    tr = current_trace()
    ty, tt = Tracer(y), Tracer(t)
    token = _IN_RHS.set(fn)
    try:
        out = func(tt, ty, *args) if t_first else func(ty, tt, *args)
    finally:
        _IN_RHS.reset(token)
    rate = as_node(out)
    if len(rate.shape) != 1:
        raise ShapeError(f"{_here()}: scipy.integrate.{fn}: the right-hand side returned shape {rate.shape}, "
                         f"but the state has shape {n0.shape}")
    try:
        tr.unify(rate.shape[0], n0.shape[0])
    except Exception:
        raise ShapeError(f"{_here()}: scipy.integrate.{fn}: the right-hand side returned shape {rate.shape}, "
                         f"but the state has shape {n0.shape}") from None
    if rate.dtype in ("bool", "int64"):
        rate = as_node(out * 1.0)
    return n0, y, t, rate


def _times(fn: str, name: str, value):
    node = as_node(value)
    if len(node.shape) != 1 or node.dtype in ("bool",):
        raise UnsupportedError(f"{_here()}: scipy.integrate.{fn}: {name} must be a 1-d array of times here "
                               f"(got shape {node.shape})")
    return node if node.dtype != "int64" else as_node(Tracer(node) * 1.0)


def _odeint(func, y0, t, args=(), Dfun=None, col_deriv=0, full_output=0, ml=None, mu=None, rtol=None,
            atol=None, tcrit=None, h0=0.0, hmax=0.0, hmin=0.0, ixpr=0, mxstep=0, mxhnil=0, mxordn=12,
            mxords=5, printmessg=0, tfirst=False):
    name = _plain("odeint", func)
    for key, value, default in (("Dfun", Dfun, None), ("full_output", full_output, 0), ("ml", ml, None),
                                ("mu", mu, None), ("tcrit", tcrit, None), ("col_deriv", col_deriv, 0),
                                ("ixpr", ixpr, 0), ("mxhnil", mxhnil, 0), ("mxordn", mxordn, 12),
                                ("mxords", mxords, 5)):
        if _given(value, default):
            raise UnsupportedError(f"{_here()}: scipy.integrate.odeint(..., {key}=...) is not supported; call it "
                                   f"without {key}= (no Jacobian is needed: the gradient is traced)")
    options = []
    for key, value, default in (("rtol", rtol, None), ("atol", atol, None), ("h0", h0, 0.0), ("hmax", hmax, 0.0),
                                ("hmin", hmin, 0.0), ("mxstep", mxstep, 0)):
        if value is not None and not (isinstance(value, (int, float)) and value == default and default is not None):
            options.append((key, _number(key, "odeint", value)))
    if tfirst:
        options.append(("tfirst", True))
    n0, y, tp, rate = _rate("odeint", func, y0, args, bool(tfirst))
    times = _times("odeint", "t", t)
    node = make_ode(y, tp, rate, [n0, times], "odeint", tuple(options), name, user_origin())
    return Tracer(current_trace().note(node))


class OdeSolution:
    """What a traced ``solve_ivp`` returns: ``.y`` (shape ``(n, len(t_eval))``, differentiable) and ``.t``."""

    def __init__(self, y, t) -> None:
        self.y, self.t = y, t
        self.success, self.status = True, 0

    def __getattr__(self, name: str):
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp's result .{name} is not supported in a "
                               "traced function (.y and .t are)")


def _solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None, vectorized=False,
               args=None, **options):
    name = _plain("solve_ivp", fun)
    if dense_output:
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp(..., dense_output=True) is not supported; "
                               "give the times you need as t_eval=")
    if events is not None:
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp(..., events=...) is not supported (the "
                               "times of the result would depend on the state); solve without events")
    if t_eval is None:
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp without t_eval= is not supported (the "
                               "solver's own steps are not known when tracing); give t_eval=")
    if not isinstance(method, str) or method not in METHODS:
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp(..., method={method!r}) is not supported; "
                               f"use one of {', '.join(METHODS)}")
    kept = [("method", method)]
    for key, value in options.items():
        if key not in _IVP_OPTIONS:
            raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp(..., {key}=...) is not supported; "
                                   f"the options that are: {', '.join(_IVP_OPTIONS)}")
        kept.append((key, _number(key, "solve_ivp", value)))
    if not isinstance(t_span, (tuple, list)) or len(t_span) != 2:
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp: t_span must be a pair (t0, t1)")
    n0, y, tp, rate = _rate("solve_ivp", fun, y0, () if args is None else args, True)
    evals = _times("solve_ivp", "t_eval", t_eval)
    start, end = as_node(t_span[0]), as_node(t_span[1])
    if start.shape != () or end.shape != ():
        raise UnsupportedError(f"{_here()}: scipy.integrate.solve_ivp: t_span must hold two scalars")
    times = concatenate([reshape(start, (sp.Integer(1),)), evals], 0)
    node = make_ode(y, tp, rate, [n0, times, end], "solve_ivp", tuple(kept), name, user_origin())
    tr = current_trace()
    ys = tr.note(node)
    out = tr.note(transpose(slice_axis(ys, 0, 1, ys.shape[0])))
    return OdeSolution(Tracer(out), t_eval)


_BUILD = {"odeint": _odeint, "solve_ivp": _solve_ivp}


def _standin(name: str):
    orig = _ORIG[name]

    def standin(*args, **kwargs):
        if _tracing():
            return _BUILD[name](*args, **kwargs)
        return orig(*args, **kwargs)
    standin.__name__, standin.__qualname__, standin.__doc__ = orig.__name__, orig.__name__, orig.__doc__
    standin.__module__, standin.__wrapped__ = "scipy.integrate", orig  # type: ignore[attr-defined]
    return standin


STANDINS = {name: _standin(name) for name in _ORIG}

patches.PROVIDERS.append(lambda: [(integrate, name, STANDINS[name]) for name in _ORIG])


# ---------------------------------------------------------------- the registry's cases ------------

def _decay(y, t, k):
    return -k * y


def _odeint_case(odeint, y0, k):
    return odeint(_decay, y0, np.linspace(0.0, 1.0, 4), args=(k,), rtol=1e-11, atol=1e-11)


def _ivp_case(solve_ivp, y0, k):
    return solve_ivp(lambda t, y: -k * y, (0.0, 1.0), y0, t_eval=np.linspace(0.0, 1.0, 4), rtol=1e-11,
                     atol=1e-11).y


def _positive(rng, shape):
    """0.5 .. 1.5: a decay rate and an initial state"""
    return rng.uniform(0.5, 1.5, size=shape)


NOTES = "scipy.integrate; the right-hand side traced once; gradient by the adjoint method (to the tolerance)"
register(STANDINS["odeint"], Entry("integrate.odeint", lambda origin, *a, **k: _odeint(*a, **k),
                                   cases=((((2,), ()), (("call", _odeint_case),)),), form="call", sample=_positive,
                                   notes=NOTES))
register(STANDINS["solve_ivp"], Entry("integrate.solve_ivp", lambda origin, *a, **k: _solve_ivp(*a, **k),
                                      cases=((((2,), ()), (("call", _ivp_case),)),), form="call",
                                      sample=_positive, notes=NOTES + "; .y and .t of the result"))
