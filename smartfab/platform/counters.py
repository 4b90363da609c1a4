"""Increases of cumulative counters (energy meters, part counters) per time bucket: the steps
between consecutive points, each counted in the bucket of the later point. A fall (a meter
replaced, a PLC restarted) starts the count over: the step is the value after it, as counted from
0, never a negative increase.

Both ways a store answers (from the points; from per-minute segments, see ``Segments``) take the
step from here, so they agree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.platform.points import Float64Array, Int64Array

# The signals whose per-minute segments a store may keep: what the roles say is cumulative.
COUNTER_ROLES = ("energy", "good_count", "scrap_count")

INCREASE_SCHEMA = pa.schema(
    [("signal_id", pa.int32()), ("bucket", pa.int64()), ("increase", pa.float64())]
)

# The step from ``prev`` to ``value`` in SQL (``d`` is value - prev); NaN stays NaN, as in
# :func:`step` (NaN is not below 0 in DuckDB, PostgreSQL or numpy).
STEP_SQL = "CASE WHEN {d} < 0 THEN greatest({value}, 0) ELSE {d} END"


def step(prev: Float64Array, value: Float64Array) -> Float64Array:
    d = value - prev
    out: Float64Array = np.where(d < 0, np.maximum(value, 0.0), d)
    return out


def _table(sid: Int64Array, bucket: Int64Array, increase: Float64Array) -> pa.Table:
    return pa.table(
        [pa.array(sid, pa.int32()), pa.array(bucket, pa.int64()), pa.array(increase)],
        schema=INCREASE_SCHEMA,
    )


def _sum_runs(
    sid: Int64Array, bucket: Int64Array, amount: Float64Array
) -> tuple[Int64Array, Int64Array, Float64Array]:
    """Sum of ``amount`` over each run of equal (sid, bucket) keys, in order (keys sorted)."""
    if not len(sid):
        return sid, bucket, amount
    new = np.ones(len(sid), bool)
    new[1:] = (sid[1:] != sid[:-1]) | (bucket[1:] != bucket[:-1])
    run = np.cumsum(new) - 1
    total = np.bincount(run, amount).astype(np.float64)  # one by one, in time order
    return sid[new], bucket[new], total


def from_points(sid: Int64Array, ts: Int64Array, value: Float64Array, bucket_us: int) -> pa.Table:
    """Increases per signal and bucket from points ordered by (signal, ts): every bucket (start,
    epoch µs, a multiple of ``bucket_us``) holding a point, with the sum of the steps into it (a
    signal's first point has none)."""
    same = np.zeros(len(sid), bool)
    same[1:] = sid[1:] == sid[:-1]
    steps = np.zeros(len(sid))
    if len(sid) > 1:
        steps[1:] = np.where(same[1:], step(value[:-1], value[1:]), 0.0)
    return _table(*_sum_runs(sid, ts // bucket_us * bucket_us, steps))


@dataclass(frozen=True)
class Segments:
    """Runs of consecutive points of a signal, each within one minute, ordered by signal and
    first point: first and last point, and the sum of the steps inside the run. A store keeps
    them per minute for counters, so that an increase reads a row a minute instead of every
    point."""

    sid: Int64Array
    first_ts: Int64Array
    first: Float64Array
    last_ts: Int64Array
    last: Float64Array
    steps: Float64Array

    _FIELDS: ClassVar[tuple[str, ...]] = ("sid", "first_ts", "first", "last_ts", "last", "steps")

    @staticmethod
    def of_columns(cols: Mapping[str, npt.ArrayLike]) -> Segments:
        """From a query's columns named as the fields."""

        def ints(f: str) -> Int64Array:
            return np.asarray(cols[f], np.int64)

        def floats(f: str) -> Float64Array:
            return np.asarray(cols[f], np.float64)

        return Segments(ints("sid"), ints("first_ts"), floats("first"), ints("last_ts"),
                        floats("last"), floats("steps"))  # fmt: skip

    @staticmethod
    def of_points(sid: Int64Array, ts: Int64Array, value: Float64Array) -> Segments:
        """The runs of points ordered by (signal, ts): one per signal and minute."""
        minute = ts // 60_000_000
        new = np.ones(len(sid), bool)
        new[1:] = (sid[1:] != sid[:-1]) | (minute[1:] != minute[:-1])
        first = np.flatnonzero(new)
        last = np.append(first[1:] - 1, len(sid) - 1) if len(sid) else first
        steps = np.zeros(len(sid))
        if len(sid) > 1:
            steps[1:] = np.where(new[1:], 0.0, step(value[:-1], value[1:]))
        inside = np.bincount(np.cumsum(new) - 1, steps) if len(sid) else np.zeros(0)
        return Segments(sid[first], ts[first], value[first], ts[last], value[last],
                        inside.astype(np.float64))  # fmt: skip

    @staticmethod
    def merged(parts: list[Segments]) -> Segments:
        """The runs of ``parts`` together, ordered by signal and first point."""
        cols = [np.concatenate([getattr(p, f) for p in parts]) for f in Segments._FIELDS]
        o = np.lexsort((cols[1], cols[0]))
        return Segments(*(c[o] for c in cols))

    def overlapping(self) -> Int64Array:
        """Signals with two runs that interleave in time (a late point rolled up after its
        neighbours): their runs do not chain, so their increases must come from the points."""
        sid, first, last = self.sid, self.first_ts, self.last_ts
        bad = (sid[1:] == sid[:-1]) & (first[1:] <= last[:-1])
        return np.unique(sid[1:][bad])

    def increases(self, bucket_us: int) -> pa.Table:
        """As :func:`from_points` over the points of the runs, when no two runs of a signal
        interleave (see :meth:`overlapping`) and buckets are whole minutes: each run's steps, and
        the step from the previous run's last point to its first, in the bucket of its first."""
        sid, amount = self.sid, self.steps.copy()
        if len(sid) > 1:
            between = step(self.last[:-1], self.first[1:])
            amount[1:] += np.where(sid[1:] == sid[:-1], between, 0.0)
        return _table(*_sum_runs(sid, self.first_ts // bucket_us * bucket_us, amount))
