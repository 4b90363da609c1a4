"""Load profile and peak demand from 15-minute energy intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from smartfab.apps.energy.series import INTERVAL_US, Intervals
from smartfab.platform.points import Float64Array, Int64Array


@dataclass(frozen=True)
class Load:
    start: Int64Array  # interval starts
    kw: Float64Array  # mean demand of all the equipment together

    @property
    def peak(self) -> tuple[int, float]:
        """When the highest 15-minute demand began, and how high it was."""
        i = int(np.argmax(self.kw))
        return int(self.start[i]), float(self.kw[i])


def total(series: Sequence[Intervals]) -> Load:
    """The demand of several equipment together (their intervals share one grid)."""
    if not series:
        return Load(np.empty(0, np.int64), np.empty(0))
    kwh = np.sum([s.kwh for s in series], axis=0)
    return Load(series[0].start, kwh / (INTERVAL_US / 3.6e9))


@dataclass(frozen=True)
class Profile:
    """Mean demand by local hour of day, on working days and on weekends."""

    weekday: Float64Array  # 24 values, kW (NaN where no data)
    weekend: Float64Array


def profile(load: Load, timezone: str) -> Profile:
    zone = ZoneInfo(timezone)
    hours = np.empty(len(load.start), np.intp)
    weekend = np.empty(len(load.start), bool)
    for i, t in enumerate(load.start):
        local = datetime.fromtimestamp(int(t) / 1e6, zone)
        hours[i], weekend[i] = local.hour, local.weekday() >= 5
    out = []
    for mask in (~weekend, weekend):
        s = np.bincount(hours[mask], load.kw[mask], 24)
        n = np.bincount(hours[mask], minlength=24)
        out.append(np.divide(s, n, out=np.full(24, np.nan), where=n > 0))
    return Profile(out[0], out[1])
