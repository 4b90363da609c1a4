"""Energy cost under the plant file's time-of-use tariff, and CO2 from its emission factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from smartfab.apps.energy.profile import Load
from smartfab.apps.energy.series import INTERVAL_US
from smartfab.model.plant import EmissionFactor, EnergyTariff
from smartfab.platform.points import Float64Array


@dataclass(frozen=True)
class Cost:
    currency: str
    energy: float  # the energy charge
    demand: float  # the demand charge: each month's peak kW, pro rata of the month covered
    by_period: dict[str, float]  # energy charge per tariff period (peak, flat, valley ...)
    kwh_by_period: dict[str, float]

    @property
    def total(self) -> float:
        return self.energy + self.demand


def cost(load: Load, tariff: EnergyTariff, timezone: str) -> Cost:
    zone = ZoneInfo(timezone)
    kwh = load.kw * INTERVAL_US / 3.6e9
    prices = np.empty(len(kwh))
    names: list[str] = []
    months: list[tuple[int, int]] = []
    for i, t in enumerate(load.start):
        local = datetime.fromtimestamp(int(t) / 1e6, zone)
        minute = local.hour * 60 + local.minute
        period = tariff.period_at(local.weekday(), minute)
        prices[i] = period.price
        names.append(period.name)
        months.append((local.year, local.month))
    by: dict[str, float] = {}
    kby: dict[str, float] = {}
    for name, p, e in zip(names, prices, kwh, strict=True):
        by[name] = by.get(name, 0.0) + float(p * e)
        kby[name] = kby.get(name, 0.0) + float(e)
    demand = 0.0
    if tariff.demand_charge and len(kwh):
        for month in set(months):
            mask = np.array([m == month for m in months])
            share = mask.sum() * INTERVAL_US / (30.4375 * 86_400e6)  # of a mean month
            demand += tariff.demand_charge * float(load.kw[mask].max()) * min(share, 1.0)
    return Cost(tariff.currency, float(np.sum(prices * kwh)), demand, by, kby)


def co2_kg(kwh: Float64Array | float, factor: EmissionFactor) -> float:
    return float(np.sum(kwh)) * factor.kg_per_kwh
