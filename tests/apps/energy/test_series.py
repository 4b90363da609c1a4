from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.energy.costs import co2_kg, cost
from smartfab.apps.energy.intensity import by_line, by_product
from smartfab.apps.energy.profile import profile, total
from smartfab.apps.energy.series import INTERVAL_US, Intervals
from smartfab.model.plant import EmissionFactor, EnergyTariff

H = 3600 * 1_000_000


def _series(path: str, kwh: float, good: float, product: str) -> Intervals:
    n = 4 * 24 * 7
    return Intervals(path, np.arange(n, dtype=np.int64) * INTERVAL_US, np.full(n, kwh),
                     np.full(n, good), np.full(n, product, object))  # fmt: skip


def test_energy_per_good_part_by_line_and_product() -> None:
    s = [_series("s/a/l1/c/m1", 2.0, 4, "P1"), _series("s/a/l1/c/m2", 1.0, 1, "P2"),
         _series("s/a/l2/c/m3", 3.0, 0, "P1")]  # fmt: skip
    lines = {i.key: i.kwh_per_good for i in by_line(s)}
    assert lines == {"s/a/l1": pytest.approx(3 / 5), "s/a/l2": None}
    products = {i.key: i.kwh_per_good for i in by_product(s)}
    assert products["P1"] == pytest.approx(5 / 4) and products["P2"] == pytest.approx(1.0)


TARIFF = EnergyTariff(
    currency="CNY", unit="CNY/kWh", demand_charge=30,
    periods=[{"name": "valley", "start": "22:00", "end": "08:00", "price": 0.3},
             {"name": "peak", "start": "08:00", "end": "22:00", "price": 1.0}],
)  # fmt: skip


def test_time_of_use_cost_peak_demand_and_co2() -> None:
    load = total([_series("s/a/l/c/m", 0.25, 0, "")])  # 1 kW all week
    c = cost(load, TARIFF, "UTC")
    assert c.kwh_by_period == {"valley": pytest.approx(70.0), "peak": pytest.approx(98.0)}
    assert c.energy == pytest.approx(70 * 0.3 + 98 * 1.0)
    assert c.demand == pytest.approx(30 * 1.0 * 7 / 30.4375)
    assert load.peak == (0, pytest.approx(1.0))
    assert co2_kg(168.0, EmissionFactor(value=570.3, unit="gCO2e/kWh")) == pytest.approx(
        95.81, 1e-3
    )
    p = profile(load, "UTC")
    assert np.allclose(p.weekday, 1.0) and np.allclose(p.weekend, 1.0)
