"""Day partitions of the points and retention per signal class (the policy and its semantics:
:mod:`smartfab.platform.store.base`): days every class is done with are dropped whole; the older
points (and 1-minute rollups) of the classes kept less long are deleted. Rollups of 1 hour are kept:
they are what year-long trends read, and are small. The points of every kind (the numbers' chunks,
texts, arrays) have a partition each day, made and dropped together."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql

from smartfab.platform.store.postgres.statements import ORIGIN, VALUE_TABLES, to_ts
from smartfab.platform.store.postgres.wire import DAY_US

Connection = psycopg.Connection[tuple[Any, ...]]

_OF_ROLE = "signal_id IN (SELECT id FROM signals WHERE role = %(role)s)"

# The chunks of a class before the cutoff's minute go; that minute's chunks are put back with only
# their points from the cutoff on. The number of points deleted is the answer.
RETAIN_POINTS = f"""
WITH gone AS (
    DELETE FROM point_chunks
    WHERE bucket <= date_bin('1 minute', {to_ts("%(cutoff)s::int8")}, {ORIGIN}) AND {_OF_ROLE}
    RETURNING signal_id, bucket, n, ts, value, quality
), kept AS (
    INSERT INTO point_chunks
    SELECT g.signal_id, g.bucket, count(*), array_agg(u.ts ORDER BY u.ts),
        array_agg(u.value ORDER BY u.ts), array_agg(u.quality ORDER BY u.ts)
    FROM gone g CROSS JOIN LATERAL unnest(g.ts, g.value, g.quality) AS u(ts, value, quality)
    WHERE g.bucket = date_bin('1 minute', {to_ts("%(cutoff)s::int8")}, {ORIGIN})
        AND u.ts >= {to_ts("%(cutoff)s::int8")}
    GROUP BY g.signal_id, g.bucket
    RETURNING n
)
SELECT (SELECT coalesce(sum(n), 0) FROM gone) - (SELECT coalesce(sum(n), 0) FROM kept)
"""

RETAIN_ROLLUPS = f"""
DELETE FROM rollup_1m WHERE bucket < {to_ts("%(cutoff)s::int8")} AND {_OF_ROLE}
"""
# Texts and arrays: a row per point.
RETAIN_VALUES = [
    f"DELETE FROM {table} WHERE ts < {to_ts('%(cutoff)s::int8')} AND {_OF_ROLE}"
    for table, _ in VALUE_TABLES.values()
]
# The partitioned tables of points, each partitioned by day.
PARENTS = ("point_chunks", *(table for table, _ in VALUE_TABLES.values()))


def _partition_name(parent: str, day: int) -> str:
    return f"{parent}_" + np.datetime_as_string(np.datetime64(day, "D")).replace("-", "")


def _day_of(parent: str, name: str) -> int | None:
    digits = name.removeprefix(f"{parent}_")
    if len(digits) != 8 or not digits.isdigit():
        return None
    iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return int(np.datetime64(iso, "D").astype(np.int64))


def _iso(us: int) -> str:
    return str(np.datetime64(us, "us")) + "Z"


def _days_of(conn: Connection, parent: str) -> set[int]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        [parent],
    ).fetchall()
    return {d for (name,) in rows if (d := _day_of(parent, str(name))) is not None}


def partition_days(conn: Connection) -> set[int]:
    """The days (since 1970-01-01) that have a partition of every kind of point (a day missing
    one is made whole by the next append that needs it)."""
    return set.intersection(*(_days_of(conn, parent) for parent in PARENTS))


def create_partitions(conn: Connection, days: set[int], ts: npt.NDArray[np.int64]) -> None:
    """Create the day partitions that ``ts`` needs and ``days`` lacks (adding them to it), in
    their own short transaction: creating a partition locks the parent table, which should not
    last as long as an append."""
    missing = [int(d) for d in np.unique(ts // DAY_US) if int(d) not in days]
    if not missing:
        return
    with conn.transaction():
        # Two workers must not race to create the same partition.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('smartfab.points.partitions'))")
        for day in missing:
            for parent in PARENTS:
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(_partition_name(parent, day)),
                        sql.Identifier(parent),
                        sql.Literal(_iso(day * DAY_US)),
                        sql.Literal(_iso((day + 1) * DAY_US)),
                    )
                )
    days.update(missing)


def retain(conn: Connection, cutoffs: dict[str, int | None]) -> tuple[list[str], int]:
    """Apply the cutoffs per role (None: kept for ever): drop the day partitions older than every
    class's cutoff, then delete the older points (and 1-minute rollups) of the classes kept less
    long: whole chunks before the cutoff's minute, and the older part of that minute's chunks.
    Returns the dropped partitions and the number of points deleted."""
    finite = [c for c in cutoffs.values() if c is not None]
    # A day can go as a whole once every class is done with it.
    drop_before = min(finite) if finite and len(finite) == len(cutoffs) else None
    dropped: list[str] = []
    deleted = 0
    if drop_before is not None:
        for parent in PARENTS:
            for day in sorted(_days_of(conn, parent)):
                if (day + 1) * DAY_US <= drop_before:
                    name = _partition_name(parent, day)
                    # IF EXISTS: another worker's maintain() may have dropped it.
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
                    dropped.append(name)
    with conn.transaction():
        for role, cutoff in sorted(cutoffs.items()):
            if cutoff is None:
                continue
            params = {"role": role, "cutoff": cutoff}
            row = conn.execute(RETAIN_POINTS, params).fetchone()
            deleted += int(row[0]) if row else 0
            for statement in RETAIN_VALUES:
                deleted += conn.execute(statement, params).rowcount  # type: ignore[arg-type]
            conn.execute(RETAIN_ROLLUPS, params)
    return dropped, deleted
