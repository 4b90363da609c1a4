"""Operating-parameter optimisation: the settings that use the least energy per good part while
the defect risk stays under its limit and the cycle within takt.

Constrained Bayesian optimisation (Optuna's TPE sampler, its trials carrying constraint values)
over the surrogate learnt from history. The search space is the parameters' ranges intersected
with their rate-of-change limits around the settings in force, so a recommendation outside them
cannot be drawn at all, not merely refused, and a trust region keeps it within ``REACH`` of the
settings tried: a surface fitted to the data may be badly wrong far beyond them (a defect whose
rise the data did not show is modelled as a constant rate). The surrogate is an estimate: the
constraints hold its upper bootstrap quantile, not its best guess, to the limits. The expected
saving comes with the interval of the bootstrap refits; a change that too few of the refits see
saving energy is not recommended: the settings stay. When no reachable setting is predicted
within the limits and the settings in force break one by the best estimate (new data showed the
risk higher than thought), the recommendation is the reachable setting that breaks them least,
whatever the energy: quality comes before energy; it keeps the cycle within takt if the settings
in force do, stays within the trust region, and is made only when most refits see it break the
limits less than the settings in force.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import optuna

from smartfab.apps.quality.surrogate import Prediction, Surrogate
from smartfab.platform.points import Float64Array

# The quantile of risk and cycle time held to the limits (0.9 broke the defect limit in seed 35
# of the bench, whose chatter rose beyond the data faster than any refit saw) ...
CONFIDENCE = 0.95
MARGIN = 0.05  # ... less this share of the limit: a surrogate errs most where the data are few
INTERVAL = 0.9  # of the expected saving
SURE = 0.8  # a change is recommended when at least this share of the refits see a saving ...
MIN_SAVING = 0.01  # ... and the saving expected is at least this share: smaller ones are within
# the surfaces' error, and chasing them walked one seed's process along a flat valley up to the
# defect limit and past it
REACH = 0.5  # how far from the settings tried a recommendation may lie, in their spreads


@dataclass(frozen=True)
class Limits:
    """What a recommendation must respect, from the plant file."""

    low: Float64Array
    high: Float64Array
    max_step: Float64Array  # the largest change of each parameter at once
    risk_limit: float  # the highest acceptable probability that a part has a defect
    takt_s: float  # the longest acceptable cycle

    def box(self, current: Float64Array) -> tuple[Float64Array, Float64Array]:
        """Where a recommendation from ``current`` may lie."""
        lo = np.maximum(self.low, current - self.max_step)
        hi = np.minimum(self.high, current + self.max_step)
        return lo, np.maximum(lo, hi)


@dataclass(frozen=True)
class Recommendation:
    parameters: tuple[str, ...]
    current: tuple[float, ...]
    recommended: tuple[float, ...]  # equal to current when no saving can be expected
    energy_now: float  # predicted kWh per good part under the current settings
    energy_new: float
    saving: float  # kWh per good part
    saving_low: float  # the interval of the saving (INTERVAL of the bootstrap refits)
    saving_high: float
    risk_new: float  # predicted probability of a defect (best guess)
    risk_upper: float  # its CONFIDENCE quantile, held to the limit
    cycle_new: float
    trials: int
    restores: bool = False  # the settings in force break a limit; this moves back within it

    @property
    def changes(self) -> bool:
        return self.recommended != self.current

    @property
    def saving_fraction(self) -> float:
        return self.saving / self.energy_now if self.energy_now else 0.0


def recommend(
    surrogate: Surrogate,
    current: Float64Array,
    limits: Limits,
    *,
    trials: int = 150,
    seed: int = 0,
) -> Recommendation:
    """The best settings reachable from ``current`` in one move."""
    current = np.asarray(current, np.float64)
    lo, hi = limits.box(current)
    names = surrogate.parameters
    risk_cap = limits.risk_limit * (1 - MARGIN)
    cycle_cap = limits.takt_s * (1 - MARGIN / 10)

    def objective(trial: optuna.Trial) -> float:
        x = np.array([[trial.suggest_float(n, lo[i], hi[i]) for i, n in enumerate(names)]])
        p = surrogate.predict(x)
        # Relative excesses, so that the least bad of infeasible settings can be told.
        trial.set_constraint("risk", float(p.upper(p.risk, CONFIDENCE)[0]) / risk_cap - 1)
        trial.set_constraint("cycle", float(p.upper(p.cycle_s, CONFIDENCE)[0]) / cycle_cap - 1)
        # A trust region: the surfaces hold near the data, and a defect model chosen as a
        # constant or a line where the data showed no curve can be badly wrong far beyond them.
        near = min(
            float(surrogate.distance(x)[0]),
            float(np.sqrt(np.sum(((x[0] - current) / surrogate.spread) ** 2))),
        )
        trial.set_constraint("reach", near / REACH - 1)
        return float(p.good_energy[0, 0])

    optuna.logging.set_verbosity(logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=min(30, trials // 3), multivariate=True
    )
    study = optuna.create_study(direction="minimize", sampler=sampler)
    # The settings in force are the first candidate: where the search stands.
    study.enqueue_trial({n: float(current[i]) for i, n in enumerate(names)})
    study.optimize(objective, n_trials=trials)
    feasible = [t for t in study.trials if max(t.constraints.values()) <= 0 and t.value is not None]
    restores = not feasible
    if feasible:
        t = min(feasible, key=lambda t: float(t.value or 0.0))
    else:
        t = _least_breaking(study.trials)
    best = np.array([t.params[n] for n in names])
    both = surrogate.predict(np.stack([current, best]))
    saving_boot = both.good_energy[1:, 0] - both.good_energy[1:, 1]
    tail = (1 - INTERVAL) / 2
    low, high = (float(v) for v in np.quantile(saving_boot, [tail, 1 - tail]))
    if restores:
        # Only settings in force that break a limit by the best estimate are moved off at an
        # energy cost, and only to a setting most refits see breaking the limits less. Moving
        # whenever the upper quantile was above the cap walked one seed's process, whose risk
        # the surrogate overestimated, out of its data and past takt in six steps.
        excess = _excess(both, risk_cap, cycle_cap)
        breaks_now = both.risk[0, 0] > limits.risk_limit or both.cycle_s[0, 0] > limits.takt_s
        restores = bool(breaks_now and np.mean(excess[1:, 1] < excess[1:, 0]) >= SURE)
        if not restores:
            best = current
    elif np.mean(saving_boot > 0) < SURE or (
        both.good_energy[0, 0] - both.good_energy[0, 1] < MIN_SAVING * both.good_energy[0, 0]
    ):
        best = current  # no saving to count on: keep the settings
    if best is current:
        low = high = 0.0
        both = surrogate.predict(np.stack([current, best]))
    e = both.good_energy[0]
    return Recommendation(
        names, tuple(float(v) for v in current), tuple(float(v) for v in best),
        float(e[0]), float(e[1]), float(e[0] - e[1]), low, high, float(both.risk[0, 1]),
        float(both.upper(both.risk, CONFIDENCE)[1]), float(both.cycle_s[0, 1]),
        len(study.trials), restores,
    )  # fmt: skip


def _least_breaking(trials: list[optuna.trial.FrozenTrial]) -> optuna.trial.FrozenTrial:
    """Of trials none of which meets every constraint, the one whose risk and cycle break them
    least among those within the trust region, and within takt where any is."""
    near = [t for t in trials if t.constraints["reach"] <= 0] or trials
    in_takt = [t for t in near if t.constraints["cycle"] <= 0] or near
    return min(
        in_takt, key=lambda t: max(t.constraints["risk"], 0) + max(t.constraints["cycle"], 0)
    )


def _excess(p: Prediction, risk_cap: float, cycle_cap: float) -> Float64Array:
    """How far each fit's predicted risk and cycle exceed their caps, relatively, summed."""
    out: Float64Array = np.maximum(p.risk / risk_cap - 1, 0) + np.maximum(
        p.cycle_s / cycle_cap - 1, 0
    )
    return out
