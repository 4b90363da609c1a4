"""Fit a line twin's parameters to the stored history of its equipment.

Per station (from its STATE, COUNT and FAULT events over the window):

* cycle time: mean = running seconds / parts produced; its spread from the gaps between part
  counts inside one running segment (each gap is a cycle, read off a 1 s counter, so the
  variance of that rounding, 1/6 s^2 for two rounded ends, is taken out);
* scrap: scrap / produced;
* stops: every unplanned-down segment, grouped by the fault code reported as it began, and every
  idle segment, as stop kinds with MTBF = running hours / occurrences and the observed mean and
  spread of their durations (operation-dependent stops, as the twin simulates them);
* setups: setup episodes (a setup interrupted by a break is one episode), their durations, and
  the parts made between consecutive setups as the lot size.

Per line: the calendar is the week folded from the stations' planned-stop and off time (by
majority over the stations, since a machine under repair hides the calendar); a buffer's capacity
and initial content are the smallest that explain the recorded counts, times ``slack``: the
content between two stations is the upstream's good count minus the downstream's produced count,
plus the unknown initial content, and it never went below zero nor above the capacity.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from smartfab.apps.twin.history import History
from smartfab.apps.twin.model import (
    Buffer,
    Calendar,
    CalendarKind,
    CalibrationInfo,
    Dist,
    LineTwin,
    Setup,
    Station,
    Stop,
    TwinParams,
    format_window,
    twin_from_plant,
)
from smartfab.model.plant import Plant
from smartfab.platform.points import Float64Array
from smartfab.platform.store.base import Store

_US = 1_000_000
_QUANTUM_VAR = 1 / 6  # variance of the difference of two times each rounded to a second
_CALENDAR_STATES = ("planned_stop", "off")


@dataclass(frozen=True, slots=True)
class Note:
    """Something the calibration could not fit: ``code`` and ``values`` let a page say it in the
    reader's language (its i18n key is ``twin.note.<code>``); ``text`` says it in English."""

    code: Literal["no_history", "partial_week"]
    values: dict[str, str | float]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "values": self.values, "text": self.text}


def dist_of(values: Float64Array | list[float]) -> Dist | None:
    """Mean and cv of observations; None without any."""
    v = np.asarray(values, float)
    if v.size == 0 or not v.mean() > 0:
        return None
    cv = float(v.std(ddof=1) / v.mean()) if v.size > 1 else 0.0
    return Dist(mean=float(v.mean()), cv=round(min(cv, 5.0), 4))


def calibrate_station(station: Station, h: History, fault_texts: dict[int, str]) -> Station:
    """``station`` with what its history says; what it does not say is kept."""
    running_s = h.state_seconds("running")
    produced = h.good + h.scrap
    if produced <= 0 or running_s <= 0:
        return station
    updates: dict[str, object] = {
        "cycle_s": Dist(mean=running_s / produced, cv=_cycle_cv(h, running_s / produced)),
        "scrap": h.scrap / produced,
        "stops": _stops(h, running_s, fault_texts),
    }
    setup = _setup(h, produced)
    if setup is not None:
        updates["setup"] = setup
    return station.model_copy(update=updates)


def _cycle_cv(h: History, mean_s: float) -> float:
    tl = h.timeline
    ts, q = h.counts.ts, h.counts.quantity
    if ts.size < 3:
        return 0.0
    uts, inverse = np.unique(ts, return_inverse=True)
    parts = np.bincount(inverse, q)  # good and scrap counted in the same second are one count
    seg = np.searchsorted(tl.start, uts, side="right") - 1
    running = (seg >= 0) & (tl.state[np.maximum(seg, 0)] == "running")
    same = (seg[1:] == seg[:-1]) & running[1:] & running[:-1] & (parts[1:] == 1)
    gaps = np.diff(uts)[same] / _US
    # Gaps far longer than a cycle hide a counter that missed a part: leave them out.
    gaps = gaps[gaps < 3 * mean_s]
    if gaps.size < 10:
        return 0.0
    var = max(float(gaps.var(ddof=1)) - _QUANTUM_VAR, 0.0)
    return round(min(math.sqrt(var) / mean_s, 5.0), 4)


