from __future__ import annotations

import pytest

from smartfab.apps.scheduling.problem import (
    Alternative,
    Job,
    Machine,
    Operation,
    Problem,
    ProblemError,
)
from smartfab.apps.scheduling.reschedule import reschedule
from smartfab.apps.scheduling.schedule import Assignment, check_schedule
from smartfab.apps.scheduling.solver import solve
from tests.apps.scheduling.instances import random_problem


@pytest.mark.parametrize("flexible", [False, True])
def test_started_operations_stay_and_the_rest_avoids_the_breakdown(flexible: bool) -> None:
    problem = random_problem(6, 4, seed=21, flexible=flexible, windows=True)
    before = solve(problem, time_limit_s=3, workers=1)
    down_at, down_for = before.makespan // 3, 15
    machine = next(a.machine for a in before.assignments if a.start < down_at < a.end)

    replan = reschedule(problem, before, machine, down_at, down_for, time_limit_s=3, workers=1)

    after = replan.schedule
    # Valid for the problem with the breakdown: in particular nothing runs on the failed
    # machine during [down_at, down_at + down_for).
    check_schedule(replan.problem, after)
    assert replan.problem.machines[machine].unavailable[-1].start == down_at
    started = {a for a in before.assignments if a.start < down_at}
    assert replan.interrupted is not None and replan.interrupted.machine == machine
    assert set(replan.kept) == started - {replan.interrupted}
    assert set(replan.kept) <= set(after.assignments)
    assert all(a.start >= down_at for a in after.assignments if a not in replan.kept)
    assert after.makespan >= before.makespan or not before.proven_optimal


def test_the_interrupted_operation_is_redone_after_the_repair() -> None:
    # One machine, one job of two operations; the machine fails during the first.
    problem = Problem(
        machines=(Machine("m0"),),
        jobs=(Job("a", (Operation((Alternative(0, 5),)), Operation((Alternative(0, 3),)))),),
    )
    before = solve(problem, time_limit_s=2, workers=1)
    replan = reschedule(problem, before, 0, 2, 10, time_limit_s=2, workers=1)
    assert replan.kept == ()
    assert replan.interrupted == Assignment(0, 0, 0, 0, 5)
    assert replan.schedule.assignments == (Assignment(0, 0, 0, 12, 17), Assignment(0, 1, 0, 17, 20))
    assert replan.schedule.proven_optimal
    assert replan.problem.machines[0].unavailable[0].reason == "breakdown"


def test_unknown_machine_is_rejected() -> None:
    problem = random_problem(2, 2, seed=1)
    before = solve(problem, time_limit_s=1, workers=1)
    with pytest.raises(ProblemError, match="machine index 5"):
        reschedule(problem, before, 5, 1, 1)
