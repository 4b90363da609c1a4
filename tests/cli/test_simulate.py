"""`smartfab simulate` writes history through the real ingestion path, idempotently."""

from __future__ import annotations

from pathlib import Path

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
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
    # 0.05 days = 72 minutes of every signal, sampled every 1 to 10 s.
    signals = len(list(load_plant(DEMO_PLANT).iter_signals()))
    assert signals * 72 * 6 < points < signals * 72 * 60
    assert {"state", "count"} <= set(events.column("kind").to_pylist())

    again = smartfab(*args)  # the same range again: the store holds it already
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        assert store.count_points() == points


def test_simulate_continues_after_the_stored_history(tmp_path: Path) -> None:
    first = smartfab("simulate", "--days", "0.02", "--end", "2026-11-17T10:00:00Z",
                     "-d", str(tmp_path))  # fmt: skip
    assert first.returncode == 0, first.stderr
    # An hour more, ending later: only the part after the stored history is simulated, so that
    # every state change of the new part is derived from the stored state before it.
    more = smartfab("simulate", "--days", "0.05", "--end", "2026-11-17T11:00:00Z",
                    "-d", str(tmp_path))  # fmt: skip
    assert more.returncode == 0, more.stderr
    assert "continuing from there" in more.stdout
    with DuckDBStore(tmp_path / "smartfab.duckdb") as store:
        cnc = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
        start = 1_794_909_600_000_000 - int(0.02 * 86_400e6)  # 2026-11-17T10:00Z - 0.02 days
        durations = store.state_durations(cnc, start, 1_794_913_200_000_000)
        assert abs(sum(durations.column("seconds").to_pylist()) - (3600 + 0.02 * 86400)) < 2
