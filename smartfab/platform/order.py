"""Ordering of point batches by (signal, timestamp), shared by the writer, the deriver and the
stores: one batch may hold the same (signal, ts) twice, and the last one received wins."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartfab.platform.points import AnyPoints, PointBatch

BoolArray = npt.NDArray[np.bool_]
_Keys = npt.NDArray[np.int64] | npt.NDArray[np.int32]


def _strictly_increasing(major: _Keys, minor: _Keys) -> bool:
    d_major = major[1:] > major[:-1]
    return bool(np.all(d_major | ((major[1:] == major[:-1]) & (minor[1:] > minor[:-1]))))


def _signal_runs(sid: _Keys, ts: _Keys) -> npt.NDArray[np.intp] | None:
    """Where each run of one signal begins, when the batch is grouped by signal (each signal in
    one run, in strictly increasing time) in any order of signals, as the virtual factory and a
    connector reading signal by signal produce it; else None. Only the runs' signals are sorted,
    never the points."""
    change = sid[1:] != sid[:-1]
    if not np.all(change | (ts[1:] > ts[:-1])):
        return None
    starts = np.concatenate([[0], np.flatnonzero(change) + 1])
    if len(starts) > len(sid) // 2:  # mostly lone points: the proof would cost what a sort does
        return None
    first = np.sort(sid[starts])
    return starts if np.all(first[1:] != first[:-1]) else None


def has_unique_keys(batch: AnyPoints) -> bool:
    """True when the batch is strictly ordered by (ts, signal), or grouped by signal in time order
    (see ``_signal_runs``), which proves that no key repeats without sorting. Connectors and
    backfills produce such batches; the check is a few vectorised passes instead of a sort."""
    return (
        _strictly_increasing(batch.ts, batch.signal_id)
        or _signal_runs(batch.signal_id, batch.ts) is not None
    )


def sort_by_signal_ts(batch: PointBatch) -> PointBatch:
    """The batch ordered by (signal, ts); stable, so repeated keys keep their order of arrival."""
    ts, sid = batch.ts, batch.signal_id
    if len(batch) < 2 or _strictly_increasing(sid, ts):
        return batch
    starts = _signal_runs(sid, ts)
    if starts is not None:  # grouped by signal: the groups put in order, no sort of the points
        lengths = np.diff(np.append(starts, len(batch)))
        order = np.argsort(sid[starts], kind="stable")
        # Row i of the result is row (start of its group) + (i - where its group lands).
        lands = np.cumsum(lengths[order]) - lengths[order]
        return batch.take(np.repeat(starts[order] - lands, lengths[order]) + np.arange(len(batch)))
    if np.all(ts[1:] >= ts[:-1]):  # time-ordered, as batches mostly are: one key to sort
        return batch.take(np.argsort(sid, kind="stable"))
    return batch.take(np.lexsort((ts, sid)))


def superseded(sorted_batch: PointBatch) -> BoolArray:
    """Rows of a (signal, ts)-sorted batch that a later row with the same key replaces."""
    s, t = sorted_batch.signal_id, sorted_batch.ts
    dup = np.zeros(len(sorted_batch), np.bool_)
    dup[:-1] = (s[1:] == s[:-1]) & (t[1:] == t[:-1])
    return dup
