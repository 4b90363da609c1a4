"""Health index 0-100 (100: as healthy as the equipment's own normal; 0: failing).

Two ways, for two situations:
- `health_from_rul`: equipment with a trained RUL model; health is the predicted remaining life
  as a share of the cap beyond which life cannot be read from the sensors.
- `BaselineHealth`: equipment without any failure history yet; health falls as its
  regime-normalised, smoothed sensors leave the spread they had during a reference period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.features import RegimeNormaliser, ewm

Array = NDArray[np.float64]

# Share of the reference period's deviations counted as normal: health stays 100 below it.
NORMAL_QUANTILE = 0.99


def health_from_rul(rul: Array, cap: float) -> Array:
    return np.asarray(100.0 * np.clip(rul / cap, 0.0, 1.0), dtype=np.float64)


@dataclass
class BaselineHealth:
    normaliser: RegimeNormaliser
    span: int
    normal: float  # deviation at NORMAL_QUANTILE of the reference period

    @classmethod
    def fit(
        cls, settings: Array, sensors: Array, names: tuple[str, ...], span: int = 10
    ) -> BaselineHealth:
        """`settings`, `sensors`: a reference period in which the equipment was healthy."""
        normaliser = RegimeNormaliser.fit(settings, sensors, names)
        model = cls(normaliser, span, 1.0)
        d = model.deviation(settings, sensors)
        model.normal = max(float(np.quantile(d, NORMAL_QUANTILE)), 1e-9)
        return model

    def deviation(self, settings: Array, sensors: Array) -> Array:
        """Root mean square of the smoothed per-regime z-scores, one history in row order."""
        z, _ = self.normaliser.transform(settings, sensors)
        if z.shape[1] == 0:
            return np.zeros(len(z))
        smooth = ewm(z, self.span)
        return np.asarray(np.sqrt(np.mean(smooth * smooth, axis=1)), dtype=np.float64)

    def index(self, settings: Array, sensors: Array) -> Array:
        """100 while the deviation stays within normal; 50 at twice it, 25 at four times."""
        d = self.deviation(settings, sensors)
        return np.asarray(100.0 * np.minimum(1.0, self.normal / np.maximum(d, 1e-12)))
