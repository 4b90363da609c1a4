"""The plant's equipment as the maintenance models see it: per equipment, from its stored
history, a health trend, the remaining useful life with its interval, anomalies, and a risk to
rank the fleet by.

Rows are time buckets of the means of an equipment's float measurements (counters, states and
fault codes tell of a failure only once it happened). The bucket is an hour over long periods,
as in the virtual-factory benchmark, and finer over short ones, so that a few hours still give
a trend; models are kept per bucket width.

Only rows in which the equipment was running count (when it reports its state): off, idle or
stopped time is not wear, and sensors of a machine at rest are no sign of its condition. So a
machine that starts after a weekend off has the health it had when it stopped.

RUL models learn from run-to-failure histories: equipment with the same measured quantities
share one, trained on the store's recorded failures (events of kind ``failure``) and stored in
the model registry. An assessment never trains (a page must not wait for it): it uses the
models registered and, when a kind has enough failures but no model yet, starts the training in
a background thread and says so. Without a RUL model, health comes from how far the sensors
left their spread in the first third of the running rows of the period
(:class:`~smartfab.apps.maintenance.health.BaselineHealth`). What cannot be known is reported
as unknown, with the reason and what is needed (:class:`Note`), never as a certain failure.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.anomaly import StreamingAnomalyDetector
from smartfab.apps.maintenance.datasets import Fleet, concat
from smartfab.apps.maintenance.health import BaselineHealth, health_from_rul
from smartfab.apps.maintenance.history import Outage, run_to_failure
from smartfab.apps.maintenance.registry import ModelInfo, ModelRegistry, RegistryError
from smartfab.apps.maintenance.rul import RulModel, RulParams
from smartfab.apps.maintenance.warnings import HOUR_US
from smartfab.apps.monitoring.states import StateSeries, state_in_force
from smartfab.platform.points import EventKind
from smartfab.platform.queries import PlantData

log = logging.getLogger(__name__)

MINUTE_US = 60_000_000
# Rows a period is cut into at most: enough for a trend, few enough for the features.
ROWS = 240
# Life beyond this cannot be read from the sensors (the benchmark's cap).
CAP_H = 96.0
# Failed histories needed to learn a RUL model, and rows the first one needs.
MIN_FAILURES = 2
MIN_ROWS = 12
# A row counts when the equipment ran for at least this share of it: rows mostly at rest would
# blur the running values with those of a machine at rest, while a minor stop of a few minutes
# (a jam, a trip) is part of running.
RUNNING_SHARE = 0.9
# Running rows the baseline health needs: its reference is the first third of them.
MIN_RUNNING_ROWS = 24
# History the background training reads, and rows per equipment at most (fine rows over a
# month would cost minutes).
TRAIN_PERIOD_US = 30 * 24 * HOUR_US
TRAIN_ROWS = 5000
TRAIN_COMMAND = "smartfab maintenance train-fleet"
# The benchmark's parameters: one seed and fewer trees train a kind in seconds on two cores.
PARAMS = dict(seeds=1, trees=300, learning_rate=0.05, min_child_samples=20, quantile_trees=50)


@dataclass(frozen=True)
class Note:
    """Why a figure is unknown or missing, and what it needs: ``code`` for a translated text
    with ``params``, ``text`` in English."""

    code: str  # running_data, failures, history, training, untrained, model_refused
    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Anomaly:
    ts: int  # start of the first anomalous row of an episode
    sensor: str
    score: float  # in chart standard deviations


@dataclass(frozen=True)
class Assessment:
    equipment: str
    ts: int | None  # start of the last running row assessed (None: none)
    step_us: int
    signals: tuple[str, ...]
    times: NDArray[np.int64]  # the running rows
    health: NDArray[np.float64]  # per row, 0-100; empty when unknown
    rul_h: float | None  # at the last row; None without a RUL model
    rul_low_h: float | None
    rul_high_h: float | None
    anomalies: tuple[Anomaly, ...]
    model: str  # "<registry name>@v<version>", "baseline", or "" when health is unknown
    mode: str  # the failure mode recorded most often for this kind of equipment
    risk: float | None  # 0-1, see `risk`; None when unknown
    health_note: Note | None = None  # why health is unknown
    rul_note: Note | None = None  # why there is no RUL

    @property
    def current_health(self) -> float:
        return float(self.health[-1]) if len(self.health) else math.nan

    def failure_predicted(self, horizon_h: float) -> bool:
        return self.rul_h is not None and self.rul_h <= horizon_h


def risk(
    rul_h: float | None, low: float | None, high: float | None, horizon_h: float
) -> float | None:
    """How likely a failure within the horizon is, to rank equipment by: the share of the RUL
    interval that falls within the horizon (the interval read as uniform). None without a RUL:
    a health index from the equipment's own baseline says how far its sensors left their normal
    spread, which no recorded failure has tied to a chance of failing (it ranks those instead)."""
    if rul_h is None or low is None or high is None:
        return None
    if high <= low:
        return 1.0 if rul_h <= horizon_h else 0.0
    return float(np.clip((horizon_h - low) / (high - low), 0.0, 1.0))


def step_for(span_us: int) -> int:
    """The row width for a period: whole minutes, at most an hour."""
    return int(min(HOUR_US, max(MINUTE_US, -(-span_us // (ROWS * MINUTE_US)) * MINUTE_US)))


def running_share(data: PlantData, equipment: str, first: int, rows: int,
                  step_us: int) -> NDArray[np.float64] | None:  # fmt: skip
    """Share of each row's time the equipment was running, from its state events; None when it
    never reported a state (then nothing tells rest from work)."""
    end = first + rows * step_us
    store = data.store
    events = store.events(first, end, equipment, [EventKind.STATE], None)
    initial = state_in_force(store, equipment, first)
    if initial is None and events.num_rows == 0:
        return None
    line = StateSeries.from_events(events, initial).timeline(first, max(end, first + 1))
    run = line.state == "running"
    starts, ends = line.start[run], line.end[run]
    if not len(starts):
        return np.zeros(rows)
    before = np.concatenate([[0], np.cumsum(ends - starts)])
    edges = first + np.arange(rows + 1, dtype=np.int64) * step_us
    # Running time before each edge: whole segments that began earlier, the last one in part.
    k = np.searchsorted(starts, edges, side="right")
    last = np.maximum(k - 1, 0)
    part = np.clip(np.minimum(ends[last], edges) - starts[last], 0, None)
    upto = np.where(k > 0, before[last] + part, 0)
    return np.asarray(np.diff(upto) / step_us, dtype=np.float64)


@dataclass
class _History:
    equipment: str
    signals: tuple[str, ...]
    times: NDArray[np.int64]  # running rows only
    values: NDArray[np.float64]  # rows x signals


def equipment_history(data: PlantData, equipment: str, start_us: int, end_us: int,
                      step_us: int) -> _History:  # fmt: skip
    """Bucket means of the equipment's own float measurements; a bucket is kept when every
    signal has a value in it and the equipment was running (see `RUNNING_SHARE`)."""
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
    if len(signals) and n:
        share = running_share(data, equipment, first, n, step_us)
        if share is not None:
            keep &= share >= RUNNING_SHARE
    times = first + np.arange(n, dtype=np.int64) * step_us
    return _History(equipment, tuple(s.name for s in signals), times[keep], values[keep])


def _hours(rows: int, step_us: int) -> float:
    return round(rows * step_us / HOUR_US, 1)


@dataclass
class FleetAssessor:
    """Assesses a plant's equipment with the maintenance models of ``registry``. With
    ``background`` (the default), an assessment that finds a kind of equipment with enough
    recorded failures but no RUL model starts :meth:`train` in a background thread."""

    data: PlantData
    registry: ModelRegistry
    background: bool = True
    _cache: dict[str, tuple[int, RulModel]] = field(default_factory=dict)
    _refused: dict[str, str] = field(default_factory=dict)  # model name -> why not loaded
    # Model name -> failures recorded when a training found too little history to learn from:
    # not tried again until more are recorded.
    _tried: dict[str, int] = field(default_factory=dict)
    _steps: set[int] = field(default_factory=lambda: {HOUR_US})  # row widths asked for
    _lock: threading.Lock = field(default_factory=threading.Lock)  # one training at a time
    _thread: threading.Thread | None = None

    @property
    def training(self) -> bool:
        """Whether a training is under way (or its thread about to start it)."""
        return self._lock.locked() or (self._thread is not None and self._thread.is_alive())

    def equipment(self) -> list[str]:
        """Equipment with float measurements, by path."""
        return sorted({s.equipment for s in self.data.signals() if s.role == "measurement"
                       and s.data_type in ("float", "double")})  # fmt: skip

    def _failures(self, end_us: int) -> tuple[dict[str, list[Outage]], dict[str, Counter[str]]]:
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
        return outages, modes

    def assess(self, start_us: int, end_us: int, horizon_h: float,
               only: str | None = None) -> list[Assessment]:  # fmt: skip
        """Every equipment (or ``only`` that one), riskiest first; unknown risks last."""
        step = step_for(end_us - start_us)
        self._steps.add(step)
        paths = [p for p in self.equipment() if only is None or p == only]
        histories = [equipment_history(self.data, p, start_us, end_us, step) for p in paths]
        outages, modes = self._failures(end_us)
        out = []
        untrained = False
        for signals, group in _kinds(histories).items():
            found, note = self._registered(signals, step)
            if found is None and note is None:
                have = sum(len(outages.get(h.equipment, [])) for h in group)
                note = self._missing(have, self._tried.get(self._name(signals, step)[0]) == have)
                untrained |= note.code == "training"
            mode = sum((modes.get(h.equipment, Counter()) for h in group), Counter[str]())
            likely = mode.most_common(1)[0][0] if mode else ""
            out += [self._assess(h, step, horizon_h, found, likely, note) for h in group]
        if untrained:
            self.start_training(end_us)
        # Known risks first, highest first; then the least healthy; unknown health last.
        return sorted(out, key=lambda a: (a.risk is None, -(a.risk or 0.0),
                                          math.isnan(a.current_health),
                                          a.current_health, a.equipment))  # fmt: skip

    def _missing(self, have: int, tried: bool) -> Note:
        """Why a kind with ``have`` recorded failures has no RUL model; ``tried``: a training
        with as many found too little to learn from."""
        params: dict[str, Any] = {"need": MIN_FAILURES, "have": have, "command": TRAIN_COMMAND}
        if tried:
            return Note("history", f"no RUL model for this kind of equipment: {have} recorded "
                        "failures, but too little running history before them in the last 30 "
                        "days to learn from; more failures are needed", params)  # fmt: skip
        if have < MIN_FAILURES:
            return Note("failures", f"no RUL model for this kind of equipment: it needs "
                        f"{MIN_FAILURES} recorded failures (has {have}); models then train in "
                        f"the background, or run `{TRAIN_COMMAND}`", params)  # fmt: skip
        if self.background:
            return Note("training", "the RUL model of this kind of equipment is being trained "
                        "in the background", params)  # fmt: skip
        return Note("untrained", f"no RUL model for this kind of equipment yet ({have} "
                    f"recorded failures): run `{TRAIN_COMMAND}`", params)  # fmt: skip

    def _name(self, signals: tuple[str, ...], step: int) -> tuple[str, str]:
        digest = hashlib.sha256("\x1f".join(signals).encode()).hexdigest()[:12]
        return f"rul-plant-{digest}-{step // MINUTE_US}m", digest

    def _registered(
        self, signals: tuple[str, ...], step: int
    ) -> tuple[tuple[str, RulModel] | None, Note | None]:
        """The newest registered RUL model of this kind and row width, or why one in the
        registry is not used."""
        name, _ = self._name(signals, step)
        try:
            info = self.registry.info(name)
        except RegistryError:
            return None, None
        cached = self._cache.get(name)
        if cached is None or cached[0] != info.version:
            try:
                model, _ = self.registry.load(name, info.version)
            except RegistryError as exc:
                self._refused[name] = str(exc)
                return None, Note("model_refused", f"the stored RUL model is refused: {exc}; "
                                  f"run `{TRAIN_COMMAND}`", {"command": TRAIN_COMMAND})  # fmt: skip
            self._cache[name] = cached = (info.version, model)
        return (f"{name}@v{info.version}", cached[1]), None

    def start_training(self, end_us: int) -> bool:
        """Start :meth:`train` in a background thread unless one runs; whether it started."""
        if self.training:
            return False

        def run() -> None:
            try:
                for info in self.train(end_us):
                    log.info("maintenance model %s v%d trained", info.name, info.version)
            except Exception:  # a failed training must not take the server with it
                log.exception("background training of the maintenance models failed")

        self._thread = threading.Thread(target=run, name="maintenance-training", daemon=True)
        self._thread.start()
        return True

    def train(self, end_us: int, steps: set[int] | None = None,
              budget_s: float | None = None) -> list[ModelInfo]:  # fmt: skip
        """Train and register a RUL model for every kind of equipment and row width (hourly,
        and those assessments asked for) that has none and enough recorded failures, on the
        history up to ``end_us``; with ``budget_s``, start no training after that many
        seconds. The models registered."""
        deadline = math.inf if budget_s is None else time.monotonic() + budget_s
        trained: list[ModelInfo] = []
        with self._lock:  # two trainings must not register one model twice
            outages, _ = self._failures(end_us)
            for step in sorted(steps or set(self._steps), reverse=True):
                start = end_us - min(TRAIN_PERIOD_US, TRAIN_ROWS * step)
                paths = self.equipment()
                histories = [equipment_history(self.data, p, start, end_us, step) for p in paths]
                for signals, group in _kinds(histories).items():
                    if time.monotonic() >= deadline:
                        return trained
                    name, digest = self._name(signals, step)
                    have = sum(len(outages.get(h.equipment, [])) for h in group)
                    if have < MIN_FAILURES or self._tried.get(name) == have:
                        continue
                    if self.registry.versions(name) and name not in self._refused:
                        continue
                    info = self._fit(name, digest, signals, group, outages, step)
                    if info is None:
                        self._tried[name] = have
                    else:
                        self._refused.pop(name, None)
                        trained.append(info)
        return trained

    def _fit(self, name: str, digest: str, signals: tuple[str, ...], group: list[_History],
             outages: dict[str, list[Outage]], step: int) -> ModelInfo | None:  # fmt: skip
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
        return info

    def _assess(self, h: _History, step: int, horizon_h: float,
                found: tuple[str, RulModel] | None, mode: str,
                rul_note: Note | None) -> Assessment:  # fmt: skip
        rows = len(h.times)
        none = np.zeros((rows, 0))
        rul = low = high = None
        anomalies: tuple[Anomaly, ...] = ()
        health_note = None
        if rows >= MIN_RUNNING_ROWS:
            reference = slice(0, rows // 3)
            detector = StreamingAnomalyDetector.fit(none[reference], h.values[reference],
                                                    h.signals)  # fmt: skip
            scores = detector.update(none, h.values)
            # An episode is reported once, at its first row.
            starts = scores.anomalous & ~np.concatenate([[False], scores.anomalous[:-1]])
            anomalies = tuple(
                Anomaly(int(h.times[i]), detector.names[scores.sensor[i]], float(scores.score[i]))
                for i in np.flatnonzero(starts)
            )
        if found is not None and rows:
            label, model = found
            fleet = Fleet(np.zeros(rows, np.int64), np.arange(1, rows + 1, dtype=np.float64),
                          none, h.values, h.signals, "", False)  # fmt: skip
            r, lo, hi = (x * step / HOUR_US for x in model.predict_rows(fleet))
            health = health_from_rul(r, CAP_H)
            rul, low, high = float(r[-1]), float(lo[-1]), float(hi[-1])
        elif rows >= MIN_RUNNING_ROWS:
            label = "baseline"
            reference = slice(0, rows // 3)
            baseline = BaselineHealth.fit(none[reference], h.values[reference], h.signals)
            health = baseline.index(none, h.values)
        else:
            label, health = "", np.zeros(0)
            need, have = _hours(MIN_RUNNING_ROWS, step), _hours(rows, step)
            health_note = Note(
                "running_data",
                f"health unknown: needs {need:g} h of running data in the period (has {have:g}"
                f" h); off, idle and stopped time does not count",
                {"need_h": need, "have_h": have},
            )
        return Assessment(
            h.equipment, int(h.times[-1]) if rows else None, step, h.signals, h.times, health,
            rul, low, high, anomalies, label, mode,
            risk(rul, low, high, horizon_h),
            health_note, rul_note,
        )  # fmt: skip


def _kinds(histories: list[_History]) -> dict[tuple[str, ...], list[_History]]:
    """Equipment measuring the same quantities share a model (one kind of machine)."""
    out: dict[tuple[str, ...], list[_History]] = {}
    for h in histories:
        out.setdefault(h.signals, []).append(h)
    return out
