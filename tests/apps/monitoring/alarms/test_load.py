from __future__ import annotations

import pytest

from smartfab.apps.monitoring.alarms.lifecycle import Action, Record, State
from smartfab.apps.monitoring.alarms.load import alarm_load

MIN = 60_000_000


def activation(minute: float, alarm: str, state: State = State.UNACKNOWLEDGED) -> Record:
    return Record(int(minute * MIN), alarm, "m", Action.ACTIVATE, state, True, "high")


def test_eemua_figures_of_a_hand_computed_hour() -> None:
    # One hour, six 10-minute periods. Period 0: 2 alarms; period 2: 12 (a flood for one
    # operator); period 5: 4. One more activation happens while shelved (not annunciated), and
    # clears and acknowledgements are not alarms.
    records = [activation(1, "a"), activation(9, "b")]
    records += [activation(20 + i * 0.5, "flood" if i < 9 else "c") for i in range(12)]
    records += [activation(51, "a"), activation(52, "a"), activation(53, "b"), activation(59, "a")]
    records += [activation(30, "a", State.SHELVED)]
    records += [Record(int(31 * MIN), "a", "m", Action.CLEAR, State.NORMAL, False, "high")]
    load = alarm_load(records, 0, 60 * MIN)
    assert load.total == 18
    assert load.per_period.tolist() == [2, 0, 12, 0, 0, 4]
    assert load.average_per_10min == pytest.approx(3.0)
    assert load.peak_per_10min == 12
    assert load.flood_percent == pytest.approx(100 / 6)
    assert [(b.alarm_id, b.count) for b in load.bad_actors[:3]] == [
        ("flood", 9),
        ("a", 4),
        ("c", 3),
    ]
    assert load.bad_actors[0].share == pytest.approx(9 / 18)

    two = alarm_load(records, 0, 60 * MIN, operators=2)
    assert (two.average_per_10min, two.peak_per_10min, two.flood_percent) == (1.5, 6, 0)


def test_a_partial_last_period_and_bad_input() -> None:
    load = alarm_load([activation(14, "a")], 0, 15 * MIN)
    assert load.per_period.tolist() == [0, 1]
    with pytest.raises(ValueError, match="after start"):
        alarm_load([], 10, 10)
    with pytest.raises(ValueError, match="operator"):
        alarm_load([], 0, 10, operators=0)
