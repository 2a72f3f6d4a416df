"""Registry entries for SciPy, mirroring its namespaces (``special``: ``scipy.special``).

Entries use the NumPy registry's machinery (:mod:`symdiff.numpy.core`) and the SymPy functions of
:mod:`symdiff.ir.special`; SciPy is imported only by generated code that needs it.
"""
