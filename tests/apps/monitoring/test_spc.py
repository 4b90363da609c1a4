"""Control charts against D. C. Montgomery, *Introduction to Statistical Quality Control* (Wiley):
the piston ring inside diameters of chapter 6 on X-bar/R and X-bar/S charts, the orange juice cans
of chapter 7 on a p chart and the printed circuit boards of chapter 7 on a c chart (example and
table numbers differ between editions). The book prints its figures rounded to three or four
decimals; each test gives the exact hand computation and checks the printed figure to its
printed precision."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import ndtr

from smartfab.apps.monitoring.spc import (
    c_chart,
    factors,
    individuals_mr,
    np_chart,
    p_chart,
    u_chart,
    xbar_r,
    xbar_s,
)
from tests.apps.monitoring.montgomery import CIRCUIT_BOARDS, ORANGE_JUICE_CANS, PISTON_RINGS


def test_xbar_r_reproduces_montgomery_piston_rings() -> None:
    xbar, r = xbar_r(PISTON_RINGS)
    # The 125 values sum to 9250.147 -> x-double-bar = 74.001176 (book: 74.001, 74.00118);
    # the ranges sum to 0.581 -> R-bar = 0.02324 (book: 0.023, 0.02324).
    assert xbar.center[0] == pytest.approx(9250.147 / 125, abs=1e-9)
    assert r.center[0] == pytest.approx(0.581 / 25, abs=1e-12)
    # Sample 1: mean 74.010, range 74.030 - 73.992 = 0.038 (book's first row).
    assert xbar.value[0] == pytest.approx(74.0102, abs=1e-9)
    assert r.value[0] == pytest.approx(0.038, abs=1e-12)
    # A2 = 3 / (2.325929 sqrt 5) = 0.576819 (book: 0.577), A2 R-bar = 0.013405:
    # UCL = 74.001176 + 0.013405 = 74.014581 (book: 74.014, 74.01458),
    # LCL = 74.001176 - 0.013405 = 73.987771 (book: 73.988).
    assert xbar.ucl[0] == pytest.approx(74.014581, abs=1e-6)
    assert xbar.lcl[0] == pytest.approx(73.987771, abs=1e-6)
    # The book's 74.014 and 73.988 come from the rounded 74.001 + 0.577 x 0.023.
    assert xbar.ucl[0] == pytest.approx(74.014, abs=1e-3)
    assert xbar.lcl[0] == pytest.approx(73.988, abs=1e-3)
    # D4 = 1 + 3 x 0.864082 / 2.325929 = 2.114499 (book: 2.114), D3 = 0:
    # UCL_R = 2.114499 x 0.02324 = 0.049141 (book: 0.049, 0.04914), LCL_R = 0.
    assert r.ucl[0] == pytest.approx(0.049141, abs=1e-6)
    assert r.lcl[0] == 0.0
    # The book finds the process in control on both charts.
    assert xbar.beyond_limits().size == 0 and r.beyond_limits().size == 0
    # Zone width of X-bar = A2 R-bar / 3 = R-bar / (d2 sqrt n); of R = d3 R-bar / d2.
    assert xbar.sigma[0] == pytest.approx(0.02324 / (2.325929 * math.sqrt(5)))
    assert r.sigma[0] == pytest.approx(0.864082 * 0.02324 / 2.325929)


def test_xbar_s_reproduces_montgomery_piston_rings() -> None:
    xbar, s = xbar_s(PISTON_RINGS)
    # The book: the 25 sample standard deviations sum to 0.2350, S-bar = 0.0094; sample 1 has
    # s = 0.0148.
    sbar = float(np.std(PISTON_RINGS, axis=1, ddof=1).mean())
    assert sbar * 25 == pytest.approx(0.2350, abs=5e-5)
    assert s.center[0] == sbar and round(sbar, 4) == 0.0094
    assert round(s.value[0], 4) == 0.0148
    # c4(5) = sqrt(2/4) Gamma(2.5) / Gamma(2) = 0.9400 -> A3 = 3 / (0.9400 sqrt 5) = 1.427,
    # B4 = 1 + 3 sqrt(1 - 0.9400^2) / 0.9400 = 2.089, B3 = 0.
    # Book, from the rounded 74.001 and 0.0094: X-bar UCL = 74.001 + 1.427 x 0.0094 = 74.014,
    # LCL = 73.988; S: UCL = 2.089 x 0.0094 = 0.0196, LCL = 0. Unrounded: A3 S-bar = 0.013416,
    # UCL = 74.014592, LCL = 73.987760.
    assert xbar.ucl[0] == pytest.approx(74.001176 + 1.427299 * sbar, abs=1e-6)
    assert xbar.ucl[0] == pytest.approx(74.014, abs=1e-3)
    assert xbar.lcl[0] == pytest.approx(73.988, abs=1e-3)
    assert s.ucl[0] == pytest.approx(2.088998 * sbar, abs=1e-7)
    assert round(s.ucl[0], 4) == 0.0196
    assert s.lcl[0] == 0.0
    assert xbar.beyond_limits().size == 0 and s.beyond_limits().size == 0


def test_factors_match_montgomery_appendix_vi() -> None:
    # Published to three decimals (c4 to four): n, A2, A3, c4, B3, B4, d2, D3, D4.
    table = [
        (2, 1.880, 2.659, 0.7979, 0.000, 3.267, 1.128, 0.000, 3.267),
        (5, 0.577, 1.427, 0.9400, 0.000, 2.089, 2.326, 0.000, 2.114),
        (7, 0.419, 1.182, 0.9594, 0.118, 1.882, 2.704, 0.076, 1.924),
        (10, 0.308, 0.975, 0.9727, 0.284, 1.716, 3.078, 0.223, 1.777),
        (25, 0.153, 0.606, 0.9896, 0.565, 1.435, 3.931, 0.459, 1.541),
    ]
    for n, a2, a3, c4, b3, b4, d2, d3, d4 in table:
        f = factors(n)
        got = (f.A2, f.A3, f.B3, f.B4, f.d2, f.D3, f.D4)
        assert [round(v, 3) for v in got] == [a2, a3, b3, b4, d2, d3, d4], n
        assert round(f.c4, 4) == c4, n
    with pytest.raises(ValueError, match="2 to 25"):
        factors(26)


def test_d2_and_d3_are_their_definitions() -> None:
    # d2(n) = integral of 1 - Phi(x)^n - (1 - Phi(x))^n over the real line.
    for n in range(2, 26):
        d2 = integrate.quad(lambda x, n=n: 1 - ndtr(x) ** n - ndtr(-x) ** n, -np.inf, np.inf)[0]
        assert factors(n).d2 == pytest.approx(d2, abs=1e-6), n
    # n = 2: the range is |X1 - X2| with X1 - X2 ~ N(0, 2): d2 = 2 / sqrt(pi),
    # d3 = sqrt(E[R^2] - d2^2) = sqrt(2 - 4 / pi).
    assert factors(2).d2 == pytest.approx(2 / math.sqrt(math.pi), abs=1e-6)
    assert factors(2).d3 == pytest.approx(math.sqrt(2 - 4 / math.pi), abs=1e-6)
    # c4 from its definition by the gamma function: c4(2) = sqrt(2 / pi).
    assert factors(2).c4 == pytest.approx(math.sqrt(2 / math.pi), rel=1e-12)


def test_individuals_and_moving_range_by_hand() -> None:
    i, mr = individuals_mr([10.0, 12.0, 11.0, 15.0, 13.0])
    # Moving ranges 2, 1, 4, 2 -> MR-bar = 2.25; mean 61 / 5 = 12.2;
    # sigma = 2.25 / 1.128379 = 1.994011; I: UCL = 12.2 + 3 x 1.994011 = 18.182033,
    # LCL = 6.217967. MR: UCL = D4(2) MR-bar = (1 + 3 x 0.852502 / 1.128379) x 2.25 = 7.349695.
    assert mr.value.tolist() == [2.0, 1.0, 4.0, 2.0]
    assert i.center[0] == pytest.approx(12.2)
    assert i.sigma[0] == pytest.approx(2.25 / 1.128379)
    assert i.ucl[0] == pytest.approx(18.182033, abs=1e-6)
    assert i.lcl[0] == pytest.approx(6.217967, abs=1e-6)
    assert mr.center[0] == 2.25
    assert mr.ucl[0] == pytest.approx(7.349695, abs=1e-6)
    assert mr.lcl[0] == 0.0
    # A jump far beyond the limits shows on both charts.
    i, mr = individuals_mr([10.0, 10.5, 10.0, 10.5, 10.0, 10.5, 10.0, 30.0])
    assert i.beyond_limits().tolist() == [7]
    assert mr.beyond_limits().tolist() == [6]


def test_p_chart_reproduces_montgomery_orange_juice_cans() -> None:
    p = p_chart(ORANGE_JUICE_CANS, 50)
    # p-bar = 347 / 1500 = 0.231333 (book: 0.2313);
    # 3 sqrt(0.231333 x 0.768667 / 50) = 0.178906 -> UCL = 0.410239 (book: 0.4102),
    # LCL = 0.052428 (book: 0.0524).
    assert p.center[0] == pytest.approx(347 / 1500)
    assert p.ucl[0] == pytest.approx(0.410239, abs=1e-6)
    assert p.lcl[0] == pytest.approx(0.052428, abs=1e-6)
    assert (round(p.ucl[0], 4), round(p.lcl[0], 4)) == (0.4102, 0.0524)
    # The book: samples 15 (22/50 = 0.44) and 23 (24/50 = 0.48) plot above the UCL.
    assert (p.beyond_limits() + 1).tolist() == [15, 23]


def test_p_chart_with_varying_sample_sizes() -> None:
    p = p_chart([5, 12, 1], [50, 100, 100])
    # p-bar = 18 / 250 = 0.072; n = 50: sigma = sqrt(0.072 x 0.928 / 50) = 0.036556,
    # UCL = 0.181667, LCL = max(0, -0.037667) = 0; n = 100: sigma = 0.025849,
    # UCL = 0.149546, LCL = 0 (0.072 - 0.077546 < 0).
    assert p.center.tolist() == [0.072] * 3
    np.testing.assert_allclose(p.ucl, [0.181667, 0.149546, 0.149546], atol=1e-6)
    np.testing.assert_array_equal(p.lcl, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="more defectives"):
        p_chart([60, 1], 50)


def test_np_chart_on_the_orange_juice_data() -> None:
    c = np_chart(ORANGE_JUICE_CANS, 50)
    # n p-bar = 347 / 30 = 11.566667; sigma = sqrt(11.566667 x 0.768667) = 2.981763;
    # UCL = 20.511956, LCL = 2.621377: 50 times the p chart's limits. Samples 15 and 23 again.
    assert c.center[0] == pytest.approx(347 / 30)
    assert c.ucl[0] == pytest.approx(20.511956, abs=1e-6)
    assert c.lcl[0] == pytest.approx(2.621377, abs=1e-6)
    assert (c.beyond_limits() + 1).tolist() == [15, 23]


def test_c_chart_reproduces_montgomery_circuit_boards() -> None:
    c = c_chart(CIRCUIT_BOARDS)
    # c-bar = 516 / 26 = 19.846154 (book: 19.85); 3 sqrt(19.846154) = 13.364707;
    # UCL = 33.210861, LCL = 6.481447 (book, from the rounded 19.85: 33.22 and 6.48).
    assert c.center[0] == pytest.approx(516 / 26)
    assert c.ucl[0] == pytest.approx(33.210861, abs=1e-6)
    assert c.lcl[0] == pytest.approx(6.481447, abs=1e-6)
    # The book: sample 6 (5) below the LCL, sample 20 (39) above the UCL.
    assert (c.beyond_limits() + 1).tolist() == [6, 20]


def test_u_chart_with_varying_units() -> None:
    u = u_chart([30, 70, 10, 80], [1, 2, 1, 2])
    # u-bar = 190 / 6 = 31.666667; u = 30, 35, 10, 40.
    # One unit: sigma = sqrt(31.666667) = 5.627314, UCL = 48.548610, LCL = 14.784724;
    # two units: sigma = sqrt(15.833333) = 3.979112, UCL = 43.604003, LCL = 19.729330.
    assert u.value.tolist() == [30.0, 35.0, 10.0, 40.0]
    np.testing.assert_allclose(u.ucl, [48.548610, 43.604003, 48.548610, 43.604003], atol=1e-6)
    np.testing.assert_allclose(u.lcl, [14.784724, 19.729330, 14.784724, 19.729330], atol=1e-6)
    assert u.beyond_limits().tolist() == [2]


def test_bad_chart_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="2-D"):
        xbar_r([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="2 to 25"):
        xbar_s(np.ones((3, 30)))
    with pytest.raises(ValueError, match="NaN"):
        xbar_r([[1.0, np.nan], [1.0, 2.0]])
    with pytest.raises(ValueError, match="at least 2"):
        individuals_mr([1.0])
    with pytest.raises(ValueError, match="not negative"):
        c_chart([3, -1])
    with pytest.raises(ValueError, match="positive"):
        u_chart([3, 1], [1, 0])


def test_subgroups_are_planned_from_the_observations_there_are() -> None:
    from smartfab.apps.monitoring.spc import plan_subgroups

    # 46 observations: subgroups of 5 would be 9, too few; the default size becomes 2 (23).
    short = plan_subgroups(46, None, None)
    assert (short.size, short.count, short.enough) == (2, 23, True)
    assert short.indices().tolist()[:2] == [[0, 1], [2, 3]] and short.indices()[-1, -1] == 45
    # Plenty: subgroups of 5, as many as fill the data up to 100; a count given bounds it.
    assert (plan_subgroups(5000, None, None).size, plan_subgroups(5000, None, None).count) == (
        5,
        100,
    )
    assert plan_subgroups(5000, 4, 400).count == 400
    assert plan_subgroups(60, 5, 400).count == 12
    # Too few even for 10 subgroups of 2: no subgroups, and how many it would take.
    few = plan_subgroups(19, None, None)
    assert (few.count, few.enough, few.needed) == (0, False, 20)
    assert plan_subgroups(12, 1, None).count == 12  # individuals
    with pytest.raises(ValueError, match="subgroup size 26"):
        plan_subgroups(1000, 26, None)
