"""What-if experiments: a baseline line twin against a changed one, replicated in parallel.

An :class:`Experiment` (a pydantic model, so an API can take it as JSON) names the line, the
changes and how to run: horizon, warm-up, replications, workers. Replication ``r`` of the
baseline and of the scenario use the same seed (common random numbers), which makes their
difference sharper than two independent samples would. Each KPI (throughput, lead time, WIP) is
reported as the mean with a Student-t 95% confidence interval over the replications; the
bottleneck shares (active-period method) are averaged over them.
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from smartfab.apps.twin.bottleneck import active_period_shares
from smartfab.apps.twin.model import Buffer, LineTwin, TwinError, parse_window
from smartfab.apps.twin.sim import simulate


class Change(BaseModel):
    """One change to the line.

    * ``cycle_time``: multiply ``station``'s cycle time (mean and ideal) by ``factor``;
    * ``buffer``: add ``amount`` slots to the buffer after ``station``;
    * ``machine``: add ``amount`` parallel machines to ``station``;
    * ``shift``: add the calendar ``window`` (e.g. "Sat 06:00-14:00 production").
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["cycle_time", "buffer", "machine", "shift"]
    station: str | None = None
    # Bounded so that no scenario can ask the simulation for unbounded work: a cycle 100 times
    # shorter makes 100 times the events, 10^4 slots or machines are far beyond any line.
    factor: float = Field(default=1.0, ge=0.01, le=100)
    amount: int = Field(default=1, ge=1, le=10_000)
    window: str | None = None


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: str | None = None  # path or name of the line; None when the twin has one line
    changes: list[Change] = Field(default_factory=list)
    horizon_days: float = Field(default=28.0, gt=0, le=3660)
    warmup_days: float = Field(default=2.0, ge=0, le=366)
    replications: int = Field(default=10, ge=2, le=1000)
    seed: int = 0
    workers: int = Field(default=2, ge=1, le=256)


def apply_changes(line: LineTwin, changes: list[Change]) -> LineTwin:
    """The line with the changes made (the original is left as it is)."""
    out = line.model_copy(deep=True)
    for c in changes:
        if c.kind == "shift":
            if c.window is None:
                raise TwinError("a shift change needs a window, e.g. 'Sat 06:00-14:00 production'")
            parse_window(c.window)
            out.calendar = out.calendar.model_copy(update={"week": [*out.calendar.week, c.window]})
            out.calendar.windows()  # an added shift must not overlap the others
            continue
        if c.station is None:
            raise TwinError(f"a {c.kind} change needs a station")
        i = out.station_index(c.station)
        st = out.stations[i]
        if c.kind == "cycle_time":
            cyc = st.cycle_s.model_copy(update={"mean": st.cycle_s.mean * c.factor})
            out.stations[i] = st.model_copy(
                update={"cycle_s": cyc, "ideal_cycle_s": st.ideal_cycle_s * c.factor}
            )
        elif c.kind == "machine":
            out.stations[i] = st.model_copy(update={"machines": st.machines + c.amount})
        else:
            if i >= len(out.buffers):
                raise TwinError(f"{c.station} is the last station: no buffer after it")
            b = out.buffers[i]
            out.buffers[i] = Buffer(capacity=b.capacity + c.amount, initial=b.initial)
    return LineTwin.model_validate(out.model_dump())


@dataclass(frozen=True, slots=True)
class Estimate:
    """Mean of the replications with its Student-t 95% confidence interval."""

    mean: float
    half_width: float
    low: float
    high: float
    n: int


def confidence_interval(values: list[float], level: float = 0.95) -> Estimate:
    n = len(values)
    if n < 2:
        raise ValueError("a confidence interval needs at least two replications")
    mean = statistics.fmean(values)
    sd = statistics.stdev(values)
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(mean, half, mean - half, mean + half, n)


