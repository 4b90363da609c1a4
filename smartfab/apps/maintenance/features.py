"""Generic features of equipment histories: operating regimes, per-regime sensor normalisation,
and windowed statistics of any numeric sensors.

Why regimes: under a different load or speed every sensor moves, by far more than wear moves it.
Clustering the operating settings into regimes and normalising each sensor by its mean and
spread within its regime leaves what wear changes, so that the same pipeline serves a fleet that
runs at one condition (C-MAPSS FD001/FD003) and one that switches between six (FD002/FD004).
The number of regimes is chosen from the data (silhouette of k-means clusterings); settings that
are merely noise around one operating point give one regime.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.cluster.vq import kmeans2
from scipy.signal import lfilter

from smartfab.apps.maintenance.datasets import Fleet, unit_slices

Array = NDArray[np.float64]

_EPS = 1e-9
# Clusters of operating settings count as regimes only when they are this well separated
# (silhouette in [-1, 1]): noise around one point scores ~0.35, distinct conditions ~0.99.
MIN_SILHOUETTE = 0.7
MAX_REGIMES = 8
_SAMPLE = 1000  # rows used to choose the number of regimes: enough, and fast


def silhouette(distances: Array, labels: NDArray[np.int64]) -> float:
    """Mean silhouette (Rousseeuw 1987) from a square distance matrix; empty clusters are
    ignored, a single cluster scores 0."""
    present = np.unique(labels)
    if len(present) < 2:
        return 0.0
    onehot = (labels[:, None] == present[None, :]).astype(np.float64)
    sizes = onehot.sum(axis=0)
    mean_to = distances @ onehot  # sum of distances to each cluster
    own = np.searchsorted(present, labels)
    rows = np.arange(len(labels))
    own_size = sizes[own]
    a = np.divide(mean_to[rows, own], own_size - 1, out=np.zeros(len(labels)), where=own_size > 1)
    others = mean_to / sizes
    others[rows, own] = np.inf
    b = others.min(axis=1)
    s = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), _EPS), 0.0)
    return float(s.mean())


@dataclass
class RegimeModel:
    """Operating regimes found by clustering the standardised operating settings."""

    centers: Array = field(default_factory=lambda: np.zeros((1, 0)))
    mean: Array = field(default_factory=lambda: np.zeros(0))
    scale: Array = field(default_factory=lambda: np.ones(0))
    columns: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    silhouette: float = 0.0

    @property
    def count(self) -> int:
        return int(self.centers.shape[0])

    @classmethod
    def fit(cls, settings: Array, seed: int = 0) -> RegimeModel:
        std = settings.std(axis=0) if len(settings) else np.zeros(settings.shape[1])
        columns = np.flatnonzero(std > _EPS)
        if len(columns) == 0 or len(settings) < 2 * MAX_REGIMES:
            return cls()
        mean, scale = settings[:, columns].mean(axis=0), std[columns]
        z = (settings[:, columns] - mean) / scale
        rng = np.random.default_rng(seed)
        sample = z[rng.choice(len(z), size=min(len(z), _SAMPLE), replace=False)]
        distances = np.sqrt(((sample[:, None, :] - sample[None, :, :]) ** 2).sum(axis=2))
        best: tuple[float, Array] | None = None
        for k in range(2, MAX_REGIMES + 1):
            centers, labels = kmeans2(sample, k, minit="++", seed=seed)
            s = silhouette(distances, labels)
            if best is None or s > best[0] + 1e-3:  # ties go to fewer regimes
                best = (s, centers)
        if best is None or best[0] < MIN_SILHOUETTE:
            return cls(silhouette=0.0 if best is None else best[0])
        return cls(best[1], mean, scale, columns, best[0])

    def assign(self, settings: Array) -> NDArray[np.int64]:
        if self.count <= 1:
            return np.zeros(len(settings), dtype=np.int64)
        z = (settings[:, self.columns] - self.mean) / self.scale
        d = ((z[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(np.argmin(d, axis=1), dtype=np.int64)


@dataclass
class RegimeNormaliser:
    """Per-regime z-scores of the sensors that vary; constant sensors are dropped."""

    regimes: RegimeModel
    mean: Array  # regimes x sensors
    scale: Array  # regimes x sensors, 0 where a sensor is constant within a regime
    keep: NDArray[np.int64]  # indexes of the sensors kept
    names: tuple[str, ...]

    @classmethod
    def fit(
        cls, settings: Array, sensors: Array, names: tuple[str, ...], seed: int = 0
    ) -> RegimeNormaliser:
        regimes = RegimeModel.fit(settings, seed)
        labels = regimes.assign(settings)
        k = max(regimes.count, 1)
        mean = np.zeros((k, sensors.shape[1]))
        std = np.zeros((k, sensors.shape[1]))
        for r in range(k):
            rows = sensors[labels == r]
            if len(rows):
                mean[r], std[r] = rows.mean(axis=0), rows.std(axis=0)
        # A sensor carries information if it varies within some regime; one that only moves
        # with the regime is the regime itself, already known from the settings.
        keep = np.flatnonzero((std > _EPS * np.maximum(1.0, np.abs(mean))).any(axis=0))
        return cls(regimes, mean, np.where(std > _EPS, std, 0.0), keep,
                   tuple(names[i] for i in keep))  # fmt: skip

    def transform(self, settings: Array, sensors: Array) -> tuple[Array, NDArray[np.int64]]:
        """(normalised kept sensors, regime of each row)."""
        labels = self.regimes.assign(settings)
        mean, scale = self.mean[labels][:, self.keep], self.scale[labels][:, self.keep]
        z = np.divide(sensors[:, self.keep] - mean, scale, out=np.zeros_like(mean),
                      where=scale > 0)  # fmt: skip
        return z, labels


@dataclass(frozen=True)
class WindowSpec:
    """Which statistics of each sensor's recent history become features."""

    ewm_spans: tuple[int, ...] = (5, 15, 40)
    windows: tuple[int, ...] = (10, 30, 60, 100, 150)  # rolling mean and standard deviation
    slope_windows: tuple[int, ...] = (10, 30, 60, 100, 150)  # least-squares trend
    baseline: int = 10  # cycles of a unit's own start that drift is measured from
    drift_span: int = 15


