"""Energy management over HTTP (viewers read): an asset's energy, energy per good part by asset,
line, shift and product, load curve and peak demand, time-of-use cost and CO2; the energy
baseline with EnPI and CUSUM (:mod:`smartfab.apps.energy`)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from smartfab.apps.energy.baseline import BaselineError
from smartfab.apps.energy.intensity import Intensity
from smartfab.apps.energy.report import baseline_report, energy_report
from smartfab.apps.energy.series import EnergyDataError
from smartfab.apps.monitoring.production import AssetError, PeriodKind
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData, TimeRange
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import require
from smartfab.web.schemas import End, Instant, Start


class IntensityOut(BaseModel):
    key: str
    kwh: float
    good: float
    kwh_per_good: float | None


class CostOut(BaseModel):
    currency: str
    energy: float
    demand: float
    total: float
    by_period: dict[str, float]
    kwh_by_period: dict[str, float]


class EnergyOut(BaseModel):
    path: str
    kwh: float
    good: float
    kwh_per_good: float | None
    assets: list[IntensityOut]
    lines: list[IntensityOut]
    shifts: list[IntensityOut]
    products: list[IntensityOut]
    peak_kw: float
    peak_at: int  # epoch µs, start of the 15-minute interval
    cost: CostOut | None
    co2_kg: float | None


class LoadOut(BaseModel):
    ts: list[int]  # interval starts, epoch µs
    kw: list[float]
    profile_weekday: list[float | None]  # mean kW by local hour
    profile_weekend: list[float | None]


class BaselineOut(BaseModel):
    variables: list[str]
    dropped: list[str]
    intercept: float
    coef: list[float]
    r2: float
    cv_rmse: float
    baseline_periods: int
    labels: list[str]
    start: list[int]
    actual: list[float]
    expected: list[float]
    enpi: list[float | None]
    cusum: list[float]


def _rows(items: list[Intensity]) -> list[IntensityOut]:
    return [IntensityOut(key=i.key, kwh=i.kwh, good=i.good, kwh_per_good=i.kwh_per_good)
            for i in items]  # fmt: skip


def _nan(v: float) -> float | None:
    return None if math.isnan(v) else v


def router(data: PlantData) -> APIRouter:
    api = APIRouter(tags=["energy"])

    def plant() -> Plant:
        if data.plant is None:
            raise HTTPException(409, "the server runs without a plant file")
        return data.plant

    @api.get("/energy", response_model=EnergyOut, summary="Energy, cost and CO2 of an asset")
    def energy(
        path: Annotated[str, Query(description="Equipment, cell, line, area or site path")],
        who: Annotated[Principal, require("energy.read")],
        start: Start = None,
        end: End = None,
    ) -> EnergyOut:
        r = TimeRange.of(start, end)
        try:
            rep = energy_report(data.store, plant(), path, r.start_us, r.end_us)
        except (AssetError, EnergyDataError) as exc:
            raise HTTPException(404, str(exc)) from None
        peak_at, peak = rep.load.peak if len(rep.load.kw) else (r.start_us, 0.0)
        c = rep.cost
        return EnergyOut(
            path=rep.path, kwh=rep.kwh, good=rep.good,
            kwh_per_good=rep.kwh / rep.good if rep.good else None,
            assets=_rows(rep.assets), lines=_rows(rep.lines), shifts=_rows(rep.shifts),
            products=_rows(rep.products), peak_kw=peak, peak_at=peak_at,
            cost=None if c is None else CostOut(
                currency=c.currency, energy=c.energy, demand=c.demand, total=c.total,
                by_period=c.by_period, kwh_by_period=c.kwh_by_period),
            co2_kg=rep.co2_kg,
        )  # fmt: skip

    @api.get("/energy/load", response_model=LoadOut, summary="Load curve and daily profile")
    def load(
        path: Annotated[str, Query(description="Equipment, cell, line, area or site path")],
        who: Annotated[Principal, require("energy.read")],
        start: Start = None,
        end: End = None,
    ) -> LoadOut:
        r = TimeRange.of(start, end)
        try:
            rep = energy_report(data.store, plant(), path, r.start_us, r.end_us)
        except (AssetError, EnergyDataError) as exc:
            raise HTTPException(404, str(exc)) from None
        return LoadOut(
            ts=rep.load.start.tolist(), kw=rep.load.kw.tolist(),
            profile_weekday=[_nan(v) for v in rep.profile.weekday.tolist()],
            profile_weekend=[_nan(v) for v in rep.profile.weekend.tolist()],
        )  # fmt: skip

    @api.get("/energy/baseline", response_model=BaselineOut,
             summary="Energy baseline (ISO 50006), EnPI and CUSUM of savings")  # fmt: skip
    def baseline(
        path: Annotated[str, Query(description="Equipment, cell, line, area or site path")],
        baseline_start: Annotated[Instant, Query(description="Start of the baseline period")],
        baseline_end: Annotated[Instant, Query(description="End of the baseline period")],
        who: Annotated[Principal, require("energy.read")],
        start: Start = None,
        end: End = None,
        by: Annotated[PeriodKind, Query(description="Periods: local days or shifts")] = "day",
    ) -> BaselineOut:
        r = TimeRange.of(start, end)
        b = TimeRange.of(baseline_start, baseline_end)
        try:
            rep = baseline_report(data.store, plant(), path, (b.start_us, b.end_us),
                                  (r.start_us, r.end_us), by)  # fmt: skip
        except (AssetError, EnergyDataError) as exc:
            raise HTTPException(404, str(exc)) from None
        except BaselineError as exc:
            raise HTTPException(422, str(exc)) from None
        base, perf = rep.baseline, rep.performance
        return BaselineOut(
            variables=list(base.variables), dropped=list(base.dropped),
            intercept=base.intercept, coef=list(base.coef), r2=base.r2, cv_rmse=base.cv_rmse,
            baseline_periods=base.periods, labels=[str(x) for x in rep.periods.label],
            start=rep.periods.start.tolist(), actual=perf.actual.tolist(),
            expected=perf.expected.tolist(), enpi=[_nan(v) for v in perf.enpi.tolist()],
            cusum=perf.cusum.tolist(),
        )  # fmt: skip

    return api
