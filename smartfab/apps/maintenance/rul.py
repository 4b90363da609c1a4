"""Remaining useful life (RUL) from run-to-failure histories of any numeric sensors, with an
uncertainty interval.

Point estimate: the mean of a few gradient-boosted tree ensembles (LightGBM, different seeds)
on the windowed, regime-normalised features of `features.py`. Interval: two quantile models
(10th and 90th percentile by default), widened by conformal calibration on out-of-fold
predictions of the training units against their true, uncapped remaining life.
Training targets are capped piecewise-linearly: a unit far from failure looks healthy, and
its exact remaining life cannot be read from its sensors, so every RUL above `cap` is taught
as `cap` (the standard C-MAPSS protocol uses 125 cycles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.datasets import Fleet
from smartfab.apps.maintenance.features import FeaturePipeline, WindowSpec

Array = NDArray[np.float64]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RulParams:
    cap: float = 125.0
    seeds: int = 3
    trees: int = 500
    learning_rate: float = 0.03
    leaves: int = 15
    min_child_samples: int = 50
    colsample: float = 0.3
    quantiles: tuple[float, float] = (0.1, 0.9)
    quantile_trees: int = 200
    calibration_folds: int = 5  # folds of training units that calibrate the interval
    # Rows calibrate the interval while their unit's remaining life is at most this many caps:
    # the interval is read on units approaching failure, and far beyond the cap the sensors
    # say nothing of how much life is left, so such rows would only widen it for everyone.
    calibration_within: float = 1.2
    threads: int = 2  # the machine is shared: never more than its two cores


@dataclass(frozen=True)
class RulPrediction:
    unit: NDArray[np.int64]
    rul: Array
    low: Array
    high: Array


@dataclass
class RulModel:
    pipeline: FeaturePipeline
    params: RulParams
    point: list[Any] = field(default_factory=list)  # lightgbm.Booster
    bounds: list[Any] = field(default_factory=list)
    widen: float = 0.0  # added on both sides of the quantile interval (conformal calibration)

    @classmethod
    def fit(
        cls, fleet: Fleet, params: RulParams = RulParams(), spec: WindowSpec | None = None,
        progress: Progress | None = None,
    ) -> RulModel:  # fmt: skip
        """Train on run-to-failure histories: each unit's last row is its failure."""
        import lightgbm as lgb

        pipeline = FeaturePipeline.fit(fleet, spec or WindowSpec())
        x = pipeline.transform(fleet)
        y = np.minimum(fleet.remaining(), params.cap)
        model = cls(pipeline, params)
        base: dict[str, Any] = {
            "learning_rate": params.learning_rate,
            "num_leaves": params.leaves,
            "min_child_samples": params.min_child_samples,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": params.colsample,
            "n_jobs": params.threads,
            "verbose": -1,
        }
        for seed in range(params.seeds):
            if progress:
                progress(f"point model {seed + 1}/{params.seeds}")
            reg = lgb.LGBMRegressor(n_estimators=params.trees, random_state=seed, **base)
            model.point.append(reg.fit(x, y).booster_)

        def quantile_models(rows: NDArray[np.bool_]) -> list[Any]:
            out = []
            for q in params.quantiles:
                reg = lgb.LGBMRegressor(
                    objective="quantile", alpha=q, n_estimators=params.quantile_trees,
                    random_state=0, **{**base, "learning_rate": 0.05},
                )  # fmt: skip
                out.append(reg.fit(x[rows], y[rows]).booster_)
            return out

        # Quantile trees are too sure of themselves on units they were not fitted on, and they
        # learn capped targets while the truth is not capped: the interval is widened by
        # conformalised quantile regression (Romano et al. 2019) on out-of-fold predictions,
        # each fold of units predicted by models fitted on the others, against the true
        # remaining life of rows within `calibration_within` caps of failure.
        units = fleet.units
        folds = params.calibration_folds
        # Too few units to hold some out: the interval stays as the quantile models say.
        if len(units) >= 2 * folds:
            remaining = fleet.remaining()
            conformity = []
            for k in range(folds):
                if progress:
                    progress(f"calibrating the interval {k + 1}/{folds}")
                held = np.isin(fleet.unit, units[k::folds])
                rows = held & (remaining <= params.calibration_within * params.cap)
                lo, hi = (b.predict(x[rows]) for b in quantile_models(~held))
                conformity.append(np.maximum(lo - remaining[rows], remaining[rows] - hi))
            scores = np.concatenate(conformity)
            level = params.quantiles[1] - params.quantiles[0]
            n = len(scores)
            model.widen = float(np.quantile(scores, min(1.0, level * (n + 1) / n)))
        if progress:
            progress("quantile models")
        model.bounds = quantile_models(np.ones(len(y), dtype=bool))
        return model

    def predict_rows(self, fleet: Fleet) -> tuple[Array, Array, Array]:
        """(rul, low, high) at every row, each seeing only its unit's history so far."""
        x = self.pipeline.transform(fleet)
        point = np.mean([b.predict(x) for b in self.point], axis=0)
        point = np.clip(point, 0.0, self.params.cap)
        low, high = (b.predict(x) for b in self.bounds)
        low = np.clip(low - self.widen, 0.0, self.params.cap)
        # Not capped above: near the cap the true life may be anything longer.
        high = np.maximum(high + self.widen, 0.0)
        # Separately trained quantile models can cross the mean; the interval must hold it.
        return point, np.minimum(low, point), np.maximum(high, point)

    def predict_last(self, fleet: Fleet) -> RulPrediction:
        """RUL at each unit's last observed row: what a planner asks about today."""
        rul, low, high = self.predict_rows(fleet)
        last = fleet.last_rows()
        return RulPrediction(fleet.unit[last], rul[last], low[last], high[last])
