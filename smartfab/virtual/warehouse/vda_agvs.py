"""The virtual warehouse's AGVs as VDA 5050 2.1 AGVs: the ``state``, ``visualization`` and
``connection`` messages each would send, read from the simulation, and the ``order`` and
``instantActions`` messages they take.

An AGV drives only onto the released nodes of the order it accepted, one at a time, in their
order (``released_next``, the simulation's motion gate): the simulation's fleet planner, which is
the fleet manager's, plans every step for the whole fleet, and an AGV whose planned cell is not
its next released node stays where it is (and whoever was to follow it in), as a real AGV without
a released base would. So an AGV that has no order, or whose order is late or lost (the broker
down), stands still.

An AGV accepts an order by the standard's rules on order ids (a new ``orderId`` only if its first
node is where the AGV stands; an update of its order only with a higher ``orderUpdateId``; the
same one again is ignored) and reports it in its state: the order's
id and update id, the last node reached, and the nodes and edges still ahead, passed one by one
as the simulated AGV reaches them. An order it refuses is reported as a WARNING error in the next
state and changes nothing.

Instant actions: ``startPause`` and ``stopPause`` stop the AGV where it stands and let it go on
(its state's ``paused``); ``cancelOrder`` drops the order under way (its state's nodes and edges
empty; FAILED with a ``noOrderToCancel`` error when there is none), after which the AGV stands
where it is until it takes a new order (a new ``orderId``: an update of the cancelled one is
refused), as a real AGV without an order does; ``stateRequest`` is answered by the state the
bridge sends at once. Each one is reported in ``actionStates`` (FINISHED, or FAILED with a
``resultDescription``), kept until the next new order; an action type the AGV does not know is
FAILED, and an ``actionId`` seen before (QoS 1 may repeat a message) is not taken again. An AGV
stopped by an instant action is one the planner holds (``VirtualWarehouse.hold``), so that the
others plan around it: unlike a breakdown it keeps its task.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from smartfab.apps.warehouse.mapf import Cell
from smartfab.devices.vda5050 import messages as vda
from smartfab.virtual.warehouse.sim import VirtualWarehouse

NEAR_M = 0.01  # a node is where the AGV stands when this close
MAX_ACTION_STATES = 32  # the latest instant actions a state reports until the next new order
INSTANT_ACTIONS = frozenset({"startPause", "stopPause", "cancelOrder", "stateRequest"})


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
    paused: bool = False
    cancelled: bool = False  # its order was cancelled: it stands until a new one
    actions: list[vda.Message] = field(default_factory=list)  # actionStates

    @property
    def stands(self) -> bool:
        """Stopped by an instant action: paused, or without an order since it was cancelled."""
        return self.paused or self.cancelled


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
            if agv.cancelled:
                why = f"order {oid} was cancelled; a new order is needed"
                return self._refuse(agv, order, "orderUpdateError", why)
            if uid == agv.update_id:
                return False  # the same order again (QoS 1 may repeat it): nothing new
            if uid < agv.update_id:
                return self._refuse(agv, order, "orderUpdateError",
                                    f"update {uid} is older than {agv.update_id}")  # fmt: skip
        else:
            first = order["nodes"][0].get("nodePosition") if order["nodes"] else None
            if first is None or not self._at(agv.cell, first):
                why = "the order's first node is not where the AGV stands"
                return self._refuse(agv, order, "orderError", why)
            agv.cancelled = False
            agv.actions = []  # the action states are kept until a new order
        agv.order_id, agv.update_id = oid, uid
        nodes = sorted(order["nodes"], key=lambda n: n["sequenceId"])
        agv.last_node = (nodes[0]["nodeId"], nodes[0]["sequenceId"])
        agv.nodes = nodes[1:]
        agv.edges = sorted(order["edges"], key=lambda e: e["sequenceId"])
        return True

    def take_instant_actions(self, serial: str, message: vda.Message) -> list[str]:
        """Act on an ``instantActions`` message (already checked against the schema); returns
        the types of the actions taken anew."""
        agv = self._by_serial.get(serial)
        if agv is None:
            return []
        seen = {a["actionId"] for a in agv.actions}
        taken = []
        for action in message["actions"]:
            if action["actionId"] in seen:
                continue  # a repeat
            kind = action["actionType"]
            failed = self._act(agv, kind)
            report = {"actionId": action["actionId"], "actionType": kind,
                      "actionStatus": "FAILED" if failed else "FINISHED"}  # fmt: skip
            if failed:
                report["resultDescription"] = failed
            agv.actions = [*agv.actions, report][-MAX_ACTION_STATES:]
            seen.add(action["actionId"])
            taken.append(kind)
        return taken

    def _act(self, agv: _Agv, kind: str) -> str | None:
        """Do an instant action at once; why it failed, or None."""
        if kind not in INSTANT_ACTIONS:
            return f"{kind} is not an instant action this AGV knows"
        if kind in ("startPause", "stopPause"):
            agv.paused = kind == "startPause"
        elif kind == "cancelOrder":
            if not agv.nodes and not agv.edges:
                why = "no order to cancel"
                agv.refused.append({"errorType": "noOrderToCancel", "errorLevel": "WARNING",
                                    "errorDescription": why})  # fmt: skip
                return why
            agv.nodes, agv.edges, agv.cancelled = [], [], True
        return None  # stateRequest: the round's state goes out at once

    def drive(self, sim: VirtualWarehouse) -> None:
        """Make the simulation's AGVs drive as these do: only onto released nodes (its motion
        gate), and not at all when stopped by an instant action (held by its planner, so that
        the others plan around them)."""
        if sim.motion_gate is None:
            sim.motion_gate = functools.partial(self.released_next, sim)
        for name, agv in self._by_name.items():
            sim.hold(name, agv.stands)

    def _refuse(self, agv: _Agv, order: vda.Message, kind: str, why: str) -> bool:
        agv.refused.append({
            "errorType": kind, "errorLevel": "WARNING", "errorDescription": why,
            "errorReferences": [
                {"referenceKey": "orderId", "referenceValue": str(order["orderId"])},
                {"referenceKey": "orderUpdateId", "referenceValue": str(order["orderUpdateId"])},
            ],
        })  # fmt: skip
        return False

    def _at(self, cell: Cell | None, pos: vda.Message) -> bool:
        if cell is None:
            return False
        x, y = cell[0] * self.cell_m, cell[1] * self.cell_m
        return math.hypot(pos["x"] - x, pos["y"] - y) < NEAR_M

    def released_next(self, sim: VirtualWarehouse) -> dict[str, Cell | None]:
        """For each AGV (by name), the one cell it may drive onto now: its order's next node,
        if released, after passing the nodes it has reached; None when it may not move
        (no such node, paused, its order cancelled)."""
        out: dict[str, Cell | None] = {}
        for st in sim.planner.agents():
            agv = self._by_name[st.id]
            self._pass_nodes(agv, st.cell)
            node = agv.nodes[0] if agv.nodes and not agv.stands else None
            pos = node.get("nodePosition") if node is not None and node["released"] else None
            out[st.id] = None if pos is None else vda.cell_of(pos, self.cell_m)
        return out

    def messages(self, sim: VirtualWarehouse) -> list[tuple[str, vda.Message, vda.Message]]:
        """(serial, state, visualization) of every AGV at the simulation's time now: moves each
        one on from where it was at the last call, passing the nodes of its order it reached."""
        at = datetime.fromtimestamp((sim.start_us + sim.now * 1e6) / 1e6, UTC)
        # at most a cell a tick: a round soon after the last (an instant action's) saw one step
        dt = max(sim.now - self._last_t, sim.tick_s) if self._last_t is not None else 0.0
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
            self._pass_nodes(agv, st.cell)
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
                "driving": not broken and not st.held and st.cell != st.goal,
                "paused": agv.paused,
                "agvPosition": pos,
                "velocity": {"vx": agv.velocity[0], "vy": agv.velocity[1], "omega": 0.0},
                "loads": [{"loadType": "unit-load"}] if st.loaded else [],
                "actionStates": list(agv.actions),
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

    def _pass_nodes(self, agv: _Agv, cell: Cell) -> None:
        """Pass the nodes ahead, in their order, while the AGV stands on the next one (a route
        may come back to a cell it left)."""
        while agv.nodes and agv.nodes[0]["released"]:
            node = agv.nodes[0]
            pos = node.get("nodePosition")
            if pos is None or not self._at(cell, pos):
                return
            agv.last_node = (node["nodeId"], node["sequenceId"])
            agv.nodes = agv.nodes[1:]
            agv.edges = [e for e in agv.edges if e["sequenceId"] > node["sequenceId"]]


def _node_state(node: vda.Message) -> vda.Message:
    out = {"nodeId": node["nodeId"], "sequenceId": node["sequenceId"],
           "released": node["released"]}  # fmt: skip
    if "nodePosition" in node:
        out["nodePosition"] = node["nodePosition"]
    return out
