"""One virtual machine's behaviour over time: states, cycles, parts and wear, as a timeline.

The machine is an event-driven state machine. Each step decides the next state segment from the
shift calendar, the job in hand and random draws: production runs until the calendar stops it, a
minor stop or starvation strikes, the lot is finished (then a changeover follows) or a failure mode
has worn through (then a repair follows). The cycles of a running segment are drawn all at once
with NumPy, so Python works per state change, never per part or per sample. A machine whose
cycle follows its process settings (``pace``) also ends a run at the end of the cycle in progress
every ``PACE_US``, and goes on at the pace then in force.

The timeline is generated ahead of the samples asked for and its random draws happen in one fixed
order, so it does not depend on how the caller slices time: that is what makes the whole simulation
reproducible for a seed, however it is advanced.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from smartfab.model.plant import DEFAULT_STATES
from smartfab.platform.points import Float64Array, Int64Array
from smartfab.virtual.calendar import PRODUCTION, ShiftCalendar
from smartfab.virtual.models import EquipmentModel, FailureMode

_CODE = {name: code for code, name in DEFAULT_STATES.items()}
OFF = _CODE["off"]
RUNNING = _CODE["running"]
IDLE = _CODE["idle"]
SETUP = _CODE["setup"]
DOWN = _CODE["unplanned_down"]

_US = 1_000_000
_WEIBULL2_MEAN = math.gamma(1.5)  # mean of a unit Weibull with shape 2
# How often a machine whose pace follows its process settings looks at them again: at the end of
# the cycle in progress at each multiple of this (epoch-aligned, so that it does not depend on
# when the simulation started), a new run is planned at the pace then in force.
PACE_US = 5 * 60 * _US


@dataclass(frozen=True, slots=True)
class Failure:
    """Ground truth of one failure: which machine, which mode, when it began and ended."""

    equipment: str  # equipment path
    mode: str  # failure mode name, e.g. "spindle_bearing_wear"
    fault_code: int
    onset_us: int  # onset of degradation (wear starts rising)
    failure_us: int  # the machine goes down
    repaired_us: int  # back in service


@dataclass(frozen=True, slots=True)
class Ramp:
    """A piecewise-linear, right-continuous function of time: from ``start[i]`` on, the value is
    ``level[i] + slope[i] * seconds since start[i]``."""

    start: Int64Array
    level: Float64Array
    slope: Float64Array  # per second

    def at(self, ts: Int64Array) -> Float64Array:
        i = np.searchsorted(self.start, ts, "right") - 1
        out: Float64Array = self.level[i] + self.slope[i] * ((ts - self.start[i]) / _US)
        return out


@dataclass(frozen=True, slots=True)
class Timeline:
    """What the machine did from shortly before the current time on, as columns."""

    # state segments: start, state code (DEFAULT_STATES), fault code (0 = none), job intensity
    seg_start: Int64Array
    seg_state: Int64Array
    seg_fault: Int64Array
    seg_job: Float64Array
    # cycles in order, the aborted last one of a segment included: end (clipped to the segment),
    # start, planned duration in seconds, material factor
    cyc_end: Int64Array
    cyc_start: Int64Array
    cyc_s: Float64Array
    cyc_mat: Float64Array
    # completed parts: end, cycle duration in seconds, cumulative good and scrap counts
    part_end: Int64Array
    part_s: Float64Array
    good: Float64Array
    scrap: Float64Array
    wear: Mapping[str, Ramp]  # failure mode name -> wear, 0 healthy to 1 failed


class _Log:
    """Columns appended a piece at a time, joined on read and dropped from the front once past."""

    def __init__(self, *dtypes: type[Any]) -> None:
        self._cols: list[npt.NDArray[Any]] = [np.empty(0, d) for d in dtypes]
        self._pieces: list[tuple[npt.ArrayLike, ...]] = []

    def add(self, *cols: npt.ArrayLike) -> None:
        self._pieces.append(cols)

    def columns(self) -> list[npt.NDArray[Any]]:
        if self._pieces:
            self._cols = [
                np.concatenate([c, *(np.atleast_1d(p[i]) for p in self._pieces)]).astype(
                    c.dtype, copy=False
                )
                for i, c in enumerate(self._cols)
            ]
            self._pieces.clear()
        return self._cols

    def drop_passed(self, t_us: int, *, keep_current: bool) -> None:
        """Drop the rows whose key (first column) is at or before ``t_us``; with ``keep_current``
        keep the last of them, the one still in force at ``t_us``."""
        cols = self.columns()
        n = int(np.searchsorted(cols[0], t_us, "right")) - int(keep_current)
        if n > 0:
            self._cols = [c[n:] for c in cols]


class _Wear:
    """The degradation of one failure mode."""

    def __init__(self, mode: FailureMode, rng: np.random.Generator, start_us: int) -> None:
        self.mode = mode
        self._rng = rng
        self.level = 0.0
        self.onset_us: int | None = None
        self.log = _Log(np.int64, np.float64, np.float64)  # a Ramp's columns
        self.log.add(start_us, 0.0, 0.0)
        # The machine is not new when the simulation starts: part of its healthy life is gone.
        self._renew()
        self.to_onset_s *= rng.random()

    def _renew(self) -> None:
        m, rng = self.mode, self._rng
        self.to_onset_s = m.onset_h * 3600 * rng.weibull(2.0) / _WEIBULL2_MEAN
        self.rate = 1 / (m.degradation_h * 3600 * rng.lognormal(0.0, 0.3))  # per running second

    def failure_in(self, rate: float) -> float:
        """Running seconds until failure at the given rate."""
        return self.to_onset_s + (1 - self.level) / rate

    def at(self, t0: int, ts: Int64Array, rate: float) -> Float64Array:
        """Wear at times ``ts`` of a run starting at ``t0``."""
        active = np.maximum((ts - t0) / _US - self.to_onset_s, 0.0)
        out: Float64Array = np.minimum(self.level + rate * active, 1.0)
        return out

    def run(self, t0: int, t1: int, rate: float) -> None:
        """Wear through running from ``t0`` to ``t1``."""
        run_s = (t1 - t0) / _US
        if run_s <= self.to_onset_s:
            self.to_onset_s -= run_s
            return
        ramp_from = t0 + round(self.to_onset_s * _US)
        if self.onset_us is None:
            self.onset_us = ramp_from
        self.log.add(ramp_from, self.level, rate)
        self.level = min(1.0, self.level + rate * (run_s - self.to_onset_s))
        self.to_onset_s = 0.0
        self.log.add(t1, self.level, 0.0)

    def repaired(self, t_us: int) -> None:
        self.level = 0.0
        self.onset_us = None
        self.log.add(t_us, 0.0, 0.0)
        self._renew()


class VirtualEquipment:
    """A machine of a virtual model, generating its timeline from ``start_us`` on."""

    def __init__(
        self,
        path: str,
        model: EquipmentModel,
        ideal_cycle_s: float | None,
        calendar: ShiftCalendar,
        rng: np.random.Generator,
        start_us: int,
        pace: Callable[[int], float] | None = None,
    ) -> None:
        """``pace(t)``: how long a cycle started at ``t`` takes relative to the ideal one (the
        process settings in force decide it); without it, the machine keeps its ideal cycle."""
        self.path = path
        self.model = model
        self._ideal_s = ideal_cycle_s or model.cycle_s
        self._cal = calendar
        self._rng = rng
        self._t = start_us  # the timeline is complete up to here
        self._segments = _Log(np.int64, np.int64, np.int64, np.float64)
        # keyed by end, as a cycle is of no use once over
        self._cycles = _Log(np.int64, np.int64, np.float64, np.float64)
        self._parts = _Log(np.int64, np.float64, np.float64, np.float64)
        # As if a part had just been finished, so that the last cycle time is known from the start.
        self._parts.add(start_us - 1, self._ideal_s, 0.0, 0.0)
        self._good = 0
        self._scrap = 0
        self._wear = [_Wear(f, rng, start_us) for f in model.failures]
        self._failures: list[Failure] = []
        self._minor_cum = list(itertools.accumulate(s.per_h for s in model.minor_stops))
        self._minor_per_h = self._minor_cum[-1] if self._minor_cum else 0.0
        # The machine starts part-way through a job.
        self._job = rng.uniform(0.6, 1.0)
        lot = self._lot_size()
        self._job_left = 1 + int(rng.random() * lot)
        self._job_done = lot
        self._setup_left_us = 0
        self._pace = pace

    @property
    def failures(self) -> list[Failure]:
        """Every failure in the timeline generated so far (which runs ahead of the samples)."""
        return self._failures

    def extend(self, until_us: int) -> None:
        """Generate the timeline up to at least ``until_us``."""
        while self._t < until_us:
            allowed, cal_end = self._cal.at(self._t)
            if allowed != PRODUCTION:
                self._emit(allowed, 0, cal_end)
            elif self._setup_left_us > 0:
                end = min(self._t + self._setup_left_us, cal_end)
                self._setup_left_us -= end - self._t
                self._emit(SETUP, 0, end)
            elif self._job_left == 0:
                self._new_job()
            else:
                self._run(cal_end)

    def timeline(self) -> Timeline:
        seg_start, seg_state, seg_fault, seg_job = self._segments.columns()
        cyc_end, cyc_start, cyc_s, cyc_mat = self._cycles.columns()
        part_end, part_s, good, scrap = self._parts.columns()
        return Timeline(
            seg_start, seg_state, seg_fault, seg_job,
            cyc_end, cyc_start, cyc_s, cyc_mat,
            part_end, part_s, good, scrap,
            {w.mode.name: Ramp(*w.log.columns()) for w in self._wear},
        )  # fmt: skip

    def forget_before(self, t_us: int) -> None:
        """Drop what is no longer needed to evaluate the timeline at ``t_us`` or later."""
        self._segments.drop_passed(t_us, keep_current=True)
        self._parts.drop_passed(t_us, keep_current=True)
        self._cycles.drop_passed(t_us, keep_current=False)
        for w in self._wear:
            w.log.drop_passed(t_us, keep_current=True)

    # --- the state machine ------------------------------------------------------------------

    def _emit(self, state: int, fault: int, until_us: int) -> None:
        self._segments.add(self._t, state, fault, self._job)
        self._t = until_us

    def _lot_size(self) -> int:
        return max(1, round(self.model.job_h * 3600 / self._ideal_s * self._rng.lognormal(0, 0.4)))

    def _new_job(self) -> None:
        self._job = self._rng.uniform(0.6, 1.0)
        self._job_left = self._lot_size()
        self._job_done = 0
        self._setup_left_us = round(self.model.setup_min * 60 * self._rng.lognormal(0, 0.3) * _US)

    def _exp_s(self, per_h: float) -> float:
        return float(self._rng.exponential(3600 / per_h)) if per_h > 0 else math.inf

    def _run(self, cal_end: int) -> None:
        """One running segment, then the stop that ends it."""
        m, rng, t = self.model, self._rng, self._t
        minor_s, idle_s = self._exp_s(self._minor_per_h), self._exp_s(m.idle_per_h)
        # Wear advances at a rate that varies from run to run: degradation is stochastic.
        rates = [w.rate * rng.gamma(4.0, 0.25) for w in self._wear]
        fail_s = [w.failure_in(r) for w, r in zip(self._wear, rates, strict=True)]
        horizon_s = min([minor_s, idle_s, *fail_s])
        end = cal_end if horizon_s * _US >= cal_end - t else t + max(1, math.ceil(horizon_s * _US))

        # Every cycle is slower than ideal (at the pace in force) by a random amount; at most the
        # rest of the lot.
        ideal_s = self._ideal_s * (self._pace(t) if self._pace is not None else 1.0)
        n = min(self._job_left, (end - t) // max(1, round(ideal_s * _US)) + 1)
        dur_s = ideal_s * (1 + rng.gamma(3.0, m.speed_loss / 3, n))
        ends = t + np.cumsum(np.rint(dur_s * _US).astype(np.int64))
        mat = 1 + m.material_sd * rng.standard_normal(n)
        u = rng.random(n)
        repace = False
        if self._pace is not None:
            # The run ends with the cycle in progress at the next pace point (unless it stops
            # first); the next run goes at the pace then in force.
            k = int(np.searchsorted(ends, (t // PACE_US + 1) * PACE_US))
            if k < n and ends[k] < end:
                end, repace = int(ends[k]), True
        done = int(np.searchsorted(ends, end, "right"))
        lot_finished = done == self._job_left
        if lot_finished:
            end = int(ends[done - 1])
        starts = np.concatenate(([t], ends[:-1]))
        shown = done + int(not lot_finished and starts[min(done, n - 1)] < end)  # + aborted one
        self._cycles.add(np.minimum(ends[:shown], end), starts[:shown], dur_s[:shown], mat[:shown])

        # Scrap: a base rate, the first parts after a changeover, and worn equipment.
        part_end = ends[:done]
        p = m.scrap + m.setup_scrap * np.exp(-(self._job_done + np.arange(done)) / 2)
        for w, r in zip(self._wear, rates, strict=True):
            if w.mode.scrap_gain:
                p += w.mode.scrap_gain * w.at(t, part_end, r) ** 2
        good = u[:done] >= p
        good_cum = self._good + np.cumsum(good)
        scrap_cum = self._scrap + np.cumsum(~good)
        if done:
            self._parts.add(part_end, dur_s[:done], good_cum, scrap_cum)
            self._good, self._scrap = int(good_cum[-1]), int(scrap_cum[-1])
        self._job_left -= done
        self._job_done += done

        for w, r in zip(self._wear, rates, strict=True):
            w.run(t, end, r)
        self._emit(RUNNING, 0, end)
        if lot_finished or repace or end == cal_end:
            return
        if horizon_s == minor_s:
            pick = rng.random() * self._minor_per_h  # which stop, in proportion to its rate
            stop = m.minor_stops[bisect.bisect_right(self._minor_cum, pick)]
            dur = stop.median_min * 60 * rng.lognormal(0, 0.5)
            self._emit(DOWN, stop.fault_code, min(cal_end, end + round(dur * _US)))
        elif horizon_s == idle_s:
            dur = m.idle_min * 60 * rng.lognormal(0, 0.5)
            self._emit(IDLE, 0, min(cal_end, end + round(dur * _US)))
        else:
            self._fail(self._wear[fail_s.index(horizon_s)], end)

    def _fail(self, wear: _Wear, t_us: int) -> None:
        """Break down; the repair takes as long as it takes, whatever the calendar says."""
        mode = wear.mode
        repaired = t_us + round(mode.repair_h * 3600 * self._rng.lognormal(0, 0.35) * _US)
        assert wear.onset_us is not None  # wearing through takes degrading first
        self._failures.append(
            Failure(self.path, mode.name, mode.fault_code, wear.onset_us, t_us, repaired)
        )
        self._emit(DOWN, mode.fault_code, repaired)
        wear.repaired(repaired)
