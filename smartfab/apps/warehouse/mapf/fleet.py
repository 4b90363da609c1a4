"""Lifelong planning of an AGV fleet on a grid: tasks arrive, free agents are (re-)assigned, and
every step moves the whole fleet one cell without vertex or swap conflicts (PIBT, one step a
call), around broken-down or held agents and blocked cells."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from smartfab.apps.warehouse.mapf.core import Tables, bfs, next_config, table_dtype, unreached
from smartfab.apps.warehouse.mapf.grid import Cell, Grid, MapfError


@dataclass(frozen=True)
class Task:
    """Carry a load from ``pickup`` to ``drop`` (cells as ``(x, y)``)."""

    id: str
    pickup: Cell
    drop: Cell


@dataclass(frozen=True)
class AgentState:
    """Where an agent is and what it does: ``task`` is the id of its task (None when idle),
    ``loaded`` whether it has reached the task's pickup, ``goal`` the cell it heads for now,
    ``broken`` broken down, ``held`` kept in place with its task (``FleetPlanner.set_held``)."""

    id: str
    cell: Cell
    goal: Cell
    task: str | None
    loaded: bool
    broken: bool
    held: bool = False


@dataclass(frozen=True)
class StepResult:
    """One step of the fleet: ``time`` is the step number after it (the first step gives 1);
    ``positions`` every agent's cell; ``picked_up`` and ``delivered`` (agent id, task id) pairs
    that reached a pickup or a drop on this step; ``unreachable`` the tasks dropped on this step
    because no working agent can reach their pickup or drop (each is reported once)."""

    time: int
    positions: Mapping[str, Cell]
    picked_up: tuple[tuple[str, str], ...]
    delivered: tuple[tuple[str, str], ...]
    unreachable: tuple[str, ...]


class _Distances:
    """Distance tables to goal vertices, computed on demand and kept while there is room (least
    recently used first out); all are dropped when the floor changes (a cell blocked or freed,
    an agent broken or repaired)."""

    def __init__(self, grid: Grid) -> None:
        self._grid = grid
        self._rows: OrderedDict[int, int] = OrderedDict()  # goal vertex -> row of _tables
        self._tables: Tables = np.empty((0, grid.vertices), table_dtype(grid.vertices))
        self._queue = np.empty(grid.vertices, np.int32)
        self.walls = np.zeros(grid.vertices, np.bool_)
        self.far = unreached(self._tables.dtype)
        self._free: list[int] = []  # rows of _tables holding no table

    @property
    def tables(self) -> Tables:
        return self._tables

    def invalidate(self) -> None:
        self._rows.clear()
        self._free = list(range(self._tables.shape[0]))

    def row(self, goal: int, keep: int) -> int:
        """The row of the table to ``goal``; the ``keep`` most recently used rows stay."""
        row = self._rows.get(goal)
        if row is not None:
            self._rows.move_to_end(goal)
            return row
        if not self._free and len(self._rows) > keep:
            self._free.append(self._rows.popitem(last=False)[1])
        if not self._free:
            size = self._tables.shape[0]
            grown = np.empty((max(16, 2 * size), self._grid.vertices), self._tables.dtype)
            grown[:size] = self._tables
            self._tables = grown
            self._free = list(range(grown.shape[0] - 1, size - 1, -1))
        row = self._free.pop()
        bfs(self._grid.neighbours, goal, self.walls, self._tables[row], self._queue)
        self._rows[goal] = row
        return row

    def distance(self, goal: int, vertex: int, keep: int) -> int:
        row = self.row(goal, keep)  # first: it may grow the tables
        return int(self._tables[row, vertex])


@dataclass
class _Agent:
    id: str
    vertex: int
    goal: int
    task: Task | None = None
    loaded: bool = False
    broken: bool = False
    held: bool = False  # paused: stays put like a broken agent, keeping its task
    sent: bool = False  # sent to a cell outside any task: not assignable
    priority: float = 0.0

    @property
    def stopped(self) -> bool:
        """Held in place: the others plan around it."""
        return self.broken or self.held


@dataclass
class _Pending:
    picked_up: list[tuple[str, str]] = field(default_factory=list)
    delivered: list[tuple[str, str]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


class FleetPlanner:
    """The fleet manager's planner. Agents and tasks are named by the caller's ids; cells are
    ``(x, y)`` of the grid (x the column, y the row, (0, 0) top left, as in MovingAI files).

    A task goes to the free agent that reaches its pickup first (an assignment minimising the
    total distance); an agent that has not yet loaded may be given another task when tasks or
    free agents arrive. A broken agent stays where it is and the others plan around it (as
    around a blocked cell); a task it had not yet loaded goes back to the queue. A held agent
    (paused) stays where it is too, but keeps its task and goes on with it once let go. A task
    whose pickup or drop no working agent can reach, with blocked cells and broken or held agents
    as walls, is dropped and reported once in ``StepResult.unreachable``. Bad calls (an unknown
    id, a cell off the grid or on a wall, an agent placed on another) raise ``MapfError`` and
    change nothing."""

    def __init__(self, grid: Grid, *, seed: int = 0) -> None:
        self._grid = grid
        self._rng = np.random.default_rng(seed)
        self._time = 0
        self._agents: dict[str, _Agent] = {}
        self._queue: OrderedDict[str, Task] = OrderedDict()
        self._tasks: set[str] = set()  # queued or assigned
        self._unchecked: set[str] = set()  # queued, not yet known to be reachable
        self._blocked = np.zeros(grid.vertices, np.bool_)
        self._dist = _Distances(grid)
        self._pending = _Pending()
        self._assign_needed = False
        self._recheck = False
        v = grid.vertices
        self._occ_now = np.full(v, -1, np.int32)
        self._occ_next = np.full(v, -1, np.int32)
        self._next: np.ndarray | None = None  # the next step, once planned (``intent``)
        self._place: dict[str, int] = {}  # agent -> its place in ``_agents`` (and ``_next``)

    @property
    def grid(self) -> Grid:
        """The grid planned on."""
        return self._grid

    @property
    def time(self) -> int:
        """Steps done so far."""
        return self._time

    def _agent(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise MapfError(f"no agent {agent_id!r}")
        return agent

    def _vertex(self, cell: Cell, what: str) -> int:
        try:
            return self._grid.vertex(cell)
        except MapfError as e:
            raise MapfError(f"{what}: {e}") from None

    def add_agent(self, agent_id: str, cell: Cell) -> None:
        """A new idle agent at ``cell`` (free, not blocked, not occupied)."""
        if agent_id in self._agents:
            raise MapfError(f"agent {agent_id!r} exists already")
        v = self._vertex(cell, f"agent {agent_id!r}")
        if self._blocked[v]:
            raise MapfError(f"agent {agent_id!r}: cell {cell} is blocked")
        other = next((a.id for a in self._agents.values() if a.vertex == v), None)
        if other is not None:
            raise MapfError(f"agent {agent_id!r}: cell {cell} is taken by agent {other!r}")
        self._agents[agent_id] = _Agent(agent_id, v, v)
        self._assign_needed = True
        self._agents_changed()

    def remove_agent(self, agent_id: str) -> None:
        """The agent leaves the fleet; a task it had not loaded goes back to the queue, a loaded
        one is dropped (the caller knows where the load is)."""
        agent = self._agent(agent_id)
        self._release(agent)
        del self._agents[agent_id]
        self._agents_changed()
        if agent.stopped:
            self._floor_changed()

    def _agents_changed(self) -> None:
        self._next = None
        self._place = {a: i for i, a in enumerate(self._agents)}

    def _release(self, agent: _Agent) -> None:
        """Take the agent's task away: back to the queue unless loaded."""
        task = agent.task
        if task is not None:
            if agent.loaded:
                self._tasks.discard(task.id)
            else:
                self._queue[task.id] = task
                self._queue.move_to_end(task.id, last=False)
                self._assign_needed = True
        agent.task, agent.loaded, agent.goal = None, False, agent.vertex

    def submit(self, task: Task) -> None:
        """Queue a task; it is assigned at the next step."""
        if task.id in self._tasks:
            raise MapfError(f"task {task.id!r} exists already")
        self._vertex(task.pickup, f"task {task.id!r} pickup")
        self._vertex(task.drop, f"task {task.id!r} drop")
        self._queue[task.id] = task
        self._tasks.add(task.id)
        self._unchecked.add(task.id)
        self._assign_needed = True

    def cancel(self, task_id: str) -> None:
        """Withdraw a queued or assigned task; its agent becomes free."""
        if task_id not in self._tasks:
            raise MapfError(f"no task {task_id!r}")
        self._tasks.discard(task_id)
        if self._queue.pop(task_id, None) is None:
            agent = next(a for a in self._agents.values() if a.task and a.task.id == task_id)
            agent.task, agent.loaded, agent.goal = None, False, agent.vertex
        self._assign_needed = True

    def send(self, agent_id: str, cell: Cell | None) -> None:
        """Send an idle agent to ``cell`` outside any task (to a charger, to park); None lets it
        be assigned tasks again. While the cell cannot be reached, the agent waits."""
        agent = self._agent(agent_id)
        if cell is None:
            agent.sent, agent.goal = False, agent.vertex
            self._assign_needed = True
            return
        if agent.task is not None:
            raise MapfError(f"agent {agent_id!r} has task {agent.task.id!r}; cancel it first")
        agent.goal, agent.sent = self._vertex(cell, f"agent {agent_id!r} sent"), True

    def set_broken(self, agent_id: str, broken: bool) -> None:
        """A breakdown (True) or a repair (False)."""
        agent = self._agent(agent_id)
        if agent.broken == broken:
            return
        agent.broken = broken
        if broken and not agent.loaded:
            self._release(agent)
        self._floor_changed()

    def set_held(self, agent_id: str, held: bool) -> None:
        """Hold the agent where it stands (True: paused, or waiting for an order) or let it go
        on (False); unlike a breakdown, it keeps its task."""
        agent = self._agent(agent_id)
        if agent.held == held:
            return
        agent.held = held
        self._floor_changed()

    def block(self, cell: Cell) -> None:
        """No agent may enter ``cell`` from now on (an agent on it may leave)."""
        self._blocked[self._vertex(cell, "block")] = True
        self._floor_changed()

    def unblock(self, cell: Cell) -> None:
        """``cell`` is free again."""
        self._blocked[self._vertex(cell, "unblock")] = False
        self._floor_changed()

    def _floor_changed(self) -> None:
        walls = self._blocked.copy()
        for agent in self._agents.values():
            if agent.stopped:
                walls[agent.vertex] = True
        self._dist.walls = walls
        self._dist.invalidate()
        self._unchecked = set(self._queue)
        self._recheck = True
        self._assign_needed = True

    def _state(self, agent: _Agent) -> AgentState:
        return AgentState(
            agent.id,
            self._grid.cell(agent.vertex),
            self._grid.cell(agent.goal),
            agent.task.id if agent.task else None,
            agent.loaded,
            agent.broken,
            agent.held,
        )

    def state(self, agent_id: str) -> AgentState:
        """One agent's state."""
        return self._state(self._agent(agent_id))

    def agents(self) -> list[AgentState]:
        """Every agent's state, in the order they were added."""
        return [self._state(a) for a in self._agents.values()]

    def queued(self) -> list[Task]:
        """Tasks not yet assigned, oldest first."""
        return list(self._queue.values())

    def route(self, agent_id: str, limit: int = 50) -> list[Cell]:
        """The cells the agent will follow (its current cell first, at most ``limit`` cells):
        its next step as planned (``intent()``), then on to its goal as if nobody were in its
        way; the look-ahead of a VDA 5050 order's horizon. An idle agent's route ends with the
        step it is pushed aside by. A held agent's route is the one it takes once let go (its
        own cell is a wall to the others meanwhile)."""
        agent = self._agent(agent_id)
        v = agent.vertex
        cells = [self._grid.cell(v)]
        nxt = int(self._intended()[self._place[agent_id]])
        if nxt != v and limit > 1:
            v = nxt
            cells.append(self._grid.cell(v))
            if agent.task is None and not agent.sent:
                return cells
        row = self._dist.row(agent.goal, self._keep())
        table = self._dist.tables[row]
        while len(cells) < limit and v != agent.goal:
            v = min((int(u) for u in self._grid.neighbours[v] if u >= 0), key=lambda u: table[u])
            if table[v] == self._dist.far:
                break
            cells.append(self._grid.cell(v))
        return cells

    def _keep(self) -> int:
        return 2 * len(self._agents) + 16

    def _reachable(self, agent: _Agent, target: int) -> bool:
        return self._dist.distance(target, agent.vertex, self._keep()) != self._dist.far

    def _assign(self) -> None:
        """Hand queued tasks to free agents, and re-deal the tasks of agents still on their way
        to a pickup, minimising the total distance to the pickups."""
        self._assign_needed = False
        movable = [
            a for a in self._agents.values()
            if not a.stopped and not a.sent and not a.loaded
        ]  # fmt: skip
        if not movable:
            return
        mine = [a.task for a in movable if a.task is not None]
        # The oldest queued tasks, as many as there are agents to take them (first come, first
        # served), beside those already dealt.
        room = len(movable) - len(mine)
        offered = mine + [t for t, _ in zip(self._queue.values(), range(room), strict=False)]
        if not offered:
            return
        keep = self._keep() + len(offered)
        pickups = np.array([self._grid.vertex(t.pickup) for t in offered], np.int64)
        where = np.array([a.vertex for a in movable], np.int64)
        rows = np.array([self._dist.row(int(p), keep) for p in pickups], np.int64)
        cost = self._dist.tables[rows[:, None], where[None, :]].astype(np.float64)
        far = cost == self._dist.far
        cost[far] = 1e9
        chosen_task, chosen_agent = linear_sum_assignment(cost)
        for a in movable:
            a.task, a.goal = None, a.vertex
        for t, k in zip(chosen_task, chosen_agent, strict=True):
            task, agent = offered[t], movable[k]
            if far[t, k]:
                continue
            self._queue.pop(task.id, None)
            agent.task, agent.goal = task, self._grid.vertex(task.pickup)
        dealt = {a.task.id for a in movable if a.task is not None}
        for task in mine:
            if task.id not in dealt:  # dealt before, not now: back to the queue, in front
                self._queue[task.id] = task
                self._queue.move_to_end(task.id, last=False)

    def _check_queue(self) -> None:
        """Drop the queued tasks whose pickup no working agent can reach or whose drop cannot be
        reached from the pickup."""
        working = np.array([a.vertex for a in self._agents.values() if not a.stopped], np.int64)
        if not working.size:
            return  # nobody to tell: wait for an agent
        keep = self._keep() + len(self._unchecked)
        for task_id in self._unchecked:
            task = self._queue.get(task_id)
            if task is None:
                continue
            pickup = self._grid.vertex(task.pickup)
            row = self._dist.row(pickup, keep)
            if (self._dist.tables[row, working] == self._dist.far).all() or (
                self._dist.distance(pickup, self._grid.vertex(task.drop), keep) == self._dist.far
            ):
                self._drop_unreachable(task)
        self._unchecked.clear()

    def _drop_unreachable(self, task: Task) -> None:
        self._queue.pop(task.id, None)
        self._tasks.discard(task.id)
        self._pending.unreachable.append(task.id)

    def _arrive(self, agent: _Agent) -> None:
        """Bookkeeping of an agent that stands on its goal."""
        task = agent.task
        if task is None:
            return
        if not agent.loaded:
            agent.loaded = True
            agent.goal = self._grid.vertex(task.drop)
            self._pending.picked_up.append((agent.id, task.id))
            if agent.goal != agent.vertex:
                return
        self._pending.delivered.append((agent.id, task.id))
        self._tasks.discard(task.id)
        agent.task, agent.loaded, agent.goal = None, False, agent.vertex
        self._assign_needed = True

    def intent(self) -> dict[str, Cell]:
        """The cell each agent will move to at the next step (its own when it stays): the
        step is planned now, unless it has been since the last step, and ``step()`` takes it.
        What a fleet manager releases to its AGVs."""
        nxt = self._intended()
        return {a.id: self._grid.cell(int(v)) for a, v in zip(self._agents.values(), nxt,
                                                                strict=True)}  # fmt: skip

    def _intended(self) -> np.ndarray:
        """Assign queued tasks and plan the next step of every agent (PIBT), once a step."""
        if self._next is not None:
            return self._next
        agents = list(self._agents.values())
        for agent in agents:
            if agent.task is None and not agent.sent:
                # An idle agent is content where it is, also where it was pushed to.
                agent.goal = agent.vertex
            elif agent.goal == agent.vertex and not agent.held:
                self._arrive(agent)
        if self._unchecked:
            self._check_queue()
        if self._assign_needed and self._queue:
            self._assign()
        keep = self._keep()
        if self._recheck:  # the floor changed: are the tasks under way still feasible?
            self._recheck = False
            for agent in agents:
                if agent.task and not agent.stopped and not self._reachable(agent, agent.goal):
                    self._tasks.discard(agent.task.id)
                    self._pending.unreachable.append(agent.task.id)
                    agent.task, agent.loaded, agent.goal = None, False, agent.vertex
                    self._assign_needed = True
        self._next = self._plan(agents, keep) if agents else np.empty(0, np.int32)
        return self._next

    def step(self, allowed: Mapping[str, Cell | None] | None = None) -> StepResult:
        """Assign queued tasks, then move every agent by at most one cell, as ``intent()``
        says. ``allowed``: for the agents that drive by orders, the one cell each may enter
        now (its next released node; None: none), so that one whose planned cell is not
        released stays where it is, as does whoever was to follow it in."""
        agents = list(self._agents.values())
        nxt = self._held_back(agents, self._intended().copy(), allowed or {})
        self._next = None
        for agent, v in zip(agents, nxt, strict=True):
            agent.vertex = int(v)
        self._time += 1
        for agent in agents:
            if agent.goal == agent.vertex and not agent.held:  # a held one loads nothing
                self._arrive(agent)
        pending, self._pending = self._pending, _Pending()
        return StepResult(
            self._time,
            {a.id: self._grid.cell(a.vertex) for a in agents},
            tuple(pending.picked_up),
            tuple(pending.delivered),
            tuple(pending.unreachable),
        )

    def _held_back(
        self, agents: list[_Agent], nxt: np.ndarray, allowed: Mapping[str, Cell | None]
    ) -> np.ndarray:
        """The planned step less the moves no longer possible: into a cell blocked, by an
        agent stopped since it was planned, or not released to the agent (``allowed``); then,
        in a chain, the moves into a cell whose agent now stays. The plan has no conflicts, and
        staying where one stands makes none but that one."""
        pos = np.array([a.vertex for a in agents], np.int32)
        by_target = {int(v): i for i, v in enumerate(nxt) if v != pos[i]}
        stays = []
        for i, agent in enumerate(agents):
            v = int(nxt[i])
            if v == pos[i]:
                continue
            if agent.id in allowed:
                cell = allowed[agent.id]
                released = cell is not None and self._grid.vertex(cell) == v
            else:
                released = True
            if agent.stopped or self._blocked[v] or not released:
                stays.append(i)
        while stays:
            i = stays.pop()
            nxt[i] = pos[i]
            j = by_target.pop(int(pos[i]), None)
            if j is not None and nxt[j] != pos[j]:
                stays.append(j)
        return nxt

    def _plan(self, agents: list[_Agent], keep: int) -> np.ndarray:
        n = len(agents)
        pos = np.array([a.vertex for a in agents], np.int32)
        goal = np.array([a.goal for a in agents], np.int32)
        slot = np.array([self._dist.row(int(g), keep) for g in goal], np.int32)
        for i in np.flatnonzero(self._dist.tables[slot, pos] == self._dist.far):
            # A goal cut off (a sent agent's): wait in place rather than wander.
            slot[i] = self._dist.row(int(pos[i]), keep)
        tables = self._dist.tables
        at_goal = tables[slot, pos] == 0
        for agent, done in zip(agents, at_goal, strict=True):
            # PIBT's priorities: growing while away from the goal, reset on arrival.
            agent.priority = agent.priority % 1 if done else agent.priority + 1
        priority = np.array([a.priority for a in agents]) + self._rng.random(n) * 1e-3
        order = np.argsort(-priority, kind="stable").astype(np.int32)
        broken = np.array([i for i, a in enumerate(agents) if a.stopped], np.int32)
        nxt = np.empty(n, np.int32)
        ok = next_config(
            self._grid.neighbours, tables, slot, goal, pos, order, broken, pos[broken],
            self._blocked, self._rng.random(self._grid.vertices, dtype=np.float32), nxt,
            self._occ_now, self._occ_next, np.empty((n, 5), np.int32), 0.0,
        )  # fmt: skip
        # Only the broken and held agents stay, each on its own cell: PIBT always finds a step.
        assert ok
        return nxt
