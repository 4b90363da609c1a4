"""An asset's energy over a time range, as the API and the command line show it: energy and
energy per good part by asset, line, shift and product, the load curve and its peak, cost and
CO2; and the baseline with its EnPI and CUSUM per period."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartfab.apps.energy.baseline import Baseline, Performance, fit_baseline, performance
from smartfab.apps.energy.costs import Cost, co2_kg, cost
from smartfab.apps.energy.intensity import Intensity, by_asset, by_line, by_period, by_product
from smartfab.apps.energy.profile import Load, Profile, profile, total
from smartfab.apps.energy.series import Intervals, intervals
from smartfab.apps.monitoring.periods import Periods, calendar_periods
from smartfab.apps.monitoring.production import PeriodKind, equipment_below, periods, shifts_of
from smartfab.model.plant import Plant
from smartfab.platform.store.base import Store


@dataclass(frozen=True)
class EnergyReport:
    path: str
    kwh: float
    good: float
    assets: list[Intensity]
    lines: list[Intensity]
    shifts: list[Intensity]
    products: list[Intensity]
    load: Load
    profile: Profile
    cost: Cost | None
    co2_kg: float | None


def series_of(store: Store, plant: Plant, path: str, start: int, end: int) -> list[Intervals]:
    return intervals(store, plant, equipment_below(plant, path), start, end)


def energy_report(store: Store, plant: Plant, path: str, start: int, end: int) -> EnergyReport:
    series = series_of(store, plant, path, start, end)
    tz = plant.site.timezone
    shifts = calendar_periods(start, end, tz, shifts_of(plant, path))
    load = total(series)
    settings = plant.energy
    kwh = float(sum(s.kwh.sum() for s in series))
    return EnergyReport(
        path.strip("/"), kwh, float(sum(s.good.sum() for s in series)), by_asset(series),
        by_line(series), by_period(series, shifts), by_product(series), load,
        profile(load, tz),
        cost(load, settings.tariff, tz) if settings and settings.tariff else None,
        co2_kg(kwh, settings.emission_factor) if settings and settings.emission_factor else None,
    )  # fmt: skip


@dataclass(frozen=True)
class BaselineReport:
    baseline: Baseline
    periods: Periods  # of the reporting range
    performance: Performance


def _per_period(series: list[Intervals], at: Periods) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # type: ignore[type-arg]
    """Energy and relevant variables per period: good parts, and good parts of each product (the
    product mix)."""
    n = len(at)
    energy = np.zeros(n)
    variables: dict[str, np.ndarray] = {"good_parts": np.zeros(n)}  # type: ignore[type-arg]
    for s in series:
        i = np.searchsorted(at.start, s.start, "right") - 1
        inside = (i >= 0) & (s.start < at.end[np.maximum(i, 0)])
        np.add.at(energy, i[inside], s.kwh[inside])
        np.add.at(variables["good_parts"], i[inside], s.good[inside])
        for product in set(s.product[inside]) - {""}:
            m = inside & (s.product == product)
            v = variables.setdefault(f"parts.{product}", np.zeros(n))
            np.add.at(v, i[m], s.good[m])
    return energy, variables


def baseline_report(
    store: Store, plant: Plant, path: str, base: tuple[int, int], report: tuple[int, int],
    by: PeriodKind = "day",
) -> BaselineReport:  # fmt: skip
    """The baseline fitted on the periods of ``base``, and the periods of ``report`` against it."""
    base_periods = periods(plant, path, *base, by)
    e0, v0 = _per_period(series_of(store, plant, path, *base), base_periods)
    # Periods without any production say nothing of how energy follows output.
    worked = v0["good_parts"] > 0
    fitted = fit_baseline(e0[worked], {k: v[worked] for k, v in v0.items()})
    rep_periods = periods(plant, path, *report, by)
    e1, v1 = _per_period(series_of(store, plant, path, *report), rep_periods)
    for name in fitted.variables:
        v1.setdefault(name, np.zeros(len(rep_periods)))
    return BaselineReport(fitted, rep_periods, performance(fitted, e1, v1))
