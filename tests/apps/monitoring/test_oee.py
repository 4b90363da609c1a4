from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from smartfab.apps.monitoring.oee import (
    DEFAULT_CATEGORIES,
    PartCounts,
    TimeCategory,
    combine,
    compute_oee,
    oee_from_events,
)
from smartfab.apps.monitoring.periods import Periods
from smartfab.apps.monitoring.states import StateSeries, state_in_force
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.monitoring.conftest import PRESS, at


def window(a: float, b: float) -> Periods:
    return Periods.window(at(a), at(b))


# The shift of the main hand computation: 480 minutes [T0, T0 + 480 min). The equipment was in setup
# before the window opened, and is still running when it closes (the next event, at 500 min, lies
# after the window and must not count).
SHIFT_STATES = StateSeries.of(
    [at(m) for m in (20, 200, 230, 300, 315, 345, 420, 450, 500)],
    ["running", "unplanned_down", "running", "idle", "planned_stop", "running",
     "unplanned_down", "running", "setup"],
    initial="setup",
)  # fmt: skip
# 2 scrap 2 min after the setup ended at 20 min (start-up rejects), 1 scrap exactly 10 min after it
# (the start-up window is [end, end + 10 min), so not a start-up reject), 3 scrap later; 99 good
# parts after the window.
SHIFT_COUNTS = PartCounts.of(
    [at(m) for m in (22, 30, 100, 260, 350, 470, 490)],
    ["scrap", "scrap", "good", "good", "scrap", "good", "good"],
    [2, 1, 600, 300, 3, 150, 99],
)
IDEAL_S = 15.0


def test_every_kpi_of_a_shift_against_the_hand_computation() -> None:
    f = compute_oee(SHIFT_STATES, SHIFT_COUNTS, window(0, 480), IDEAL_S)
    # Minutes per state within [0, 480):
    #   setup          0-20                                  =  20 min = 1200 s  (AUST)
    #   running        20-200, 230-300, 345-420, 450-480     = 355 min = 21300 s (APT)
    #   unplanned_down 200-230, 420-450                      =  60 min = 3600 s  (ADOT)
    #   idle           300-315                               =  15 min = 900 s   (ADET)
    #   planned_stop   315-345                               =  30 min = 1800 s  (PDOT)
    # PBT = 480 - 30 = 450 min = 27000 s = 21300 + 1200 + 900 + 3600.
    assert f.setup_s[0] == 1200.0
    assert f.production_s[0] == 21300.0
    assert f.down_s[0] == 3600.0
    assert f.idle_s[0] == 900.0
    assert f.planned_down_s[0] == 1800.0
    assert f.unknown_s[0] == 0.0
    assert f.planned_busy_s[0] == 27000.0
    # good = 600 + 300 + 150 = 1050, scrap = 2 + 1 + 3 = 6, produced = 1056; start-up scrap = 2.
    assert (f.good[0], f.scrap[0], f.startup_scrap[0], f.produced[0]) == (1050, 6, 2, 1056)
    # A = 21300 / 27000 = 0.788889
    # P = 15 s x 1056 / 21300 s = 15840 / 21300 = 0.743662
    # Q = 1050 / 1056 = 0.994318
    # OEE = 15 x 1050 / 27000 = 15750 / 27000 = 0.583333 (= 0.788889 x 0.743662 x 0.994318)
    assert f.availability[0] == pytest.approx(21300 / 27000)
    assert f.performance[0] == pytest.approx(15840 / 21300)
    assert f.quality[0] == pytest.approx(1050 / 1056)
    assert f.oee[0] == pytest.approx(15750 / 27000)
    assert f.oee[0] == pytest.approx(f.availability[0] * f.performance[0] * f.quality[0])
    # Six big losses (s): breakdowns 3600, setup 1200, small stops 900,
    # reduced speed = 21300 - 15840 = 5460, process defects = (6 - 2) x 15 = 60,
    # reduced yield = 2 x 15 = 30; together 11250 = PBT - fully productive time = 27000 - 15750.
    assert f.breakdown_loss_s[0] == 3600.0
    assert f.setup_loss_s[0] == 1200.0
    assert f.small_stop_loss_s[0] == 900.0
    assert f.reduced_speed_loss_s[0] == 5460.0
    assert f.process_defect_loss_s[0] == 60.0
    assert f.reduced_yield_loss_s[0] == 30.0
    # Failures: entering unplanned_down at 200 and 420 min -> 2.
    # MTBF = 21300 / 2 = 10650 s, MTTR = 3600 / 2 = 1800 s.
    assert f.failures[0] == 2
    assert f.mtbf_s[0] == 10650.0
    assert f.mttr_s[0] == 1800.0