def ewm(x: Array, span: int) -> Array:
    """Exponentially weighted mean along rows, weights normalised over the rows seen so far
    (pandas' `adjust=True`), so the first rows are not biased towards zero."""
    decay = 1.0 - 2.0 / (span + 1.0)
    num = lfilter([1.0], [1.0, -decay], x, axis=0)
    den = lfilter([1.0], [1.0, -decay], np.ones(len(x)))
    return np.asarray(num / den[:, None], dtype=np.float64)


def _window_sums(x: Array, w: int) -> tuple[Array, NDArray[np.int64]]:
    """Sums over the last `w` rows (fewer at the start) and their counts."""
    c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    i = np.arange(len(x))
    lo = np.maximum(0, i - w + 1)
    return c[i + 1] - c[lo], (i - lo + 1)


def rolling_mean_std(x: Array, w: int) -> tuple[Array, Array]:
    s, n = _window_sums(x, w)
    s2, _ = _window_sums(x * x, w)
    mean = s / n[:, None]
    var = np.maximum(s2 / n[:, None] - mean * mean, 0.0)
    return mean, np.sqrt(var)


def rolling_slope(x: Array, w: int) -> Array:
    """Least-squares slope per row over the last `w` rows (0 with fewer than 3)."""
    t = np.arange(len(x), dtype=np.float64)[:, None]
    sx, n = _window_sums(x, w)
    st, _ = _window_sums(t, w)
    stt, _ = _window_sums(t * t, w)
    stx, _ = _window_sums(x * t, w)
    k = n[:, None].astype(np.float64)
    den = stt - st * st / k
    num = stx - st * sx / k
    ok = (den > _EPS) & (k >= 3)
    return np.divide(num, den, out=np.zeros_like(num), where=ok)


def window_features(
    unit: NDArray[np.int64], cycle: Array, values: Array, names: tuple[str, ...],
    spec: WindowSpec = WindowSpec(),
) -> tuple[Array, list[str]]:  # fmt: skip
    """Per row, statistics of each column's history within its unit up to and including that
    row (never later rows: a prediction at cycle t sees only cycles <= t)."""
    blocks: list[Array] = []
    for start, stop in unit_slices(unit):
        x = values[start:stop]
        cols: list[Array] = [cycle[start:stop, None]]
        cols += [ewm(x, span) for span in spec.ewm_spans]
        for w in spec.windows:
            cols += list(rolling_mean_std(x, w))
        cols += [rolling_slope(x, w) for w in spec.slope_windows]
        # The baseline is the mean of the unit's first cycles seen so far: a row must not
        # lean on cycles after it, even at the start of a unit's life.
        first = (
            np.cumsum(x[: spec.baseline], axis=0)
            / np.arange(1, min(len(x), spec.baseline) + 1)[:, None]
        )
        base = first[np.minimum(np.arange(len(x)), len(first) - 1)]
        cols.append(ewm(x, spec.drift_span) - base)
        blocks.append(np.hstack(cols))
    labels = ["cycle"]
    labels += [f"{n}.ewm{s}" for s in spec.ewm_spans for n in names]
    for w in spec.windows:
        labels += [f"{n}.mean{w}" for n in names] + [f"{n}.std{w}" for n in names]
    labels += [f"{n}.slope{w}" for w in spec.slope_windows for n in names]
    labels += [f"{n}.drift" for n in names]
    width = len(labels)
    return (np.vstack(blocks) if blocks else np.zeros((0, width))), labels


@dataclass
class FeaturePipeline:
    """Fleet -> feature matrix: regime normalisation fitted on training data, then windows."""

    normaliser: RegimeNormaliser
    spec: WindowSpec
    names: list[str]

    @classmethod
    def fit(cls, fleet: Fleet, spec: WindowSpec = WindowSpec(), seed: int = 0) -> FeaturePipeline:
        normaliser = RegimeNormaliser.fit(fleet.settings, fleet.sensors, fleet.sensor_names, seed)
        _, names = window_features(
            fleet.unit[:0], fleet.cycle[:0], np.zeros((0, len(normaliser.keep))),
            normaliser.names, spec,
        )  # fmt: skip
        return cls(normaliser, spec, names)

    def transform(self, fleet: Fleet) -> Array:
        z, _ = self.normaliser.transform(fleet.settings, fleet.sensors)
        x, _ = window_features(fleet.unit, fleet.cycle, z, self.normaliser.names, self.spec)
        return x
