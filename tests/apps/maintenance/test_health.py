from __future__ import annotations

import numpy as np

from smartfab.apps.maintenance.health import BaselineHealth, health_from_rul


def test_health_from_rul_is_the_share_of_the_cap() -> None:
    assert health_from_rul(np.array([0.0, 62.5, 125.0, 300.0, -4.0]), 125).tolist() == [
        0.0, 50.0, 100.0, 100.0, 0.0,
    ]  # fmt: skip


def test_baseline_health_falls_as_sensors_drift_whatever_the_regime() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    regime = rng.integers(0, 2, n)
    settings = np.column_stack([regime * 50.0 + rng.normal(0, 0.01, n)])
    offsets = np.array([[0.0, 0.0], [40.0, -25.0]])
    sensors = offsets[regime] + rng.normal(0, 1, (n, 2))
    model = BaselineHealth.fit(settings, sensors, ("a", "b"))
    normal = model.index(settings, sensors)
    assert np.mean(normal >= 99.9) > 0.95  # the reference period is healthy
    drifted = sensors + np.linspace(0, 8, n)[:, None]  # wear moves both sensors
    health = model.index(settings, drifted)
    assert health[-200:].mean() < 40 < 95 < health[:200].mean()
