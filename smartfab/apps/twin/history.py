"""One equipment's stored history over a window, read once for calibration and validation: its
state timeline, its part counts and its fault events, as columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartfab.apps.monitoring.events import event_columns
from smartfab.apps.monitoring.oee import OeeFigures, PartCounts, compute_oee
from smartfab.apps.monitoring.periods import Periods
from smartfab.apps.monitoring.states import StateSeries, Timeline, state_in_force
from smartfab.platform.points import EventKind, Float64Array, Int64Array
from smartfab.platform.store.base import Store

ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class History:
    equipment: str
    start: int  # epoch us
    end: int
    states: StateSeries
    timeline: Timeline
    counts: PartCounts
    fault_ts: Int64Array
    fault_code: ObjectArray

    @classmethod
    def read(cls, store: Store, equipment: str, start: int, end: int) -> History:
        events = store.events(
            start, end, equipment, [EventKind.STATE, EventKind.COUNT, EventKind.FAULT], None
        )
        states = StateSeries.from_events(events, state_in_force(store, equipment, start))
        faults = event_columns(events, EventKind.FAULT)
        return cls(
            equipment, start, end, states, states.timeline(start, end),
            PartCounts.from_events(events), faults.ts, faults.code,
        )  # fmt: skip

    @property
    def seconds(self) -> Float64Array:
        """Length of each timeline segment in seconds."""
        out: Float64Array = (self.timeline.end - self.timeline.start) / 1e6
        return out

    def state_seconds(self, state: str) -> float:
        return float(self.seconds[self.timeline.state == state].sum())

    @property
    def good(self) -> float:
        return float(self.counts.quantity[~self.counts.scrap].sum())

    @property
    def scrap(self) -> float:
        return float(self.counts.quantity[self.counts.scrap].sum())

    def oee(self, ideal_cycle_s: float) -> OeeFigures:
        return compute_oee(
            self.states, self.counts, Periods.window(self.start, self.end), ideal_cycle_s
        )

    def cumulative(self, t: Int64Array, *, good_only: bool) -> Float64Array:
        """Parts counted up to each time of ``t`` (good ones, or all produced)."""
        q = (
            np.where(self.counts.scrap, 0.0, self.counts.quantity)
            if good_only
            else (self.counts.quantity)
        )
        cum = np.concatenate(([0.0], np.cumsum(q)))
        out: Float64Array = cum[np.searchsorted(self.counts.ts, t, side="right")]
        return out
