"""The fleet assessed from a real store: a RUL model trained from the recorded failures (never
while a request waits), registered and reused; health, RUL interval, anomalies and the risk
ranking; only running time counts, and what cannot be known is reported as unknown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smartfab.apps.maintenance.fleet import MIN_RUNNING_ROWS, FleetAssessor, risk, step_for
from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.platform.points import EventBatch, EventKind, PointBatch
from smartfab.platform.queries import PlantData
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.maintenance.synthetic import DAYS, LINE, H, fill_wearing_fleet

T0 = 1_767_571_200_000_000


def test_rul_trained_from_the_store_then_reused(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        fill_wearing_fleet(store, T0)
        data = PlantData(store)
        registry = ModelRegistry(tmp_path / "models")
        end = T0 + DAYS * 24 * H
        assessor = FleetAssessor(data, registry, background=False)
        # An assessment never trains: the kind with failures says what it waits for.
        before = {a.equipment: a for a in assessor.assess(T0, end, horizon_h=24)}
        assert registry.names() == []
        m1 = before[f"{LINE}/m1"]
        assert m1.model == "baseline" and m1.rul_h is None
        assert m1.rul_note is not None and m1.rul_note.code == "untrained"
        assert "train-fleet" in m1.rul_note.text
        ok = before[f"{LINE}/ok"]
        assert ok.rul_note is not None and ok.rul_note.code == "failures"
        assert (ok.rul_note.params["need"], ok.rul_note.params["have"]) == (2, 0)
        trained = assessor.train(end)
        assert [(i.name.startswith("rul-plant-"), i.version) for i in trained] == [(True, 1)]
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
        assert m1.risk is not None and m2.risk is not None
        assert fleet[0] is m1 and m1.risk > m2.risk
        assert ok.model == "baseline" and ok.rul_h is None and ok.current_health > 90
        # Its kind has no failures to learn from, which the training does not change.
        assert ok.rul_note is not None and ok.rul_note.code == "failures"
        # The wear ramps are anomalies against the first third of the period.
        assert m1.anomalies and {x.sensor for x in m1.anomalies} <= {"temp", "vib"}
        assert registry.names() == [m1.model.split("@")[0]]

        # A second server finds the registered model (read back from its files, not a pickle):
        # same prediction.
        again = FleetAssessor(data, registry, background=False).assess(T0, end, 24, f"{LINE}/m1")
        assert [a.model for a in again] == [m1.model] and again[0].rul_h == m1.rul_h
        assert again[0].rul_note is None


def test_risk() -> None:
    assert risk(30.0, 20.0, 40.0, 24.0) == 0.2
    assert risk(10.0, 5.0, 15.0, 24.0) == 1.0
    # Without a RUL the risk is unknown, not certain: health from a baseline of the machine's own
    # normal (which the first-start demo showed at 11 for a machine that never failed) is no
    # chance of failing until failures have tied the two.
    assert risk(None, None, None, 24.0) is None
    assert step_for(6 * H) == 2 * 60_000_000 and step_for(1) == 60_000_000


MIN = 60_000_000
CNC = f"{LINE}/cnc"


def fill_shift_machine(store: DuckDBStore, t0: int, run_h: int, off_h: int, again_h: int) -> int:
    """A healthy machine that runs ``run_h`` hours, is off ``off_h`` hours (temperature falls
    to the room's, no power: a machine at rest), then runs ``again_h`` hours; the end."""
    ids = store.register_signals(
        [SignalInfo(f"{CNC}/{n}", CNC, n, "", "float") for n in ("temp", "power")]
        + [SignalInfo(f"{CNC}/state", CNC, "state", "", "int", role="state")]
    )
    rng = np.random.default_rng(3)
    end = t0 + (run_h + off_h + again_h) * H
    ts = np.arange(t0, end, 5 * MIN)
    off = (ts >= t0 + run_h * H) & (ts < t0 + (run_h + off_h) * H)
    temp = np.where(off, 20.0, 45.0) + rng.normal(0, 0.3, len(ts))
    power = np.where(off, 0.0, 7.5) + rng.normal(0, 0.1, len(ts))
    points = [PointBatch.of(ts, ids[f"{CNC}/temp"], temp),
              PointBatch.of(ts, ids[f"{CNC}/power"], power)]  # fmt: skip
    batch = PointBatch(*(np.concatenate([getattr(p, c) for p in points])
                         for c in ("ts", "signal_id", "value", "quality")))  # fmt: skip
    changes = [t0, t0 + run_h * H, t0 + (run_h + off_h) * H]
    states = EventBatch.of(changes, CNC, EventKind.STATE, ["running", "off", "running"])
    store.append(batch, states)
    return int(end)


def test_off_time_is_not_wear(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        # Friday's shifts, a weekend off, Monday's first three hours.
        end = fill_shift_machine(store, T0, run_h=40, off_h=56, again_h=3)
        assessor = FleetAssessor(PlantData(store), ModelRegistry(None), background=False)
        # Hourly rows (a month's period), whose edges are those of the states.
        (a,) = assessor.assess(end - 30 * 24 * H, end, horizon_h=24)
        assert a.step_us == H and a.model == "baseline" and a.health_note is None
        # The weekend is not in the rows, and the machine is as healthy as before it.
        assert len(a.times) == 40 + 3
        assert not any(T0 + 40 * H <= t < T0 + 96 * H for t in a.times)
        assert a.current_health > 90 and a.risk is None  # no failures: no chance to state
        # Off now (the period ends in the weekend): the health it had when it stopped.
        (stopped,) = assessor.assess(T0 + 60 * H - 30 * 24 * H, T0 + 60 * H, horizon_h=24)
        assert stopped.ts == T0 + 39 * H and stopped.current_health > 90


def test_too_little_running_data_is_unknown_not_failing(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        # A first start on a Sunday: two days of history, of which the machine ran five hours.
        end = fill_shift_machine(store, T0, run_h=2, off_h=43, again_h=3)
        assessor = FleetAssessor(PlantData(store), ModelRegistry(None), background=False)
        (a,) = assessor.assess(end - 30 * 24 * H, end, horizon_h=24)
        assert a.health_note is not None and a.health_note.code == "running_data"
        assert a.health_note.params == {"need_h": float(MIN_RUNNING_ROWS), "have_h": 5.0}
        assert "needs 24 h of running data" in a.health_note.text
        assert a.risk is None and len(a.health) == 0 and a.model == ""
        assert not a.failure_predicted(24)


def test_training_runs_in_the_background(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        fill_wearing_fleet(store, T0)
        end = T0 + DAYS * 24 * H
        assessor = FleetAssessor(PlantData(store), ModelRegistry(tmp_path / "models"))
        first = {a.equipment: a for a in assessor.assess(T0, end, 24)}[f"{LINE}/m1"]
        # The request did not wait: it says the model is being trained, and the thread trains.
        assert first.model == "baseline"
        assert first.rul_note is not None and first.rul_note.code == "training"
        assert assessor._thread is not None
        assessor._thread.join()
        assert not assessor.training
        after = {a.equipment: a for a in assessor.assess(T0, end, 24)}[f"{LINE}/m1"]
        assert after.model.startswith("rul-plant-") and after.rul_h is not None


def test_failures_without_enough_history_are_not_trained_again(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        end = fill_shift_machine(store, T0, run_h=40, off_h=56, again_h=3)
        # Two failures five hours apart: too few rows before each to learn from.
        store.append_events(EventBatch.of([T0 + 5 * H, T0 + 10 * H], CNC, EventKind.FAILURE,
                                          "spindle_bearing"))  # fmt: skip
        assessor = FleetAssessor(PlantData(store), ModelRegistry(None), background=False)
        (a,) = assessor.assess(end - 30 * 24 * H, end, 24)
        assert a.rul_note is not None and a.rul_note.code == "untrained"
        assert assessor.train(end) == []
        (b,) = assessor.assess(end - 30 * 24 * H, end, 24)
        assert b.rul_note is not None and b.rul_note.code == "history"
        assert "more failures are needed" in b.rul_note.text
        assert b.current_health > 90  # health still comes from the baseline
