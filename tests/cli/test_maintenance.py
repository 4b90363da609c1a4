"""`smartfab maintenance train` then `evaluate` on small generated data, and `train-fleet` on a
generated plant history, as a user runs them."""

from __future__ import annotations

from pathlib import Path

from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.platform.points import now_us
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.maintenance.synthetic import DAYS, H, fill_wearing_fleet, write_ai4i, write_cmapss
from tests.cli.test_main import smartfab


def test_train_then_evaluate(tmp_path: Path) -> None:
    cmapss = write_cmapss(tmp_path / "cmapss", "FD009", units=16)
    ai4i = write_ai4i(tmp_path / "process.csv", rows=300)
    common = ["--cmapss-dir", str(cmapss), "--subsets", "FD009", "--ai4i", str(ai4i),
              "--data-dir", str(tmp_path / "data")]  # fmt: skip
    r = smartfab("maintenance", "train", *common, "--seeds", "1", "--trees", "40")
    assert r.returncode == 0, r.stderr
    assert "rul-FD009" in r.stdout and "failure-ai4i" in r.stdout
    registry = ModelRegistry(tmp_path / "data" / "models")
    assert registry.names() == ["failure-ai4i", "rul-FD009"]
    meta = registry.info("rul-FD009").meta
    assert meta["version"] == 1 and meta["figures"]["train_seconds"] > 0
    # The AI4I protocol (cross-validation) is exercised by tests/bench/test_maintenance.py.
    r = smartfab("maintenance", "evaluate", *common, "--skip-ai4i")
    assert r.returncode == 0, r.stderr
    assert "RMSE" in r.stdout and "rul-FD009" in r.stdout


def test_evaluate_without_a_model_says_so(tmp_path: Path) -> None:
    cmapss = write_cmapss(tmp_path / "cmapss", "FD009", units=4)
    r = smartfab("maintenance", "evaluate", "--cmapss-dir", str(cmapss), "--subsets", "FD009",
                 "--skip-ai4i", "--data-dir", str(tmp_path / "data"))  # fmt: skip
    assert r.returncode == 1 and "train one first" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_every_maintenance_command_explains_itself() -> None:
    for command in (["maintenance"], ["maintenance", "train"], ["maintenance", "evaluate"],
                    ["bench", "maintenance"]):  # fmt: skip
        r = smartfab(*command, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, command
        assert "C-MAPSS" in r.stdout, command


def test_train_fleet_trains_the_plant_models_from_recorded_failures(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with DuckDBStore(tmp_path / "data" / "smartfab.duckdb") as store:
        # A month of history ending an hour ago: the command trains on the last 30 days.
        fill_wearing_fleet(store, now_us() // H * H - DAYS * 24 * H)
    r = smartfab("maintenance", "train-fleet", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    registry = ModelRegistry(tmp_path / "data" / "models")
    (name,) = registry.names()
    assert name.startswith("rul-plant-") and name.endswith("-60m") and name in r.stdout
    assert registry.info(name).meta["figures"]["failures"] >= 2
    # Trained once: a second run has nothing left to train.
    again = smartfab("maintenance", "train-fleet", "--data-dir", str(tmp_path / "data"))
    assert again.returncode == 0 and "no model trained" in again.stdout
    assert registry.versions(name) == [1]
