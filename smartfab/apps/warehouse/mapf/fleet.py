"""Lifelong planning of an AGV fleet on a grid: tasks arrive, free agents are (re-)assigned, and
every step moves the whole fleet one cell without vertex or swap conflicts (PIBT, one step a
call), around broken-down agents and blocked cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smartfab.apps.warehouse.mapf.grid import Cell, Grid


@dataclass(frozen=True)
class Task:
    """Carry a load from ``pickup`` to ``drop`` (cells as ``(x, y)``)."""

    id: str
    pickup: Cell
    drop: Cell


@dataclass(frozen=True)
class AgentState:
    """Where an agent is and what it does: ``task`` is the id of its task (None when idle),
    ``loaded`` whether it has reached the task's pickup, ``goal`` the cell it heads for now."""

    id: str
    cell: Cell
    goal: Cell
    task: str | None
    loaded: bool
    broken: bool


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


class FleetPlanner:
    """The fleet manager's planner. Agents and tasks are named by the caller's ids; cells are
    ``(x, y)`` of the grid (x the column, y the row, (0, 0) top left, as in MovingAI files).

    A task goes to the free agent that reaches its pickup first; an agent that has not yet
    loaded may be given another task when a new one arrives closer to it. A broken agent stays
    where it is and the others plan around it (as around a blocked cell); a task it had not yet
    loaded goes back to the queue. Bad calls (an unknown id, a cell off the grid or on a wall, an
    agent placed on another) raise ``MapfError`` and change nothing."""

    def __init__(self, grid: Grid, *, seed: int = 0) -> None:
        raise NotImplementedError

    @property
    def grid(self) -> Grid:
        """The grid planned on."""
        raise NotImplementedError

    @property
    def time(self) -> int:
        """Steps done so far."""
        raise NotImplementedError

    def add_agent(self, agent_id: str, cell: Cell) -> None:
        """A new idle agent at ``cell`` (free, not blocked, not occupied)."""
        raise NotImplementedError

    def remove_agent(self, agent_id: str) -> None:
        """The agent leaves the fleet; a task it had not loaded goes back to the queue, a loaded
        one is dropped (the caller knows where the load is)."""
        raise NotImplementedError

    def submit(self, task: Task) -> None:
        """Queue a task; it is assigned at the next step."""
        raise NotImplementedError

    def cancel(self, task_id: str) -> None:
        """Withdraw a queued or assigned task; its agent becomes free."""
        raise NotImplementedError

    def send(self, agent_id: str, cell: Cell | None) -> None:
        """Send an idle agent to ``cell`` outside any task (to a charger, to park); None lets it
        be assigned tasks again."""
        raise NotImplementedError

    def set_broken(self, agent_id: str, broken: bool) -> None:
        """A breakdown (True) or a repair (False)."""
        raise NotImplementedError

    def block(self, cell: Cell) -> None:
        """No agent may enter ``cell`` from now on (an agent on it may leave)."""
        raise NotImplementedError

    def unblock(self, cell: Cell) -> None:
        """``cell`` is free again."""
        raise NotImplementedError

    def state(self, agent_id: str) -> AgentState:
        """One agent's state."""
        raise NotImplementedError

    def agents(self) -> list[AgentState]:
        """Every agent's state, in the order they were added."""
        raise NotImplementedError

    def queued(self) -> list[Task]:
        """Tasks not yet assigned, oldest first."""
        raise NotImplementedError

    def route(self, agent_id: str, limit: int = 50) -> list[Cell]:
        """The cells the agent would follow to its goal if nobody were in its way (its current
        cell first, at most ``limit`` cells): the look-ahead of a VDA 5050 order's horizon. Only
        the next step, from ``step()``, is committed."""
        raise NotImplementedError

    def step(self) -> StepResult:
        """Assign queued tasks, then move every agent by at most one cell."""
        raise NotImplementedError
