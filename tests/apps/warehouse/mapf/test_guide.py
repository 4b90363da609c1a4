"""The guide tables PIBT steps by, and its preference for free cells over agents that arrived."""

from __future__ import annotations

import heapq

import numpy as np

from smartfab.apps.warehouse.mapf import Grid
from smartfab.apps.warehouse.mapf.core import distances, next_config, weighted_many
from smartfab.apps.warehouse.mapf.lacam import (
    GOAL_TOLL,
    PARKED,
    STEP,
    distance_tables,
    guide_tables,
)


def dijkstra(grid: Grid, source: int, cost: np.ndarray) -> list[float]:
    """Costs to ``source`` the plain way: a path pays the cost of each vertex it enters."""
    far = float("inf")
    best = [far] * grid.vertices
    best[source] = 0
    heap: list[tuple[float, int]] = [(0, source)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > best[v]:
            continue
        for u in grid.neighbours[v]:
            if u >= 0 and d + cost[v] < best[u]:
                best[u] = d + int(cost[v])
                heapq.heappush(heap, (best[u], int(u)))
    return best


def test_weighted_tables_match_dijkstra_on_a_walled_floor() -> None:
    rows = ["." * 9 for _ in range(7)]
    rows[2] = ".@@@@@@.."
    rows[4] = "...@@@@@@"
    rows[6] = "@@@@@@@@."  # the corner (8, 6) joins; (0..7, 6) are walls
    grid = Grid.from_rows(rows)
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 7, grid.vertices).astype(np.uint8)
    sources = np.array([0, 17, grid.vertices - 1], np.int32)
    out = np.empty((3, grid.vertices), np.int32)
    weighted_many(grid.neighbours, sources, cost, out)
    for k, source in enumerate(sources):
        assert out[k].tolist() == dijkstra(grid, int(source), cost)


def test_guide_tables_charge_for_entering_goals() -> None:
    grid = Grid.from_rows([".....", "....."])
    goals = np.array([grid.vertex((4, 0)), grid.vertex((2, 0)), grid.vertex((2, 1))], np.int32)
    guide = guide_tables(grid, goals)
    # Either row from (0, 0) to (4, 0) crosses a goal, then enters its own: two tolls.
    assert guide[0, grid.vertex((0, 0))] == 4 * STEP + 2 * GOAL_TOLL
    assert guide[0, grid.vertex((4, 1))] == STEP + GOAL_TOLL
    assert guide[0, grid.vertex((4, 0))] == 0
    # The first cell is not charged (the agent is on it, or PIBT sees who is).
    assert guide[0, grid.vertex((2, 1))] == 3 * STEP + GOAL_TOLL


def test_guide_tables_route_round_goals_when_as_short() -> None:
    grid = Grid.from_rows(["...", "..."])
    goals = np.array([grid.vertex((2, 1)), grid.vertex((1, 0))], np.int32)
    guide = guide_tables(grid, goals)[0]
    # From (0, 0) to (2, 1) through (0, 1): three steps and the toll of the own goal only.
    assert guide[grid.vertex((0, 0))] == 3 * STEP + GOAL_TOLL
    # Through (1, 0), another agent's goal, one toll more.
    assert guide[grid.vertex((0, 0))] < guide[grid.vertex((1, 0))] + STEP + GOAL_TOLL


def test_pibt_steps_round_an_agent_resting_on_its_goal() -> None:
    # Agent 0 at (0, 0) heads for (1, 1); (1, 0) and (0, 1) are as near, and agent 1 rests on
    # its goal at (1, 0).
    grid = Grid.from_rows(["...", "..."])
    pos = np.array([grid.vertex((0, 0)), grid.vertex((1, 0))], np.int32)
    goal = np.array([grid.vertex((1, 1)), grid.vertex((1, 0))], np.int32)
    dist = distance_tables(grid, goal)  # plain distances: no toll tells the two cells apart
    slot = np.arange(2, dtype=np.int32)
    order = np.array([0, 1], np.int32)
    none = np.empty(0, np.int32)
    blocked = np.zeros(grid.vertices, np.bool_)
    occ_now = np.full(grid.vertices, -1, np.int32)
    occ_next = np.full(grid.vertices, -1, np.int32)
    rng = np.random.default_rng(0)

    def steps(parked: float) -> set[int]:
        seen = set()
        for _ in range(40):
            nxt = np.empty(2, np.int32)
            tie = rng.random(grid.vertices, dtype=np.float32)
            assert next_config(
                grid.neighbours, dist, slot, goal, pos, order, none, none, blocked, tie, nxt,
                occ_now, occ_next, np.empty((2, 5), np.int32), parked,
            )  # fmt: skip
            seen.add(int(nxt[0]))
            if nxt[0] == pos[1]:
                assert nxt[1] != pos[1]  # pushed off its goal
        return seen

    # Plain PIBT takes either cell (pushing agent 1 off its goal when it takes (1, 0)).
    assert steps(0.0) == {grid.vertex((1, 0)), grid.vertex((0, 1))}
    assert steps(PARKED) == {grid.vertex((0, 1))}


def test_distances_between_pairs_match_the_distance_tables() -> None:
    grid = Grid.from_rows(["......@..", ".@@@@.@..", "......@.."])
    rng = np.random.default_rng(5)
    sources = rng.integers(0, grid.vertices, 40).astype(np.int32)
    targets = rng.integers(0, grid.vertices, 40).astype(np.int32)
    out = np.empty(40, np.int32)
    distances(grid.neighbours, sources, targets, out)
    table = distance_tables(grid, targets)
    far = int(np.iinfo(table.dtype).max)
    expected = [int(table[k, s]) for k, s in enumerate(sources)]
    assert out.tolist() == [-1 if d == far else d for d in expected]
    assert (out == -1).any() and (out > 2).any()  # both parts of the floor were drawn
