"""Stages 4-5 for the numba backend: the NumPy backend's :func:`module_source` with bodies printed by
:class:`.printer.FusingPrinter`, and the kernels they call rendered before them (``import numba``)."""
from __future__ import annotations

from ..numpy import module as numpy_module
from ..numpy.render import render_module
from .printer import FusingPrinter, Kernels


def module_source(name, fn, specs, wrt, paths, built, branching_tree, guard, kind, public, facts, containers=None,
                  has_aux=False, *, parallel: bool = False) -> str:
    """The module's text (see :func:`symdiff.backends.numpy.module.module_source`); ``parallel``: the
    outer loop of each kernel whose iterations write apart is a ``numba.prange``."""
    kernels = Kernels(name, parallel)

    def printer(module, params, sizes):
        return FusingPrinter(module, params, sizes, kernels)

    def render(header, printed, module):
        header = {**header, "summary": header["summary"] + " Fused loops: numba.njit kernels."}
        return render_module(header, kernels.functions + printed, module)

    return numpy_module.module_source(name, fn, specs, wrt, paths, built, branching_tree, guard, kind, public,
                                      facts, containers, has_aux, printer=printer, render=render)
