"""Train, store and evaluate the maintenance models on the public data sets, following the
benchmark protocols of ../shared/data/README.md. Shared by `smartfab maintenance` and
`smartfab bench maintenance`, so that both report the same figures the same way."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smartfab.apps.maintenance.classify import (
    CANDIDATES,
    FailureClassifier,
    FailureParams,
    cross_validate,
)
from smartfab.apps.maintenance.datasets import DatasetError, load_ai4i, load_cmapss
from smartfab.apps.maintenance.evaluate import nasa_score, rmse
from smartfab.apps.maintenance.registry import ModelInfo, ModelRegistry
from smartfab.apps.maintenance.rul import RulModel, RulParams

# The project's convention: public data lives beside the project root, never inside it.
DEFAULT_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
DEFAULT_CMAPSS = DEFAULT_DATA / "cmapss"
DEFAULT_AI4I = DEFAULT_DATA / "ai4i2020" / "ai4i2020.csv"
AI4I_MODEL = "failure-ai4i"

Progress = Callable[[str], None]


def rul_model_name(subset: str) -> str:
    return f"rul-{subset}"


@dataclass
class Stopwatch:
    wall: float = 0.0
    cpu: float = 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """Wall-clock and CPU seconds of the block: on a shared machine the wall clock also counts
    other people's work, CPU time counts only ours."""
    watch = Stopwatch()
    wall, cpu = time.perf_counter(), _cpu()
    try:
        yield watch
    finally:
        watch.wall, watch.cpu = time.perf_counter() - wall, _cpu() - cpu


def parse_subsets(text: str) -> list[str]:
    subsets = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not subsets:
        raise DatasetError("no C-MAPSS subset named (e.g. FD001,FD003)")
    return subsets


def train_rul(
    cmapss_dir: Path, subset: str, registry: ModelRegistry, params: RulParams | None = None,
    progress: Progress | None = None,
) -> ModelInfo:  # fmt: skip
    """Fit the RUL model on `train_<subset>` and store it as the next version of
    `rul-<subset>`."""
    data = load_cmapss(cmapss_dir, subset)
    with timed() as watch:
        model = RulModel.fit(data.train, params or RulParams(), progress=progress)
    figures = {
        "train_seconds": round(watch.wall, 2),
        "train_cpu_seconds": round(watch.cpu, 2),
        "train_units": len(data.train.units),
        "train_rows": len(data.train.unit),
        "regimes": model.pipeline.normaliser.regimes.count,
        "features": len(model.pipeline.names),
        "data_verified": data.train.verified,
    }
    return registry.save(rul_model_name(subset), model, "rul", data.train.sha256, figures)


def evaluate_rul(model: RulModel, cmapss_dir: Path, subset: str) -> dict[str, Any]:
    """The C-MAPSS protocol: predict the RUL at the last cycle of each test unit and compare
    with `RUL_<subset>` (the true values, uncapped)."""
    data = load_cmapss(cmapss_dir, subset)
    p = model.predict_last(data.test)
    true = data.test_rul
    covered = (p.low <= true) & (true <= p.high)
    return {
        "rmse": round(rmse(p.rul, true), 3),
        "score": round(nasa_score(p.rul, true), 1),
        # For comparison with papers that also cap the true test RUL (not our protocol).
        "rmse_capped_truth": round(rmse(p.rul, np.minimum(true, model.params.cap)), 3),
        "interval": list(model.params.quantiles),
        "interval_coverage": round(float(covered.mean()), 3),
        "interval_mean_width": round(float(np.mean(p.high - p.low)), 1),
        "test_units": len(true),
        "data_verified": data.test.verified,
    }


def train_failure(
    path: Path, registry: ModelRegistry, candidates: Sequence[FailureParams] = CANDIDATES
) -> ModelInfo:
    """Fit the failure classifier on the whole AI4I file and store it."""
    table = load_ai4i(path)
    with timed() as watch:
        model = FailureClassifier.fit(table, candidates)
    figures = {
        "train_seconds": round(watch.wall, 2),
        "train_cpu_seconds": round(watch.cpu, 2),
        "rows": len(table),
        "failures": int(table.label.sum()),
        "threshold": round(model.threshold, 4),
        "params": asdict(model.params),
        "features": model.names,
        "data_verified": table.verified,
    }
    return registry.save(AI4I_MODEL, model, "failure", table.sha256, figures)


def evaluate_failure(
    path: Path, candidates: Sequence[FailureParams] = CANDIDATES, folds: int = 5
) -> dict[str, Any]:
    """The AI4I protocol: stratified k-fold cross-validation of the classifier as configured
    (a fitted model cannot be judged on the rows it was fitted on)."""
    table = load_ai4i(path)
    with timed() as watch:
        figures = cross_validate(table, folds, candidates)
    return {
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()},
        "train_seconds": round(watch.wall, 2),
        "train_cpu_seconds": round(watch.cpu, 2),
        "data_verified": table.verified,
    }
