"""Data-quality rules per signal (the plant file's ``quality:``), applied by the writer to every
batch after validation. They flag points, they never drop one:

==========  ==============================================================================
quality_range  BAD: outside the instrument's possible range (a broken wire, a sensor beyond its
               span); the signal's own ``range`` only makes a point UNCERTAIN (ingest.py)
stale          UNCERTAIN: the first point after the signal was silent longer than ``after_s``
flatline       UNCERTAIN: the value has not moved by more than ``tolerance`` for ``after_s``
spike          UNCERTAIN: a jump of more than ``max_step`` from the previous point
==========  ==============================================================================

The writer counts, logs and stores each as a QUALITY event, as it does its own reasons.

Everything is vectorised over the batch: the rules' parameters are arrays indexed by signal id,
and the points of ruled signals are sorted by (signal, time) once so that each point's
predecessor is the previous row. What joins one batch to the next (each signal's last time and
value, and since when it has been flat) is kept in arrays too. Signals without rules cost one
array lookup per point; a plant without any rule costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from smartfab.model.plant import Plant
from smartfab.platform.order import BoolArray
from smartfab.platform.points import Float64Array, Int64Array, PointBatch, Quality

QUALITY_RANGE = "quality_range"
STALE = "stale"
FLATLINE = "flatline"
SPIKE = "spike"

WHAT = {
    QUALITY_RANGE: "stored as BAD: value outside the range the instrument can measure",
    STALE: "stored as UNCERTAIN: first point after the signal was silent too long",
    FLATLINE: "stored as UNCERTAIN: the value has not moved for too long (frozen sensor?)",
    SPIKE: "stored as UNCERTAIN: jump from the previous value larger than allowed",
}
_NONE = np.iinfo(np.int64).min  # "no point seen yet"

Report = Callable[[str, PointBatch], None]  # (reason, the points flagged for it)


@dataclass
class QualityRules:
    """The rules of every signal as arrays indexed by signal id (inf: no such rule), and the
    state carried from batch to batch."""

    ruled: BoolArray
    low: Float64Array
    high: Float64Array
    stale_us: Float64Array
    flat_us: Float64Array
    flat_tolerance: Float64Array
    max_step: Float64Array
    last_ts: Int64Array
    last_value: Float64Array
    flat_since: Int64Array

    def __post_init__(self) -> None:
        # Rules no signal has are skipped whole.
        self.any_range = bool(np.isfinite(self.low).any() or np.isfinite(self.high).any())
        self.any_stale = bool(np.isfinite(self.stale_us).any())
        self.any_flatline = bool(np.isfinite(self.flat_us).any())
        self.any_spike = bool(np.isfinite(self.max_step).any())

    @classmethod
    def from_plant(cls, plant: Plant, signal_ids: Mapping[str, int]) -> QualityRules | None:
        """The plant's rules, or None when no signal has any (the writer then skips them)."""
        rules = {
            signal_ids[ref.path]: ref.signal.quality
            for ref in plant.iter_signals()
            if ref.signal.quality is not None and ref.path in signal_ids
        }
        if not rules:
            return None
        size = max(rules) + 1
        ruled = np.zeros(size, np.bool_)
        low, high = np.full(size, -np.inf), np.full(size, np.inf)
        stale_us, flat_us, max_step = (np.full(size, np.inf) for _ in range(3))
        flat_tolerance = np.zeros(size)
        for sid, q in rules.items():
            ruled[sid] = True
            if q.range is not None:
                low[sid], high[sid] = q.range.low, q.range.high
            if q.stale is not None:
                stale_us[sid] = q.stale.after_s * 1e6
            if q.flatline is not None:
                flat_us[sid] = q.flatline.after_s * 1e6
                flat_tolerance[sid] = q.flatline.tolerance
            if q.spike is not None:
                max_step[sid] = q.spike.max_step
        return cls(
            ruled, low, high, stale_us, flat_us, flat_tolerance, max_step,
            np.full(size, _NONE, np.int64), np.full(size, np.nan), np.full(size, _NONE, np.int64),
        )  # fmt: skip

    def carry(self, old: QualityRules) -> None:
        """Continue from what ``old`` (the rules of the plant before an edit) knew of the
        signals both rule: their last point and since when they are flat."""
        n = min(len(self.ruled), len(old.ruled))
        both = self.ruled[:n] & old.ruled[:n]
        for name in ("last_ts", "last_value", "flat_since"):
            getattr(self, name)[:n][both] = getattr(old, name)[:n][both]

    def apply(self, batch: PointBatch, report: Report) -> PointBatch:
        """``batch`` (valid points, no duplicate (signal, ts)) with the flagged points' quality
        raised; each rule's points are handed to ``report``."""
        sid = batch.signal_id
        inside = sid < len(self.ruled)
        ruled = inside & self.ruled[np.where(inside, sid, 0)]
        if not ruled.any():
            return batch
        rows = np.flatnonzero(ruled) if not ruled.all() else None
        sub = sid if rows is None else sid[rows]
        # Stable sort by signal: points of one signal usually arrive in time order, then that
        # is all it takes (a radix sort for ids below 65536); otherwise sort by time as well.
        key = sub.astype(np.uint16) if len(self.ruled) <= 65536 else sub
        order = np.argsort(key, kind="stable")
        if rows is not None:
            order = rows[order]
        s, ts, value = sid[order], batch.ts[order], batch.value[order]
        n = len(order)
        first = np.ones(n, np.bool_)
        np.not_equal(s[1:], s[:-1], out=first[1:])
        if not (ts[1:] > ts[:-1])[~first[1:]].all():
            order = order[np.lexsort((ts, s))]
            s, ts, value = sid[order], batch.ts[order], batch.value[order]
        starts = np.flatnonzero(first)
        first_sid = s[starts]
        # Each point's predecessor: the previous row of its signal, or the last point of the
        # previous batches. A point older than that (late data) has none.
        prev_ts = np.empty_like(ts)
        prev_ts[1:] = ts[:-1]
        prev_ts[starts] = self.last_ts[first_sid]
        prev_value = np.empty_like(value)
        prev_value[1:] = value[:-1]
        prev_value[starts] = self.last_value[first_sid]
        has_prev = ts > prev_ts  # "no point yet" is the smallest int64
        gap = ts - prev_ts
        step = np.abs(value - prev_value)
        hits: dict[str, BoolArray] = {}
        if self.any_range:
            hits[QUALITY_RANGE] = (value < self.low[s]) | (value > self.high[s])
        if self.any_stale:
            hits[STALE] = has_prev & (gap > self.stale_us[s])
        if self.any_spike:
            hits[SPIKE] = has_prev & (step > self.max_step[s])
        # Flatline: the time since the current flat run began. A run begins at a point that
        # moved (or has no predecessor); a batch's first point that did not move continues the
        # run of the previous batches.
        moved = ~has_prev | ~(step <= self.flat_tolerance[s])  # NaN counts as moved
        start = np.where(moved, ts, _NONE)
        carried = ~moved[starts]
        start[starts[carried]] = self.flat_since[first_sid[carried]]
        known = np.where(start != _NONE, np.arange(n), 0)
        run_start = start[np.maximum.accumulate(known)]
        run_start = np.where(run_start == _NONE, ts, run_start)  # defensive
        if self.any_flatline:
            hits[FLATLINE] = ~moved & ((ts - run_start) >= self.flat_us[s])
        # Carry each signal's last point (unless it is older than what is carried already).
        last = np.append(starts[1:] - 1, n - 1)
        last_sid = s[last]
        newer = ts[last] > self.last_ts[last_sid]
        keep, at_last = last_sid[newer], last[newer]
        self.last_ts[keep] = ts[at_last]
        self.last_value[keep] = value[at_last]
        self.flat_since[keep] = run_start[at_last]

        quality = batch.quality.copy()
        for reason, hit in hits.items():  # a dict keeps the order the reasons are reported in
            if hit.any():
                at = order[hit]
                report(reason, batch.take(at))
                level = Quality.BAD if reason == QUALITY_RANGE else Quality.UNCERTAIN
                quality[at] = np.maximum(quality[at], level)
        return PointBatch(batch.ts, sid, batch.value, quality)
