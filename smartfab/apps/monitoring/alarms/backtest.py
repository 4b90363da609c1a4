"""A signal alarm rule tried on stored history before it is enabled: how often it would have
fired, and for how long, evaluated by the engine's own evaluator (:mod:`.evaluate`) on the
points of the window, so that the answer is what the running engine would have done with them.

An engineer tunes a limit, deadband or on-delay until the count is one an operator can handle
(EEMUA 191 asks for about one alarm per ten minutes in steady operation, for all alarms
together), and only then enables the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartfab.apps.monitoring.alarms.evaluate import Evaluator
from smartfab.apps.monitoring.alarms.rules import AlarmTable, signal_alarm
from smartfab.model.plant import FlatlineAlarm, LimitAlarm, RateAlarm, StaleAlarm
from smartfab.model.units import display_unit
from smartfab.platform.points import PointBatch

_US = 1_000_000
DAY_US = 86_400 * _US
MAX_EPISODES = 200  # listed; the counts cover all of them


@dataclass(frozen=True, slots=True)
class Episode:
    start_us: int
    end_us: int | None  # None: still active at the end of the window
    value: float  # the signal's value when it became active


@dataclass(frozen=True, slots=True)
class Backtest:
    """What a rule would have done over [start_us, end_us)."""

    alarm: str  # the id it would have
    message: str
    start_us: int
    end_us: int
    points: int  # evaluated
    activations: int
    active_s: float  # time spent active
    episodes: tuple[Episode, ...]  # the first MAX_EPISODES

    @property
    def per_day(self) -> float:
        return self.activations / max((self.end_us - self.start_us) / DAY_US, 1e-9)


Rule = LimitAlarm | RateAlarm | StaleAlarm | FlatlineAlarm


def backtest(
    name: str, rule: Rule, signal: str, unit: str, points: PointBatch, start_us: int, end_us: int
) -> Backtest:
    """Evaluate rule ``name`` (high_high, high, low, low_low, rate, stale, flatline) of the
    signal at path ``signal`` on its ``points`` (any signal id; ordered or not) over
    [start_us, end_us). Its ``enabled`` does not matter: a draft is tested as it would run."""
    equipment = signal.rsplit("/", 1)[0]
    shown = display_unit(unit)
    alarm = signal_alarm(name, rule, signal, equipment, f" {shown}" if shown else "")
    table = AlarmTable.of([alarm], {signal: 0})
    evaluator = Evaluator(table, origin_us=start_us)
    inside = (points.ts >= start_us) & (points.ts < end_us)
    batch = points.take(inside)
    batch = PointBatch(batch.ts, np.zeros(len(batch), np.int32), batch.value, batch.quality)
    changes = [evaluator.evaluate(batch), evaluator.check(end_us)]
    episodes: list[Episode] = []
    active_us = 0
    opened: tuple[int, float] | None = None
    for part in changes:
        for ts, on, value in zip(
            part.ts.tolist(), part.active.tolist(), part.value.tolist(), strict=True
        ):
            if on and opened is None:
                opened = (ts, value)
            elif not on and opened is not None:
                active_us += ts - opened[0]
                episodes.append(Episode(opened[0], ts, opened[1]))
                opened = None
    if opened is not None:
        active_us += end_us - opened[0]
        episodes.append(Episode(opened[0], None, opened[1]))
    return Backtest(
        alarm.id, alarm.message, start_us, end_us, len(batch), len(episodes), active_us / _US,
        tuple(episodes[:MAX_EPISODES]),
    )  # fmt: skip
