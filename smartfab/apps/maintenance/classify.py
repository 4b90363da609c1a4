"""Failure prediction from tabular process data (one row per observation, a binary failure
label), e.g. the AI4I 2020 milling data.

Besides the raw columns, features are constructed from every two numeric columns: their
product, ratio and difference. Physical limits of a machine are often limits on such a
combination (power is torque times speed, a temperature rise is a difference), and trees find a
threshold on a combination that they cannot assemble from thresholds on its factors. Nothing is
specific to one data set: the columns are taken as they come. The configuration and the
decision threshold are chosen on out-of-fold predictions of the training data only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.datasets import Table
from smartfab.apps.maintenance.evaluate import best_threshold, pr_auc, precision_recall_f1

Array = NDArray[np.float64]


def pairwise_features(numeric: dict[str, Array]) -> dict[str, Array]:
    """Product, ratio and difference of every two numeric columns (in name order), named after
    the formula. One direction of ratio and difference suffices: trees split the same on b/a as
    on a/b (where signs do not change) and on b - a as on a - b. A ratio by zero is missing."""
    out: dict[str, Array] = {}
    for a, b in itertools.combinations(sorted(numeric), 2):
        x, y = numeric[a], numeric[b]
        out[f"{a} x {b}"] = x * y
        out[f"{a} / {b}"] = np.divide(x, y, out=np.full_like(x, np.nan), where=y != 0)
        out[f"{a} - {b}"] = x - y
    return out


@dataclass(frozen=True)
class FailureParams:
    trees: int = 400
    learning_rate: float = 0.05
    leaves: int = 15
    min_child_samples: int = 5
    inner_folds: int = 3
    threads: int = 2
    # Histogram bins per feature. LightGBM's default (255) puts ~30 rows of 8,000 in a bin, so a
    # limit can only be placed that coarsely; a failure that starts at a sharp limit (a power
    # or load beyond which the machine trips) is then blurred over a bin on either side. With
    # 4095 a bin holds a few rows (at least 3, LightGBM's minimum).
    bins: int = 4095


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
        derived = pairwise_features(numeric)
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
            max_bin=p.bins, verbose=-1,
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
