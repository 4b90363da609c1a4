from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.warehouse.mapf import FleetPlanner, Grid, MapfError, StepResult, Task, load_map
from tests.apps.scheduling.data import shared
from tests.apps.warehouse.mapf.checker import check_step, free_cells

# Two aisles joined at both ends, a side room behind a one-cell door, and a closed cell.
FLOOR = [
    "............",
    ".@@@@.@@@@@.",
    ".@@@@.@@@@@.",
    "............",
    "@@@@@.@@@@@@",
    "@@@@...@@@@@",
    "@@@@@@@@@@.@",
]
CORRIDOR = ["." * 20]
# Racks with aisles two cells wide, where PIBT keeps a crowded fleet moving (in one-cell loops
# crowded with agents going both ways it may go round in circles: it is not complete).
RACKS = [
    "............",
    "..@@@..@@@..",
    "..@@@..@@@..",
    "............",
    "............",
    "..@@@..@@@..",
    "..@@@..@@@..",
    "............",
]


class Run:
    """A planner on a floor, every step checked against the previous positions."""

    def __init__(self, rows: list[str], seed: int = 0) -> None:
        self.rows = rows
        self.fleet = FleetPlanner(Grid.from_rows(rows), seed=seed)
        self.picked: dict[str, str] = {}
        self.delivered: dict[str, str] = {}
        self.unreachable: list[str] = []

    def step(self) -> StepResult:
        before = {a.id: a.cell for a in self.fleet.agents()}
        result = self.fleet.step()
        ids = list(before)
        assert list(result.positions) == ids
        check_step(self.rows, [before[i] for i in ids], [result.positions[i] for i in ids])
        for agent, task in result.picked_up:
            assert task not in self.picked, f"{task} picked up twice"
            self.picked[task] = agent
        for agent, task in result.delivered:
            assert self.picked.get(task) == agent, f"{task} delivered by {agent} unpicked"
            assert task not in self.delivered
            self.delivered[task] = agent
        self.unreachable += result.unreachable
        return result

    def until(self, done: object, limit: int = 500) -> None:
        for _ in range(limit):
            if callable(done) and done():
                return
            self.step()
        raise AssertionError("not done in time")


def test_tasks_are_carried_from_pickup_to_drop_without_conflicts() -> None:
    run = Run(RACKS, seed=3)
    cells = free_cells(RACKS)
    rng = np.random.default_rng(3)
    for k, cell in enumerate(cells[:8]):
        run.fleet.add_agent(f"agv{k}", cell)
    tasks = []
    for k in range(40):
        pickup, drop = (cells[i] for i in rng.choice(len(cells), 2, replace=False))
        tasks.append(Task(f"t{k}", pickup, drop))
        run.fleet.submit(tasks[-1])
    run.until(lambda: len(run.delivered) == len(tasks), limit=2000)
    assert not run.unreachable and not run.fleet.queued()
    assert all(a.task is None for a in run.fleet.agents())


def test_a_new_task_is_dealt_to_the_agent_nearer_its_pickup() -> None:
    run = Run(CORRIDOR)
    run.fleet.add_agent("a", (0, 0))
    run.fleet.submit(Task("far", (19, 0), (10, 0)))
    run.step()
    assert run.fleet.state("a").task == "far" and run.fleet.state("a").cell == (1, 0)
    run.fleet.add_agent("b", (18, 0))
    run.fleet.submit(Task("near", (2, 0), (5, 0)))
    run.step()
    assert run.fleet.state("a").task == "near"
    assert run.fleet.state("b").task == "far"
    run.until(lambda: len(run.delivered) == 2)
    assert run.delivered == {"near": "a", "far": "b"}


def test_others_plan_around_a_broken_agent_and_its_task_goes_to_another() -> None:
    run = Run(FLOOR, seed=1)
    run.fleet.add_agent("a", (0, 0))
    run.fleet.add_agent("b", (11, 3))
    run.fleet.submit(Task("t", (11, 0), (0, 3)))
    run.step()
    broken = "a" if run.fleet.state("a").task else "b"
    other = "b" if broken == "a" else "a"
    stuck_at = run.fleet.state(broken).cell
    run.fleet.set_broken(broken, True)
    run.until(lambda: "t" in run.delivered)
    assert run.delivered["t"] == other
    assert run.fleet.state(broken).cell == stuck_at and run.fleet.state(broken).broken
    run.fleet.set_broken(broken, False)
    run.fleet.submit(Task("u", (5, 5), (0, 0)))
    run.until(lambda: "u" in run.delivered)


def test_a_held_agent_stays_keeps_its_task_and_goes_on_once_let_go() -> None:
    run = Run(FLOOR, seed=1)
    run.fleet.add_agent("a", (0, 0))
    run.fleet.add_agent("b", (11, 3))
    run.fleet.submit(Task("t", (0, 3), (5, 5)))  # a's: it is nearer
    run.fleet.submit(Task("u", (11, 0), (0, 0)))
    run.step()
    assert run.fleet.state("a").task == "t"
    here = run.fleet.state("a").cell
    run.fleet.set_held("a", True)
    # its route is the one it takes once let go, though it stands meanwhile
    assert run.fleet.route("a")[0] == here and len(run.fleet.route("a")) > 1
    for _ in range(40):
        run.step()
    a = run.fleet.state("a")
    assert a.cell == here and a.held and not a.broken and a.task == "t"  # not given away
    assert "u" in run.delivered and "t" not in run.picked  # b went on, around it
    run.fleet.set_held("a", False)
    run.until(lambda: "t" in run.delivered)
    assert run.delivered["t"] == "a" and not run.fleet.state("a").held


