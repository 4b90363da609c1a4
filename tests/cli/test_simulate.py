"""`smartfab simulate` writes history through the real ingestion path, idempotently."""

from __future__ import annotations

from pathlib import Path

from smartfab.platform.store.duckdb import DuckDBStore
from tests.cli.test_main import smartfab


def test_simulate_writes_history_once(tmp_path: Path) -> None:
    args = ("simulate", "--days", "0.05", "--end", "2026-11-17T10:00:00Z", "-d", str(tmp_path))
    first = smartfab(*args)
    assert first.returncode == 0, first.stderr
    assert "simulating" in first.stdout  # the progress bar
    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        points = store.count_points()
        events = store.events(0, 2**62)
    # 0.05 days = 72 minutes of 234 signals sampled every 1 to 10 s.
    assert 234 * 72 * 6 < points < 234 * 72 * 60
    assert {"state", "count"} <= set(events.column("kind").to_pylist())

    again = smartfab(*args)  # the same range again: every point is stored already
    assert again.returncode == 0, again.stderr
    assert "stored 0 points" in again.stdout
    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        assert store.count_points() == points
