"""The frontend: running the user's function on traced values.

``tracer`` holds the tracing state (sizes, source lines, names, branch outcomes), ``values`` the
:class:`Tracer` that stands in for an array, ``sizes`` symbolic sizes, ``indexing`` NumPy's indexing
and assignment rules, ``patches`` the trace-time stand-ins for NumPy constructors, ``math`` and
``scipy.special``, ``branches`` the exploration of paths through branches on traced values, and
``auxiliary`` the auxiliary outputs of ``has_aux``. It builds graphs of :mod:`symdiff.ir.graph` nodes.
"""
