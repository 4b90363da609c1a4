"""Surrogate models of the process learnt from history alone: energy per part, cycle time and the
risk of each defect type as smooth functions of the operating parameters.

The parts are first gathered into *runs*: consecutive parts made under the same settings and of
the same material lot, cut into runs of at most ``RUN_PARTS``. A run's means and defect counts
average out what the settings do not decide (the hall's temperature, the tool's wear), and the
models, over many runs and lots, describe the long-run result of a setting, which is what a
limit on the defect rate is about. They are response surfaces, as process engineers fit them to
their trials: quadratic in the parameters (scaled), ridge regression for energy and cycle time,
binomial logistic regression per defect type whose log-odds rise smoothly beyond the data rather
than staying flat as trees do; its form (constant, linear, quadratic) is chosen on held-out
blocks of runs scored per material lot, so that a bad lot or two that met some settings are not
taken for the settings' doing. Refits on bootstrap resamples of the runs (a bad lot or a cold
week moves a whole run, so runs are the unit that is resampled) give the uncertainty: the
optimiser holds the upper quantile of the risk and of the cycle time to their limits, and quotes
the interval of the saving. Two exceptions: a defect type modelled as a constant rate is refitted
by chance alone (see ``_chance``), and where the held-out blocks could not tell a line from a
curve, each refit holds both and its risk is the higher (see ``_terms``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln
from sklearn.linear_model import Ridge
from sklearn.preprocessing import PolynomialFeatures

from smartfab.apps.quality.parts import NotEnoughData, PartTable
from smartfab.platform.points import Float64Array, Int64Array

MIN_PARTS = 1000
MIN_SETTINGS = 8  # distinct parameter settings: fewer cannot show how the parameters act
RUN_PARTS = 100  # the most parts a run holds; longer stretches of one setting are cut
BOOTSTRAPS = 40
FOCUS_WIDTH = 1.5  # in standard deviations of the settings tried
LOT_ROUNDS = 3  # alternations of the lots' effects on energy and the settings' fit
FOLDS = 5  # blocks of consecutive runs, for choosing how a defect type's risk is modelled
BURSTS = 1.0  # lots' spread (squared coefficient of variation of their factors) beyond which ...
SIGNIFICANT = 2.0  # ... a richer defect model must win by this many standard errors of its gain
RIDGE_C = 10.0  # inverse strength of the defect models' ridge penalty


@dataclass(frozen=True)
class Runs:
    """Parts gathered by setting: one row per run."""

    params: Float64Array  # (runs, parameters)
    parts: Float64Array
    energy: Float64Array  # mean per part
    cycle: Float64Array  # mean
    defects: Float64Array  # (runs, types): counts
    lot: Int64Array  # the run's material lot, numbered; -1 unknown


def runs_of(table: PartTable, run_parts: int = RUN_PARTS) -> Runs:
    """Runs of one setting and one material lot (lots are the unit a bad lot's defects come in,
    see ``_terms``)."""
    params = table.params()
    names, lot = np.unique(table.lot, return_inverse=True)
    lot = np.where(names[lot] == "", -1, lot)
    change = np.r_[True, (params[1:] != params[:-1]).any(axis=1) | (lot[1:] != lot[:-1])]
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
                mean(table.values["cycle_s"]), defects, lot[starts])  # fmt: skip


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
    # (types, fits, 2 forms, features + 1), the intercept last; the forms are the best and its
    # rival (or the best again), and the higher risk of the two counts
    risk: Float64Array
    runs: int
    tried: Float64Array  # the distinct settings the runs were made under

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
        types = range(len(table.defects))
        forms = [_terms(poly, runs.defects[:, k], runs.parts, d, runs.lot) for k in types]
        near = np.ones(len(runs.parts))
        if focus is not None:
            d2 = np.sum(((runs.params - focus) / spread) ** 2, axis=1)
            near = np.exp(-0.5 * d2 / FOCUS_WIDTH**2)
        own = _lot_effects(poly, runs.energy, runs.parts * near, runs.lot)
        energy, cycle, risk = [], [], []
        for i, rows in enumerate(samples):
            w = runs.parts[rows]
            energy.append(_ridge(poly[rows], runs.energy[rows] - own[rows], w * near[rows]))
            cycle.append(_ridge(poly[rows], runs.cycle[rows], w))
            # Where the held-out blocks could not tell two forms apart, a refit takes the worse of
            # them at each candidate: a curve that bends down beyond the data, say, against a
            # line that rises on. The fit on all runs keeps the best form alone.
            risk.append([
                [_chance(runs.defects[:, k], runs.parts, poly.shape[1], rng)] * 2
                if i and forms[k] == (0,) else
                _fits(poly[rows], runs.defects[rows, k], w, _both(forms[k], i))
                for k in types
            ])  # fmt: skip
        return cls(
            table.parameters, dict(table.defects), centre, spread, np.array(energy),
            np.array(cycle), np.array(risk).transpose(1, 0, 2, 3), len(runs.parts),
            np.unique(runs.params, axis=0),
        )  # fmt: skip

    def predict(self, candidates: Float64Array) -> Prediction:
        f = np.column_stack([_features((candidates - self.centre) / self.spread),
                             np.ones(len(candidates))])  # fmt: skip
        energy = self.energy @ f.T
        cycle = self.cycle @ f.T
        logits = np.einsum("tbrf,nf->tbrn", self.risk, f).max(axis=2)
        p_good = np.prod(1 / (1 + np.exp(logits)), axis=0)  # 1 - sigmoid, per type, multiplied
        return Prediction(energy, 1 - p_good, cycle)

    def distance(self, candidates: Float64Array) -> Float64Array:
        """How far each candidate lies from the nearest setting tried, in the spreads of the
        settings: how far the surfaces would be extrapolated there."""
        d = (candidates[:, None, :] - self.tried[None, :, :]) / self.spread
        out: Float64Array = np.sqrt(np.min(np.sum(d**2, axis=2), axis=1))
        return out


def _chance(
    hits: Float64Array, parts: Float64Array, features: int, rng: np.random.Generator
) -> Float64Array:
    """A refit of a constant rate by chance alone: as many defects as the parts seen would show
    at the rate seen. A rate the settings do not cause (bad material lots) is not changed by a
    change of settings; what a change needs to be sure of is the rate the parts showed, not how
    the next lots will turn out, which no setting decides. Resampling runs carried the few bursts
    of bad lots into every refit's level, and the settings stayed far below a limit the truth
    left room under (seeds 5 and 20 of the bench)."""
    total = parts.sum()
    seen = rng.binomial(int(total), max(hits.sum(), 0.5) / total)
    coef = np.zeros(features + 1)
    coef[-1] = np.log(max(seen, 0.5) / max(total - seen, 0.5))
    return coef


def _both(forms: tuple[int, ...], refit: int) -> tuple[int, int]:
    """The two forms a fit holds: the best and its rival, the best twice where there is no rival
    or for the fit on all runs (``refit`` 0)."""
    return (forms[0], forms[-1] if refit else forms[0])


def _fits(
    x: Float64Array, hits: Float64Array, parts: Float64Array, forms: tuple[int, int]
) -> list[Float64Array]:
    """The defect model in each of ``forms``, each distinct form fitted once."""
    fitted = {f: _binomial(x, hits, parts, f) for f in set(forms)}
    return [fitted[f] for f in forms]


_POLY = PolynomialFeatures(2, include_bias=False)


def _features(u: Float64Array) -> Float64Array:
    out: Float64Array = _POLY.fit_transform(u)
    return out


def _lot_effects(
    x: Float64Array, y: Float64Array, w: Float64Array, lot: Int64Array
) -> Float64Array:
    """Each run's share of ``y`` owed to its material lot rather than to the settings (a hard lot
    takes more energy to cut, whatever the settings): the lots' mean residuals from the settings'
    fit shrunk by the lots' variance against that between runs of one lot (best linear unbiased
    predictors, the variances by moments), alternately with the fit. Energy compared within lots
    is not blurred by which lots met which settings."""
    own = np.zeros(len(y))
    known = lot >= 0
    if not known.any():
        return own
    ix = np.unique(lot[known], return_inverse=True)[1]
    runs_in = np.bincount(ix).astype(np.float64)
    for _ in range(LOT_ROUNDS):
        c = _ridge(x, y - own, w)
        r = (y - x @ c[:-1] - c[-1])[known]
        mean = np.bincount(ix, r) / runs_in
        within = r - mean[ix]
        several = runs_in[ix] > 1
        if several.sum() <= len(np.unique(ix[several])):
            return own
        # Variance between runs of one lot, and that of the lots' own effects.
        noise = float(np.sum(within[several] ** 2) / (several.sum() - len(np.unique(ix[several]))))
        spread = max(float(np.mean(mean**2) - np.mean(noise / runs_in)), 0.0)
        if spread == 0:
            return np.zeros(len(y))
        own[known] = (mean * spread / (spread + noise / runs_in))[ix]
    return own


def _ridge(x: Float64Array, y: Float64Array, w: Float64Array) -> Float64Array:
    m = Ridge(alpha=1.0).fit(x, y, sample_weight=w / w.mean())
    out: Float64Array = np.r_[m.coef_, m.intercept_]
    return out


def _sigmoid(z: Float64Array) -> Float64Array:
    out: Float64Array = expit(z)
    return out


def _lot_spread(x: Float64Array, hits: Float64Array, parts: Float64Array, lot: Int64Array) -> float:
    """How much more a defect type's count varies from material lot to lot than the settings (all
    the quadratic features) and chance explain: the squared coefficient of variation of the lots'
    own factors on the rate, by moments (a gamma-Poisson model); 0 when no more."""
    known = lot >= 0
    if hits.sum() == 0 or not known.any():
        return 0.0
    c = _binomial(x, hits, parts, x.shape[1])
    ix = np.unique(lot[known], return_inverse=True)[1]
    expected = parts[known] * _sigmoid(x[known] @ c[:-1] + c[-1])
    o, e = np.bincount(ix, hits[known]), np.bincount(ix, expected)
    if not np.sum(e**2) > 0:
        return 0.0
    return max(float(np.sum((o - e) ** 2 - e) / np.sum(e**2)), 0.0)


def _lot_loss(hits: Float64Array, expected: Float64Array, lot: Int64Array, spread: float) -> float:
    """Negative log-likelihood of the defects seen per lot given those expected, each lot's factor
    on the rate gamma-distributed with ``spread`` (negative binomial; Poisson when 0). Runs of an
    unknown lot count each as a lot of its own."""
    ids = np.where(lot >= 0, lot, -1 - np.arange(len(lot)))
    ix = np.unique(ids, return_inverse=True)[1]
    o, e = np.bincount(ix, hits), np.maximum(np.bincount(ix, expected), 1e-12)
    if spread <= 1e-9:
        return float(np.sum(e - o * np.log(e) + gammaln(o + 1)))
    r = 1 / spread
    return -float(
        np.sum(
            gammaln(o + r) - gammaln(r) - gammaln(o + 1)
            + r * np.log(r / (r + e)) + o * np.log(e / (r + e))
        )
    )  # fmt: skip


def _terms(
    x: Float64Array, hits: Float64Array, parts: Float64Array, d: int, lot: Int64Array
) -> tuple[int, ...]:
    """How many of the quadratic features (in order: the ``d`` linear ones, then the rest) model a
    defect type's risk: none (a constant rate), the linear ones or all, whichever predicts held-out
    blocks of runs best, first; then the other form in which the settings act, unless it did
    clearly worse (by SIGNIFICANT standard errors of its per-block loss). Predictions are scored
    per material lot, the lots' spread beyond the settings allowed for, and where the lots differ
    much (defects in bursts) a richer form must win consistently over the blocks (its mean gain
    above SIGNIFICANT standard errors): a defect the settings do not cause (a bad lot) comes a
    lot at a time, and is better told by a constant rate than by blaming the settings that
    happened to coincide with a bad lot or two, as binomial scores per run did."""
    if hits.sum() == 0:
        return (0,)
    spread = _lot_spread(x, hits, parts, lot)
    blocks = np.array_split(np.arange(len(hits)), FOLDS)
    best, best_loss = 0, np.zeros(0)
    losses: dict[int, Float64Array] = {}
    for terms in (0, d, x.shape[1]):
        loss = np.zeros(FOLDS)
        for i, test in enumerate(blocks):
            train = np.setdiff1d(np.arange(len(hits)), test)
            c = _binomial(x[train], hits[train], parts[train], terms)
            p = _sigmoid(x[test] @ c[:-1] + c[-1])
            loss[i] = _lot_loss(hits[test], parts[test] * p, lot[test], spread)
        losses[terms] = loss
        if not len(best_loss):
            best, best_loss = terms, loss
            continue
        gain = best_loss - loss
        # Where the defects come in bursts, a block's gain may rest on a lot or two: a richer
        # form has to win consistently. Elsewhere a constant would hide a cause: the best wins.
        need = SIGNIFICANT * gain.std(ddof=1) / np.sqrt(FOLDS) if spread > BURSTS else 0.0
        if gain.mean() > need:
            best, best_loss = terms, loss
    if best == 0:  # the settings do not cause it: its uncertainty is the rate's
        return (best,)
    lost = {t: loss - best_loss for t, loss in losses.items() if t not in (0, best)}
    close = [t for t, v in lost.items() if v.mean() <= SIGNIFICANT * v.std(ddof=1) / np.sqrt(FOLDS)]
    return (best, *close)


def _binomial(x: Float64Array, hits: Float64Array, parts: Float64Array, terms: int) -> Float64Array:
    """A logistic regression of ``hits`` of ``parts`` per row on the first ``terms`` features (the
    others get zero coefficients), by Newton's method with a mild ridge penalty against the
    likelihood of every part."""
    coef = np.zeros(x.shape[1] + 1)
    total = hits.sum()
    if total == 0:
        coef[-1] = -12.0  # never seen: as good as never
        return coef
    a = np.column_stack([x[:, :terms], np.ones(len(x))])
    b = np.zeros(terms + 1)
    rate = total / parts.sum()
    b[-1] = np.log(rate / (1 - rate))
    penalty = np.r_[np.full(terms, 1 / RIDGE_C), 0.0]
    for _ in range(50):
        p = _sigmoid(a @ b)
        grad = a.T @ (parts * p - hits) + penalty * b
        hess = (a.T * (parts * p * (1 - p))) @ a + np.diag(penalty)
        move = np.linalg.solve(hess + 1e-9 * np.eye(terms + 1), grad)
        b -= move
        if np.max(np.abs(move)) < 1e-7:
            break
    coef[:terms] = b[:terms]
    coef[-1] = b[-1]
    return coef
