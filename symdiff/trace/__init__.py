"""The frontend (stage 1): running the user's function on traced values, building :mod:`symdiff.ir` graphs.

``run`` is the entry point (the function runs with the stand-ins installed); ``tracer`` holds the
tracing state (sizes, source lines, names, branch outcomes); ``values`` the :class:`Tracer` standing
for an array and ``sizes`` a symbolic size; ``dispatch`` the registry's table and how a NumPy function
applies to traced values (the entries are in :mod:`symdiff.numpy` and :mod:`symdiff.scipy`);
``indexing`` NumPy's indexing and assignment rules; ``patches`` the trace-time stand-ins of NumPy's
constructors, ``math`` and other libraries; ``random_draws`` and ``random_standins`` random draws;
``branches`` the paths through branches on traced values; ``auxiliary`` ``has_aux`` outputs;
``composites`` logsumexp and softmax, written once for arrays and traced values; ``loop_source`` and
``loops`` the loops traced once into a loop node (rolled) when their body allows it.
It imports :mod:`symdiff.ir` and the runtime's argument records, never a later stage.
"""
