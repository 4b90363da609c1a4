from __future__ import annotations

from pathlib import Path

import numpy as np

from smartfab.apps.maintenance.classify import (
    FailureClassifier,
    FailureParams,
    cross_validate,
    pairwise_features,
)
from smartfab.apps.maintenance.datasets import load_ai4i
from tests.apps.maintenance.synthetic import write_ai4i

FAST = FailureParams(trees=40, inner_folds=2, threads=1)


def test_pairwise_features_of_every_two_columns() -> None:
    derived = pairwise_features({
        "Torque [Nm]": np.array([10.0, 4.0]), "Rotational speed [rpm]": np.array([600.0, 0.0]),
        "Count": np.array([1.0, 2.0]),
    })  # fmt: skip
    assert len(derived) == 3 * 3  # three pairs, three combinations each
    # In name order, so that a table's columns may come in any order.
    assert derived["Rotational speed [rpm] x Torque [Nm]"].tolist() == [6000.0, 0.0]
    ratio = derived["Rotational speed [rpm] / Torque [Nm]"]
    assert ratio[0] == 60.0 and ratio[1] == 0.0
    assert np.isnan(derived["Count / Rotational speed [rpm]"][1])  # by zero: missing
    assert derived["Count - Torque [Nm]"].tolist() == [-9.0, -2.0]


def test_a_power_rule_is_learnt_and_judged_out_of_fold(tmp_path: Path) -> None:
    table = load_ai4i(write_ai4i(tmp_path / "p.csv", rows=800))
    figures = cross_validate(table, folds=3, candidates=[FAST])
    assert figures["f1"] > 0.8 and figures["pr_auc"] > 0.8
    model = FailureClassifier.fit(table, [FAST])
    assert 0 < model.threshold < 1
    assert "Rotational speed [rpm] x Torque [Nm]" in model.names
    # Shuffled labels carry nothing to learn: the same protocol must then score poorly.
    rng = np.random.default_rng(0)
    shuffled = type(table)(table.numeric, table.categorical, rng.permutation(table.label),
                           table.sha256, table.verified)  # fmt: skip
    assert cross_validate(shuffled, folds=3, candidates=[FAST])["f1"] < 0.5
