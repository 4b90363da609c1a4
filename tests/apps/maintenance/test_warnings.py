from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.maintenance.warnings import HOUR_US, score_warnings


def hours(*h: float) -> np.ndarray:
    return (np.array(h) * HOUR_US).astype(np.int64)


def test_precision_recall_and_lead_time_by_hand() -> None:
    # Machine a fails at hour 100 and is warned at 70 (too early), 80, 90, 99;
    # machine b fails at hour 50 without warning and is warned at 200 (nothing follows).
    warnings = {"a": hours(70, 80, 90, 99), "b": hours(200)}
    failures = {"a": [int(100 * HOUR_US)], "b": [int(50 * HOUR_US)]}
    score = score_warnings(warnings, failures, horizon_h=24)
    assert score.precision == pytest.approx(3 / 5)  # 80, 90, 99 are within 24 h of a failure
    assert score.recall == pytest.approx(1 / 2)
    assert score.lead_time_h == pytest.approx(20.0)  # first warning in the window: hour 80
    assert (score.warnings, score.failures) == (5, 2)


def test_no_warnings_and_no_failures() -> None:
    score = score_warnings({}, {"a": [HOUR_US]}, horizon_h=24)
    assert (score.precision, score.recall, score.lead_time_h) == (0.0, 0.0, 0.0)
