"""Shared fixtures: every test compiles into its own cache folder. SciPy's registry entries are
loaded up front, so every table-driven test sees the same registry."""
import pytest

from symdiff.scipy import special  # noqa: F401  (SciPy is a test extra)


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path / "symdiff-cache"))
