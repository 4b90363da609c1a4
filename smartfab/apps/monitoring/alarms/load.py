"""Alarm-load figures as EEMUA 191 (3rd ed., 2013) measures them.

An alarm counts when it is *annunciated*: an activation that reaches the operator (one that
happens while the alarm is shelved does not). The window is cut into 10-minute periods from its
start; per operator (alarms divide among ``operators`` positions that share the load):

* ``average_per_10min``: alarms / number of periods (EEMUA: "very likely to be acceptable" at
  about 1 per 10 minutes in steady operation),
* ``peak_per_10min``: the busiest period (EEMUA: no more than 10 after an upset),
* ``flood_percent``: share of periods with more than 10 alarms, an alarm flood (EEMUA: under 1 %),
* ``bad_actors``: the alarms annunciated most often, with their share of all annunciations; a few
  of them typically make most of the load and are the first to fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smartfab.apps.monitoring.alarms.lifecycle import Action, Record, State
from smartfab.platform.points import Int64Array

TEN_MINUTES_US = 600_000_000
FLOOD_PER_10MIN = 10


@dataclass(frozen=True, slots=True)
class BadActor:
    alarm_id: str
    count: int
    share: float  # of all annunciated alarms, 0..1


@dataclass(frozen=True, slots=True)
class AlarmLoad:
    start: int
    end: int
    operators: int
    total: int  # annunciated alarms in the window
    period_start: Int64Array  # start of each 10-minute period
    per_period: Int64Array  # alarms annunciated in it (all operators together)
    average_per_10min: float  # per operator
    peak_per_10min: float  # per operator
    flood_percent: float  # of periods with more than 10 alarms per operator
    bad_actors: tuple[BadActor, ...]


def annunciated(records: Sequence[Record]) -> list[Record]:
    """The activations that reached an operator."""
    return [r for r in records if r.action is Action.ACTIVATE and r.state is State.UNACKNOWLEDGED]


def alarm_load(
    records: Sequence[Record], start: int, end: int, *, operators: int = 1, top: int = 10
) -> AlarmLoad:
    """The load of the activations among ``records`` with start <= ts < end. A last period
    shorter than 10 minutes counts as a period (its rate is not scaled up)."""
    if end <= start:
        raise ValueError(f"alarm load: end ({end}) must be after start ({start})")
    if operators < 1:
        raise ValueError(f"alarm load: {operators} operators; at least one is needed")
    hits = [r for r in annunciated(records) if start <= r.ts < end]
    n = -(-(end - start) // TEN_MINUTES_US)  # periods, the last possibly partial
    ts = np.array([r.ts for r in hits], np.int64)
    per = np.bincount((ts - start) // TEN_MINUTES_US, minlength=n).astype(np.int64)
    per_op = per / operators
    counts = Counter(r.alarm_id for r in hits).most_common(top)
    return AlarmLoad(
        start=start,
        end=end,
        operators=operators,
        total=len(hits),
        period_start=start + np.arange(n, dtype=np.int64) * TEN_MINUTES_US,
        per_period=per,
        average_per_10min=float(per_op.mean()),
        peak_per_10min=float(per_op.max()),
        flood_percent=float(100.0 * np.mean(per_op > FLOOD_PER_10MIN)),
        bad_actors=tuple(BadActor(a, c, c / len(hits)) for a, c in counts),
    )
