from __future__ import annotations

import numpy as np

from smartfab.apps.warehouse.mapf import Grid
from smartfab.apps.warehouse.mapf.lacam import distance_tables, random_agents, solve
from smartfab.apps.warehouse.mapf.lns import arrivals
from smartfab.apps.warehouse.mapf.sipp import Reservations

# Shelves with gaps: a small warehouse where agents wait for each other at the gaps.
SHELVES = [
    "..........",
    ".@@@.@@@@.",
    "..........",
    ".@@@@.@@@.",
    "..........",
]


def earliest_by_brute_force(
    grid: Grid, start: int, goal: int, others: np.ndarray, budget: int
) -> int:
    """The earliest arrival from which the agent can stay at ``goal`` to the end, by a
    breadth-first search over (time, vertex) with the same conflict rules, or -1."""
    horizon = others.shape[0] - 1
    taken = [set(int(v) for v in others[t]) for t in range(horizon + 1)]
    stays = min(
        (t for t in range(horizon + 1) if all(goal not in taken[u] for u in range(t, horizon + 1))),
        default=horizon + 1,
    )
    frontier = {start} if start not in taken[0] else set()
    for t in range(horizon + 1):
        if goal in frontier and t >= stays and t <= budget:
            return t
        if t == horizon:
            break
        after: set[int] = set()
        for v in frontier:
            for u in [*(int(w) for w in grid.neighbours[v] if w >= 0), v]:
                if u in taken[t + 1]:
                    continue
                # No swap: nobody comes from u to v while the agent goes from v to u.
                if u != v and any(
                    others[t, k] == u and others[t + 1, k] == v for k in range(others.shape[1])
                ):
                    continue
                after.add(u)
        frontier = after
    return -1


def test_safe_interval_planning_finds_the_earliest_arrival_among_moving_agents() -> None:
    grid = Grid.from_rows(SHELVES)
    checked = failed = 0
    for seed in range(12):
        starts, goals = random_agents(grid, 14, seed)
        first = solve(grid, starts, goals, time_limit=30, seed=seed)
        assert first.paths is not None
        dist = distance_tables(grid, goals)
        horizon = first.paths.shape[0] - 1
        for agent in range(0, 14, 3):
            table = Reservations(first.paths, grid.vertices)
            table.release(first.paths, np.array([agent], np.int32))
            others = np.delete(first.paths, agent, axis=1)
            start, goal = int(starts[agent]), int(goals[agent])
            for budget in (horizon, int(arrivals(first.paths, goals)[agent]) - 1, 0):
                arrival = table.plan(start, goal, dist[agent], grid.neighbours, budget)
                expected = earliest_by_brute_force(grid, start, goal, others, budget)
                assert arrival == expected
                if expected < 0:
                    failed += 1
                    continue
                path = table.path
                assert int(arrivals(path[:, None], np.array([goal], np.int32))[0]) == expected
                together = np.concatenate([others, path[:, None]], axis=1)
                assert path[0] == start and path[-1] == goal
                for t in range(1, horizon + 1):
                    assert np.unique(together[t]).size == together.shape[1]
                    assert path[t] == path[t - 1] or path[t] in grid.neighbours[path[t - 1]]
                    for k in range(others.shape[1]):
                        assert not (others[t - 1, k] == path[t] and others[t, k] == path[t - 1])
                checked += 1
    assert checked >= 40 and failed >= 10  # both answers were put to the test


def test_the_free_runs_follow_the_paths_reserved_and_released() -> None:
    grid = Grid.from_rows(SHELVES)
    starts, goals = random_agents(grid, 20, 5)
    first = solve(grid, starts, goals, time_limit=30, seed=5)
    assert first.paths is not None
    table = Reservations(first.paths, grid.vertices)
    rng = np.random.default_rng(5)
    out = np.zeros(20, np.bool_)
    out[:4] = True
    table.release(first.paths, np.arange(4, dtype=np.int32))
    for _ in range(30):
        # Some agents taken out, some of those out put back: the table holds the others.
        agents = rng.choice(np.flatnonzero(~out), 4, replace=False).astype(np.int32)
        table.release(first.paths, agents)
        out[agents] = True
        back = rng.choice(np.flatnonzero(out), 4, replace=False).astype(np.int32)
        table.reserve(first.paths, back)
        out[back] = False
        held = np.full_like(table.table, -1)
        for i in np.flatnonzero(~out):
            held[first.paths[:, i], np.arange(first.paths.shape[0])] = i
        assert np.array_equal(table.table, held)
        # Each free (vertex, time): its run runs to the time before the next occupied one.
        free = table.table < 0
        for v in range(grid.vertices):
            assert table.last_free[v] == (np.flatnonzero(free[v])[-1] if free[v].any() else -1)
            taken = np.flatnonzero(~free[v])
            for t in np.flatnonzero(free[v]):
                after = taken[taken > t]
                expected = int(after[0]) - 1 if after.size else table.horizon
                assert table.ends[v, t] == expected
