"""Named queries (the notebook API) over a store filled by the virtual factory."""

from __future__ import annotations

from pathlib import Path

import pytest

import smartfab
from smartfab.config import DEMO_PLANT
from smartfab.platform.queries import QueryError, nice_bucket_us, to_us
from tests.conftest import FILLED_END_US, FILLED_START_US

PRESS = "shenyang/pressing/press-line-1/cell-1"


def test_connect_answers_by_name(filled_store: Path) -> None:
    data = smartfab.connect(filled_store, plant=DEMO_PLANT)
    assert data.plant is not None
    signals = data.signals("shenyang/pressing")
    assert signals and all(s.path.startswith("shenyang/pressing/") for s in signals)
    force = next(s for s in signals if s.name == "ram_force")
    h = data.history(force.path, FILLED_START_US / 1e6, FILLED_END_US / 1e6, buckets=60)
    assert h.num_rows == 60 and h.schema.metadata[b"bucket_us"] == b"360000000"
    raw = data.raw([force.path], FILLED_START_US / 1e6, (FILLED_START_US + 60e6) / 1e6)
    assert raw.num_rows == 60 and set(raw.column("path").to_pylist()) == {force.path}
    latest = data.latest(under=force.equipment)
    assert latest.num_rows == len([s for s in signals if s.equipment == force.equipment])
    pandas = pytest.importorskip("pandas")  # notebooks use it; smartfab does not need it
    frame = latest.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and set(frame["unit"]) >= {"kN"}
    data.store.close()


def test_connect_to_a_folder_without_a_store(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="smartfab simulate"):
        smartfab.connect(tmp_path)


def test_times_and_buckets() -> None:
    assert to_us("2026-11-17T06:00:00Z") == FILLED_START_US == to_us(FILLED_START_US / 1e6)
    assert nice_bucket_us(86_400_000_000, 1000) == 87_000_000  # 86.4 s rounds up to whole s
    assert nice_bucket_us(10_000_000, 1000) == 1_000_000  # never below a second
    year = 365 * 86_400_000_000
    assert nice_bucket_us(year, 1000) == 526 * 60_000_000  # whole minutes: from the rollups
    assert nice_bucket_us(20 * year, 1000) == 176 * 3_600_000_000  # whole hours
    with pytest.raises(QueryError, match="ISO 8601"):
        to_us("17/11/2026")
