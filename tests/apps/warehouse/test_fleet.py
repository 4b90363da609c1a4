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


def _manager(run: str = "s0.1") -> tuple[FleetPlanner, FleetManager]:
    assert ZONE.fleet is not None
    planner = FleetPlanner(grid_of(ZONE))
    for agv in ZONE.fleet.agvs:
        planner.add_agent(agv.name, agv.at)
    return planner, FleetManager(ZONE, ZONE.fleet, planner, run)


def test_reported_pauses_hold_an_agv_and_only_changes_are_applied() -> None:
    assert ZONE.fleet is not None
    planner, manager = _manager()
    planner.submit(Task("t1", (0, 0), (1, 9)))
    planner.step()
    name = next(a.id for a in planner.agents() if a.task == "t1")
    serial = next(a.serial for a in ZONE.fleet.agvs if a.name == name)
    manager.on_state(serial, {"errors": [], "paused": True})
    st = planner.state(name)
    assert st.held and not st.broken and st.task == "t1" and manager.paused[name]
    # the simulation repairs what a stale report said: the same report again undoes nothing
    planner.set_held(name, False)
    manager.on_state(serial, {"errors": [], "paused": True})
    assert not planner.state(name).held
    manager.on_state(serial, {"errors": [], "paused": False})
    manager.on_state(serial, {"errors": [], "paused": True})
    assert planner.state(name).held
    # a breakdown reported while paused, then the repair: the pause stays
    manager.on_state(serial, {"errors": [{"errorType": "x", "errorLevel": "FATAL"}],
                              "paused": True})  # fmt: skip
    manager.on_state(serial, {"errors": [], "paused": True})
    assert planner.state(name).held and not planner.state(name).broken
    assert manager.on_state("no-such-agv", {"errors": []}) is None


def test_a_cancelled_order_is_followed_by_a_new_one_and_ids_carry_the_run() -> None:
    planner, manager = _manager("s7.19a")
    planner.submit(Task("t1", (0, 0), (1, 9)))
    planner.step()
    ((serial, order),) = manager.orders()
    assert order["orderId"].startswith("s7.19a-t1-")
    planner.step()
    ((_, update),) = manager.orders()
    assert update["orderId"] == order["orderId"]
    cancelled = {
        "errors": [], "orderId": order["orderId"], "nodeStates": [], "edgeStates": [],
        "actionStates": [{"actionId": "c1", "actionType": "cancelOrder",
                          "actionStatus": "FINISHED"}],
    }  # fmt: skip
    manager.on_state(serial, cancelled)
    ((_, new),) = manager.orders()
    assert new["orderId"] != order["orderId"] and new["orderUpdateId"] == 0
    # the same report again (not yet the new order's) changes nothing: updates of the new one
    manager.on_state(serial, cancelled)
    ((_, again),) = manager.orders()
    assert again["orderId"] == new["orderId"] and again["orderUpdateId"] == 1
    # an operator's pause goes out as an instantActions message of its own id
    msg = manager.instant_action(serial, "startPause")
    vda.check("instantActions", msg)
    ((act,),) = [msg["actions"]]
    assert act["actionType"] == "startPause" and act["actionId"].startswith("s7.19a-")
    assert msg["serialNumber"] == serial
