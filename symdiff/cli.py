"""The command line: ``symdiff grad FILE.py:FUNC --wrt w,b --shape x=5 ...`` prints the module.

Errors print one paragraph and exit 1 (2 for bad usage); ``--debug`` shows the traceback.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import os
import stat
import sys
import unicodedata
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .version import __version__
from .errors import SymdiffError

EXAMPLES = """examples:
  symdiff grad examples/seed_autograd.py:loss --wrt w,b --shape x=5 --shape y=3 --shape w=5,3 --shape b=3
  symdiff grad model.py:loss --wrt w --shape x=n,d --shape w=d -o loss_grad.py
  symdiff grad clf.py:loss --wrt W,b --shape W=d,k --shape b=k --shape X=n,d --shape y=n:int64
  symdiff graph model.py:loss --wrt w --shape x=n,d --shape w=d
  symdiff graph model.py:loss --wrt w --shape x=n,d --shape w=d --format svg -o graph.svg
  symdiff explain model.py:loss --wrt w --shape x=n,d --shape w=d
"""


class CliError(Exception):
    """A problem with the command line's input (file, function, shape spec)."""


def load_function(target: str) -> Callable:
    """``path/to/file.py:func`` -> the function, importing the file as a module. ``func`` may be any
    callable the module defines (a ``functools.partial``, an instance with ``__call__``) or a dotted
    name of one (``model.loss``: a method of the instance ``model``)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise CliError(f"{target!r}: expected FILE.py:FUNCTION, e.g. model.py:loss")
    file = Path(path)
    if not file.is_file():
        raise CliError(f"{path}: no such file")
    module_name = f"symdiff_user_{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise CliError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.fspath(file.resolve().parent))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:
        raise CliError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.pop(0)
    fn: Any = module
    for part in unicodedata.normalize("NFKC", name).split("."):  # as Python reads identifiers
        fn = getattr(fn, part, None)
    if fn is None or not callable(fn) or isinstance(fn, type):
        funcs = sorted(k for k, v in vars(module).items()
                       if callable(v) and getattr(v, "__module__", "") == module_name)
        if fn is not None:
            what = "is a class, not a function" if isinstance(fn, type) else "is not callable"
            raise CliError(f"{path}: {name!r} {what}; give a function, an instance with __call__ or obj.method")
        raise CliError(f"{path} has no function {name!r}" + (f" (it defines: {', '.join(funcs)})" if funcs else ""))
    return fn


def _name(option: str, name: str, seen: dict) -> str:
    """An argument name as Python reads it (NFKC: fullwidth ``ｘ`` is ``x``), given once."""
    norm = unicodedata.normalize("NFKC", name.strip())
    if norm in seen:
        same = "" if norm == name.strip() else f" ({name.strip()!r} is {norm!r} to Python)"
        raise CliError(f"{option} {name.strip()!r}: the argument {norm!r} is given twice{same}")
    return norm


def _is_name(text: str) -> bool:
    """An argument name, or a path into a container argument (``params.W1``, ``params.layers.0.W``)."""
    head, *steps = text.strip().split(".")
    return head.isidentifier() and all(s and s.replace("_", "a").isalnum() for s in steps)


def parse_shapes(items: Sequence[str]) -> dict[str, str]:
    shapes: dict[str, str] = {}
    for item in items:
        name, sep, dims = item.partition("=")
        if not sep or not _is_name(name):
            raise CliError(f"--shape {item!r}: expected NAME=SIZES, e.g. --shape w=5,3 or --shape x=n,k "
                           "(nothing after = for a scalar: x=; a leaf of a dict argument: params.W1=784,128)")
        shapes[_name("--shape", name, shapes)] = dims
    return shapes


def parse_static(items: Sequence[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            value = ast.literal_eval(text) if sep else None
        except (ValueError, SyntaxError):
            value = None
        if not sep or not _is_name(name) or not isinstance(value, (bool, int, str)):
            raise CliError(f"--static {item!r}: expected NAME=VALUE with an int, True/False or a quoted string, "
                           "e.g. --static steps=10")
        values[_name("--static", name, values)] = value
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symdiff", description="Print readable NumPy gradient code for a plain NumPy function.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"symdiff {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd, text in (("grad", "print (or write) the gradient module"),
                      ("hessian", "print (or write) the module with the gradient and the Hessian"),
                      ("hvp", "print (or write) the module with the gradient and the Hessian-vector product"),
                      ("jacobian", "print (or write) the Jacobian module (any output shape)"),
                      ("jvp", "print (or write) the forward-mode (value and tangent) module"),
                      ("vjp", "print (or write) the reverse-mode module for any output (value and pullback)"),
                      ("graph", "print the traced graph and its gradient graph"),
                      ("explain", "print the gradient as equations (plain text, LaTeX or Markdown)")):
        p = sub.add_parser(cmd, help=text, description=text, epilog=EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("target", metavar="FILE.py:FUNC", help="the function to differentiate")
        p.add_argument("--wrt", default=None, help="comma-separated argument names or paths into container "
                                                   "arguments, params.W1 (default: the first argument)")
        p.add_argument("--shape", action="append", default=[], metavar="NAME=SIZES",
                       help="shape of an array argument, sizes as integers or names (n,k); repeatable; "
                            "arguments without a shape are scalars; integer data (labels): y=n:int64; "
                            "a leaf of a dict (list) argument by its path: params.W1=784,128 (layers.0.W=n,k)")
        p.add_argument("--static", action="append", default=[], metavar="NAME=VALUE",
                       help="an argument the code is made for one value of (an int loop bound, a flag); repeatable")
        p.add_argument("--debug", action="store_true", help="show the full traceback on errors")
        p.add_argument("--verbose", action="store_true", help="print the compiler's stages and their times (stderr)")
        if cmd not in ("graph", "explain"):
            p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                           help="float type of the float arguments; a float32 module computes and returns float32")
            p.add_argument("--annotate", action="store_true",
                           help="type hints on the module's functions (x: np.ndarray, -> tuple[np.ndarray, ...])")
        if cmd in ("grad", "vjp", "graph"):
            p.add_argument("--checkpoint", type=_checkpoint, default=None, metavar="K",
                           help="a rolled loop's gradient stores its state every K steps and recomputes the steps "
                                "between (K an int, or sqrt: the square root of the trip count)")
        if cmd in ("grad", "graph", "explain"):
            p.add_argument("--has-aux", action="store_true",
                           help="the function returns (value, aux); the gradient functions pass aux through")
        if cmd == "explain":
            p.add_argument("--format", choices=("text", "latex", "markdown"), default="text",
                           help="plain text (the default), LaTeX (an aligned block), or Markdown with LaTeX")
        elif cmd != "graph":
            p.add_argument("-o", "--output", metavar="OUT.py", help="write the module here instead of stdout")
            p.add_argument("--backend", default="numpy", help="numpy (the default), numba (fused numba.njit loops), "
                           "numba-parallel (the same, their outer loops in parallel) or array_api (code for any "
                           "array API library: torch, JAX, CuPy, dask)")
        else:
            p.add_argument("--format", choices=("text", "dot", "svg"), default="text",
                           help="text (the default), Graphviz DOT, or SVG drawn by Graphviz's dot program")
            p.add_argument("-o", "--output", metavar="OUT", help="write the graph here instead of stdout")
    text = "report generated modules whose source changed or that differ from what their command writes (exit 1)"
    p = sub.add_parser("check", help=text, description=text + "; files that symdiff did not generate are skipped")
    p.add_argument("paths", nargs="+", metavar="PATH", help="generated modules (.py), or folders to search")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.command == "check":
        from .check import check_all
        return check_all(args.paths, sys.stdout, regenerate)
    fn = load_function(args.target)
    wrt = _wrt(args)
    with _compiling(args, fn):
        if args.command == "explain":
            math = explain(fn, wrt, parse_shapes(args.shape), "grad", args.has_aux, parse_static(args.static))
        else:
            compiled = compile_args(args, fn)
    if args.command == "explain":
        text = {"text": math.text, "latex": math.latex, "markdown": math._repr_markdown_()}[args.format]
        sys.stdout.write(text + "\n")
        return 0
    if args.command == "graph":
        text = {"text": lambda: compiled.graph + "\n", "dot": lambda: compiled.dot, "svg": lambda: _svg(compiled.dot)}
        picture = text[args.format]()
        if args.output:
            print(write_output(args.output, picture, python=False), file=sys.stderr)
        else:
            sys.stdout.write(picture)
    elif args.output:
        print(write_output(args.output, compiled.source, arrays=compiled.data), file=sys.stderr)
    elif compiled.data:
        names = "; ".join(a.describe() for a in compiled.data)
        raise CliError(f"{args.target} reads large constant arrays ({names}): the module keeps them in .npy files "
                       "beside it, which standard output cannot hold. Pass -o FILE to write the module and its data "
                       "files, or pass the arrays to the function as arguments")
    else:
        sys.stdout.write(compiled.source)
    return 0


@contextlib.contextmanager
def _compiling(args: argparse.Namespace, fn: Callable) -> Iterator[None]:
    """Around a compilation: the stages' times (``--verbose``), a progress line on a terminal after 2 s,
    and a hint under an error that comes from a common slip of the command line (:mod:`symdiff.hints`)."""
    from .runtime.progress import Listener, listening
    listener = Listener(stream=sys.stderr if sys.stderr.isatty() else None)
    try:
        with listening(listener):
            yield
    except SymdiffError as exc:
        from .hints import hint_for
        exc.hint = hint_for(str(exc), fn, parse_shapes(args.shape), parse_static(args.static))  # type: ignore
        raise
    finally:
        if args.verbose:
            print(listener.table(), file=sys.stderr)


def _wrt(args: argparse.Namespace):
    names = [w.strip() for w in args.wrt.split(",")] if args.wrt else None
    return names[0] if names and len(names) == 1 else (tuple(names) if names else None)


def compile_args(args: argparse.Namespace, fn: Callable):
    """The module (or graph) a command line asks for, of ``fn`` (its ``FILE.py:FUNC``)."""
    from .api import compile_for_export
    kind = "grad" if args.command == "graph" else args.command
    return compile_for_export(fn, _wrt(args), parse_shapes(args.shape), kind, getattr(args, "has_aux", False),
                              parse_static(args.static), getattr(args, "backend", "numpy"), command=_command(args),
                              dtype=getattr(args, "dtype", "float64"), annotate=getattr(args, "annotate", False),
                              checkpoint=getattr(args, "checkpoint", None))


def _checkpoint(text: str) -> int | str:
    """``--checkpoint K``: a positive int, or ``sqrt``."""
    if text == "sqrt":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: pass a positive int or sqrt") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: pass a positive int or sqrt")
    return value


def regenerate(words: list[str], command: str):
    """For ``symdiff check``: the function the command line ``words`` names, and a callable giving the
    module it writes (with ``command``, the module's own line, in the header)."""
    args = build_parser().parse_args(words)
    args.regenerate = command
    fn = load_function(args.target)
    return fn, lambda: compile_args(args, fn).source


def check_module(path: str):
    """:func:`symdiff.check.check_module` of one generated module."""
    from .check import check_module as check
    return check(path, regenerate)


def _command(args: argparse.Namespace) -> str | None:
    """The command line that regenerates this module, for its header (:mod:`symdiff.commands`)."""
    if args.command == "graph":
        return None
    if getattr(args, "regenerate", None):  # symdiff check: the module's own line, as it was
        return args.regenerate
    from .commands import command_line
    path, _, name = args.target.rpartition(":")
    split = [item.partition("=")[::2] for item in (*args.shape, *args.static)]
    shapes, static = split[:len(args.shape)], split[len(args.shape):]
    wrt = [w.strip() for w in args.wrt.split(",")] if args.wrt else None
    return command_line(args.command, path, name, wrt, [(k.strip(), v) for k, v in shapes],
                        [(k.strip(), v) for k, v in static], getattr(args, "has_aux", False), args.output,
                        dtype=args.dtype, annotate=args.annotate, backend=getattr(args, "backend", "numpy"),
                        checkpoint=getattr(args, "checkpoint", None))


def explain(fn: Callable, wrt=None, shapes: dict | None = None, kind: str = "grad", has_aux: bool = False,
            static: dict | None = None):
    """The derivative as equations (:func:`symdiff.explain.math_of`) for export's arguments."""
    from .arguments import parse_wrt, plan, specs_for
    from .explain import math_of
    from .runtime.signature import name_of
    indices, steps, single = parse_wrt(fn, wrt)
    specs, layout = specs_for(fn, shapes, static=static)
    flat, single, tree = plan(name_of(fn), kind, specs, layout, indices, steps, single)  # containers: their leaves
    return math_of(fn, specs, flat, single=single, kind=kind, has_aux=has_aux, tree=tree)


def _svg(dot_text: str) -> str:
    from .backends.dot import to_svg
    return to_svg(dot_text)


def write_output(out: str, text: str, python: bool = True, arrays=()) -> str:
    """Write ``text`` to ``out`` whole or not at all, as ``cp`` would: through a symbolic link to its target,
    never over a read-only file (nor a folder), keeping the mode of a file it replaces; errors name ``out``.
    ``python``: the text is a module, compiled first (never written if it does not compile); ``arrays``: its
    stored constants, written beside it as ``<stem>.<NAME>.npy``."""
    from .runtime.cache import write_module
    from .escape import check_compiles
    path = Path(out)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if path.is_symlink() and not target.exists():
        raise CliError(f"{out}: a symbolic link to {target}, which does not exist; not writing through it")
    mode = None
    if target.exists():
        if target.is_dir():
            raise CliError(f"{out}: is a folder; give a file name (nothing written)")
        mode = stat.S_IMODE(target.stat().st_mode)
        if not os.access(target, os.W_OK) or not mode & 0o222:
            raise CliError(f"{out}: the file is read-only; not replaced (make it writable, or remove it first)")
    if python:
        check_compiles(text, os.fspath(target))
    try:
        write_module(target, text, arrays)
        if mode is not None:
            os.chmod(target, mode)
    except OSError as exc:
        raise CliError(f"{out}: cannot write it: {exc.strerror or exc}; nothing written") from exc
    files = "".join(f" and {a.file_name(target.stem)}" for a in arrays)
    return f"wrote {out}{files}" + (f" (through the symbolic link, to {target})" if target != path else "")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (SymdiffError, CliError, OSError) as exc:
        if args.debug:
            raise
        what = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else exc
        print(f"symdiff {args.command}: error: {what}", file=sys.stderr)
        if getattr(exc, "hint", None):
            print(exc.hint, file=sys.stderr)  # type: ignore[union-attr]
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"symdiff {args.command}: interrupted; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
