"""The virtual AGVs as VDA 5050 AGVs: schema-valid states read from the simulation, the
standard's rules on taking an order (where it starts, its update ids), and the instant actions
they act on (pause, resume, cancel the order, a state now), each reported in the state."""

from __future__ import annotations

from datetime import datetime

from smartfab.devices.vda5050 import messages as m
from smartfab.model.plant import StorageZone
from smartfab.virtual.warehouse.live import LiveWarehouse, VdaInbox
from tests.virtual.warehouse.plants import with_zones
from tests.virtual.warehouse.test_live import PLANT, TZ, Clock


def _live() -> LiveWarehouse:
    return LiveWarehouse(PLANT, "central", clock=Clock(datetime(2026, 12, 7, 9, 30, tzinfo=TZ)
                                                       .timestamp()))  # fmt: skip


def _state(live: LiveWarehouse, serial: str) -> m.Message:
    states = {s: st for s, st, _ in live.agvs.messages(live.sim)}
    return states[serial]


def test_orders_are_taken_by_the_rules_on_ids_and_shown_in_the_state() -> None:
    live = _live()
    agvs = live.agvs
    serial = live.sim.fleet_model.agvs[0].serial
    before = _state(live, serial)
    here = (before["agvPosition"]["x"], before["agvPosition"]["y"])
    cell = live.sim.zone.floor.cell_m
    head = m.Header(PLANT.site.name, serial)
    path = [here, (here[0] + cell, here[1])]

    # a new order starting elsewhere is refused, and says so once
    elsewhere = m.order(head("order"), "o-far", 0, [(here[0] + 5 * cell, here[1])], map_id="c")
    assert not agvs.take_order(serial, elsewhere)
    refused = _state(live, serial)
    assert refused["orderId"] == "" and refused["errors"][0]["errorType"] == "orderError"
    assert _state(live, serial)["errors"] == []

    # one starting where it stands is taken: its first node reached, the rest ahead
    assert agvs.take_order(serial, m.order(head("order"), "o1", 1, path, map_id="c"))
    st = _state(live, serial)
    assert (st["orderId"], st["orderUpdateId"]) == ("o1", 1)
    assert st["lastNodeId"] == m.node_id(*here) and st["lastNodeSequenceId"] == 0
    assert [n["nodeId"] for n in st["nodeStates"]] == [m.node_id(*path[1])]
    assert [e["sequenceId"] for e in st["edgeStates"]] == [1]

    # a repeat is ignored; an older update refused; a newer one taken
    assert not agvs.take_order(serial, m.order(head("order"), "o1", 1, path, map_id="c"))
    assert not agvs.take_order(serial, m.order(head("order"), "o1", 0, path[:1], map_id="c"))
    st = _state(live, serial)
    assert st["orderUpdateId"] == 1 and st["errors"][0]["errorType"] == "orderUpdateError"
    assert agvs.take_order(serial, m.order(head("order"), "o1", 2, path[:1], map_id="c"))
    st = _state(live, serial)
    assert st["orderUpdateId"] == 2 and st["nodeStates"] == [] and st["errors"] == []
    for _, state, vis in agvs.messages(live.sim):
        m.check("state", state)
        m.check("visualization", vis)


def _act(serial: str, *kinds: str, ids: tuple[str, ...] = ()) -> m.Message:
    head = m.Header(PLANT.site.name, serial)("instantActions")
    actions = [m.action(ids[i] if ids else f"a-{kind}-{i}", kind) for i, kind in enumerate(kinds)]
    return m.instant_actions(head, actions)


