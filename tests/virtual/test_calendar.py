from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smartfab.virtual.calendar import (
    OFF,
    PLANNED_STOP,
    PRODUCTION,
    ShiftCalendar,
    ShiftPattern,
    worked_days_start,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def us(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, tz: ZoneInfo = UTC_ZONE
) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp()) * 1_000_000


TUESDAY = (2024, 3, 5)


@pytest.mark.parametrize(
    ("at", "kind", "until"),
    [
        ((*TUESDAY, 5), PRODUCTION, (*TUESDAY, 6)),  # night shift, begun on Monday
        ((*TUESDAY, 6), PLANNED_STOP, (*TUESDAY, 6, 10)),  # shift handover
        ((*TUESDAY, 9), PRODUCTION, (*TUESDAY, 10)),
        ((*TUESDAY, 10, 15), PLANNED_STOP, (*TUESDAY, 10, 30)),  # break
        ((*TUESDAY, 23), PRODUCTION, (2024, 3, 6, 2)),
        ((2024, 3, 9, 5), PRODUCTION, (2024, 3, 9, 6)),  # Friday's night shift ends on Saturday
        ((2024, 3, 9, 6), OFF, (2024, 3, 11, 6)),  # weekend: Saturday and Sunday shifts not worked
    ],
)
def test_shift_pattern(at: tuple[int, ...], kind: int, until: tuple[int, ...]) -> None:
    cal = ShiftCalendar(UTC_ZONE, us(*TUESDAY))
    assert cal.at(us(*at)) == (kind, us(*until))


def test_shifts_start_at_local_time() -> None:
    winter = ShiftCalendar(BERLIN, us(*TUESDAY))
    assert winter.at(us(*TUESDAY, 5, 5)) == (PLANNED_STOP, us(*TUESDAY, 5, 10))  # 06:00 CET
    summer = ShiftCalendar(BERLIN, us(2024, 7, 2))
    assert summer.at(us(2024, 7, 2, 4, 5)) == (PLANNED_STOP, us(2024, 7, 2, 4, 10))  # 06:00 CEST


@pytest.mark.parametrize(("monday", "dst_h"), [((2024, 3, 25), -1), ((2024, 10, 21), 1)])
def test_calendar_is_continuous_across_dst_changes(
    monday: tuple[int, int, int], dst_h: int
) -> None:
    # Every day worked, so that the shift spanning the DST change (a Sunday night) is worked too.
    start = us(*monday, 6, tz=BERLIN)
    cal = ShiftCalendar(BERLIN, start, ShiftPattern(workdays=frozenset(range(7))))
    next_monday = date(*monday) + timedelta(days=7)
    end = us(next_monday.year, next_monday.month, next_monday.day, 6, tz=BERLIN)
    t, production_s = start, 0
    while t < end:
        kind, until = cal.at(t)
        assert until > t
        if kind == PRODUCTION:
            production_s += (until - t) // 1_000_000
        t = until
    # 21 shifts less handover and break each; the DST night shift is an hour shorter or longer.
    expected = 21 * (timedelta(hours=8) - timedelta(minutes=40)) + timedelta(hours=dst_h)
    assert (t, production_s) == (end, expected.total_seconds())


def test_utc_offset_follows_the_zone() -> None:
    cal = ShiftCalendar(BERLIN, us(*TUESDAY))
    assert cal.utc_offset_s(us(*TUESDAY)) == 3600
    assert cal.utc_offset_s(us(2024, 7, 2)) == 7200
    assert ShiftCalendar(UTC_ZONE, us(*TUESDAY)).utc_offset_s(us(*TUESDAY)) == 0


def test_calendar_start_mid_shift() -> None:
    # Starting in the middle of the night shift that began the local day before.
    start = int(datetime(2024, 3, 6, 3, tzinfo=UTC).timestamp()) * 1_000_000
    assert ShiftCalendar(UTC_ZONE, start).at(start) == (PRODUCTION, us(2024, 3, 6, 6))


@pytest.mark.parametrize(
    ("end", "first"),
    [
        ((2026, 12, 6, 20), (2026, 12, 2, 6)),  # Sunday evening: Wednesday to Friday
        ((2026, 12, 7, 5), (2026, 12, 2, 6)),  # Monday before its first shift: the same
        ((2026, 12, 7, 7), (2026, 12, 3, 6)),  # Monday 07:00: Monday, Friday and Thursday
        ((2026, 12, 4, 12), (2026, 12, 2, 6)),  # Friday noon: Friday back to Wednesday
    ],
)
def test_worked_days_start_counts_days_worked_not_calendar_days(
    end: tuple[int, ...], first: tuple[int, ...]
) -> None:
    assert worked_days_start(BERLIN, us(*end, tz=BERLIN), 3) == us(*first, tz=BERLIN)
