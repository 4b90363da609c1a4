from __future__ import annotations

import numpy as np
import pytest

from smartfab.platform.order import has_unique_keys, sort_by_signal_ts, superseded
from smartfab.platform.points import PointBatch


def batch(ts: list[int], sid: list[int]) -> PointBatch:
    return PointBatch.of(ts, sid, np.arange(len(ts), dtype=float))


@pytest.mark.parametrize(
    ("ts", "sid", "unique"),
    [
        ([1, 1, 2, 2], [1, 2, 1, 2], True),  # time-major, as a scan produces it
        ([1, 2, 1, 2], [1, 1, 2, 2], True),  # signal-major
        ([1, 1], [2, 1], False),  # unique, but only a sort could prove it
        ([1, 2, 3, 1, 2, 3], [5, 5, 5, 2, 2, 2], True),  # grouped by signal, in any order
        ([1, 2, 3, 1, 2, 3, 4, 5], [1, 1, 1, 2, 2, 2, 1, 1], False),  # signal 1 in two runs
        ([1, 1], [1, 1], False),
        ([1, 2, 2, 1], [3, 3, 1, 1], False),  # a run not in time order
        ([], [], True),
    ],
)
def test_has_unique_keys_is_a_cheap_proof(ts: list[int], sid: list[int], unique: bool) -> None:
    assert has_unique_keys(batch(ts, sid)) is unique


@pytest.mark.parametrize(
    ("ts", "sid"),
    [
        ([1, 1, 2, 2, 2, 3], [2, 1, 2, 1, 1, 2]),  # time-ordered: sorted by signal only
        ([3, 1, 2, 4, 2, 2], [2, 1, 2, 1, 1, 1]),  # neither: sorted by both
    ],
)
def test_sort_is_stable_and_marks_all_but_the_last_repeat(ts: list[int], sid: list[int]) -> None:
    s = sort_by_signal_ts(batch(ts, sid))
    keys = list(zip(s.signal_id.tolist(), s.ts.tolist(), strict=True))
    assert keys == sorted(keys)
    # the repeated key (1, 2) keeps arrival order, so the last received is the one kept
    repeats = [int(v) for k, v in zip(keys, s.value, strict=True) if k == (1, 2)]
    assert repeats == sorted(repeats) and len(repeats) == 2
    dup = superseded(s)
    assert [k for k, d in zip(keys, dup, strict=True) if d] == [(1, 2)]
    kept = s.take(~dup)
    (i,) = np.flatnonzero((kept.signal_id == 1) & (kept.ts == 2))
    assert kept.value[i] == max(repeats)


def test_a_batch_grouped_by_signal_is_sorted_as_a_full_sort_would() -> None:
    # Signals in any order, each in time order (as the virtual factory's chunks): the groups are
    # reordered without sorting the points, with the same result.
    rng = np.random.default_rng(7)
    sids = rng.permutation(50)
    lengths = rng.integers(1, 40, len(sids))
    sid = np.repeat(sids, lengths)
    ts = np.concatenate([np.sort(rng.choice(1000, n, replace=False)) for n in lengths])
    b = batch(ts.tolist(), sid.tolist())
    assert has_unique_keys(b)
    s = sort_by_signal_ts(b)
    order = np.lexsort((ts, sid))
    assert s.signal_id.tolist() == sid[order].tolist() and s.ts.tolist() == ts[order].tolist()
    assert s.value.tolist() == order.tolist()
