"""How fast points travel the batch path: bus -> writer (validation, event derivation) -> DuckDB,
compared with DuckDB's own Arrow append of the same batches into the same tables.

The data imitates a backfill of a plant: signals sampled every second (measurements with an
expected range, and per equipment a state register, a fault register and two part counters, so
that derivation has real work), in batches as a connector or an import would publish them. Two
mixes of the same number of points: numbers only (230 signals), and numbers with text and arrays
(200 signals: 90 % of the points numbers, 5 % texts, 5 % arrays of 32 elements), where each
equipment also has a text signal (a product code from a small vocabulary, or a material lot id
that changes every minute) and a profile.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

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
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    Int32Array,
    Int64Array,
    ObjectArray,
    PointBatch,
    TextBatch,
    now_us,
)
from smartfab.platform.store.duckdb import DuckDBStore

EQUIPMENT = 10
MEASUREMENTS = 19  # per equipment, plus 4 role signals: 230 signals in all
MIXED_MEASUREMENTS = 14  # plus 4 role signals, a text and an array: 200 signals, 10 % not numbers
ARRAY_LENGTH = 32
ROLES: tuple[SignalRole, ...] = ("state", "fault", "good_count", "scrap_count")
SECOND = 1_000_000
# Product codes: a small vocabulary, as a plant's recipes or part numbers.
PRODUCTS = np.array([f"PRD-{c}-{n:03d}" for c in "ABCD" for n in (110, 240)], dtype=object)
# The store's table of each kind of point (created by the store, so the schema cannot drift).
TABLES = {PointBatch: "points", TextBatch: "text_points", ArrayBatch: "array_points"}

# Kinds of signal in the generated data, by code.
_PRODUCT, _LOT, _ARRAY = len(ROLES) + 1, len(ROLES) + 2, len(ROLES) + 3


def bench_plant(mixed: bool = False) -> Plant:
    """Ten machines of 23 numeric signals; ``mixed``: of 18 numeric signals, a text signal
    (``product`` on even machines, ``lot`` on odd ones) and a 32-element ``profile``."""

    def signal(name: str, role: SignalRole) -> Signal:
        expected = (0.0, 100.0) if role == "measurement" else None
        return Signal(name=name, unit="1", role=role, range=expected, source=Source(virtual=True))

    def others(e: int) -> list[Signal]:
        if not mixed:
            return []
        text = "product" if e % 2 == 0 else "lot"
        return [
            Signal(name=text, unit="1", type="string", length=24, source=Source(virtual=True)),
            Signal(name="profile", unit="mm", type="array", length=ARRAY_LENGTH,
                   source=Source(virtual=True)),
        ]  # fmt: skip

    machines = [
        Equipment(
            name=f"m{e:02d}",
            faults={17: "guard door open"},
            signals=[
                signal(f"v{i:02d}", "measurement")
                for i in range(MIXED_MEASUREMENTS if mixed else MEASUREMENTS)
            ]
            + [signal(role, role) for role in ROLES]
            + others(e),
        )
        for e in range(EQUIPMENT)
    ]
    cell = WorkCell(name="cell", equipment=machines)
    line = Line(name="line", cells=[cell])
    return Plant(site=Site(name="bench", areas=[Area(name="area", lines=[line])]))


def _kind_codes(plant: Plant) -> Int32Array:
    """Per signal (in plant order): 0 measurement, 1.. a role, _PRODUCT, _LOT, _ARRAY."""
    role_codes = {"measurement": 0, **{r: i + 1 for i, r in enumerate(ROLES)}}
    return np.array(
        [
            _PRODUCT if r.signal.name == "product" else _LOT if r.signal.name == "lot"
            else _ARRAY if r.signal.kind == "array"
            else role_codes[r.signal.role]
            for r in plant.iter_signals()
        ],
        np.int32,
    )  # fmt: skip


def _texts(sec: Int64Array, col: Int64Array, lot: npt.NDArray[np.bool_]) -> ObjectArray:
    """Products: the one made (of the vocabulary, a new one every 10 minutes); lots: the
    material lot (a new id every minute, so every minute's text is new)."""
    product = PRODUCTS[(sec // 600 + col) % len(PRODUCTS)]
    lots = np.array([f"LOT-{c:03d}-{m:07d}" for c, m in zip(col, sec // 60, strict=True)], object)
    return np.where(lot, lots, product)


def _batches(
    ids: Int32Array, kinds: Int32Array, points: int, batch_size: int, start_us: int
) -> Iterator[list[AnyPoints]]:
    """Deterministic groups of batches, one group per ``batch_size`` points: point k is signal
    k % n at second k // n, and a group holds one batch per kind of value among them (as a
    connector publishes them)."""
    n = len(ids)
    rng = np.random.default_rng(7)
    noise = rng.normal(50.0, 10.0, 1 << 16)
    shape = 10.0 * np.sin(np.linspace(0.0, np.pi, ARRAY_LENGTH))  # a profile's mean shape
    for first in range(0, points, batch_size):
        k = np.arange(first, min(first + batch_size, points), dtype=np.int64)
        sec, col = k // n, k % n
        kind = kinds[col]
        ts, sid = start_us + sec * SECOND, ids[col]
        group: list[AnyPoints] = []
        number = kind < _PRODUCT
        if number.any():
            role = kind[number]
            s = sec[number]
            value = np.select(
                [role == 1, role == 2, role == 3, role == 4],
                [
                    1 + (s // 600) % 3,  # state: running / idle / setup, 10 minutes each
                    np.where(s % 3600 < 60, 17, 0),  # a fault during the first minute of the hour
                    s // 30,  # a good part every 30 s
                    s // 900,  # a scrap part every 15 min
                ],
                noise[k[number] & 0xFFFF],
            ).astype(np.float64)
            group.append(PointBatch(ts[number], sid[number], value,
                                    np.zeros(int(number.sum()), np.uint8)))  # fmt: skip
        text = (kind == _PRODUCT) | (kind == _LOT)
        if text.any():
            values = _texts(sec[text], col[text], kind[text] == _LOT)
            group.append(TextBatch.of(ts[text], sid[text], list(values)))
        array = kind == _ARRAY
        if array.any():
            at = k[array]
            elements = (at[:, None] * ARRAY_LENGTH + np.arange(ARRAY_LENGTH)) & 0xFFFF
            rows = shape + (noise[elements] - 50.0) / 20.0
            group.append(ArrayBatch.of(ts[array], sid[array], rows))
        yield group


async def _batch_path(
    store: DuckDBStore, deriver: EventDeriver, groups: Iterable[Sequence[AnyPoints]]
) -> tuple[Writer, float, float]:
    """The writer, the seconds until everything is stored, and the seconds of the store's
    housekeeping (rollups) that stopping the writer does: apart, because it is not on the path of
    the data, and the raw appends have none."""
    bus = Bus()
    writer = Writer(bus, store, deriver)
    started = time.perf_counter()
    await writer.start()
    for group in groups:
        for batch in group:
            await bus.publish_points(batch)
    await writer.flush()
    stored = time.perf_counter()
    await writer.stop()
    return writer, stored - started, time.perf_counter() - stored


def _nbytes(batch: AnyPoints) -> int:
    size = batch.ts.nbytes + batch.signal_id.nbytes + batch.quality.nbytes
    if isinstance(batch, TextBatch):
        return size + sum(len(s) for s in batch.text)
    if isinstance(batch, ArrayBatch):
        return size + batch.values.nbytes + batch.offsets.nbytes
    return size + batch.value.nbytes


def _raw_append(path: Path, groups: Iterable[Sequence[AnyPoints]]) -> float:
    """Seconds to append the batches with plain ``INSERT INTO <table> SELECT * FROM arrow`` into
    the tables of a fresh store (created by the store, so the schema cannot drift)."""
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    started = time.perf_counter()
    for group in groups:
        for batch in group:
            con.register("rows", batch.to_arrow())
            con.execute(f"INSERT INTO {TABLES[type(batch)]} SELECT * FROM rows")
            con.unregister("rows")
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def _gathered(groups: list[list[AnyPoints]], per: int) -> Iterator[list[AnyPoints]]:
    """Every ``per`` groups as one, a batch per kind."""
    for i in range(0, len(groups), per):
        batches = [b for g in groups[i : i + per] for b in g]
        numbers = PointBatch.concat([b for b in batches if isinstance(b, PointBatch)])
        texts = TextBatch.concat([b for b in batches if isinstance(b, TextBatch)])
        arrays = ArrayBatch.concat([b for b in batches if isinstance(b, ArrayBatch)])
        yield [b for b in (numbers, texts, arrays) if len(b)]


def bench_batch_path(
    tmpdir: str | Path, points: int = 2_000_000, batch_size: int = 20_000, mixed: bool = False
) -> dict[str, Any]:
    """Points per second through the batch path and through DuckDB's raw Arrow append of the
    same batches (and of the same points gathered to the writer's batch size), the ratios, and
    the process's peak RSS, which includes the batches made up front (``dataset_mb``). Numbers
    only, or (``mixed``) numbers, texts and arrays. Writes three database files in tmpdir."""
    tmp = Path(tmpdir)
    plant = bench_plant(mixed)
    store = DuckDBStore(tmp / "batch-path.duckdb")
    by_path = register_plant(store, plant)
    ids = np.array([by_path[r.path] for r in plant.iter_signals()], np.int32)
    kinds = _kind_codes(plant)
    deriver = EventDeriver.from_plant(plant, by_path)
    seconds = -(-points // len(ids))
    start_us = (now_us() // SECOND - seconds - 3600) * SECOND  # a backfill ending an hour ago
    # Made before the clocks start: the figures are the path's, not the data generator's.
    groups = list(_batches(ids, kinds, points, batch_size, start_us))

    writer, batch_s, rollup_s = asyncio.run(_batch_path(store, deriver, groups))
    stored = store.count_points()
    store.close()

    raw_s = _raw_append(tmp / "raw-append.duckdb", groups)
    # DuckDB writes an append of at least a row group straight to the file, skipping the WAL; the
    # writer gathers batches that large, so DuckDB's own best is the fairer yardstick too.
    per = -(-writer.max_points // batch_size)  # as many as the writer gathers
    raw_large_s = _raw_append(tmp / "raw-append-large.duckdb", _gathered(groups, per))

    batch_rate, raw_rate, raw_large_rate = points / batch_s, points / raw_s, points / raw_large_s
    batches = [b for g in groups for b in g]
    return {
        "points": points,
        "batch_size": batch_size,
        "signals": len(ids),
        "points_by_kind": {
            kind: sum(len(b) for b in batches if isinstance(b, cls))
            for kind, cls in (("number", PointBatch), ("text", TextBatch), ("array", ArrayBatch))
        },
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
