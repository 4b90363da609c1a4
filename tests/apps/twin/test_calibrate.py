import numpy as np
import pytest

from smartfab.apps.monitoring.oee import PartCounts
from smartfab.apps.monitoring.states import StateSeries
from smartfab.apps.twin.calibrate import calibrate_buffer, calibrate_calendar, calibrate_station
from smartfab.apps.twin.history import History
from smartfab.apps.twin.model import Calendar, Dist, Station

S = 1_000_000


def history(
    segments: list[tuple[int, str]],
    counts: list[tuple[int, str]],
    end: int,
    faults: list[tuple[int, str]] = (),
) -> History:  # type: ignore[assignment]
    states = StateSeries.of([t * S for t, _ in segments], [s for _, s in segments], None)
    pc = PartCounts.of([t * S for t, _ in counts], [c for _, c in counts], [1.0] * len(counts))
    return History("a/b/c/d/e", 0, end * S, states, states.timeline(0, end * S), pc,
                   np.array([t * S for t, _ in faults], np.int64),
                   np.array([c for _, c in faults], object))  # fmt: skip


def test_station_parameters_from_a_hand_made_history() -> None:
    # Runs 0-1000 (100 parts of 10 s), down 1000-1300 with fault 7, runs 1300-2300 (100 parts,
    # the 10th scrap), setup 2300-2900, runs 2900-3900, idle 3900-4000.
    counts = [(t, "good") for t in range(10, 1001, 10)]
    counts += [(1300 + t, "scrap" if t == 100 else "good") for t in range(10, 1001, 10)]
    counts += [(2900 + t, "good") for t in range(10, 1001, 10)]
    h = history(
        [(0, "running"), (1000, "unplanned_down"), (1300, "running"), (2300, "setup"),
         (2900, "running"), (3900, "idle")],
        counts, 4000, faults=[(1000, "7")],
    )  # fmt: skip
    st = Station(name="e", ideal_cycle_s=9.0, cycle_s=Dist(mean=9.0))
    fit = calibrate_station(st, h, {7: "jam"})
    assert fit.cycle_s.mean == pytest.approx(10.0)
    assert fit.cycle_s.cv == 0.0  # every gap exactly 10 s, rounding variance taken out
    assert fit.scrap == pytest.approx(1 / 300)
    stops = {s.name: s for s in fit.stops}
    assert stops["jam"].fault_code == 7
    assert stops["jam"].mtbf_h == pytest.approx(3000 / 3600)
    assert stops["jam"].duration_s.mean == pytest.approx(300)
    assert stops["idle"].state == "idle"
    assert fit.setup is not None and fit.setup.duration_s.mean == pytest.approx(600)


def test_buffer_is_the_smallest_that_explains_the_counts() -> None:
    # Upstream makes 5 parts by t=50; downstream takes 3 before upstream has made any (so at
    # least 3 were waiting) and 7 in all: content = 3 + up - down ranges 0 .. 3 + 5 - 3 ...
    up = history([(0, "running")], [(t, "good") for t in (10, 20, 30, 40, 50)], 100)
    down = history([(0, "running")], [(t, "good") for t in (1, 2, 3, 60, 70, 80, 90)], 100)
    b = calibrate_buffer(up, down, slack=1.0)
    assert b.initial == 3
    # content at t=50: 3 + 5 - 3 = 5, the most it held
    assert b.capacity == 5


def test_calendar_is_folded_from_the_states() -> None:
    # 2026-03-02 is a Monday (UTC); production 06:00-14:00, planned stop 14:00-14:30.
    t0 = 1_772_409_600
    segs = [
        (0, "off"),
        (6 * 3600, "running"),
        (14 * 3600, "planned_stop"),
        (14 * 3600 + 1800, "off"),
    ]
    states = StateSeries.of([(t0 + t) * S for t, _ in segs], [s for _, s in segs], None)
    end = (t0 + 86_400) * S
    h = History("x", t0 * S, end, states, states.timeline(t0 * S, end),
                PartCounts.of([], [], []), np.empty(0, np.int64), np.empty(0, object))  # fmt: skip
    cal, covered = calibrate_calendar([h], Calendar(week=[]))
    assert cal.week == ["Mon 06:00-14:00 production", "Mon 14:00-14:30 planned_stop"]
    assert covered == pytest.approx(1 / 7, abs=1e-3)


def test_calendar_keeps_the_design_where_the_history_is_silent() -> None:
    # The window is a week from Monday 2026-03-02, but states are recorded only from Sunday
    # 00:00 (a demo backfilled for a day): Sunday is off in the history; Monday to Saturday were
    # never seen and keep the design's shifts, instead of becoming production round the clock.
    t0 = 1_772_409_600
    sunday = (t0 + 6 * 86_400) * S
    states = StateSeries.of([sunday], ["off"], None)
    end = (t0 + 7 * 86_400) * S
    h = History("x", t0 * S, end, states, states.timeline(t0 * S, end),
                PartCounts.of([], [], []), np.empty(0, np.int64), np.empty(0, object))  # fmt: skip
    design = Calendar(week=["Mon 06:00-14:00 production", "Sun 06:00-14:00 production"])
    cal, covered = calibrate_calendar([h], design)
    assert cal.week == ["Mon 06:00-14:00 production"]
    assert covered == pytest.approx(1 / 7, abs=1e-3)
