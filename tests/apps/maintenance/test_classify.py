from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.maintenance.classify import (
    FailureClassifier,
    FailureParams,
    cross_validate,
    physics_features,
)
from smartfab.apps.maintenance.datasets import load_ai4i
from tests.apps.maintenance.synthetic import write_ai4i

FAST = FailureParams(trees=40, inner_folds=2, threads=1)


def test_physics_features_come_from_units() -> None:
    derived = physics_features({
        "Torque [Nm]": np.array([10.0]), "Rotational speed [rpm]": np.array([600.0]),
        "Air [K]": np.array([300.0]), "Process [K]": np.array([310.0]),
        "Tool wear [min]": np.array([5.0]), "Count": np.array([1.0]),
    })  # fmt: skip
    values = {name.split(" ")[0]: v[0] for name, v in derived.items()}
    assert values["power"] == pytest.approx(10 * 600 * 2 * math.pi / 60)
    assert values["strain"] == 50.0
    assert derived["Process [K] - Air [K]"][0] == 10.0
    assert len(derived) == 3


def test_a_power_rule_is_learnt_and_judged_out_of_fold(tmp_path: Path) -> None:
    table = load_ai4i(write_ai4i(tmp_path / "p.csv", rows=800))
    figures = cross_validate(table, folds=3, candidates=[FAST])
    assert figures["f1"] > 0.8 and figures["pr_auc"] > 0.8
    model = FailureClassifier.fit(table, [FAST])
    assert 0 < model.threshold < 1
    assert any(n.startswith("power") for n in model.names)
    # Shuffled labels carry nothing to learn: the same protocol must then score poorly.
    rng = np.random.default_rng(0)
    shuffled = type(table)(table.numeric, table.categorical, rng.permutation(table.label),
                           table.sha256, table.verified)  # fmt: skip
    assert cross_validate(shuffled, folds=3, candidates=[FAST])["f1"] < 0.5
