from __future__ import annotations

from dataclasses import replace

import pytest

from smartfab.apps.scheduling.problem import Alternative, Job, Machine, Operation, Problem, Window
from smartfab.apps.scheduling.schedule import (
    Assignment,
    InvalidSchedule,
    Schedule,
    check_schedule,
    completions,
    on_time_ratio,
    weighted_tardiness,
)


def op(*alternatives: tuple[int, int]) -> Operation:
    return Operation(tuple(Alternative(m, d) for m, d in alternatives))


PROBLEM = Problem(
    machines=(Machine("m0", (Window(10, 12, "maintenance"),)), Machine("m1")),
    jobs=(
        Job("A", (op((0, 3), (1, 5)), op((1, 2))), due=8),
        Job("B", (op((1, 4)), op((0, 3))), release=1, due=4, priority=2),
    ),
)
A0 = Assignment(0, 0, 0, 0, 3)
A1 = Assignment(0, 1, 1, 5, 7)
B0 = Assignment(1, 0, 1, 1, 5)
B1 = Assignment(1, 1, 0, 5, 8)
VALID = Schedule(
    assignments=(A0, A1, B0, B1),
    objective="makespan",
    objective_value=8,
    bound=8,
    proven_optimal=True,
    seconds=0.0,
    makespan=8,
    weighted_tardiness=8,  # B ends at 8, due 4, priority 2
    on_time_ratio=0.5,
)


def test_valid_schedule_passes_and_its_figures_are_right() -> None:
    check_schedule(PROBLEM, VALID)
    assert completions(PROBLEM, VALID.assignments) == [7, 8]
    assert weighted_tardiness(PROBLEM, VALID.assignments) == 8
    assert on_time_ratio(PROBLEM, VALID.assignments) == 0.5
    no_due = replace(PROBLEM, jobs=tuple(replace(j, due=None) for j in PROBLEM.jobs))
    assert on_time_ratio(no_due, VALID.assignments) is None
    assert weighted_tardiness(no_due, VALID.assignments) == 0


@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        ((A0, A1, B0), "operation 1 of job 'B' is not scheduled"),
        ((A0, A0, A1, B0, B1), "operation 0 of job 0 is scheduled twice"),
        ((A0, A1, B0, B1, Assignment(2, 0, 0, 20, 21)), "names no operation"),
        ((A0, replace(A1, machine=0), B0, B1), "machine 0 is not eligible"),
        ((replace(A0, end=4), A1, B0, B1), "lasts 4, the machine needs one of [3]"),
        ((A0, A1, replace(B0, start=0, end=4), B1), "before its job's release (1)"),
        ((A0, replace(A1, start=2, end=4), B0, B1), "before the previous operation ends (3)"),
        ((A0, replace(A1, start=3, end=5), B0, B1), "overlap on machine 1"),
        ((A0, A1, B0, replace(B1, start=9, end=12)), "during unavailability [10, 12)"),
    ],
)
def test_each_violated_constraint_is_caught(
    assignments: tuple[Assignment, ...], message: str
) -> None:
    with pytest.raises(InvalidSchedule) as error:
        check_schedule(PROBLEM, replace(VALID, assignments=assignments))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"makespan": 9}, "makespan is 9 but the assignments give 8"),
        ({"weighted_tardiness": 0}, "weighted_tardiness is 0 but the assignments give 8"),
        ({"on_time_ratio": 1.0}, "on_time_ratio is 1.0 but the assignments give 0.5"),
        ({"objective_value": 7}, "objective_value is 7 but the assignments give 8"),
        (
            {"objective": "tardiness", "objective_value": 4, "bound": 0, "proven_optimal": False},
            "objective_value is 4 but the assignments give 8",
        ),
        ({"bound": 9}, "bound 9 exceeds the objective value 8"),
        ({"bound": 6}, "claimed optimal, but bound 6 < 8"),
    ],
)
def test_figures_that_do_not_match_the_assignments_are_caught(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidSchedule) as error:
        check_schedule(PROBLEM, replace(VALID, **change))  # type: ignore[arg-type]
    assert message in str(error.value)


def test_zero_length_operations_overlap_nothing() -> None:
    problem = Problem(
        machines=(Machine("m0", (Window(2, 6),)),),
        jobs=(Job("a", (op((0, 0)),)), Job("b", (op((0, 4)),))),
    )
    plan = (Assignment(0, 0, 0, 3, 3), Assignment(1, 0, 0, 6, 10))
    check_schedule(
        problem,
        Schedule(plan, "makespan", 10, 0, False, 0.0, 10, 0, None),
    )
