from __future__ import annotations

import pytest

from smartfab.apps.scheduling.dispatch import dispatch
from smartfab.apps.scheduling.formats import read_fjsp, read_jsp
from smartfab.apps.scheduling.problem import (
    Alternative,
    Job,
    Machine,
    Operation,
    Problem,
    Window,
    recurring,
)
from smartfab.apps.scheduling.schedule import Assignment, check_schedule, makespan
from smartfab.apps.scheduling.solver import SchedulingError, solve
from tests.apps.scheduling.data import shared
from tests.apps.scheduling.instances import random_problem


def op(*alternatives: tuple[int, int]) -> Operation:
    return Operation(tuple(Alternative(m, d) for m, d in alternatives))


@pytest.mark.parametrize(("name", "optimum"), [("ft06", 55), ("la01", 666)])
def test_classic_instances_are_solved_to_proven_optimality(name: str, optimum: int) -> None:
    problem = read_jsp(shared("jsp", "instances", name))
    schedule = solve(problem, time_limit_s=10, workers=1)
    check_schedule(problem, schedule)
    assert schedule.makespan == optimum
    assert schedule.proven_optimal and schedule.bound == optimum
    assert schedule.seconds < 10
    assert schedule.on_time_ratio is None  # no due dates in the benchmark


def test_flexible_instance_gets_close_to_the_best_known() -> None:
    problem = read_fjsp(shared("fjsp", "brandimarte", "mk01.txt"))
    schedule = solve(problem, time_limit_s=5, workers=1)
    check_schedule(problem, schedule)
    best_known = 40
    assert (schedule.makespan - best_known) / best_known <= 0.05


def test_an_operation_never_spans_a_maintenance_window() -> None:
    # The 6-long operation does not fit in [4, 5) before the window, so it waits for its end.
    problem = Problem(
        machines=(Machine("m0", (Window(5, 12, "maintenance"),)),),
        jobs=(Job("a", (op((0, 4)),)), Job("b", (op((0, 6)),))),
    )
    schedule = solve(problem, time_limit_s=5, workers=1)
    check_schedule(problem, schedule)
    assert schedule.makespan == 18 and schedule.proven_optimal
    assert schedule.assignments[1].start == 12


def test_work_fits_between_nights_off() -> None:
    # Off 16:00-24:00 every day: one 10-hour operation per day fits, a second does not.
    nights = recurring(16, 24, 24, until=100, reason="night")
    problem = Problem(
        machines=(Machine("m0", nights),),
        jobs=tuple(Job(f"j{j}", (op((0, 10)),)) for j in range(3)),
    )
    schedule = solve(problem, time_limit_s=5, workers=1)
    check_schedule(problem, schedule)
    assert sorted(a.start for a in schedule.assignments) == [0, 24, 48]
    assert schedule.makespan == 58 and schedule.proven_optimal


def test_a_flexible_operation_moves_to_a_machine_that_is_up() -> None:
    problem = Problem(
        machines=(Machine("m0", (Window(0, 20),)), Machine("m1")),
        jobs=(Job("a", (op((0, 6), (1, 8)),)),),
    )
    schedule = solve(problem, time_limit_s=5, workers=1)
    assert schedule.assignments == (Assignment(0, 0, 1, 0, 8),)


# One machine; by hand over the 6 orders, the least weighted tardiness is 2: b (2, due 2,
# weight 2), then a (3, due 3: 2 late), then c (4, due 9: on time). Every other order costs 6 or
# more; the makespan is 9 whatever the order.
TARDY = Problem(
    machines=(Machine("m0"),),
    jobs=(
        Job("a", (op((0, 3)),), due=3, priority=1),
        Job("b", (op((0, 2)),), due=2, priority=2),
        Job("c", (op((0, 4)),), due=9, priority=1),
    ),
)


def test_total_weighted_tardiness_reaches_the_optimum_computed_by_hand() -> None:
    schedule = solve(TARDY, "tardiness", time_limit_s=5, workers=1)
    check_schedule(TARDY, schedule)
    assert schedule.objective == "tardiness"
    assert schedule.objective_value == schedule.weighted_tardiness == 2
    assert schedule.proven_optimal and schedule.bound == 2
    assert [a.start for a in schedule.assignments] == [2, 0, 5]
    assert schedule.makespan == 9
    assert schedule.on_time_ratio == pytest.approx(2 / 3)


def test_makespan_objective_ignores_due_dates() -> None:
    schedule = solve(TARDY, "makespan", time_limit_s=5, workers=1)
    check_schedule(TARDY, schedule)
    assert schedule.objective_value == schedule.makespan == 9 and schedule.proven_optimal


@pytest.mark.parametrize("objective", ["makespan", "tardiness"])
def test_generated_instances_give_valid_schedules(objective: str) -> None:
    problem = random_problem(8, 4, seed=11, flexible=True, windows=True, due_dates=True)
    schedule = solve(problem, objective, time_limit_s=3, workers=1)  # type: ignore[arg-type]
    check_schedule(problem, schedule)
    assert schedule.bound <= schedule.objective_value


def test_frozen_operations_are_kept_and_the_rest_starts_later() -> None:
    problem = random_problem(5, 4, seed=4, windows=True)
    first = solve(problem, time_limit_s=3, workers=1)
    t = first.makespan // 3
    kept = [a for a in first.assignments if a.start < t]
    second = solve(problem, time_limit_s=3, workers=1, frozen=kept, not_before=t)
    check_schedule(problem, second)
    assert set(kept) <= set(second.assignments)
    assert all(a.start >= t for a in second.assignments if a not in kept)


def test_fixed_operations_that_cannot_be_kept_are_reported() -> None:
    problem = Problem(machines=(Machine("m0", (Window(0, 10),)),), jobs=(Job("a", (op((0, 5)),)),))
    with pytest.raises(SchedulingError, match="no schedule respects the fixed operations"):
        solve(problem, time_limit_s=5, workers=1, frozen=[Assignment(0, 0, 0, 2, 7)])
    with pytest.raises(ValueError, match="matches no"):
        solve(problem, time_limit_s=5, workers=1, frozen=[Assignment(0, 0, 0, 20, 24)])
    with pytest.raises(ValueError, match="names no operation"):
        solve(problem, time_limit_s=5, workers=1, frozen=[Assignment(1, 0, 0, 20, 25)])


def test_a_time_limit_too_short_for_the_search_returns_the_dispatching_plan() -> None:
    problem = random_problem(10, 5, seed=2)
    schedule = solve(problem, time_limit_s=1e-6, workers=1)
    check_schedule(problem, schedule)
    assert not schedule.proven_optimal and schedule.bound == 0
    # The best of the rules, so no worse than one of them.
    assert schedule.makespan <= makespan(dispatch(problem, "mwkr"))
    with pytest.raises(ValueError, match="must be positive"):
        solve(problem, time_limit_s=0)
