"""Failure prediction from tabular process data (one row per observation, a binary failure
label), e.g. the AI4I 2020 milling data.

Besides the raw columns, physics-derived features are built from the units in the column names,
so that they apply to any table that carries such quantities: mechanical power from a torque
[Nm] and a rotational speed [rpm]; the difference of every two temperatures [K]; and torque
times tool wear [min], the strain a worn tool takes. Trees find thresholds on such products
that they cannot assemble from the factors. The decision threshold is chosen on out-of-fold
predictions of the training data only.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.datasets import Table
from smartfab.apps.maintenance.evaluate import best_threshold, pr_auc, precision_recall_f1

Array = NDArray[np.float64]


def _unit(name: str) -> str | None:
    match = re.search(r"\[([^\]]+)\]\s*$", name)
    return match.group(1).strip() if match else None


def physics_features(numeric: dict[str, Array]) -> dict[str, Array]:
    """Derived columns named after what they are, from columns recognised by their units."""
    by_unit: dict[str, list[str]] = {}
    for name in numeric:
        unit = _unit(name)
        if unit:
            by_unit.setdefault(unit, []).append(name)
    out: dict[str, Array] = {}
    for torque, speed in itertools.product(by_unit.get("Nm", []), by_unit.get("rpm", [])):
        out[f"power [W] = {torque} x {speed}"] = numeric[torque] * numeric[speed] * 2 * math.pi / 60
    for a, b in itertools.combinations(by_unit.get("K", []), 2):
        out[f"{b} - {a}"] = numeric[b] - numeric[a]
    for torque, wear in itertools.product(by_unit.get("Nm", []), by_unit.get("min", [])):
        out[f"strain [Nm min] = {torque} x {wear}"] = numeric[torque] * numeric[wear]
    return out


@dataclass(frozen=True)
class FailureParams:
    trees: int = 400
    learning_rate: float = 0.05
    leaves: int = 15
    min_child_samples: int = 5
    inner_folds: int = 3
    threads: int = 2


# Configurations that `fit` chooses between by cross-validation within its own training rows
# (so that an evaluation's held-out rows never take part in the choice): larger trees that
# learn fast, and small ones that learn slowly.
CANDIDATES: tuple[FailureParams, ...] = (
    FailureParams(),
    FailureParams(trees=800, learning_rate=0.02, leaves=7, min_child_samples=10),
)


@dataclass
class FailureClassifier:
    numeric: list[str]
    categories: dict[str, list[str]]
    params: FailureParams
    candidates: tuple[FailureParams, ...] = CANDIDATES
    threshold: float = 0.5
    booster: Any = None
    names: list[str] = field(default_factory=list)

    def matrix(self, table: Table) -> Array:
        missing = [n for n in self.numeric if n not in table.numeric]
        if missing:
            raise ValueError(f"table lacks the columns {missing}")
        numeric = {n: table.numeric[n] for n in self.numeric}
        derived = physics_features(numeric)
        cols = [*numeric.values(), *derived.values()]
        for name, levels in self.categories.items():
            # Unknown levels map to -1, which LightGBM treats as missing.
            index = {level: i for i, level in enumerate(levels)}
            cols.append(np.array([index.get(v, -1) for v in table.categorical[name]], float))
        self.names = [*numeric, *derived, *self.categories]
        return np.column_stack(cols)

    def _train(self, x: Array, y: NDArray[np.int64], seed: int, p: FailureParams) -> Any:
        import lightgbm as lgb

        clf = lgb.LGBMClassifier(
            n_estimators=p.trees, learning_rate=p.learning_rate, num_leaves=p.leaves,
            min_child_samples=p.min_child_samples, n_jobs=p.threads, random_state=seed,
            verbose=-1,
        )  # fmt: skip
        categorical = list(range(x.shape[1] - len(self.categories), x.shape[1]))
        return clf.fit(x, y, categorical_feature=categorical or "auto").booster_

    @classmethod
    def fit(
        cls, table: Table, candidates: Sequence[FailureParams] = CANDIDATES, seed: int = 0
    ) -> FailureClassifier:
        """Choose the configuration and the threshold with the best F1 on out-of-fold scores
        of `table`, then fit it on all of `table`."""
        from sklearn.model_selection import StratifiedKFold

        if not candidates:
            raise ValueError("no configuration to fit")
        model = cls(
            sorted(table.numeric),
            {n: sorted(set(v.tolist())) for n, v in table.categorical.items()},
            candidates[0],
            tuple(candidates),
        )
        x, y = model.matrix(table), table.label
        # Threshold from out-of-fold scores of the training rows: in-sample scores of boosted
        # trees are over-confident and would put it too high.
        best = -1.0
        for params in candidates:
            oof = np.zeros(len(y))
            inner = StratifiedKFold(params.inner_folds, shuffle=True, random_state=seed)
            for train, held in inner.split(x, y):
                oof[held] = model._train(x[train], y[train], seed, params).predict(x[held])
            threshold = best_threshold(oof, y)
            score = precision_recall_f1(oof >= threshold, y)[2]
            if score > best:
                best, model.params, model.threshold = score, params, threshold
        model.booster = model._train(x, y, seed, model.params)
        return model

    def scores(self, table: Table) -> Array:
        return np.asarray(self.booster.predict(self.matrix(table)), dtype=np.float64)

    def predict(self, table: Table) -> NDArray[np.bool_]:
        return self.scores(table) >= self.threshold


def subset(table: Table, rows: NDArray[np.int64]) -> Table:
    return Table(
        {n: v[rows] for n, v in table.numeric.items()},
        {n: v[rows] for n, v in table.categorical.items()},
        table.label[rows], table.sha256, table.verified,
    )  # fmt: skip


def cross_validate(
    table: Table, folds: int = 5, candidates: Sequence[FailureParams] = CANDIDATES, seed: int = 0
) -> dict[str, float]:
    """Stratified k-fold: each fold is predicted by a model fitted on the others, which also
    choose its configuration and threshold. F1, precision and recall are pooled over all
    out-of-fold predictions; PR-AUC is computed per fold and averaged, as scores of different
    models are not on one scale."""
    from sklearn.model_selection import StratifiedKFold

    predicted = np.zeros(len(table), dtype=bool)
    aucs = []
    outer = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, held in outer.split(np.zeros(len(table)), table.label):
        model = FailureClassifier.fit(subset(table, train), candidates, seed)
        s = model.scores(subset(table, held))
        predicted[held] = s >= model.threshold
        aucs.append(pr_auc(s, table.label[held]))
    precision, recall, f1 = precision_recall_f1(predicted, table.label)
    return {"f1": f1, "precision": precision, "recall": recall,
            "pr_auc": float(np.mean(aucs)), "folds": folds}  # fmt: skip
