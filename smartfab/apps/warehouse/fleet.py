"""AGV fleet management: transport tasks go to the planner of the whole fleet
(``smartfab.apps.warehouse.mapf.FleetPlanner``, collision- and deadlock-free, lifelong), and each
AGV's planned path goes out as a VDA 5050 order (nodes and edges with sequence ids, the next
steps released, the rest the horizon); the AGVs' state messages come back as breakdowns and
repairs.

``planner_for(grid)`` gives the fleet planner, or, while it is not available, a stand-in with the
same interface: one step of PIBT at a time (never two AGVs on a cell, never a swap).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse.mapf import AgentState, Cell, FleetPlanner, Grid, StepResult, Task
from smartfab.devices.vda5050 import messages as vda
from smartfab.model.plant import AgvFleet, StorageZone

RELEASED_STEPS = 3  # nodes of an order released at once; the rest is the horizon
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


class Planner(Protocol):
    """The interface of ``FleetPlanner`` that the fleet manager uses."""

    def add_agent(self, agent_id: str, cell: Cell) -> None: ...
    def submit(self, task: Task) -> None: ...
    def send(self, agent_id: str, cell: Cell | None) -> None: ...
    def set_broken(self, agent_id: str, broken: bool) -> None: ...
    def state(self, agent_id: str) -> AgentState: ...
    def agents(self) -> list[AgentState]: ...
    def queued(self) -> list[Task]: ...
    def route(self, agent_id: str, limit: int = 50) -> list[Cell]: ...
    def step(self) -> StepResult: ...


def planner_for(grid: Grid, seed: int = 0) -> Planner | FleetPlanner:
    try:
        return FleetPlanner(grid, seed=seed)
    except NotImplementedError:
        return StandInPlanner(grid, seed=seed)


@dataclass
class _Agent:
    id: str
    cell: Cell
    task: Task | None = None
    loaded: bool = False
    errand: Cell | None = None  # a goal outside tasks (a charger, a parking place)
    broken: bool = False
    waited: int = 0

    @property
    def goal(self) -> Cell:
        if self.task is not None:
            return self.task.drop if self.loaded else self.task.pickup
        return self.errand or self.cell


@dataclass
class StandInPlanner:
    """A one-step PIBT planner with the fleet planner's interface (see the module's text)."""

    grid: Grid
    seed: int = 0
    _agents: dict[str, _Agent] = field(default_factory=dict)
    _queue: deque[Task] = field(default_factory=deque)
    _dist: dict[Cell, npt.NDArray[np.int32]] = field(default_factory=dict)
    _time: int = 0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def distances(self, goal: Cell) -> npt.NDArray[np.int32]:
        """Steps from every vertex to ``goal`` (-1: unreachable), by breadth-first search."""
        found = self._dist.get(goal)
        if found is not None:
            return found
        g = self.grid
        dist = np.full(g.vertices, -1, np.int32)
        start = g.vertex(goal)
        dist[start] = 0
        frontier = [start]
        while frontier:
            nxt = []
            for v in frontier:
                for w in g.neighbours[v]:
                    if w >= 0 and dist[w] < 0:
                        dist[w] = dist[v] + 1
                        nxt.append(int(w))
            frontier = nxt
        self._dist[goal] = dist
        return dist

    def add_agent(self, agent_id: str, cell: Cell) -> None:
        self.grid.vertex(cell)
        self._agents[agent_id] = _Agent(agent_id, cell)

    def submit(self, task: Task) -> None:
        self._queue.append(task)

    def send(self, agent_id: str, cell: Cell | None) -> None:
        self._agents[agent_id].errand = cell

    def set_broken(self, agent_id: str, broken: bool) -> None:
        agent = self._agents[agent_id]
        agent.broken = broken
        if broken and agent.task is not None and not agent.loaded:
            self._queue.appendleft(agent.task)
            agent.task = None

    def state(self, agent_id: str) -> AgentState:
        a = self._agents[agent_id]
        return AgentState(a.id, a.cell, a.goal, a.task.id if a.task else None, a.loaded, a.broken)

    def agents(self) -> list[AgentState]:
        return [self.state(a) for a in self._agents]

    def queued(self) -> list[Task]:
        return list(self._queue)

    def route(self, agent_id: str, limit: int = 50) -> list[Cell]:
        a = self._agents[agent_id]
        dist = self.distances(a.goal)
        v = self.grid.vertex(a.cell)
        path = [a.cell]
        while dist[v] > 0 and len(path) < limit:
            v = min((int(w) for w in self.grid.neighbours[v] if w >= 0 and dist[w] >= 0),
                    key=lambda w: dist[w])  # fmt: skip
            path.append(self.grid.cell(v))
        return path

    def _assign(self) -> list[str]:
        unreachable: list[str] = []
        free = [a for a in self._agents.values() if a.task is None and not a.broken
                and a.errand is None]  # fmt: skip
        for _ in range(len(self._queue)):
            if not free:
                break
            task = self._queue.popleft()
            to_pick = self.distances(task.pickup)
            if self.distances(task.drop)[self.grid.vertex(task.pickup)] < 0:
                unreachable.append(task.id)
                continue
            reach = [(int(to_pick[self.grid.vertex(a.cell)]), a.id, a) for a in free]
            reach = [r for r in reach if r[0] >= 0]
            if not reach:
                unreachable.append(task.id)
                continue
            _, _, agent = min(reach, key=lambda r: (r[0], r[1]))
            agent.task = task
            free.remove(agent)
        return unreachable

    def _pibt_step(self) -> None:
        """One step of PIBT (Okumura et al., 2019): agents in priority order take their best
        neighbouring cell; one standing there is pushed on by priority inheritance, or the
        first agent tries its next best cell. The priority of an agent grows each step it is
        not at its goal, so that everyone gets through."""
        agents = list(self._agents.values())
        for a in agents:
            a.waited = a.waited + 1 if a.goal != a.cell and not a.broken else 0
        now = {a.cell: a for a in agents}
        nxt: dict[str, Cell] = {}
        taken: dict[Cell, str] = {}
        for a in agents:  # a broken agent is a wall
            if a.broken:
                nxt[a.id], taken[a.cell] = a.cell, a.id

        def push(a: _Agent, parent: _Agent | None) -> bool:
            v = self.grid.vertex(a.cell)
            dist = self.distances(a.goal)
            options = [v, *(int(w) for w in self.grid.neighbours[v] if w >= 0)]
            noise = self._rng.random(len(options))
            options = [o for _, o in sorted(zip(
                [(dist[o] if dist[o] >= 0 else 1 << 30) + n for o, n in zip(options, noise,
                 strict=True)], options, strict=True))]  # fmt: skip
            for o in options:
                cell = self.grid.cell(o)
                if cell in taken or (parent is not None and cell == parent.cell):
                    continue
                nxt[a.id], taken[cell] = cell, a.id
                other = now.get(cell)
                pushed = other is None or other is a or other.id in nxt or push(other, a)
                if not pushed:
                    continue
                return True
            nxt[a.id], taken[a.cell] = a.cell, a.id
            return False

        for a in sorted(agents, key=lambda a: (-a.waited, a.id)):
            if a.id not in nxt:
                push(a, None)
        for a in agents:
            a.cell = nxt[a.id]

    def step(self) -> StepResult:
        unreachable = self._assign()
        self._pibt_step()
        picked: list[tuple[str, str]] = []
        delivered: list[tuple[str, str]] = []
        for a in self._agents.values():
            if a.task is None:
                continue
            if not a.loaded and a.cell == a.task.pickup:
                a.loaded = True
                picked.append((a.id, a.task.id))
            if a.loaded and a.cell == a.task.drop:
                delivered.append((a.id, a.task.id))
                a.task, a.loaded = None, False
        self._time += 1
        positions: Mapping[str, Cell] = {a.id: a.cell for a in self._agents.values()}
        return StepResult(self._time, positions, tuple(picked), tuple(delivered),
                          tuple(unreachable))  # fmt: skip


class FleetManager:
    """Turns the planner's routes into VDA 5050 orders, one order per task or errand and an order
    update whenever the released base moves on; reads the AGVs' state messages."""

    def __init__(self, zone: StorageZone, fleet: AgvFleet, planner: Planner | FleetPlanner):
        self.zone = zone
        self.fleet = fleet
        self.planner = planner
        self.cell_m = zone.floor.cell_m
        self._headers = {a.name: vda.Header(fleet.manufacturer, a.serial) for a in fleet.agvs}
        self._serial = {a.name: a.serial for a in fleet.agvs}
        self._name = {a.serial: a.name for a in fleet.agvs}
        self._orders: dict[str, tuple[str, int, Cell]] = {}  # agv -> (order id, update, goal)
        self._count = 0
        self.errors: dict[str, list[str]] = {}  # agv -> its errors in the last state

    def orders(self) -> list[tuple[str, vda.Message]]:
        """(serial, order) for every AGV whose goal changed (a new order) or whose released base
        has moved on (an update of its order), checked against the schema."""
        out = []
        for st in self.planner.agents():
            if st.broken or st.cell == st.goal:
                continue
            known = self._orders.get(st.id)
            if known is None or known[2] != st.goal:
                self._count += 1
                known = (f"{st.task or 'errand'}-{self._count}", 0, st.goal)
            else:
                known = (known[0], known[1] + 1, known[2])
            self._orders[st.id] = known
            route = self.planner.route(st.id, HORIZON)
            path = [(x * self.cell_m, y * self.cell_m) for x, y in route]
            head = self._headers[st.id]("order")
            msg = vda.order(head, known[0], known[1], path, map_id=self.zone.name,
                            released=min(RELEASED_STEPS, len(path)))  # fmt: skip
            vda.check("order", msg)
            out.append((self._serial[st.id], msg))
        return out

    def on_state(self, serial: str, state: vda.Message) -> str | None:
        """Read an AGV's state: a FATAL error marks it broken for the planner, none repaired.
        Returns the AGV's name, or None for an AGV not in the fleet."""
        name = self._name.get(serial)
        if name is None:
            return None
        errors = [e for e in state.get("errors", []) if e.get("errorLevel") == "FATAL"]
        self.errors[name] = [str(e.get("errorType")) for e in errors]
        self.planner.set_broken(name, bool(errors))
        return name
