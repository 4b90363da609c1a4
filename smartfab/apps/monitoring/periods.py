"""Reporting periods: a window split into calendar days or shifts of a site's local time.

Production figures are reported per shift, per day or over a custom range. A period set is a pair
of epoch-microsecond columns (start, end) plus a label, sorted and non-overlapping; gaps between
periods are allowed (a plant that works two shifts has nothing to report at night).

The plant file's work calendar (:class:`smartfab.model.plant.WorkCalendar`: shifts on weekdays,
breaks in each shift, dated planned stops) gives both the shift periods and the planned stops:
time outside every shift, the breaks and the dated stops, which OEE counts as planned down time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from smartfab.model.plant import WEEKDAYS, WorkCalendar, clock_minutes
from smartfab.model.plant import Shift as PlantShift
from smartfab.platform.points import Int64Array

ObjectArray = npt.NDArray[np.object_]

# (name, start "HH:MM", end "HH:MM") in local time, worked every day; an end not after the start
# crosses midnight. A plant file's shift (with weekdays and breaks) is accepted too.
Shift = tuple[str, str, str]
AnyShift = Shift | PlantShift

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Periods:
    """Reporting periods [start, end) as columns, sorted by start and not overlapping."""

    start: Int64Array
    end: Int64Array
    label: ObjectArray

    def __post_init__(self) -> None:
        if not self.start.shape == self.end.shape == self.label.shape:
            raise ValueError("periods: start, end and label must be equally long")
        if np.any(self.end <= self.start):
            raise ValueError("periods: every period must end after it starts")
        if np.any(self.start[1:] < self.end[:-1]):
            raise ValueError("periods must be sorted by start and must not overlap")

    @classmethod
    def window(cls, start: int, end: int, label: str = "") -> Periods:
        """One custom range [start, end)."""
        return cls(
            np.array([start], np.int64), np.array([end], np.int64), np.array([label], object)
        )

    def __len__(self) -> int:
        return int(self.start.shape[0])


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {timezone!r}: use an IANA name such as 'Europe/Berlin'"
        ) from exc


def _clock(text: str, shift: str) -> time:
    m = _CLOCK.match(text)
    if m is None:
        raise ValueError(f"shift {shift!r}: time {text!r} is not HH:MM (00:00 to 23:59)")
    return time(int(m.group(1)), int(m.group(2)))


def _us(day: date, clock: time, zone: ZoneInfo) -> int:
    # fold=0: a clock time that occurs twice when DST ends means its first occurrence, one that
    # does not exist when DST starts is read with the offset in force before the change.
    return int(datetime.combine(day, clock, zone).timestamp()) * _US


def _days(start: int, end: int, zone: ZoneInfo) -> list[date]:
    """Local dates from the day before ``start`` (whose night shift may reach into the window) to
    the day of ``end``."""
    first = datetime.fromtimestamp(start / _US, UTC).astimezone(zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end / _US, UTC).astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _as_plant_shift(shift: AnyShift) -> PlantShift:
    if isinstance(shift, PlantShift):
        return shift
    name, a, b = shift
    _clock(a, name), _clock(b, name)  # the precise error for a malformed time
    # Unvalidated: a tuple's name is a free label, not necessarily a plant-file slug.
    return PlantShift.model_construct(name=name, start=a, end=b, days=list(WEEKDAYS), breaks=[])


def calendar_periods(
    start: int, end: int, timezone: str = "UTC", shifts: Sequence[AnyShift] | None = None
) -> Periods:
    """Split [start, end) into local calendar days, or into the given shifts of each day.

    Days run from local midnight to local midnight, so a day with a DST change lasts 23 or 25 hours.
    A shift belongs to the local date on which it starts; "22:00" to "06:00" ends the next morning.
    A plant-file shift occurs only on its weekdays. Periods are clipped to [start, end). Labels are
    "YYYY-MM-DD" or "YYYY-MM-DD name".
    """
    if end <= start:
        raise ValueError(f"calendar periods: end ({end}) must be after start ({start})")
    zone = _zone(timezone)
    days = _days(start, end, zone)
    if shifts is None:
        starts = [_us(d, time(0), zone) for d in days]
        ends = [_us(d + timedelta(days=1), time(0), zone) for d in days]
        labels = [d.isoformat() for d in days]
    else:
        if not shifts:
            raise ValueError("calendar periods: the shift list is empty")
        starts, ends, labels = [], [], []
        for d in days:
            for shift in map(_as_plant_shift, shifts):
                if WEEKDAYS[d.weekday()] in shift.days:
                    starts.append(_at(d, clock_minutes(shift.start), zone))
                    ends.append(_at(d, shift.minutes[1], zone))
                    labels.append(f"{d.isoformat()} {shift.name}")
    s, e, lab = np.array(starts, np.int64), np.array(ends, np.int64), np.array(labels, object)
    order = np.argsort(s, kind="stable")
    s, e, lab = s[order], e[order], lab[order]
    clash = np.flatnonzero(s[1:] < e[:-1])
    if clash.size:
        i = int(clash[0])
        raise ValueError(f"shifts overlap: {lab[i]!r} and {lab[i + 1]!r}")
    keep = (e > start) & (s < end)
    return Periods(np.maximum(s[keep], start), np.minimum(e[keep], end), lab[keep])


def _at(day: date, minutes: int, zone: ZoneInfo) -> int:
    """Epoch microseconds of ``minutes`` after local midnight of ``day`` (more than a day's worth
    lands on the next day, as the end of a night shift does)."""
    days, rest = divmod(minutes, 24 * 60)
    return _us(day + timedelta(days=days), time(rest // 60, rest % 60), zone)


def _union(starts: list[int], ends: list[int], labels: list[str], start: int, end: int) -> Periods:
    """The intervals clipped to [start, end) and merged where they overlap or touch; a merged
    period is labelled with its parts' distinct labels joined by " + "."""
    s, e = np.array(starts, np.int64), np.array(ends, np.int64)
    s, e = np.maximum(s, start), np.minimum(e, end)
    keep = e > s
    s, e, lab = s[keep], e[keep], np.array(labels, object)[keep]
    order = np.argsort(s, kind="stable")
    s, e, lab = s[order], e[order], lab[order]
    out_s: list[int] = []
    out_e: list[int] = []
    out_l: list[list[str]] = []
    for a, b, name in zip(s.tolist(), e.tolist(), lab.tolist(), strict=True):
        if out_e and a <= out_e[-1]:
            out_e[-1] = max(out_e[-1], b)
            if name not in out_l[-1]:
                out_l[-1].append(name)
        else:
            out_s.append(a)
            out_e.append(b)
            out_l.append([name])
    return Periods(
        np.array(out_s, np.int64),
        np.array(out_e, np.int64),
        np.array([" + ".join(x) for x in out_l], object),
    )