def test_a_longer_start_up_window_takes_in_the_scrap_at_its_edge() -> None:
    # With 10.5 min the scrap at 30 min (10 min after the setup) is a start-up reject too: 3 x 15 s.
    f = compute_oee(SHIFT_STATES, SHIFT_COUNTS, window(0, 480), IDEAL_S, startup_window_s=630)
    assert f.startup_scrap[0] == 3
    assert f.reduced_yield_loss_s[0] == 45.0
    assert f.process_defect_loss_s[0] == 45.0


def test_periods_split_the_shift_and_add_up_to_it() -> None:
    halves = Periods(
        np.array([at(0), at(240)]), np.array([at(240), at(480)]), np.array(["a", "b"], object)
    )
    f = compute_oee(SHIFT_STATES, SHIFT_COUNTS, halves, IDEAL_S)
    # First half [0, 240): setup 20, running 20-200 and 230-240 = 190, down 200-230 = 30 min.
    # Second half [240, 480): running 240-300 (60) + 345-420 (75) + 450-480 (30) = 165, idle 15,
    # planned 30, down 420-450 = 30 min. Failures at 200 and 420: one per half.
    np.testing.assert_array_equal(f.production_s, [190 * 60, 165 * 60])
    np.testing.assert_array_equal(f.setup_s, [1200, 0])
    np.testing.assert_array_equal(f.down_s, [1800, 1800])
    np.testing.assert_array_equal(f.planned_down_s, [0, 1800])
    np.testing.assert_array_equal(f.failures, [1, 1])
    np.testing.assert_array_equal(f.good, [600, 450])
    np.testing.assert_array_equal(f.scrap, [3, 3])
    # Availability of the first half: 190 / 240; quality: 600 / 603.
    assert f.availability[0] == pytest.approx(190 / 240)
    assert f.quality[0] == pytest.approx(600 / 603)
    whole = compute_oee(SHIFT_STATES, SHIFT_COUNTS, window(0, 480), IDEAL_S)
    for name in ("production_s", "setup_s", "idle_s", "down_s", "planned_down_s", "good",
                 "scrap", "startup_scrap", "failures"):  # fmt: skip
        assert getattr(f, name).sum() == getattr(whole, name)[0], name


def test_time_between_periods_counts_nowhere() -> None:
    # Two one-hour periods with a gap [60, 400): the gap holds running, down and counts.
    gapped = Periods(
        np.array([at(0), at(400)]), np.array([at(60), at(460)]), np.array(["a", "b"], object)
    )
    f = compute_oee(SHIFT_STATES, SHIFT_COUNTS, gapped, IDEAL_S)
    # [0, 60): setup 20, running 40. [400, 460): running 400-420 (20) + 450-460 (10), down 30.
    np.testing.assert_array_equal(f.setup_s, [1200, 0])
    np.testing.assert_array_equal(f.production_s, [2400, 1800])
    np.testing.assert_array_equal(f.down_s, [0, 1800])
    np.testing.assert_array_equal(f.failures, [0, 1])  # the one at 200 min lies in the gap
    np.testing.assert_array_equal(f.good, [0, 0])  # 600 at 100, 300 at 260, 150 at 470
    np.testing.assert_array_equal(f.scrap, [3, 0])


def test_a_setup_that_ended_before_the_window_still_marks_start_up_scrap() -> None:
    # Setup from -30 to -5 min (events before the window), scrap 4 at +2 min (7 min after the setup
    # ended: start-up) and 1 at +6 min (11 min after: process defect). Nothing known before -30.
    states = StateSeries.of([at(-30), at(-5)], ["setup", "running"], initial=None)
    counts = PartCounts.of([at(2), at(6)], ["scrap", "scrap"], [4, 1])
    f = compute_oee(states, counts, window(0, 60), 20.0)
    assert (f.startup_scrap[0], f.scrap[0]) == (4, 5)
    assert f.reduced_yield_loss_s[0] == 80.0  # 4 x 20 s
    assert f.process_defect_loss_s[0] == 20.0  # 1 x 20 s
    assert f.setup_s[0] == 0.0  # the setup itself lies before the window
    assert f.production_s[0] == 3600.0


