"""The fleet manager: the planner it uses keeps AGVs apart and gets every task done, and its
plans go out as VDA 5050 orders that pass the standard's schema."""

from __future__ import annotations

from smartfab.apps.warehouse.fleet import FleetManager, grid_of
from smartfab.apps.warehouse.mapf import FleetPlanner, Grid, Task
from smartfab.config import DEMO_PLANT
from smartfab.devices.vda5050 import messages as vda
from smartfab.model.loader import load_plant

PLANT = load_plant(DEMO_PLANT)
ZONE = PLANT.zone("central")


def test_agents_cross_without_collisions() -> None:
    # two loaded AGVs cross an aisle of two lanes, an idle one stands in the way
    grid = Grid.from_rows(["..........", "..........", "@@@@@@@@@@"])
    planner = FleetPlanner(grid, seed=1)
    for i, x in enumerate((0, 6, 9)):
        planner.add_agent(f"a{i}", (x, 0))
    planner.submit(Task("t0", (0, 0), (9, 0)))
    planner.submit(Task("t1", (9, 0), (0, 0)))
    done: set[str] = set()
    before = {a.id: a.cell for a in planner.agents()}
    for _ in range(200):
        result = planner.step()
        cells = list(result.positions.values())
        assert len(set(cells)) == len(cells)  # never two on a cell
        for a, cell in result.positions.items():
            b = next((b for b, c in before.items() if c == cell and b != a), None)
            assert b is None or result.positions[b] != before[a]  # never a swap
            assert abs(cell[0] - before[a][0]) + abs(cell[1] - before[a][1]) <= 1
        before = dict(result.positions)
        done |= {t for _, t in result.delivered}
        if done == {"t0", "t1"}:
            break
    assert done == {"t0", "t1"}


def test_an_unreachable_task_is_reported_not_looped_on() -> None:
    planner = FleetPlanner(Grid.from_rows(["..@.."]), seed=1)
    planner.add_agent("a", (0, 0))
    planner.submit(Task("far", (1, 0), (4, 0)))
    assert planner.step().unreachable == ("far",)
    assert planner.queued() == [] and planner.step().unreachable == ()


def test_plans_go_out_as_valid_vda5050_orders_and_state_errors_break_an_agv() -> None:
    assert ZONE.fleet is not None
    planner = FleetPlanner(grid_of(ZONE))
    for agv in ZONE.fleet.agvs:
        planner.add_agent(agv.name, agv.at)
    manager = FleetManager(ZONE, ZONE.fleet, planner)
    planner.submit(Task("t1", (0, 0), (1, 9)))
    planner.step()
    ((serial, order),) = manager.orders()
    vda.check("order", order)
    nodes = order["nodes"]
    assert order["orderUpdateId"] == 0 and nodes[0]["released"] and not nodes[-1]["released"]
    assert nodes[-1]["nodePosition"]["mapId"] == "central"
    planner.step()
    ((_, update),) = manager.orders()
    assert update["orderId"] == order["orderId"] and update["orderUpdateId"] == 1
    name = next(a.name for a in ZONE.fleet.agvs if a.serial == serial)
    state = {"errors": [{"errorType": "driveFault", "errorLevel": "FATAL"}]}
    assert manager.on_state(serial, state) == name
    assert planner.state(name).broken
    manager.on_state(serial, {"errors": []})
    assert not planner.state(name).broken
