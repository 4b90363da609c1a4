from __future__ import annotations

import json
from pathlib import Path

from smartfab.apps.maintenance.rul import RulParams
from smartfab.bench.maintenance import bench_maintenance
from tests.apps.maintenance.synthetic import write_ai4i, write_cmapss
from tests.cli.test_main import smartfab


def test_bench_reports_every_figure(tmp_path: Path) -> None:
    cmapss = write_cmapss(tmp_path / "c", "FD009", regimes=3, units=16)
    ai4i = write_ai4i(tmp_path / "p.csv", rows=600)
    seen: list[str] = []
    fast = RulParams(seeds=1, trees=60, quantile_trees=30, threads=1)
    figures = bench_maintenance(
        cmapss, ["FD009"], ai4i, folds=2, progress=seen.append, rul_params=fast
    )
    json.dumps(figures)
    fd = figures["cmapss"]["FD009"]
    assert fd["rmse"] > 0 and fd["score"] > 0 and fd["regimes"] == 3 and fd["test_units"] == 8
    assert 0 <= figures["ai4i"]["f1"] <= 1 and 0 <= figures["ai4i"]["pr_auc"] <= 1
    assert figures["train_seconds"] >= fd["train_seconds"] > 0
    assert any("FD009" in s for s in seen) and any("AI4I" in s for s in seen)


def test_bench_command_ends_with_json(tmp_path: Path) -> None:
    ai4i = write_ai4i(tmp_path / "p.csv", rows=400)
    r = smartfab("bench", "maintenance", "--ai4i", str(ai4i), "--folds", "2", "--factory-days", "0")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout.strip().splitlines()[-1])
    assert "cmapss" not in figures and "virtual_factory" not in figures
    assert figures["ai4i"]["f1"] > 0.5
