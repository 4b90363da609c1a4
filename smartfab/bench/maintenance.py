"""Predictive-maintenance benchmark on public data, by the protocols of
../shared/data/README.md:

- C-MAPSS, per subset: train the RUL model on `train_<subset>` (targets capped at 125 cycles),
  predict the RUL at the last cycle of each unit of `test_<subset>`, compare with
  `RUL_<subset>`: RMSE and NASA score.
- AI4I 2020: `Machine failure` without the failure-mode columns or identifiers; F1 and PR-AUC
  of the failure class by stratified 5-fold cross-validation.
- Virtual factory: the demo plant simulated for 90 days; RUL models trained on the first 60 days
  of hourly sensor means, cut at the recorded failures; warnings when the predicted RUL is at
  most 24 hours, judged against the failures of the last 30 days.

Models go through the versioned registry (in a temporary folder unless one is given), so the
benchmark measures what `smartfab maintenance evaluate` reports. `train_seconds` adds up the
wall-clock training time of the stored models (one per subset, and the AI4I classifier).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.datasets import concat
from smartfab.apps.maintenance.history import Outage, Units, run_to_failure
from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.apps.maintenance.rul import RulModel, RulParams
from smartfab.apps.maintenance.training import (
    evaluate_failure,
    evaluate_rul,
    timed,
    train_failure,
    train_rul,
)
from smartfab.apps.maintenance.warnings import HOUR_US, score_warnings

if TYPE_CHECKING:
    from smartfab.virtual.factory import Failure

Progress = Callable[[str], None]
# A fixed start (Monday 2026-01-05 00:00 UTC), so that a seed gives the same history every run.
FACTORY_START_US = 1_767_571_200_000_000


def bench_maintenance(
    cmapss_dir: Path | None,
    subsets: Sequence[str],
    ai4i: Path | None,
    models_dir: Path | None = None,
    rul_params: RulParams | None = None,
    folds: int = 5,
    progress: Progress | None = None,
    factory_days: float = 0,
) -> dict[str, Any]:
    """Figures keyed as `cmapss.<subset>.rmse` etc. would be written in JSON: nested objects
    `cmapss` (per subset: rmse, score, interval coverage, ...) and `ai4i` (f1, pr_auc, ...),
    `virtual_factory` (precision, recall, lead_time_h of 24-hour failure warnings, with
    `factory_days` > 0), plus `train_seconds` and `train_cpu_seconds`."""
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="smartfab-models-") as tmp:
        registry = ModelRegistry(models_dir or Path(tmp))
        figures: dict[str, Any] = {}
        wall = cpu = 0.0
        if cmapss_dir is not None:
            figures["cmapss"] = {}
            for subset in subsets:
                say(f"C-MAPSS {subset}: training")

                def step(what: str, subset: str = subset) -> None:
                    say(f"C-MAPSS {subset}: {what}")

                info = train_rul(cmapss_dir, subset, registry, rul_params or RulParams(), step)
                wall += info.meta["figures"]["train_seconds"]
                cpu += info.meta["figures"]["train_cpu_seconds"]
                say(f"C-MAPSS {subset}: evaluating")
                model, _ = registry.load(info.name, info.version)
                figures["cmapss"][subset] = {
                    **evaluate_rul(model, cmapss_dir, subset),
                    "train_seconds": info.meta["figures"]["train_seconds"],
                    "regimes": info.meta["figures"]["regimes"],
                }
        if ai4i is not None:
            say("AI4I: training the classifier")
            info = train_failure(ai4i, registry)
            wall += info.meta["figures"]["train_seconds"]
            cpu += info.meta["figures"]["train_cpu_seconds"]
            model, _ = registry.load(info.name, info.version)
            say(f"AI4I: {folds}-fold cross-validation")
            figures["ai4i"] = {**evaluate_failure(ai4i, model.candidates, folds),
                               "threshold": info.meta["figures"]["threshold"]}  # fmt: skip
        if factory_days > 0:
            figures["virtual_factory"] = bench_virtual_factory(factory_days, progress=say)
            wall += figures["virtual_factory"]["train_seconds"]
            cpu += figures["virtual_factory"]["train_cpu_seconds"]
        figures["train_seconds"] = round(wall, 2)
        figures["train_cpu_seconds"] = round(cpu, 2)
    return figures


def _hourly_history(
    days: float, seed: int, say: Progress
) -> tuple[dict[str, tuple[str, list[str], np.ndarray, np.ndarray]], list[Failure], int]:
    """Simulate the demo plant's virtual factory for `days` and keep the hourly mean of every
    float measurement of each equipment. Returns per equipment path (model, quantities,
    hour start times, hours x signals) and the recorded failures."""
    from smartfab.config import DEMO_PLANT
    from smartfab.model.loader import load_plant
    from smartfab.virtual.factory import VirtualFactory

    plant = load_plant(DEMO_PLANT)
    refs = list(plant.iter_signals())
    ids = {ref.path: i for i, ref in enumerate(refs)}
    # Measurements only: counters, states and fault codes tell of a failure once it happened.
    used = [r for r in refs if r.signal.sim and r.signal.type == "float"
            and r.signal.role == "measurement"]  # fmt: skip
    start = FACTORY_START_US
    factory = VirtualFactory(plant, ids, seed=seed, start_us=start)
    hours = round(days * 24)
    sums = np.zeros((hours, len(refs)))
    counts = np.zeros((hours, len(refs)))
    for h in range(hours):
        points, _ = factory.advance(start + (h + 1) * HOUR_US)
        sums[h] = np.bincount(points.signal_id, weights=points.value, minlength=len(refs))
        counts[h] = np.bincount(points.signal_id, minlength=len(refs))
        if h % 24 == 23:
            say(f"virtual factory: day {(h + 1) // 24} of {hours // 24}")
    means = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    times = start + np.arange(hours, dtype=np.int64) * HOUR_US
    out: dict[str, tuple[str, list[str], np.ndarray, np.ndarray]] = {}
    for eq in plant.iter_equipment():
        cols = [r for r in used if r.owner.path == eq.path]
        if cols:
            values = means[:, [ids[r.path] for r in cols]]
            out[eq.path] = (eq.equipment.model or "", [str(r.signal.sim) for r in cols], times,
                            np.nan_to_num(values))  # fmt: skip
    return out, factory.ground_truth, start


def bench_virtual_factory(
    days: float = 90, train_share: float = 2 / 3, horizon_h: float = 24, cap_h: float = 96,
    seed: int = 42, progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Failure warnings on the virtual factory's recorded ground truth: simulate `days` of the
    demo plant, train one RUL model per kind of machine (its equipment pooled, each from its own
    hourly history cut at its failures) on the first `train_share` of the time, warn when the
    predicted RUL is at most `horizon_h` hours, and score the warnings of the rest of the time
    against the failures recorded there."""
    say = progress or (lambda _: None)
    history, failures, start = _hourly_history(days, seed, say)
    split = start + round(days * 24 * train_share) * HOUR_US
    # Machines of one kind with the same simulated quantities share a model.
    by_model: dict[str, list[str]] = {}
    for path, (model, quantities, *_rest) in history.items():
        by_model.setdefault(f"{model}({','.join(quantities)})", []).append(path)
    warnings: dict[str, np.ndarray] = {}
    judged: dict[str, list[int]] = {}
    wall = cpu = 0.0
    params = RulParams(cap=cap_h, seeds=1, trees=300, learning_rate=0.05, min_child_samples=20,
                       quantile_trees=50)  # fmt: skip
    for model_name, paths in sorted(by_model.items()):
        units = []
        for i, path in enumerate(paths):
            _, names, times, values = history[path]
            outages = [Outage(f.failure_us, f.repaired_us) for f in failures if f.equipment == path]
            units.append((path, run_to_failure(times, values, outages, HOUR_US, tuple(names),
                                               first_unit=i * 10_000)))  # fmt: skip
        train = [u for _, u in units if (u.failed & (u.time_us < split)).any()]
        rows = [u.failed & (u.time_us < split) for u in train]
        # Only segments that failed before the split: their whole life is known by then.
        fleets = [u.fleet.select(np.unique(u.fleet.unit[r & _whole_segment_before(u, split)]))
                  for u, r in zip(train, rows, strict=True)]  # fmt: skip
        fleets = [f for f in fleets if len(f.unit)]
        if not fleets:
            continue
        say(f"virtual factory: training the {model_name} model")
        with timed() as watch:
            rul = RulModel.fit(concat(fleets), params)
        wall += watch.wall
        cpu += watch.cpu
        for path, u in units:
            predicted, _, _ = rul.predict_rows(u.fleet)
            after = u.time_us >= split
            warnings[path] = u.time_us[after & (predicted <= horizon_h)]
        for f in failures:
            if f.equipment in paths and f.failure_us >= split:
                judged.setdefault(f.equipment, []).append(f.failure_us)
    score = score_warnings(warnings, judged, horizon_h)
    return {
        **score.as_dict(),
        "days": days,
        "judged_days": round(days * (1 - train_share), 1),
        "horizon_h": horizon_h,
        "train_seconds": round(wall, 2),
        "train_cpu_seconds": round(cpu, 2),
        "equipment": len(history),
        "failures_total": len(failures),
    }


def _whole_segment_before(units: Units, split: int) -> NDArray[np.bool_]:
    """Rows of segments that ended (in a failure) before `split`."""
    last = {}
    for unit, t in zip(units.fleet.unit.tolist(), units.time_us.tolist(), strict=True):
        last[unit] = t
    return np.array([last[u] < split for u in units.fleet.unit.tolist()], dtype=bool)