def test_unknown_state_is_left_out_of_planned_busy_time() -> None:
    # Nothing known until the first event at 10 min; running until 40, then idle until 60.
    # PBT = 30 + 20 = 50 min = 3000 s; A = 1800 / 3000 = 0.6. The first transition into a known
    # state is no failure, and the unknown 10 min are reported apart.
    states = StateSeries.of([at(10), at(40)], ["running", "idle"], initial=None)
    counts = PartCounts.of([at(20)], ["good"], [90])
    f = compute_oee(states, counts, window(0, 60), 10.0)
    assert f.unknown_s[0] == 600.0
    assert f.planned_busy_s[0] == 3000.0
    assert f.availability[0] == pytest.approx(0.6)
    # P = 10 x 90 / 1800 = 0.5, Q = 1, OEE = 900 / 3000 = 0.3.
    assert f.performance[0] == pytest.approx(0.5)
    assert f.quality[0] == 1.0
    assert f.oee[0] == pytest.approx(0.3)


def test_time_after_the_data_ends_is_unknown_not_lost() -> None:
    # Running from 0 with 90 parts by 20 min; the data ends at 30 min (collection stopped), the
    # period runs to 60. The 30 min after the data are unknown: PBT = 30 min, not 60, so
    # A = 1 and OEE = 10 x 90 / 1800 = 0.5, not 0.25 with the rest counted as running.
    states = StateSeries.of([at(0)], ["running"], initial=None)
    counts = PartCounts.of([at(20)], ["good"], [90])
    f = compute_oee(states, counts, window(0, 60), 10.0, known_until=at(30))
    assert f.unknown_s[0] == 1800.0 and f.production_s[0] == 1800.0
    assert f.oee[0] == pytest.approx(0.5) and f.availability[0] == 1.0
    # Split into halves: the second half holds no known time and no part, so it has no data.
    halves = Periods(np.array([at(0), at(30)]), np.array([at(30), at(60)]), np.array(["a", "b"]))
    split = compute_oee(states, counts, halves, 10.0, known_until=at(30))
    assert split.no_data.tolist() == [False, True]
    assert math.isnan(split.oee[1]) and split.unknown_s[1] == 1800.0


def test_a_period_planned_down_throughout_has_data_but_no_oee() -> None:
    states = StateSeries.of([], [], initial="planned_stop")
    f = compute_oee(states, PartCounts.of([], [], []), window(0, 60), 10.0)
    assert math.isnan(f.oee[0]) and not f.no_data[0]
    unknown = compute_oee(
        StateSeries.of([], [], None), PartCounts.of([], [], []), window(0, 60), 10.0
    )
    assert unknown.no_data[0] and unknown.to_arrow().column("no_data").to_pylist() == [True]


def test_zero_production_leaves_quality_undefined_and_oee_zero() -> None:
    # Running the whole hour without a single part: A = 3600 / 3600 = 1, P = 0 / 3600 = 0,
    # Q = 0 / 0 -> NaN (undefined), OEE = 0 x 0 / 3600 = 0; reduced speed loses all 3600 s.
    f = compute_oee(
        StateSeries.of([], [], "running"), PartCounts.of([], [], []), window(0, 60), 30.0
    )
    assert f.availability[0] == 1.0
    assert f.performance[0] == 0.0
    assert math.isnan(f.quality[0])
    assert f.oee[0] == 0.0
    assert f.reduced_speed_loss_s[0] == 3600.0
    # No failure: MTBF and MTTR are undefined, not infinite.
    assert math.isnan(f.mtbf_s[0]) and math.isnan(f.mttr_s[0])


def test_zero_planned_busy_time_leaves_every_ratio_undefined() -> None:
    # Off for 20 min, then a planned stop: PBT = 0, so A, P, Q and OEE are all 0 / 0 -> NaN.
    states = StateSeries.of([at(20)], ["planned_stop"], initial="off")
    f = compute_oee(states, PartCounts.of([], [], []), window(0, 60), 30.0)
    assert f.planned_down_s[0] == 3600.0
    assert f.planned_busy_s[0] == 0.0
    for kpi in (f.availability, f.performance, f.quality, f.oee, f.mtbf_s, f.mttr_s):
        assert math.isnan(kpi[0])


