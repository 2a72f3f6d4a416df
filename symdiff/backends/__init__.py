"""Backends: from a simplified graph to source text. Each backend is a folder; ``numpy`` is the
default. A backend imports :mod:`symdiff.ir.graph`, never the frontend or the passes."""
