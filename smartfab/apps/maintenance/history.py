"""Equipment history -> run-to-failure units: the shape the RUL model learns from.

An equipment's regular rows (e.g. hourly means of its signals) are cut at its failures: the
rows from a repair (or the start of the record) up to a failure form one unit whose last row is
one step before the failure; rows while it is down are left out. Rows after the last failure form
a unit that has not failed (yet): usable for prediction, not for training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartfab.apps.maintenance.datasets import Fleet


@dataclass(frozen=True)
class Outage:
    failure_us: int
    repaired_us: int


@dataclass(frozen=True)
class Units:
    fleet: Fleet  # all segments; cycle = steps since the segment began
    time_us: NDArray[np.int64]  # per row
    failed: NDArray[np.bool_]  # per row: its segment ends in a failure
    rul_steps: NDArray[np.float64]  # per row: steps to that failure (inf if none)


def run_to_failure(
    time_us: NDArray[np.int64], values: NDArray[np.float64], outages: Sequence[Outage],
    step_us: int, names: tuple[str, ...], first_unit: int = 0,
) -> Units:  # fmt: skip
    """Cut one equipment's rows (sorted by time) at its outages."""
    order = sorted(outages, key=lambda o: o.failure_us)
    seg = np.full(len(time_us), -1, dtype=np.int64)
    end = np.full(len(time_us), np.iinfo(np.int64).max, dtype=np.int64)
    start = np.iinfo(np.int64).min
    for i, o in enumerate([*order, None]):
        stop = o.failure_us if o is not None else np.iinfo(np.int64).max
        # A row is in the segment if its whole step ends before the failure.
        rows = (time_us >= start) & (time_us + step_us <= stop)
        seg[rows] = i
        end[rows] = stop
        if o is not None:
            start = o.repaired_us
    keep = seg >= 0
    t, v, s, e = time_us[keep], values[keep], seg[keep], end[keep]
    cycle = np.zeros(len(t))
    for k in np.unique(s):
        rows = s == k
        cycle[rows] = (t[rows] - t[rows][0]) / step_us + 1
    failed = e < np.iinfo(np.int64).max
    rul = np.where(failed, (e - t - step_us) / step_us, np.inf)
    fleet = Fleet(
        unit=(s + first_unit).astype(np.int64), cycle=cycle,
        settings=np.zeros((len(t), 0)), sensors=v, sensor_names=names, sha256="", verified=False,
    )  # fmt: skip
    return Units(fleet, t, failed, rul)
