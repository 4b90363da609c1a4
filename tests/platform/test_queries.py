"""Named queries (the notebook API) over a store filled by the virtual factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import smartfab
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.model.plant import NUMERIC_TYPES
from smartfab.platform.catalog import register_plant
from smartfab.platform.points import Quality
from smartfab.platform.queries import PlantData, QueryError, nice_bucket_us, to_us
from smartfab.platform.store.duckdb import DuckDBStore
from tests.conftest import FILLED_END_US, FILLED_START_US
from tests.platform.store.points import (
    EQ,
    T0,
    S,
    array_info,
    arrays,
    info,
    pts,
    text_info,
    texts,
    ts_us,
)

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
    numbers = [
        s for s in signals if s.equipment == force.equipment and s.data_type in NUMERIC_TYPES
    ]
    assert latest.num_rows == len(numbers)  # the numbers; texts and arrays: latest_by_kind
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


# --- texts and arrays ------------------------------------------------------------------------


@pytest.fixture
def kinds(tmp_path: Path) -> Iterator[PlantData]:
    """A store with a number, two string and an array signal: product and lot codes changing
    now and then (lot sampled every second), a profile every second."""
    store = DuckDBStore(tmp_path / "k.duckdb")
    ids = store.register_signals(
        [info("temp"), text_info("product"), text_info("lot"), array_info("profile", 3)]
    )
    t, product, lot, profile = ids.values()
    # Product: set 3 days before T0 (a change found far back), then at 100 s and 200 s.
    store.append_points(texts([-3 * 86_400, 100, 200], product, ["A", "B", "A"]))
    secs = np.arange(0, 300)
    lots = np.where(secs < 150, "L-1", "L-2").tolist()
    quality = np.where((secs >= 250) & (secs < 260), Quality.BAD, Quality.GOOD)
    store.append_points(texts(secs, lot, lots, quality))
    store.append_points(arrays(secs, profile, [[float(s)] * 3 for s in secs]))
    store.append_points(pts(secs, t, np.where(secs < 10, 1.0, 2.0)))
    data = PlantData(store)
    yield data
    data.close()


def test_latest_and_raw_answer_each_kind(kinds: PlantData) -> None:
    product, profile = f"{EQ}/product", f"{EQ}/profile"
    assert [kinds.kind(p) for p in (f"{EQ}/temp", product, profile)] == ["number", "text", "array"]
    assert kinds.latest(kind="text").column("value").to_pylist() == ["A", "L-2"]
    assert kinds.latest([product], kind="text").column("path").to_pylist() == [product]
    assert kinds.latest([product]).num_rows == 0  # numbers by default: none for it
    everything = kinds.latest_by_kind()
    assert sorted(everything) == ["array", "number", "text"]
    assert everything["array"].column("value").to_pylist() == [[299.0] * 3]
    assert list(kinds.latest_by_kind([product])) == ["text"]
    assert kinds.latest_by_kind(under="site/elsewhere") == {}
    raw = kinds.raw([profile], T0 / 1e6, (T0 + 2 * S) / 1e6)  # the paths' kind
    assert raw.column("value").to_pylist() == [[0.0] * 3, [1.0] * 3]
    assert raw.column("unit").to_pylist() == ["mm", "mm"]
    with pytest.raises(QueryError, match="one kind of value"):
        kinds.raw([product, profile])


def test_changes_of_a_text_start_with_the_value_in_force(kinds: PlantData) -> None:
    window = ((T0 + 50 * S) / 1e6, (T0 + 300 * S) / 1e6)
    got = kinds.changes(f"{EQ}/product", *window)
    assert got.column_names == ["ts", "value", "quality"]
    assert ts_us(got) == [T0 - 3 * 86_400 * S, T0 + 100 * S, T0 + 200 * S]  # 3 days back
    assert got.column("value").to_pylist() == ["A", "B", "A"]
    assert got.schema.metadata[b"truncated"] == b"false"
    lot = kinds.changes(f"{EQ}/lot", *window)
    assert ts_us(lot) == [T0 + s * S for s in (50, 150, 250, 260)]  # value, then quality
    assert lot.column("value").to_pylist() == ["L-1", "L-2", "L-2", "L-2"]
    assert lot.column("quality").to_pylist() == [0, 0, 2, 0]
    at_start = kinds.changes(f"{EQ}/lot", (T0 + 150 * S) / 1e6, (T0 + 300 * S) / 1e6)
    assert ts_us(at_start)[0] == T0 + 150 * S  # a point at the start: nothing from before it
    cut = kinds.changes(f"{EQ}/lot", *window, limit=2)
    assert cut.num_rows == 2 and cut.schema.metadata[b"truncated"] == b"true"
    numbers = kinds.changes(f"{EQ}/temp", T0 / 1e6, (T0 + 300 * S) / 1e6)
    assert numbers.column("value").to_pylist() == [1.0, 2.0]
    assert (
        kinds.changes(f"{EQ}/product", (T0 - 10**9 * S) / 1e6, (T0 - 10**8 * S) / 1e6).num_rows == 0
    )
    with pytest.raises(QueryError, match="profiles"):
        kinds.changes(f"{EQ}/profile")


def test_profiles_are_a_sample_evenly_spread_over_the_range(kinds: PlantData) -> None:
    profile = f"{EQ}/profile"
    every = kinds.profiles(profile, T0 / 1e6, (T0 + 300 * S) / 1e6, points=300)
    assert every.num_rows == 300 and every.schema.metadata[b"in_range"] == b"300"
    sample = kinds.profiles(profile, T0 / 1e6, (T0 + 300 * S) / 1e6, points=10)
    assert ts_us(sample) == [T0 + i * 30 * S for i in range(10)]
    assert sample.column("value").to_pylist()[1] == [30.0] * 3
    assert sample.schema.metadata[b"in_range"] == b"300"
    with pytest.raises(QueryError, match="for arrays"):
        kinds.profiles(f"{EQ}/lot")
    with pytest.raises(QueryError, match="points = 0"):
        kinds.profiles(profile, points=0)


def test_lineage_sees_texts_and_arrays(kinds: PlantData) -> None:
    from smartfab.platform.lineage import lineage

    got = {r["path"]: r for r in lineage(kinds).to_pylist()}
    first, last = got[f"{EQ}/product"]["first_seen"], got[f"{EQ}/product"]["last_seen"]
    assert (to_us(first), to_us(last)) == (T0 - 3 * 86_400 * S, T0 + 200 * S)
    assert to_us(got[f"{EQ}/profile"]["first_seen"]) == T0


def test_enum_value_names_come_from_the_plant_file(tmp_path: Path) -> None:
    plant = load_plant(DEMO_PLANT)
    ref = next(r for r in plant.iter_signals() if r.signal.type == "enum")
    with DuckDBStore(tmp_path / "e.duckdb") as store:
        register_plant(store, plant)
        data = PlantData(store, plant)
        assert data.kind(ref.path) == "number"
        assert data.value_names(ref.path) == ref.signal.values
        assert (
            data.value_names(next(s.path for s in data.signals() if s.data_type == "float")) is None
        )
        assert PlantData(store).value_names(ref.path) is None  # no plant file
