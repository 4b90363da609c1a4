from __future__ import annotations

from dataclasses import astuple
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from smartfab.model.plant import DEFAULT_STATES
from smartfab.virtual.calendar import PRODUCTION, ShiftCalendar
from smartfab.virtual.equipment import (
    DOWN,
    IDLE,
    OFF,
    RUNNING,
    SETUP,
    Timeline,
    VirtualEquipment,
)
from smartfab.virtual.models import MODELS, EquipmentModel
from smartfab.virtual.models.cnc import MODEL as CNC

HOUR = 3_600_000_000
DAY = 24 * HOUR
MONDAY = 1_709_510_400_000_000  # 2024-03-04 00:00 UTC
DAYS = 35
SEED = 0  # every failure mode of every model fails within DAYS with this seed


def machine(model: EquipmentModel, seed: int = SEED) -> VirtualEquipment:
    cal = ShiftCalendar(ZoneInfo("UTC"), MONDAY)
    rng = np.random.default_rng(seed)
    return VirtualEquipment(f"site/{model.name}", model, None, cal, rng, MONDAY)


Run = tuple[VirtualEquipment, Timeline]


@pytest.fixture(scope="module", params=sorted(MODELS))
def run(request: pytest.FixtureRequest) -> Run:
    ve = machine(MODELS[request.param])
    ve.extend(MONDAY + DAYS * DAY)
    return ve, ve.timeline()


def seg_at(tl: Timeline, t: int | np.ndarray) -> np.ndarray:
    return np.searchsorted(tl.seg_start, t, "right") - 1


def test_segments_follow_the_calendar(run: Run) -> None:
    ve, tl = run
    cal = ShiftCalendar(ZoneInfo("UTC"), MONDAY)
    assert tl.seg_start[0] == MONDAY and np.all(np.diff(tl.seg_start) > 0)
    ends = np.append(tl.seg_start[1:], MONDAY + DAYS * DAY)
    codes = {f.fault_code for f in ve.model.failures} | {s.fault_code for s in ve.model.minor_stops}
    for start, end, state, fault in zip(
        tl.seg_start, ends, tl.seg_state, tl.seg_fault, strict=True
    ):
        allowed, until = cal.at(int(start))
        if state == DOWN:
            assert fault in codes  # a repair goes on whatever the calendar says
        else:
            assert fault == 0
            assert state == allowed or (allowed == PRODUCTION and state in (RUNNING, IDLE, SETUP))
            assert end <= until


def test_every_state_occurs(run: Run) -> None:
    _, tl = run
    assert set(tl.seg_state.tolist()) == set(DEFAULT_STATES)


def test_cycles_happen_only_while_running(run: Run) -> None:
    _, tl = run
    first, last = seg_at(tl, tl.cyc_start), seg_at(tl, tl.cyc_end - 1)
    assert np.array_equal(first, last)
    assert np.all(tl.seg_state[first] == RUNNING)
    assert np.all(tl.cyc_end[:-1] <= tl.cyc_start[1:])
    assert np.all(tl.seg_state[seg_at(tl, tl.part_end[1:] - 1)] == RUNNING)


def test_cycles_are_slower_than_ideal(run: Run) -> None:
    ve, tl = run
    ideal, parts = ve.model.cycle_s, tl.part_s[1:]  # the first is the made-up one at the start
    assert parts.min() >= ideal
    assert parts.mean() / ideal == pytest.approx(1 + ve.model.speed_loss, abs=0.02)


def test_every_part_is_counted_once_good_or_scrap(run: Run) -> None:
    _, tl = run
    made = np.diff(tl.good) + np.diff(tl.scrap)
    assert np.all(made == 1)
    assert 0.005 < tl.scrap[-1] / (tl.good[-1] + tl.scrap[-1]) < 0.1