def _stops(h: History, running_s: float, fault_texts: dict[int, str]) -> list[Stop]:
    tl, secs = h.timeline, h.seconds
    running_h = running_s / 3600
    by_kind: dict[tuple[str, int | None], list[float]] = {}
    down = np.flatnonzero(tl.state == "unplanned_down")
    # The fault code reported within a few seconds of the machine going down names the stop.
    k = np.searchsorted(h.fault_ts, tl.start[down] - 2 * _US)
    for i, j in zip(down.tolist(), k.tolist(), strict=True):
        code: int | None = None
        if j < h.fault_ts.size and abs(int(h.fault_ts[j]) - int(tl.start[i])) <= 2 * _US:
            code = _int(h.fault_code[j])
        by_kind.setdefault(("unplanned_down", code), []).append(float(secs[i]))
    idle = secs[tl.state == "idle"]
    if idle.size:
        by_kind[("idle", None)] = idle.tolist()
    stops = []
    for (state, code), durations in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        d = dist_of(durations)
        if d is None:
            continue
        if state == "idle":
            name = "idle"
        elif code is None:
            name = "unplanned down (no fault code)"
        else:
            name = fault_texts.get(code, f"fault {code}")
        stops.append(
            Stop(
                name=name,
                state="idle" if state == "idle" else "unplanned_down",
                fault_code=code,
                mtbf_h=running_h / len(durations),
                duration_s=d,
            )
        )
    return stops


def _int(code: object) -> int | None:
    try:
        return int(str(code))
    except ValueError:
        return None


def _setup(h: History, produced: float) -> Setup | None:
    tl, secs = h.timeline, h.seconds
    episodes: list[float] = []
    starts: list[int] = []
    previous = ""  # the last state that was not a calendar state
    for state, s, start in zip(tl.state.tolist(), secs.tolist(), tl.start.tolist(), strict=True):
        if state in _CALENDAR_STATES:
            continue
        if state == "setup":
            if previous == "setup":
                episodes[-1] += s
            else:
                episodes.append(s)
                starts.append(start)
        previous = state
    durations = dist_of(episodes)
    if durations is None:
        return None
    # Lots: the parts made between two consecutive setups; the first and last are cut off by the
    # window, so the mean lot comes from all parts over the setups when there are few full lots.
    cum = h.cumulative(np.asarray(starts, np.int64), good_only=False)
    full = np.diff(cum)
    lots = dist_of(full[full > 0]) if full.size >= 3 else None
    if lots is None:
        lots = Dist(mean=max(produced / len(episodes), 1.0))
    return Setup(lot_parts=lots, duration_s=durations)


def calibrate_calendar(histories: list[History], design: Calendar) -> tuple[Calendar, float]:
    """The line's week, folded from its stations' states on a one-minute grid, and the share of
    the week's minutes the history covered. A minute of the week the history never saw (a window
    shorter than a week, or before the first recorded state) keeps the ``design`` calendar: taking
    it as production, or as off, would invent a working pattern nobody observed."""
    week_minutes = 7 * 1440
    start, end = histories[0].start, histories[0].end
    grid = np.arange(start - start % (60 * _US) + 60 * _US, end, 60 * _US, dtype=np.int64)
    # Per minute and station: 0 production, 1 planned stop, 2 off; no vote while unknown.
    votes = np.zeros((3, grid.size))
    for h in histories:
        code = h.states.in_force(grid)
        names = np.array([*h.states.names, "unknown"], dtype=object)[code]
        votes[0] += np.isin(names, ["running", "idle", "setup"])
        votes[1] += names == "planned_stop"
        votes[2] += names == "off"
    known = votes.sum(axis=0) > 0
    kind = np.argmax(votes, axis=0)[known]
    zone = ZoneInfo(design.timezone)
    minute = np.array(
        [_week_minute(int(t), zone) for t in grid[known].tolist()], np.int64
    )  # local minute of the week
    fold = np.zeros((3, week_minutes))
    np.add.at(fold, (kind, minute), 1)
    seen = fold.sum(axis=0) > 0
    week = np.where(seen, np.argmax(fold, axis=0), _design_minutes(design))
    windows: list[str] = []
    # Runs of one kind, cut at midnight so that each window is one day's.
    edges = np.flatnonzero((np.diff(week) != 0) | (np.arange(1, week.size) % 1440 == 0)) + 1
    bounds = np.concatenate(([0], edges, [week.size]))
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k = int(week[a])
        if k == 2:
            continue
        kname: CalendarKind = "production" if k == 0 else "planned_stop"
        windows.append(format_window(a * 60, b * 60, kname))
    return Calendar(timezone=design.timezone, week=windows), float(seen.mean())


