from __future__ import annotations

import math

import pytest

from smartfab.model.plant import AsrsAisle, Crane
from smartfab.virtual.warehouse import kinematics as kin

AISLE = AsrsAisle(name="a", bays=40, levels=10, bay_m=1.0, level_m=1.0, at=(0, 0),
                  crane=Crane(name="c", travel_speed_m_s=4, travel_accel_m_s2=1,
                              lift_speed_m_s=1, lift_accel_m_s2=1, fork_s=5))  # fmt: skip


def test_a_short_move_never_reaches_full_speed_a_long_one_cruises() -> None:
    assert kin.axis_time(4.0, 4.0, 1.0) == pytest.approx(2 * math.sqrt(4.0))  # triangle
    assert kin.axis_time(40.0, 4.0, 1.0) == pytest.approx(40 / 4 + 4 / 1)  # trapezoid
    assert kin.axis_time(0.0, 4.0, 1.0) == 0.0


def test_travel_and_lift_move_at_once() -> None:
    # 20 m along takes 9 s, 9 m up takes 10 s: the lift sets the time
    assert kin.move_time(AISLE, (0, 0), (20, 9)) == pytest.approx(10.0)
    assert kin.move_time(AISLE, (0, 0), (20, 1)) == pytest.approx(9.0)


def test_a_dual_cycle_beats_two_single_cycles() -> None:
    a, b = (30, 2), (32, 3)
    dual = kin.dual_cycle(AISLE, a, b)
    assert dual < kin.single_cycle(AISLE, a) + kin.single_cycle(AISLE, b)
    assert dual == pytest.approx(kin.move_time(AISLE, (0, 0), a) + kin.move_time(AISLE, a, b)
                                 + kin.move_time(AISLE, b, (0, 0)) + 20)  # fmt: skip
    assert kin.travel_m(AISLE, a, b) == pytest.approx(64.0)
