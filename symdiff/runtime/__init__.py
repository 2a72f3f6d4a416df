"""What runs around compiled code, without importing any stage (no SymPy): ``cache`` (atomic writes,
imports and the index of the cache folder), ``fingerprint`` (what a compiled gradient depends on),
``fastpath`` (the guard of the latest call), ``specs`` (argument records) and ``paths``."""
