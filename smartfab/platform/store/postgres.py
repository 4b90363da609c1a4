"""The server store: PostgreSQL (psycopg 3), for several ingestion workers and one database.

Layout, and why:

* ``points(ts, signal_id, quality, value)`` is range-partitioned by ``ts``, one partition per UTC
  day, created on demand before the append that needs it. A time-range query touches only its
  days' partitions, and retention drops whole days instead of deleting rows one by one.
* The primary key (signal_id, ts) is the index of every per-signal range query, and it is what
  keeps a point sent twice, even by two workers, from being stored twice. A batch goes straight
  into ``points`` by binary COPY (built column-wise with NumPy, never a Python object per point),
  sorted by (signal, ts) so that index inserts stay on the same leaf pages. Which points are new
  is judged by per-signal high-water marks held in memory (the newest stored ts, as in the DuckDB
  store): points above their mark are new, points at or below it (late or re-sent, rare) are
  looked up by key. The marks are only a hint here, since another worker may have written since
  they were read; the primary key then refuses the COPY, the transaction is rolled back, and one
  retry with marks reloaded from ``latest`` stores exactly what is missing. Staging every batch
  and ``INSERT ... ON CONFLICT DO NOTHING`` was measured at less than half the rate.
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


def _copy_out(
    cur: psycopg.Cursor[Any],
    query: sql.Composable,
    params: Mapping[str, object],
    fields: Sequence[tuple[str, str]],
) -> dict[str, npt.NDArray[Any]]:
    """Run ``query`` as a binary COPY and return its columns as native NumPy arrays. Every field
    must be fixed-width and never NULL (then every row has the same size)."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    with cur.copy(statement, params) as copy:
        data = b"".join(copy)
    ext = int.from_bytes(data[15:19], "big")
    body = memoryview(data)[19 + ext : len(data) - 2]
    dtype = _row_dtype(fields)
    if len(body) % dtype.itemsize:
        raise StoreError(f"query result is not {len(fields)} fixed-width non-null columns")
    rows = np.frombuffer(body, dtype)
    for name, kind in fields:
        if np.any(rows[f"_{name}_len"] != np.dtype(kind).itemsize):
            raise StoreError(f"query result column {name!r} holds NULL or is not {kind}")
    return {name: rows[name].astype(np.dtype(kind).newbyteorder("=")) for name, kind in fields}


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