class Wire:
    """The broker between rounds: the fleet manager's messages reach the AGVs, and the AGVs'
    states the fleet manager, at the next round (as the server's bridge hands them on)."""

    def __init__(self) -> None:
        self.clock = Clock(datetime(2026, 12, 7, 9, 30, tzinfo=TZ).timestamp())
        self.live = LiveWarehouse(PLANT, "central", clock=self.clock)
        self.inbox = VdaInbox()
        self.name = {a.serial: a.name for a in self.live.sim.fleet_model.agvs}

    def round(self, seconds: float = 1.0, *actions: tuple[str, m.Message]) -> dict[str, m.Message]:
        """A round ``seconds`` after the last, with ``actions`` for the AGVs besides what went
        out before; the AGVs' states by serial."""
        self.clock.t += seconds
        self.inbox.instant_actions += actions
        out = self.live.vda5050_round(self.inbox)
        states = {serial: state for serial, state, _ in out.states}
        self.inbox = VdaInbox(states=states)
        for serial, topic, message in out.fleet:
            if topic == "order":
                self.inbox.orders.append((serial, message))
            else:
                self.inbox.instant_actions.append((serial, message))
        return states

    def driving(self) -> str:
        """The serial of an AGV with an order and a way to go, after as many rounds as it
        takes."""
        for _ in range(600):
            states = self.round()
            for serial, state in states.items():
                if len(state["nodeStates"]) > 3:
                    return serial
        raise AssertionError("no AGV set off")


def test_a_paused_agv_stands_with_its_task_and_goes_on_when_resumed() -> None:
    wire = Wire()
    serial = wire.driving()
    name, planner = wire.name[serial], wire.live.sim.planner
    state = wire.round(0.0, (serial, _act(serial, "startPause")))[serial]
    assert state["paused"] and not state["driving"]
    assert state["actionStates"] == [
        {"actionId": "a-startPause-0", "actionType": "startPause", "actionStatus": "FINISHED"}
    ]
    here, task = planner.state(name).cell, planner.state(name).task
    for _ in range(20):
        state = wire.round()[serial]
    st = planner.state(name)
    assert st.cell == here and st.task == task and st.held and not st.broken
    assert state["paused"] and state["nodeStates"]  # it keeps its order
    assert wire.live.sim.agvs[name].broken_until == 0.0  # not counted as a breakdown
    # the fleet side read it from the AGV's state
    (shown,) = [a for a in wire.live.snapshot()["agvs"] if a["serial"] == serial]
    assert shown["state"] == "paused" and shown["paused"]
    state = wire.round(0.0, (serial, _act(serial, "stopPause")))[serial]
    assert not state["paused"]
    assert [a["actionStatus"] for a in state["actionStates"]] == ["FINISHED", "FINISHED"]
    for _ in range(10):
        wire.round()
    assert planner.state(name).cell != here and not planner.state(name).held


def test_a_cancelled_order_leaves_the_agv_standing_until_a_new_one() -> None:
    wire = Wire()
    serial = wire.driving()
    name, planner = wire.name[serial], wire.live.sim.planner
    state = wire.round(0.0, (serial, _act(serial, "cancelOrder")))[serial]
    assert state["nodeStates"] == [] and state["edgeStates"] == [] and state["orderId"]
    assert state["actionStates"][-1]["actionStatus"] == "FINISHED" and not state["driving"]
    cancelled, here = state["orderId"], planner.state(name).cell
    # the update of the cancelled order that was on its way is refused; the fleet manager,
    # reading the state, sends a new order
    state = wire.round()[serial]
    assert state["errors"][0]["errorType"] == "orderUpdateError"
    assert planner.state(name).cell == here and planner.state(name).held
    (new,) = [o for s, o in wire.inbox.orders if s == serial]
    assert new["orderId"] != cancelled and new["orderUpdateId"] == 0
    # which it takes where it stands, and drives on
    state = wire.round()[serial]
    assert state["orderId"] == new["orderId"] and state["actionStates"] == []
    assert not planner.state(name).held
    for _ in range(5):
        wire.round()
    assert planner.state(name).cell != here


def test_instant_actions_are_reported_unknown_ones_failed_repeats_ignored() -> None:
    clock = Clock(datetime(2026, 12, 7, 9, 30, tzinfo=TZ).timestamp())
    live = LiveWarehouse(PLANT, "central", clock=clock)
    agvs = live.agvs
    serial = live.sim.fleet_model.agvs[0].serial
    msg = _act(serial, "stateRequest", "cancelOrder", "dance", ids=("r1", "c1", "d1"))
    assert agvs.take_instant_actions(serial, msg) == ["stateRequest", "cancelOrder", "dance"]
    assert agvs.take_instant_actions(serial, msg) == []  # QoS 1 repeats: not taken again
    state = _state(live, serial)
    m.check("state", state)
    by_id = {a["actionId"]: a for a in state["actionStates"]}
    assert by_id["r1"]["actionStatus"] == "FINISHED"
    assert by_id["c1"]["actionStatus"] == "FAILED"
    assert by_id["c1"]["resultDescription"] == "no order to cancel"
    assert by_id["d1"]["actionStatus"] == "FAILED" and "dance" in by_id["d1"]["resultDescription"]
    assert [e["errorType"] for e in state["errors"]] == ["noOrderToCancel"]
    assert not state["paused"] and agvs.take_instant_actions("nobody", msg) == []


