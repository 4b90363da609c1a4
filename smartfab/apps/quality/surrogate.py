"""Surrogate models of the process learnt from history alone: energy per part, cycle time and the
risk of each defect type as smooth functions of the operating parameters.

The parts are first gathered into *runs*: consecutive parts made under the same settings, cut
into runs of at most ``RUN_PARTS``. A run's means and defect counts average out what the settings
do not decide (the hall's temperature, the tool's wear, the material lot), so the models describe
the long-run result of a setting, which is what a limit on the defect rate is about. They are
response surfaces, as process engineers fit them to their trials: quadratic in the parameters
(scaled), ridge regression for energy and cycle time, binomial logistic regression per defect type
whose log-odds rise smoothly beyond the data rather than staying flat as trees do. Refits on
bootstrap resamples of the runs (a bad lot or a cold week moves a whole run, so runs are the unit
that is resampled) give the uncertainty: the optimiser holds the upper quantile of the risk and of
the cycle time to their limits, and quotes the interval of the saving.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import PolynomialFeatures

from smartfab.apps.quality.parts import NotEnoughData, PartTable
from smartfab.platform.points import Float64Array, Int64Array

MIN_PARTS = 1000
MIN_SETTINGS = 8  # distinct parameter settings: fewer cannot show how the parameters act
RUN_PARTS = 100  # the most parts a run holds; longer stretches of one setting are cut
BOOTSTRAPS = 40
FOCUS_WIDTH = 1.5  # in standard deviations of the settings tried
FOLDS = 5  # blocks of consecutive runs, for choosing how a defect type's risk is modelled


@dataclass(frozen=True)
class Runs:
    """Parts gathered by setting: one row per run."""

    params: Float64Array  # (runs, parameters)
    parts: Float64Array
    energy: Float64Array  # mean per part
    cycle: Float64Array  # mean
    defects: Float64Array  # (runs, types): counts


def runs_of(table: PartTable, run_parts: int = RUN_PARTS) -> Runs:
    params = table.params()
    change = np.r_[True, (params[1:] != params[:-1]).any(axis=1)]
    setting = np.cumsum(change) - 1
    # Within a setting, every run_parts parts start a new run.
    first = np.flatnonzero(change)
    index_in = np.arange(len(table)) - first[setting]
    run = np.cumsum(change | (index_in % run_parts == 0)) - 1
    n = int(run[-1]) + 1 if len(run) else 0
    parts = np.bincount(run, minlength=n).astype(np.float64)

    def mean(v: Float64Array) -> Float64Array:
        out: Float64Array = np.bincount(run, v, n) / parts
        return out

    starts: Int64Array = np.r_[0, np.flatnonzero(np.diff(run)) + 1]
    defects = np.stack(
        [np.bincount(run, table.defect == c, n) for c in table.defects], axis=1
    ).astype(np.float64)
    return Runs(params[starts], parts, mean(table.values["energy_kwh"]),
                mean(table.values["cycle_s"]), defects)  # fmt: skip


@dataclass(frozen=True)
class Prediction:
    """For each candidate: energy per part, risk of a defect of any kind, cycle time, from the fit
    on all runs ([0]) and from each bootstrap refit ([1:]); shape (1 + bootstraps, candidates)."""

    energy: Float64Array
    risk: Float64Array
    cycle_s: Float64Array

    @property
    def good_energy(self) -> Float64Array:
        """Energy per good part."""
        out: Float64Array = self.energy / (1 - self.risk)
        return out

    def upper(self, values: Float64Array, q: float) -> Float64Array:
        """The ``q`` quantile over the bootstrap refits."""
        out: Float64Array = np.quantile(values[1:], q, axis=0)
        return out


@dataclass
class Surrogate:
    parameters: tuple[str, ...]
    defects: dict[int, str]
    centre: Float64Array  # scaling of the parameters: (x - centre) / spread
    spread: Float64Array
    # Coefficients over the quadratic features, one row per fit (all runs, then bootstraps).
    energy: Float64Array
    cycle: Float64Array
    risk: Float64Array  # (types, fits, features + 1), the intercept last
    runs: int

    @classmethod
    def fit(
        cls,
        table: PartTable,
        seed: int = 0,
        bootstraps: int = BOOTSTRAPS,
        focus: Float64Array | None = None,
    ) -> Surrogate:
        """Learn from ``table``; raises NotEnoughData saying what it needs. With ``focus`` (the
        settings in force), the energy model weighs runs by their nearness to it: a quadratic
        surface is an approximation that holds locally, and the decision is a local one."""
        table.require(MIN_PARTS, "the optimiser")
        runs = runs_of(table)
        settings = len(np.unique(runs.params, axis=0))
        if settings < MIN_SETTINGS:
            raise NotEnoughData(
                f"the optimiser needs parts made under at least {MIN_SETTINGS} different "
                f"parameter settings to learn how they act; the period has {settings}: choose "
                "a longer period, or vary the parameters within their limits first"
            )
        centre = runs.params.mean(axis=0)
        spread = np.maximum(runs.params.std(axis=0), 1e-9)
        poly = _features((runs.params - centre) / spread)
        rng = np.random.default_rng(seed)
        samples = [np.arange(len(runs.parts))] + [
            rng.integers(0, len(runs.parts), len(runs.parts)) for _ in range(bootstraps)
        ]
        d = runs.params.shape[1]
        terms = [_terms(poly, runs.defects[:, k], runs.parts, d) for k in range(len(table.defects))]
        near = np.ones(len(runs.parts))
        if focus is not None:
            d2 = np.sum(((runs.params - focus) / spread) ** 2, axis=1)
            near = np.exp(-0.5 * d2 / FOCUS_WIDTH**2)
        energy, cycle, risk = [], [], []
        for rows in samples:
            w = runs.parts[rows]
            energy.append(_ridge(poly[rows], runs.energy[rows], w * near[rows]))
            cycle.append(_ridge(poly[rows], runs.cycle[rows], w))
            risk.append([
                _binomial(poly[rows], runs.defects[rows, k], w, terms[k])
                for k in range(runs.defects.shape[1])
            ])  # fmt: skip
        return cls(
            table.parameters, dict(table.defects), centre, spread, np.array(energy),
            np.array(cycle), np.array(risk).transpose(1, 0, 2), len(runs.parts),
        )  # fmt: skip

    def predict(self, candidates: Float64Array) -> Prediction:
        f = np.column_stack([_features((candidates - self.centre) / self.spread),
                             np.ones(len(candidates))])  # fmt: skip
        energy = self.energy @ f.T
        cycle = self.cycle @ f.T
        logits = np.einsum("tbf,nf->tbn", self.risk, f)
        p_good = np.prod(1 / (1 + np.exp(logits)), axis=0)  # 1 - sigmoid, per type, multiplied
        return Prediction(energy, 1 - p_good, cycle)


_POLY = PolynomialFeatures(2, include_bias=False)


def _features(u: Float64Array) -> Float64Array:
    out: Float64Array = _POLY.fit_transform(u)
    return out


def _ridge(x: Float64Array, y: Float64Array, w: Float64Array) -> Float64Array:
    m = Ridge(alpha=1.0).fit(x, y, sample_weight=w / w.mean())
    out: Float64Array = np.r_[m.coef_, m.intercept_]
    return out


def _terms(x: Float64Array, hits: Float64Array, parts: Float64Array, d: int) -> int:
    """How many of the quadratic features (in order: the ``d`` linear ones, then the rest) model a
    defect type's risk: none (a constant rate), the linear ones or all, whichever predicts held-out
    blocks of runs best. A defect the settings do not cause (a bad material lot) gets a constant:
    otherwise the settings that happened to coincide with bad lots would be blamed."""
    if hits.sum() == 0:
        return 0
    blocks = np.array_split(np.arange(len(hits)), FOLDS)
    best, best_loss = 0, np.inf
    for terms in (0, d, x.shape[1]):
        loss = 0.0
        for test in blocks:
            train = np.setdiff1d(np.arange(len(hits)), test)
            c = _binomial(x[train], hits[train], parts[train], terms)
            p = 1 / (1 + np.exp(-(x[test] @ c[:-1] + c[-1])))
            p = np.clip(p, 1e-9, 1 - 1e-9)
            h, n = hits[test], parts[test]
            loss -= float(np.sum(h * np.log(p) + (n - h) * np.log(1 - p)))
        if loss < best_loss:
            best, best_loss = terms, loss
    return best


def _binomial(x: Float64Array, hits: Float64Array, parts: Float64Array, terms: int) -> Float64Array:
    """A logistic regression of ``hits`` of ``parts`` per row on the first ``terms`` features
    (the others get zero coefficients): each row twice, as defective and as good, weighted by its
    counts."""
    coef = np.zeros(x.shape[1] + 1)
    total = hits.sum()
    if total == 0:
        coef[-1] = -12.0  # never seen: as good as never
        return coef
    if terms == 0:
        rate = total / parts.sum()
        coef[-1] = np.log(rate / (1 - rate))
        return coef
    x = x[:, :terms]
    xx = np.vstack([x, x])
    y = np.r_[np.ones(len(x)), np.zeros(len(x))]
    w = np.r_[hits, parts - hits]
    # Raw counts as weights: the likelihood of every part, against which the penalty is mild.
    m = LogisticRegression(C=10.0, max_iter=1000).fit(xx, y, sample_weight=w)
    coef[:terms] = m.coef_[0]
    coef[-1] = m.intercept_[0]
    return coef
