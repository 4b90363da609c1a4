"""The store class: connections, catalogue, appends in one transaction, reads, settings."""

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

from smartfab.model.plant import ValueKind
from smartfab.platform.counters import Segments
from smartfab.platform.order import sort_by_signal_ts, superseded
from smartfab.platform.points import (
    EVENT_SCHEMA,
    POINT_SCHEMA,
    AnyPoints,
    ArrayBatch,
    EventBatch,
    PointBatch,
    TextBatch,
    now_us,
)
from smartfab.platform.store import migrations
from smartfab.platform.store.base import (
    KnownSignals,
    RetentionReport,
    SignalInfo,
    Store,
    StoreError,
    arrow_of,
    key_order,
    retention_cutoffs,
)
from smartfab.platform.store.postgres.fresh import fresh_points
from smartfab.platform.store.postgres.retention import create_partitions, partition_days, retain
from smartfab.platform.store.postgres.statements import (
    CHUNK_RUN_FIELDS,
    CHUNK_RUNS,
    DOWNSAMPLE_FIELDS,
    DOWNSAMPLE_RAW,
    DOWNSAMPLE_ROLLUPS,
    EQUIPMENT_MATCH,
    GIVEN,
    MAX_ROLLUP_BUCKETS,
    ORIGIN,
    ROLLUPS,
    SIGNAL_COLUMNS,
    STAGE,
    STATE_DURATIONS,
    UPSERT_LATEST,
    VALUE_TABLES,
    insert_values,
    points_sql,
    rollup_pieces,
    rollup_upsert,
    to_ts,
    values_sql,
)
from smartfab.platform.store.postgres.wire import (
    BYTES,
    MINUTE_US,
    POINT_FIELDS,
    VALUE_KINDS,
    arrays_copy,
    chunks_copy,
    copy_arrays,
    copy_out,
    events_copy,
    pgcopy,
    point_table,
    rollup_partials,
    runs,
    texts_copy,
    ts_array,
    values_table,
)

