"""``symdiff.grad`` and ``symdiff.value_and_grad``, typed for the caller: with one ``wrt`` (a name, a
position, or the default) a call returns an array, with a tuple of them a tuple of arrays, so a type
checker (``mypy --strict``) infers ``np.ndarray`` at the call site (``has_aux`` given: ``Any``; the
overloads have no catch-all with defaults, which would make mypy answer ``Any`` for every function whose
signature holds ``np.ndarray``, an ``Any``-parametrized type). The transformed function is a
:class:`symdiff.api.Transformed`; the protocols below describe what a caller sees of it.
"""
from __future__ import annotations

from typing import Any, Callable, Literal, Protocol, Union, overload

import numpy as np

from .api import Wrt, _transform

#: ``wrt`` naming one argument (a bare gradient) or several (a tuple of gradients).
One = Union[str, int, None]
Many = Union[tuple[Union[str, int], ...], list[Union[str, int]]]


class _Inspectable(Protocol):
    """What a transformed function shows of its most recent call."""

    @property
    def source(self) -> str: ...
    @property
    def graph(self) -> str: ...
    @property
    def math(self) -> Any: ...
    def to_dot(self) -> str: ...
    def to_svg(self) -> str: ...


class GradFunction(_Inspectable, Protocol):
    """``grad(f)``, ``grad(f, wrt="w")``: called like ``f``, returns the gradient, an array like ``w``."""

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray: ...


class GradsFunction(_Inspectable, Protocol):
    """``grad(f, wrt=("w", "b"))``: called like ``f``, returns ``(dw, db)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, ...]: ...


class ValueAndGradFunction(_Inspectable, Protocol):
    """``value_and_grad(f)``: called like ``f``, returns ``(value, gradient)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, np.ndarray]: ...


class ValueAndGradsFunction(_Inspectable, Protocol):
    """``value_and_grad(f, wrt=("w", "b"))``: called like ``f``, returns ``(value, (dw, db))``."""

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, tuple[np.ndarray, ...]]: ...


Fn = Callable[..., Any]


#: ``backend_options`` (see :mod:`symdiff.backends`)
Options = Union[dict[str, bool], None]
#: ``checkpoint``: a loop's segment length, ``"sqrt"`` or None (see :mod:`symdiff.ad.checkpoint`)
Checkpoint = Union[int, str, None]


@overload
def grad(fn: Fn, *, wrt: One = None,
         has_aux: Literal[False] = False, backend: str = ..., backend_options: Options = ...,
         checkpoint: Checkpoint = ...) -> GradFunction: ...
@overload
def grad(fn: Fn, *, wrt: Many,
         has_aux: Literal[False] = False, backend: str = ..., backend_options: Options = ...,
         checkpoint: Checkpoint = ...) -> GradsFunction: ...
@overload
def grad(fn: None = None, *, wrt: One = None,
         has_aux: Literal[False] = False,
         backend: str = ..., backend_options: Options = ...,
         checkpoint: Checkpoint = ...) -> Callable[[Fn], GradFunction]: ...
@overload
def grad(fn: None = None, *, wrt: Many,
         has_aux: Literal[False] = False,
         backend: str = ..., backend_options: Options = ...,
         checkpoint: Checkpoint = ...) -> Callable[[Fn], GradsFunction]: ...
@overload
def grad(fn: Fn | None = None, *, wrt: Wrt = None,
         has_aux: bool, backend: str = ..., backend_options: Options = ...,
         checkpoint: Checkpoint = ...) -> Any: ...


