from __future__ import annotations

import numpy as np

from smartfab.apps.maintenance.datasets import Fleet
from smartfab.apps.maintenance.features import (
    FeaturePipeline,
    RegimeModel,
    RegimeNormaliser,
    ewm,
    rolling_mean_std,
    rolling_slope,
    window_features,
)
from tests.apps.maintenance.synthetic import REGIMES, fleet_rows


def _fleet(regimes: int) -> Fleet:
    rows, _ = fleet_rows(12, regimes, seed=5, truncate=False)
    names = tuple(f"s{i}" for i in range(21))
    return Fleet(rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2:5], rows[:, 5:], names,
                 "x", False)  # fmt: skip


def test_distinct_operating_points_become_regimes() -> None:
    fleet = _fleet(regimes=3)
    model = RegimeModel.fit(fleet.settings)
    assert model.count == 3 and model.silhouette > 0.9
    labels = model.assign(fleet.settings)
    truth = np.argmin(np.abs(fleet.settings[:, :1] - REGIMES[:, 0]), axis=1)
    # Same partition, whatever the cluster numbering.
    pairs = set(zip(labels.tolist(), truth.tolist(), strict=True))
    assert len(pairs) == 3


def test_noise_around_one_operating_point_is_one_regime() -> None:
    rng = np.random.default_rng(0)
    settings = np.column_stack([rng.normal(0, 0.002, 2000), rng.normal(0, 3e-4, 2000),
                                np.full(2000, 100.0)])  # fmt: skip
    assert RegimeModel.fit(settings).count == 1


def test_per_regime_normalisation_removes_the_regime_and_keeps_the_wear() -> None:
    fleet = _fleet(regimes=3)
    norm = RegimeNormaliser.fit(fleet.settings, fleet.sensors, fleet.sensor_names)
    # The three constant sensors carry nothing and are dropped.
    assert norm.names == fleet.sensor_names[3:]
    z, labels = norm.transform(fleet.settings, fleet.sensors)
    for r in range(3):
        assert np.allclose(z[labels == r].mean(axis=0), 0, atol=1e-9)
    # Raw sensors are dominated by the regime; normalised ones follow wear (remaining life).
    remaining = fleet.remaining()

    def wear_signal(x: np.ndarray) -> float:
        return float(np.mean([abs(np.corrcoef(c, remaining)[0, 1]) for c in x.T]))

    raw, normalised = wear_signal(fleet.sensors[:, 3:]), wear_signal(z)
    assert normalised > 0.4 and normalised > 2 * raw, (raw, normalised)


def test_rolling_statistics_match_direct_computation() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3))
    mean, std = rolling_mean_std(x, 5)
    slope = rolling_slope(x, 7)
    for i in (0, 3, 4, 20, 39):
        w = x[max(0, i - 4) : i + 1]
        assert np.allclose(mean[i], w.mean(axis=0)) and np.allclose(std[i], w.std(axis=0))
        w = x[max(0, i - 6) : i + 1]
        expected = np.polyfit(np.arange(len(w)), w, 1)[0] if len(w) >= 3 else np.zeros(3)
        assert np.allclose(slope[i], expected)
    e = ewm(x, 9)
    a = 2 / 10
    weights = (1 - a) ** np.arange(10)[::-1]
    assert np.allclose(e[9], (weights[:, None] * x[:10]).sum(axis=0) / weights.sum())


def test_windows_never_look_ahead_or_across_units() -> None:
    unit = np.array([1, 1, 1, 2, 2])
    cycle = np.array([1.0, 2, 3, 1, 2])
    x = np.array([[1.0], [2], [3], [100], [200]])
    before, names = window_features(unit, cycle, x, ("a",))
    changed = x.copy()
    changed[2] = 50.0  # a later row of unit 1
    after, _ = window_features(unit, cycle, changed, ("a",))
    assert np.array_equal(before[:2], after[:2]) and np.array_equal(before[3:], after[3:])
    assert before.shape == (5, len(names)) and names[0] == "cycle"
    assert before[3, names.index("a.mean10")] == 100.0  # unit 2 starts afresh


def test_pipeline_serves_multi_regime_fleets_unchanged() -> None:
    fleet = _fleet(regimes=3)
    pipeline = FeaturePipeline.fit(fleet)
    x = pipeline.transform(fleet)
    assert x.shape == (len(fleet.unit), len(pipeline.names)) and np.isfinite(x).all()
