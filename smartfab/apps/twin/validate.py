"""Run the calibrated twin over the window of the history and compare what both say.

Both sides are measured with the same OEE code (:mod:`smartfab.apps.monitoring.oee`): the history
from its events, the twin from the seconds and parts it simulated (starved and blocked count as
idle, ISO 22400 ADET, as a waiting machine's idle state does in the plant). Compared per line:

* throughput: good parts out of the last station; relative error;
* OEE of the line (the equipment's figures combined); relative error;
* state shares (running, setup, idle, unplanned down, planned down) of every station; the largest
  absolute difference in percentage points;
* OEE of every station; the largest absolute difference in percentage points.

The twin's figures are the mean of ``replications`` runs with different seeds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from smartfab.apps.monitoring.oee import OeeFigures, combine
from smartfab.apps.monitoring.periods import Periods
from smartfab.apps.twin.history import History
from smartfab.apps.twin.model import LineTwin
from smartfab.apps.twin.sim import SimResult, StationResult, simulate
from smartfab.platform.store.base import Store

SHARES = ("running", "setup", "idle", "unplanned_down", "planned_down")


def start_week_s(start_us: int, timezone: str) -> float:
    """Where in the local week (Monday 00:00 = 0) an epoch time lies."""
    local = datetime.fromtimestamp(start_us / 1e6, UTC).astimezone(ZoneInfo(timezone))
    monday = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.weekday() * 86_400 + (local - monday).total_seconds()


def twin_oee(st: StationResult, ideal_cycle_s: float, periods: Periods) -> OeeFigures:
    """The twin's figures of one station, in the shape the monitoring code computes."""
    s = st.state_s

    def a(x: float) -> np.ndarray[Any, np.dtype[np.float64]]:
        return np.array([x], np.float64)

    return OeeFigures(
        periods=periods,
        production_s=a(s["running"]),
        setup_s=a(s["setup"]),
        idle_s=a(s["idle"] + s["starved"] + s["blocked"]),
        down_s=a(s["unplanned_down"]),
        planned_down_s=a(s["planned_stop"] + s["off"]),
        unknown_s=a(0.0),
        good=a(st.good),
        scrap=a(st.scrap),
        startup_scrap=a(0.0),
        ideal_good_s=a(st.good * ideal_cycle_s),
        ideal_scrap_s=a(st.scrap * ideal_cycle_s),
        ideal_startup_scrap_s=a(0.0),
        failures=np.array([st.stops], np.int64),
    )


def shares(f: OeeFigures) -> dict[str, float]:
    """Each time category's share of the whole window."""
    parts = {
        "running": float(f.production_s[0]),
        "setup": float(f.setup_s[0]),
        "idle": float(f.idle_s[0]),
        "unplanned_down": float(f.down_s[0]),
        "planned_down": float(f.planned_down_s[0]),
    }
    total = sum(parts.values()) or 1.0
    return {k: v / total for k, v in parts.items()}


@dataclass(frozen=True, slots=True)
class StationComparison:
    name: str
    history_oee: float
    twin_oee: float
    history_shares: dict[str, float]
    twin_shares: dict[str, float]

    @property
    def max_share_error_pp(self) -> float:
        return 100 * max(abs(self.history_shares[k] - self.twin_shares[k]) for k in SHARES)


@dataclass(frozen=True, slots=True)
class LineValidation:
    line: str
    hours: float
    history_good_out: float
    twin_good_out: float
    history_oee: float
    twin_oee: float
    stations: list[StationComparison] = field(default_factory=list)

    @property
    def throughput_error(self) -> float:
        return abs(self.twin_good_out - self.history_good_out) / self.history_good_out

    @property
    def oee_error(self) -> float:
        return abs(self.twin_oee - self.history_oee) / self.history_oee

    @property
    def max_share_error_pp(self) -> float:
        return max(s.max_share_error_pp for s in self.stations)

    @property
    def max_station_oee_error_pp(self) -> float:
        return 100 * max(abs(s.twin_oee - s.history_oee) for s in self.stations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "hours": self.hours,
            "throughput_per_h": {
                "history": self.history_good_out / self.hours,
                "twin": self.twin_good_out / self.hours,
            },
            "throughput_error": self.throughput_error,
            "oee": {"history": self.history_oee, "twin": self.twin_oee},
            "oee_error": self.oee_error,
            "max_state_share_error_pp": self.max_share_error_pp,
            "max_station_oee_error_pp": self.max_station_oee_error_pp,
            "stations": [
                {
                    "name": s.name, "oee": {"history": s.history_oee, "twin": s.twin_oee},
                    "shares": {"history": s.history_shares, "twin": s.twin_shares},
                }
                for s in self.stations
            ],
        }  # fmt: skip


def validate_line(
    line: LineTwin,
    store: Store,
    start_us: int,
    end_us: int,
    *,
    replications: int = 3,
    seed: int = 0,
) -> LineValidation:
    """Compare ``line`` run over [start, end) with the stored history of its equipment."""
    periods = Periods.window(start_us, end_us)
    horizon = (end_us - start_us) / 1e6
    week0 = start_week_s(start_us, line.calendar.timezone)
    runs: list[SimResult] = [
        simulate(line, horizon, seed=seed + r, start_week_s=week0) for r in range(replications)
    ]
    hist_figs, twin_figs, comparisons = [], [], []
    for i, st in enumerate(line.stations):
        h = History.read(store, st.equipment[0], start_us, end_us)
        hf = h.oee(st.ideal_cycle_s)
        tf = _mean([twin_oee(r.stations[i], st.ideal_cycle_s, periods) for r in runs])
        hist_figs.append(hf)
        twin_figs.append(tf)
        comparisons.append(
            StationComparison(st.name, float(hf.oee[0]), float(tf.oee[0]), shares(hf), shares(tf))
        )
    last = len(line.stations) - 1
    return LineValidation(
        line=line.line,
        hours=horizon / 3600,
        history_good_out=float(hist_figs[last].good[0]),
        twin_good_out=float(np.mean([r.stations[last].good for r in runs])),
        history_oee=float(combine(hist_figs).oee[0]),
        twin_oee=float(combine(twin_figs).oee[0]),
        stations=comparisons,
    )


def _mean(figs: list[OeeFigures]) -> OeeFigures:
    """The mean of replications: every additive figure averaged."""
    total = combine(figs)
    n = len(figs)
    return dataclasses.replace(
        total,
        **{f.name: getattr(total, f.name) / n for f in dataclasses.fields(total)[1:]},
    )