def test_every_failure_mode_degrades_fails_and_is_repaired(run: Run) -> None:
    ve, tl = run
    assert {f.mode for f in ve.failures} == {f.name for f in ve.model.failures}
    for f in ve.failures:
        assert MONDAY <= f.onset_us < f.failure_us < f.repaired_us
        mode = next(m for m in ve.model.failures if m.name == f.mode)
        assert f.fault_code == mode.fault_code
        assert 0.2 < (f.repaired_us - f.failure_us) / HOUR / mode.repair_h < 5
        # down with the fault code from failure to repair
        i = seg_at(tl, f.failure_us)
        assert (tl.seg_start[i], tl.seg_state[i], tl.seg_fault[i]) == (
            f.failure_us,
            DOWN,
            f.fault_code,
        )
        assert tl.seg_start[i + 1] == f.repaired_us
        # wear rises from 0 at onset to 1 at failure and is 0 again after the repair
        wear = tl.wear[f.mode]
        ts = np.linspace(f.onset_us, f.failure_us, 200).astype(np.int64)
        w = wear.at(ts)
        assert w[0] == pytest.approx(0, abs=1e-9) and w[-1] == pytest.approx(1, abs=1e-6)
        assert np.all(np.diff(w) >= 0)
        assert wear.at(np.array([f.onset_us - 1, f.repaired_us]))[1] == 0


def test_minor_stops_are_short_and_repairs_long(run: Run) -> None:
    ve, tl = run
    minor = {s.fault_code for s in ve.model.minor_stops}
    length = np.diff(np.append(tl.seg_start, MONDAY + DAYS * DAY))
    is_minor = np.isin(tl.seg_fault, list(minor))
    assert is_minor.sum() > DAYS  # about one an hour
    assert np.median(length[is_minor]) < 10 * 60e6
    assert np.median(length[(tl.seg_state == DOWN) & ~is_minor]) > HOUR


def test_wear_raises_scrap() -> None:
    ve = machine(CNC)
    ve.extend(MONDAY + 2 * DAYS * DAY)
    tl = ve.timeline()
    scrap = np.diff(tl.scrap) == 1
    tool = tl.wear["tool_breakage"].at(tl.part_end[1:])
    worn, fresh = scrap[tool > 0.7].mean(), scrap[tool == 0].mean()
    assert worn > 3 * fresh
    assert fresh == pytest.approx(CNC.scrap, abs=0.01)


def test_timeline_does_not_depend_on_how_it_is_extended() -> None:
    once, steps = machine(CNC, seed=3), machine(CNC, seed=3)
    end = MONDAY + 10 * DAY
    once.extend(end)
    rng = np.random.default_rng(1)
    t = MONDAY
    while t < end:
        t += int(rng.exponential(HOUR))
        steps.extend(t)
    a, b = once.timeline(), steps.timeline()
    n = len(a.seg_start)  # steps may have run a little further
    for x, y in zip(astuple(a)[:-1], astuple(b)[:-1], strict=True):
        assert np.array_equal(x, y[: len(x)])
    assert len(b.seg_start) >= n
    assert steps.failures[: len(once.failures)] == once.failures


def test_forgetting_the_past_keeps_what_is_in_force() -> None:
    ve = machine(CNC)
    ve.extend(MONDAY + 3 * DAY)
    full = ve.timeline()
    t = MONDAY + 2 * DAY + 7 * HOUR + 123
    ve.forget_before(t)
    kept = ve.timeline()
    assert kept.seg_start[0] <= t < kept.seg_start[1]
    assert kept.part_end[0] <= t < kept.part_end[1]
    assert kept.cyc_end[0] > t
    for x, y in zip(astuple(full)[:-1], astuple(kept)[:-1], strict=True):
        assert np.array_equal(x[len(x) - len(y) :], y)
    ts = np.arange(t, MONDAY + 3 * DAY, 60_000_000)
    for mode, ramp in full.wear.items():
        assert np.array_equal(ramp.at(ts), kept.wear[mode].at(ts))


def test_off_machines_make_nothing() -> None:
    ve = machine(CNC)
    ve.extend(MONDAY + 7 * DAY)
    tl = ve.timeline()
    weekend = (tl.seg_start >= MONDAY + 5 * DAY + 6 * HOUR) & (tl.seg_start < MONDAY + 7 * DAY)
    assert set(tl.seg_state[weekend].tolist()) <= {OFF, DOWN}
    saturday = np.searchsorted(tl.part_end, [MONDAY + 5 * DAY + 7 * HOUR, MONDAY + 7 * DAY])
    assert saturday[0] == saturday[1]
