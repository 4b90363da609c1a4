"""Which points of a batch are new: judged under the lock of their signals, so that a point
re-sent, or stored first by another worker, is stored once."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql

from smartfab.platform.points import PointBatch
from smartfab.platform.store.postgres.statements import (
    LOCK_SIGNALS,
    MARKS,
    SPANS_IN_RANGE,
    STORED_SPANS,
    STORED_TS,
)
from smartfab.platform.store.postgres.wire import MINUTE_US, PG_EPOCH_US, copy_arrays, runs

NEVER = np.iinfo(np.int64).min  # high-water mark of a signal without points
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
        return copy_arrays(cur, sql.SQL(STORED_SPANS), params, [">i8"] * 3)
    sid, bucket, first, last = copy_arrays(
        cur, sql.SQL(SPANS_IN_RANGE),
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
    """For points sorted by (signal, ts): the parameters of :func:`overlapping` for their
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


def fresh_points(cur: psycopg.Cursor[Any], batch: PointBatch) -> PointBatch:
    """The points of a deduplicated, sorted batch that are not stored yet, judged under the
    lock of their signals (see :data:`~.statements.LOCK_SIGNALS`)."""
    sids = batch.signal_id[runs(batch.signal_id, batch.signal_id)]  # sorted: one per run
    marks = np.full(int(sids[-1]) + 1, NEVER)
    ids = {"ids": sids.tolist()}
    cur.execute(LOCK_SIGNALS, ids)
    for sid, mark in cur.execute(MARKS, ids).fetchall():
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
        number, times = copy_arrays(cur, sql.SQL(STORED_TS), params, [">i8"] * 2)
        stored[inside] = np.isin(key, _stored_keys(number, times))
    fresh = ~late
    fresh[late] = ~stored
    return batch.take(fresh)
