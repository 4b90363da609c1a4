"""Hostile batches through the writer into a real DuckDB store: NaN, infinite and huge values,
timestamps before 2000, negative, far in the future or at the ends of int64, unknown and negative
signal ids, duplicates. Afterwards the store holds exactly the valid points (the last of each
duplicated signal and timestamp), every other point is counted under a reason, and the writer is
still running."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartfab.platform.bus import Bus
from smartfab.platform.ingest import Y2000_US, Writer
from smartfab.platform.points import PointBatch, Quality, now_us
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.duckdb import DuckDBStore

S = 1_000_000
T0 = (now_us() // S - 3600) * S  # an hour ago
EQ = "site/area/line/cell/oven"
INT64 = np.iinfo(np.int64)

timestamps = st.one_of(
    st.integers(0, 600).map(lambda s: T0 + s * S),  # valid, often repeated
    st.integers(INT64.min, INT64.max),
    st.sampled_from([0, -1, Y2000_US - 1, Y2000_US, INT64.min, INT64.max, T0 + 10**15]),
)
values = st.one_of(st.floats(), st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -0.0]))
points = st.tuples(
    timestamps,
    st.sampled_from([0, 1, 2, 3, -1, 99, 2**31 - 1, -(2**31)]),  # ids of the store: 1 and 2
    values,
    st.sampled_from([Quality.GOOD, Quality.UNCERTAIN, Quality.BAD]),
)


def _expected(batches: list[list[tuple[int, int, float, int]]]) -> dict[tuple[int, int], float]:
    """(signal, ts) -> value of the points a correct writer stores (written out point by point,
    the way the module docstring states the rules, not the way the writer vectorises them), each
    batch flushed before the next."""
    out: dict[tuple[int, int], float] = {}
    horizon = now_us() + 300 * S
    for batch in batches:
        valid: dict[tuple[int, int], float] = {}
        for ts, sid, value, quality in batch:
            finite = bool(np.isfinite(value)) or quality == Quality.BAD
            if sid in (1, 2) and finite and Y2000_US <= ts <= horizon:
                valid[(sid, ts)] = value  # a later duplicate of the batch wins
        for key, value in valid.items():
            out.setdefault(key, value)  # what the store holds already stays
    return out


async def _run(folder: Path, batches: list[list[tuple[int, int, float, int]]]) -> None:
    with DuckDBStore(folder / "s.duckdb") as store:
        store.register_signals([
            SignalInfo(f"{EQ}/temp", EQ, "temp", "degC", "float", low=0.0, high=100.0),
            SignalInfo(f"{EQ}/power", EQ, "power", "kW", "float"),
        ])  # fmt: skip
        assert sorted(s.id for s in store.signals()) == [1, 2]
        bus = Bus()
        writer = Writer(bus, store, retry_initial_s=0.001)
        await writer.start()
        try:
            for batch in batches:
                ts, sid, value, quality = zip(*batch, strict=True)
                await bus.publish_points(PointBatch.of(ts, sid, value, quality))
                await writer.flush()
        finally:
            await writer.stop()
        stats = writer.stats
        assert stats.points_in == sum(map(len, batches))
        table = store.raw([1, 2], 0, 2**62)
        ts = table.column("ts").cast("int64").to_pylist()
        sid = table.column("signal_id").to_pylist()
        value = table.column("value").to_pylist()
        stored = dict(zip(zip(sid, ts, strict=True), value, strict=True))
        want = _expected(batches)
        assert stored.keys() == want.keys()
        for key, v in want.items():
            assert stored[key] == v or (np.isnan(v) and np.isnan(stored[key]))
        assert stats.points_stored == len(want)
        counted = stats.points_stored + stats.points_already_stored + sum(stats.rejected.values())
        assert counted == stats.points_in


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.lists(points, min_size=1, max_size=30), min_size=1, max_size=3))
def test_the_store_holds_exactly_the_valid_points(
    batches: list[list[tuple[int, int, float, int]]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(Path(folder), batches))
