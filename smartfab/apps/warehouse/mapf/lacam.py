"""One-shot MAPF: LaCAM (Okumura, "LaCAM: Search-based algorithm for quick multi-agent
pathfinding", AAAI 2023) over PIBT steps from the numeric core.

LaCAM searches configurations (one vertex per agent) depth first; each configuration is expanded
lazily, one PIBT step at a time, under a growing tree of constraints ("agent i goes to vertex
v"), so that a configuration PIBT alone would get stuck in is left through another successor:
the search is complete (it finds a solution when one exists, given time). On open warehouse
floors the first PIBT step nearly always succeeds, so a solution of makespan T costs about T
PIBT steps."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse.mapf.core import (
    Int32s,
    Tables,
    bfs_many,
    distances,
    next_config,
    table_dtype,
    unreached,
    weighted_many,
)
from smartfab.apps.warehouse.mapf.grid import Grid, MapfError
from smartfab.apps.warehouse.mapf.lns import arrivals, refine


@dataclass(frozen=True)
class Solution:
    """``paths`` (T+1, N) holds every agent's vertex at each time (``grid.cells_of`` gives
    cells); ``costs`` each agent's arrival time (the last time it is not at its goal, plus one);
    ``lower_bound`` the sum of shortest-path lengths. ``seconds`` is the time to the first
    solution (guide tables included), ``first_sum_of_costs`` its cost, ``refine_seconds`` the
    time spent improving it after. Unsolved: ``paths`` is None, and ``exhausted`` tells that the
    search ran out of configurations (no solution exists) rather than out of time."""

    solved: bool
    exhausted: bool
    paths: Int32s | None
    costs: Int32s | None
    lower_bound: int
    seconds: float
    distance_seconds: float
    nodes: int
    first_sum_of_costs: int = 0
    refine_seconds: float = 0.0

    @property
    def sum_of_costs(self) -> int:
        return int(self.costs.sum()) if self.costs is not None else 0

    @property
    def makespan(self) -> int:
        return int(self.paths.shape[0] - 1) if self.paths is not None else 0

    @property
    def cost_ratio(self) -> float:
        """Sum of costs over its lower bound (1.0 is optimal; also 1.0 when nobody moves)."""
        return self.sum_of_costs / self.lower_bound if self.lower_bound else 1.0


def distance_tables(
    grid: Grid, goals: Int32s, blocked: npt.NDArray[np.bool_] | None = None
) -> Tables:
    """One table per goal: (len(goals), V) distances to it."""
    tables: Tables = np.empty((goals.shape[0], grid.vertices), table_dtype(grid.vertices))
    if blocked is None:
        blocked = np.zeros(grid.vertices, np.bool_)
    bfs_many(grid.neighbours, goals, blocked, tables)
    return tables


# PIBT steps by guide tables rather than distances: a step costs STEP, entering another agent's
# goal one more (GOAL_TOLL), so that agents take the shortest paths that cross fewest goals, and
# a detour of two steps when it spares more than 2 STEP / GOAL_TOLL of them. Among cells as near,
# one where an agent rests on its goal ranks PARKED farther (half a step: after the free cells,
# before staying). Agents that arrived sit on their goals, and one pushed off pays the time it
# comes back: on 10,000 agents that was a third of the cost.
STEP = 4
GOAL_TOLL = 1
PARKED = STEP / 2


def guide_tables(grid: Grid, goals: Int32s) -> Tables:
    """One table per goal: (len(goals), V) costs to it, STEP a step plus GOAL_TOLL for entering
    a goal."""
    cost = np.full(grid.vertices, STEP, np.uint8)
    cost[goals] += GOAL_TOLL
    # No shortest path is longer than twice the farthest distance from one goal, and a cheapest
    # path costs at most its shortest one taken at the highest cost: the narrowest type for that.
    row = distance_tables(grid, goals[:1])[0] if goals.shape[0] else np.zeros(1, np.uint16)
    farthest = int(row[row != unreached(row.dtype)].max())
    tables: Tables = np.empty(
        (goals.shape[0], grid.vertices), table_dtype(2 * farthest * (STEP + GOAL_TOLL) + 1)
    )
    weighted_many(grid.neighbours, goals, cost, tables)
    return tables


class _Constraint:
    """A node of LaCAM's low-level search: agents ``who`` must step to ``where``, built from the
    parent's constraints plus one."""

    __slots__ = ("depth", "parent", "where", "who")

    def __init__(self, parent: _Constraint | None = None, who: int = -1, where: int = -1) -> None:
        self.parent = parent
        self.who = who
        self.where = where
        self.depth: int = parent.depth + 1 if parent is not None else 0

    def arrays(self) -> tuple[Int32s, Int32s]:
        who = np.empty(self.depth, np.int32)
        where = np.empty(self.depth, np.int32)
        node: _Constraint | None = self
        while node is not None and node.parent is not None:
            who[node.depth - 1] = node.who
            where[node.depth - 1] = node.where
            node = node.parent
        return who, where


class _Node:
    """A configuration of LaCAM's high-level search with its PIBT priorities and the constraints
    still to try from it."""

    __slots__ = ("config", "order", "parent", "priorities", "tree")

    def __init__(
        self, config: Int32s, parent: _Node | None, priorities: npt.NDArray[np.float64]
    ) -> None:
        self.config = config
        self.parent = parent
        self.priorities = priorities
        self.order = np.argsort(-priorities, kind="stable").astype(np.int32)
        self.tree: deque[_Constraint] = deque([_Constraint()])


