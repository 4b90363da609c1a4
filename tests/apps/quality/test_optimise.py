from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.quality.optimise import Limits, recommend
from smartfab.apps.quality.parts import NotEnoughData
from smartfab.apps.quality.surrogate import Surrogate, runs_of
from tests.apps.quality.history import CNC, history

LOW = np.array([p.low for p in CNC.parameters])
HIGH = np.array([p.high for p in CNC.parameters])
STEP = np.array([p.max_step for p in CNC.parameters])


@pytest.fixture(scope="module")
def surrogate() -> Surrogate:
    return Surrogate.fit(history(), bootstraps=10)


@pytest.mark.parametrize("where", ["low", "high", "nominal"])
def test_a_recommendation_cannot_leave_the_ranges_or_the_rate_limits(
    surrogate: Surrogate, where: str
) -> None:
    current = {"low": LOW, "high": HIGH, "nominal": np.array([p.nominal for p in CNC.parameters])}
    cur = current[where].astype(float)
    # A loose risk limit and a long takt: the energy alone pulls it to the edge of what is allowed.
    rec = recommend(surrogate, cur, Limits(LOW, HIGH, STEP, 0.5, 1e6), trials=40)
    new = np.array(rec.recommended)
    assert np.all(new >= LOW) and np.all(new <= HIGH)
    assert np.all(np.abs(new - cur) <= STEP * (1 + 1e-12))


def test_a_saving_comes_with_its_interval_or_the_settings_stay(surrogate: Surrogate) -> None:
    cur = np.array([p.nominal for p in CNC.parameters], float)
    rec = recommend(surrogate, cur, Limits(LOW, HIGH, STEP, 0.05, 1e6), trials=60)
    if rec.changes:
        assert rec.saving_low <= rec.saving <= rec.saving_high and rec.risk_upper <= 0.05
    else:
        assert rec.saving == 0 and rec.saving_low == rec.saving_high == 0


def test_a_limit_nothing_can_meet_moves_back_towards_it(surrogate: Surrogate) -> None:
    cur = np.array([p.nominal for p in CNC.parameters], float)
    rec = recommend(surrogate, cur, Limits(LOW, HIGH, STEP, 1e-4, 1e6), trials=40)
    assert rec.restores


def test_runs_average_a_setting_and_too_few_settings_say_so() -> None:
    table = history()
    runs = runs_of(table)
    assert runs.parts.sum() == len(table) and runs.parts.max() <= 100
    one_setting = table.slice(np.flatnonzero((table.params() == table.params()[0]).all(axis=1)))
    with pytest.raises(NotEnoughData, match="at least"):
        Surrogate.fit(one_setting)
