"""How fast the PostgreSQL store takes points, compared with PostgreSQL's own binary COPY of the
same rows in the same run; and how fast a long trend reads from rollups compared with raw points.

The data imitates a plant: ``signals`` signals sampled every second, in time-major batches as a
connector or an import publishes them (values a random walk, one point in a hundred UNCERTAIN).
Everything happens in a schema of its own (``smartfab_bench_...``), dropped at the end.

Raw COPY goes through the same NumPy encoder as the store, in one transaction per batch like the
store, into two plain tables: one without any index (the ceiling of the server), one with the
store's primary key (signal_id, ts) (what the index that keeps queries fast and appends
idempotent costs by itself). Store and raw runs alternate, so that load from other processes on
the machine falls on both alike; medians count.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from smartfab.platform.points import PointBatch, Quality
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.postgres import DAY_US, PostgresStore, points_copy

SECOND = 1_000_000
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z: a fixed past, so runs are comparable
RAW_TABLES = {
    "raw_copy": "",
    "raw_copy_pk": ", PRIMARY KEY (signal_id, ts)",
}


def raw_copier(conn: psycopg.Connection[Any]) -> Callable[[str], Callable[[PointBatch], None]]:
    """Make the :data:`RAW_TABLES` (plain tables of the point columns) in ``conn``'s schema; the
    writer of one of them: a batch by binary COPY through the store's own encoder, one
    transaction per batch, as the store appends."""
    for table, extra in RAW_TABLES.items():
        conn.execute(
            f"CREATE TABLE {table} (ts timestamptz NOT NULL, signal_id integer NOT NULL, "  # type: ignore[arg-type]
            f"quality smallint NOT NULL, value double precision NOT NULL{extra})"
        )

    def raw_copy(table: str) -> Callable[[PointBatch], None]:
        def write(batch: PointBatch) -> None:
            with (
                conn.transaction(),
                conn.cursor().copy(
                    f"COPY {table} FROM STDIN (FORMAT BINARY)"  # type: ignore[arg-type]
                ) as copy,
            ):
                copy.write(points_copy(batch))

        return write

    return raw_copy


def plant_batches(
    ids: np.ndarray[Any, np.dtype[np.int32]], points: int, batch_size: int, start_us: int
) -> list[PointBatch]:
    """``points`` points of the signals ``ids`` at 1 Hz from ``start_us``, time-major, cut into
    batches of whole seconds of about ``batch_size`` points."""
    rng = np.random.default_rng(7)
    seconds = -(-points // len(ids))
    per_batch = max(1, batch_size // len(ids))
    walk = np.cumsum(rng.normal(0, 0.1, (seconds, len(ids))), axis=0) + 50
    quality = np.where(rng.random((seconds, len(ids))) < 0.01, Quality.UNCERTAIN, Quality.GOOD)
    batches = []
    for s0 in range(0, seconds, per_batch):
        secs = np.arange(s0, min(s0 + per_batch, seconds))
        batches.append(
            PointBatch(
                np.repeat(start_us + secs * SECOND, len(ids)),
                np.tile(ids, len(secs)),
                walk[secs].ravel(),
                quality[secs].ravel().astype(np.uint8),
            )
        )
    return batches


def rate(batches: list[PointBatch], write: Callable[[PointBatch], object]) -> float:
    """Points per second of ``write`` over ``batches``."""
    t0 = time.perf_counter()
    for batch in batches:
        write(batch)
    return sum(len(b) for b in batches) / (time.perf_counter() - t0)


def _median_seconds(run: Callable[[], object], times: int) -> float:
    durations = []
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        durations.append(time.perf_counter() - t0)
    return statistics.median(durations)


def bench_postgres(
    url: str,
    points: int = 2_000_000,
    batch_size: int = 20_000,
    signals: int = 230,
    trend_days: float = 14,
    repeat: int = 3,
) -> dict[str, Any]:
    schema = f"smartfab_bench_{uuid.uuid4().hex[:12]}"
    store = PostgresStore(url, schema)
    try:
        return _run(store, points, batch_size, signals, trend_days, repeat)
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _run(
    store: PostgresStore,
    points: int,
    batch_size: int,
    signals: int,
    trend_days: float,
    repeat: int,
) -> dict[str, Any]:
    infos = [SignalInfo(f"bench/line/cell/m/v{i:03d}", "bench/line/cell/m", f"v{i:03d}", "1",
                        "float") for i in range(signals)]  # fmt: skip
    paths = store.register_signals(infos)
    ids = np.array([paths[s.path] for s in infos], np.int32)
    conn = psycopg.connect(store.url, autocommit=True)
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema or "")))
    raw_copy = raw_copier(conn)
    runs: list[dict[str, float]] = []
    for r in range(repeat):
        # Each run writes new days of data, as a running plant does.
        batches = plant_batches(ids, points, batch_size, START_US + r * DAY_US)
        runs.append(
            {
                "store_points_per_s": rate(batches, store.append_points),
                **{f"{t}_points_per_s": rate(batches, raw_copy(t)) for t in RAW_TABLES},
            }
        )
    resent = rate(batches[: max(1, len(batches) // 4)], store.append_points)
    stored = store.count_points()

    # A long trend: one signal at 1 Hz for trend_days, 1000 buckets over all of it.
    trend = store.register_signals([SignalInfo("bench/trend", "bench", "trend", "1", "float")])
    trend_id = trend["bench/trend"]
    t0 = START_US - int(trend_days * DAY_US)
    trend_points = int(trend_days * 86_400)
    trend_batches = plant_batches(np.array([trend_id], np.int32), trend_points, 86_400, t0)
    trend_rate = rate(trend_batches, store.append_points)
    end = t0 + trend_points * SECOND
    bucket = -(-(end - t0) // 1000)
    from_rollups = store.downsample(trend_id, t0, end, bucket)
    from_points = store.downsample_raw(trend_id, t0, end, bucket)
    if not from_rollups.column("count").equals(from_points.column("count")):
        raise RuntimeError("the trend from rollups disagrees with the trend from raw points")
    rollup_s = _median_seconds(lambda: store.downsample(trend_id, t0, end, bucket), 5)
    raw_s = _median_seconds(lambda: store.downsample_raw(trend_id, t0, end, bucket), 3)
    conn.close()

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    store_rate, copy_rate = median("store_points_per_s"), median("raw_copy_points_per_s")
    return {
        "points": sum(len(b) for b in batches),
        "batch_size": len(batches[0]),
        "signals": signals,
        "store_points_per_s": round(store_rate),
        "raw_copy_points_per_s": round(copy_rate),
        "store_to_copy_ratio": round(store_rate / copy_rate, 3),
        "raw_copy_pk_points_per_s": round(median("raw_copy_pk_points_per_s")),
        "store_to_copy_pk_ratio": round(store_rate / median("raw_copy_pk_points_per_s"), 3),
        "resent_points_per_s": round(resent),
        "points_stored": stored,
        "trend_days": trend_days,
        "trend_points": trend_points,
        "trend_append_points_per_s": round(trend_rate),
        "trend_buckets": from_rollups.num_rows,
        "trend_rollups_ms": round(rollup_s * 1000, 1),
        "trend_raw_ms": round(raw_s * 1000, 1),
        "trend_speedup": round(raw_s / rollup_s, 1),
        "runs": runs,
    }
