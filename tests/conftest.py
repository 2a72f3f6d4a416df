"""Shared fixtures: every test compiles into its own cache folder. SciPy's registry entries are
loaded up front, so every table-driven test sees the same registry.

Property tests (hypothesis) are deterministic by default, in CI and on a fresh clone alike: the
``ci`` profile derives each test's examples from its own source (``derandomize``), keeps no example
database and has no deadline, so a run never depends on the day's seed or on earlier runs. To search
at random, ``pytest --hypothesis-profile=dev --hypothesis-seed=N`` (N any integer; leave it out for
a fresh seed); a bug found that way gets a plain regression test (tests/test_trust_crashes.py)."""
import pytest
from hypothesis import HealthCheck, settings

from symdiff.scipy import integrate, linalg, signal, special, stats  # noqa: F401  (SciPy is a test extra)

_QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=60,
                          print_blob=False, suppress_health_check=_QUIET)
settings.register_profile("dev", derandomize=False, database=None, deadline=None, max_examples=60,
                          print_blob=True, suppress_health_check=_QUIET)
settings.load_profile("ci")  # --hypothesis-profile=dev (read after this file) replaces it


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path / "symdiff-cache"))
