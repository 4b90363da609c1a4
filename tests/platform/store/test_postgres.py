"""PostgreSQL specifics beyond the shared suite of test_store.py: atomicity when a statement fails
midway, rollups against raw points, partitions, retention, several writers, lost connections."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from smartfab.platform.points import EventBatch, EventKind, PointBatch, Quality
from smartfab.platform.store import open_store
from smartfab.platform.store.base import SignalInfo, StoreError
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.platform.store.postgres import (
    DAY_US,
    HOUR_US,
    MINUTE_US,
    PostgresStore,
    fresh,
    rollup_pieces,
)
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

pytestmark = pytest.mark.services


@pytest.fixture
def pg(pg_schema: tuple[str, str]) -> PostgresStore:
    return PostgresStore(*pg_schema)


def _rows(store: PostgresStore, query: str) -> list[tuple[object, ...]]:
    return store._reader().execute(query).fetchall()  # type: ignore[arg-type]


def test_a_batch_failing_midway_leaves_nothing(
    pg: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points, latest and rollups are written, then the events insert fails: the transaction
    must take all of it back, and the retry must store everything once."""
    t = pg.register_signals([info("temp")])[f"{EQ}/temp"]
    batch = pts(np.arange(5), t)
    events = EventBatch.of(T0, EQ, EventKind.STATE, "running")

    def failing(*args: object) -> None:
        raise psycopg.errors.DiskFull("disk full (simulated)")

    monkeypatch.setattr(PostgresStore, "_insert_events", staticmethod(failing))
    with pytest.raises(StoreError, match=r"nothing was stored.*disk full"):
        pg.append(batch, events)
    assert pg.count_points() == 0
    assert pg.latest().num_rows == 0
    assert _rows(pg, "SELECT count(*) FROM rollup_1m") == [(0,)]
    monkeypatch.undo()
    assert pg.append(batch, events) == (5, 1)
    assert ts_us(pg.latest()) == [T0 + 4 * S]
    assert _rows(pg, "SELECT sum(count) FROM rollup_1m") == [(5,)]


