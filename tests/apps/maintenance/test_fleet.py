"""The fleet assessed from a real store: a RUL model trained on the fly from the recorded
failures, registered and reused; health, RUL interval, anomalies and the risk ranking."""

from __future__ import annotations

from pathlib import Path

from smartfab.apps.maintenance.fleet import FleetAssessor, risk, step_for
from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.platform.queries import PlantData
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.maintenance.synthetic import DAYS, LINE, H, fill_wearing_fleet

T0 = 1_767_571_200_000_000


def test_rul_trained_from_the_store_then_reused(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        fill_wearing_fleet(store, T0)
        data = PlantData(store)
        registry = ModelRegistry(tmp_path / "models")
        end = T0 + DAYS * 24 * H
        assessor = FleetAssessor(data, registry)
        fleet = assessor.assess(T0, end, horizon_h=24)
        assert step_for(end - T0) == H
        by = {a.equipment: a for a in fleet}
        assert set(by) == {f"{LINE}/m1", f"{LINE}/m2", f"{LINE}/ok"}
        m1, m2, ok = by[f"{LINE}/m1"], by[f"{LINE}/m2"], by[f"{LINE}/ok"]
        # At the last row (hour 719), m1 is 14 h from its next failure, m2 64 h.
        assert m1.model.startswith("rul-plant-") and m1.model.endswith("-60m@v1")
        assert m1.rul_h is not None and m2.rul_h is not None
        assert m1.rul_low_h is not None and m1.rul_high_h is not None
        assert m1.rul_low_h <= m1.rul_h <= m1.rul_high_h
        assert abs(m1.rul_h - 14) < 10 and m2.rul_h > 34
        assert m1.failure_predicted(24) and not m2.failure_predicted(24)
        assert m1.mode == "spindle_bearing"
        assert m1.current_health < m2.current_health
        # Ranked by risk: the machine about to fail first; the other kind has no failures, so
        # no RUL: health from its own baseline.
        assert fleet[0] is m1 and m1.risk > m2.risk
        assert ok.model == "baseline" and ok.rul_h is None and ok.current_health > 90
        # The wear ramps are anomalies against the first third of the period.
        assert m1.anomalies and {x.sensor for x in m1.anomalies} <= {"temp", "vib"}
        assert registry.names() == [m1.model.split("@")[0]]

        # A second server finds the registered model: no training, same prediction.
        again = FleetAssessor(data, registry, train_budget_s=0).assess(T0, end, 24, f"{LINE}/m1")
        assert [a.model for a in again] == [m1.model] and again[0].rul_h == m1.rul_h


def test_no_training_beyond_the_budget_and_risk() -> None:
    assert risk(100.0, 30.0, 20.0, 40.0, 24.0) == 0.2
    assert risk(100.0, 10.0, 5.0, 15.0, 24.0) == 1.0
    assert risk(75.0, None, None, None, 24.0) == 0.25
    assert step_for(6 * H) == 2 * 60_000_000 and step_for(1) == 60_000_000
