from __future__ import annotations

import numpy as np

from smartfab.apps.maintenance.anomaly import StreamingAnomalyDetector


def _stream(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two sensors on a machine that switches between three loads every 50 rows."""
    rng = np.random.default_rng(seed)
    regime = (np.arange(n) // 50) % 3
    settings = np.column_stack([regime * 30.0, regime * 0.5]) + rng.normal(0, 0.01, (n, 2))
    sensors = np.column_stack([100 + 20 * regime, 5 - 2 * regime]) + rng.normal(0, 1, (n, 2))
    return settings, sensors


def test_regime_switches_are_not_anomalies_but_a_drift_is() -> None:
    settings, sensors = _stream(3000, seed=1)
    detector = StreamingAnomalyDetector.fit(settings, sensors, ("temp", "vib"))
    assert detector.normaliser.regimes.count == 3
    new_settings, new_sensors = _stream(1500, seed=2)
    quiet = detector.update(new_settings[:1000], new_sensors[:1000])
    assert not quiet.anomalous.any()
    drift = new_sensors[1000:].copy()
    drift[:, 1] += np.linspace(0, 6, 500)  # vibration grows
    loud = detector.update(new_settings[1000:], drift)
    first = int(np.argmax(loud.anomalous))
    assert loud.anomalous.any() and 0 < first < 350
    assert loud.sensor[first] == detector.names.index("vib")


def test_scores_do_not_depend_on_how_the_stream_is_cut() -> None:
    settings, sensors = _stream(600, seed=3)
    whole = StreamingAnomalyDetector.fit(settings, sensors, ("a", "b"))
    pieces = StreamingAnomalyDetector.fit(settings, sensors, ("a", "b"))
    all_at_once = whole.update(settings, sensors).score
    in_batches = np.concatenate([pieces.update(settings[i : i + 37], sensors[i : i + 37]).score
                                 for i in range(0, 600, 37)])  # fmt: skip
    assert np.allclose(all_at_once, in_batches)
