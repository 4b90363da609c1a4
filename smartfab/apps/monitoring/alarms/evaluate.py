"""Vectorised evaluation of alarm conditions over the columns of point batches.

A batch is expanded into one row per (point, alarm of its signal) and sorted by (alarm, ts); every
step is then an array operation over all alarms at once. What an alarm needs to know across
batches (its last sample, whether its condition holds and since when) is carried in arrays indexed
by alarm row, so that splitting a series into batches never changes the result.

Per row the kinds say when a condition is *set* and when it is *reset*; in between it holds
(hysteresis):

=========  ==============================  ===============================================
kind       set                             reset
=========  ==============================  ===============================================
HIGH       value > limit                   value <= limit - deadband
LOW        value < limit                   value >= limit + deadband
RATE       |dv/dt| x per_s > limit         |dv/dt| x per_s <= limit - deadband
STATE      value == code (state register)  value != code
FAULT      value == code (fault register)  value != code
FLATLINE   no change > tolerance for       a change > tolerance
           after_s
=========  ==============================  ===============================================

The on-delay then asks the condition to hold without interruption for ``delay_s``: the alarm
becomes active at the first sample at least ``delay_s`` after the condition set, and returns to
normal at the first sample that resets it. STALE is about the absence of samples: a gap longer than
``after_s`` between two samples makes it active from the old sample + ``after_s`` until the new
sample. A signal that stops reporting altogether is caught by :meth:`Evaluator.check`, which a
running engine calls on a timer with the wall clock; so is a flatline from a source that reports by
exception and therefore sends nothing while its value is frozen.

Points of BAD quality or without a finite value are not evaluated: their value is not a
measurement (a stale or failed source raises its own stale alarm instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from smartfab.apps.monitoring.alarms.rules import AlarmTable, Kind
from smartfab.platform.order import sort_by_signal_ts, superseded
from smartfab.platform.points import Float64Array, Int64Array, PointBatch, Quality

BoolArray = npt.NDArray[np.bool_]
IntpArray = npt.NDArray[np.intp]

# "Long ago": far enough in the past that any on-delay has elapsed, near enough that ts - NEVER
# does not overflow int64.
NEVER = -(2**62)
_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Conditions:
    """Changes of alarm conditions, ordered by time: at ``ts`` the condition of alarm row
    ``alarm`` became ``active`` (or cleared), with the signal's ``value`` then."""

    alarm: IntpArray
    ts: Int64Array
    active: BoolArray
    value: Float64Array

    @classmethod
    def empty(cls) -> Conditions:
        return cls(np.empty(0, np.intp), np.empty(0, np.int64), np.empty(0, np.bool_), np.empty(0))

    @classmethod
    def concat(cls, parts: list[Conditions]) -> Conditions:
        """The parts merged and ordered by time (stable: equal times keep their order)."""
        a = np.concatenate([p.alarm for p in parts]) if parts else np.empty(0, np.intp)
        t = np.concatenate([p.ts for p in parts]) if parts else np.empty(0, np.int64)
        on = np.concatenate([p.active for p in parts]) if parts else np.empty(0, np.bool_)
        v = np.concatenate([p.value for p in parts]) if parts else np.empty(0)
        order = np.argsort(t, kind="stable")
        return cls(a[order], t[order], on[order], v[order])

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def _ffill(defined: BoolArray) -> IntpArray:
    """For each row, the index of the last row at or before it where ``defined`` holds (row 0
    must be defined, as every group's first row is)."""
    return np.maximum.accumulate(np.where(defined, np.arange(len(defined)), 0))


_A = TypeVar("_A", bound=npt.NDArray[Any])


def _shifted(x: _A, carried: _A, first: BoolArray) -> _A:
    """The previous row's value within each group; at a group's first row, ``carried``."""
    out: _A = np.empty_like(x)
    out[1:] = x[:-1]
    out[first] = carried[first]
    return out


