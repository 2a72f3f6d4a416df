"""Registry entries for SciPy, mirroring its namespaces (``special``: ``scipy.special``;
``stats``: ``scipy.stats``' distributions, with their closed forms in ``stats_forms``).

Entries use the NumPy registry's machinery (:mod:`symdiff.numpy.core`) and the SymPy functions of
:mod:`symdiff.ir.special`; SciPy is imported only by generated code that needs it.
"""