# Session-local, emptied by every commit: keys of late points to look up, and the partial rollups
# of a batch.
_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS stage_keys (
    i integer NOT NULL, signal_id integer NOT NULL, ts timestamptz NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS stage_rollups (
    width bigint NOT NULL, signal_id integer NOT NULL, bucket timestamptz NOT NULL,
    min double precision NOT NULL, max double precision NOT NULL, sum double precision NOT NULL,
    count bigint NOT NULL, last_ts timestamptz NOT NULL, last_value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""

_STORED_KEYS = """
SELECT k.i FROM stage_keys k
WHERE EXISTS (SELECT FROM points p WHERE p.signal_id = k.signal_id AND p.ts = k.ts)
"""

_NEVER = np.iinfo(np.int64).min  # high-water mark of a signal without points


def rollup_partials(batch: PointBatch, width_us: int) -> dict[str, tuple[npt.NDArray[Any], str]]:
    """Per (signal, bucket of ``width_us``): min, max, sum, count and last of the points of a
    (signal, ts)-sorted batch that are not BAD, as binary COPY columns for ``stage_rollups``."""
    batch = batch.take(batch.quality < _BAD)
    ts, sid, value = batch.ts, batch.signal_id, batch.value
    bucket = ts // width_us * width_us
    first = np.flatnonzero(
        np.concatenate([[len(batch) > 0], (sid[1:] != sid[:-1]) | (bucket[1:] != bucket[:-1])])
    )
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
FROM points WHERE signal_id = %(sid)s AND ts >= {_to_ts("%(start)s::int8")}
    AND ts < {_to_ts("%(end)s::int8")} AND quality < {_BAD}
GROUP BY b ORDER BY b
"""


def _pieces_sql(source: str) -> str:
    """The aggregates of each piece of one source (a rollup table or the points). LATERAL with an
    aggregate inside cannot be flattened into a join, so every piece is one index range scan: left
    to choose, the planner (which cannot size unnest()ed arrays) was seen hash-joining the pieces
    against whole partitions in parallel, a minute instead of a fraction of a second."""
    if source == "points":
        inner = (
            f"SELECT min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count, "
            f"max(ts) AS last_ts, {_last('value', 'ts')} AS last_value FROM points "
            f"WHERE signal_id = %(sid)s AND ts >= {_to_ts('e.lo')} AND ts < {_to_ts('e.hi')} "
            f"AND quality < {_BAD}"
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


def _partition_name(day: int) -> str:
    return "points_" + np.datetime_as_string(np.datetime64(day, "D")).replace("-", "")


def _day_of(name: str) -> int | None:
    digits = name.removeprefix("points_")
    if len(digits) != 8 or not digits.isdigit():
        return None
    iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return int(np.datetime64(iso, "D").astype(np.int64))


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
        # Indexed by signal id: catalogued? and the newest ts stored (a hint, see append()).
        self._known = np.zeros(0, np.bool_)
        self._hwm: npt.NDArray[np.int64] = np.zeros(0, np.int64)
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
            self._load_marks()
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
            self._hwm = np.concatenate([self._hwm, np.full(size - len(self._hwm), _NEVER)])
        self._known[ids] = True

    def _load_marks(self) -> None:
        """High-water marks from ``latest``: at open, and when another writer moved them."""
        cols = _copy_out(
            self._writer.cursor(),
            sql.SQL("SELECT signal_id, ts FROM latest"),
            {},
            [("signal_id", ">i4"), ("ts", ">i8")],
        )
        self._load_catalogue()
        self._hwm[:] = _NEVER
        self._hwm[cols["signal_id"]] = cols["ts"] + PG_EPOCH_US

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
            "WHERE i.inhparent = 'points'::regclass"
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
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF points "
                        "FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(_partition_name(day)),
                        sql.Literal(_iso(day * DAY_US)),
                        sql.Literal(_iso((day + 1) * DAY_US)),
                    )
                )
        self._days.update(missing)

    def append(self, points: PointBatch, events: EventBatch) -> tuple[int, int]:
        """Points go straight into ``points`` by binary COPY, the fastest way PostgreSQL takes
        rows, with the primary key as the guard of uniqueness. Which points are new is judged by
        per-signal high-water marks (the newest stored ts): a point above its mark is new unless
        another writer stored it since the marks were read, which the primary key then reports
        and one retry with fresh marks resolves; points at or below the mark (late or re-sent,
        rare) are looked up. ``latest`` and the rollups get exactly the new points, so re-sent
        points are counted once."""
        if len(points) == 0 and len(events) == 0:
            return 0, 0
        what = f"appending {len(points)} points and {len(events)} events"
        event_params = _event_params(events) if len(events) else None
        self._check_known(points)
        # (signal, ts) order: the last duplicate wins, index inserts stay on the same leaf pages,
        # and rollup groups are contiguous.
        batch = sort_by_signal_ts(points)
        batch = batch.take(~superseded(batch))
        with self._write_lock:
            for attempt in range(2):
                try:
                    conn = self._live_writer()
                    if len(batch):
                        self._ensure_partitions(conn, batch.ts)
                    with conn.transaction(), conn.cursor() as cur:
                        fresh = self._fresh(cur, batch)
                        if len(fresh):
                            self._insert_points(cur, fresh)
                        if event_params is not None:
                            self._insert_events(cur, event_params)
                    break
                except psycopg.errors.UniqueViolation as exc:
                    if attempt:
                        raise StoreError(f"{what} failed, nothing was stored: {exc}") from exc
                    self._load_marks()  # another writer stored some of them meanwhile
                except psycopg.Error as exc:
                    if exc.sqlstate == "23514":  # no partition for a row: retention dropped it
                        self._load_partitions()
                    raise StoreError(f"{what} failed, nothing was stored: {exc}") from exc
            if len(fresh):
                np.maximum.at(self._hwm, fresh.signal_id, fresh.ts)
        return len(fresh), len(events)

    def _fresh(self, cur: psycopg.Cursor[Any], batch: PointBatch) -> PointBatch:
        """The points of a deduplicated batch that are not stored yet."""
        late = batch.ts <= self._hwm[batch.signal_id]
        if not late.any():
            return batch
        idx = np.flatnonzero(late)
        keys: dict[str, tuple[npt.NDArray[Any], str]] = {
            "i": (idx, ">i4"),
            "signal_id": (batch.signal_id[idx], ">i4"),
            "ts": (batch.ts[idx] - PG_EPOCH_US, ">i8"),
        }
        with cur.copy("COPY stage_keys FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pgcopy(keys))
        # The staged keys have no statistics; left to itself the planner may hash-join them
        # against every row of the partitions. One index probe per key is what is wanted.
        cur.execute("SET LOCAL enable_hashjoin = off")
        cur.execute("SET LOCAL enable_mergejoin = off")
        stored = _copy_out(cur, sql.SQL(_STORED_KEYS), {}, [("i", ">i4")])["i"]
        fresh = np.ones(len(batch), np.bool_)
        fresh[stored] = False
        return batch.take(fresh)

    @staticmethod
    def _insert_points(cur: psycopg.Cursor[Any], fresh: PointBatch) -> None:
        with cur.copy(
            "COPY points (ts, signal_id, quality, value) FROM STDIN (FORMAT BINARY)"
        ) as c:
            c.write(points_copy(fresh))
        newest = np.flatnonzero(np.append(fresh.signal_id[1:] != fresh.signal_id[:-1], True))
        cur.execute(
            _UPSERT_LATEST,
            {
                "signal_id": fresh.signal_id[newest].tolist(),  # one per signal, not per point
                "ts": fresh.ts[newest].tolist(),
                "value": fresh.value[newest].tolist(),
                "quality": fresh.quality[newest].tolist(),
            },
        )
        levels = [rollup_partials(fresh, width) for width in _ROLLUPS.values()]
        partials = {
            name: (np.concatenate([level[name][0] for level in levels]), kind)
            for name, (_, kind) in levels[0].items()
        }
        with cur.copy("COPY stage_rollups FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pgcopy(partials))
        for table, width in _ROLLUPS.items():
            cur.execute(_rollup_upsert(table, width))

    @staticmethod
    def _insert_events(cur: psycopg.Cursor[Any], params: dict[str, list[Any]]) -> None:
        cur.execute(
            "INSERT INTO events (ts, equipment, kind, code, value, detail) "
            f"SELECT {_to_ts('t')}, e, k, c, v, d FROM unnest(%(ts)s::int8[], "
            "%(equipment)s::text[], %(kind)s::text[], %(code)s::text[], %(value)s::float8[], "
            "%(detail)s::text[]) WITH ORDINALITY AS x(t, e, k, c, v, d, o) ORDER BY o",
            params,
        )

    # --- reading -----------------------------------------------------------------------------
    def raw(
        self, signal_ids: Sequence[int], start: int, end: int, limit: int | None = None
    ) -> pa.Table:
        if not signal_ids:
            return POINT_SCHEMA.empty_table()
        query = (
            "SELECT ts, signal_id, value, quality FROM points WHERE signal_id = ANY(%(ids)s) "
            f"AND ts >= {_to_ts('%(start)s::int8')} AND ts < {_to_ts('%(end)s::int8')} "
            "ORDER BY signal_id, ts" + (f" LIMIT {int(limit)}" if limit is not None else "")
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
        where, params = ["true"], dict[str, object]()
        if signal_ids is not None:
            where.append("signal_id = ANY(%(ids)s)")
            params["ids"] = [int(i) for i in signal_ids]
        if start is not None:
            where.append(f"ts >= {_to_ts('%(start)s::int8')}")
            params["start"] = int(start)
        if end is not None:
            where.append(f"ts < {_to_ts('%(end)s::int8')}")
            params["end"] = int(end)
        ((n,),) = self._fetch(f"SELECT count(*) FROM points WHERE {' AND '.join(where)}", params)
        return int(n)

    def earliest(self, signal_ids: Sequence[int]) -> pa.Table:
        if not signal_ids:
            return POINT_SCHEMA.empty_table()
        # One index probe per signal and day partition: the primary key is (signal_id, ts).
        query = (
            "SELECT p.ts, p.signal_id, p.value, p.quality FROM unnest(%(ids)s::int4[]) s(id) "
            "CROSS JOIN LATERAL (SELECT * FROM points WHERE signal_id = s.id "
            "ORDER BY ts LIMIT 1) p "
            "ORDER BY p.signal_id"
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
        points (and 1-minute rollups) of the classes kept less long. Run it daily or so."""
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
                        for table, column in (("points", "ts"), ("rollup_1m", "bucket")):
                            cur = conn.execute(
                                sql.SQL(
                                    "DELETE FROM {} WHERE {} < {} AND signal_id IN "
                                    "(SELECT id FROM signals WHERE role = %s)"
                                ).format(
                                    sql.Identifier(table),
                                    sql.Identifier(column),
                                    sql.Literal(_iso(cutoff)),
                                ),
                                [role],
                            )
                            deleted += cur.rowcount if table == "points" else 0
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


def _event_params(events: EventBatch) -> dict[str, list[Any]]:
    """The event columns as parameter lists; through Arrow first, which rejects what the table
    could not hold (a missing or non-text field) before anything is sent."""
    try:
        table = pa.Table.from_batches([events.to_arrow()])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"events batch of {len(events)}: invalid column value: {exc}") from exc
    for name in ("equipment", "kind", "code", "detail"):
        if table.column(name).null_count:
            raise StoreError(
                f"events batch of {len(events)}: {name} missing; none of the batch was stored"
            )
    params: dict[str, list[Any]] = {"ts": events.ts.tolist(), "value": events.value.tolist()}
    for name in ("equipment", "kind", "code", "detail"):
        params[name] = table.column(name).to_pylist()
    return params


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL"
    host, db = info.get("host", "localhost"), info.get("dbname", "")
    return f"postgresql://{host}:{info.get('port', 5432)}/{db}"
