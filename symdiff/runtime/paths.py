"""Where symdiff's files are (kept free of heavy imports)."""
from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    """The Jinja templates: shipped inside the package, or the repository's top-level folder."""
    here = Path(__file__).resolve().parent.parent  # the symdiff package
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "module.py.j2").is_file():
            return candidate
    raise FileNotFoundError("symdiff templates not found (expected symdiff/templates or ./templates)")
