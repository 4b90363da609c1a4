"""The virtual AGVs as VDA 5050 AGVs: schema-valid states read from the simulation, and the
standard's rules on taking an order (where it starts, its update ids)."""

from __future__ import annotations

from datetime import datetime

from smartfab.devices.vda5050 import messages as m
from smartfab.virtual.warehouse.live import LiveWarehouse
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
