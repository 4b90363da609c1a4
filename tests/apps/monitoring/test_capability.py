from __future__ import annotations

import math

import numpy as np
import pytest

from smartfab.apps.monitoring.capability import capability, within_sigma
from tests.apps.monitoring.montgomery import PISTON_RINGS


def test_piston_rings_against_montgomery() -> None:
    # Montgomery (chapter 6, the piston rings' capability): specifications 74.000 +- 0.05 mm,
    # sigma-hat = R-bar / d2 = 0.02324 / 2.325929 = 0.0099917 (book: 0.0099),
    # Cp = 0.10 / (6 x 0.0099917) = 1.66805 (book, from its rounded sigma: 1.68).
    c = capability(PISTON_RINGS, 73.95, 74.05)
    assert c.sigma_within == pytest.approx(0.02324 / 2.325929)
    assert c.cp == pytest.approx(1.668050, abs=1e-6)
    assert c.cp == pytest.approx(1.68, abs=0.015)
    # Mean 74.001176 is 0.048824 below the USL and 0.051176 above the LSL:
    # Cpk = 0.048824 / (3 x 0.0099917) = 1.628818.
    assert c.mean == pytest.approx(74.001176, abs=1e-9)
    assert c.cpk == pytest.approx(1.628818, abs=1e-6)
    # Overall: the squared deviations of the 125 values sum to 0.012898128, s = sqrt(/124)
    # = 0.0101989: Pp = 0.10 / (6 x 0.0101989) = 1.634166, Ppk = 0.048824 / (3 x 0.0101989)
    # = 1.595731.
    assert c.sigma_overall == pytest.approx(math.sqrt(0.012898128 / 124), rel=1e-9)
    assert c.pp == pytest.approx(1.634166, abs=1e-6)
    assert c.ppk == pytest.approx(1.595731, abs=1e-6)
    # Within sigma from S-bar / c4 = 0.0093995 / 0.9399856 = 0.0099996 -> Cp = 1.666733.
    by_s = capability(PISTON_RINGS, 73.95, 74.05, within="stdev")
    assert by_s.cp == pytest.approx(1.666733, abs=1e-6)
    assert by_s.pp == c.pp  # the overall sigma does not depend on the within method


def test_individual_values_use_the_moving_range() -> None:
    x = [10.0, 12.0, 11.0, 15.0, 13.0]
    # MR-bar = (2 + 1 + 4 + 2) / 4 = 2.25, sigma within = 2.25 / 1.128379 = 1.994011, mean 12.2.
    # LSL 5, USL 20: Cp = 15 / (6 x 1.994011) = 1.253754, Cpk = min(7.8, 7.2) / 5.982033 = 1.203604.
    # Overall: squared deviations 4.84 + 0.04 + 1.44 + 7.84 + 0.64 = 14.8, s = sqrt(14.8 / 4)
    # = 1.923538: Pp = 15 / 11.541230 = 1.299688, Ppk = 7.2 / 5.770615 = 1.247701.
    c = capability(x, 5.0, 20.0)
    assert c.sigma_within == pytest.approx(1.994011, abs=1e-6)
    assert c.cp == pytest.approx(1.253754, abs=1e-6)
    assert c.cpk == pytest.approx(1.203604, abs=1e-6)
    assert c.pp == pytest.approx(1.299688, abs=1e-6)
    assert c.ppk == pytest.approx(1.247701, abs=1e-6)


def test_one_sided_specification() -> None:
    # USL 20 only: Cpk = Cpu = 7.8 / (3 x 1.994011) = 1.303905, Ppk = 7.8 / (3 x 1.923538)
    # = 1.351676; Cp and Pp need both limits.
    c = capability([10.0, 12.0, 11.0, 15.0, 13.0], None, 20.0)
    assert c.cpk == pytest.approx(1.303905, abs=1e-6)
    assert c.ppk == pytest.approx(1.351676, abs=1e-6)
    assert math.isnan(c.cp) and math.isnan(c.pp)
    # LSL 11 only: Cpl = 1.2 / 5.982033 = 0.200600.
    assert capability([10.0, 12.0, 11.0, 15.0, 13.0], 11.0, None).cpk == pytest.approx(
        0.200600, abs=1e-6
    )


def test_bad_capability_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one specification"):
        capability([1.0, 2.0], None, None)
    with pytest.raises(ValueError, match="must be below"):
        capability([1.0, 2.0], 3.0, 3.0)
    with pytest.raises(ValueError, match="do not vary"):
        capability([2.0, 2.0, 2.0], 1.0, 3.0)
    with pytest.raises(ValueError, match="2-D subgroups"):
        within_sigma(np.arange(5.0), "range")
    with pytest.raises(ValueError, match="1-D series"):
        within_sigma(np.ones((3, 2)), "moving_range")
