"""The plant's shift calendar: when the virtual factory may produce, stops as planned, or is off.

Shifts start at fixed local times of the site's timezone (DST included). A worked shift opens with
a handover and has a break part-way; shifts starting on days off leave the plant switched off. The
calendar is a sorted list of change points, extended a day at a time as the simulation moves on.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from smartfab.model.plant import DEFAULT_STATES

_CODE = {name: code for code, name in DEFAULT_STATES.items()}
PRODUCTION = _CODE["running"]  # the calendar allows production; the machine decides the rest
PLANNED_STOP = _CODE["planned_stop"]
OFF = _CODE["off"]


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    shift_starts: tuple[time, ...] = (time(6), time(14), time(22))
    workdays: frozenset[int] = frozenset(range(5))  # weekdays whose shifts are worked, Monday = 0
    handover: timedelta = timedelta(minutes=10)
    break_after: timedelta = timedelta(hours=4)
    break_length: timedelta = timedelta(minutes=30)


def worked_days_start(
    zone: ZoneInfo, end_us: int, days: int, pattern: ShiftPattern | None = None
) -> int:
    """When the first shift began of the earliest of the last ``days`` days worked before
    ``end_us`` (the day in progress counts once its first shift has begun): history from then on
    holds that many days of production whatever the weekday, where a span of calendar days ending
    on a Monday morning would hold a weekend and hardly any production."""
    p = pattern or ShiftPattern()
    if days < 1 or not p.workdays:
        raise ValueError(
            f"worked days: need at least one of them, and a week that has any ({days})"
        )
    day = datetime.fromtimestamp(end_us / 1e6, zone).date()
    while True:
        first = int(datetime.combine(day, p.shift_starts[0], zone).timestamp()) * 1_000_000
        if day.weekday() in p.workdays and first < end_us:
            days -= 1
            if days == 0:
                return first
        day -= timedelta(days=1)


class ShiftCalendar:
    def __init__(self, zone: ZoneInfo, start_us: int, pattern: ShiftPattern | None = None) -> None:
        self._zone = zone
        self._pattern = pattern or ShiftPattern()
        # The shift running at start_us may have begun the local day before.
        self._next_day = datetime.fromtimestamp(start_us / 1e6, zone).date() - timedelta(days=1)
        self._starts: list[int] = []  # change points, epoch us, strictly rising
        self._kinds: list[int] = []  # PRODUCTION, PLANNED_STOP or OFF from that change point on
        self._extend_until(start_us)

    def at(self, t_us: int) -> tuple[int, int]:
        """What the calendar says at ``t_us`` and until when it keeps saying it."""
        self._extend_until(t_us)
        i = bisect.bisect_right(self._starts, t_us) - 1
        return self._kinds[i], self._starts[i + 1]

    def utc_offset_s(self, t_us: int) -> float:
        offset = datetime.fromtimestamp(t_us / 1e6, UTC).astimezone(self._zone).utcoffset()
        return 0.0 if offset is None else offset.total_seconds()

    def _extend_until(self, t_us: int) -> None:
        # Change points are only ever appended, so once one lies past t_us the interval holding
        # t_us has its end.
        while not self._starts or self._starts[-1] <= t_us:
            self._add_day(self._next_day)
            self._next_day += timedelta(days=1)

    def _add_day(self, day: date) -> None:
        p = self._pattern
        starts = [datetime.combine(day, s, self._zone) for s in p.shift_starts]
        starts.append(datetime.combine(day + timedelta(days=1), p.shift_starts[0], self._zone))
        for shift, next_shift in pairwise(starts):
            if day.weekday() not in p.workdays:
                self._add(shift, OFF)
                continue
            self._add(shift, PLANNED_STOP)
            self._add(shift + p.handover, PRODUCTION)
            self._add(shift + p.break_after, PLANNED_STOP)
            brk_end = shift + p.break_after + p.break_length
            if brk_end < next_shift:
                self._add(brk_end, PRODUCTION)

    def _add(self, local: datetime, kind: int) -> None:
        t = int(local.timestamp()) * 1_000_000
        if self._kinds and self._kinds[-1] == kind:
            return  # no change
        if self._starts and t <= self._starts[-1]:
            # A local time that does not exist on a DST night collapses onto the previous point.
            self._kinds[-1] = kind
            return
        self._starts.append(t)
        self._kinds.append(kind)