def test_a_breakdown_in_force_before_the_window_is_no_failure_of_this_window() -> None:
    # Down since before the window until 15 min, running until 45, down again until the end:
    # ADOT = 15 + 15 = 30 min, one failure (at 45) -> MTTR = 1800 s, MTBF = APT / 1 = 1800 s.
    states = StateSeries.of([at(15), at(45)], ["running", "unplanned_down"], "unplanned_down")
    f = compute_oee(states, PartCounts.of([], [], []), window(0, 60), 30.0)
    assert f.failures[0] == 1
    assert f.down_s[0] == 1800.0
    assert f.mttr_s[0] == 1800.0
    assert f.mtbf_s[0] == 1800.0


def test_equipment_specific_states_need_a_category() -> None:
    states = StateSeries.of([at(5)], ["teach"], initial="running")
    with pytest.raises(ValueError, match="'teach' has no ISO 22400 time category"):
        compute_oee(states, PartCounts.of([], [], []), window(0, 60), 30.0)
    categories = {**DEFAULT_CATEGORIES, "teach": TimeCategory.SETUP}
    f = compute_oee(states, PartCounts.of([], [], []), window(0, 60), 30.0, categories=categories)
    assert f.setup_s[0] == 55 * 60.0


def test_moving_between_two_down_states_is_one_failure() -> None:
    # Running, down at 10, "waiting for parts" (also unplanned down) at 20, running at 30: one
    # failure of 20 min -> MTTR = 1200 s, MTBF = APT / 1 = 40 min = 2400 s.
    categories = {**DEFAULT_CATEGORIES, "waiting_parts": TimeCategory.DOWN}
    states = StateSeries.of(
        [at(10), at(20), at(30)], ["unplanned_down", "waiting_parts", "running"], "running"
    )
    f = compute_oee(states, PartCounts.of([], [], []), window(0, 60), 30.0, categories=categories)
    assert f.failures[0] == 1
    assert f.mttr_s[0] == 1200.0
    assert f.mtbf_s[0] == 2400.0


def test_bad_inputs_are_rejected() -> None:
    none = PartCounts.of([], [], [])
    with pytest.raises(ValueError, match="ideal cycle time"):
        compute_oee(SHIFT_STATES, none, window(0, 60), 0.0)
    with pytest.raises(ValueError, match="start-up window"):
        compute_oee(SHIFT_STATES, none, window(0, 60), 1.0, startup_window_s=-1)
    with pytest.raises(ValueError, match="code 'rework'"):
        PartCounts.of([at(0)], ["rework"], [1])
    with pytest.raises(ValueError, match="finite"):
        PartCounts.of([at(0)], ["good"], [np.nan])


def test_combine_weights_by_time_not_by_percentage() -> None:
    # Machine A: running the whole hour, ideal 10 s, 300 good.
    #   PBT 3600, APT 3600, ideal good 3000 -> A = 1, P = 0.8333, Q = 1, OEE = 0.8333.
    # Machine B: running 0-30, down 30-40, planned stop 40-60; ideal 60 s, 20 good + 10 scrap.
    #   PBT 2400, APT 1800, ideal produced 1800, ideal good 1200
    #   -> A = 0.75, P = 1, Q = 0.6667, OEE = 1200 / 2400 = 0.5.
    # Line: PBT 6000, APT 5400, ideal produced 4800, ideal good 4200
    #   -> A = 0.9, P = 4800 / 5400 = 0.8889, Q = 4200 / 4800 = 0.875, OEE = 4200 / 6000 = 0.7
    #   (the mean of the two OEEs would say 0.6667; raw parts would give Q = 320 / 330 = 0.97).
    p = window(0, 60)
    a = compute_oee(
        StateSeries.of([], [], "running"), PartCounts.of([at(30)], ["good"], [300]), p, 10.0
    )
    b = compute_oee(
        StateSeries.of([at(30), at(40)], ["unplanned_down", "planned_stop"], "running"),
        PartCounts.of([at(10), at(20)], ["good", "scrap"], [20, 10]),
        p,
        60.0,
    )
    assert a.oee[0] == pytest.approx(3000 / 3600)
    assert b.oee[0] == pytest.approx(0.5)
    line = combine([a, b])
    assert line.planned_busy_s[0] == 6000.0
    assert line.availability[0] == pytest.approx(0.9)
    assert line.performance[0] == pytest.approx(4800 / 5400)
    assert line.quality[0] == pytest.approx(0.875)
    assert line.oee[0] == pytest.approx(0.7)
    assert line.oee[0] == pytest.approx(
        line.availability[0] * line.performance[0] * line.quality[0]
    )
    assert (line.good[0], line.scrap[0], line.failures[0]) == (320, 10, 1)


