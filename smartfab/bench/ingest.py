"""How fast points travel the batch path: bus -> writer (validation, event derivation) -> DuckDB,
compared with DuckDB's own Arrow append of the same batches into the same table.

The data imitates a backfill of a plant: 230 signals sampled every second (measurements with an
expected range, and per equipment a state register, a fault register and two part counters, so
that derivation has real work), in batches as a connector or an import would publish them.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from smartfab.model.plant import (
    Area,
    Equipment,
    Line,
    Plant,
    Signal,
    SignalRole,
    Site,
    Source,
    WorkCell,
)
from smartfab.platform.bus import Bus
from smartfab.platform.catalog import register_plant
from smartfab.platform.derive import EventDeriver
from smartfab.platform.ingest import Writer
from smartfab.platform.points import Int32Array, PointBatch, now_us
from smartfab.platform.store.duckdb import DuckDBStore

EQUIPMENT = 10
MEASUREMENTS = 19  # per equipment, plus 4 role signals: 230 signals in all
ROLES: tuple[SignalRole, ...] = ("state", "fault", "good_count", "scrap_count")
SECOND = 1_000_000


def bench_plant() -> Plant:
    def signal(name: str, role: SignalRole) -> Signal:
        expected = (0.0, 100.0) if role == "measurement" else None
        return Signal(name=name, unit="1", role=role, range=expected, source=Source(virtual=True))

    machines = [
        Equipment(
            name=f"m{e:02d}",
            faults={17: "guard door open"},
            signals=[signal(f"v{i:02d}", "measurement") for i in range(MEASUREMENTS)]
            + [signal(role, role) for role in ROLES],
        )
        for e in range(EQUIPMENT)
    ]
    cell = WorkCell(name="cell", equipment=machines)
    line = Line(name="line", cells=[cell])
    return Plant(site=Site(name="bench", areas=[Area(name="area", lines=[line])]))


def _batches(
    ids: Int32Array, roles: Int32Array, points: int, batch_size: int, start_us: int
) -> Iterator[PointBatch]:
    """Deterministic batches: point k is signal k % n at second k // n."""
    n = len(ids)
    noise = np.random.default_rng(7).normal(50.0, 10.0, 1 << 16)
    for first in range(0, points, batch_size):
        k = np.arange(first, min(first + batch_size, points), dtype=np.int64)
        sec, col = k // n, k % n
        role = roles[col]
        value = np.select(
            [role == 1, role == 2, role == 3, role == 4],
            [
                1 + (sec // 600) % 3,  # state: running / idle / setup, 10 minutes each
                np.where(sec % 3600 < 60, 17, 0),  # a fault during the first minute of the hour
                sec // 30,  # a good part every 30 s
                sec // 900,  # a scrap part every 15 min
            ],
            noise[k & 0xFFFF],
        ).astype(np.float64)
        yield PointBatch(start_us + sec * SECOND, ids[col], value, np.zeros(len(k), np.uint8))


async def _batch_path(
    store: DuckDBStore, deriver: EventDeriver, batches: Iterable[PointBatch]
) -> tuple[Writer, float, float]:
    """The writer, the seconds until everything is stored, and the seconds of the store's
    housekeeping (rollups) that stopping the writer does: apart, because it is not on the path of
    the data, and the raw appends have none."""
    bus = Bus()
    writer = Writer(bus, store, deriver)
    started = time.perf_counter()
    await writer.start()
    for batch in batches:
        await bus.publish_points(batch)
    await writer.flush()
    stored = time.perf_counter()
    await writer.stop()
    return writer, stored - started, time.perf_counter() - stored


def _nbytes(batch: PointBatch) -> int:
    return batch.ts.nbytes + batch.signal_id.nbytes + batch.value.nbytes + batch.quality.nbytes


def _raw_append(path: Path, batches: Iterable[PointBatch]) -> float:
    """Seconds to append the batches with plain ``INSERT INTO points SELECT * FROM arrow`` into
    the points table of a fresh store (created by the store, so the schema cannot drift)."""
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    started = time.perf_counter()
    for batch in batches:
        con.register("rows", batch.to_arrow())
        con.execute("INSERT INTO points SELECT * FROM rows")
        con.unregister("rows")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def bench_batch_path(
    tmpdir: str | Path, points: int = 2_000_000, batch_size: int = 20_000
) -> dict[str, Any]:
    """Points per second through the batch path and through DuckDB's raw Arrow append of the
    same batches (and of the same points gathered to the writer's batch size), the ratios, and
    the process's peak RSS, which includes the batches made up front (``dataset_mb``). Writes
    three database files in tmpdir."""
    tmp = Path(tmpdir)
    plant = bench_plant()
    store = DuckDBStore(tmp / "batch-path.duckdb")
    by_path = register_plant(store, plant)
    refs = list(plant.iter_signals())
    ids = np.array([by_path[r.path] for r in refs], np.int32)
    role_codes = {"measurement": 0, **{r: i + 1 for i, r in enumerate(ROLES)}}
    roles = np.array([role_codes[r.signal.role] for r in refs], np.int32)
    deriver = EventDeriver.from_plant(plant, by_path)
    seconds = -(-points // len(ids))
    start_us = (now_us() // SECOND - seconds - 3600) * SECOND  # a backfill ending an hour ago
    # Made before the clocks start: the figures are the path's, not the data generator's.
    batches = list(_batches(ids, roles, points, batch_size, start_us))

    writer, batch_s, rollup_s = asyncio.run(_batch_path(store, deriver, batches))
    stored = store.count_points()
    store.close()

    raw_s = _raw_append(tmp / "raw-append.duckdb", batches)
    # DuckDB writes an append of at least a row group straight to the file, skipping the WAL; the
    # writer gathers batches that large, so DuckDB's own best is the fairer yardstick too.
    per = -(-writer.max_points // batch_size)  # as many as the writer gathers
    large = (PointBatch.concat(batches[i : i + per]) for i in range(0, len(batches), per))
    raw_large_s = _raw_append(tmp / "raw-append-large.duckdb", large)

    batch_rate, raw_rate, raw_large_rate = points / batch_s, points / raw_s, points / raw_large_s
    return {
        "points": points,
        "batch_size": batch_size,
        "signals": len(ids),
        "batch_path_points_per_s": round(batch_rate),
        "raw_append_points_per_s": round(raw_rate),
        "ratio": round(batch_rate / raw_rate, 3),
        "raw_append_large_batch_size": per * batch_size,
        "raw_append_large_points_per_s": round(raw_large_rate),
        "ratio_large": round(batch_rate / raw_large_rate, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "dataset_mb": round(sum(_nbytes(b) for b in batches) / 2**20, 1),  # within peak_rss_mb
        "points_stored": stored,
        "points_rejected": sum(writer.stats.rejected.values()),
        "points_flagged": sum(writer.stats.flagged.values()),
        "events_stored": writer.stats.events_stored,
        "store_batches": writer.stats.batches,
        "rollup_points_per_s": round(points / rollup_s),
    }
