from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.energy.baseline import BaselineError, fit_baseline, performance


def test_the_baseline_keeps_the_relevant_variables_and_cusum_counts_savings() -> None:
    rng = np.random.default_rng(0)
    parts = rng.uniform(500, 1500, 60)
    ambient = rng.uniform(5, 30, 60)
    noise = rng.normal(0, 1, 60)  # offered, drives nothing
    energy = 200 + 0.8 * parts + 3 * ambient + rng.normal(0, 5, 60)
    base = fit_baseline(energy, {"parts": parts, "ambient": ambient, "noise": noise})
    assert base.variables == ("parts", "ambient") and base.dropped == ("noise",)
    assert base.coef[0] == pytest.approx(0.8, abs=0.03) and base.r2 > 0.99
    assert base.cv_rmse < 0.05
    # a later period that uses 10 % less than expected
    later = {"parts": parts[:10], "ambient": ambient[:10], "noise": noise[:10]}
    perf = performance(base, 0.9 * base.expected(later), later)
    assert np.allclose(perf.enpi, 0.9) and np.all(np.diff(perf.cusum) > 0)


def test_too_few_periods_say_how_many_are_needed() -> None:
    with pytest.raises(BaselineError, match="needs at least 6 periods; the baseline period has 5"):
        fit_baseline(np.arange(5.0), {"parts": np.arange(5.0), "ambient": np.arange(5.0) ** 2})
    # a baseline period without production (a demo's first day) has no period to fit on
    with pytest.raises(BaselineError, match="needs at least 4 periods; the baseline period has 0"):
        fit_baseline(np.zeros(0), {"good_parts": np.zeros(0)})


def test_more_variables_than_the_periods_carry_take_the_ones_that_explain_most() -> None:
    # A site's product mix over a fortnight of days: 30 products offered, 14 periods, which
    # carry three coefficients; two products drive the energy.
    rng = np.random.default_rng(3)
    mix = {f"product:{i}": rng.uniform(0, 100, 14) for i in range(30)}
    energy = 500 + 4 * mix["product:7"] + 2 * mix["product:21"] + rng.normal(0, 5, 14)
    base = fit_baseline(energy, mix)
    assert set(base.variables) == {"product:7", "product:21"} and base.r2 > 0.98
    assert len(base.dropped) == 28
