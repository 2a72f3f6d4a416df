"""The NumPy backend: ``printer`` prints SymPy kernels as NumPy expressions (strict: an unknown node
is an error), ``codegen`` turns graph nodes into statements with names and ``# Grad of:`` comments
and renders the module template."""
