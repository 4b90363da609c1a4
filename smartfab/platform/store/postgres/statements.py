"""The SQL of the store: rollup upserts, the signals' locks and marks, point and chunk queries,
downsampling over rollups, state durations. Text only: nothing here talks to the database."""

from __future__ import annotations

import numpy as np

from smartfab.platform.counters import STEP_SQL
from smartfab.platform.store.postgres.wire import BAD, HOUR_US, MINUTE_US

ROLLUPS: dict[str, int] = {"rollup_1h": HOUR_US, "rollup_1m": MINUTE_US}  # coarsest first
ORIGIN = "TIMESTAMPTZ '1970-01-01 00:00+00'"


def _last(value: str, ts: str) -> str:
    """SQL aggregate: ``value`` at the newest ``ts`` of the group."""
    return f"(array_agg({value} ORDER BY {ts} DESC))[1]"


def to_ts(us: str) -> str:
    """SQL turning an epoch-microsecond expression into a timestamptz, exactly."""
    return f"(TIMESTAMPTZ 'epoch' + ({us}) * INTERVAL '1 microsecond')"


def rollup_upsert(table: str, width_us: int) -> str:
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


UPSERT_LATEST = f"""
INSERT INTO latest AS l (signal_id, ts, value, quality)
SELECT s, {to_ts("t")}, v, q FROM unnest(%(signal_id)s::int4[], %(ts)s::int8[],
    %(value)s::float8[], %(quality)s::int2[]) AS n(s, t, v, q) ORDER BY s
ON CONFLICT (signal_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,
    quality = excluded.quality
WHERE excluded.ts > l.ts
"""