Connection = psycopg.Connection[tuple[Any, ...]]


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
        levels = [rollup_partials(fresh, width) for width in ROLLUPS.values()]
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
        self._known = KnownSignals()
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
            self._writer.execute(STAGE)
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
            self._writer.execute(STAGE)
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
            return copy_out(self._reader().cursor(), sql.SQL(query), params, fields)
        except psycopg.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    # --- catalogue ---------------------------------------------------------------------------
    def _load_catalogue(self) -> None:
        rows = self._writer.execute("SELECT id, data_type FROM signals")
        self._known.add((int(i), str(t)) for i, t in rows)

    def register_signals(self, signals: Sequence[SignalInfo]) -> dict[str, int]:
        given = {s.path: s for s in signals}  # a path given twice: the last metadata wins
        if not given:
            return {}
        rows = list(given.values())
        params = {
            col: [getattr(s, col) for s in rows] for col in [*SIGNAL_COLUMNS.split(", "), "length"]
        }
        with self._write_lock:
            conn = self._live_writer()
            try:
                with conn.transaction():
                    conn.execute(
                        GIVEN + "UPDATE signals s SET equipment = g.equipment, name = g.name, "
                        "unit = g.unit, data_type = g.data_type, role = g.role, low = g.low, "
                        "high = g.high, source = g.source, length = g.length FROM given g "
                        "WHERE s.path = g.path",
                        params,
                    )
                    # New paths get ids in the order given; a concurrent registration of the
                    # same path by another worker wins, and its id is the one returned.
                    conn.execute(
                        GIVEN + f"INSERT INTO signals ({SIGNAL_COLUMNS}, length) "
                        f"SELECT {SIGNAL_COLUMNS}, length FROM given g WHERE NOT EXISTS "
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
        rows = self._fetch(f"SELECT {SIGNAL_COLUMNS}, id, length FROM signals ORDER BY id")
        return [SignalInfo(*row) for row in rows]

    def _check_known(self, batch: AnyPoints) -> None:
        try:
            self._known.check(batch)
        except StoreError:  # another process may have registered them since
            with self._write_lock:
                self._load_catalogue()
            self._known.check(batch)

    # --- writing -----------------------------------------------------------------------------
    def _load_partitions(self) -> None:
        self._days = partition_days(self._writer)

    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        """Points go in as per-minute chunks by one binary COPY, with ``latest`` and the rollups
        of exactly the new points; texts and arrays by a binary COPY each into a staging table,
        from which the new ones move to their tables; and the events: all in one transaction, so
        re-sent points are stored and counted once, and a failure stores nothing."""
        others = [b for b in (texts, arrays) if b is not None and len(b)]
        if len(points) == 0 and len(events) == 0 and not others:
            return 0, 0
        n = len(points) + sum(len(b) for b in others)
        what = f"appending {n} points and {len(events)} events"
        event_stream = events_copy(events) if len(events) else None
        for b in (points, *others):  # every batch checked before anything is stored
            self._check_known(b)
        # (signal, ts) order: the last duplicate wins, and chunks and rollup groups are runs.
        batch = sort_by_signal_ts(points)
        dup = superseded(batch)
        if dup.any():
            batch = batch.take(~dup)
        # Laid out before the transaction, as if every point were new (nearly always so): the
        # signals' locks are held only for the database's work, never for ours.
        rows = _Rows.of(batch) if len(batch) else None
        staged = [_staged(b) for b in others]
        days = np.concatenate([batch.ts, *(b.ts for b in others)])
        fresh = PointBatch.empty()
        stored = 0
        with self._write_lock:
            try:
                conn = self._live_writer()
                if len(days):
                    create_partitions(conn, self._days, days)
                with conn.transaction(), conn.cursor() as cur:
                    if len(batch):
                        fresh = fresh_points(cur, batch)
                        if len(fresh) < len(batch):  # some are stored already
                            rows = _Rows.of(fresh) if len(fresh) else None
                    if rows is not None:
                        self._insert_rows(cur, rows)
                    for kind, stream in staged:
                        stored += self._insert_values(cur, kind, stream)
                    if event_stream is not None:
                        self._insert_events(cur, event_stream)
            except psycopg.Error as exc:
                if exc.sqlstate == "23514":  # no partition for a row: retention dropped it
                    self._load_partitions()
                raise StoreError(f"{what} failed, nothing was stored: {exc}") from exc
        return len(fresh) + stored, len(events)

    @staticmethod
    def _insert_values(cur: psycopg.Cursor[Any], kind: ValueKind, stream: bytes) -> int:
        """Texts or arrays from their COPY stream; returns how many were new."""
        with cur.copy(
            f"COPY stage_{kind}_points (ts, signal_id, quality, value) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(stream)
        insert, latest = insert_values(kind)
        new = cur.execute(insert).rowcount  # type: ignore[arg-type]
        cur.execute(latest)  # type: ignore[arg-type]
        return new

    @staticmethod
    def _insert_rows(cur: psycopg.Cursor[Any], rows: _Rows) -> None:
        with cur.copy(
            "COPY point_chunks (signal_id, bucket, n, ts, value, quality) FROM STDIN "
            "(FORMAT BINARY)"
        ) as c:
            c.write(rows.chunks)
        cur.execute(UPSERT_LATEST, rows.latest)
        with cur.copy("COPY stage_rollups FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(rows.rollups)
        for table, width in ROLLUPS.items():
            cur.execute(rollup_upsert(table, width))

    @staticmethod
    def _insert_events(cur: psycopg.Cursor[Any], stream: bytes) -> None:
        # In stream order, so the ids (the order of events of the same time) follow the batch.
        with cur.copy(
            "COPY events (ts, equipment, kind, code, value, detail) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(stream)

    # --- reading -----------------------------------------------------------------------------
    def _raw(self, signal_ids: Sequence[int], start: int, end: int, limit: int | None) -> pa.Table:
        if not signal_ids:
            return POINT_SCHEMA.empty_table()
        query = points_sql("c.signal_id = ANY(%(ids)s)", "%(start)s::int8", "%(end)s::int8") + (
            " ORDER BY c.signal_id, u.ts" + (f" LIMIT {int(limit)}" if limit is not None else "")
        )
        params = {"ids": [int(i) for i in signal_ids], "start": int(start), "end": int(end)}
        return point_table(self._columns(query, params, POINT_FIELDS))

    def _downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        params: dict[str, object] = {
            "sid": int(signal_id), "start": int(start), "end": int(end), "bucket": int(bucket_us)
        }  # fmt: skip
        buckets = -(-(end - start) // bucket_us)
        if bucket_us >= MINUTE_US and 0 < buckets <= MAX_ROLLUP_BUCKETS:
            for table, (lo, hi, k) in rollup_pieces(start, end, bucket_us).items():
                params |= {f"{table}_lo": lo, f"{table}_hi": hi, f"{table}_k": k}
            query = DOWNSAMPLE_ROLLUPS
        else:
            query = DOWNSAMPLE_RAW
        cols = self._columns(query, params, DOWNSAMPLE_FIELDS)
        return pa.table(
            {
                "bucket": ts_array(cols["bucket"]),
                **{c: pa.array(cols[c], pa.float64()) for c in ("min", "max", "avg", "last")},
                "count": pa.array(cols["count"], pa.int64()),
            }
        )

    def _increases(self, signal_ids: list[int], start: int, end: int, bucket_us: int) -> pa.Table:
        if bucket_us % MINUTE_US:
            return super()._increases(signal_ids, start, end, bucket_us)
        a = -(-start // MINUTE_US) * MINUTE_US  # the whole minutes of the range: [a, z)
        z = end // MINUTE_US * MINUTE_US
        if a >= z:
            a = z = start
        cols = self._columns(CHUNK_RUNS, {"ids": signal_ids, "a": a, "z": z}, CHUNK_RUN_FIELDS)
        parts = [Segments.of_columns(cols)]
        for lo, hi in ((start, a), (z, end)):  # the partial minutes at the ends, from the points
            if lo < hi:
                t = self._raw(signal_ids, lo, hi, None)
                sid = t.column("signal_id").to_numpy().astype(np.int64)
                ts = t.column("ts").cast(pa.int64()).to_numpy()
                parts.append(Segments.of_points(sid, ts, t.column("value").to_numpy()))
        return self._increases_of_runs(Segments.merged(parts), signal_ids, start, end, bucket_us)

    def downsample_raw(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        """:meth:`downsample` from the points alone, never the rollups (to check and to time
        them against)."""
        params = {"sid": signal_id, "start": start, "end": end, "bucket": bucket_us}
        cols = self._columns(DOWNSAMPLE_RAW, params, DOWNSAMPLE_FIELDS)
        return pa.table(
            {
                "bucket": ts_array(cols["bucket"]),
                **{c: pa.array(cols[c], pa.float64()) for c in ("min", "max", "avg", "last")},
                "count": pa.array(cols["count"], pa.int64()),
            }
        )

    def _latest(self, signal_ids: Sequence[int] | None) -> pa.Table:
        if signal_ids is not None and not signal_ids:
            return POINT_SCHEMA.empty_table()
        where = "" if signal_ids is None else "WHERE signal_id = ANY(%(ids)s)"
        params = {} if signal_ids is None else {"ids": [int(i) for i in signal_ids]}
        query = f"SELECT ts, signal_id, value, quality FROM latest {where} ORDER BY signal_id"
        return point_table(self._columns(query, params, POINT_FIELDS))

    def _raw_values(
        self, kind: ValueKind, signal_ids: Sequence[int], start: int, end: int, limit: int | None
    ) -> pa.Table:
        where = (
            f"signal_id = ANY(%(ids)s) AND ts >= {to_ts('%(start)s::int8')} "
            f"AND ts < {to_ts('%(end)s::int8')}"
        )
        params = {"ids": [int(i) for i in signal_ids], "start": int(start), "end": int(end)}
        return self._values(kind, VALUE_TABLES[kind][0], where, params, limit)

    def _latest_values(self, kind: ValueKind, signal_ids: Sequence[int] | None) -> pa.Table:
        if signal_ids is None:
            return self._values(kind, VALUE_TABLES[kind][1], "true", {}, None)
        params = {"ids": [int(i) for i in signal_ids]}
        return self._values(kind, VALUE_TABLES[kind][1], "signal_id = ANY(%(ids)s)", params, None)

    def _values(
        self, kind: ValueKind, table: str, where: str, params: Mapping[str, object],
        limit: int | None,
    ) -> pa.Table:  # fmt: skip
        query = sql.SQL(values_sql(kind, table, where, limit))  # type: ignore[arg-type]
        kinds = [*VALUE_KINDS, BYTES if kind == "text" else ">f8"]
        try:
            cols = copy_arrays(self._reader().cursor(), query, params, kinds)
        except psycopg.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc
        return values_table(kind, cols)

    def _events(
        self,
        start: int,
        end: int,
        equipment: str | None,
        kinds: list[str] | None,
        limit: int | None,
    ) -> pa.Table:
        where = f"ts >= {to_ts('%(start)s::int8')} AND ts < {to_ts('%(end)s::int8')}"
        params: dict[str, object] = {"start": int(start), "end": int(end)}
        if equipment is not None:
            where += f" AND {EQUIPMENT_MATCH}"
            params["eq"] = equipment
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

    def _state_durations(self, equipment: str, start: int, end: int) -> pa.Table:
        rows = self._fetch(STATE_DURATIONS, {"eq": equipment, "start": int(start), "end": int(end)})
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
            where.append(f"bucket >= date_bin('1 minute', {to_ts('%(start)s::int8')}, {ORIGIN})")
            inside.append(f"bucket >= {to_ts('%(start)s::int8')}")
            params["start"] = int(start)
        if end is not None:
            where.append(f"bucket < {to_ts('%(end)s::int8')}")
            inside.append(f"bucket + INTERVAL '1 minute' <= {to_ts('%(end)s::int8')}")
            params["end"] = int(end)
        in_range = " AND ".join(
            [f"t >= {to_ts('%(start)s::int8')}"] * (start is not None)
            + [f"t < {to_ts('%(end)s::int8')}"] * (end is not None)
        )
        partly = f"(SELECT count(*) FROM unnest(ts) AS t WHERE {in_range})" if in_range else "n"
        values_where = " AND ".join(
            ["true"] + ["signal_id = ANY(%(ids)s)"] * (signal_ids is not None)
            + [f"ts >= {to_ts('%(start)s::int8')}"] * (start is not None)
            + [f"ts < {to_ts('%(end)s::int8')}"] * (end is not None)
        )  # fmt: skip
        values = " + ".join(
            f"(SELECT count(*) FROM {points} WHERE {values_where})"
            for points, _ in VALUE_TABLES.values()
        )
        ((n,),) = self._fetch(
            f"SELECT coalesce(sum(CASE WHEN {' AND '.join(inside)} THEN n ELSE {partly} END), 0) "
            f"+ {values} FROM point_chunks WHERE {' AND '.join(where)}",
            params,
        )
        return int(n)

    def _earliest_values(self, kind: ValueKind, signal_ids: Sequence[int]) -> pa.Table:
        # An index probe per signal: its first (signal_id, ts) key.
        first = (
            "(SELECT p.* FROM unnest(%(ids)s::int4[]) s(id) CROSS JOIN LATERAL "
            f"(SELECT * FROM {VALUE_TABLES[kind][0]} WHERE signal_id = s.id ORDER BY ts "
            "LIMIT 1) p) AS first"
        )
        return self._values(kind, first, "true", {"ids": [int(i) for i in signal_ids]}, None)

    def _earliest(self, signal_ids: Sequence[int]) -> pa.Table:
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
        return point_table(self._columns(query, params, POINT_FIELDS))

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
        """Apply the retention policy (see :func:`.retention.retain`). Run it daily or so."""
        now = now_us() if now is None else now
        roles = [str(r) for (r,) in self._fetch("SELECT DISTINCT role FROM signals")]
        cutoffs = retention_cutoffs(self.retention(), roles, now)
        with self._write_lock:
            try:
                dropped, deleted = retain(self._live_writer(), cutoffs)
                self._load_partitions()
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


def _staged(batch: TextBatch | ArrayBatch) -> tuple[ValueKind, bytes]:
    """A batch of texts or arrays as the COPY stream of its staging table, the last of each
    (signal, ts) kept."""
    order = key_order(batch)
    if order is not None:
        batch = batch.take(order[0])
    rows = arrow_of(batch)  # StoreError for a value no store can hold
    if isinstance(batch, TextBatch):
        return "text", texts_copy(batch, rows.column("value"))
    return "array", arrays_copy(batch)


def _transpose(rows: list[Any], width: int) -> list[list[Any]]:
    """Columns of a small result (events, states: not points) fetched as rows."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL"
    host, db = info.get("host", "localhost"), info.get("dbname", "")
    return f"postgresql://{host}:{info.get('port', 5432)}/{db}"
