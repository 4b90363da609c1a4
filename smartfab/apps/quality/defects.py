"""Defect prediction per part: the probability of each defect type from the operating parameters,
the measured context and the material lot's record so far, with the features that drove it.

The lot's record is its defect rate so far and, where the machine meters its energy, how much more
energy its parts took than the settings and the context account for (``lot_energy``): a hard or
otherwise bad lot shows in the cut's energy before it shows in the defects.

Two models per defect type, averaged in log-odds: a response surface (logistic regression,
quadratic in the operating parameters and linear in the context and the lot's record, with a
mild ridge) and gradient-boosted trees (LightGBM, binary). The surface learns a smooth cause
from a few dozen examples of a rare defect, where the trees, which need enough parts in each
leaf, see next to nothing; the trees take the thresholds and interactions a quadratic misses.
Every input is known when the part is made (the lot's defect rate counts only parts inspected
before it), so a part is scored live, before its inspection. The drivers of a prediction are the
two models' additive feature contributions in log-odds, averaged as the models are (the trees'
own, TreeSHAP ``pred_contrib``; the surface's, each term's coefficient times its departure from
the training mean, a product of two parameters shared between them), largest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from smartfab.apps.maintenance.evaluate import best_threshold, pr_auc, precision_recall_f1
from smartfab.apps.quality.parts import NotEnoughData, PartTable, lot_history, lot_sums
from smartfab.platform.points import Float64Array

MIN_PARTS = 2000  # fewer parts than this teach nothing about rare defects
MIN_DEFECTS = 20  # nor do fewer examples of a defect type
# A lot's energy deviation so far is shrunk towards none by this many parts' worth of it.
LOT_ENERGY_PRIOR = 5.0
SURFACE_C = 1.0  # inverse strength of the response surface's ridge, on standardised terms


@dataclass(frozen=True)
class DefectParams:
    trees: int = 400
    learning_rate: float = 0.05
    leaves: int = 15
    min_child_samples: int = 40  # defects are rare: leaves need enough parts to mean anything
    threads: int = 2
    validation: float = 0.2  # the latest share of the training parts: early stopping, threshold


@dataclass(frozen=True)
class Driver:
    feature: str
    value: float  # the feature's value for the part
    contribution: float  # in log-odds of the defect, + raises the risk


@dataclass
class DefectModel:
    parameters: tuple[str, ...]
    context: tuple[str, ...]
    defects: dict[int, str]  # code -> name; only the types seen often enough are modelled
    prior: Float64Array  # overall rate of each defect type in the training parts
    params: DefectParams = field(default_factory=DefectParams)
    boosters: dict[int, Any] = field(default_factory=dict)
    surfaces: dict[int, Surface] = field(default_factory=dict)
    thresholds: dict[int, float] = field(default_factory=dict)
    energy: EnergyFit | None = None  # the part's expected energy, where the table has it

    @property
    def features(self) -> list[str]:
        lots = [f"lot_rate.{n}" for n in self.defects.values()]
        return [*self.parameters, *self.context, *lots, *(["lot_energy"] if self.energy else [])]

    @classmethod
    def fit(cls, table: PartTable, params: DefectParams | None = None) -> DefectModel:
        """Learn from ``table`` (in time order); raises NotEnoughData with what it needs."""
        params = params or DefectParams()
        table.require(MIN_PARTS, "defect prediction")
        counts = {c: int((table.defect == c).sum()) for c in table.defects}
        modelled = {c: table.defects[c] for c, k in counts.items() if k >= MIN_DEFECTS}
        if not modelled:
            raise NotEnoughData(
                f"defect prediction needs at least {MIN_DEFECTS} parts of a defect type; the "
                f"period has {counts}: choose a longer period"
            )
        prior = np.array([counts[c] / len(table) for c in modelled])
        energy = EnergyFit.fit(table) if "energy_kwh" in table.values else None
        model = cls(table.parameters, table.context, modelled, prior, params, energy=energy)
        x = model.matrix(table)
        cut = int(len(table) * (1 - params.validation))
        for k, code in enumerate(modelled):
            y = (table.defect == code).astype(np.float64)
            lgb_params = {
                "objective": "binary", "learning_rate": params.learning_rate,
                "num_leaves": params.leaves, "min_child_samples": params.min_child_samples,
                "num_threads": params.threads, "verbose": -1, "seed": 7 + k,
                "deterministic": True, "force_row_wise": True,
            }  # fmt: skip
            train = lgb.Dataset(x[:cut], y[:cut], feature_name=model.features)
            valid = lgb.Dataset(x[cut:], y[cut:], reference=train)
            booster = lgb.train(
                lgb_params, train, params.trees, valid_sets=[valid],
                callbacks=[lgb.early_stopping(40, verbose=False)],
            )  # fmt: skip
            model.boosters[code] = booster
            model.surfaces[code] = Surface.fit(x[:cut], y[:cut], len(table.parameters))
            scores = model._predict(code, x[cut:])
            model.thresholds[code] = best_threshold(scores, y[cut:]) if y[cut:].any() else 0.5
            # The surface has no use for held-out parts once the threshold is set: a rare
            # defect's few examples are worth all having.
            model.surfaces[code] = Surface.fit(x, y, len(table.parameters))
        return model

    def matrix(self, table: PartTable) -> Float64Array:
        """The feature matrix of the parts of ``table``, each lot's record taken from the parts
        of the table before it."""
        missing = [n for n in (*self.parameters, *self.context) if n not in table.values]
        if self.energy is not None and "energy_kwh" not in table.values:
            missing.append("energy_kwh")
        if missing:
            raise ValueError(f"the parts lack the columns {missing}")
        sub = PartTable(table.ts, table.parameters, table.values, table.lot, table.defect,
                        self.defects)  # fmt: skip
        cols = [table.values[n] for n in (*self.parameters, *self.context)]
        cols.append(lot_history(sub, self.prior))
        if self.energy is not None:
            # The part's own energy is metered as it is made, before its inspection.
            dev, n = lot_sums(table.lot, self.energy.deviation(table))
            cols.append(dev / (n + LOT_ENERGY_PRIOR))
        out: Float64Array = np.column_stack(cols)
        return out

    def _predict(self, code: int, x: Float64Array) -> Float64Array:
        b = self.boosters[code]
        trees = np.asarray(b.predict(x, num_iteration=b.best_iteration, raw_score=True))
        out: Float64Array = expit((trees + self.surfaces[code].log_odds(x)) / 2)
        return out

    def predict_matrix(self, x: Float64Array) -> Float64Array:
        """Probability of each modelled defect type, shape (parts, types)."""
        return np.column_stack([self._predict(code, x) for code in self.boosters])

    def predict(self, table: PartTable) -> Float64Array:
        return self.predict_matrix(self.matrix(table))

    def drivers(self, x: Float64Array, code: int, top: int = 3) -> list[list[Driver]]:
        """For each row of ``x``, the ``top`` features that moved the predicted risk of defect
        ``code`` most from its average, with their signed contributions."""
        b = self.boosters[code]
        trees = np.asarray(b.predict(x, num_iteration=b.best_iteration, pred_contrib=True))
        # the trees' last column is their expected value
        contrib = (trees[:, :-1] + self.surfaces[code].contributions(x)) / 2
        names = self.features
        order = np.argsort(-np.abs(contrib), axis=1)[:, :top]
        return [
            [Driver(names[j], float(x[i, j]), float(contrib[i, j])) for j in order[i]]
            for i in range(len(x))
        ]


@dataclass(frozen=True)
class Surface:
    """A defect's log-odds as a quadratic in the (standardised) parameters, the first
    ``parameters`` features, and linear in the others."""

    parameters: int
    centre: Float64Array
    scale: Float64Array
    coef: Float64Array  # of the terms of ``_quadratic``
    intercept: float
    term_mean: Float64Array  # each term's mean over the training parts

    @classmethod
    def fit(cls, x: Float64Array, y: Float64Array, parameters: int) -> Surface:
        centre, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        terms, _ = _quadratic((x - centre) / scale, parameters)
        fit = LogisticRegression(C=SURFACE_C, max_iter=2000).fit(terms, y)
        return cls(parameters, centre, scale, np.asarray(fit.coef_[0], np.float64),
                   float(fit.intercept_[0]), terms.mean(axis=0))  # fmt: skip

    def log_odds(self, x: Float64Array) -> Float64Array:
        terms, _ = _quadratic((x - self.centre) / self.scale, self.parameters)
        out: Float64Array = terms @ self.coef + self.intercept
        return out

    def contributions(self, x: Float64Array) -> Float64Array:
        """Each feature's share of the log-odds' departure from the training mean, shape
        (rows, features): a term's part goes to its feature, a product's half to each."""
        terms, owners = _quadratic((x - self.centre) / self.scale, self.parameters)
        part = (terms - self.term_mean) * self.coef
        out = np.zeros_like(x, dtype=np.float64)
        for t, (i, j) in enumerate(owners):
            out[:, i] += part[:, t] / 2
            out[:, j] += part[:, t] / 2
        return out


def _quadratic(u: Float64Array, parameters: int) -> tuple[Float64Array, list[tuple[int, int]]]:
    """Every feature, then the products of each pair of parameters (squares included); with
    the features each term belongs to (a single feature's twice)."""
    owners = [(j, j) for j in range(u.shape[1])]
    cols = [u]
    for i in range(parameters):
        for j in range(i, parameters):
            cols.append(u[:, i : i + 1] * u[:, j : j + 1])
            owners.append((i, j))
    out: Float64Array = np.column_stack(cols)
    return out, owners


@dataclass(frozen=True)
class EnergyFit:
    """The log of a part's energy as a quadratic in its (scaled) parameters and linear in the
    measured context, by least squares with a mild ridge."""

    columns: tuple[str, ...]
    parameters: int  # the first columns: the quadratic ones
    centre: Float64Array
    scale: Float64Array
    coef: Float64Array

    @classmethod
    def fit(cls, table: PartTable) -> EnergyFit:
        columns = (*table.parameters, *table.context)
        x = np.column_stack([table.values[c] for c in columns])
        centre, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        a = _with_constant(_quadratic((x - centre) / scale, len(table.parameters))[0])
        y = np.log(np.maximum(table.values["energy_kwh"], 1e-9))
        coef = np.linalg.solve(a.T @ a + 1e-3 * len(a) * np.eye(a.shape[1]), a.T @ y)
        return cls(columns, len(table.parameters), centre, scale, np.asarray(coef, np.float64))

    def deviation(self, table: PartTable) -> Float64Array:
        """Log of each part's energy less the expected."""
        x = np.column_stack([table.values[c] for c in self.columns])
        a = _with_constant(_quadratic((x - self.centre) / self.scale, self.parameters)[0])
        out: Float64Array = np.log(np.maximum(table.values["energy_kwh"], 1e-9)) - a @ self.coef
        return out


def _with_constant(terms: Float64Array) -> Float64Array:
    out: Float64Array = np.column_stack([np.ones(len(terms)), terms])
    return out


@dataclass(frozen=True)
class DefectScore:
    name: str
    parts: int
    defects: int
    pr_auc: float
    baseline_pr_auc: float  # a model predicting the historical rate: the test prevalence
    f1: float
    baseline_f1: float  # the historical rate as a score: every part flagged


def evaluate(
    table: PartTable, train_share: float = 0.7, params: DefectParams | None = None
) -> tuple[DefectModel, dict[str, DefectScore]]:
    """Fit on the earliest ``train_share`` of the parts, score each defect type on the rest."""
    cut = int(len(table) * train_share)
    model = DefectModel.fit(table.slice(slice(0, cut)), params)
    test = table.slice(slice(cut, None))
    # The lots' records run on through the test parts, as they would live.
    p = model.predict_matrix(model.matrix(table)[cut:])
    scores = {}
    for k, (code, name) in enumerate(model.defects.items()):
        y = test.defect == code
        rate = float(y.mean())
        _, _, f1 = precision_recall_f1(p[:, k] >= model.thresholds[code], y)
        scores[name] = DefectScore(
            name, len(test), int(y.sum()), pr_auc(p[:, k], y), rate, f1,
            2 * rate / (1 + rate) if rate else 0.0,
        )  # fmt: skip
    return model, scores


def rates(table: PartTable) -> Mapping[str, float]:
    """The share of parts with each defect type."""
    n = max(len(table), 1)
    return {name: float((table.defect == c).sum() / n) for c, name in table.defects.items()}
