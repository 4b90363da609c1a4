"""Ordering of point batches by (signal, timestamp), shared by the writer, the deriver and the
stores: one batch may hold the same (signal, ts) twice, and the last one received wins."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartfab.platform.points import PointBatch

BoolArray = npt.NDArray[np.bool_]
_Keys = npt.NDArray[np.int64] | npt.NDArray[np.int32]


def _strictly_increasing(major: _Keys, minor: _Keys) -> bool:
    d_major = major[1:] > major[:-1]
    return bool(np.all(d_major | ((major[1:] == major[:-1]) & (minor[1:] > minor[:-1]))))


def has_unique_keys(batch: PointBatch) -> bool:
    """True when the batch is strictly ordered by (ts, signal) or (signal, ts), which proves that no
    key repeats without sorting. Connectors and backfills produce such batches; the check is a
    couple of vectorised passes instead of a sort."""
    return _strictly_increasing(batch.ts, batch.signal_id) or _strictly_increasing(
        batch.signal_id, batch.ts
    )


def sort_by_signal_ts(batch: PointBatch) -> PointBatch:
    """The batch ordered by (signal, ts); stable, so repeated keys keep their order of arrival."""
    ts, sid = batch.ts, batch.signal_id
    if len(batch) < 2 or _strictly_increasing(sid, ts):
        return batch
    if np.all(ts[1:] >= ts[:-1]):  # time-ordered, as batches mostly are: one key to sort
        return batch.take(np.argsort(sid, kind="stable"))
    return batch.take(np.lexsort((ts, sid)))


def superseded(sorted_batch: PointBatch) -> BoolArray:
    """Rows of a (signal, ts)-sorted batch that a later row with the same key replaces."""
    s, t = sorted_batch.signal_id, sorted_batch.ts
    dup = np.zeros(len(sorted_batch), np.bool_)
    dup[:-1] = (s[1:] == s[:-1]) & (t[1:] == t[:-1])
    return dup
