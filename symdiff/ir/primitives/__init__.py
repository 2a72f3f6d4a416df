"""Tensor-level primitives, one module per family: ``core`` (leaves, elementwise, broadcasting,
reductions, reshapes; it re-exports the others), ``shape`` (slices, concatenation, flips, cumulative
sums), ``index`` (gathers, scatters, assignment), ``linalg`` (matmul, einsum, diagonals, bands) and
``matrix`` (inverse, determinants, solves). Each primitive has its shape rule and its vjp rule."""
