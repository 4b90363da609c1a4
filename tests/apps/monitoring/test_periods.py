from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from smartfab.apps.monitoring.periods import Periods, calendar_periods

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
