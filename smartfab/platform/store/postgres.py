"""The server store: PostgreSQL (psycopg 3), for several ingestion workers and one database.

Layout, and why:

* Points are stored in chunks: ``point_chunks(signal_id, bucket, n, ts[], value[], quality[])``
  holds one row per signal, UTC minute and append, the minute's points as arrays. A row (and a
  B-tree entry) per point, with a primary key (signal_id, ts), held appends to a third of the rate
  of a plain binary COPY of the same rows: the index insert per point was the cost. Chunks cost a
  row and an index entry (signal_id, bucket) per signal and minute, and a per-signal range query
  reads its minutes' rows and unnests their arrays. The table is range-partitioned by ``bucket``,
  one partition per UTC day, created on demand before the append that needs it, so a time-range
  query touches only its days and retention drops whole days.
* A batch goes in by one binary COPY (built with NumPy, never a Python object per point), sorted
  by (signal, ts). Each point is stored once, however often it is sent and by however many
  workers: the append locks its signals' catalogue rows (in id order, so two writers never
  deadlock) and reads their high-water marks (the newest stored ts, kept in ``latest``) under
  that lock. Points above their mark are new; points at or below it (late, re-sent, or behind
  another worker's newer points) are checked against the spans of their minutes' chunks, and only
  those inside a span against its stored times.
* In the same transaction, ``latest`` (one row per signal) and the 1-minute and 1-hour rollups
  (min, max, sum, count, last of the points that are not BAD) are upserted from exactly the new
  points, their partial aggregates computed with NumPy on the sorted batch (a few hundred rows per
  batch), so a re-sent point is counted once and rollups never disagree with the points they
  summarise. ``downsample`` reads whole hours from ``rollup_1h`` where they fit inside its
  buckets, whole minutes from ``rollup_1m`` at the edges, and raw points only for the sub-minute
  remainders.
* Reads of numeric columns come back through binary ``COPY ... TO STDOUT``, parsed by NumPy as a
  fixed-width record array.
* Retention per signal class (the signal's role): the ``retention`` setting maps a role, or
  ``*`` for every other role, to days; :meth:`PostgresStore.apply_retention` drops the day
  partitions that every class is done with and deletes older rows of the classes kept less long.
  Rollups of 1 hour are kept: they are what year-long trends read, and are small.

Schema changes go through alembic (``migrations/``), run when the store opens.

Threads: appends and settings go through one writer connection under a lock (explicit
transactions); reads use one autocommit connection per thread, so they never wait for the writer
and each statement sees a committed snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pyarrow as pa
from psycopg import sql

from smartfab.platform.order import sort_by_signal_ts, superseded
from smartfab.platform.points import (
    EVENT_SCHEMA,
    POINT_SCHEMA,
    EventBatch,
    PointBatch,
    Quality,
    now_us,
)
from smartfab.platform.store import migrations
from smartfab.platform.store.base import (
    RetentionReport,
    SignalInfo,
    Store,
    StoreError,
    check_known,
    retention_cutoffs,
)

Connection = psycopg.Connection[tuple[Any, ...]]

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL counts timestamps from 2000-01-01 UTC
_BAD = int(Quality.BAD)

# --- binary COPY -------------------------------------------------------------------------------

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _row_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype[np.void]:
    """The wire layout of one binary COPY row of fixed-width, non-null fields: a field count, then
    per field its byte length and its big-endian value."""
    layout: list[tuple[str, str]] = [("_n", ">i2")]
    for name, kind in fields:
        layout += [(f"_{name}_len", ">i4"), (name, kind)]
    return np.dtype(layout)


def pgcopy(columns: Mapping[str, tuple[npt.NDArray[Any], str]]) -> bytes:
    """A binary COPY stream of whole NumPy columns: ``{name: (array, ">i8" / ">i4" / ...)}``,
    in the table's column order. Timestamps must already count from PostgreSQL's epoch."""
    fields = [(name, kind) for name, (_, kind) in columns.items()]
    n = len(next(iter(columns.values()))[0]) if columns else 0
    rows = np.empty(n, _row_dtype(fields))
    rows["_n"] = len(fields)
    for name, (values, kind) in columns.items():
        rows[f"_{name}_len"] = np.dtype(kind).itemsize
        rows[name] = values
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def runs(signal_id: npt.NDArray[np.int32], key: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """The starts of the runs of equal (signal_id, key) in arrays sorted by both."""
    change = (signal_id[1:] != signal_id[:-1]) | (key[1:] != key[:-1])
    return np.flatnonzero(np.concatenate([[len(key) > 0], change]))


# One chunk row on the wire: the field count, then signal_id, bucket and n, each its length and
# value; then per array its length and header (dimensions, has-nulls flag, element type, size,
# lower bound) and its elements, each its length and value.
_CHUNK_ROW = np.dtype([("fields", ">i2"), ("sid_len", ">i4"), ("sid", ">i4"), ("bucket_len", ">i4"),
                       ("bucket", ">i8"), ("n_len", ">i4"), ("n", ">i4")])  # fmt: skip
_ARRAY_HEAD = np.dtype([("len", ">i4"), ("ndim", ">i4"), ("nulls", ">i4"), ("oid", ">i4"),
                        ("size", ">i4"), ("lower", ">i4")])  # fmt: skip
_CHUNK_ARRAYS = (("ts", ">i8", 1184), ("value", ">f8", 701), ("quality", ">i2", 21))  # type OIDs


def chunks_copy(batch: PointBatch) -> bytes:
    """A (signal, ts)-sorted batch as a binary COPY stream for ``point_chunks``: one row per signal
    and minute, its points as arrays. Rows may come in any order, so the chunks of each size are
    laid out together as one 2-D byte array, without a Python step per chunk or per point."""
    minute = batch.ts // MINUTE_US
    first = runs(batch.signal_id, minute)
    size = np.diff(np.append(first, len(batch)))
    columns = [
        (getattr(batch, name) - (PG_EPOCH_US if name == "ts" else 0), np.dtype(kind), oid)
        for name, kind, oid in _CHUNK_ARRAYS
    ]
    parts = [_COPY_HEADER]
    for n in np.unique(size).tolist():
        starts = first[size == n]
        row = np.empty(len(starts), _CHUNK_ROW)
        row["fields"], row["sid_len"], row["bucket_len"], row["n_len"], row["n"] = 6, 4, 8, 4, n
        row["sid"] = batch.signal_id[starts]
        row["bucket"] = minute[starts] * MINUTE_US - PG_EPOCH_US
        blocks = [row.view(np.uint8).reshape(len(starts), -1)]
        at = starts[:, None] + np.arange(n)
        for values, kind, oid in columns:
            head = np.empty(len(starts), _ARRAY_HEAD)
            head["len"] = 20 + (4 + kind.itemsize) * n
            head["ndim"], head["nulls"], head["oid"], head["size"], head["lower"] = 1, 0, oid, n, 1
            blocks.append(head.view(np.uint8).reshape(len(starts), -1))
            elements = np.empty((len(starts), n), [("len", ">i4"), ("v", kind)])
            elements["len"] = kind.itemsize
            elements["v"] = values[at]
            blocks.append(elements.view(np.uint8).reshape(len(starts), -1))
        parts.append(np.concatenate(blocks, axis=1).tobytes())
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


def points_copy(batch: PointBatch) -> bytes:
    """``batch`` as a binary COPY stream for a (ts, signal_id, quality, value) table."""
    return pgcopy(
        {
            "ts": (batch.ts - PG_EPOCH_US, ">i8"),
            "signal_id": (batch.signal_id, ">i4"),
            "quality": (batch.quality, ">i2"),
            "value": (batch.value, ">f8"),
        }
    )


def _copy_to(
    cur: psycopg.Cursor[Any], query: sql.Composable, params: Mapping[str, object]
) -> tuple[bytes, int]:
    """``query``'s answer as a binary COPY stream, and where its first row starts."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    with cur.copy(statement, params) as copy:
        data = b"".join(copy)
    return data, 19 + int.from_bytes(data[15:19], "big")  # past the header and its extension


