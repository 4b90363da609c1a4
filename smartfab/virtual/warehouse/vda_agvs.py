"""The virtual warehouse's AGVs as VDA 5050 2.1 AGVs: the ``state``, ``visualization`` and
``connection`` messages each would send, read from the simulation, and the ``order`` messages
they take.

What drives an AGV is the simulation's fleet planner; the fleet manager's orders are that same
planner's routes (``FleetManager.orders``), so an accepted order's nodes are the cells the AGV is
about to drive through. An AGV accepts an order by the standard's rules on order ids (a new
``orderId`` only if its first node is where the AGV stands; an update of its order only with a
higher ``orderUpdateId``; the same one again is ignored) and reports it in its state: the order's
id and update id, the last node reached, and the nodes and edges still ahead, passed one by one
as the simulated AGV reaches them. An order it refuses is reported as a WARNING error in the next
state and changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from smartfab.apps.warehouse.mapf import Cell
from smartfab.devices.vda5050 import messages as vda
from smartfab.virtual.warehouse.sim import VirtualWarehouse

NEAR_M = 0.01  # a node is where the AGV stands when this close


@dataclass
class _Agv:
    serial: str
    header: vda.Header
    cell: Cell | None = None
    theta: float = 0.0
    velocity: tuple[float, float] = (0.0, 0.0)
    order_id: str = ""
    update_id: int = 0
    last_node: tuple[str, int] = ("", 0)  # nodeId, sequenceId
    nodes: list[vda.Message] = field(default_factory=list)  # ahead, not yet reached
    edges: list[vda.Message] = field(default_factory=list)
    refused: list[vda.Message] = field(default_factory=list)  # errors for the next state


class VirtualAgvs:
    """The AGVs of one virtual warehouse run, by serial number."""

    def __init__(self, sim: VirtualWarehouse) -> None:
        fleet = sim.fleet_model
        self.interface, self.manufacturer = fleet.interface, fleet.manufacturer
        self.map_id = sim.zone.name
        self.cell_m = sim.zone.floor.cell_m
        self._by_name = {
            a.name: _Agv(a.serial, vda.Header(fleet.manufacturer, a.serial)) for a in fleet.agvs
        }
        self._by_serial = {a.serial: a for a in self._by_name.values()}
        self._last_t: float | None = None

    @property
    def serials(self) -> list[str]:
        return list(self._by_serial)

    def connection(self, serial: str, state: str) -> vda.Message:
        """The AGV's ``connection`` message (ONLINE, OFFLINE or CONNECTIONBROKEN)."""
        agv = self._by_serial[serial]
        return vda.connection(agv.header("connection"), state)

    def take_order(self, serial: str, order: vda.Message) -> bool:
        """Accept or refuse an order (already checked against the schema); True if accepted."""
        agv = self._by_serial.get(serial)
        if agv is None:
            return False
        oid, uid = str(order["orderId"]), int(order["orderUpdateId"])
        if oid == agv.order_id:
            if uid == agv.update_id:
                return False  # the same order again (QoS 1 may repeat it): nothing new
            if uid < agv.update_id:
                return self._refuse(agv, order, "orderUpdateError",
                                    f"update {uid} is older than {agv.update_id}")  # fmt: skip
        else:
            first = order["nodes"][0].get("nodePosition") if order["nodes"] else None
            if first is None or not self._at(agv, first):
                why = "the order's first node is not where the AGV stands"
                return self._refuse(agv, order, "orderError", why)
        agv.order_id, agv.update_id = oid, uid
        nodes = sorted(order["nodes"], key=lambda n: n["sequenceId"])
        agv.last_node = (nodes[0]["nodeId"], nodes[0]["sequenceId"])
        agv.nodes = nodes[1:]
        agv.edges = sorted(order["edges"], key=lambda e: e["sequenceId"])
        return True

    def _refuse(self, agv: _Agv, order: vda.Message, kind: str, why: str) -> bool:
        agv.refused.append({
            "errorType": kind, "errorLevel": "WARNING", "errorDescription": why,
            "errorReferences": [
                {"referenceKey": "orderId", "referenceValue": str(order["orderId"])},
                {"referenceKey": "orderUpdateId", "referenceValue": str(order["orderUpdateId"])},
            ],
        })  # fmt: skip
        return False

    def _at(self, agv: _Agv, pos: vda.Message) -> bool:
        if agv.cell is None:
            return False
        x, y = agv.cell[0] * self.cell_m, agv.cell[1] * self.cell_m
        return math.hypot(pos["x"] - x, pos["y"] - y) < NEAR_M

    def messages(self, sim: VirtualWarehouse) -> list[tuple[str, vda.Message, vda.Message]]:
        """(serial, state, visualization) of every AGV at the simulation's time now: moves each
        one on from where it was at the last call, passing the nodes of its order it reached."""
        at = datetime.fromtimestamp((sim.start_us + sim.now * 1e6) / 1e6, UTC)
        dt = sim.now - self._last_t if self._last_t is not None else 0.0
        self._last_t = sim.now
        out = []
        for st in sim.planner.agents():
            agv = self._by_name[st.id]
            if agv.cell is not None and agv.cell != st.cell:
                dx, dy = st.cell[0] - agv.cell[0], st.cell[1] - agv.cell[1]
                agv.theta = math.atan2(dy, dx)
                agv.velocity = ((dx * self.cell_m / dt, dy * self.cell_m / dt) if dt > 0
                                else (0.0, 0.0))  # fmt: skip
            else:
                agv.velocity = (0.0, 0.0)
            agv.cell = st.cell
            self._pass_nodes(agv)
            sim_agv = sim.agvs[st.id]
            broken = sim_agv.broken_until > sim.now
            errors = list(agv.refused)
            agv.refused.clear()
            if broken:
                errors.append({"errorType": "breakdown", "errorLevel": "FATAL",
                               "errorDescription": "broken down, waiting for repair"})  # fmt: skip
            pos = vda.position(st.cell[0] * self.cell_m, st.cell[1] * self.cell_m, agv.theta,
                               self.map_id)  # fmt: skip
            state = {
                **agv.header("state", at),
                "orderId": agv.order_id,
                "orderUpdateId": agv.update_id,
                "lastNodeId": agv.last_node[0],
                "lastNodeSequenceId": agv.last_node[1],
                "nodeStates": [_node_state(n) for n in agv.nodes],
                "edgeStates": [
                    {"edgeId": e["edgeId"], "sequenceId": e["sequenceId"],
                     "released": e["released"]}
                    for e in agv.edges
                ],
                "driving": not broken and st.cell != st.goal,
                "agvPosition": pos,
                "velocity": {"vx": agv.velocity[0], "vy": agv.velocity[1], "omega": 0.0},
                "loads": [{"loadType": "unit-load"}] if st.loaded else [],
                "actionStates": [],
                "batteryState": {
                    "batteryCharge": round(100 * sim_agv.battery_wh / sim_agv.capacity_wh, 1),
                    "charging": sim_agv.plugged,
                },
                "operatingMode": "AUTOMATIC",
                "errors": errors,
                "safetyState": {"eStop": "NONE", "fieldViolation": False},
            }  # fmt: skip
            vda.check("state", state)
            vis = vda.visualization(agv.header("visualization", at), pos, *agv.velocity)
            out.append((agv.serial, state, vis))
        return out

    def _pass_nodes(self, agv: _Agv) -> None:
        """Pass the nodes up to the one the AGV stands on (and the edges before it)."""
        for i, node in enumerate(agv.nodes):
            pos = node.get("nodePosition")
            if node["released"] and pos is not None and self._at(agv, pos):
                agv.last_node = (node["nodeId"], node["sequenceId"])
                agv.nodes = agv.nodes[i + 1 :]
                agv.edges = [e for e in agv.edges if e["sequenceId"] > node["sequenceId"]]
                return


def _node_state(node: vda.Message) -> vda.Message:
    out = {"nodeId": node["nodeId"], "sequenceId": node["sequenceId"],
           "released": node["released"]}  # fmt: skip
    if "nodePosition" in node:
        out["nodePosition"] = node["nodePosition"]
    return out
