"""The embedded store: one DuckDB file holds the signal catalogue, points, events and settings.

Layout, and why:

* ``points(ts, signal_id, value, quality)`` has no index and no primary key: an ART index on
  (signal_id, ts) would be updated on every append and divide the append rate. Uniqueness of
  (signal, ts) is kept instead by per-signal high-water marks held in memory (the newest stored ts
  of each signal, loaded at open from ``latest``): a point above its mark is new by construction and
  only points at or below it (late or re-sent, rare) are anti-joined against the stored table.
* Rows are stored in arrival order, which for a running plant and for backfills is time order, so
  the min/max zonemaps DuckDB keeps per row group (122,880 rows) let every time-range query skip
  the rest of the table. A row group then holds every signal of its time span, so a one-signal
  query also reads its neighbours: the one-year trend of one 1 Hz signal among 230 scans the
  year's rows of all 230. Sorting each append by signal would not change that (an append is a row
  group or two, holding every signal) and would cost the append path. The intended remedy, off the
  append path: a compaction that rewrites closed days ordered by (signal_id, ts), after which the
  signal_id zonemaps skip all but that signal's row groups, plus rollups (per-minute min, max,
  avg, last, count) for trends over months.
* ``counter_1m`` holds, per counter (a signal of a role in ``COUNTER_ROLES``) and minute, the run
  of its points rolled up together: first and last point and the sum of the steps between them,
  so that ``increases()`` (energy per 15 minutes) chains a row a minute instead of reading every
  point of every signal of the range. Filled by ``maintain()`` with the rollups, past a
  watermark of its own; a signal that becomes a counter has its runs made again.
* ``latest`` is one row per signal, upserted in the same transaction as the points, so that
  ``latest()`` for thousands of signals reads a small table and open() need not scan ``points``.
* Signal ids come from a sequence and are never reused; a path keeps its id across restarts.
* Texts (string signals) and arrays (array signals) have tables of their own, laid out as the
  numbers' (``text_points``, ``array_points`` and their ``*_latest``), appended in the same
  transaction with the same duplicate rule; the high-water marks serve every kind, as a signal
  holds one. They have no rollups: a text has no average, and an array's history is read as
  points (see ``platform/queries.py``).

Threads: DuckDB connections are not safe to share between threads, so every thread gets its own
cursor (a connection to the same database) and reads never wait for the writer; MVCC gives each
query a consistent snapshot. Writes take a lock because the high-water marks must change together
with the data they describe. Threads are pooled (``asyncio.to_thread``, the web server), so the
number of cursors stays bounded; all are closed with the store. One DuckDBStore per file.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from smartfab.model.plant import ValueKind
from smartfab.platform import counters
from smartfab.platform.counters import COUNTER_ROLES, STEP_SQL
from smartfab.platform.order import BoolArray
from smartfab.platform.points import (
    ARRAY_POINT_SCHEMA,
    POINT_SCHEMA,
    TEXT_POINT_SCHEMA,
    AnyPoints,
    ArrayBatch,
    EventBatch,
    Int64Array,
    PointBatch,
    TextBatch,
    now_us,
)
from smartfab.platform.store.base import (
    KnownSignals,
    RetentionReport,
    SignalInfo,
    Store,
    StoreError,
    arrow_of,
    key_order,
    kind_of,
    last_values_schema,
    retention_cutoffs,
)
from smartfab.platform.store.shared import SharedStore, StoreHost, announcement

log = logging.getLogger(__name__)

_NEVER = np.iinfo(np.int64).min  # high-water mark of a signal without points

_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS signal_ids START 1;
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY,
    path VARCHAR NOT NULL UNIQUE,
    equipment VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    data_type VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    low DOUBLE,
    high DOUBLE,
    source VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS points (
    ts TIMESTAMPTZ NOT NULL,
    signal_id INTEGER NOT NULL,
    value DOUBLE NOT NULL,
    quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS latest (
    signal_id INTEGER PRIMARY KEY,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE NOT NULL,
    quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    ts TIMESTAMPTZ NOT NULL,
    equipment VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    detail VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS rollup_1m (
    signal_id INTEGER NOT NULL, bucket TIMESTAMPTZ NOT NULL, min DOUBLE, max DOUBLE,
    sum DOUBLE, count BIGINT NOT NULL, last_ts TIMESTAMPTZ, last DOUBLE
);
CREATE TABLE IF NOT EXISTS rollup_1h (
    signal_id INTEGER NOT NULL, bucket TIMESTAMPTZ NOT NULL, min DOUBLE, max DOUBLE,
    sum DOUBLE, count BIGINT NOT NULL, last_ts TIMESTAMPTZ, last DOUBLE
);
-- Since string and array signals: their points and latest values, laid out as the numbers'
-- (a BAD text is '', a BAD array has no elements), and the length each such signal declares.
-- IF NOT EXISTS: a store made before them gets them when it opens.
CREATE TABLE IF NOT EXISTS text_points (
    ts TIMESTAMPTZ NOT NULL,
    signal_id INTEGER NOT NULL,
    value VARCHAR NOT NULL,
    quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS text_latest (
    signal_id INTEGER PRIMARY KEY,
    ts TIMESTAMPTZ NOT NULL,
    value VARCHAR NOT NULL,
    quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS array_points (
    ts TIMESTAMPTZ NOT NULL,
    signal_id INTEGER NOT NULL,
    value DOUBLE[] NOT NULL,
    quality UTINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS array_latest (
    signal_id INTEGER PRIMARY KEY,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE[] NOT NULL,
    quality UTINYINT NOT NULL
);
ALTER TABLE signals ADD COLUMN IF NOT EXISTS length INTEGER;
-- Since counter increases: per counter signal and minute, the runs of its points (see _COUNT).
CREATE TABLE IF NOT EXISTS counter_1m (
    signal_id INTEGER NOT NULL, bucket TIMESTAMPTZ NOT NULL, first_ts TIMESTAMPTZ NOT NULL,
    first DOUBLE NOT NULL, last_ts TIMESTAMPTZ NOT NULL, last DOUBLE NOT NULL,
    steps DOUBLE NOT NULL
);
"""