def test_combine_refuses_different_periods_and_nothing() -> None:
    none = PartCounts.of([], [], [])
    a = compute_oee(StateSeries.of([], [], "running"), none, window(0, 60), 1.0)
    b = compute_oee(StateSeries.of([], [], "running"), none, window(0, 30), 1.0)
    with pytest.raises(ValueError, match="different periods"):
        combine([a, b])
    with pytest.raises(ValueError, match="no equipment"):
        combine([])


def test_to_arrow_has_a_row_per_period_with_the_kpis() -> None:
    halves = Periods(
        np.array([at(0), at(240)]), np.array([at(240), at(480)]), np.array(["a", "b"], object)
    )
    table = compute_oee(SHIFT_STATES, SHIFT_COUNTS, halves, IDEAL_S).to_arrow()
    assert table.num_rows == 2
    assert table.column("label").to_pylist() == ["a", "b"]
    assert table.column("start").type == pa.timestamp("us", tz="UTC")
    assert table.column("availability").to_pylist()[0] == pytest.approx(190 / 240)
    assert table.column("failures").to_pylist() == [1, 1]


def test_oee_from_store_events_matches_the_arrays(store: DuckDBStore) -> None:
    period = Periods.window(at(0), at(60))
    events = store.events(at(0), at(60), equipment=PRESS)
    got = oee_from_events(events, period, 30.0, state_in_force(store, PRESS, at(0)))
    want = compute_oee(
        StateSeries.of([at(5), at(35), at(45)], ["running", "unplanned_down", "running"], "setup"),
        PartCounts.of([at(8), at(30)], ["scrap", "good"], [2, 40]),
        period,
        30.0,
    )
    assert got.to_arrow().equals(want.to_arrow())
    # Reading from before the window (from where the state is unknown) gives the same figures.
    early = store.events(at(-30), at(60), equipment=PRESS)
    assert state_in_force(store, PRESS, at(-30)) is None
    assert oee_from_events(early, period, 30.0, None).to_arrow().equals(got.to_arrow())
    # Setup 0-5, running 5-35 and 45-60, down 35-45 (min). The setup ended at 5 min, so the scrap
    # at 8 min is start-up scrap.
    assert (got.setup_s[0], got.production_s[0], got.down_s[0]) == (300.0, 2700.0, 600.0)
    assert (got.startup_scrap[0], got.good[0]) == (2, 40)


def test_planned_stops_turn_lost_time_into_planned_down_time() -> None:
    # Stops at 190-240 min (covers down 200-230 and running 190-200, 230-240) and 310-320 (idle
    # 310-315, planned_stop 315-320).
    stops = Periods(
        np.array([at(190), at(310)], np.int64), np.array([at(240), at(320)], np.int64),
        np.array(["maintenance", "break"], object),
    )  # fmt: skip
    plain = compute_oee(SHIFT_STATES, SHIFT_COUNTS, window(0, 480), IDEAL_S)
    f = compute_oee(SHIFT_STATES, SHIFT_COUNTS, window(0, 480), IDEAL_S, planned=stops)
    # Down 200-230 (1800 s) and idle 310-315 (300 s) become PDOT; running stays APT.
    assert f.down_s[0] == plain.down_s[0] - 1800
    assert f.idle_s[0] == plain.idle_s[0] - 300
    assert f.production_s[0] == plain.production_s[0]
    assert f.planned_down_s[0] == plain.planned_down_s[0] + 2100
    assert f.planned_busy_s[0] == 27000 - 2100
    assert f.oee[0] == pytest.approx(plain.ideal_good_s[0] / (27000 - 2100))