def _replicate(args: tuple[str, float, float, int]) -> dict[str, Any]:
    """One replication in a worker process: the line travels as JSON, the result as a dict."""
    line_json, horizon_s, warmup_s, seed = args
    line = LineTwin.model_validate_json(line_json)
    r = simulate(line, horizon_s, seed=seed, warmup_s=warmup_s, record_activity=True)
    assert r.activity is not None
    names = [s.name for s in line.stations]
    shares = active_period_shares(names, r.activity, warmup_s, horizon_s)
    return {
        "throughput_per_h": r.throughput_per_h,
        "lead_time_h": r.lead_time_s / 3600,
        "wip": r.wip,
        "sole": shares.sole,
        "shifting": shares.shifting,
    }


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    name: str
    throughput_per_h: Estimate
    lead_time_h: Estimate
    wip: Estimate
    bottleneck: str | None
    bottleneck_shares: dict[str, dict[str, float]]  # station -> sole, shifting, total


@dataclass(frozen=True, slots=True)
class ExperimentResult:
    line: str
    experiment: dict[str, Any]
    baseline: ScenarioResult
    scenario: ScenarioResult
    # No random element in the line (changes add none): the replications are identical and every
    # interval is zero wide, which says nothing about how certain the result is.
    deterministic: bool
    # The scenario's throughput is the baseline's in every replication (common random numbers
    # make that exact): the change did not reach the line's output within the horizon.
    throughput_unchanged: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _summarise(name: str, stations: list[str], runs: list[dict[str, Any]]) -> ScenarioResult:
    n = len(runs)
    sole = [statistics.fmean(r["sole"][i] for r in runs) for i in range(len(stations))]
    shifting = [statistics.fmean(r["shifting"][i] for r in runs) for i in range(len(stations))]
    total = [a + b for a, b in zip(sole, shifting, strict=True)]
    best = max(range(len(stations)), key=lambda i: total[i])
    return ScenarioResult(
        name=name,
        throughput_per_h=confidence_interval([r["throughput_per_h"] for r in runs]),
        lead_time_h=confidence_interval([r["lead_time_h"] for r in runs]),
        wip=confidence_interval([r["wip"] for r in runs]),
        bottleneck=stations[best] if total[best] > 0 and n else None,
        bottleneck_shares={
            s: {"sole": a, "shifting": b, "total": a + b}
            for s, a, b in zip(stations, sole, shifting, strict=True)
        },
    )


def run_experiment(
    line: LineTwin, exp: Experiment, progress: Callable[[int, int], None] | None = None
) -> ExperimentResult:
    """Baseline and scenario, ``exp.replications`` runs each over ``exp.workers`` processes."""
    if exp.warmup_days >= exp.horizon_days:
        raise TwinError("the warm-up must be shorter than the horizon")
    changed = apply_changes(line, exp.changes)
    horizon, warmup = exp.horizon_days * 86_400, exp.warmup_days * 86_400
    jobs = [
        (twin.model_dump_json(), horizon, warmup, exp.seed + r)
        for twin in (line, changed)
        for r in range(exp.replications)
    ]
    results: list[dict[str, Any]] = []
    if exp.workers == 1:
        for job in jobs:
            results.append(_replicate(job))
            if progress is not None:
                progress(len(results), len(jobs))
    else:
        # forkserver, not fork: the caller may be a server with threads (and DuckDB's), which a
        # forked child would inherit in whatever state they were.
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=exp.workers, mp_context=context) as pool:
            for res in pool.map(_replicate, jobs):
                results.append(res)
                if progress is not None:
                    progress(len(results), len(jobs))
    k = exp.replications
    unchanged = all(
        a["throughput_per_h"] == b["throughput_per_h"]
        for a, b in zip(results[:k], results[k:], strict=True)
    )
    return ExperimentResult(
        line=line.line,
        experiment=exp.model_dump(),
        baseline=_summarise("baseline", [s.name for s in line.stations], results[:k]),
        scenario=_summarise("scenario", [s.name for s in changed.stations], results[k:]),
        deterministic=line.deterministic(),
        throughput_unchanged=unchanged,
    )
