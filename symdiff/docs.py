"""The table of supported NumPy functions in the README, made from the registry so it cannot drift.

``python -m symdiff.docs`` prints it; ``tests/test_docs.py`` checks the README holds exactly this.

>>> "| `np.exp` |" in registry_table()
True
"""
from __future__ import annotations

from .numpy.core import REGISTRY, SPECIAL_FORMS

try:  # SciPy's entries are in the table when SciPy is installed (it is a test extra)
    from .scipy import integrate, linalg, signal, special, stats  # noqa: F401  (their entries register themselves)
except ImportError:  # pragma: no cover
    pass

BEGIN = "<!-- registry-table: begin (made by `python -m symdiff.docs`) -->"
END = "<!-- registry-table: end -->"


def registry_table() -> str:
    rows = ["| function | kind | test domain | test cases |", "|---|---|---|---|"]
    # every entry, whatever form its test calls it in (lists of arrays, einsum's subscripts, the tuple
    # of np.linalg.eigh's results, scipy.special's constant orders): tests/test_surface.py runs those
    for func, entry in sorted({**REGISTRY, **SPECIAL_FORMS}.items(), key=lambda kv: kv[1].name):
        scipy = entry.notes.startswith(("scipy.special", "scipy.linalg"))
        linalg = (getattr(func, "__module__", None) or "").startswith("numpy.linalg")
        if (getattr(func, "__module__", None) or "") in ("scipy.signal", "scipy.integrate"):
            scipy, entry_name = True, f"scipy.{entry.name}"
        elif entry.notes.startswith("scipy.linalg"):
            entry_name = f"scipy.linalg.{entry.name}"
        else:
            entry_name = f"scipy.special.{entry.name}"
        name = entry_name if scipy else \
            f"np.{'linalg.' if linalg else ''}{getattr(func, '__name__', entry.name)}"
        kind = "elementwise (SymPy form)" if entry.build.__qualname__.startswith("ufunc") else "structural"
        if entry.form == "static":
            kind = "elementwise (SymPy form), in the arguments that are not constants"
        if not entry.differentiable:
            kind = "comparison (no gradient; used by np.where)"
        domain = f"{entry.domain[0]:g} .. {entry.domain[1]:g}" if entry.sample is None else \
            (entry.sample.__doc__ or entry.sample.__name__).split(":")[0]
        rows.append(f"| `{name}` | {kind} | {domain} | {len(entry.cases)} |")
    return "\n".join(rows)


def readme_section() -> str:
    return f"{BEGIN}\n{registry_table()}\n{END}"


if __name__ == "__main__":  # pragma: no cover
    print(readme_section())