# Per kind of value: its points' table, its latest-value table and the schema of both.
_TABLES: dict[ValueKind, tuple[str, str, pa.Schema]] = {
    "number": ("points", "latest", POINT_SCHEMA),
    "text": ("text_points", "text_latest", TEXT_POINT_SCHEMA),
    "array": ("array_points", "array_latest", ARRAY_POINT_SCHEMA),
}
_POINT_TABLES = [(table, "ts") for table, _, _ in _TABLES.values()]

# Rollups: per signal and minute (hour), the min, max, sum, count and last of its GOOD and
# UNCERTAIN points, as *partial* aggregates: a minute whose points arrived in two roll-ups has two
# rows, which queries combine. So rolling up only ever appends (no index, no upsert), and it reads
# exactly the points appended since the last roll-up: rowids above the watermark, which DuckDB
# finds without a scan. Points are never updated, and deleted only by retention, which rolls up
# everything first; rowids stay put because vacuuming is off (see _NO_VACUUM). Queries take the
# rollups up to the watermark and the raw points above it, so they are exact whenever roll-ups
# run.
_ROLLUPS = {"rollup_1h": 3_600_000_000, "rollup_1m": 60_000_000}  # coarsest first
_WATERMARK = "rollup_rowid"
_ROLL_UP = """
INSERT INTO {table}
SELECT signal_id, make_timestamptz(epoch_us(ts) // {width} * {width}) AS bucket,
    min(value), max(value), sum(value), count(*), max(ts), arg_max(value, ts)
FROM points WHERE rowid > $lo AND rowid <= $hi AND quality < 2
GROUP BY signal_id, bucket
"""
# Counters (signals of COUNTER_ROLES): per signal and minute, the run of its points among those
# rolled up together (first, last, and the sum of the steps inside), from which increases()
# chains the runs of a range. A pass of its own, with its own watermark: a store made before it
# has its points rolled up for the other rollups, and catches up here at the next maintain().
_COUNTER_WATERMARK = "counter_rowid"
_RUNS = f"""
SELECT signal_id, make_timestamptz(m * 60000000) AS bucket, min(ts) AS first_ts,
    arg_min(value, ts) AS first, max(ts) AS last_ts, arg_max(value, ts) AS last,
    coalesce(sum({STEP_SQL.format(d="d", value="value")}), 0) AS steps
FROM (
    SELECT signal_id, ts, value, epoch_us(ts) // 60000000 AS m,
        value - lag(value) OVER (PARTITION BY signal_id, epoch_us(ts) // 60000000 ORDER BY ts) AS d
    FROM ({{points}})
)
GROUP BY signal_id, m
"""
_COUNTERS = f"SELECT id FROM signals WHERE role IN ({', '.join(repr(r) for r in COUNTER_ROLES)})"
_COUNT = "INSERT INTO counter_1m BY NAME " + _RUNS.format(
    points="SELECT signal_id, ts, value FROM points WHERE rowid > $lo AND rowid <= $hi "
    "AND signal_id IN ({which})"
)
# The runs of the whole minutes [$a, $z) from counter_1m and the rows above its watermark, and of
# the partial minutes at either end of [$start, $end) from the points.
_INCREASE_RUNS = (
    "SELECT signal_id AS sid, epoch_us(first_ts) AS first_ts, first, epoch_us(last_ts) AS last_ts, "
    "last, steps FROM counter_1m WHERE signal_id IN ({ids}) "
    "AND bucket >= make_timestamptz($a) AND bucket < make_timestamptz($z) "
    "UNION ALL SELECT signal_id, epoch_us(first_ts), first, epoch_us(last_ts), last, steps FROM ("
    + _RUNS.format(
        points="SELECT signal_id, ts, value FROM points WHERE signal_id IN ({ids}) "
        "AND ts >= make_timestamptz($start) AND ts < make_timestamptz($a) "
        "UNION ALL SELECT signal_id, ts, value FROM points WHERE signal_id IN ({ids}) "
        "AND ts >= make_timestamptz($z) AND ts < make_timestamptz($end) "
        "UNION ALL SELECT signal_id, ts, value FROM points WHERE rowid > $wm "
        "AND signal_id IN ({ids}) AND ts >= make_timestamptz($a) AND ts < make_timestamptz($z)"
    )
    + ") ORDER BY sid, first_ts"
)
_MINUTE_US = 60_000_000