def _cells(order: m.Message, cell_m: float) -> set[tuple[int, int]]:
    return {
        (round(n["nodePosition"]["x"] / cell_m), round(n["nodePosition"]["y"] / cell_m))
        for n in order["nodes"] if n["released"]
    }  # fmt: skip


def test_agvs_drive_only_onto_released_nodes_and_stand_without_orders() -> None:
    wire = Wire()
    cell_m = wire.live.sim.zone.floor.cell_m
    where = {st.id: st.cell for st in wire.live.sim.planner.agents()}
    released: dict[str, set[tuple[int, int]]] = {name: set() for name in where}
    moves = 0
    for _ in range(600):
        for serial, order in wire.inbox.orders:  # what reaches each AGV this round
            released[wire.name[serial]] = _cells(order, cell_m)
        wire.round()
        for st in wire.live.sim.planner.agents():
            if st.cell != where[st.id]:
                assert st.cell in released[st.id], f"{st.id} drove onto {st.cell} unreleased"
                moves += 1
            where[st.id] = st.cell
    assert moves > 100
    # the fleet manager's orders lost (the broker down): once at the end of their released
    # nodes, the AGVs stand, with their tasks
    for _ in range(5):
        wire.inbox.orders.clear()
        wire.round()
    here = {st.id: st.cell for st in wire.live.sim.planner.agents()}
    for _ in range(60):
        wire.inbox.orders.clear()
        wire.round()
    agents = wire.live.sim.planner.agents()
    assert {st.id: st.cell for st in agents} == here
    assert any(st.cell != st.goal and not st.broken and not st.held for st in agents)
    # orders again: they drive on
    for _ in range(10):
        wire.round()
    assert {st.id: st.cell for st in wire.live.sim.planner.agents()} != here


def test_real_agvs_move_in_the_plan_where_their_states_put_them() -> None:
    def real(zone: StorageZone) -> StorageZone:
        assert zone.fleet is not None
        return zone.model_copy(update={"fleet": zone.fleet.model_copy(
            update={"virtual_agvs": False})})  # fmt: skip

    wire = Wire()
    live = wire.live = LiveWarehouse(with_zones(PLANT, real), "central", clock=wire.clock)
    planner, cell_m = live.sim.planner, live.sim.zone.floor.cell_m
    fleet = live.sim.fleet_model
    # no state yet: nobody moves in the plan, whatever work there is
    here = {st.id: st.cell for st in planner.agents()}
    for _ in range(60):
        wire.round()
        wire.inbox.states.clear()  # what the simulation would say of them: not a real AGV
    assert {st.id: st.cell for st in planner.agents()} == here
    orders = {s: o for s, o in wire.inbox.orders}
    serial, order = next(iter(orders.items()))
    name = next(a.name for a in fleet.agvs if a.serial == serial)
    head = m.Header(fleet.manufacturer, serial)

    def report(x: float, y: float) -> None:
        state = {**head("state"), "agvPosition": m.position(x, y, 0.0, live.sim.zone.name)}
        wire.inbox = VdaInbox(states={serial: state})

    # the AGV reports itself where it stands: it stays; then on its released node: it is there
    start = order["nodes"][0]["nodePosition"]
    report(start["x"], start["y"])
    wire.round()
    assert planner.state(name).cell == here[name]
    step = order["nodes"][1]["nodePosition"]
    assert order["nodes"][1]["released"]
    report(step["x"], step["y"])
    wire.round()
    assert planner.state(name).cell == (round(step["x"] / cell_m), round(step["y"] / cell_m))
    others = {st.id: st.cell for st in planner.agents() if st.id != name}
    assert others == {k: v for k, v in here.items() if k != name}
