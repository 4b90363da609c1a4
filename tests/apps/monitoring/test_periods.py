from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from smartfab.apps.monitoring.periods import (
    OUTSIDE_SHIFTS,
    Periods,
    calendar_periods,
    planned_stops,
)
from smartfab.model.plant import PlannedStop, ShiftBreak, WorkCalendar
from smartfab.model.plant import Shift as PlantShift

SHIFTS = [("early", "06:00", "14:00"), ("late", "14:00", "22:00"), ("night", "22:00", "06:00")]


def us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 1_000_000


def test_days_in_utc_are_clipped_to_the_window() -> None:
    p = calendar_periods(us("2026-11-20T12:00:00+00:00"), us("2026-11-22T06:00:00+00:00"))
    assert p.label.tolist() == ["2026-11-20", "2026-11-21", "2026-11-22"]
    np.testing.assert_array_equal(
        p.start,
        [us("2026-11-20T12:00:00+00:00"), us("2026-11-21T00:00:00+00:00"),
         us("2026-11-22T00:00:00+00:00")],
    )  # fmt: skip
    np.testing.assert_array_equal(
        p.end,
        [us("2026-11-21T00:00:00+00:00"), us("2026-11-22T00:00:00+00:00"),
         us("2026-11-22T06:00:00+00:00")],
    )  # fmt: skip


def test_a_local_day_with_a_dst_change_lasts_23_hours() -> None:
    # Berlin springs forward on 2026-03-29: local midnight is 23:00 UTC the day before, and the
    # next local midnight is 22:00 UTC, 23 hours later.
    p = calendar_periods(
        us("2026-03-28T23:00:00+00:00"), us("2026-03-30T22:00:00+00:00"), "Europe/Berlin"
    )
    assert p.label.tolist() == ["2026-03-29", "2026-03-30"]
    assert ((p.end - p.start) // 3_600_000_000).tolist() == [23, 24]


def test_shifts_in_local_time_with_a_night_shift_across_midnight() -> None:
    # One local day in Berlin (UTC+1 in November): 2026-11-19T23:00Z to 2026-11-20T23:00Z.
    p = calendar_periods(
        us("2026-11-19T23:00:00+00:00"), us("2026-11-20T23:00:00+00:00"), "Europe/Berlin", SHIFTS
    )
    assert p.label.tolist() == [
        "2026-11-19 night", "2026-11-20 early", "2026-11-20 late", "2026-11-20 night",
    ]  # fmt: skip
    # The night shift that began on the 19th at 22:00 local is clipped to the window's start; the
    # next one runs from 22:00 local (21:00Z) to the window's end.
    np.testing.assert_array_equal(
        p.start,
        [us("2026-11-19T23:00:00+00:00"), us("2026-11-20T05:00:00+00:00"),
         us("2026-11-20T13:00:00+00:00"), us("2026-11-20T21:00:00+00:00")],
    )  # fmt: skip
    np.testing.assert_array_equal(p.end[:3], p.start[1:])
    assert p.end[3] == us("2026-11-20T23:00:00+00:00")


def test_shifts_may_leave_gaps() -> None:
    day = calendar_periods(
        us("2026-11-20T00:00:00+00:00"),
        us("2026-11-21T00:00:00+00:00"),
        shifts=[("a", "06:00", "14:00"), ("b", "14:00", "22:00")],
    )
    assert day.label.tolist() == ["2026-11-20 a", "2026-11-20 b"]
    assert day.start[0] == us("2026-11-20T06:00:00+00:00")
    assert day.end[1] == us("2026-11-20T22:00:00+00:00")


def test_bad_calendars_are_rejected() -> None:
    a, b = us("2026-11-20T00:00:00+00:00"), us("2026-11-21T00:00:00+00:00")
    with pytest.raises(ValueError, match="shifts overlap"):
        calendar_periods(a, b, shifts=[("a", "06:00", "14:00"), ("b", "13:00", "20:00")])
    with pytest.raises(ValueError, match="not HH:MM"):
        calendar_periods(a, b, shifts=[("a", "6:00", "14:00")])
    with pytest.raises(ValueError, match="unknown time zone"):
        calendar_periods(a, b, "Mars/Olympus")
    with pytest.raises(ValueError, match="empty"):
        calendar_periods(a, b, shifts=[])
    with pytest.raises(ValueError, match="after start"):
        calendar_periods(b, a)


def test_periods_must_be_sorted_and_disjoint() -> None:
    lab = np.array(["x", "y"], object)
    with pytest.raises(ValueError, match="overlap"):
        Periods(np.array([0, 5]), np.array([10, 20]), lab)
    with pytest.raises(ValueError, match="end after"):
        Periods(np.array([0, 5]), np.array([0, 20]), lab)
    assert len(Periods(np.array([0, 10]), np.array([10, 20]), lab)) == 2


# --- the plant file's work calendar ----------------------------------------------------------


def berlin_calendar() -> WorkCalendar:
    early = PlantShift(
        name="early", start="06:00", end="14:00", days=["mon", "tue", "wed", "thu", "fri"],
        breaks=[ShiftBreak(name="lunch", start="10:00", end="10:30")],
    )  # fmt: skip
    night = PlantShift(
        name="night", start="22:00", end="06:00", days=["fri"],
        breaks=[ShiftBreak(start="02:00", end="02:30")],
    )  # fmt: skip
    stop = PlannedStop(
        name="maintenance", start=datetime(2026, 11, 20, 12), end=datetime(2026, 11, 20, 13)
    )
    return WorkCalendar(timezone="Europe/Berlin", shifts=[early, night], planned_stops=[stop])


def test_plant_shifts_occur_only_on_their_weekdays() -> None:
    # Friday 2026-11-20 to Sunday 2026-11-22, Berlin (UTC+1)
    p = calendar_periods(
        us("2026-11-20T00:00:00+01:00"), us("2026-11-23T00:00:00+01:00"), "Europe/Berlin",
        berlin_calendar().shifts,
    )  # fmt: skip
    assert p.label.tolist() == ["2026-11-20 early", "2026-11-20 night"]
    assert p.end[1] == us("2026-11-21T06:00:00+01:00")  # Friday's night shift ends on Saturday


def test_planned_stops_are_outside_shifts_breaks_and_dated_stops() -> None:
    start, end = us("2026-11-20T00:00:00+01:00"), us("2026-11-21T12:00:00+01:00")
    p = planned_stops(start, end, berlin_calendar())
    got = [(lab, s, e) for lab, s, e in zip(p.label.tolist(), p.start.tolist(), p.end.tolist(),
                                            strict=True)]  # fmt: skip
    assert got == [
        (OUTSIDE_SHIFTS, start, us("2026-11-20T06:00:00+01:00")),
        ("lunch", us("2026-11-20T10:00:00+01:00"), us("2026-11-20T10:30:00+01:00")),
        ("maintenance", us("2026-11-20T12:00:00+01:00"), us("2026-11-20T13:00:00+01:00")),
        (OUTSIDE_SHIFTS, us("2026-11-20T14:00:00+01:00"), us("2026-11-20T22:00:00+01:00")),
        ("break", us("2026-11-21T02:00:00+01:00"), us("2026-11-21T02:30:00+01:00")),
        (OUTSIDE_SHIFTS, us("2026-11-21T06:00:00+01:00"), end),
    ]


def test_without_shifts_only_the_dated_stops_are_planned() -> None:
    cal = berlin_calendar().model_copy(update={"shifts": []})
    p = planned_stops(us("2026-11-20T00:00:00+01:00"), us("2026-11-21T00:00:00+01:00"), cal)
    assert p.label.tolist() == ["maintenance"]