class Evaluator:
    """The conditions of the alarms of ``table``, carried from batch to batch."""

    def __init__(self, table: AlarmTable, origin_us: int = NEVER) -> None:
        """``origin_us``: when watching began; a signal that never reports is stale from then."""
        n = len(table)
        self.table = table
        self.origin_us = origin_us
        self.last_ts = np.full(n, NEVER, np.int64)  # newest sample evaluated
        self.last_value = np.full(n, np.nan)
        self.cond = np.zeros(n, np.bool_)  # the condition with hysteresis, before the on-delay
        self.run_start = np.full(n, NEVER, np.int64)  # since when ``cond`` holds
        self.active = np.zeros(n, np.bool_)  # the alarm condition after the on-delay
        self.changed_at = np.full(n, NEVER, np.int64)  # FLATLINE: last change of value

    def prime(self, active: BoolArray) -> None:
        """Start from alarms already active (replayed after a restart): their condition holds
        since long ago, so that the first sample that resets it clears them."""
        self.active |= active
        self.cond |= active
        self.run_start[active] = NEVER

    def evaluate(self, batch: PointBatch) -> Conditions:
        """The condition changes the points of ``batch`` cause (in any order; samples not newer
        than the last one evaluated for an alarm are ignored)."""
        tab = self.table
        usable = (batch.quality != Quality.BAD) & np.isfinite(batch.value)
        sid = batch.signal_id
        inside = (sid >= 0) & (sid < len(tab.count))
        usable &= inside & (tab.count[np.where(inside, sid, 0)] > 0)
        if not usable.any():
            return Conditions.empty()
        pts = sort_by_signal_ts(batch.take(usable))
        pts = pts.take(~superseded(pts))
        point, alarm = tab.rows_of(pts.signal_id)
        order = np.argsort(alarm, kind="stable")  # by alarm; within one, still by ts
        a, t, v = alarm[order], pts.ts[point[order]], pts.value[point[order]]
        fresh = t > self.last_ts[a]
        a, t, v = a[fresh], t[fresh], v[fresh]
        if not len(a):
            return Conditions.empty()
        first = np.ones(len(a), np.bool_)
        first[1:] = a[1:] != a[:-1]
        last = np.ones(len(a), np.bool_)
        last[:-1] = first[1:]
        prev_t = _shifted(t, self.last_ts[a], first)
        prev_v = _shifted(v, self.last_value[a], first)
        kind, limit, db = tab.kind[a], tab.limit[a], tab.deadband[a]

        # Flatline: the time of the last change (a first sample ever counts as one).
        changed = (prev_t == NEVER) | (np.abs(v - prev_v) > tab.tolerance[a])
        flat_since = np.where(changed, t, self.changed_at[a])[_ffill(changed | first)]
        flat = t - flat_since >= tab.after_us[a]

        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.abs(v - prev_v) / ((t - prev_t) / _US) * tab.per_s[a]
        has_prev = prev_t != NEVER
        equal = v == tab.code[a]
        set_ = np.select(
            [kind == Kind.HIGH, kind == Kind.LOW, kind == Kind.RATE, kind == Kind.FLATLINE,
             (kind == Kind.STATE) | (kind == Kind.FAULT)],
            [v > limit, v < limit, has_prev & (rate > limit), flat, equal],
            False,
        )  # fmt: skip
        reset = np.select(
            [kind == Kind.HIGH, kind == Kind.LOW, kind == Kind.RATE, kind == Kind.FLATLINE,
             (kind == Kind.STATE) | (kind == Kind.FAULT)],
            [v <= limit - db, v >= limit + db, has_prev & (rate <= limit - db), ~flat, ~equal],
            False,
        )  # fmt: skip

        # Hysteresis: set and reset rows decide, rows in between hold the previous decision.
        decided = np.where(set_, True, np.where(reset, False, self.cond[a]))
        h = decided[_ffill(set_ | reset | first)]
        # On-delay: a run of h starts at a rising row, or before the batch when it carries on.
        prev_h = _shifted(h, self.cond[a], first)
        rising = h & ~prev_h
        start = np.where(rising, t, self.run_start[a])[_ffill(rising | first)]
        active = h & (t - start >= tab.delay_us[a])

        stale = kind == Kind.STALE
        active &= ~stale
        was = _shifted(active, self.active[a], first)
        change = (active != was) & ~stale
        parts = [Conditions(a[change], t[change], active[change], v[change])]

        # Stale: a gap longer than after_s between samples (unless the timer raised it already:
        # then it is active and only needs clearing), and any sample clears it.
        timer_raised = first & self.active[a]
        gap = stale & has_prev & (t - prev_t > tab.after_us[a]) & ~timer_raised
        ends = (gap | (stale & timer_raised)).nonzero()[0]
        gap_i = gap.nonzero()[0]
        parts.append(
            Conditions(
                a[gap_i], prev_t[gap_i] + tab.after_us[a[gap_i]], np.ones(len(gap_i), np.bool_),
                prev_v[gap_i],
            )
        )  # fmt: skip
        parts.append(Conditions(a[ends], t[ends], np.zeros(len(ends), np.bool_), v[ends]))

        g = a[last]
        self.last_ts[g], self.last_value[g] = t[last], v[last]
        self.cond[g], self.run_start[g], self.active[g] = h[last], start[last], active[last]
        self.changed_at[g] = flat_since[last]
        return Conditions.concat(parts)

    def check(self, now: int) -> Conditions:
        """Stale and flatline alarms due at wall-clock time ``now`` for want of samples."""
        tab = self.table
        base = np.where(self.last_ts == NEVER, self.origin_us, self.last_ts)
        stale = (
            (tab.kind == Kind.STALE) & ~self.active & (base != NEVER)
            & (now - base > tab.after_us)
        )  # fmt: skip
        flat = (
            (tab.kind == Kind.FLATLINE) & ~self.active & (self.changed_at != NEVER)
            & (now - self.changed_at >= tab.after_us)
        )  # fmt: skip
        due = np.flatnonzero(stale | flat)
        if not len(due):
            return Conditions.empty()
        since = np.where(stale[due], base[due], self.changed_at[due]) + tab.after_us[due]
        self.active[due] = True
        self.cond[due] = True
        self.run_start[due] = since
        return Conditions.concat(
            [Conditions(due, since, np.ones(len(due), np.bool_), self.last_value[due])]
        )
