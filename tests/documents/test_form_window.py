"""A form verdict holds while no certificate validity bound lies between its check and now."""

from __future__ import annotations

from pathlib import Path

from provisioner.documents.form import FormVerdict
from provisioner.documents.window import window_holds
from provisioner.runtime.caches import FileCache


def test_window_in_both_directions_of_the_clock() -> None:
    bounds = (1_000.0, 5_000.0)
    assert window_holds(bounds, 2_000.0, 4_000.0)
    assert window_holds(bounds, 4_000.0, 2_000.0)  # the clock went back, still inside
    assert not window_holds(bounds, 2_000.0, 6_000.0)  # a certificate expired since
    assert not window_holds(bounds, 2_000.0, 500.0)  # before a certificate was valid
    assert not window_holds(bounds, 4_999.5, 4_999.9)  # too close to a bound to trust
    assert window_holds((), 0.0, 1e12)  # a verdict no certificate bounds (not a PDF...)


def test_the_cache_keeps_the_window(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    verdict = FormVerdict((), 5_000.0, ("CN=x",), checked_at=2_000.0, bounds=(1_000.0, 5_000.0))
    cache.put("k", verdict)
    assert cache.get("k", now=3_000.0) == verdict
    assert cache.get("k", now=900.0) is None
    assert cache.get("k", now=5_100.0) is None
