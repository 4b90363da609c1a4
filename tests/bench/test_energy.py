from __future__ import annotations

import json
from pathlib import Path

import pytest

from smartfab.apps.energy.datasets import DatasetError, load_steel
from smartfab.bench.energy import bench_energy, bench_steel
from tests.apps.scheduling.data import shared

KEYS = {
    "optimisation.realised_fraction", "optimisation.violations", "train_seconds",
    "defects.chatter.pr_auc", "defects.chatter.baseline_pr_auc", "defects.chatter.oracle_pr_auc",
}  # fmt: skip


def test_the_closed_loop_reports_every_figure_and_breaks_no_constraint() -> None:
    seen: list[str] = []
    figures = bench_energy(None, seed=3, progress=seen.append, rounds=1)
    json.dumps(figures)
    assert set(figures) >= KEYS
    assert figures["optimisation.violations"] == 0
    assert figures["defects.chatter.pr_auc"] > figures["defects.chatter.baseline_pr_auc"]
    assert figures["defects.chatter.oracle_pr_auc"] > figures["defects.chatter.baseline_pr_auc"]
    assert -1 <= figures["optimisation.realised_fraction"] <= 1.5
    assert any("round 1/1" in s for s in seen)


def test_steel_protocols() -> None:
    figures = bench_steel(shared("steel_industry"), seed=0, trees=150)
    assert figures["steel.random_split.rmse"] < 1.1 and figures["steel.random_split.r2"] > 0.99
    assert figures["steel.time_split.rmse_with"] < figures["steel.time_split.rmse_without"]
    assert figures["steel.load_type_accuracy"] > 0.9


def test_a_missing_steel_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_steel(tmp_path)