def solve(
    grid: Grid,
    starts: Int32s,
    goals: Int32s,
    *,
    time_limit: float = 60.0,
    refine_seconds: float = 0.0,
    seed: int = 0,
    label: Callable[[int], str] | None = None,
) -> Solution:
    """Paths for agents from ``starts`` to ``goals`` (vertices), without vertex or swap
    conflicts, found within ``time_limit`` seconds, then improved for up to ``refine_seconds``
    more (large neighbourhood search) while the time limit lasts. ``MapfError`` for duplicate
    starts or goals, or a goal that a start cannot reach (``label(i)`` names agent i in the
    message: a scenario line)."""
    began = time.perf_counter()
    deadline = began + time_limit
    starts = np.ascontiguousarray(starts, np.int32)
    goals = np.ascontiguousarray(goals, np.int32)
    n = starts.shape[0]
    name = label or (lambda i: f"agent {i}")
    for what, vertices in (("start", starts), ("goal", goals)):
        by_vertex = np.argsort(vertices, kind="stable")
        same = np.flatnonzero(np.diff(vertices[by_vertex]) == 0)
        if same.size:
            a, b = (int(k) for k in by_vertex[same[0] : same[0] + 2])
            raise MapfError(
                f"{name(b)}: duplicate {what} {grid.cell(int(vertices[b]))}, as {name(a)}"
            )
    first_dist = np.empty(n, np.int32)
    distances(grid.neighbours, starts, goals, first_dist)
    slot = np.arange(n, dtype=np.int32)
    if (first_dist < 0).any():
        i = int(np.flatnonzero(first_dist < 0)[0])
        raise MapfError(
            f"{name(i)}: goal {grid.cell(int(goals[i]))} cannot be reached from start "
            f"{grid.cell(int(starts[i]))}"
        )
    lower_bound = int(first_dist.sum(dtype=np.int64))
    guide = guide_tables(grid, goals)
    distance_seconds = time.perf_counter() - began

    rng = np.random.default_rng(seed)
    v = grid.vertices
    blocked = np.zeros(v, np.bool_)
    nxt = np.empty(n, np.int32)
    occ_now = np.full(v, -1, np.int32)
    occ_next = np.full(v, -1, np.int32)
    cand = np.empty((n, 5), np.int32)
    root = _Node(starts.copy(), None, first_dist / max(n, 1))
    explored = {root.config.tobytes(): root}
    stack = [root]
    goal_node: _Node | None = None
    nodes = 0
    while stack and time.perf_counter() < deadline:
        node = stack[-1]
        if np.array_equal(node.config, goals):
            goal_node = node
            break
        if not node.tree:
            stack.pop()
            continue
        constraint = node.tree.popleft()
        if constraint.depth < n:
            i = int(node.order[constraint.depth])
            here = int(node.config[i])
            moves = [int(u) for u in grid.neighbours[here] if u >= 0]
            moves.append(here)
            for k in rng.permutation(len(moves)):
                node.tree.append(_Constraint(constraint, i, moves[k]))
        who, where = constraint.arrays()
        tie = rng.random(v, dtype=np.float32)
        nodes += 1
        if not next_config(
            grid.neighbours, guide, slot, goals, node.config, node.order, who, where, blocked,
            tie, nxt, occ_now, occ_next, cand, PARKED,
        ):  # fmt: skip
            continue
        key = nxt.tobytes()
        known = explored.get(key)
        if known is not None:
            stack.append(known)
            continue
        config = nxt.copy()
        at_goal = config == goals
        priorities = np.where(
            at_goal, node.priorities - np.floor(node.priorities), node.priorities + 1
        )
        child = _Node(config, node, priorities)
        explored[key] = child
        stack.append(child)
    seconds = time.perf_counter() - began
    if goal_node is None:
        return Solution(False, not stack, None, None, lower_bound, seconds, distance_seconds, nodes)
    configs = []
    at: _Node | None = goal_node
    while at is not None:
        configs.append(at.config)
        at = at.parent
    paths = np.stack(configs[::-1])
    first = int(arrivals(paths, goals).sum())
    until = time.perf_counter() + min(refine_seconds, deadline - time.perf_counter())
    if until > time.perf_counter():
        # The refinement's heuristic, built in its time: true distances (the guide's costs
        # overestimate them).
        dist = distance_tables(grid, goals)
        refining = until - time.perf_counter()
        if refining > 0:
            paths = refine(paths, goals, dist, grid.neighbours, refining, seed)
    return Solution(
        True, False, paths, arrivals(paths, goals), lower_bound, seconds, distance_seconds, nodes,
        first, time.perf_counter() - began - seconds,
    )  # fmt: skip


def random_agents(grid: Grid, n: int, seed: int) -> tuple[Int32s, Int32s]:
    """Distinct random starts and distinct random goals (vertices) for ``n`` agents, all in the
    largest connected part of the floor: the benchmark's instances drawn with fixed seeds."""
    rng = np.random.default_rng(seed)
    free = np.ones(grid.vertices, np.bool_)
    part = np.zeros(grid.vertices, np.bool_)
    seen = np.zeros(grid.vertices, np.bool_)
    table = np.empty((1, grid.vertices), table_dtype(grid.vertices))
    far = unreached(table.dtype)
    while not seen.all():
        # Parts one by one from an unseen vertex until the largest is known.
        source = np.flatnonzero(~seen)[:1].astype(np.int32)
        bfs_many(grid.neighbours, source, ~free, table)
        reached = table[0] != far
        seen |= reached
        if reached.sum() > part.sum():
            part = reached
    pool = np.flatnonzero(part).astype(np.int32)
    if n > pool.size:
        raise MapfError(
            f"{n} agents do not fit on the {pool.size} cells of {grid.name or 'the grid'}"
        )
    return rng.choice(pool, n, replace=False), rng.choice(pool, n, replace=False)
