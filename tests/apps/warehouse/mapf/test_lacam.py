from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.warehouse.mapf import Grid, MapfError, load_map, load_scenario
from smartfab.apps.warehouse.mapf.lacam import distance_tables, random_agents, solve
from smartfab.apps.warehouse.mapf.lns import refine
from tests.apps.scheduling.data import shared
from tests.apps.warehouse.mapf.checker import as_cells, check_solution, free_cells

# A corridor with one side pocket: the two agents must pass each other through the pocket,
# which PIBT's greedy step alone does not find.
POCKET = ["@@@.@@@", "......."]
# Two agents swapping ends of a dead-end corridor: impossible.
DEAD_END = ["...", "@@@"]
# A room whose door is a single cell, with agents packed around it.
ROOM = [
    "@@@@@@@",
    "@.....@",
    "@.....@",
    "@@@.@@@",
    "@.....@",
    "@.....@",
    "@@@@@@@",
]


def rows_of(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()[4:]


def run(rows: list[str], starts: list[tuple[int, int]], goals: list[tuple[int, int]]) -> int:
    grid = Grid.from_rows(rows)
    start = np.array([grid.vertex(c) for c in starts], np.int32)
    goal = np.array([grid.vertex(c) for c in goals], np.int32)
    solution = solve(grid, start, goal, time_limit=30, seed=1)
    assert solution.solved and solution.paths is not None
    cost = check_solution(rows, starts, goals, as_cells(rows, solution.paths))
    assert cost == solution.sum_of_costs
    assert solution.sum_of_costs >= solution.lower_bound
    return cost


def test_agents_pass_each_other_through_a_pocket() -> None:
    cost = run(POCKET, [(0, 1), (6, 1)], [(6, 1), (0, 1)])
    assert cost >= 12 + 2  # each needs 6 moves, and one of them steps aside


def test_a_room_emptied_through_one_door() -> None:
    top = [(x, 1) for x in range(1, 6)]
    bottom = [(x, 5) for x in range(1, 6)]
    # Five agents from the top room to the bottom one and five back, through one door.
    run(ROOM, top + bottom, bottom[::-1] + top[::-1])


def test_agents_already_at_their_goals_cost_nothing() -> None:
    assert run(POCKET, [(0, 1), (3, 0)], [(0, 1), (3, 0)]) == 0


def test_an_impossible_instance_is_proved_so() -> None:
    grid = Grid.from_rows(DEAD_END)
    solution = solve(grid, np.array([0, 2], np.int32), np.array([2, 0], np.int32), time_limit=30)
    assert not solution.solved and solution.exhausted


def test_random_instances_on_a_small_map() -> None:
    rows = ["." * 12 for _ in range(8)]
    rows[3] = "..@@@@@@@@.."
    rows[5] = "@@@@..@@@@@@"
    grid = Grid.from_rows(rows)
    cells = free_cells(rows)
    for seed in range(20):
        starts, goals = random_agents(grid, 30, seed)
        run(rows, [cells[v] for v in starts], [cells[v] for v in goals])


def test_unreachable_goal_is_reported_with_the_agent() -> None:
    grid = Grid.from_rows(["..@.."])
    with pytest.raises(MapfError, match=r"agent 1: goal \(4, 0\) cannot be reached"):
        solve(grid, np.array([0, 1], np.int32), np.array([1, 3], np.int32))


def test_duplicate_starts_and_goals_are_refused() -> None:
    grid = Grid.from_rows(["...."])
    with pytest.raises(MapfError, match=r"agent 2: duplicate start \(1, 0\), as agent 0"):
        solve(grid, np.array([1, 0, 1], np.int32), np.array([0, 2, 3], np.int32))
    with pytest.raises(MapfError, match=r"agent 1: duplicate goal \(3, 0\), as agent 0"):
        solve(grid, np.array([1, 0], np.int32), np.array([3, 3], np.int32))


def test_random_instances_on_the_real_warehouse_map() -> None:
    path = shared("warehouse", "maps", "warehouse-10-20-10-2-1.map")
    grid = load_map(path)
    rows = rows_of(str(path))
    cells = free_cells(rows)
    for n, seed in ((100, 0), (400, 1)):
        starts, goals = random_agents(grid, n, seed)
        solution = solve(grid, starts, goals, time_limit=120, seed=seed)
        assert solution.solved and solution.paths is not None
        cost = check_solution(
            rows, [cells[v] for v in starts], [cells[v] for v in goals],
            as_cells(rows, solution.paths),
        )  # fmt: skip
        assert cost == solution.sum_of_costs >= solution.lower_bound


def test_the_first_agents_of_a_published_scenario() -> None:
    grid = load_map(shared("warehouse", "maps", "warehouse-20-40-10-2-2.map"))
    scen = load_scenario(
        shared("warehouse", "scen", "warehouse-20-40-10-2-2-10000agents-1.scen"), grid
    ).first(1000)
    rows = rows_of(str(shared("warehouse", "maps", "warehouse-20-40-10-2-2.map")))
    solution = solve(
        grid, grid.vertices_of(scen.starts), grid.vertices_of(scen.goals), time_limit=120
    )
    assert solution.solved and solution.paths is not None
    starts = [(int(x), int(y)) for x, y in scen.starts]
    goals = [(int(x), int(y)) for x, y in scen.goals]
    assert check_solution(rows, starts, goals, as_cells(rows, solution.paths)) == (
        solution.sum_of_costs
    )


def test_refinement_keeps_plans_valid_and_lowers_their_cost() -> None:
    rows = ["." * 14 for _ in range(10)]
    for y in (2, 3, 6, 7):
        rows[y] = ".@@@@.@@@@.@@."
    grid = Grid.from_rows(rows)
    cells = free_cells(rows)
    starts, goals = random_agents(grid, 45, seed=3)
    first = solve(grid, starts, goals, time_limit=30, seed=3)
    assert first.paths is not None
    paths = refine(first.paths, goals, distance_tables(grid, goals), grid.neighbours, 60,
                   seed=1, rounds=300)  # fmt: skip
    cost = check_solution(rows, [cells[v] for v in starts], [cells[v] for v in goals],
                          as_cells(rows, paths))  # fmt: skip
    assert first.lower_bound <= cost < first.sum_of_costs
    assert paths.shape == first.paths.shape  # the makespan never grows


def test_solve_refines_within_its_time_limit() -> None:
    grid = Grid.from_rows(POCKET)
    solution = solve(grid, np.array([0, 6], np.int32), np.array([6, 0], np.int32),
                     time_limit=30, refine_seconds=0.5)  # fmt: skip
    assert solution.solved and solution.sum_of_costs <= solution.first_sum_of_costs
    assert solution.refine_seconds > 0
