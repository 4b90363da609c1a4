from __future__ import annotations

import math

import numpy as np
import pytest

from smartfab.apps.maintenance.evaluate import (
    best_threshold,
    f1,
    nasa_score,
    pr_auc,
    precision_recall_f1,
    rmse,
)


def test_rmse_by_hand() -> None:
    # errors 3, -4, 0: sqrt((9 + 16 + 0) / 3)
    assert rmse([13, 6, 5], [10, 10, 5]) == pytest.approx(math.sqrt(25 / 3))


def test_nasa_score_penalises_late_more_than_early() -> None:
    # d = +10 (late): e^1 - 1; d = -13 (early): e^1 - 1; d = 0: 0.
    assert nasa_score([30], [20]) == pytest.approx(math.e - 1)
    assert nasa_score([7], [20]) == pytest.approx(math.e - 1)
    assert nasa_score([20], [20]) == 0.0
    assert nasa_score([25, 15], [20, 20]) == pytest.approx(
        (math.exp(0.5) - 1) + (math.exp(5 / 13) - 1)
    )
    assert nasa_score([25], [20]) > nasa_score([15], [20])


def test_metrics_refuse_mismatched_input() -> None:
    with pytest.raises(ValueError):
        rmse([1, 2], [1])
    with pytest.raises(ValueError):
        nasa_score([], [])


def test_precision_recall_f1_by_hand() -> None:
    predicted = [1, 1, 1, 0, 0, 0]
    true = [1, 1, 0, 1, 0, 0]
    # tp 2, fp 1, fn 1: precision 2/3, recall 2/3, F1 2/3
    p, r, f = precision_recall_f1(predicted, true)
    assert (p, r, f) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert f1([0, 0], [1, 0]) == 0.0


def test_pr_auc_is_average_precision() -> None:
    # Ranked: pos (P=1/1), neg, pos (P=2/3), neg -> (1 + 2/3) / 2
    assert pr_auc([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    assert pr_auc([0.9, 0.1], [1, 0]) == 1.0
    # Tied scores count together: both at 0.5 -> precision 1/2 for the one positive.
    assert pr_auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)


def test_best_threshold_maximises_f1() -> None:
    scores = np.array([0.95, 0.9, 0.6, 0.4, 0.3, 0.1])
    true = np.array([1, 1, 1, 0, 1, 0])
    t = best_threshold(scores, true)
    # Cutting below 0.6 gives F1 6/7; below 0.3 gives 8/9, the best.
    assert 0.1 < t < 0.3
    assert f1(scores >= t, true) == pytest.approx(8 / 9)
