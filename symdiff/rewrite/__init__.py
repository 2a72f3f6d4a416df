"""Graph rewrites, applied as a list of named passes (:data:`simplify.PASSES`).

``simplify`` holds the pass list: fusion of elementwise chains (the pass itself in ``fusion``), stability
rewrites (softplus, sigmoid, log1p, ...), budgeted SymPy simplification and CSE; ``speed`` the rewrites for
speed (sums of products as dot/einsum, shared powers and scaled sums, no gradient through a logsumexp shift);
``arrays`` the rewrites of array structure (one buffer for gradients of slices, pairwise sums as matmuls);
``loops`` the passes over rolled loops (one forward loop, the pass list inside bodies, unread results
dropped). Imports only :mod:`symdiff.ir.graph`.
"""
