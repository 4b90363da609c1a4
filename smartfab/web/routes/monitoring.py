"""Production monitoring over HTTP: OEE and the six big losses with MTBF/MTTR per equipment, line,
area or site and per shift, day or custom range; the state timeline of an equipment; SPC charts
with run-rule violations and capability for a signal.

The figures come from :mod:`smartfab.apps.monitoring`; this module only selects what to feed it
(which equipment lie below a path, which events and points cover the range) and shapes the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from smartfab.apps.monitoring import runrules, spc
from smartfab.apps.monitoring.capability import Capability, WithinSigma, capability
from smartfab.apps.monitoring.production import (
    AssetError,
    PeriodKind,
    asset_oee,
    data_until,
    equipment_below,
)
from smartfab.apps.monitoring.states import StateSeries, Timeline, state_in_force
from smartfab.model.plant import EquipmentRef, value_kind
from smartfab.platform.points import EventKind, now_us
from smartfab.platform.queries import PlantData, TimeRange
from smartfab.web.auth import require
from smartfab.web.schemas import Columns, End, Start, WithUnit, epoch_us, finite, table_out

# Raw points an SPC request reads at most: a shift of a 1 Hz signal is 28,800. A longer range
# is read as SPC_STRETCHES evenly spaced stretches of SPC_MAX_POINTS / SPC_STRETCHES points each,
# which is where its subgroups, spread over the range, are taken from anyway.
SPC_MAX_POINTS = 500_000
SPC_STRETCHES = 100

ChartKind = Literal["xbar_r", "xbar_s", "imr"]
RuleSet = Literal["western_electric", "nelson"]


class OeeOut(BaseModel):
    """OEE figures, one row per period: ISO 22400 times (s), quantities, availability,
    performance, quality, OEE (fractions; null where not defined), the six big losses (s),
    failures, MTBF and MTTR (s)."""

    path: str
    period: PeriodKind
    in_progress: bool = Field(
        description="The range had not ended: its last period holds its figures up to now"
    )
    data_until: str | None = Field(
        description="Where the store's data ends, when that is before the range's end: the "
        "time after it is unknown (unknown_s), in no ISO 22400 time"
    )
    equipment: list[str] = Field(description="Equipment whose figures are summed")
    skipped: list[str] = Field(description="Equipment below the path without an ideal cycle time")
    total: Columns
    by_equipment: dict[str, Columns] | None = None


class TimelineOut(Columns):
    equipment: str
    states: list[str] = Field(description="The state names that occur")


class ChartOut(BaseModel):
    statistic: str
    columns: dict[str, list[Any]] = Field(
        description="ts (of the subgroup's first point), value, center, ucl, lcl, sigma"
    )
    beyond_limits: list[int]
    violations: dict[str, list[int]] = Field(description="Rule number -> indices of points")


class CapabilityOut(BaseModel):
    lsl: float | None
    usl: float | None
    mean: float | None
    sigma_within: float | None
    sigma_overall: float | None
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None


class SpcOut(WithUnit):
    signal: str
    chart: ChartKind
    rules: RuleSet
    subgroup_size: int = Field(description="Subgroup size used (1 for individuals)")
    subgroups: int = Field(description="Subgroups plotted; 0 when the points are too few")
    points_used: int = Field(description="Points in the range (in the selected state)")
    points_needed: int = Field(
        description=f"Points the chart needs: {spc.MIN_SUBGROUPS} subgroups of its size"
    )
    too_few: str | None = Field(
        None, description="Why there is no chart, and what to do: set when points_used is short"
    )
    state: str | None
    sampled: bool = Field(
        False,
        description="The range held more points than a request reads: they were taken from "
        "evenly spaced stretches of it",
    )
    charts: list[ChartOut] = Field(description="The chart pair; empty when the points are too few")
    capability: CapabilityOut | None
    capability_error: str | None = None


def router(data: PlantData) -> APIRouter:
    # Each route names its asset (path, equipment, signal), which the permission checks.
    api = APIRouter(tags=["monitoring"], dependencies=[require("plant.read")])

    @api.get("/oee", response_model=OeeOut, summary="OEE, losses, MTBF and MTTR of an asset")
    def oee(
        path: Annotated[str, Query(description="Equipment, cell, line, area or site path")],
        start: Start = None,
        end: End = None,
        period: Annotated[
            PeriodKind, Query(description="One custom range, local calendar days or shifts")
        ] = "range",
        by_equipment: Annotated[
            bool, Query(description="Also return each equipment's own figures")
        ] = False,
    ) -> OeeOut:
        refs = _equipment_below(data, path)
        assert data.plant is not None
        # Cut at now and at the data's end by asset_oee itself, as for reports and the CLI.
        r = TimeRange.of(start, end, default=timedelta(days=1))
        try:
            result = asset_oee(data.store, data.plant, path, r.start_us, r.end_us, period)
        except AssetError as exc:
            raise HTTPException(422, str(exc)) from None
        return OeeOut(
            path=path,
            period=period,
            in_progress=result.in_progress,
            data_until=None if result.known_until is None else _iso(result.known_until),
            equipment=list(result.equipment),
            skipped=[ref.path for ref in refs if ref.equipment.ideal_cycle_s is None],
            total=table_out(result.figures.to_arrow()),
            by_equipment=(
                {p: table_out(f.to_arrow()) for p, f in result.equipment.items()}
                if by_equipment
                else None
            ),
        )

    @api.get("/timeline", response_model=TimelineOut, summary="State timeline of an equipment")
    def timeline(
        equipment: Annotated[str, Query(description="Equipment path")],
        start: Start = None,
        end: End = None,
    ) -> TimelineOut:
        ref = _one_equipment(data, equipment)
        r = _until_now(TimeRange.of(start, end, default=timedelta(days=1)))
        events = data.store.events(r.start_us, r.end_us, ref.path, [EventKind.STATE], None)
        series = StateSeries.from_events(events, state_in_force(data.store, ref.path, r.start_us))
        # As in the OEE: after the store's newest data the state is unknown, so no segment.
        newest = data_until(data.store, events)
        known = r.end_us if newest is None else min(r.end_us, newest)
        segments = (
            series.timeline(r.start_us, known)
            if known > r.start_us
            else Timeline(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, object))
        )
        ts = pa.timestamp("us", tz="UTC")
        table = pa.table(
            {
                "start": pa.array(segments.start, pa.int64()).cast(ts),
                "end": pa.array(segments.end, pa.int64()).cast(ts),
                "state": pa.array(segments.state.tolist(), pa.string()),
            }
        )
        out = table_out(table)
        return TimelineOut(
            equipment=ref.path,
            states=sorted(set(out.columns["state"])),
            rows=out.rows,
            columns=out.columns,
        )

    @api.get("/spc", response_model=SpcOut, summary="Control chart, run rules and capability")
    def spc_chart(
        signal: Annotated[str, Query(description="Signal path of a measurement")],
        start: Start = None,
        end: End = None,
        chart: Annotated[ChartKind, Query(description="X-bar/R, X-bar/S or I-MR")] = "xbar_r",
        n: Annotated[
            int | None,
            Query(
                ge=2,
                le=25,
                description="Subgroup size of X-bar charts; empty: the largest up to "
                f"{spc.DEFAULT_SIZE} that gives {spc.TARGET_SUBGROUPS} subgroups",
            ),
        ] = None,
        subgroups: Annotated[
            int | None,
            Query(
                ge=spc.MIN_SUBGROUPS,
                le=1000,
                description="Most subgroups (or individuals) to plot; empty: as many as the "
                f"points fill, up to {spc.AUTO_MAX_SUBGROUPS}",
            ),
        ] = None,
        rules: Annotated[RuleSet, Query(description="Run rules to mark")] = "western_electric",
        state: Annotated[
            str | None,
            Query(
                description="Only points taken while the equipment was in this state; "
                "empty for all points"
            ),
        ] = "running",
        lsl: Annotated[float | None, Query(description="Lower specification limit")] = None,
        usl: Annotated[float | None, Query(description="Upper specification limit")] = None,
    ) -> SpcOut:
        info = data.signal(signal)
        if value_kind(info.data_type) != "number" or info.data_type == "enum":
            raise HTTPException(
                422, f"{signal} is a {info.data_type} signal: SPC charts measured numbers only"
            )
        r = _until_now(TimeRange.of(start, end, default=timedelta(hours=8)))
        t = data.store.raw([info.id], r.start_us, r.end_us, SPC_MAX_POINTS + 1)
        sampled = t.num_rows > SPC_MAX_POINTS
        if sampled:
            edges = np.linspace(r.start_us, r.end_us, SPC_STRETCHES + 1).astype(np.int64)
            per = SPC_MAX_POINTS // SPC_STRETCHES
            t = pa.concat_tables(
                [data.store.raw([info.id], int(a), int(b), per) for a, b in pairwise(edges)]
            )
        ts, values = epoch_us(t.column("ts")), t.column("value").to_numpy().astype(np.float64)
        keep = np.isfinite(values)
        state = state or None
        if state is not None:
            series = StateSeries.from_events(
                data.store.events(r.start_us, r.end_us, info.equipment, [EventKind.STATE], None),
                state_in_force(data.store, info.equipment, r.start_us),
            )
            names = np.array([*series.names, ""], dtype=object)  # code -1 (unknown) -> ""
            keep &= names[series.in_force(ts)] == state
        # A value per part (cycle time, a measured dimension) is held by the device until the
        # next part, so 1 s samples repeat it; a repeat is not a new observation, and subgroups
        # of repeats would have no spread at all. Keep each value where it changes.
        keep[1:] &= values[1:] != values[:-1]
        ts, values = ts[keep], values[keep]
        plan = spc.plan_subgroups(values.size, 1 if chart == "imr" else n, subgroups)
        answer: dict[str, Any] = {
            "signal": signal, "unit": info.unit, "chart": chart, "rules": rules,
            "subgroup_size": plan.size, "subgroups": plan.count, "points_used": plan.available,
            "points_needed": plan.needed, "state": state, "sampled": sampled,
        }  # fmt: skip
        if not plan.enough:
            # An answer, not an error: the page explains it and offers what would help.
            remedies = ["a longer range"]
            if chart != "imr":
                remedies += ["a smaller subgroup size n", "the I-MR chart"]
            if state:
                remedies.append("points of every state (state empty)")
            choose = " or ".join(
                [", ".join(remedies[:-1]), remedies[-1]] if remedies[1:] else remedies
            )
            return SpcOut(
                **answer, charts=[], capability=None,
                too_few=f"{plan.available} points in the range{f' while {state}' if state else ''}"
                f"; the chart needs {plan.needed} ({spc.MIN_SUBGROUPS} subgroups of {plan.size})."
                f" Choose {choose}.",
            )  # fmt: skip
        picked = plan.indices()
        groups = values[picked]
        group_ts = ts[picked[:, 0]]
        try:
            if chart == "imr":
                charts = spc.individuals_mr(groups[:, 0])
                within: WithinSigma = "moving_range"
                sample: npt.NDArray[np.float64] = groups[:, 0]
            else:
                charts = spc.xbar_r(groups) if chart == "xbar_r" else spc.xbar_s(groups)
                within = "range" if chart == "xbar_r" else "stdev"
                sample = groups
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        check = runrules.western_electric if rules == "western_electric" else runrules.nelson
        # The MR chart has one point fewer than the individuals: its point i is |x[i+1] - x[i]|.
        out_charts = [
            _chart_out(c, group_ts[len(group_ts) - len(c.value) :], check) for c in charts
        ]
        cap, cap_error = None, None
        if lsl is not None or usl is not None:
            try:
                cap = _capability_out(capability(sample, lsl, usl, within), lsl, usl)
            except ValueError as exc:
                cap_error = str(exc)
        return SpcOut(**answer, charts=out_charts, capability=cap, capability_error=cap_error)

    return api


# --- selecting what to compute ------------------------------------------------------------------


def _equipment_below(data: PlantData, path: str) -> list[EquipmentRef]:
    if data.plant is None:
        raise HTTPException(404, "this server was started without a plant model")
    try:
        return equipment_below(data.plant, path)
    except AssetError as exc:
        raise HTTPException(404, str(exc)) from None


def _one_equipment(data: PlantData, path: str) -> EquipmentRef:
    refs = _equipment_below(data, path)
    if len(refs) != 1 or refs[0].path != path.rstrip("/"):
        raise HTTPException(422, f"{path!r} is not one equipment: give an equipment's full path")
    return refs[0]


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat()


def _until_now(r: TimeRange) -> TimeRange:
    # Time that has not happened yet is in no state; counting it would dilute every figure.
    end = min(r.end_us, now_us())
    if end <= r.start_us:
        raise HTTPException(422, "the range lies entirely in the future")
    return TimeRange(r.start_us, end)


# --- SPC output -----------------------------------------------------------------------------------


def _chart_out(
    chart: spc.ControlChart,
    ts: npt.NDArray[np.int64],
    check: Callable[[Any, Any, Any], dict[int, npt.NDArray[np.intp]]],
) -> ChartOut:
    # Run rules measure zones in sigma; a chart whose statistic never varies has none to measure.
    violations = (
        {str(k): v.tolist() for k, v in check(chart.value, chart.center, chart.sigma).items()}
        if np.all(chart.sigma > 0)
        else {}
    )
    iso = pa.array(ts, pa.int64()).cast(pa.timestamp("us", tz="UTC")).to_pylist()
    cols: dict[str, list[Any]] = {"ts": [t.isoformat() for t in iso]}
    for name in ("value", "center", "ucl", "lcl", "sigma"):
        cols[name] = [finite(float(v)) for v in getattr(chart, name)]
    return ChartOut(
        statistic=chart.statistic,
        columns=cols,
        beyond_limits=chart.beyond_limits().tolist(),
        violations=violations,
    )


def _capability_out(c: Capability, lsl: float | None, usl: float | None) -> CapabilityOut:
    return CapabilityOut(
        lsl=lsl,
        usl=usl,
        **{
            k: finite(getattr(c, k))
            for k in ("mean", "sigma_within", "sigma_overall", "cp", "cpk", "pp", "ppk")
        },
    )
