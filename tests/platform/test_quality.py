"""Data-quality rules from the plant file, applied by the real writer into a real DuckDB store:
points are flagged (never dropped), counted, and recorded as QUALITY events; state carries from one
batch to the next."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartfab.model.plant import Plant
from smartfab.platform.bus import Bus
from smartfab.platform.catalog import register_plant
from smartfab.platform.ingest import Writer
from smartfab.platform.points import EventKind, PointBatch, Quality, now_us
from smartfab.platform.quality import FLATLINE, QUALITY_RANGE, SPIKE, STALE, QualityRules
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.virtual.factory import VirtualFactory
from tests.devices.bound_plants import EQUIPMENT, opcua_connection, opcua_signal, plant

S = 1_000_000
T0 = (now_us() // S - 3600) * S
RULES: dict[str, dict[str, Any]] = {
    "pressure": {"range": {"low": 0, "high": 400}, "spike": {"max_step": 50}},
    "temp": {"flatline": {"after_s": 10, "tolerance": 0.01}, "stale": {"after_s": 5}},
    "free": {},
}
G, U, B = Quality.GOOD, Quality.UNCERTAIN, Quality.BAD


def ruled_plant() -> Plant:
    signals = [opcua_signal("pressure", quality=RULES["pressure"]), opcua_signal("temp",
               quality=RULES["temp"]), opcua_signal("plain")]  # fmt: skip
    return plant(signals, [opcua_connection()])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[DuckDBStore, dict[str, int]]]:
    with DuckDBStore(tmp_path / "s.duckdb") as s:
        ids = register_plant(s, ruled_plant())
        yield s, {path.rpartition("/")[2]: i for path, i in ids.items()}


@pytest.fixture
async def writer(
    store: tuple[DuckDBStore, dict[str, int]],
) -> AsyncIterator[tuple[Bus, Writer, DuckDBStore, dict[str, int]]]:
    s, ids = store
    full = {f"{EQUIPMENT}/{name}": i for name, i in ids.items()}
    rules = QualityRules.from_plant(ruled_plant(), full)
    bus = Bus()
    w = Writer(bus, s, quality=rules)
    await w.start()
    yield bus, w, s, ids
    await w.stop()


def pts(signal: int, secs: Sequence[float], values: Sequence[float]) -> PointBatch:
    ts = T0 + np.rint(np.asarray(secs) * S).astype(np.int64)
    return PointBatch.of(ts, signal, np.asarray(values, np.float64))


def qualities(s: DuckDBStore, signal: int) -> list[int]:
    return list(s.raw([signal], 0, 2**62).column("quality").to_pylist())


async def test_each_rule_flags_points_and_records_quality_events(
    writer: tuple[Bus, Writer, DuckDBStore, dict[str, int]],
) -> None:
    bus, w, s, ids = writer
    p, t, plain = ids["pressure"], ids["temp"], ids["plain"]
    # pressure: 500 is beyond what the gauge can read (BAD), 100 -> 200 a spike (UNCERTAIN)
    await bus.publish_points(pts(p, [0, 1, 2, 3, 4], [100, 120, 200, 500, 180]))
    # temp: frozen from 0 s on (flat from 10 s), silent from 14 s to 24 s, then moving again
    await bus.publish_points(pts(t, [0, 2, 4, 6, 8, 10, 12, 14, 24, 26], [20] * 9 + [21]))
    await bus.publish_points(pts(plain, [0, 1, 2], [1e9, -1e9, 1e9]))  # no rules: untouched
    await w.flush()
    assert qualities(s, p) == [G, G, U, B, U]  # 500 is also a spike; BAD wins
    assert qualities(s, t) == [G, G, G, G, G, U, U, U, U, G]
    assert qualities(s, plain) == [G, G, G]
    assert s.count_points() == 18  # nothing dropped
    assert w.stats.flagged == {QUALITY_RANGE: 1, SPIKE: 3, FLATLINE: 4, STALE: 1}
    assert w.stats.rejected == {}
    events = s.events(0, 2**62, kinds=[EventKind.QUALITY])
    assert sorted(events.column("code").to_pylist()) == [FLATLINE, QUALITY_RANGE, SPIKE, STALE]
    details = " ".join(events.column("detail").to_pylist())
    assert f"{EQUIPMENT}/pressure" in details and "frozen sensor" in details


async def test_rules_carry_from_one_batch_to_the_next(
    writer: tuple[Bus, Writer, DuckDBStore, dict[str, int]],
) -> None:
    bus, w, s, ids = writer
    p, t = ids["pressure"], ids["temp"]
    for second in range(0, 16, 2):  # one point per batch: every rule must look back
        await bus.publish_points(pts(t, [second], [20.0]))
        await bus.publish_points(pts(p, [second], [100.0 if second != 8 else 190.0]))
        await w.flush()
    await bus.publish_points(pts(t, [30], [20.0]))  # after 16 s of silence
    await w.flush()
    assert qualities(s, t) == [G] * 5 + [U, U, U, U]  # flat from 10 s; 30 s stale and flat
    assert qualities(s, p) == [G, G, G, G, U, U, G, G]  # up to 190 and back down: two jumps


def test_a_plant_without_rules_has_none() -> None:
    bare = plant([opcua_signal("x")], [opcua_connection()])
    assert QualityRules.from_plant(bare, {f"{EQUIPMENT}/x": 1}) is None


def test_rules_are_checked_when_the_plant_is_read() -> None:
    with pytest.raises(ValueError, match=r"low \(5.0\) must be below high \(1.0\)"):
        plant([opcua_signal("x", quality={"range": {"low": 5, "high": 1}})], [opcua_connection()])
    with pytest.raises(ValueError, match="greater than 0"):
        plant([opcua_signal("x", quality={"spike": {"max_step": 0}})], [opcua_connection()])


def test_the_demo_plants_rules_do_not_flag_a_healthy_day(demo_plant: Plant) -> None:
    """Rules that cry wolf get switched off: six simulated hours of the demo plant, failures
    and all, raise no flag."""
    ids = {ref.path: i for i, ref in enumerate(demo_plant.iter_signals())}
    rules = QualityRules.from_plant(demo_plant, ids)
    assert rules is not None and int(rules.ruled.sum()) == 2
    factory = VirtualFactory(demo_plant, ids, seed=11, start_us=T0 - 6 * 3600 * S)
    flagged: list[str] = []
    for hour in range(5, -1, -1):
        points, _ = factory.advance(T0 - hour * 3600 * S)
        rules.apply(points, lambda reason, p: flagged.append(f"{reason}: {len(p)}"))
    assert flagged == []