def test_nobody_enters_a_blocked_cell_and_the_long_way_is_taken() -> None:
    run = Run(FLOOR)
    run.fleet.add_agent("a", (0, 3))
    run.fleet.block((5, 1))  # the short middle passage between the aisles
    run.fleet.submit(Task("t", (4, 3), (6, 0)))
    seen = []
    run.until(lambda: "t" in run.delivered)
    for _ in range(3):
        seen.append(run.step().positions["a"])
    assert run.fleet.time > 10  # round the end of the aisle, not through the middle
    run.fleet.unblock((5, 1))
    assert (5, 1) not in seen


def test_an_unreachable_task_is_reported_once_and_not_looped_on() -> None:
    run = Run(FLOOR)
    run.fleet.add_agent("a", (0, 0))
    run.fleet.submit(Task("walled", (0, 0), (10, 6)))  # to the closed cell
    run.fleet.block((5, 4))  # the door of the side room
    run.fleet.submit(Task("room", (5, 5), (0, 0)))
    assert set(run.step().unreachable) == {"walled", "room"}
    for _ in range(5):
        assert not run.step().unreachable
    assert run.unreachable.count("walled") == 1 and run.unreachable.count("room") == 1
    assert not run.fleet.queued() and run.fleet.state("a").task is None


def test_route_is_the_shortest_way_to_the_goal() -> None:
    run = Run(CORRIDOR)
    run.fleet.add_agent("a", (3, 0))
    run.fleet.send("a", (8, 0))
    assert run.fleet.route("a") == [(x, 0) for x in range(3, 9)]
    assert run.fleet.route("a", limit=2) == [(3, 0), (4, 0)]
    run.until(lambda: run.fleet.state("a").cell == (8, 0))
    run.fleet.send("a", None)
    run.fleet.submit(Task("t", (0, 0), (1, 0)))
    run.until(lambda: "t" in run.delivered)


def test_the_planned_step_is_taken_where_released_and_held_back_in_a_chain_where_not() -> None:
    run = Run(CORRIDOR)
    run.fleet.add_agent("a", (3, 0))
    run.fleet.add_agent("b", (2, 0))  # behind a, going the same way
    run.fleet.send("a", (12, 0))
    run.fleet.send("b", (11, 0))
    planned = run.fleet.intent()
    assert planned == {"a": (4, 0), "b": (3, 0)}
    assert run.fleet.route("b", 3) == [(2, 0), (3, 0), (4, 0)]
    # a's step not released: a stays, and b, which was to take a's cell, with it
    result = run.fleet.step({"a": None})
    assert result.positions == {"a": (3, 0), "b": (2, 0)}
    # b's released cell is not its planned one: b stays, a goes on
    planned = run.fleet.intent()
    assert run.step().positions == planned  # unreleased: the plan as it is
    planned = run.fleet.intent()
    assert planned == {"a": (5, 0), "b": (4, 0)}
    result = run.fleet.step({"a": (5, 0), "b": (2, 0)})
    assert result.positions == {"a": (5, 0), "b": (3, 0)}
    # an agent broken after its step was planned stays too
    run.fleet.intent()
    run.fleet.set_broken("a", True)
    before = run.fleet.state("a").cell
    assert run.fleet.step().positions["a"] == before


def test_bad_calls_are_refused_and_change_nothing() -> None:
    fleet = FleetPlanner(Grid.from_rows(FLOOR))
    fleet.add_agent("a", (0, 0))
    with pytest.raises(MapfError, match="exists already"):
        fleet.add_agent("a", (1, 0))
    with pytest.raises(MapfError, match=r"cell \(0, 0\) is taken by agent 'a'"):
        fleet.add_agent("b", (0, 0))
    with pytest.raises(MapfError, match=r"agent 'b': cell \(1, 1\) is a wall"):
        fleet.add_agent("b", (1, 1))
    with pytest.raises(MapfError, match="off the 12x7 grid"):
        fleet.add_agent("b", (12, 0))
    with pytest.raises(MapfError, match=r"task 't' drop: cell \(1, 1\) is a wall"):
        fleet.submit(Task("t", (0, 0), (1, 1)))
    fleet.submit(Task("t", (0, 0), (2, 0)))
    with pytest.raises(MapfError, match="task 't' exists already"):
        fleet.submit(Task("t", (3, 0), (2, 0)))
    with pytest.raises(MapfError, match="no agent 'x'"):
        fleet.set_broken("x", True)
    with pytest.raises(MapfError, match="no task 'u'"):
        fleet.cancel("u")
    assert [a.id for a in fleet.agents()] == ["a"] and [t.id for t in fleet.queued()] == ["t"]
    fleet.cancel("t")
    assert not fleet.queued()


def test_a_hundred_agents_on_the_real_warehouse_map() -> None:
    path = shared("warehouse", "maps", "warehouse-10-20-10-2-1.map")
    rows = path.read_text(encoding="utf-8").splitlines()[4:]
    run = Run(rows, seed=5)
    run.fleet = FleetPlanner(load_map(path), seed=5)
    cells = free_cells(rows)
    rng = np.random.default_rng(5)
    picks = rng.choice(len(cells), 300, replace=False)
    for k in range(100):
        run.fleet.add_agent(f"agv{k}", cells[picks[k]])
    for k in range(100):
        run.fleet.submit(Task(f"t{k}", cells[picks[100 + k]], cells[picks[200 + k]]))
    run.until(lambda: len(run.delivered) == 100, limit=1000)


def test_tasks_wait_for_an_agent() -> None:
    run = Run(CORRIDOR)
    run.fleet.submit(Task("t", (3, 0), (9, 0)))
    for _ in range(3):
        assert not run.step().unreachable
    run.fleet.add_agent("a", (0, 0))
    run.until(lambda: "t" in run.delivered)
