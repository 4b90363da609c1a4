from __future__ import annotations

import random

from smartfab.apps.scheduling.dispatch import best_dispatch
from smartfab.apps.scheduling.neighbourhood import free_operations, restricted
from smartfab.apps.scheduling.schedule import check_assignments, check_schedule, makespan
from smartfab.apps.scheduling.solver import MIN_ROUNDS, ROUND_S, WHOLE_SHARE, solve
from tests.apps.scheduling.instances import random_problem


def test_a_restricted_problem_keeps_the_plan_machine_of_every_operation_not_freed() -> None:
    problem = random_problem(6, 4, seed=3, flexible=True)
    plan = best_dispatch(problem, "makespan", 0.5)
    free = free_operations(problem, plan, random.Random(1))
    assert free, "a flexible problem always has operations to free"
    sub = restricted(problem, plan, free)
    for a in plan:
        alternatives = sub.jobs[a.job].operations[a.operation].alternatives
        if (a.job, a.operation) in free:
            assert alternatives == problem.jobs[a.job].operations[a.operation].alternatives
        else:
            assert {alt.machine for alt in alternatives} == {a.machine}
    check_assignments(sub, plan)  # the plan stays a plan of the restricted problem


def test_only_operations_with_a_choice_are_freed() -> None:
    problem = random_problem(8, 5, seed=4, flexible=True)
    plan = best_dispatch(problem, "makespan", 0.5)
    rng = random.Random(2)
    for _ in range(20):
        for j, k in free_operations(problem, plan, rng):
            assert len(problem.jobs[j].operations[k].alternatives) > 1


def test_neighbourhood_search_keeps_a_valid_plan_and_an_honest_bound() -> None:
    # Long enough for the neighbourhood phase; a problem CP-SAT does not close in its first part.
    problem = random_problem(15, 8, seed=5, flexible=True)
    limit = (MIN_ROUNDS + 1) * ROUND_S / (1 - WHOLE_SHARE)
    start = best_dispatch(problem, "makespan", 0.5)
    schedule = solve(problem, time_limit_s=limit, workers=2, hint=start)
    check_schedule(problem, schedule)
    assert schedule.makespan <= makespan(start)
    assert schedule.bound <= schedule.makespan
    assert schedule.proven_optimal == (schedule.bound == schedule.makespan)
    assert schedule.seconds < limit + 2
