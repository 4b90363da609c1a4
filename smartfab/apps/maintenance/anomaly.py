"""Streaming anomaly detection that copes with changing operating regimes.

Each sensor is z-scored within the operating regime of its row (`features.RegimeNormaliser`,
fitted on a normal period), so that a switch of load or speed, which moves every sensor, is
not an anomaly; what stays is smoothed by an EWMA control chart per sensor (Roberts 1959). A row
is anomalous when a sensor's chart leaves `limit` standard deviations of the chart. The state
(the EWMA of each sensor) carries over between calls, so rows can arrive batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from smartfab.apps.maintenance.features import RegimeNormaliser

Array = NDArray[np.float64]


@dataclass(frozen=True)
class AnomalyScores:
    score: Array  # per row: the largest |chart| over sensors, in chart standard deviations
    anomalous: NDArray[np.bool_]
    sensor: NDArray[np.int64]  # per row: the sensor (index into `names`) driving the score
    regime: NDArray[np.int64]


@dataclass
class StreamingAnomalyDetector:
    normaliser: RegimeNormaliser
    smoothing: float = 0.2  # EWMA weight of the newest row
    limit: float = 4.0
    state: Array = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def fit(
        cls, settings: Array, sensors: Array, names: tuple[str, ...], smoothing: float = 0.2,
        limit: float = 4.0,
    ) -> StreamingAnomalyDetector:  # fmt: skip
        """Learn regimes and each sensor's normal level and spread per regime from a normal
        period."""
        if not 0 < smoothing <= 1:
            raise ValueError("smoothing is a weight in (0, 1]")
        normaliser = RegimeNormaliser.fit(settings, sensors, names)
        return cls(normaliser, smoothing, limit, np.zeros(len(normaliser.keep)))

    @property
    def names(self) -> tuple[str, ...]:
        return self.normaliser.names

    def reset(self) -> None:
        """Forget the history, e.g. after maintenance."""
        self.state = np.zeros(len(self.normaliser.keep))

    def update(self, settings: Array, sensors: Array) -> AnomalyScores:
        """Score new rows in time order, continuing from the previous call."""
        z, regime = self.normaliser.transform(settings, sensors)
        lam = self.smoothing
        # EWMA e_t = lam z_t + (1 - lam) e_{t-1}, as a filter with the carried state.
        chart, zf = lfilter(
            [lam], [1.0, -(1.0 - lam)], z, axis=0, zi=(1.0 - lam) * self.state[None, :]
        )
        self.state = chart[-1] if len(chart) else self.state
        del zf
        sigma = np.sqrt(lam / (2.0 - lam))  # steady-state spread of the chart of N(0, 1) rows
        scaled = np.abs(chart) / sigma
        if scaled.shape[1] == 0:
            zeros = np.zeros(len(z))
            return AnomalyScores(zeros, zeros > 0, np.zeros(len(z), np.int64), regime)
        sensor = np.argmax(scaled, axis=1).astype(np.int64)
        score = scaled[np.arange(len(z)), sensor]
        return AnomalyScores(score, score > self.limit, sensor, regime)