# Session-local, emptied by every commit: the partial rollups of a batch, and its text and array
# points on their way to their tables.
STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS stage_rollups (
    width bigint NOT NULL, signal_id integer NOT NULL, bucket timestamptz NOT NULL,
    min double precision NOT NULL, max double precision NOT NULL, sum double precision NOT NULL,
    count bigint NOT NULL, last_ts timestamptz NOT NULL, last_value double precision NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS stage_text_points (
    ts timestamptz NOT NULL, signal_id integer NOT NULL, quality smallint NOT NULL,
    value text NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMPORARY TABLE IF NOT EXISTS stage_array_points (
    ts timestamptz NOT NULL, signal_id integer NOT NULL, quality smallint NOT NULL,
    value double precision[] NOT NULL
) ON COMMIT DELETE ROWS
"""

# Per kind of value besides numbers ("text", "array"): its points' and latest values' tables.
VALUE_TABLES = {"text": ("text_points", "text_latest"), "array": ("array_points", "array_latest")}


def insert_values(kind: str) -> list[str]:
    """SQL moving the staged text or array points (deduplicated) into their table, each (signal,
    ts) once: a point stored already (re-sent, or stored by another worker first) is left out by
    the primary key; the first statement's row count is how many went in. Then ``latest`` takes
    each signal's newest staged point if it is newer than its own: a staged point left out is
    never newer than the latest value, which holds its stored twin or a newer one. Rows go in
    (signal, ts) order, so two writers inserting the same keys wait for each other instead of
    deadlocking."""
    points, latest = VALUE_TABLES[kind]
    return [
        f"""
INSERT INTO {points} (signal_id, ts, quality, value)
SELECT signal_id, ts, quality, value FROM stage_{points} ORDER BY signal_id, ts
ON CONFLICT (signal_id, ts) DO NOTHING
""",
        f"""
INSERT INTO {latest} AS l (signal_id, ts, quality, value)
SELECT DISTINCT ON (signal_id) signal_id, ts, quality, value FROM stage_{points}
ORDER BY signal_id, ts DESC
ON CONFLICT (signal_id) DO UPDATE SET ts = excluded.ts, quality = excluded.quality,
    value = excluded.value
WHERE excluded.ts > l.ts
""",
    ]


def values_sql(kind: str, table: str, where: str, limit: int | None) -> str:
    """SQL answering one row: the ts (epoch us), signal_id, quality and size of the text or
    array points of ``table`` matching ``where``, ordered by (signal, ts), at most ``limit``, as
    arrays, then all their values together (the texts' UTF-8 bytes, or the arrays' elements):
    see :func:`~.wire.values_table`. The points are sorted once, into a materialized CTE, which
    every aggregate reads in that order (an ORDER BY per aggregate sorted each column, and every
    element of the arrays, again: six times slower, measured)."""
    size, values = (
        ("octet_length(value)", "convert_to(string_agg(value, ''), 'UTF8')")
        if kind == "text"
        else ("cardinality(value)", "(SELECT array_agg(e) FROM p, unnest(p.value) AS e)")
    )
    return f"""
WITH p AS MATERIALIZED (
    SELECT signal_id, ts, quality, value FROM {table} WHERE {where} ORDER BY signal_id, ts
    {"" if limit is None else f"LIMIT {int(limit)}"}
)
SELECT array_agg((extract(epoch FROM ts) * 1000000)::int8), array_agg(signal_id),
    array_agg(quality), array_agg({size}), {values} FROM p
"""


# The appending signals' catalogue rows locked, in id order: another writer appending to them waits
# for this transaction to end. Their high-water marks are read after it, by a statement of its own:
# in READ COMMITTED only a new statement sees what the writer waited for committed.
LOCK_SIGNALS = "SELECT FROM signals WHERE id = ANY(%(ids)s) ORDER BY id FOR NO KEY UPDATE"
MARKS = (
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
    WHERE c.signal_id = k.s AND c.bucket = {to_ts(f"k.m * {MINUTE_US}")}
        AND c.ts[1] <= {to_ts("k.hi")} AND c.ts[c.n] >= {to_ts("k.lo")}) AS c {join}
"""


# The spans of the chunks, and the stored times in them, as one row of arrays each.
STORED_SPANS = _overlapping("array_agg(k.i), array_agg(c.ts[1]), array_agg(c.ts[c.n])")
SPANS_IN_RANGE = (
    "SELECT array_agg(signal_id), array_agg(bucket), array_agg(ts[1]), array_agg(ts[n]) "
    "FROM point_chunks WHERE signal_id = ANY(%(ids)s) "
    f"AND bucket >= {to_ts('%(lo)s::int8')} AND bucket <= {to_ts('%(hi)s::int8')}"
)
STORED_TS = _overlapping("array_agg(k.i), array_agg(t)", "CROSS JOIN LATERAL unnest(c.ts) AS t")


def points_sql(signal: str, lo: str, hi: str) -> str:
    """SQL of the points, as rows (ts, signal_id, value, quality), of the signals that match the
    SQL condition ``signal`` on ``c.signal_id`` in [``lo``, ``hi``) (SQL epoch-µs expressions): the
    chunks of those minutes, unnested."""
    return (
        "SELECT u.ts, c.signal_id, u.value, u.quality FROM point_chunks c "
        "CROSS JOIN LATERAL unnest(c.ts, c.value, c.quality) AS u(ts, value, quality) "
        f"WHERE {signal} AND c.bucket >= date_bin('1 minute', {to_ts(lo)}, {ORIGIN}) "
        f"AND c.bucket < {to_ts(hi)} AND u.ts >= {to_ts(lo)} AND u.ts < {to_ts(hi)}"
    )


# Per chunk of the whole minutes [a, z) (a signal's points of a minute from one append, in time
# order: a run of consecutive points), its first and last point and the sum of the steps between
# its points, for Store.increases; the chunks' arrays are read in place, never sorted.
_STEP = STEP_SQL.format(d="(c.value[i] - c.value[i - 1])", value="c.value[i]")
CHUNK_RUNS = f"""
SELECT c.signal_id, (extract(epoch FROM c.ts[1]) * 1000000)::int8, c.value[1],
    (extract(epoch FROM c.ts[c.n]) * 1000000)::int8, c.value[c.n],
    (SELECT coalesce(sum({_STEP}), 0) FROM generate_series(2, c.n) AS i)
FROM point_chunks c WHERE c.signal_id = ANY(%(ids)s)
    AND c.bucket >= {to_ts("%(a)s::int8")} AND c.bucket < {to_ts("%(z)s::int8")}
"""
CHUNK_RUN_FIELDS = [("sid", ">i4"), ("first_ts", ">i8"), ("first", ">f8"), ("last_ts", ">i8"),
                    ("last", ">f8"), ("steps", ">f8")]  # fmt: skip

SIGNAL_COLUMNS = "path, equipment, name, unit, data_type, role, low, high, source"
GIVEN = """
WITH given AS (
    SELECT * FROM unnest(%(path)s::text[], %(equipment)s::text[], %(name)s::text[],
        %(unit)s::text[], %(data_type)s::text[], %(role)s::text[], %(low)s::float8[],
        %(high)s::float8[], %(source)s::text[], %(length)s::int4[]) WITH ORDINALITY
    AS g(path, equipment, name, unit, data_type, role, low, high, source, length, ord)
)
"""

# ``equipment`` selects the equipment itself and everything below it. starts_with, not LIKE:
# slugs may contain '_', which LIKE would treat as a wildcard.
EQUIPMENT_MATCH = "(equipment = %(eq)s OR starts_with(equipment, %(eq)s || '/'))"

STATE_DURATIONS = f"""
WITH s AS (
    SELECT equipment, code, ts, id FROM events
    WHERE kind = 'state' AND {EQUIPMENT_MATCH} AND ts < {to_ts("%(end)s::int8")}
), in_force AS (  -- the state each equipment was in at start counts from start
    SELECT DISTINCT ON (equipment) equipment, code, {to_ts("%(start)s::int8")} AS ts, -1 AS id
    FROM s WHERE ts < {to_ts("%(start)s::int8")} ORDER BY equipment, s.ts DESC, s.id DESC
), spans AS (
    SELECT equipment, code, ts,
        lead(ts, 1, {to_ts("%(end)s::int8")}) OVER (PARTITION BY equipment ORDER BY ts, id) AS t1
    FROM (SELECT * FROM s WHERE ts >= {to_ts("%(start)s::int8")}
          UNION ALL SELECT * FROM in_force) AS both_
)
SELECT equipment, code AS state, extract(epoch FROM sum(t1 - ts))::float8 AS seconds FROM spans
GROUP BY equipment, code HAVING sum(t1 - ts) > INTERVAL '0' ORDER BY equipment, state
"""

DOWNSAMPLE_FIELDS = [
    ("bucket", ">i8"),
    ("min", ">f8"),
    ("max", ">f8"),
    ("avg", ">f8"),
    ("last", ">f8"),
    ("count", ">i8"),
]

DOWNSAMPLE_RAW = f"""
SELECT date_bin(%(bucket)s * INTERVAL '1 microsecond', ts, {to_ts("%(start)s::int8")}) AS b,
    min(value), max(value), avg(value), {_last("value", "ts")}, count(*)
FROM ({points_sql("c.signal_id = %(sid)s", "%(start)s::int8", "%(end)s::int8")}) AS p
WHERE quality < {BAD} GROUP BY b ORDER BY b
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
            f"FROM ({points_sql('c.signal_id = %(sid)s', 'e.lo', 'e.hi')}) AS p "
            f"WHERE quality < {BAD}"
        )
    else:
        inner = (
            "SELECT min(min) AS min, max(max) AS max, sum(sum) AS sum, sum(count)::int8 AS count, "
            f"max(last_ts) AS last_ts, {_last('last_value', 'last_ts')} AS last_value "
            f"FROM {source} WHERE signal_id = %(sid)s "
            f"AND bucket >= {to_ts('e.lo')} AND bucket < {to_ts('e.hi')}"
        )
    return (
        f"SELECT e.k, x.* FROM unnest(%({source}_lo)s::int8[], %({source}_hi)s::int8[], "
        f"%({source}_k)s::int8[]) AS e(lo, hi, k) CROSS JOIN LATERAL ({inner}) AS x "
        "WHERE x.count > 0"
    )


DOWNSAMPLE_ROLLUPS = f"""
WITH pieces AS (
    {" UNION ALL ".join(_pieces_sql(s) for s in [*ROLLUPS, "points"])}
)
SELECT {to_ts("%(start)s::int8 + k * %(bucket)s::int8")} AS b, min(min), max(max),
    sum(sum) / sum(count), {_last("last_value", "last_ts")}, sum(count)::int8
FROM pieces GROUP BY k ORDER BY k
"""

# Rollups pay off from buckets of a minute; past this many buckets the list of pieces costs more
# than one range scan.
MAX_ROLLUP_BUCKETS = 20_000

Pieces = dict[str, tuple[list[int], list[int], list[int]]]


def rollup_pieces(start: int, end: int, bucket_us: int) -> Pieces:
    """Split the buckets [start + k*w, start + (k+1)*w) ∩ [start, end) into the whole hours that
    lie inside one bucket, then the whole minutes inside the rest, then the raw remainder (under a
    minute at each bucket edge). Returns, per source table, the (lo, hi, k) lists of its pieces."""
    lo = np.arange(start, end, bucket_us, dtype=np.int64)
    hi = np.minimum(lo + bucket_us, end)
    k = np.arange(len(lo), dtype=np.int64)
    pieces: Pieces = {}
    for table, width in ROLLUPS.items():
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
