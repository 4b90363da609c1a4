"""AGV fleet management: transport tasks go to the planner of the whole fleet
(``smartfab.apps.warehouse.mapf.FleetPlanner``, collision- and deadlock-free, lifelong), and each
AGV's planned path goes out as a VDA 5050 order (nodes and edges with sequence ids, the next
step released, the rest the horizon); the AGVs' state messages come back as breakdowns,
repairs, pauses and resumptions for the planner, and for real AGVs their positions; an
operator's pause or resumption goes out as an ``instantActions`` message.

Order and action ids begin with the run's id (``run``), so that they do not repeat when the fleet
manager starts over (a new live simulation) while the AGVs and the broker remember the old ones."""

from __future__ import annotations

import numpy as np

from smartfab.apps.warehouse.mapf import Cell, FleetPlanner, Grid
from smartfab.devices.vda5050 import messages as vda
from smartfab.model.plant import AgvFleet, StorageZone

# Nodes of an order released: where the AGV stands and the planner's next step, the only one
# it has planned without conflicts; the rest is the horizon.
RELEASED_STEPS = 2
HORIZON = 20


def grid_of(zone: StorageZone) -> Grid:
    """The planner's grid of a zone's floor (a graph floor: its nodes' cells, on a grid spanning
    them, joined where they are neighbours)."""
    floor = zone.floor
    if floor.grid is not None:
        return Grid.from_rows(floor.grid, name=zone.name)
    cells = list((floor.nodes or {}).values())
    width = max(x for x, _ in cells) + 1
    height = max(y for _, y in cells) + 1
    free = np.zeros((height, width), np.bool_)
    for x, y in cells:
        free[y, x] = True
    return Grid(free, name=zone.name)


class FleetManager:
    """Turns the planner's routes into VDA 5050 orders, one order per task or errand and an order
    update whenever the released base moves on; reads the AGVs' state messages."""

    def __init__(
        self, zone: StorageZone, fleet: AgvFleet, planner: FleetPlanner, run: str = "r0"
    ) -> None:
        self.zone = zone
        self.run = run
        self.fleet = fleet
        self.planner = planner
        self.cell_m = zone.floor.cell_m
        self._headers = {a.name: vda.Header(fleet.manufacturer, a.serial) for a in fleet.agvs}
        self._serial = {a.name: a.serial for a in fleet.agvs}
        self._name = {a.serial: a.name for a in fleet.agvs}
        self._orders: dict[str, tuple[str, int, Cell]] = {}  # agv -> (order id, update, goal)
        self._count = 0
        self.errors: dict[str, list[str]] = {}  # agv -> its errors in the last state
        self.paused: dict[str, bool] = {}  # agv -> paused, as its last state says
        self._reported: dict[str, tuple[bool, bool]] = {}  # agv -> (broken, paused) reported
        self.positions: dict[str, Cell] = {}  # agv -> the cell its last state puts it on
        self._sent: dict[str, list[Cell]] = {}  # agv -> the route of the last order sent
        self._holds: dict[str, tuple[str, int]] = {}  # agv -> the order its state reports

    def orders(self) -> list[tuple[str, vda.Message]]:
        """(serial, order) for every AGV with somewhere to go: a new order when its goal
        changed, else an update of its order, from where it stands now, unless its route is
        the one last sent and its state reports holding that order. The base released is
        the planner's next step (``FleetPlanner.intent``, a move aside included) and the route
        on from there; the AGVs drive only onto released nodes, so what they do is what the
        planner planned."""
        out = []
        intent = self.planner.intent()  # first: it may hand out tasks
        for st in self.planner.agents():
            if st.broken or (st.cell == st.goal and intent[st.id] == st.cell):
                continue
            known = self._orders.get(st.id)
            route = self.planner.route(st.id, HORIZON)
            if known is None or known[2] != st.goal:
                self._count += 1
                known = (f"{self.run}-{st.task or 'errand'}-{self._count}", 0, st.goal)
            elif route == self._sent.get(st.id) and self._holds.get(st.id) == known[:2]:
                continue  # the AGV holds this very order already
            else:
                known = (known[0], known[1] + 1, known[2])
            self._orders[st.id], self._sent[st.id] = known, route
            path = [(x * self.cell_m, y * self.cell_m) for x, y in route]
            head = self._headers[st.id]("order")
            msg = vda.order(head, known[0], known[1], path, map_id=self.zone.name,
                            released=min(RELEASED_STEPS, len(path)))  # fmt: skip
            vda.check("order", msg)
            out.append((self._serial[st.id], msg))
        return out

    def instant_action(self, serial: str, action_type: str) -> vda.Message:
        """An ``instantActions`` message with one action (``startPause``, ``stopPause``, ...)
        for the AGV, checked against the schema; ``KeyError`` for a serial not in the fleet."""
        head = self._headers[self._name[serial]]("instantActions")
        self._count += 1
        act = vda.action(f"{self.run}-{action_type}-{self._count}", action_type, "HARD")
        msg = vda.instant_actions(head, [act])
        vda.check("instantActions", msg)
        return msg

    def on_state(self, serial: str, state: vda.Message) -> str | None:
        """Read an AGV's state: a FATAL error marks it broken for the planner, none repaired;
        ``paused`` holds it where it stands, with its task. Only what a state changes from the
        AGV's previous one is applied (the first is taken whole): a state that went round the
        broker while the planner moved on undoes nothing it learnt since. An AGV that reports
        the order it was sent cancelled (``cancelOrder`` FINISHED, nothing left of the order)
        gets a new order at the next ``orders()``, not an update. Its position on the zone's
        map is kept (``positions``; what moves a real AGV in the plan). Returns the AGV's name,
        or None for an AGV not in the fleet."""
        name = self._name.get(serial)
        if name is None:
            return None
        self._holds[name] = (str(state.get("orderId", "")), int(state.get("orderUpdateId", 0)))
        pos = state.get("agvPosition")
        if pos and pos.get("positionInitialized") and pos.get("mapId") == self.zone.name:
            self.positions[name] = vda.cell_of(pos, self.cell_m)
        errors = [e for e in state.get("errors", []) if e.get("errorLevel") == "FATAL"]
        self.errors[name] = [str(e.get("errorType")) for e in errors]
        now = (bool(errors), bool(state.get("paused", False)))
        before = self._reported.get(name)
        self._reported[name] = now
        self.paused[name] = now[1]
        if before is None or before[0] != now[0]:
            self.planner.set_broken(name, now[0])
        if before is None or before[1] != now[1]:
            self.planner.set_held(name, now[1])
        known = self._orders.get(name)
        if known is not None and state.get("orderId") == known[0] and _cancelled(state):
            del self._orders[name]
        return name

    def reported_moves(self) -> dict[str, Cell | None]:
        """For a fleet of real AGVs, what moves them in the plan (the planner's ``allowed``):
        each AGV (by name) steps onto its planned next cell only once its state reports it
        there; one that has not reported its position stands."""
        return {a.name: self.positions.get(a.name) for a in self.fleet.agvs}


def _cancelled(state: vda.Message) -> bool:
    """The state's order was cancelled: nothing left of it, and a cancelOrder done."""
    return (
        not state.get("nodeStates")
        and not state.get("edgeStates")
        and any(
            a.get("actionType") == "cancelOrder" and a.get("actionStatus") == "FINISHED"
            for a in state.get("actionStates", [])
        )
    )
