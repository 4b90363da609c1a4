"""Customer demand of the virtual warehouse: the volume, daily profile, order sizes and due dates
it is configured with are what it draws."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.model.plant import OrderDemand
from smartfab.virtual.warehouse.demand import Demand, draw_orders, expected_lines

SKUS = {"A1": ("A", 200), "A2": ("A", 1), "B1": ("B", 36), "C1": ("C", 4)}


def test_the_orders_follow_the_volume_profile_sizes_and_service() -> None:
    demand = Demand(lines_per_day=1000)
    days = 20
    orders = draw_orders(demand, SKUS, days, np.random.default_rng(1))
    lines = [len(o.lines) for o in orders]
    assert sum(lines) / days == pytest.approx(1000, rel=0.05)
    assert np.mean(lines) == pytest.approx(demand.mean_lines(len(SKUS)), rel=0.05)
    assert min(lines) >= 1 and max(lines) <= len(SKUS)
    assert [o.t for o in orders] == sorted(o.t for o in orders)
    # the daily profile: the morning peak takes many times the night's orders
    hour = np.array([int(o.t % 86_400 // 3600) for o in orders])
    assert np.sum((hour >= 8) & (hour < 10)) > 5 * np.sum(hour < 2)
    # due dates on a departure, 2 h to a day after the order, the express share about 20 %
    lead_h = np.array([(o.due - o.t) / 3600 for o in orders])
    assert all(o.due % 3600 == 0 for o in orders)
    assert lead_h.min() >= 2 and lead_h.max() <= 25
    assert np.mean(lead_h <= 3) == pytest.approx(0.2, abs=0.03)
    # a single-unit SKU is ordered one at a time, the others 1 to 20 units
    qty = {sku: [q for o in orders for s, q in o.lines if s == sku] for sku in SKUS}
    assert set(qty["A2"]) == {1} and max(qty["A1"]) == 20 and min(qty["C1"]) == 1
    assert max(qty["C1"]) == 4
    # the SKUs by their class's weight (flattened: an order takes a SKU once at most)
    assert len(qty["A1"]) > len(qty["B1"]) > 2 * len(qty["C1"])


def test_the_same_seed_draws_the_same_customers() -> None:
    a = draw_orders(Demand(), SKUS, 2, np.random.default_rng(7))
    b = draw_orders(Demand(), SKUS, 2, np.random.default_rng(7))
    c = draw_orders(Demand(), SKUS, 2, np.random.default_rng(8))
    assert a == b and a != c


def test_shares_of_the_day_and_expected_lines() -> None:
    demand = Demand()
    shares = demand.share_between((6 * 3600.0, 14 * 3600.0))
    assert sum(shares) == pytest.approx(1.0) and shares[0] > shares[1]
    assert demand.share_between((0.0,)) == [1.0]
    flat = Demand(hourly=(1.0,) * 24)
    assert flat.share_between((6 * 3600.0, 18 * 3600.0)) == pytest.approx([0.5, 0.5])
    per_sku = expected_lines(demand, SKUS)
    assert sum(per_sku.values()) == pytest.approx(1000)
    assert per_sku["A1"] == pytest.approx(1000 * 0.7 / 1.7)
    assert demand.departure_after(3600.0) == 3600.0 and demand.departure_after(3601.0) == 7200.0


def test_the_plant_file_states_the_demand() -> None:
    zone = load_plant(DEMO_PLANT).zone("central")
    demand = Demand.of(zone.demand)
    assert zone.demand is not None and demand.lines_per_day == zone.demand.lines_per_day == 1500
    assert demand.hourly[9] == 2.0 and demand.service[0] == (2.0, 0.2)
    assert Demand.of(None) == Demand()
    with pytest.raises(ValidationError, match="at least 24"):
        OrderDemand(hourly=[1.0] * 23)
    with pytest.raises(ValidationError, match="cannot exceed max_lines"):
        OrderDemand(lines_per_order=5, max_lines=4)
    with pytest.raises(ValueError, match="24 non-negative weights"):
        Demand(hourly=(0.0,) * 24)
