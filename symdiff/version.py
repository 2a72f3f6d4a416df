"""The version of symdiff (read by the package, the command line and the headers of generated modules)."""
__version__ = "0.1.0"