def test_rollup_pieces_tile_each_bucket() -> None:
    start, end, width = T0 + 17 * S, T0 + 3 * DAY_US + 5 * S, 2 * HOUR_US + 13 * MINUTE_US + 7 * S
    pieces = rollup_pieces(start, end, width)
    covered: list[tuple[int, int, int]] = []
    for table, unit in (("rollup_1h", HOUR_US), ("rollup_1m", MINUTE_US), ("points", 1)):
        lo, hi, k = (np.array(c, np.int64) for c in pieces[table])
        assert np.all(lo % unit == 0) and np.all(hi % unit == 0)  # whole rollup buckets
        assert np.all(start + k * width <= lo) and np.all(
            hi <= np.minimum(start + (k + 1) * width, end)
        )
        covered += zip(lo.tolist(), hi.tolist(), k.tolist(), strict=True)
    covered.sort()
    assert covered[0][0] == start and covered[-1][1] == end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))  # no gap, no overlap
    assert len(pieces["points"][0]) <= 2 * (-(-(end - start) // width))  # raw only at the edges


def test_downsample_from_rollups_equals_downsample_from_points(pg: PostgresStore) -> None:
    ids = pg.register_signals([info("temp"), info("force")])
    t, f = ids[f"{EQ}/temp"], ids[f"{EQ}/force"]
    rng = np.random.default_rng(3)
    secs = np.sort(rng.choice(3 * 86_400, 40_000, replace=False))
    values = rng.normal(50, 10, len(secs))
    quality = rng.choice(
        [Quality.GOOD, Quality.UNCERTAIN, Quality.BAD], len(secs), p=[0.8, 0.1, 0.1]
    )
    batch = PointBatch.of(T0 + secs * S, t, values, quality)
    order = rng.permutation(len(batch))  # arrival out of order, in overlapping re-sent batches
    for part in np.array_split(order, 7):
        pg.append_points(batch.take(np.concatenate([part, order[:500]])))
    pg.append_points(pts(secs[:1000], f, 1e6))  # another signal, not counted
    assert pg.count_points() == len(batch) + 1000
    for start, end, width in [
        (T0, T0 + 3 * DAY_US, HOUR_US),
        (T0 + 17 * S, T0 + 2 * DAY_US + 5 * S, 2 * HOUR_US + 13 * MINUTE_US + 7 * S),
        (T0 + 90 * S, T0 + 7 * HOUR_US, 7 * MINUTE_US),
    ]:
        fast, slow = pg.downsample(t, start, end, width), pg.downsample_raw(t, start, end, width)
        assert fast.num_rows == slow.num_rows > 0
        for col in ("bucket", "min", "max", "last", "count"):
            assert fast.column(col).equals(slow.column(col)), col
        assert np.allclose(fast.column("avg").to_numpy(), slow.column("avg").to_numpy(), rtol=1e-12)


def test_a_partition_per_day_made_on_demand(pg: PostgresStore) -> None:
    t = pg.register_signals([info("temp")])[f"{EQ}/temp"]
    pg.append_points(pts(np.array([0, 86_400, 3 * 86_400]), t))
    names = [
        str(n)
        for (n,) in _rows(
            pg,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'point_chunks'::regclass ORDER BY 1",
        )
    ]
    assert names == ["point_chunks_20231114", "point_chunks_20231115", "point_chunks_20231117"]
    # a range query reads only the partitions it needs
    plan = "\n".join(
        str(r[0])
        for r in _rows(
            pg,
            f"EXPLAIN SELECT * FROM point_chunks WHERE signal_id = {t} "
            "AND bucket >= '2023-11-15' AND bucket < '2023-11-16'",
        )
    )
    assert "point_chunks_20231115" in plan and "point_chunks_20231114" not in plan


def test_retention_per_signal_class(pg: PostgresStore) -> None:
    ids = pg.register_signals(
        [info("temp"), SignalInfo(f"{EQ}/state", EQ, "state", "", "int", role="state")]
    )
    t, st = ids[f"{EQ}/temp"], ids[f"{EQ}/state"]
    days = np.arange(10) * 86_400
    pg.append_points(PointBatch.concat([pts(days, t), pts(days, st)]))
    with pytest.raises(StoreError, match="positive"):
        pg.set_retention({"measurement": 0})
    pg.set_retention({"measurement": 3, "*": 6})
    assert pg.retention() == {"measurement": 3, "*": 6}
    now = T0 + 10 * DAY_US  # points at days 0..9; kept: measurement >= day 7, state >= day 4
    report = pg.apply_retention(now)
    # days 0..3 are old for every class: a partition of numbers, texts and arrays each
    assert sorted(report.partitions_dropped) == sorted(
        f"{kind}_202311{day}" for kind in ("point_chunks", "text_points", "array_points")
        for day in (14, 15, 16, 17)
    )  # fmt: skip
    assert report.rows_deleted == 3  # measurement at days 4, 5, 6
    assert ts_us(pg.raw([t], 0, 2**62)) == [T0 + d * DAY_US for d in range(7, 10)]
    assert ts_us(pg.raw([st], 0, 2**62)) == [T0 + d * DAY_US for d in range(4, 10)]
    assert pg.apply_retention(now) == type(report)([], 0)  # idempotent
    # a late point for a dropped day gets its partition back
    assert pg.append_points(pts(0, t)) == 1


@pytest.mark.parametrize("lookup", ["range scan", "probe per minute"])
def test_late_points_among_stored_ones_are_told_apart(
    pg: PostgresStore, lookup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points at or below a signal's newest stored time are looked up in their minutes' chunks:
    the gaps between stored points are filled, the stored ones are not stored again. Both ways
    of reading the chunks' spans (dense keys: a range scan; sparse: a probe each) agree."""
    monkeypatch.setattr(fresh, "_DENSE", 10**9 if lookup == "range scan" else 0)
    ids = pg.register_signals([info("temp"), info("power")])
    t, p = ids[f"{EQ}/temp"], ids[f"{EQ}/power"]
    secs = np.arange(0, 300)
    assert pg.append_points(PointBatch.concat([pts(secs[::2], t), pts(secs[::3], p)])) == 250
    both = PointBatch.concat([pts(secs, t, 2.0), pts(secs, p, 2.0)])
    assert pg.append_points(both) == 600 - 250
    assert pg.count_points() == 600
    raw = pg.raw([t], T0, T0 + 300 * S)
    assert ts_us(raw) == (T0 + secs * S).tolist()
    kept = raw.column("value").to_numpy()
    assert (kept[::2] == 1.0).all() and (kept[1::2] == 2.0).all()  # stored first, never replaced
    # Another writer's span of the same minutes (as workers sharing a subscription store), outside
    # every stored span: new without a look at the stored times.
    s = (
        ids[f"{EQ}/speed"]
        if f"{EQ}/speed" in ids
        else pg.register_signals([info("speed")])[f"{EQ}/speed"]
    )
    assert pg.append_points(pts(np.arange(315, 345), s)) == 30
    assert (
        pg.append_points(pts(np.concatenate([np.arange(300, 315), np.arange(345, 360)]), s)) == 30
    )
    assert pg.append_points(pts(np.arange(300, 360), s)) == 0
    assert ts_us(pg.raw([s], T0, T0 + 400 * S)) == (T0 + np.arange(300, 360) * S).tolist()


def test_two_writers_store_each_point_once(pg_schema: tuple[str, str]) -> None:
    a, b = PostgresStore(*pg_schema), PostgresStore(*pg_schema)
    ids = a.register_signals([info(f"s{i}") for i in range(20)])
    assert b.register_signals([info(f"s{i}") for i in range(20)]) == ids
    sids = np.array(sorted(ids.values()), np.int32)
    secs = np.arange(600)
    n = len(secs) * len(sids)  # time-major, as connectors produce
    batch = PointBatch.of(T0 + np.repeat(secs, len(sids)) * S, np.tile(sids, len(secs)), np.ones(n))
    stored = [0, 0]

    def write(i: int, store: PostgresStore) -> None:
        for chunk in np.array_split(np.arange(len(batch)), 12):
            while True:
                try:
                    stored[i] += store.append_points(batch.take(chunk))
                    break
                except StoreError:  # a deadlock between writers is reported, then retried
                    continue

    threads = [threading.Thread(target=write, args=(i, s)) for i, s in enumerate((a, b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(stored) == len(batch) == a.count_points()
    assert _rows(a, "SELECT sum(count) FROM rollup_1h") == [(len(batch),)]
    a.close()
    b.close()


def test_two_writers_store_each_text_and_array_once(pg_schema: tuple[str, str]) -> None:
    """Texts and arrays sent by two workers at once (a shared subscription) are each stored once
    (the primary key of their table), and the latest values are the newest points."""
    a, b = PostgresStore(*pg_schema), PostgresStore(*pg_schema)
    lot, profile = a.register_signals([text_info("lot"), array_info("profile", 4)]).values()
    b.register_signals([text_info("lot"), array_info("profile", 4)])
    secs = np.arange(3000)
    text = texts(secs, lot, [f"Л-{s}" for s in secs])
    array = arrays(secs, profile, [[float(s)] * 4 for s in secs])
    stored = [0, 0]

    def write(i: int, store: PostgresStore) -> None:
        # The two walk the points in opposite orders of chunks, so they meet in the middle.
        chunks = np.array_split(np.arange(len(secs)), 10)
        for chunk in chunks if i == 0 else chunks[::-1]:
            while True:
                try:
                    stored[i] += store.append(
                        PointBatch.empty(), EventBatch.empty(), text.take(chunk), array.take(chunk)
                    )[0]
                    break
                except StoreError:  # a deadlock between writers is reported, then retried
                    continue

    threads = [threading.Thread(target=write, args=(i, s)) for i, s in enumerate((a, b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(stored) == 2 * len(secs) == a.count_points()
    assert a.latest(kind="text").column("value").to_pylist() == [f"Л-{secs[-1]}"]
    assert b.latest(kind="array").column("value").to_pylist() == [[float(secs[-1])] * 4]
    assert a.raw([lot], 0, 2**62, kind="text").column("value").to_pylist() == text.text.tolist()
    a.close()
    b.close()


def test_an_append_after_the_connection_was_lost_reconnects(pg: PostgresStore) -> None:
    t = pg.register_signals([info("temp")])[f"{EQ}/temp"]
    pg.append_points(pts(np.arange(3), t))
    with psycopg.connect(pg.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pg._writer.info.backend_pid])
    batch = pts(np.arange(10), t)
    try:
        stored = pg.append_points(batch)
    except StoreError:  # the writer learns of the loss on this append ...
        stored = pg.append_points(batch)  # ... and the retry reconnects
    assert stored == 7
    assert pg.count_points() == 10


def test_open_store_picks_the_store_by_url(tmp_path: Path, pg_schema: tuple[str, str]) -> None:
    for location in (
        tmp_path / "a.duckdb",
        str(tmp_path / "b.duckdb"),
        f"duckdb:///{tmp_path}/c.duckdb",
    ):
        with open_store(location) as store:
            assert isinstance(store, DuckDBStore)
    assert {p.name for p in tmp_path.iterdir()} >= {"a.duckdb", "b.duckdb", "c.duckdb"}
    url, _ = pg_schema
    with open_store(url) as store:
        assert isinstance(store, PostgresStore)
    with pytest.raises(StoreError, match="cannot open the PostgreSQL store"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_reads_come_back_as_arrow_columns(pg: PostgresStore) -> None:
    t = pg.register_signals([info("temp")])[f"{EQ}/temp"]
    pg.append_points(pts(np.arange(3), t, [1.5, np.nan, -2.0], Quality.BAD))
    got = pg.raw([t], T0, T0 + 10 * S)
    assert got.schema.field("quality").type == pa.uint8()
    values = got.column("value").to_pylist()
    assert values[0] == 1.5 and np.isnan(values[1]) and values[2] == -2.0


def test_cli_and_notebooks_open_a_postgres_url(pg_schema: tuple[str, str]) -> None:
    """`store_url` in the settings and `smartfab.connect` take a PostgreSQL URL (here one whose
    libpq options put everything in the test's schema)."""
    import smartfab
    from smartfab.config import Settings
    from smartfab.runtime.system import plant_and_store

    url, schema = pg_schema
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    in_schema = f"{url}?options=-csearch_path%3D{schema}"
    with plant_and_store(Settings(store_url=in_schema)) as (_, store):
        assert isinstance(store, PostgresStore)
        t = store.register_signals([info("temp")])[f"{EQ}/temp"]
        store.append_points(pts(np.arange(3), t, [1.0, 2.0, 3.0]))
    data = smartfab.connect(in_schema)
    try:
        got = data.raw([f"{EQ}/temp"], start=T0 / S, end=T0 / S + 10)
        assert got.column("value").to_pylist() == [1.0, 2.0, 3.0]
    finally:
        data.store.close()