def _design_minutes(design: Calendar) -> npt.NDArray[np.int64]:
    """The calendar's kind per minute of the week: 0 production, 1 planned stop, 2 off."""
    out = np.full(7 * 1440, 2, np.int64)
    for start, stop, kind in design.windows():
        minutes = np.arange(start // 60, -(-stop // 60)) % (7 * 1440)
        out[minutes] = 0 if kind == "production" else 1
    return out


def _week_minute(t_us: int, zone: ZoneInfo) -> int:
    local = datetime.fromtimestamp(t_us / _US, UTC).astimezone(zone)
    return local.weekday() * 1440 + local.hour * 60 + local.minute


def calibrate_buffer(up: History, down: History, slack: float) -> Buffer:
    """The smallest buffer that explains the counts of its two neighbours, times ``slack``."""
    t = np.union1d(up.counts.ts, down.counts.ts)
    if t.size == 0:
        return Buffer(capacity=1)
    d = up.cumulative(t, good_only=True) - down.cumulative(t, good_only=False)
    initial = math.ceil(max(0.0, -float(d.min())) * slack)
    capacity = max(1, math.ceil((initial + max(0.0, float(d.max()))) * slack), initial)
    return Buffer(capacity=capacity, initial=initial)


def calibrate(
    plant: Plant,
    store: Store,
    start_us: int,
    end_us: int,
    *,
    slack: float = 1.2,
    store_name: str = "",
    progress: Callable[[str], None] | None = None,
) -> tuple[TwinParams, list[Note]]:
    """Every line twin fitted to [start, end) of the store's history, and notes on what could
    not be fitted (equipment without history keeps its design data)."""
    base = twin_from_plant(plant)
    faults = {e.path: e.equipment.faults for e in plant.iter_equipment()}
    notes: list[Note] = []
    lines = []
    for line in base.lines:
        histories = []
        stations = []
        for st in line.stations:
            path = st.equipment[0]
            if progress is not None:
                progress(path)
            h = History.read(store, path, start_us, end_us)
            histories.append(h)
            fitted = calibrate_station(st, h, faults.get(path, {}))
            if fitted is st:
                notes.append(
                    Note(
                        "no_history",
                        {"equipment": path},
                        f"{path}: no parts or running time in the window; design data kept",
                    )
                )
            stations.append(fitted)
        buffers = [calibrate_buffer(a, b, slack) for a, b in itertools.pairwise(histories)]
        calendar, covered = calibrate_calendar(histories, line.calendar)
        if covered < 1:
            notes.append(
                Note(
                    "partial_week",
                    {"line": line.line, "covered": covered},
                    f"{line.line}: the history covers {covered:.0%} of the week; the rest of "
                    "the week keeps the design calendar (calibrate on at least a week for all "
                    "of it)",
                )
            )
        lines.append(
            LineTwin(
                line=line.line,
                stations=stations,
                buffers=buffers,
                calendar=calendar,
            )
        )
    info = CalibrationInfo(store=store_name, start=_iso(start_us), end=_iso(end_us))
    return TwinParams(calibrated_from=info, lines=lines), notes


def _iso(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / _US, UTC).isoformat(timespec="seconds")
