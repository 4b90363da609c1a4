"""Each rule on a series built so that it must fire at known points and nowhere else. Centre 0 and
sigma 1 unless said otherwise, so values are z-scores."""

from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.monitoring.runrules import nelson, western_electric, zscores
from smartfab.apps.monitoring.spc import p_chart


def fired(rules: dict[int, np.typing.NDArray[np.intp]], rule: int) -> list[int]:
    return [int(i) for i in rules[rule]]


def test_rule_1_a_point_beyond_three_sigma() -> None:
    # 3.0 exactly is on the limit, not beyond it.
    x = [0.0, 3.5, 0.0, -3.2, 3.0, -3.0]
    assert fired(nelson(x, 0, 1), 1) == [1, 3]
    assert fired(western_electric(x, 0, 1), 1) == [1, 3]


def test_nelson_2_nine_in_a_row_on_one_side() -> None:
    # Ten above the centre (indices 1-10): the 9th and 10th complete the pattern. Then one below,
    # eight above (12-19): too short. A point on the centre line (20) belongs to no side.
    x = [-0.5] + [0.5] * 10 + [-0.5] + [0.5] * 8 + [0.0] + [0.5] * 8
    assert fired(nelson(x, 0, 1), 2) == [9, 10]


def test_nelson_3_six_in_a_row_rising_or_falling() -> None:
    # Rising 0-6 (seven points): flagged at 5 and 6. Falling 6-12: flagged at 11 and 12. A repeated
    # value (13) breaks the run; the five rising points 13-17 are too few.
    x = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0,
         0.0, 0.1, 0.2, 0.3, 0.4]  # fmt: skip
    assert fired(nelson(x, 0, 1), 3) == [5, 6, 11, 12]


def test_nelson_4_fourteen_alternating() -> None:
    # 0-14 alternate (15 points): flagged at 13 and 14. Point 15 repeats 14, then 15-27 alternate:
    # 13 points, one short.
    x = [0.1 * (-1) ** i for i in range(15)] + [0.1] + [0.1 * (-1) ** (i + 1) for i in range(12)]
    assert len(x) == 28
    assert fired(nelson(x, 0, 1), 4) == [13, 14]


def test_two_of_three_beyond_two_sigma_on_one_side() -> None:
    # 3 completes 1 and 3 above 2 sigma. 6 below, 7 above, 8 below: 8 completes 6 and 8 below, 7
    # has no partner on its side. 11 alone (9-11), 12 completes 11 and 12. A point at exactly 2 (14)
    # is not beyond. The flag goes on the completing point, never on the 0 between.
    x = [0.0, 2.5, 0.0, 2.5, 0.0, 0.0, -2.5, 2.5, -2.5, 0.0, 0.0, 2.1, 2.2, 0.0, 2.0, 2.5]
    assert fired(nelson(x, 0, 1), 5) == [3, 8, 12]
    assert fired(western_electric(x, 0, 1), 2) == [3, 8, 12]


def test_four_of_five_beyond_one_sigma_on_one_side() -> None:
    # 0, 1, 3, 4 above 1 sigma: 4 completes them (3 sees only three in 0-3). 10-12 below: three.
    # 16, 18, 19, 20 above with 17 below: 20 completes four of 16-20.
    x = [1.5, 1.5, 0.0, 1.5, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0, -1.5, -1.5, -1.5, 0.5, 0.5,
         0.0, 1.5, -1.5, 1.5, 1.5, 1.5]  # fmt: skip
    assert fired(nelson(x, 0, 1), 6) == [4, 20]
    assert fired(western_electric(x, 0, 1), 3) == [4, 20]


def test_nelson_7_fifteen_within_one_sigma() -> None:
    # Sixteen within (0-15): flagged at 14 and 15. Then one outside, fourteen within: too few.
    # A point at exactly 1 sigma (31) is not within.
    x = [0.5, -0.3] * 8 + [2.0] + [0.2] * 14 + [1.0]
    assert fired(nelson(x, 0, 1), 7) == [14, 15]


def test_nelson_8_eight_beyond_one_sigma_on_either_side() -> None:
    # Nine beyond, alternating sides (0-8): flagged at 7 and 8. Then seven beyond: too few.
    x = [1.5, -1.5] * 4 + [-1.5] + [0.0] + [1.5] * 7
    assert fired(nelson(x, 0, 1), 8) == [7, 8]


def test_western_electric_4_eight_in_a_row_on_one_side() -> None:
    # Nine below (1-9): flagged at 8 and 9; then seven below (11-17): too few.
    x = [0.5] + [-0.5] * 9 + [0.5] + [-0.5] * 7
    assert fired(western_electric(x, 0, 1), 4) == [8, 9]
    assert fired(nelson(x, 0, 1), 2) == [9]  # Nelson wants nine


def test_a_calm_series_fires_only_the_stratification_rule() -> None:
    # 35 small values around the centre in a pattern no trend, run or alternation rule matches;
    # Nelson 7 exists to catch exactly such a calm stretch (limits too wide, stratified samples):
    # it fires from the 15th point on.
    x = np.tile([0.2, -0.4, 0.6, 0.1, -0.3, -0.5, 0.4], 5)
    rules = nelson(x, 0, 1)
    assert fired(rules, 7) == list(range(14, 35))
    assert all(v.size == 0 for r, v in rules.items() if r != 7)
    assert all(v.size == 0 for v in western_electric(x, 0, 1).values())


def test_zones_follow_varying_limits() -> None:
    # A p chart of varying sample size, p-bar = 105 / 625 = 0.168. The fraction 0.2 lies
    # 0.032 / sqrt(0.168 x 0.832 / 400) = 1.711842 sigma out with n = 400, but only
    # 0.032 / sqrt(0.168 x 0.832 / 25) = 0.427960 sigma with n = 25.
    chart = p_chart([10, 10, 80, 5], [100, 100, 400, 25])
    z = zscores(chart.value, chart.center, chart.sigma)
    assert z[2] == pytest.approx(1.711842, abs=1e-6)
    assert z[3] == pytest.approx(0.427960, abs=1e-6)
    with pytest.raises(ValueError, match="sigma must be positive"):
        nelson([1.0, 2.0], 0.0, [1.0, 0.0])
    with pytest.raises(ValueError, match="1-D"):
        western_electric([[1.0]], 0.0, 1.0)