OUTSIDE_SHIFTS = "outside shifts"


def planned_stops(start: int, end: int, calendar: WorkCalendar) -> Periods:
    """The planned stops of ``calendar`` within [start, end): time outside every shift (when it
    has shifts; without, the whole day is working time), each shift's breaks and the dated planned
    stops, merged where they overlap. Labels name them: "outside shifts", the break's or the
    stop's name. Intervals are few (a handful a day), so they are built in plain Python."""
    if end <= start:
        raise ValueError(f"planned stops: end ({end}) must be after start ({start})")
    zone = _zone(calendar.timezone)
    starts: list[int] = []
    ends: list[int] = []
    labels: list[str] = []
    if calendar.shifts:
        worked = calendar_periods(start, end, calendar.timezone, calendar.shifts)
        edges = np.concatenate(
            ([start], np.ravel(np.column_stack((worked.start, worked.end))), [end])
        )
        for a, b in edges.reshape(-1, 2).tolist():
            starts.append(a)
            ends.append(b)
            labels.append(OUTSIDE_SHIFTS)
        for d in _days(start, end, zone):
            for shift in calendar.shifts:
                if WEEKDAYS[d.weekday()] not in shift.days:
                    continue
                for brk in shift.breaks:
                    a, b = shift.break_minutes(brk)
                    starts.append(_at(d, a, zone))
                    ends.append(_at(d, b, zone))
                    labels.append(brk.name)
    for stop in calendar.planned_stops:
        starts.append(int(stop.start.replace(tzinfo=zone).timestamp() * _US))
        ends.append(int(stop.end.replace(tzinfo=zone).timestamp() * _US))
        labels.append(stop.name)
    return _union(starts, ends, labels, start, end)