def grad(fn: Fn | None = None, *, wrt: Wrt = None, has_aux: bool = False, backend: str = "numpy",
         backend_options: Options = None, checkpoint: Checkpoint = None) -> Any:
    """The gradient of ``fn``, a function of NumPy arrays returning a scalar, as a function called
    like ``fn``.

    ``wrt`` names the arguments to differentiate, by name, position or path into a container argument
    (``"params.W1"``, see :mod:`symdiff.arguments`; default: the first); one name
    gives the gradient as an array shaped and typed like that argument, a tuple gives a tuple of them.
    The first call for an argument signature (ranks, dtypes, which axes have size 1, the values of int
    arguments) traces ``fn``, writes a NumPy module for its gradient and imports it; later calls run that
    module (also from the on-disk cache, in a new process). ``.source``, ``.graph``, ``.math`` and
    ``.to_svg()`` show the most recent call's module, graphs, equations and picture.

    Works as a decorator, ``@symdiff.grad`` or ``@symdiff.grad(wrt="w")``. With ``has_aux=True``, ``fn``
    returns ``(value, aux)`` and calls return ``(gradient, aux)``, as in JAX. ``backend="numba"`` (fused
    ``numba.njit`` loops) or ``"array_api"`` (code for any array API library) choose another backend
    (every transform takes it, see :mod:`symdiff.backends`). ``checkpoint=k`` (or ``"sqrt"``): a rolled loop's
    gradient stores its state every ``k`` steps and recomputes the steps between, O(T / k + k) stored
    states instead of O(T) (see :mod:`symdiff.ad.checkpoint`); the gradient is the same.

    >>> import numpy as np
    >>> import symdiff
    >>> def loss(w, x, y):
    ...     return np.mean((x @ w - y) ** 2)
    >>> dloss = symdiff.grad(loss, wrt="w")
    >>> x, y, w = np.eye(3), np.ones(3), np.zeros(3)
    >>> dloss(w, x, y)              # 2 (x w - y) x / n
    array([-0.66666667, -0.66666667, -0.66666667])
    >>> dw, dy = symdiff.grad(loss, wrt=("w", "y"))(w, x, y)
    >>> dy.tolist() == (-dw).tolist()
    True
    """
    return _transform("grad", fn, wrt, has_aux, backend, backend_options, checkpoint)


@overload
def value_and_grad(fn: Fn, *, wrt: One = None,
                   has_aux: Literal[False] = False,
                   backend: str = ..., backend_options: Options = ...,
                   checkpoint: Checkpoint = ...) -> ValueAndGradFunction: ...
@overload
def value_and_grad(fn: Fn, *, wrt: Many,
                   has_aux: Literal[False] = False,
                   backend: str = ..., backend_options: Options = ...,
                   checkpoint: Checkpoint = ...) -> ValueAndGradsFunction: ...
@overload
def value_and_grad(fn: None = None, *, wrt: One = None,
                   has_aux: Literal[False] = False,
                   backend: str = ..., backend_options: Options = ...,
                   checkpoint: Checkpoint = ...) -> Callable[[Fn], ValueAndGradFunction]: ...
@overload
def value_and_grad(fn: None = None, *, wrt: Many,
                   has_aux: Literal[False] = False,
                   backend: str = ..., backend_options: Options = ...,
                   checkpoint: Checkpoint = ...) -> Callable[[Fn], ValueAndGradsFunction]: ...
@overload
def value_and_grad(fn: Fn | None = None, *, wrt: Wrt = None,
                   has_aux: bool, backend: str = ..., backend_options: Options = ...,
                   checkpoint: Checkpoint = ...) -> Any: ...


def value_and_grad(fn: Fn | None = None, *, wrt: Wrt = None, has_aux: bool = False, backend: str = "numpy",
                   backend_options: Options = None, checkpoint: Checkpoint = None) -> Any:
    """Like :func:`grad`, but calls return ``(value, gradient)``, computed together (the value's work is
    shared with the gradient's); with ``has_aux``, ``((value, aux), gradient)``.

    >>> import numpy as np
    >>> import symdiff
    >>> def f(x):
    ...     return np.sum(np.sin(x) ** 2)
    >>> value, g = symdiff.value_and_grad(f)(np.array([0.0, np.pi / 4]))
    >>> round(float(value), 12), np.round(g, 12).tolist()   # d sin^2 = sin(2x)
    (0.5, [0.0, 1.0])
    """
    return _transform("value_and_grad", fn, wrt, has_aux, backend, backend_options, checkpoint)
