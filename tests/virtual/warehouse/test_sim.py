"""The virtual warehouse of the demo plant: its ground truth adds up, it is the same for a seed,
and the optimised warehouse decides differently from the baseline on the same demand."""

from __future__ import annotations

from collections import Counter

import pytest

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.virtual.warehouse import VirtualWarehouse, run_virtual_warehouse
from smartfab.virtual.warehouse.demand import Demand
from smartfab.virtual.warehouse.sim import VirtualWarehouseError

PLANT = load_plant(DEMO_PLANT)


@pytest.fixture(scope="module")
def day() -> tuple[VirtualWarehouse, dict[str, float]]:
    warehouse = VirtualWarehouse(PLANT, seed=3, optimised=True)
    return warehouse, warehouse.run(0.5)


def test_every_load_stored_was_received_and_every_shipped_order_sorted(
    day: tuple[VirtualWarehouse, dict[str, float]],
) -> None:
    warehouse, metrics = day
    kinds = Counter(m.kind for m in warehouse.movements)
    assert kinds["receive"] and kinds["store"] and kinds["pick"] and kinds["ship"]
    received = {m.load for m in warehouse.movements if m.kind == "receive"}
    assert {m.load for m in warehouse.movements if m.kind == "store"} <= received
    for order in warehouse.orders.values():
        if order.shipped is not None and order.in_full:
            assert all(li.sorted_qty >= li.qty for li in order.lines)
    assert 0.0 <= metrics["otif"] <= 1.0 and metrics["orders"] > 0
    assert metrics["unreachable_tasks"] == 0
    assert warehouse.movements == sorted(warehouse.movements, key=lambda m: m.t)
    # the line consumed what the virtual plant's machine counted
    assert kinds["consume"] > 0 and kinds["replenish"] > 0


def test_the_same_seed_gives_the_same_warehouse(
    day: tuple[VirtualWarehouse, dict[str, float]],
) -> None:
    again = VirtualWarehouse(PLANT, seed=3, optimised=True)
    assert again.run(0.5) == day[1]


def test_optimised_and_baseline_see_the_same_demand() -> None:
    opt = run_virtual_warehouse(0.5, 5, True)
    base = run_virtual_warehouse(0.5, 5, False)
    assert opt["orders"] == base["orders"]
    assert opt["dual_cycles"] > 0 and base["dual_cycles"] == 0
    assert opt["travel_m_per_line"] < base["travel_m_per_line"]


def test_the_baseline_misses_due_dates_the_optimised_warehouse_meets() -> None:
    # a busy morning: 2,500 lines a day at the demo's daily profile
    demand = Demand(lines_per_day=2500)
    opt = VirtualWarehouse(PLANT, seed=1, optimised=True, demand=demand)
    base = VirtualWarehouse(PLANT, seed=1, optimised=False, demand=demand)
    m_opt, m_base = opt.run(0.5), base.run(0.5)
    assert m_opt["order_lines"] == m_base["order_lines"] > 1000
    assert m_opt["otif"] >= 0.99 and m_base["otif"] < 0.97
    assert m_base["lead_time_h"] > 2 * m_opt["lead_time_h"]
    # the lead time is picking, sorting, packing and the wait for the truck: an order ships
    # at a departure, after its last item was sorted and it was packed
    sorted_at = {m.order: m.t for m in opt.movements if m.kind == "sort"}
    shipped = [o for o in opt.orders.values() if o.shipped is not None and o.in_full]
    assert len(shipped) > 300
    for o in shipped:
        assert o.shipped is not None and o.packed is not None
        assert o.shipped % 3600 == 0 and sorted_at[o.id] < o.packed <= o.shipped
    assert m_opt["lead_time_h"] > 0.25


def test_a_zone_it_cannot_simulate() -> None:
    with pytest.raises(VirtualWarehouseError, match="no storage zone 'nowhere'"):
        VirtualWarehouse(PLANT, "nowhere")
