from __future__ import annotations

import numpy as np

from smartfab.apps.maintenance.history import Outage, run_to_failure

H = 10  # step length in these examples


def test_history_is_cut_at_failures_and_downtime_left_out() -> None:
    t = np.arange(0, 200, H, dtype=np.int64)  # 20 steps: 0, 10, ..., 190
    v = t[:, None].astype(float)
    # Fails at 55 (rows 0..40 complete before it), repaired at 80; fails again at 150.
    units = run_to_failure(t, v, [Outage(150, 170), Outage(55, 80)], H, ("x",))
    fleet = units.fleet
    assert fleet.unit.tolist() == [0] * 5 + [1] * 7 + [2] * 3
    assert units.time_us.tolist() == [0, 10, 20, 30, 40, 80, 90, 100, 110, 120, 130, 140,
                                      170, 180, 190]  # fmt: skip
    assert fleet.cycle[:5].tolist() == [1, 2, 3, 4, 5] and fleet.cycle[5] == 1
    assert units.failed.tolist() == [True] * 12 + [False] * 3
    # Steps left after each row's own step: the row of 40-50 fails in the next step (55).
    assert units.rul_steps[:5].tolist() == [4.5, 3.5, 2.5, 1.5, 0.5]
    assert np.isinf(units.rul_steps[-1])
    assert np.array_equal(fleet.sensors[:, 0], units.time_us.astype(float))