def _copy_out(
    cur: psycopg.Cursor[Any],
    query: sql.Composable,
    params: Mapping[str, object],
    fields: Sequence[tuple[str, str]],
) -> dict[str, npt.NDArray[Any]]:
    """Run ``query`` as a binary COPY and return its columns as native NumPy arrays. Every field
    must be fixed-width and never NULL (then every row has the same size)."""
    data, at = _copy_to(cur, query, params)
    body = memoryview(data)[at : len(data) - 2]
    dtype = _row_dtype(fields)
    if len(body) % dtype.itemsize:
        raise StoreError(f"query result is not {len(fields)} fixed-width non-null columns")
    rows = np.frombuffer(body, dtype)
    for name, kind in fields:
        if np.any(rows[f"_{name}_len"] != np.dtype(kind).itemsize):
            raise StoreError(f"query result column {name!r} holds NULL or is not {kind}")
    return {name: rows[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in fields}


def _copy_arrays(
    cur: psycopg.Cursor[Any],
    query: sql.Composable,
    params: Mapping[str, object],
    kinds: Sequence[str],
) -> list[npt.NDArray[Any]]:
    """Run ``query``, which answers one row of one-dimensional arrays without NULL elements (or
    NULL for none), as a binary COPY; the arrays as native NumPy arrays of ``kinds``. Many values
    come out of PostgreSQL far faster as one row of arrays than as a row each: a COPY row is a
    protocol message, and a message costs psycopg a Python call."""
    data, at = _copy_to(cur, query, params)
    at += 2  # the row's field count
    arrays = []
    for kind in kinds:
        size = int.from_bytes(data[at : at + 4], "big", signed=True)
        at += 4
        if size <= 12:  # NULL (-1), or an empty array: dimensions 0, no elements
            arrays.append(np.empty(0, np.dtype(kind).newbyteorder("=")))
            at += max(size, 0)
            continue
        elements = np.frombuffer(data, [("len", ">i4"), ("v", kind)], offset=at + 20,
                                 count=(size - 20) // (4 + np.dtype(kind).itemsize))  # fmt: skip
        if np.any(elements["len"] != np.dtype(kind).itemsize):
            raise StoreError(f"query result array holds NULL or is not {kind}")
        arrays.append(elements["v"].astype(np.dtype(kind).newbyteorder("=")))
        at += size
    return arrays


def _ts_array(pg_us: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(pg_us + PG_EPOCH_US, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


_POINT_FIELDS = [("ts", ">i8"), ("signal_id", ">i4"), ("value", ">f8"), ("quality", ">i2")]


def _point_table(cols: dict[str, npt.NDArray[Any]]) -> pa.Table:
    return pa.Table.from_arrays(
        [
            _ts_array(cols["ts"]),
            pa.array(cols["signal_id"], pa.int32()),
            pa.array(cols["value"], pa.float64()),
            pa.array(cols["quality"].astype(np.uint8), pa.uint8()),
        ],
        schema=POINT_SCHEMA,
    )


# --- SQL ---------------------------------------------------------------------------------------

_ROLLUPS: dict[str, int] = {"rollup_1h": HOUR_US, "rollup_1m": MINUTE_US}  # coarsest first
_ORIGIN = "TIMESTAMPTZ '1970-01-01 00:00+00'"


def _last(value: str, ts: str) -> str:
    """SQL aggregate: ``value`` at the newest ``ts`` of the group."""
    return f"(array_agg({value} ORDER BY {ts} DESC))[1]"


def _to_ts(us: str) -> str:
    """SQL turning an epoch-microsecond expression into a timestamptz, exactly."""
    return f"(TIMESTAMPTZ 'epoch' + ({us}) * INTERVAL '1 microsecond')"


def _rollup_upsert(table: str, width_us: int) -> str:
    """Fold the staged partial aggregates of one width into its rollup table. Rows go in
    (signal, bucket) order so that two writers updating the same buckets lock them in the same
    order instead of deadlocking."""
    return f"""
INSERT INTO {table} AS r (signal_id, bucket, min, max, sum, count, last_ts, last_value)
SELECT signal_id, bucket, min, max, sum, count, last_ts, last_value FROM stage_rollups
WHERE width = {width_us} ORDER BY signal_id, bucket
ON CONFLICT (signal_id, bucket) DO UPDATE SET
    min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
    sum = r.sum + excluded.sum, count = r.count + excluded.count,
    last_ts = greatest(r.last_ts, excluded.last_ts),
    last_value = CASE WHEN excluded.last_ts > r.last_ts THEN excluded.last_value
                      ELSE r.last_value END
"""


_UPSERT_LATEST = f"""
INSERT INTO latest AS l (signal_id, ts, value, quality)
SELECT s, {_to_ts("t")}, v, q FROM unnest(%(signal_id)s::int4[], %(ts)s::int8[],
    %(value)s::float8[], %(quality)s::int2[]) AS n(s, t, v, q) ORDER BY s
ON CONFLICT (signal_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,
    quality = excluded.quality
WHERE excluded.ts > l.ts
"""

# Session-local, emptied by every commit: the partial rollups of a batch.
_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS stage_rollups (
    width bigint NOT NULL, signal_id integer NOT NULL, bucket timestamptz NOT NULL,
    min double precision NOT NULL, max double precision NOT NULL, sum double precision NOT NULL,
    count bigint NOT NULL, last_ts timestamptz NOT NULL, last_value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""

# The appending signals' catalogue rows locked, in id order: another writer appending to them waits
# for this transaction to end. Their high-water marks are read after it, by a statement of its own:
# in READ COMMITTED only a new statement sees what the writer waited for committed.
_LOCK_SIGNALS = "SELECT FROM signals WHERE id = ANY(%(ids)s) ORDER BY id FOR NO KEY UPDATE"
_MARKS = (
    "SELECT signal_id, (extract(epoch FROM ts) * 1000000)::int8 FROM latest "
    "WHERE signal_id = ANY(%(ids)s)"
)


def _overlapping(select: str, join: str = "") -> str:
    """SQL answering ``select`` (aggregates over ``k.i``, the number of a key from 1, ``c``, a
    chunk, and what ``join`` adds) for the stored chunks of given (signal, minute) keys that
    overlap the key's span [lo, hi]; one index probe per key. A chunk's times are sorted: its
    first and last are its span."""
    return f"""
SELECT {select}
FROM unnest(%(sid)s::int4[], %(minute)s::int8[], %(lo)s::int8[], %(hi)s::int8[])
    WITH ORDINALITY AS k(s, m, lo, hi, i)
CROSS JOIN LATERAL (SELECT * FROM point_chunks c
    WHERE c.signal_id = k.s AND c.bucket = {_to_ts(f"k.m * {MINUTE_US}")}
        AND c.ts[1] <= {_to_ts("k.hi")} AND c.ts[c.n] >= {_to_ts("k.lo")}) AS c {join}
"""


# The spans of the chunks, and the stored times in them, as one row of arrays each.
_STORED_SPANS = _overlapping("array_agg(k.i), array_agg(c.ts[1]), array_agg(c.ts[c.n])")
_SPANS_IN_RANGE = (
    "SELECT array_agg(signal_id), array_agg(bucket), array_agg(ts[1]), array_agg(ts[n]) "
    "FROM point_chunks WHERE signal_id = ANY(%(ids)s) "
    f"AND bucket >= {_to_ts('%(lo)s::int8')} AND bucket <= {_to_ts('%(hi)s::int8')}"
)
_STORED_TS = _overlapping("array_agg(k.i), array_agg(t)", "CROSS JOIN LATERAL unnest(c.ts) AS t")


_DENSE = 4  # a range scan when it reads at most this many chunks' worth per key


def _stored_spans(cur: psycopg.Cursor[Any], params: dict[str, Any]) -> list[npt.NDArray[np.int64]]:
    """The spans of the stored chunks of the (signal, minute) keys ``params`` (of
    :func:`_late_keys`): each chunk's key number, first and last time. Where the keys cover most
    minutes of their signals' range (another worker's interleaved messages: late points in nearly
    every minute) one range scan per signal reads them far cheaper than a probe per key; sparse
    keys (a gap back-filled, a point re-sent days later) are probed."""
    key_sid = np.asarray(params["sid"], np.int64)
    key_minute = np.asarray(params["minute"], np.int64)
    ids = np.unique(key_sid)
    lo, hi = int(key_minute.min()), int(key_minute.max())
    if len(ids) * (hi - lo + 1) > _DENSE * len(key_sid):
        return _copy_arrays(cur, sql.SQL(_STORED_SPANS), params, [">i8"] * 3)
    sid, bucket, first, last = _copy_arrays(
        cur, sql.SQL(_SPANS_IN_RANGE),
        {"ids": ids.tolist(), "lo": lo * MINUTE_US, "hi": hi * MINUTE_US}, [">i4"] + [">i8"] * 3,
    )  # fmt: skip
    # Keys come sorted by (signal, minute), so one combined integer finds a chunk's key.
    keys = key_sid << 32 | key_minute
    chunk = sid.astype(np.int64) << 32 | (bucket + PG_EPOCH_US) // MINUTE_US
    at = np.minimum(np.searchsorted(keys, chunk), len(keys) - 1)
    hit = keys[at] == chunk
    return [at[hit] + 1, first[hit], last[hit]]


def _late_keys(
    sid: npt.NDArray[np.int32], ts: npt.NDArray[np.int64]
) -> tuple[dict[str, object], npt.NDArray[np.int64]]:
    """For points sorted by (signal, ts): the parameters of :func:`_overlapping` for their
    (signal, minute) runs, and each point's key, the number of its run (from 1, as the query's)
    and its offset in the minute."""
    minute = ts // MINUTE_US
    starts = runs(sid, minute)
    ends = np.append(starts[1:], len(ts)) - 1
    first = np.zeros(len(ts), np.int64)
    first[starts] = 1
    params: dict[str, object] = {
        "sid": sid[starts].tolist(),
        "minute": minute[starts].tolist(),
        "lo": ts[starts].tolist(),
        "hi": ts[ends].tolist(),
    }
    return params, np.cumsum(first) * MINUTE_US + np.mod(ts, MINUTE_US)


def _stored_keys(
    number: npt.NDArray[np.int64], pg_ts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The keys (as :func:`_late_keys`) of stored times (PostgreSQL's epoch) of numbered runs."""
    return number * MINUTE_US + np.mod(pg_ts + PG_EPOCH_US, MINUTE_US)


def _points_sql(signal: str, lo: str, hi: str) -> str:
    """SQL of the points, as rows (ts, signal_id, value, quality), of the signals that match the
    SQL condition ``signal`` on ``c.signal_id`` in [``lo``, ``hi``) (SQL epoch-µs expressions): the
    chunks of those minutes, unnested."""
    return (
        "SELECT u.ts, c.signal_id, u.value, u.quality FROM point_chunks c "
        "CROSS JOIN LATERAL unnest(c.ts, c.value, c.quality) AS u(ts, value, quality) "
        f"WHERE {signal} AND c.bucket >= date_bin('1 minute', {_to_ts(lo)}, {_ORIGIN}) "
        f"AND c.bucket < {_to_ts(hi)} AND u.ts >= {_to_ts(lo)} AND u.ts < {_to_ts(hi)}"
    )


_NEVER = np.iinfo(np.int64).min  # high-water mark of a signal without points


def rollup_partials(batch: PointBatch, width_us: int) -> dict[str, tuple[npt.NDArray[Any], str]]:
    """Per (signal, bucket of ``width_us``): min, max, sum, count and last of the points of a
    (signal, ts)-sorted batch that are not BAD, as binary COPY columns for ``stage_rollups``."""
    batch = batch.take(batch.quality < _BAD)
    ts, sid, value = batch.ts, batch.signal_id, batch.value
    bucket = ts // width_us * width_us
    first = runs(sid, bucket)
    last = np.append(first[1:], len(batch))[: len(first)] - 1

    def per_group(ufunc: np.ufunc) -> npt.NDArray[np.float64]:
        return ufunc.reduceat(value, first) if len(first) else value[:0]  # type: ignore[no-any-return]

    return {
        "width": (np.full(len(first), width_us), ">i8"),
        "signal_id": (sid[first], ">i4"),
        "bucket": (bucket[first] - PG_EPOCH_US, ">i8"),
        "min": (per_group(np.minimum), ">f8"),
        "max": (per_group(np.maximum), ">f8"),
        "sum": (per_group(np.add), ">f8"),
        "count": (last - first + 1, ">i8"),
        "last_ts": (ts[last] - PG_EPOCH_US, ">i8"),
        "last_value": (value[last], ">f8"),
    }


_SIGNAL_COLUMNS = "path, equipment, name, unit, data_type, role, low, high, source"
_GIVEN = """
WITH given AS (
    SELECT * FROM unnest(%(path)s::text[], %(equipment)s::text[], %(name)s::text[],
        %(unit)s::text[], %(data_type)s::text[], %(role)s::text[], %(low)s::float8[],
        %(high)s::float8[], %(source)s::text[]) WITH ORDINALITY
    AS g(path, equipment, name, unit, data_type, role, low, high, source, ord)
)
"""

# ``equipment`` selects the equipment itself and everything below it. starts_with, not LIKE:
# slugs may contain '_', which LIKE would treat as a wildcard.
_EQUIPMENT_MATCH = "(equipment = %(eq)s OR starts_with(equipment, %(eq)s || '/'))"

_STATE_DURATIONS = f"""
WITH s AS (
    SELECT equipment, code, ts, id FROM events
    WHERE kind = 'state' AND {_EQUIPMENT_MATCH} AND ts < {_to_ts("%(end)s::int8")}
), in_force AS (  -- the state each equipment was in at start counts from start
    SELECT DISTINCT ON (equipment) equipment, code, {_to_ts("%(start)s::int8")} AS ts, -1 AS id
    FROM s WHERE ts < {_to_ts("%(start)s::int8")} ORDER BY equipment, s.ts DESC, s.id DESC
), spans AS (
    SELECT equipment, code, ts,
        lead(ts, 1, {_to_ts("%(end)s::int8")}) OVER (PARTITION BY equipment ORDER BY ts, id) AS t1
    FROM (SELECT * FROM s WHERE ts >= {_to_ts("%(start)s::int8")}
          UNION ALL SELECT * FROM in_force) AS both_
)
SELECT equipment, code AS state, extract(epoch FROM sum(t1 - ts))::float8 AS seconds FROM spans
GROUP BY equipment, code HAVING sum(t1 - ts) > INTERVAL '0' ORDER BY equipment, state
"""

_DOWNSAMPLE_FIELDS = [
    ("bucket", ">i8"),
    ("min", ">f8"),
    ("max", ">f8"),
    ("avg", ">f8"),
    ("last", ">f8"),
    ("count", ">i8"),
]

_DOWNSAMPLE_RAW = f"""
SELECT date_bin(%(bucket)s * INTERVAL '1 microsecond', ts, {_to_ts("%(start)s::int8")}) AS b,
    min(value), max(value), avg(value), {_last("value", "ts")}, count(*)
FROM ({_points_sql("c.signal_id = %(sid)s", "%(start)s::int8", "%(end)s::int8")}) AS p
WHERE quality < {_BAD} GROUP BY b ORDER BY b
"""


def _pieces_sql(source: str) -> str:
    """The aggregates of each piece of one source (a rollup table or the points). LATERAL with an
    aggregate inside cannot be flattened into a join, so every piece is one index range scan: left
    to choose, the planner (which cannot size unnest()ed arrays) was seen hash-joining the pieces
    against whole partitions in parallel, a minute instead of a fraction of a second."""
    if source == "points":
        inner = (
            f"SELECT min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count, "
            f"max(ts) AS last_ts, {_last('value', 'ts')} AS last_value "
            f"FROM ({_points_sql('c.signal_id = %(sid)s', 'e.lo', 'e.hi')}) AS p "
            f"WHERE quality < {_BAD}"
        )
    else:
        inner = (
            "SELECT min(min) AS min, max(max) AS max, sum(sum) AS sum, sum(count)::int8 AS count, "
            f"max(last_ts) AS last_ts, {_last('last_value', 'last_ts')} AS last_value "
            f"FROM {source} WHERE signal_id = %(sid)s "
            f"AND bucket >= {_to_ts('e.lo')} AND bucket < {_to_ts('e.hi')}"
        )
    return (
        f"SELECT e.k, x.* FROM unnest(%({source}_lo)s::int8[], %({source}_hi)s::int8[], "
        f"%({source}_k)s::int8[]) AS e(lo, hi, k) CROSS JOIN LATERAL ({inner}) AS x "
        "WHERE x.count > 0"
    )


_DOWNSAMPLE_ROLLUPS = f"""
WITH pieces AS (
    {" UNION ALL ".join(_pieces_sql(s) for s in [*_ROLLUPS, "points"])}
)
SELECT {_to_ts("%(start)s::int8 + k * %(bucket)s::int8")} AS b, min(min), max(max),
    sum(sum) / sum(count), {_last("last_value", "last_ts")}, sum(count)::int8
FROM pieces GROUP BY k ORDER BY k
"""

# Rollups pay off from buckets of a minute; past this many buckets the list of pieces costs more
# than one range scan.
_MAX_ROLLUP_BUCKETS = 20_000

Pieces = dict[str, tuple[list[int], list[int], list[int]]]


def rollup_pieces(start: int, end: int, bucket_us: int) -> Pieces:
    """Split the buckets [start + k*w, start + (k+1)*w) ∩ [start, end) into the whole hours that
    lie inside one bucket, then the whole minutes inside the rest, then the raw remainder (under a
    minute at each bucket edge). Returns, per source table, the (lo, hi, k) lists of its pieces."""
    lo = np.arange(start, end, bucket_us, dtype=np.int64)
    hi = np.minimum(lo + bucket_us, end)
    k = np.arange(len(lo), dtype=np.int64)
    pieces: Pieces = {}
    for table, width in _ROLLUPS.items():
        a = -(-lo // width) * width  # first whole bucket of this level inside the piece
        b = hi // width * width  # end of the last one
        inner = a < b
        pieces[table] = (a[inner].tolist(), b[inner].tolist(), k[inner].tolist())
        lo, hi, k = (
            np.concatenate([lo[inner], b[inner], lo[~inner]]),
            np.concatenate([a[inner], hi[inner], hi[~inner]]),
            np.concatenate([k[inner], k[inner], k[~inner]]),
        )
        keep = lo < hi
        lo, hi, k = lo[keep], hi[keep], k[keep]
    pieces["points"] = (lo.tolist(), hi.tolist(), k.tolist())
    return pieces


# --- retention (the policy and its semantics: base.py) ------------------------------------------

_OF_ROLE = "signal_id IN (SELECT id FROM signals WHERE role = %(role)s)"

# The chunks of a class before the cutoff's minute go; that minute's chunks are put back with only
# their points from the cutoff on. The number of points deleted is the answer.
_RETAIN_POINTS = f"""
WITH gone AS (
    DELETE FROM point_chunks
    WHERE bucket <= date_bin('1 minute', {_to_ts("%(cutoff)s::int8")}, {_ORIGIN}) AND {_OF_ROLE}
    RETURNING signal_id, bucket, n, ts, value, quality
), kept AS (
    INSERT INTO point_chunks
    SELECT g.signal_id, g.bucket, count(*), array_agg(u.ts ORDER BY u.ts),
        array_agg(u.value ORDER BY u.ts), array_agg(u.quality ORDER BY u.ts)
    FROM gone g CROSS JOIN LATERAL unnest(g.ts, g.value, g.quality) AS u(ts, value, quality)
    WHERE g.bucket = date_bin('1 minute', {_to_ts("%(cutoff)s::int8")}, {_ORIGIN})
        AND u.ts >= {_to_ts("%(cutoff)s::int8")}
    GROUP BY g.signal_id, g.bucket
    RETURNING n
)
SELECT (SELECT coalesce(sum(n), 0) FROM gone) - (SELECT coalesce(sum(n), 0) FROM kept)
"""

_RETAIN_ROLLUPS = f"""
DELETE FROM rollup_1m WHERE bucket < {_to_ts("%(cutoff)s::int8")} AND {_OF_ROLE}
"""


def _partition_name(day: int) -> str:
    return "point_chunks_" + np.datetime_as_string(np.datetime64(day, "D")).replace("-", "")


def _day_of(name: str) -> int | None:
    digits = name.removeprefix("point_chunks_")
    if len(digits) != 8 or not digits.isdigit():
        return None
    iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return int(np.datetime64(iso, "D").astype(np.int64))


@dataclass(frozen=True)
class _Rows:
    """What an append writes for new points (sorted by signal and ts): the chunks' COPY stream,
    the parameters of ``latest`` (one row per signal, not per point) and the partial rollups'
    COPY stream."""

    chunks: bytes
    latest: dict[str, list[Any]]
    rollups: bytes

    @classmethod
    def of(cls, fresh: PointBatch) -> _Rows:
        newest = np.append(runs(fresh.signal_id, fresh.signal_id)[1:], len(fresh)) - 1
        latest = {
            name: getattr(fresh, name)[newest].tolist()
            for name in ("signal_id", "ts", "value", "quality")
        }
        levels = [rollup_partials(fresh, width) for width in _ROLLUPS.values()]
        partials = {
            name: (np.concatenate([level[name][0] for level in levels]), kind)
            for name, (_, kind) in levels[0].items()
        }
        return cls(chunks_copy(fresh), latest, pgcopy(partials))


class PostgresStore(Store):
    """A :class:`Store` in a PostgreSQL database (``url``: a libpq URL or connection string).
    ``schema`` keeps every table in that schema (made if missing); by default the connection's
    own search path decides."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self._where = f"{_redact(url)}" + (f" schema {schema}" if schema else "")
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._known = np.zeros(0, np.bool_)  # indexed by signal id: catalogued?
        self._days: set[int] = set()  # days that have a partition
        try:
            self._writer: Connection = self._connect()
            if schema is not None:
                self._writer.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
                self._set_path(self._writer)
            if migrations.current(self._writer) != migrations.head():
                migrations.upgrade(url, schema)
            self._writer.execute(_STAGE)
            self._load_catalogue()
            self._load_partitions()
        except psycopg.Error as exc:
            if hasattr(self, "_writer"):
                self._writer.close()
            raise StoreError(f"{self._where}: cannot open the PostgreSQL store: {exc}") from exc

    # --- connections -------------------------------------------------------------------------
    def _connect(self) -> Connection:
        conn = psycopg.connect(self.url, autocommit=True)
        # Arrow results and date_bin's day boundaries in UTC whatever the server's zone is.
        conn.execute("SET TimeZone TO 'UTC'")
        # The planner cannot size unnest()ed parameter arrays, so its cost estimates of the
        # downsample and key lookups run high enough to trigger JIT compilation, which was
        # measured to take 2 s of a 0.3 s query. These queries are short; they never gain by it.
        conn.execute("SET jit = off")
        self._set_path(conn)
        return conn

    def _set_path(self, conn: Connection) -> None:
        if self.schema is not None:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    def _reader(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.broken:
            with self._readers_lock:
                if self._closed:
                    raise StoreError(f"{self._where}: the store is closed")
            try:
                conn = self._connect()
            except psycopg.Error as exc:
                raise StoreError(f"{self._where}: cannot connect: {exc}") from exc
            with self._readers_lock:
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _live_writer(self) -> Connection:
        """The writer connection, made again if the server dropped it (a restart): the Writer
        retries a failed append, and the retry must find a working connection."""
        if self._closed:
            raise StoreError(f"{self._where}: the store is closed")
        if self._writer.broken or self._writer.closed:
            self._writer = self._connect()
            self._writer.execute(_STAGE)
        return self._writer

    def _fetch(self, query: str, params: Mapping[str, object] | None = None) -> list[Any]:
        try:
            return self._reader().execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def _columns(
        self, query: str, params: Mapping[str, object], fields: Sequence[tuple[str, str]]
    ) -> dict[str, npt.NDArray[Any]]:
        try:
            return _copy_out(self._reader().cursor(), sql.SQL(query), params, fields)
        except psycopg.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    # --- catalogue ---------------------------------------------------------------------------
    def _load_catalogue(self) -> None:
        ids = np.array([i for (i,) in self._writer.execute("SELECT id FROM signals")], np.intp)
        size = int(ids.max()) + 1 if len(ids) else 0
        if size > len(self._known):
            self._known = np.concatenate([self._known, np.zeros(size - len(self._known), np.bool_)])
        self._known[ids] = True

    def register_signals(self, signals: Sequence[SignalInfo]) -> dict[str, int]:
        given = {s.path: s for s in signals}  # a path given twice: the last metadata wins
        if not given:
            return {}
        rows = list(given.values())
        params = {col: [getattr(s, col) for s in rows] for col in _SIGNAL_COLUMNS.split(", ")}
        with self._write_lock:
            conn = self._live_writer()
            try:
                with conn.transaction():
                    conn.execute(
                        _GIVEN + "UPDATE signals s SET equipment = g.equipment, name = g.name, "
                        "unit = g.unit, data_type = g.data_type, role = g.role, low = g.low, "
                        "high = g.high, source = g.source FROM given g WHERE s.path = g.path",
                        params,
                    )
                    # New paths get ids in the order given; a concurrent registration of the
                    # same path by another worker wins, and its id is the one returned.
                    conn.execute(
                        _GIVEN + f"INSERT INTO signals ({_SIGNAL_COLUMNS}) "
                        f"SELECT {_SIGNAL_COLUMNS} FROM given g WHERE NOT EXISTS "
                        "(SELECT FROM signals s WHERE s.path = g.path) ORDER BY ord "
                        "ON CONFLICT (path) DO NOTHING",
                        params,
                    )
                    found = conn.execute(
                        "SELECT path, id FROM signals WHERE path = ANY(%s)", [list(given)]
                    ).fetchall()
                self._load_catalogue()
            except psycopg.Error as exc:
                raise StoreError(f"registering {len(rows)} signals failed: {exc}") from exc
        return {str(p): int(i) for p, i in found}

    def signals(self) -> list[SignalInfo]:
        rows = self._fetch(f"SELECT {_SIGNAL_COLUMNS}, id FROM signals ORDER BY id")
        return [SignalInfo(*row) for row in rows]

    def _check_known(self, batch: PointBatch) -> None:
        try:
            check_known(self._known, batch)
        except StoreError:  # another process may have registered them since
            with self._write_lock:
                self._load_catalogue()
            check_known(self._known, batch)

    # --- writing -----------------------------------------------------------------------------
    def _load_partitions(self) -> None:
        rows = self._writer.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'point_chunks'::regclass"
        ).fetchall()
        self._days = {d for (name,) in rows if (d := _day_of(str(name))) is not None}

    def _ensure_partitions(self, conn: Connection, ts: npt.NDArray[np.int64]) -> None:
        """Create the day partitions that ``ts`` needs, in their own short transaction: creating
        a partition locks the parent table, which should not last as long as an append."""
        days = np.unique(ts // DAY_US)
        missing = [int(d) for d in days if int(d) not in self._days]
        if not missing:
            return
        with conn.transaction():
            # Two workers must not race to create the same partition.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('smartfab.points.partitions'))")
            for day in missing:
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF point_chunks "
                        "FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(_partition_name(day)),
                        sql.Literal(_iso(day * DAY_US)),
                        sql.Literal(_iso((day + 1) * DAY_US)),
                    )
                )
        self._days.update(missing)

    def append(self, points: PointBatch, events: EventBatch) -> tuple[int, int]:
        """Points go in as per-minute chunks by one binary COPY, with ``latest`` and the rollups
        of exactly the new points and the events, in one transaction: so re-sent points are
        stored and counted once, and a failure stores nothing."""
        if len(points) == 0 and len(events) == 0:
            return 0, 0
        what = f"appending {len(points)} points and {len(events)} events"
        event_stream = events_copy(events) if len(events) else None
        self._check_known(points)
        # (signal, ts) order: the last duplicate wins, and chunks and rollup groups are runs.
        batch = sort_by_signal_ts(points)
        dup = superseded(batch)
        if dup.any():
            batch = batch.take(~dup)
        # Laid out before the transaction, as if every point were new (nearly always so): the
        # signals' locks are held only for the database's work, never for ours.
        rows = _Rows.of(batch) if len(batch) else None
        fresh = PointBatch.empty()
        with self._write_lock:
            try:
                conn = self._live_writer()
                if len(batch):
                    self._ensure_partitions(conn, batch.ts)
                with conn.transaction(), conn.cursor() as cur:
                    if len(batch):
                        fresh = self._fresh(cur, batch)
                        if len(fresh) < len(batch):  # some are stored already
                            rows = _Rows.of(fresh) if len(fresh) else None
                    if rows is not None:
                        self._insert_rows(cur, rows)
                    if event_stream is not None:
                        self._insert_events(cur, event_stream)
            except psycopg.Error as exc:
                if exc.sqlstate == "23514":  # no partition for a row: retention dropped it
                    self._load_partitions()
                raise StoreError(f"{what} failed, nothing was stored: {exc}") from exc
        return len(fresh), len(events)

    @staticmethod
    def _fresh(cur: psycopg.Cursor[Any], batch: PointBatch) -> PointBatch:
        """The points of a deduplicated, sorted batch that are not stored yet, judged under the
        lock of their signals (see :data:`_LOCK_SIGNALS`)."""
        sids = batch.signal_id[runs(batch.signal_id, batch.signal_id)]  # sorted: one per run
        marks = np.full(int(sids[-1]) + 1, _NEVER)
        ids = {"ids": sids.tolist()}
        cur.execute(_LOCK_SIGNALS, ids)
        for sid, mark in cur.execute(_MARKS, ids).fetchall():
            marks[sid] = mark
        late = batch.ts <= marks[batch.signal_id]
        if not late.any():
            return batch
        # Late points are re-sent ones, back-filled gaps, and, with several workers sharing a
        # subscription, whatever another worker stored newer points of first: up to half of
        # them. First the spans (first and last time) of the stored chunks of their minutes are
        # read; only the late points inside such a span are then matched to the stored times of
        # the chunks they fall in (another worker's spans of the same minute need no more).
        sid, ts = batch.signal_id[late], batch.ts[late]
        params, key = _late_keys(sid, ts)
        number, first, last = _stored_spans(cur, params)
        span_first = _stored_keys(number, first)
        order = np.argsort(span_first, kind="stable")
        # Keys of different minutes never overlap, so one running maximum serves them all.
        span_first = span_first[order]
        reach = np.maximum.accumulate(_stored_keys(number, last)[order])
        inside, stored = np.zeros(len(sid), np.bool_), np.zeros(len(sid), np.bool_)
        if len(reach):
            before = np.searchsorted(span_first, key, "right") - 1  # last span starting before
            inside = (before >= 0) & (reach[np.maximum(before, 0)] >= key)
        if inside.any():
            params, key = _late_keys(sid[inside], ts[inside])
            number, times = _copy_arrays(cur, sql.SQL(_STORED_TS), params, [">i8"] * 2)
            stored[inside] = np.isin(key, _stored_keys(number, times))
        fresh = ~late
        fresh[late] = ~stored
        return batch.take(fresh)

    @staticmethod
    def _insert_rows(cur: psycopg.Cursor[Any], rows: _Rows) -> None:
        with cur.copy(
            "COPY point_chunks (signal_id, bucket, n, ts, value, quality) FROM STDIN "
            "(FORMAT BINARY)"
        ) as c:
            c.write(rows.chunks)
        cur.execute(_UPSERT_LATEST, rows.latest)
        with cur.copy("COPY stage_rollups FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(rows.rollups)
        for table, width in _ROLLUPS.items():
            cur.execute(_rollup_upsert(table, width))

    @staticmethod
    def _insert_events(cur: psycopg.Cursor[Any], stream: bytes) -> None:
        # In stream order, so the ids (the order of events of the same time) follow the batch.
        with cur.copy(
            "COPY events (ts, equipment, kind, code, value, detail) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(stream)

    # --- reading -----------------------------------------------------------------------------
    def raw(
        self, signal_ids: Sequence[int], start: int, end: int, limit: int | None = None
    ) -> pa.Table:
        if not signal_ids:
            return POINT_SCHEMA.empty_table()
        query = _points_sql("c.signal_id = ANY(%(ids)s)", "%(start)s::int8", "%(end)s::int8") + (
            " ORDER BY c.signal_id, u.ts" + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        params = {"ids": [int(i) for i in signal_ids], "start": int(start), "end": int(end)}
        return _point_table(self._columns(query, params, _POINT_FIELDS))

    def downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        if bucket_us <= 0:
            raise StoreError(f"downsample bucket of {bucket_us} us: must be positive")
        params: dict[str, object] = {
            "sid": int(signal_id), "start": int(start), "end": int(end), "bucket": int(bucket_us)
        }  # fmt: skip
        buckets = -(-(end - start) // bucket_us)
        if bucket_us >= MINUTE_US and 0 < buckets <= _MAX_ROLLUP_BUCKETS:
            for table, (lo, hi, k) in rollup_pieces(start, end, bucket_us).items():
                params |= {f"{table}_lo": lo, f"{table}_hi": hi, f"{table}_k": k}
            query = _DOWNSAMPLE_ROLLUPS
        else:
            query = _DOWNSAMPLE_RAW
        cols = self._columns(query, params, _DOWNSAMPLE_FIELDS)
        return pa.table(
            {
                "bucket": _ts_array(cols["bucket"]),
                **{c: pa.array(cols[c], pa.float64()) for c in ("min", "max", "avg", "last")},
                "count": pa.array(cols["count"], pa.int64()),
            }
        )

    def downsample_raw(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        """:meth:`downsample` from the points alone, never the rollups (to check and to time
        them against)."""
        params = {"sid": signal_id, "start": start, "end": end, "bucket": bucket_us}
        cols = self._columns(_DOWNSAMPLE_RAW, params, _DOWNSAMPLE_FIELDS)
        return pa.table(
            {
                "bucket": _ts_array(cols["bucket"]),
                **{c: pa.array(cols[c], pa.float64()) for c in ("min", "max", "avg", "last")},
                "count": pa.array(cols["count"], pa.int64()),
            }
        )

    def latest(self, signal_ids: Sequence[int] | None = None) -> pa.Table:
        if signal_ids is not None and not signal_ids:
            return POINT_SCHEMA.empty_table()
        where = "" if signal_ids is None else "WHERE signal_id = ANY(%(ids)s)"
        params = {} if signal_ids is None else {"ids": [int(i) for i in signal_ids]}
        query = f"SELECT ts, signal_id, value, quality FROM latest {where} ORDER BY signal_id"
        return _point_table(self._columns(query, params, _POINT_FIELDS))

    def events(
        self,
        start: int,
        end: int,
        equipment: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        where = f"ts >= {_to_ts('%(start)s::int8')} AND ts < {_to_ts('%(end)s::int8')}"
        params: dict[str, object] = {"start": int(start), "end": int(end)}
        if equipment is not None:
            where += f" AND {_EQUIPMENT_MATCH}"
            params["eq"] = equipment.rstrip("/")
        if kinds is not None:
            where += " AND kind = ANY(%(kinds)s)"
            params["kinds"] = list(kinds)
        # Microseconds, not timestamptz: no Python datetime per event on the way to Arrow.
        columns = "ts, equipment, kind, code, value, detail"
        select = f"SELECT id, {columns} FROM events WHERE {where}"
        if limit is None:
            query = f"{select} ORDER BY ts, id"
        else:  # the newest events: the ones a person looking at a range wants to see
            query = (
                f"SELECT * FROM ({select} ORDER BY ts DESC, id DESC LIMIT {int(limit)}) AS n "
                "ORDER BY ts, id"
            )
        rows = self._fetch(
            f"SELECT (extract(epoch FROM ts) * 1000000)::int8, equipment, kind, code, value, "
            f"detail FROM ({query}) AS q",
            params,
        )
        cols = _transpose(rows, 6)
        return pa.Table.from_arrays(
            [
                pa.array(cols[0], pa.int64()).cast(EVENT_SCHEMA.field("ts").type),
                *(
                    pa.array(c, f.type)
                    for c, f in zip(cols[1:], list(EVENT_SCHEMA)[1:], strict=True)
                ),
            ],
            schema=EVENT_SCHEMA,
        )

    def state_durations(self, equipment: str, start: int, end: int) -> pa.Table:
        rows = self._fetch(
            _STATE_DURATIONS, {"eq": equipment.rstrip("/"), "start": int(start), "end": int(end)}
        )
        cols = _transpose(rows, 3)
        return pa.table(
            {
                "equipment": pa.array(cols[0], pa.string()),
                "state": pa.array(cols[1], pa.string()),
                "seconds": pa.array(cols[2], pa.float64()),
            }
        )

    def count_points(
        self, signal_ids: Sequence[int] | None = None, start: int | None = None,
        end: int | None = None,
    ) -> int:  # fmt: skip
        # Chunks wholly inside the range count by their n; only those of its first and last
        # minute are unnested.
        where, params = ["true"], dict[str, object]()
        inside = ["true"]
        if signal_ids is not None:
            where.append("signal_id = ANY(%(ids)s)")
            params["ids"] = [int(i) for i in signal_ids]
        if start is not None:
            where.append(f"bucket >= date_bin('1 minute', {_to_ts('%(start)s::int8')}, {_ORIGIN})")
            inside.append(f"bucket >= {_to_ts('%(start)s::int8')}")
            params["start"] = int(start)
        if end is not None:
            where.append(f"bucket < {_to_ts('%(end)s::int8')}")
            inside.append(f"bucket + INTERVAL '1 minute' <= {_to_ts('%(end)s::int8')}")
            params["end"] = int(end)
        in_range = " AND ".join(
            [f"t >= {_to_ts('%(start)s::int8')}"] * (start is not None)
            + [f"t < {_to_ts('%(end)s::int8')}"] * (end is not None)
        )
        partly = f"(SELECT count(*) FROM unnest(ts) AS t WHERE {in_range})" if in_range else "n"
        ((n,),) = self._fetch(
            f"SELECT coalesce(sum(CASE WHEN {' AND '.join(inside)} THEN n ELSE {partly} END), 0) "
            f"FROM point_chunks WHERE {' AND '.join(where)}",
            params,
        )
        return int(n)

    def earliest(self, signal_ids: Sequence[int]) -> pa.Table:
        if not signal_ids:
            return POINT_SCHEMA.empty_table()
        # Index probes per signal and day partition for its first minute, whose chunks are
        # unnested.
        query = (
            "SELECT p.ts, s.id, p.value, p.quality FROM unnest(%(ids)s::int4[]) s(id) "
            "CROSS JOIN LATERAL (SELECT u.* FROM point_chunks c, "
            "unnest(c.ts, c.value, c.quality) AS u(ts, value, quality) "
            "WHERE c.signal_id = s.id AND c.bucket = "
            "(SELECT min(bucket) FROM point_chunks WHERE signal_id = s.id) "
            "ORDER BY u.ts LIMIT 1) p "
            "ORDER BY s.id"
        )
        params = {"ids": [int(i) for i in signal_ids]}
        return _point_table(self._columns(query, params, _POINT_FIELDS))

    # --- settings ----------------------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        rows = self._fetch("SELECT value FROM settings WHERE key = %(key)s", {"key": key})
        return str(rows[0][0]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        with self._write_lock:
            try:
                self._live_writer().execute(
                    "INSERT INTO settings VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )
            except psycopg.Error as exc:
                raise StoreError(f"setting {key!r} failed: {exc}") from exc

    # --- retention ---------------------------------------------------------------------------
    def apply_retention(self, now: int | None = None) -> RetentionReport:
        """Drop the day partitions older than every class's retention, then delete the older
        points (and 1-minute rollups) of the classes kept less long: whole chunks before the
        cutoff's minute, and the older part of that minute's chunks. Run it daily or so."""
        policy = self.retention()
        now = now_us() if now is None else now
        roles = [str(r) for (r,) in self._fetch("SELECT DISTINCT role FROM signals")]
        cutoffs = retention_cutoffs(policy, roles, now)
        finite = [c for c in cutoffs.values() if c is not None]
        # A day can go as a whole once every class is done with it.
        drop_before = min(finite) if finite and len(finite) == len(cutoffs) else None
        dropped: list[str] = []
        deleted = 0
        with self._write_lock:
            try:
                conn = self._live_writer()
                self._load_partitions()
                if drop_before is not None:
                    for day in sorted(self._days):
                        if (day + 1) * DAY_US <= drop_before:
                            name = _partition_name(day)
                            # IF EXISTS: another worker's maintain() may have dropped it.
                            conn.execute(
                                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name))
                            )
                            dropped.append(name)
                    self._load_partitions()
                with conn.transaction():
                    for role, cutoff in sorted(cutoffs.items()):
                        if cutoff is None:
                            continue
                        params = {"role": role, "cutoff": cutoff}
                        row = conn.execute(_RETAIN_POINTS, params).fetchone()
                        deleted += int(row[0]) if row else 0
                        conn.execute(_RETAIN_ROLLUPS, params)
            except psycopg.Error as exc:
                raise StoreError(f"applying retention failed: {exc}") from exc
        return RetentionReport(dropped, deleted)

    def close(self) -> None:
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._closed = True
            for conn in [*self._readers, self._writer]:
                with suppress(psycopg.Error):
                    conn.close()


def _transpose(rows: list[Any], width: int) -> list[list[Any]]:
    """Columns of a small result (events, states: not points) fetched as rows."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _iso(us: int) -> str:
    return str(np.datetime64(us, "us")) + "Z"


def events_copy(events: EventBatch) -> bytes:
    """``events`` as a binary COPY stream for ``events (ts, equipment, kind, code, value,
    detail)``. Through Arrow first, which rejects what the table could not hold (a missing or
    non-text field) before anything is sent. A batch repeats a few equipment, kinds and codes
    (a count event per part made), so each distinct text is encoded once; the fixed-width fields
    are laid out by NumPy."""
    try:
        table = pa.Table.from_batches([events.to_arrow()])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"events batch of {len(events)}: invalid column value: {exc}") from exc
    texts = []
    for name in ("equipment", "kind", "code", "detail"):
        if table.column(name).null_count:
            raise StoreError(
                f"events batch of {len(events)}: {name} missing; none of the batch was stored"
            )
        texts.append(table.column(name).to_pylist())
    fields: dict[str, bytes] = {}

    def field(text: str) -> bytes:
        found = fields.get(text)
        if found is None:
            data = text.encode()
            found = fields[text] = len(data).to_bytes(4, "big") + data
        return found

    head = np.empty(len(events), _EVENT_HEAD)
    head["fields"], head["ts_len"], head["ts"] = 6, 8, events.ts - PG_EPOCH_US
    value = np.empty(len(events), _EVENT_VALUE)
    value["len"], value["value"] = 8, events.value
    heads = memoryview(head.tobytes())
    values = memoryview(value.tobytes())
    h, v = _EVENT_HEAD.itemsize, _EVENT_VALUE.itemsize
    parts: list[bytes | memoryview] = [_COPY_HEADER]
    for i, (equipment, kind, code, detail) in enumerate(zip(*texts, strict=True)):
        parts += (heads[i * h : (i + 1) * h], field(equipment), field(kind), field(code),
                  values[i * v : (i + 1) * v], field(detail))  # fmt: skip
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


_EVENT_HEAD = np.dtype([("fields", ">i2"), ("ts_len", ">i4"), ("ts", ">i8")])
_EVENT_VALUE = np.dtype([("len", ">i4"), ("value", ">f8")])


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL"
    host, db = info.get("host", "localhost"), info.get("dbname", "")
    return f"postgresql://{host}:{info.get('port', 5432)}/{db}"
