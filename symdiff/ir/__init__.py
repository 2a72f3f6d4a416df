"""The intermediate representation: what every stage reads and writes.

``graph`` has the frozen :class:`Node` dataclasses, traversal and the printed IR; ``shapes`` the
symbolic shapes; ``scalar`` and ``special`` the SymPy functions of elementwise kernels that SymPy
lacks; ``primitives`` the tensor-level primitives (shape rule and reverse-mode rule per primitive).
It imports nothing else of symdiff but :mod:`symdiff.errors` and :mod:`symdiff.naming`.
"""
