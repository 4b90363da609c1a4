"""A store holding the events of a press and of a robot on the same line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartfab.platform.points import EventBatch, EventKind
from smartfab.platform.store.duckdb import DuckDBStore

T0 = 1_794_895_200_000_000  # 2026-11-17 06:00 UTC
MIN = 60_000_000  # one minute in microseconds
LINE = "plant/area/line"
PRESS = f"{LINE}/cell/press"
ROBOT = f"{LINE}/cell/robot"


def at(minutes: float) -> int:
    return T0 + int(minutes * MIN)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    """The press: setup from -20 min, running 5-35, down 35-45, running again; 2 scrap at 8 min
    and 40 good at 30 min. The robot breaks down at 1 min."""
    s = DuckDBStore(tmp_path / "monitoring.duckdb")
    try:
        s.append_events(
            EventBatch.concat(
                [
                    EventBatch.of(
                        [at(-20), at(5), at(35), at(45)],
                        PRESS,
                        EventKind.STATE,
                        ["setup", "running", "unplanned_down", "running"],
                    ),
                    EventBatch.of(
                        [at(8), at(30)], PRESS, EventKind.COUNT, ["scrap", "good"], [2, 40]
                    ),
                    EventBatch.of([at(1)], ROBOT, EventKind.STATE, "unplanned_down"),
                ]
            )
        )
        yield s
    finally:
        s.close()
