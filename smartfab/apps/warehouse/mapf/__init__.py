"""Multi-agent path finding for an AGV fleet on a grid floor.

Two uses:

- **The fleet manager** (lifelong): ``FleetPlanner(grid)``; ``add_agent(id, (x, y))``,
  ``remove_agent(id)``, ``submit(Task(id, pickup, drop))``, ``cancel(task_id)``, ``send(id, cell)``
  (park or charge), ``set_broken(id, True/False)``, ``block(cell)`` / ``unblock(cell)``; then
  ``step()`` once per time step returns a ``StepResult``: every agent's next cell (neighbours or
  the same cell, never two agents on one cell nor two swapping), the pickups and deliveries
  reached, the tasks found unreachable. ``route(id)`` gives the look-ahead path of an agent (a
  VDA 5050 order's horizon); ``state(id)`` / ``agents()`` / ``queued()`` the bookkeeping.
- **One-shot MAPF** on MovingAI benchmark files: ``load_map``, ``load_scenario``, ``solve``.

Cells are ``(x, y)`` as in MovingAI files: x the column, y the row, (0, 0) top left. Bad input
raises ``MapfError`` (naming the file and line for files) and changes nothing.
"""

from smartfab.apps.warehouse.mapf.fleet import AgentState, FleetPlanner, StepResult, Task
from smartfab.apps.warehouse.mapf.grid import (
    Cell,
    Grid,
    MapfError,
    Scenario,
    load_map,
    load_scenario,
)

__all__ = [
    "AgentState",
    "Cell",
    "FleetPlanner",
    "Grid",
    "MapfError",
    "Scenario",
    "StepResult",
    "Task",
    "load_map",
    "load_scenario",
]
