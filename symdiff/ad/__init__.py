"""Automatic differentiation over the graph: the gradient is more graph.

``backward`` is reverse mode (the whole backward pass; ``loops`` a rolled loop's adjoint), ``forward``
batched forward mode (JVP rules; ``loop_jvp`` a rolled loop's, a loop carrying the tangents) with
``linalg_rules`` for products and einsum, ``structure`` banded
tangents, and ``derivatives`` the kinds of derivative a module holds (gradient, Jacobian, Hessian, HVP,
JVP, VJP). Imports only :mod:`symdiff.ir.graph` (and errors, naming, the argument specs).
"""
