"""Reporting periods: a window split into calendar days or shifts of a site's local time.

Production figures are reported per shift, per day or over a custom range. A period set is a pair
of epoch-microsecond columns (start, end) plus a label, sorted and non-overlapping; gaps between
periods are allowed (a plant that works two shifts has nothing to report at night).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from smartfab.platform.points import Int64Array

ObjectArray = npt.NDArray[np.object_]

# (name, start "HH:MM", end "HH:MM") in local time; an end not after the start crosses midnight.
Shift = tuple[str, str, str]

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


def calendar_periods(
    start: int, end: int, timezone: str = "UTC", shifts: Sequence[Shift] | None = None
) -> Periods:
    """Split [start, end) into local calendar days, or into the given shifts of each day.

    Days run from local midnight to local midnight, so a day with a DST change lasts 23 or 25 hours.
    A shift belongs to the local date on which it starts; "22:00" to "06:00" ends the next morning.
    Periods are clipped to [start, end). Labels are "YYYY-MM-DD" or "YYYY-MM-DD name".
    """
    if end <= start:
        raise ValueError(f"calendar periods: end ({end}) must be after start ({start})")
    zone = _zone(timezone)
    first = datetime.fromtimestamp(start / _US, UTC).astimezone(zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end / _US, UTC).astimezone(zone).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    if shifts is None:
        starts = [_us(d, time(0), zone) for d in days]
        ends = [_us(d + timedelta(days=1), time(0), zone) for d in days]
        labels = [d.isoformat() for d in days]
    else:
        if not shifts:
            raise ValueError("calendar periods: the shift list is empty")
        clocks = [(name, _clock(a, name), _clock(b, name)) for name, a, b in shifts]
        starts, ends, labels = [], [], []
        for d in days:
            for name, a, b in clocks:
                starts.append(_us(d, a, zone))
                ends.append(_us(d + timedelta(days=int(b <= a)), b, zone))
                labels.append(f"{d.isoformat()} {name}")
    s, e, lab = np.array(starts, np.int64), np.array(ends, np.int64), np.array(labels, object)
    order = np.argsort(s, kind="stable")
    s, e, lab = s[order], e[order], lab[order]
    clash = np.flatnonzero(s[1:] < e[:-1])
    if clash.size:
        i = int(clash[0])
        raise ValueError(f"shifts overlap: {lab[i]!r} and {lab[i + 1]!r}")
    keep = (e > start) & (s < end)
    return Periods(np.maximum(s[keep], start), np.minimum(e[keep], end), lab[keep])
