"""The energy baseline (ISO 50006): energy per period explained by its relevant variables
(output, product mix, ambient temperature ...) by least squares on a baseline period; the energy
performance indicator of a later period (actual over expected energy) and the cumulative savings
against the baseline (CUSUM of expected minus actual).

Relevant variables are kept only when they matter: the one whose coefficient is least certain is
dropped while its t statistic is below 2, so that a variable that does not drive the energy does
not add noise to what is expected. Where more variables are offered than the baseline period's
periods can carry (three per coefficient: a site's product mix has dozens of products, a week
has seven days), the ones that explain the energy best are taken first, one at a time, as many
as the periods carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from smartfab.errors import SmartfabError
from smartfab.platform.points import Float64Array

T_KEEP = 2.0
PERIODS_PER_VARIABLE = 3  # at least this many baseline periods per coefficient


class BaselineError(SmartfabError):
    """A baseline that cannot be fitted (too few periods, nothing varies); says what it needs."""


@dataclass(frozen=True)
class Baseline:
    variables: tuple[str, ...]  # kept, in order of ``coef``
    intercept: float  # energy per period that does not depend on the variables (base load)
    coef: tuple[float, ...]
    r2: float
    cv_rmse: float  # root mean square error over the mean energy (ASHRAE 14 accepts <= 0.15)
    periods: int
    dropped: tuple[str, ...]  # offered but not relevant

    def expected(self, variables: Mapping[str, Float64Array]) -> Float64Array:
        missing = [v for v in self.variables if v not in variables]
        if missing:
            raise BaselineError(f"the baseline needs the variables {missing}")
        n = len(next(iter(variables.values()))) if variables else 0
        out = np.full(n, self.intercept)
        for name, c in zip(self.variables, self.coef, strict=True):
            out = out + c * np.asarray(variables[name], np.float64)
        return out


def fit_baseline(energy: Float64Array, variables: Mapping[str, Float64Array]) -> Baseline:
    y = np.asarray(energy, np.float64)
    # A variable that does not vary explains nothing (no period with production: none varies).
    names = [n for n in variables if len(y) and np.ptp(np.asarray(variables[n], np.float64)) > 0]
    needed = max(PERIODS_PER_VARIABLE * (min(len(names), 1) + 1), 4)
    if len(y) < needed:
        raise BaselineError(
            f"an energy baseline on {len(names)} variables needs at least {needed} "
            f"periods; the baseline period has {len(y)}: choose a longer baseline period or "
            "shorter periods (shifts rather than days)"
        )
    names = _forward(y, variables, names, len(y) // PERIODS_PER_VARIABLE - 1)
    dropped = [n for n in variables if n not in names]
    while True:
        x = np.column_stack([np.ones(len(y)), *(np.asarray(variables[n], np.float64)
                                                 for n in names)])  # fmt: skip
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ beta
        dof = max(len(y) - x.shape[1], 1)
        sigma2 = float(resid @ resid) / dof
        cov = sigma2 * np.linalg.pinv(x.T @ x)
        t = np.abs(beta[1:]) / np.sqrt(np.maximum(np.diag(cov)[1:], 1e-300))
        if not names or t.min() >= T_KEEP:
            break
        dropped.append(names.pop(int(np.argmin(t))))
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - float(resid @ resid) / ss if ss > 0 else 1.0
    cv = float(np.sqrt(np.mean(resid**2)) / y.mean()) if y.mean() else float("inf")
    return Baseline(tuple(names), float(beta[0]), tuple(float(b) for b in beta[1:]), r2, cv,
                    len(y), tuple(dropped))  # fmt: skip


def _forward(
    y: Float64Array, variables: Mapping[str, Float64Array], names: list[str], most: int
) -> list[str]:
    """At most ``most`` of ``names``: all if they are no more, else chosen one at a time, each the
    one that leaves the least squared error with those chosen before."""
    if len(names) <= most:
        return names
    chosen: list[str] = []
    cols = [np.ones(len(y))]
    for _ in range(most):
        best = min((n for n in names if n not in chosen),
                   key=lambda n: _squared_error(y, [*cols, variables[n]]))  # fmt: skip
        chosen.append(best)
        cols.append(np.asarray(variables[best], np.float64))
    return chosen


def _squared_error(y: Float64Array, cols: list[Float64Array]) -> float:
    """The least squared error of ``y`` on the columns."""
    x = np.column_stack(cols).astype(np.float64)
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return float(resid @ resid)


@dataclass(frozen=True)
class Performance:
    actual: Float64Array
    expected: Float64Array

    @property
    def enpi(self) -> Float64Array:
        """Actual over expected energy per period: below 1 is better than the baseline."""
        out: Float64Array = np.divide(self.actual, self.expected,
                                      out=np.full(len(self.actual), np.nan),
                                      where=self.expected > 0)  # fmt: skip
        return out

    @property
    def savings(self) -> Float64Array:
        out: Float64Array = self.expected - self.actual
        return out

    @property
    def cusum(self) -> Float64Array:
        """Cumulative savings against the baseline: rising while energy is saved."""
        out: Float64Array = np.cumsum(self.savings)
        return out


def performance(
    baseline: Baseline, energy: Float64Array, variables: Mapping[str, Float64Array]
) -> Performance:
    return Performance(np.asarray(energy, np.float64), baseline.expected(variables))
