"""The plant's equipment as the maintenance models see it: per equipment, from its stored
history, a health trend, the remaining useful life with its interval, anomalies, and a risk to
rank the fleet by.

Rows are time buckets of the means of an equipment's float measurements (counters, states and
fault codes tell of a failure only once it happened). The bucket is an hour over long periods,
as in the virtual-factory benchmark, and finer over short ones, so that a few hours still give
a trend; models are kept per bucket width.

RUL models learn from run-to-failure histories: equipment with the same measured quantities
share one, trained on the store's recorded failures (events of kind ``failure``) the first time
it is asked for and stored in the model registry; later assessments load it. Training is
bounded by a time budget: kinds left over are assessed without RUL until the next call. Without
a RUL model (no failures recorded yet), health comes from how far the sensors left their spread
in the first third of the period (:class:`~smartfab.apps.maintenance.health.BaselineHealth`).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.anomaly import StreamingAnomalyDetector
from smartfab.apps.maintenance.datasets import Fleet, concat
from smartfab.apps.maintenance.health import BaselineHealth, health_from_rul
from smartfab.apps.maintenance.history import Outage, run_to_failure
from smartfab.apps.maintenance.registry import ModelRegistry, RegistryError
from smartfab.apps.maintenance.rul import RulModel, RulParams
from smartfab.apps.maintenance.warnings import HOUR_US
from smartfab.platform.points import EventKind
from smartfab.platform.queries import PlantData

MINUTE_US = 60_000_000
# Rows a period is cut into at most: enough for a trend, few enough for the features.
ROWS = 240
# Life beyond this cannot be read from the sensors (the benchmark's cap).
CAP_H = 96.0
# Failed histories needed to learn a RUL model, and rows the first one needs.
MIN_FAILURES = 2
MIN_ROWS = 12
# The benchmark's parameters: one seed and fewer trees train a kind in seconds on two cores.
PARAMS = dict(seeds=1, trees=300, learning_rate=0.05, min_child_samples=20, quantile_trees=50)


@dataclass(frozen=True)
class Anomaly:
    ts: int  # start of the first anomalous row of an episode
    sensor: str
    score: float  # in chart standard deviations


@dataclass(frozen=True)
class Assessment:
    equipment: str
    ts: int  # start of the last row assessed
    step_us: int
    signals: tuple[str, ...]
    times: NDArray[np.int64]
    health: NDArray[np.float64]  # per row, 0-100
    rul_h: float | None  # at the last row; None without a RUL model
    rul_low_h: float | None
    rul_high_h: float | None
    anomalies: tuple[Anomaly, ...]
    model: str  # "<registry name>@v<version>", or "baseline"
    mode: str  # the failure mode recorded most often for this kind of equipment
    risk: float  # 0-1, see `risk`

    @property
    def current_health(self) -> float:
        return float(self.health[-1]) if len(self.health) else math.nan

    def failure_predicted(self, horizon_h: float) -> bool:
        return self.rul_h is not None and self.rul_h <= horizon_h


def risk(health: float, rul_h: float | None, low: float | None, high: float | None,
         horizon_h: float) -> float:  # fmt: skip
    """How likely a failure within the horizon is, to rank equipment by: with a RUL, the share of
    its interval that falls within the horizon (the interval read as uniform); without, the
    health lost."""
    if rul_h is None or low is None or high is None:
        return float(np.clip(1.0 - health / 100.0, 0.0, 1.0)) if math.isfinite(health) else 0.0
    if high <= low:
        return 1.0 if rul_h <= horizon_h else 0.0
    return float(np.clip((horizon_h - low) / (high - low), 0.0, 1.0))


def step_for(span_us: int) -> int:
    """The row width for a period: whole minutes, at most an hour."""
    return int(min(HOUR_US, max(MINUTE_US, -(-span_us // (ROWS * MINUTE_US)) * MINUTE_US)))


@dataclass
class _History:
    equipment: str
    signals: tuple[str, ...]
    times: NDArray[np.int64]
    values: NDArray[np.float64]  # rows x signals


def equipment_history(data: PlantData, equipment: str, start_us: int, end_us: int,
                      step_us: int) -> _History:  # fmt: skip
    """Bucket means of the equipment's own float measurements; a bucket is kept when every
    signal has a value in it."""
    signals = [s for s in data.signals(equipment) if s.equipment == equipment
               and s.role == "measurement" and s.data_type in ("float", "double")]  # fmt: skip
    first = start_us // step_us * step_us
    n = max(0, -(-(end_us - first) // step_us))
    values = np.full((n, len(signals)), np.nan)
    for j, s in enumerate(signals):
        table = data.store.downsample(s.id, first, end_us, step_us)
        t = table.column("bucket").cast("int64").to_numpy()
        avg = table.column("avg").to_numpy(zero_copy_only=False).astype(np.float64)
        rows = (t - first) // step_us
        ok = (rows >= 0) & (rows < n)
        values[rows[ok], j] = avg[ok]
    keep = ~np.isnan(values).any(axis=1) if len(signals) else np.zeros(n, bool)
    times = first + np.arange(n, dtype=np.int64) * step_us
    return _History(equipment, tuple(s.name for s in signals), times[keep], values[keep])


@dataclass
class FleetAssessor:
    """Assesses a plant's equipment with the maintenance models; RUL models come from
    ``registry`` or are trained on the store's failures (at most ``train_budget_s`` seconds of
    training per call)."""

    data: PlantData
    registry: ModelRegistry
    train_budget_s: float = 60.0
    _cache: dict[str, tuple[int, RulModel]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def equipment(self) -> list[str]:
        """Equipment with float measurements, by path."""
        return sorted({s.equipment for s in self.data.signals() if s.role == "measurement"
                       and s.data_type in ("float", "double")})  # fmt: skip

    def assess(self, start_us: int, end_us: int, horizon_h: float,
               only: str | None = None) -> list[Assessment]:  # fmt: skip
        """Every equipment (or ``only`` that one), riskiest first."""
        step = step_for(end_us - start_us)
        paths = [p for p in self.equipment() if only is None or p == only]
        every = [equipment_history(self.data, p, start_us, end_us, step) for p in paths]
        histories = [h for h in every if len(h.times) >= 2]
        failures = self.data.store.events(0, end_us, None, [EventKind.FAILURE], None)
        outages: dict[str, list[Outage]] = {}
        modes: dict[str, Counter[str]] = {}
        for eq, ts, code in zip(failures.column("equipment").to_pylist(),
                                failures.column("ts").cast("int64").to_pylist(),
                                failures.column("code").to_pylist(), strict=True):  # fmt: skip
            # The repair time is not in the store's columns: rows while the equipment was down
            # fall into the next history, whose early rows the model then reads as fresh.
            outages.setdefault(eq, []).append(Outage(ts, ts))
            modes.setdefault(eq, Counter())[code] += 1
        deadline = time.monotonic() + self.train_budget_s
        out = []
        for signals, group in _kinds(histories).items():
            with self._lock:  # two requests must not train (and register) one model twice
                found = self._model(signals, group, outages, step, deadline)
            mode = sum((modes.get(h.equipment, Counter()) for h in group), Counter[str]())
            likely = mode.most_common(1)[0][0] if mode else ""
            out += [self._assess(h, step, horizon_h, found, likely) for h in group]
        return sorted(out, key=lambda a: (-a.risk, a.current_health, a.equipment))

    def _model(
        self, signals: tuple[str, ...], group: list[_History], outages: dict[str, list[Outage]],
        step: int, deadline: float,
    ) -> tuple[str, RulModel] | None:  # fmt: skip
        """The newest registered RUL model of this kind and row width, or one trained now if
        the budget allows and enough failed histories were recorded."""
        digest = hashlib.sha256("\x1f".join(signals).encode()).hexdigest()[:12]
        name = f"rul-plant-{digest}-{step // MINUTE_US}m"
        try:
            info = self.registry.info(name)
        except RegistryError:
            info = None
        if info is not None:
            cached = self._cache.get(name)
            if cached is None or cached[0] != info.version:
                model, _ = self.registry.load(name, info.version)
                self._cache[name] = cached = (info.version, model)
            return f"{name}@v{info.version}", cached[1]
        if time.monotonic() >= deadline:
            return None
        fleets = []
        for i, h in enumerate(group):
            units = run_to_failure(h.times, h.values, outages.get(h.equipment, []), step,
                                   signals, first_unit=i * 100_000)  # fmt: skip
            fleets.append(units.fleet.select(np.unique(units.fleet.unit[units.failed])))
        fleets = [f for f in fleets if len(f.unit)]
        failed = sum(len(f.units) for f in fleets)
        if failed < MIN_FAILURES or sum(len(f.unit) for f in fleets) < MIN_ROWS * failed:
            return None
        params = RulParams(cap=CAP_H * HOUR_US / step, **PARAMS)  # type: ignore[arg-type]
        started = time.perf_counter()
        model = RulModel.fit(concat(fleets), params)
        figures = {"train_seconds": round(time.perf_counter() - started, 2), "step_us": step,
                   "failures": failed, "equipment": [h.equipment for h in group]}  # fmt: skip
        info = self.registry.save(name, model, "rul", digest, figures)
        self._cache[name] = (info.version, model)
        return f"{name}@v{info.version}", model

    def _assess(self, h: _History, step: int, horizon_h: float,
                found: tuple[str, RulModel] | None, mode: str) -> Assessment:  # fmt: skip
        rows = len(h.times)
        none = np.zeros((rows, 0))
        reference = slice(0, max(2, rows // 3))
        detector = StreamingAnomalyDetector.fit(none[reference], h.values[reference], h.signals)
        scores = detector.update(none, h.values)
        # An episode is reported once, at its first row.
        starts = scores.anomalous & ~np.concatenate([[False], scores.anomalous[:-1]])
        anomalies = tuple(
            Anomaly(int(h.times[i]), detector.names[scores.sensor[i]], float(scores.score[i]))
            for i in np.flatnonzero(starts)
        )
        rul = low = high = None
        if found is not None:
            label, model = found
            fleet = Fleet(np.zeros(rows, np.int64), np.arange(1, rows + 1, dtype=np.float64),
                          none, h.values, h.signals, "", False)  # fmt: skip
            r, lo, hi = (x * step / HOUR_US for x in model.predict_rows(fleet))
            health = health_from_rul(r, CAP_H)
            rul, low, high = float(r[-1]), float(lo[-1]), float(hi[-1])
        else:
            label = "baseline"
            baseline = BaselineHealth.fit(none[reference], h.values[reference], h.signals)
            health = baseline.index(none, h.values)
        return Assessment(
            h.equipment, int(h.times[-1]), step, h.signals, h.times, health, rul, low, high,
            anomalies, label, mode, risk(float(health[-1]), rul, low, high, horizon_h),
        )  # fmt: skip


def _kinds(histories: list[_History]) -> dict[tuple[str, ...], list[_History]]:
    """Equipment measuring the same quantities share a model (one kind of machine)."""
    out: dict[tuple[str, ...], list[_History]] = {}
    for h in histories:
        out.setdefault(h.signals, []).append(h)
    return out