# Buckets of ``width`` aligned to ``start`` (both multiples of the rollup's width): rollup rows up
# to the watermark, raw points above it.
_DOWNSAMPLE_ROLLUP = """
SELECT make_timestamptz(($start::BIGINT + k * $bucket::BIGINT)::BIGINT) AS bucket,
    min(mn) AS min, max(mx) AS max, sum(sm) / sum(n) AS avg, arg_max(lst, lts) AS last,
    sum(n)::BIGINT AS count
FROM (
    SELECT (epoch_us(bucket) - $start::BIGINT) // $bucket::BIGINT AS k, min AS mn, max AS mx,
        sum AS sm, count AS n, last AS lst, last_ts AS lts
    FROM {table} WHERE signal_id = $sid
        AND bucket >= make_timestamptz($start::BIGINT) AND bucket < make_timestamptz($end::BIGINT)
    UNION ALL
    SELECT (epoch_us(ts) - $start::BIGINT) // $bucket::BIGINT, value, value, value, 1, value, ts
    FROM points WHERE rowid > $wm AND signal_id = $sid AND quality < 2
        AND ts >= make_timestamptz($start::BIGINT) AND ts < make_timestamptz($end::BIGINT)
)
GROUP BY k HAVING sum(n) > 0 ORDER BY k
"""

# A checkpoint after deletes would "vacuum": merge the thinned row groups and renumber every
# later row, moving rows not yet rolled up below the watermark (measured with DuckDB 2.0). Off,
# deleted rows stay marked until their whole row group is gone, whose blocks are then reused;
# retention deletes old rows, which arrival order keeps together, so little space is held.
_NO_VACUUM = "SET max_vacuum_tasks = 0"

_SIGNAL_COLUMNS = "path, equipment, name, unit, data_type, role, low, high, source"

# ``equipment`` selects the equipment itself and everything below it. starts_with, not LIKE: slugs
# may contain '_', which LIKE would treat as a wildcard.
_EQUIPMENT_MATCH = "(equipment = $eq OR starts_with(equipment, $eq || '/'))"

_STATE_DURATIONS = f"""
WITH s AS (
    SELECT equipment, code, epoch_us(ts) AS t, rowid AS r FROM events
    WHERE kind = 'state' AND {_EQUIPMENT_MATCH} AND ts < make_timestamptz($end::BIGINT)
), in_force AS (  -- the state each equipment was in at $start counts from $start
    SELECT equipment, code, $start::BIGINT AS t, -1 AS r FROM s WHERE t < $start::BIGINT
    QUALIFY row_number() OVER (PARTITION BY equipment ORDER BY t DESC, r DESC) = 1
), spans AS (
    SELECT equipment, code, t,
        lead(t, 1, $end::BIGINT) OVER (PARTITION BY equipment ORDER BY t, r) AS t1
    FROM (SELECT * FROM s WHERE t >= $start::BIGINT UNION ALL SELECT * FROM in_force)
)
SELECT equipment, code AS state, sum(t1 - t)::DOUBLE / 1e6 AS seconds FROM spans
GROUP BY equipment, code HAVING sum(t1 - t) > 0 ORDER BY equipment, state
"""


def _id_list(signal_ids: Sequence[int]) -> str:
    # Inlined rather than bound as a list parameter so that DuckDB pushes the filter into the scan;
    # int() makes it injection-safe.
    return ", ".join(str(int(i)) for i in signal_ids)


@contextmanager
def _transaction(cur: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
    """Everything inside is stored, or (on any error) nothing."""
    try:
        cur.begin()
        try:
            yield
            cur.commit()
        except BaseException:
            with suppress(duckdb.Error):  # a failed commit has ended the transaction already
                cur.rollback()
            raise
    except duckdb.Error as exc:
        raise StoreError(f"{what} failed, nothing was stored: {exc}") from exc


class StoreLockedError(StoreError):
    """Another process holds the database file (DuckDB lets one process open it)."""


class DuckDBStore(Store):
    """A :class:`Store` in one DuckDB database file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._con = duckdb.connect(str(self.path))
            try:
                self._con.execute(_NO_VACUUM)
                self._vacuum_off = True
            except duckdb.Error:  # a DuckDB without the setting: retention is refused
                self._vacuum_off = False
            self._con.execute(_SCHEMA)
        except duckdb.Error as exc:
            # DuckDB's own words: "Could not set lock on file ... Conflicting lock is held ..."
            error = StoreLockedError if "Conflicting lock" in str(exc) else StoreError
            raise error(f"{self.path}: cannot open the DuckDB store: {exc}") from exc
        self._host: StoreHost | None = None
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        # Indexed by signal id: whether the id is catalogued, and its high-water mark.
        self._known = KnownSignals()
        self._hwm: Int64Array = np.zeros(0, np.int64)
        self._grow()
        for _, latest, _ in _TABLES.values():
            for sid, ts in self._rows(f"SELECT signal_id, epoch_us(ts) FROM {latest}"):
                self._hwm[sid] = ts

    def share(self) -> None:
        """Answer the reads of other processes while this one holds the file (see
        ``smartfab.platform.store.shared``); stops with :meth:`close`."""
        if self._host is None:
            self._host = StoreHost(self, self.path)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursors_lock:
                if self._closed:
                    raise StoreError(f"{self.path}: the store is closed")
                cur = self._con.cursor()
                self._cursors.append(cur)
            # Arrow results carry the session time zone; UTC whatever the host's is.
            cur.execute("SET TimeZone = 'UTC'")
            self._local.cursor = cur
        return cur

    def _rows(self, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        try:
            return self._cursor().execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def _grow(self) -> None:
        """Size the per-id arrays to the catalogue (after open and after registration)."""
        self._known.add(
            (int(i), str(t)) for i, t in self._rows("SELECT id, data_type FROM signals")
        )
        if len(self._known) > len(self._hwm):
            self._hwm = np.concatenate(
                [self._hwm, np.full(len(self._known) - len(self._hwm), _NEVER)]
            )

    # --- catalogue -------------------------------------------------------------------------
    def register_signals(self, signals: Sequence[SignalInfo]) -> dict[str, int]:
        given = {s.path: s for s in signals}  # a path given twice: the last metadata wins
        if not given:
            return {}
        rows = list(given.values())
        table = pa.table(
            {
                "ord": pa.array(range(len(rows)), pa.int32()),
                **{
                    col: pa.array([getattr(s, col) for s in rows], pa.string())
                    for col in ("path", "equipment", "name", "unit", "data_type", "role", "source")
                },
                "low": pa.array([s.low for s in rows], pa.float64()),
                "high": pa.array([s.high for s in rows], pa.float64()),
                "length": pa.array([s.length for s in rows], pa.int32()),
            }
        )
        cur = self._cursor()
        with self._write_lock:
            cur.register("given", table)
            try:
                with _transaction(cur, f"registering {len(rows)} signals"):
                    # A signal that becomes a counter has no runs for the points counted before.
                    recount = [i for (i,) in cur.execute(
                        "SELECT id FROM signals JOIN given g USING (path) WHERE g.role IN "
                        f"({', '.join(repr(r) for r in COUNTER_ROLES)}) "
                        f"AND id NOT IN ({_COUNTERS})").fetchall()]  # fmt: skip
                    cur.execute(
                        "UPDATE signals SET equipment = g.equipment, name = g.name, "
                        "unit = g.unit, data_type = g.data_type, role = g.role, low = g.low, "
                        "high = g.high, source = g.source, length = g.length FROM given g "
                        "WHERE signals.path = g.path"
                    )
                    cur.execute(
                        "INSERT INTO signals SELECT nextval('signal_ids'), "
                        f"{_SIGNAL_COLUMNS}, length "
                        "FROM (SELECT * FROM given ANTI JOIN signals USING (path) ORDER BY ord)"
                    )
                    ids = cur.execute("SELECT path, id FROM signals SEMI JOIN given USING (path)")
                    result = {str(p): int(i) for p, i in ids.fetchall()}
                    if recount:
                        self._recount(cur, recount)
            finally:
                cur.unregister("given")
            self._grow()
        return result

    def _recount(self, cur: duckdb.DuckDBPyConnection, ids: list[int]) -> None:
        """The runs of these signals' points up to the counters' watermark, made again."""
        which = _id_list(ids)
        cur.execute(f"DELETE FROM counter_1m WHERE signal_id IN ({which})")
        hi = self._watermark(cur, _COUNTER_WATERMARK)
        cur.execute(_COUNT.format(which=which), {"lo": -1, "hi": hi})

    def signals(self) -> list[SignalInfo]:
        rows = self._rows(f"SELECT {_SIGNAL_COLUMNS}, id, length FROM signals ORDER BY id")
        return [SignalInfo(*row) for row in rows]

    # --- writing ---------------------------------------------------------------------------
    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        batches = [b for b in (points, texts, arrays) if b is not None and len(b)]
        if not batches and len(events) == 0:
            return 0, 0
        n = sum(len(b) for b in batches)
        try:
            event_rows = events.to_arrow() if len(events) else None
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StoreError(f"events batch of {len(events)}: invalid column value: {exc}") from exc
        cur = self._cursor()
        with self._write_lock:
            for batch in batches:  # every batch checked before anything is stored
                self._known.check(batch)
            # Within the batch the last duplicate wins.
            orders = [key_order(b) for b in batches]
            batches = [
                b if o is None else b.take(o[0]) for b, o in zip(batches, orders, strict=True)
            ]
            hwm = self._hwm
            stored = 0
            with _transaction(cur, f"appending {n} points and {len(events)} events"):
                for batch in batches:
                    new, hwm = self._append_new(cur, batch, hwm)
                    stored += new
                if event_rows is not None:
                    self._insert(cur, "events", event_rows)
            self._hwm = hwm
        return stored, len(events)

    def _append_new(
        self, cur: duckdb.DuckDBPyConnection, batch: AnyPoints, hwm: Int64Array
    ) -> tuple[int, Int64Array]:
        """Insert the points of a deduplicated batch that are not stored yet, and update the
        latest values; returns how many, and the high-water marks with them."""
        table, latest, _ = _TABLES[kind_of(batch)]
        old = hwm[batch.signal_id]
        late = batch.ts <= old
        if late.any():
            fresh = ~self._stored(cur, table, batch, late)
            batch, old = batch.take(fresh), old[fresh]
        if not len(batch):
            return 0, hwm
        new_hwm = hwm.copy()
        np.maximum.at(new_hwm, batch.signal_id, batch.ts)
        newest = (batch.ts == new_hwm[batch.signal_id]) & (batch.ts > old)
        self._insert(cur, table, arrow_of(batch))
        self._insert(cur, latest, arrow_of(batch.take(newest)), "OR REPLACE")
        return len(batch), new_hwm

    @staticmethod
    def _insert(
        cur: duckdb.DuckDBPyConnection, table: str, rows: pa.RecordBatch, verb: str = ""
    ) -> None:
        cur.register("rows", rows)
        try:
            cur.execute(f"INSERT {verb} INTO {table} BY NAME SELECT * FROM rows")
        finally:
            cur.unregister("rows")

    @staticmethod
    def _stored(
        cur: duckdb.DuckDBPyConnection, table: str, batch: AnyPoints, late: BoolArray
    ) -> BoolArray:
        """Which rows of ``batch`` among the ``late`` ones are already stored in ``table``."""
        idx = np.flatnonzero(late)
        keys = pa.table(
            {
                "i": pa.array(idx, pa.int64()),
                "signal_id": pa.array(batch.signal_id[idx], pa.int32()),
                "ts": pa.array(batch.ts[idx], pa.int64()).cast(POINT_SCHEMA.field("ts").type),
            }
        )
        cur.register("late_keys", keys)
        try:
            # The explicit ts range lets the zonemaps skip every row group outside it.
            found = cur.execute(
                f"SELECT k.i FROM late_keys k SEMI JOIN (SELECT signal_id, ts FROM {table} "
                "WHERE ts BETWEEN make_timestamptz($lo) AND make_timestamptz($hi)) p "
                "ON p.signal_id = k.signal_id AND p.ts = k.ts",
                {"lo": int(batch.ts[idx].min()), "hi": int(batch.ts[idx].max())},
            ).fetchnumpy()["i"]
        finally:
            cur.unregister("late_keys")
        stored = np.zeros(len(batch), np.bool_)
        stored[np.asarray(found, np.intp)] = True
        return stored

    # --- reading ---------------------------------------------------------------------------
    def _arrow(self, sql: str, params: dict[str, object] | None = None) -> pa.Table:
        try:
            return self._cursor().sql(sql, params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def _raw(self, signal_ids: Sequence[int], start: int, end: int, limit: int | None) -> pa.Table:
        return self._raw_values("number", signal_ids, start, end, limit)

    def _raw_values(
        self, kind: ValueKind, signal_ids: Sequence[int], start: int, end: int, limit: int | None
    ) -> pa.Table:
        table, _, schema = _TABLES[kind]
        if not signal_ids:
            return schema.empty_table()
        return self._arrow(
            f"SELECT ts, signal_id, value, quality FROM {table} "
            f"WHERE signal_id IN ({_id_list(signal_ids)}) "
            "AND ts >= make_timestamptz($start) AND ts < make_timestamptz($end) "
            "ORDER BY signal_id, ts" + (f" LIMIT {int(limit)}" if limit is not None else ""),
            {"start": int(start), "end": int(end)},
        ).cast(schema)

    def _downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        params: dict[str, object] = {"sid": int(signal_id), "start": int(start),
                                     "end": int(end), "bucket": int(bucket_us)}  # fmt: skip
        table = next(
            (t for t, w in _ROLLUPS.items() if bucket_us % w == 0 and start % w == 0), None
        )
        if table is None:
            # Buckets by integer arithmetic on epoch microseconds, aligned to ``start``: exact,
            # and free of the calendar logic of time_bucket. BAD points (NaN when the source had
            # no value) are left out of the aggregates.
            return self._arrow(
                "SELECT make_timestamptz($start::BIGINT + (epoch_us(ts) - $start::BIGINT) "
                "// $bucket::BIGINT * $bucket::BIGINT) "
                "AS bucket, min(value) AS min, max(value) AS max, avg(value) AS avg, "
                "arg_max(value, ts) AS last, count(*) AS count FROM points "
                "WHERE signal_id = $sid AND ts >= make_timestamptz($start) "
                "AND ts < make_timestamptz($end) AND quality < 2 GROUP BY bucket ORDER BY bucket",
                params,
            )
        cur = self._cursor()
        try:
            # One snapshot for the watermark and the rows it divides.
            cur.begin()
            try:
                params["wm"] = self._watermark(cur)
                return cur.sql(
                    _DOWNSAMPLE_ROLLUP.format(table=table), params=params
                ).to_arrow_table()
            finally:
                cur.commit()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def _increases(self, signal_ids: list[int], start: int, end: int, bucket_us: int) -> pa.Table:
        counted = {int(i) for (i,) in self._rows(
            f"{_COUNTERS} AND id IN ({_id_list(signal_ids)})")}  # fmt: skip
        if bucket_us % _MINUTE_US or not counted:
            return super()._increases(signal_ids, start, end, bucket_us)
        a = -(-start // _MINUTE_US) * _MINUTE_US  # the whole minutes of the range: [a, z)
        z = end // _MINUTE_US * _MINUTE_US
        if a >= z:
            a = z = start
        cur = self._cursor()
        try:
            # One snapshot for the watermark and the rows it divides.
            cur.begin()
            try:
                params = {"start": start, "end": end, "a": a, "z": z,
                          "wm": self._watermark(cur, _COUNTER_WATERMARK)}  # fmt: skip
                sql = _INCREASE_RUNS.format(ids=_id_list(sorted(counted)))
                columns = cur.sql(sql, params=params).fetchnumpy()
            finally:
                cur.commit()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc
        # Signals that are not counters come from the points.
        runs = counters.Segments.of_columns(columns)
        return self._increases_of_runs(runs, signal_ids, start, end, bucket_us)

    def _last_values(
        self, signal_ids: list[int], start: int, end: int, bucket_us: int, kind: ValueKind
    ) -> pa.Table:
        table, _, _ = _TABLES[kind]
        schema = last_values_schema(kind)
        if not signal_ids:
            return schema.empty_table()
        return self._arrow(
            "SELECT signal_id, epoch_us(ts) // $w * $w AS bucket, "
            f"arg_max(value, ts) AS value FROM {table} "
            f"WHERE signal_id IN ({_id_list(signal_ids)}) "
            "AND ts >= make_timestamptz($start) AND ts < make_timestamptz($end) "
            "GROUP BY ALL ORDER BY signal_id, bucket",
            {"start": start, "end": end, "w": bucket_us},
        ).cast(schema)

    @staticmethod
    def _watermark(cur: duckdb.DuckDBPyConnection, key: str = _WATERMARK) -> int:
        rows = cur.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
        return int(rows[0][0]) if rows else -1

    def maintain(self, max_rows: int = 20_000_000) -> int:
        """Roll up the points appended since the last call (at most ``max_rows`` per
        transaction, so that memory stays bounded), then apply the retention policy if it is
        due; returns how many points were rolled up."""
        with self._write_lock:
            done = self._roll_up(self._cursor(), max_rows)
        self.apply_retention_if_due()
        return done

    def _roll_up(self, cur: duckdb.DuckDBPyConnection, max_rows: int) -> int:
        """Under the write lock: roll up every point above the watermark, and count the counters'
        points above theirs; returns how many points the rollups took."""
        rollups = [_ROLL_UP.format(table=table, width=width) for table, width in _ROLLUPS.items()]
        done = self._roll_up_pass(cur, _WATERMARK, rollups, max_rows)
        self._roll_up_pass(cur, _COUNTER_WATERMARK, [_COUNT.format(which=_COUNTERS)], max_rows)
        return done

    def _roll_up_pass(
        self, cur: duckdb.DuckDBPyConnection, watermark: str, statements: list[str], max_rows: int
    ) -> int:
        done = 0
        while True:
            lo = self._watermark(cur, watermark)
            sql = "SELECT max(rowid) FROM points WHERE rowid > ?"
            ((top,),) = cur.execute(sql, [lo]).fetchall()
            if top is None:
                return done
            hi = min(int(top), lo + max_rows)
            with _transaction(cur, f"rolling up points {lo + 1} to {hi}"):
                for statement in statements:
                    cur.execute(statement, {"lo": lo, "hi": hi})
                cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [watermark, str(hi)])
            done += hi - lo

    def apply_retention(self, now: int | None = None) -> RetentionReport:
        """Delete the points and 1-minute rollups of each class older than its retention, in one
        transaction; hourly rollups stay. Everything is rolled up first, so the hours keep the
        points deleted, and the watermark stays valid (the rows it counts are all rolled up)."""
        policy = self.retention()
        if not policy:
            return RetentionReport()
        if not self._vacuum_off:
            raise StoreError(
                f"retention needs a DuckDB that can turn vacuuming off (max_vacuum_tasks), not "
                f"{duckdb.__version__}: deletes would corrupt the rollups; upgrade DuckDB"
            )
        now = now_us() if now is None else now
        cur = self._cursor()
        deleted = 0
        with self._write_lock:
            self._roll_up(cur, 20_000_000)
            roles = [str(r) for (r,) in cur.execute("SELECT DISTINCT role FROM signals").fetchall()]
            cutoffs = retention_cutoffs(policy, roles, now)
            with _transaction(cur, "applying retention"):
                for role, cutoff in sorted(cutoffs.items()):
                    if cutoff is None:
                        continue
                    for table, column in (*_POINT_TABLES, ("rollup_1m", "bucket"),
                                          ("counter_1m", "bucket")):  # fmt: skip
                        # The ts bound first: zonemaps skip the row groups after the cutoff.
                        ((n,),) = cur.execute(
                            f"DELETE FROM {table} WHERE {column} < make_timestamptz($cutoff) "
                            "AND signal_id IN (SELECT id FROM signals WHERE role = $role)",
                            {"cutoff": cutoff, "role": role},
                        ).fetchall()
                        deleted += int(n) if column == "ts" else 0
        return RetentionReport(rows_deleted=deleted)

    def _latest(self, signal_ids: Sequence[int] | None) -> pa.Table:
        return self._latest_values("number", signal_ids)

    def _latest_values(self, kind: ValueKind, signal_ids: Sequence[int] | None) -> pa.Table:
        _, latest, schema = _TABLES[kind]
        if signal_ids is not None and not signal_ids:
            return schema.empty_table()
        many = signal_ids is None or len(signal_ids) > 64
        where = "" if many else f"WHERE signal_id IN ({_id_list(signal_ids or [])})"
        table = self._arrow(
            f"SELECT ts, signal_id, value, quality FROM {latest} {where} ORDER BY signal_id"
        ).cast(schema)
        if signal_ids is None or not many:
            return table
        # The table holds one row per signal: reading it whole and filtering in Arrow beats
        # parsing and planning an IN list of thousands of ids.
        wanted = pa.array(signal_ids, pa.int32())
        return table.filter(pc.is_in(table.column("signal_id"), value_set=wanted))

    def _events(
        self,
        start: int,
        end: int,
        equipment: str | None,
        kinds: list[str] | None,
        limit: int | None,
    ) -> pa.Table:
        where = "ts >= make_timestamptz($start) AND ts < make_timestamptz($end)"
        params: dict[str, object] = {"start": int(start), "end": int(end)}
        if equipment is not None:
            where += f" AND {_EQUIPMENT_MATCH}"
            params["eq"] = equipment
        if kinds is not None:
            where += " AND list_contains($kinds, kind)"
            params["kinds"] = list(kinds)
        columns = "ts, equipment, kind, code, value, detail"
        if limit is None:
            return self._arrow(
                f"SELECT {columns} FROM events WHERE {where} ORDER BY ts, rowid", params
            )
        # With a limit, the newest events: the ones a person looking at a range wants to see.
        newest = (
            f"SELECT rowid AS r, {columns} FROM events WHERE {where} "
            f"ORDER BY ts DESC, rowid DESC LIMIT {int(limit)}"
        )
        return self._arrow(f"SELECT {columns} FROM ({newest}) ORDER BY ts, r", params)

    def _state_durations(self, equipment: str, start: int, end: int) -> pa.Table:
        return self._arrow(
            _STATE_DURATIONS, {"eq": equipment, "start": int(start), "end": int(end)}
        )

    def count_points(
        self, signal_ids: Sequence[int] | None = None, start: int | None = None,
        end: int | None = None,
    ) -> int:  # fmt: skip
        where, params = ["true"], dict[str, object]()
        if signal_ids is not None:
            where.append(f"signal_id IN ({_id_list(signal_ids) or 'NULL'})")
        if start is not None:
            where.append("ts >= make_timestamptz($start)")
            params["start"] = int(start)
        if end is not None:
            where.append("ts < make_timestamptz($end)")
            params["end"] = int(end)
        counts = " + ".join(
            f"(SELECT count(*) FROM {table} WHERE {' AND '.join(where)})"
            for table, _, _ in _TABLES.values()
        )
        n = self._arrow(f"SELECT {counts} AS n", params)
        return int(n.column("n")[0].as_py())

    def _earliest_values(self, kind: ValueKind, signal_ids: Sequence[int]) -> pa.Table:
        # Texts and arrays are far fewer rows than numbers and have no rollups: one scan.
        table, _, schema = _TABLES[kind]
        if not signal_ids:
            return schema.empty_table()
        return self._arrow(
            "SELECT min(ts) AS ts, signal_id, arg_min(value, ts) AS value, "
            f"arg_min(quality, ts) AS quality FROM {table} "
            f"WHERE signal_id IN ({_id_list(signal_ids)}) GROUP BY signal_id ORDER BY signal_id"
        ).cast(schema)

    def _earliest(self, signal_ids: Sequence[int]) -> pa.Table:
        # A scan for min(ts) per signal would read the whole table. The hourly rollups say in
        # which hour each signal's data begins (from its class's retention cutoff on, as older
        # points may be gone): every signal with a point before the latest of those hours plus
        # one is found exactly by a scan of the rows before it, which the ts zonemaps keep to
        # the table's first hours. The few others (not rolled up yet, only BAD points) get a
        # scan of their own.
        if not signal_ids:
            return POINT_SCHEMA.empty_table()
        roles = [str(r) for (r,) in self._rows("SELECT DISTINCT role FROM signals")]
        cut = {r: c for r, c in retention_cutoffs(self.retention(), roles, now_us()).items() if c}
        ((hint,),) = self._rows(
            "SELECT max(b) FROM (SELECT min(epoch_us(r.bucket)) AS b FROM rollup_1h r "
            "JOIN signals s ON s.id = r.signal_id "
            f"WHERE r.signal_id IN ({_id_list(signal_ids)}) AND epoch_us(r.bucket) >= "
            "coalesce(list_extract(?::BIGINT[], list_position(?::VARCHAR[], s.role)), "
            f"0) - {_ROLLUPS['rollup_1h']} GROUP BY r.signal_id)",
            [list(cut.values()), list(cut)],
        )
        first = "SELECT min(ts) AS ts, signal_id, arg_min(value, ts) AS value, " \
            "arg_min(quality, ts) AS quality FROM points WHERE signal_id IN ({ids}) {bound} " \
            "GROUP BY signal_id"  # fmt: skip
        found = [POINT_SCHEMA.empty_table()]
        if hint is not None:
            found.append(self._arrow(first.format(
                ids=_id_list(signal_ids),
                bound=f"AND ts < make_timestamptz({int(hint) + _ROLLUPS['rollup_1h']})",
            )))  # fmt: skip
        # Signals without points have no row in latest: no scan for them.
        having = set(self.latest(signal_ids).column("signal_id").to_pylist())
        rest = sorted(having - set(found[-1].column("signal_id").to_pylist()))
        if rest:
            found.append(self._arrow(first.format(ids=_id_list(rest), bound="")))
        return pa.concat_tables([t.cast(POINT_SCHEMA) for t in found]).sort_by("signal_id")

    # --- settings --------------------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM settings WHERE key = ?", [key])
        return str(rows[0][0]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        cur = self._cursor()
        with self._write_lock, _transaction(cur, f"setting {key!r}"):
            cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [key, value])

    def close(self) -> None:
        host, self._host = self._host, None
        if host is not None:  # first: the reads it answers need the store
            host.stop()
        with self._write_lock, self._cursors_lock:
            if self._closed:
                return
            self._closed = True
            for cur in self._cursors:
                cur.close()
            self._con.close()


def _holder(message: str) -> str:
    pid = re.search(r"PID (\d+)", message)
    return f"process {pid[1]}" if pid else "another process"


def open_duckdb(path: Path) -> Store:
    """The DuckDB store at ``path``, hosted for other processes; when another process holds it,
    its reads through that process; else a StoreError that says what to do."""
    try:
        store = DuckDBStore(path)
    except StoreLockedError as exc:
        try:
            info = json.loads(announcement(path).read_text())
            shared = SharedStore(path, int(info["pid"]), str(info["socket"]), str(info["token"]))
            shared.get_setting("")  # the holder answers: not an announcement left by a crash
            return shared
        except (OSError, ValueError, KeyError, TypeError, StoreError):
            raise StoreError(
                f"{path} is in use by {_holder(str(exc))}, and DuckDB lets one process open it "
                "at a time; that process does not share it (not a smartfab serve, demo or "
                "connect() of this version). Stop it (a notebook: data.close()) and try again, "
                "or keep the data in PostgreSQL (store_url) for many processes"
            ) from None
    try:
        store.share()
    except OSError as exc:  # no socket to be had: this process works alone, as before
        log.warning("%s: not shared with other processes: %s", path, exc)
    return store
