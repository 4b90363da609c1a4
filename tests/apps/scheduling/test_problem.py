from __future__ import annotations

import pytest

from smartfab.apps.scheduling.problem import (
    Alternative,
    Job,
    Machine,
    Operation,
    Problem,
    ProblemError,
    Window,
    recurring,
)


def op(*alternatives: tuple[int, int]) -> Operation:
    return Operation(tuple(Alternative(m, d) for m, d in alternatives))


def test_blocked_merges_overlapping_and_touching_windows_in_order() -> None:
    machine = Machine(
        "press",
        (Window(20, 30), Window(0, 5), Window(3, 8), Window(8, 10), Window(25, 26)),
    )
    assert machine.blocked() == ((0, 10), (20, 30))


def test_recurring_repeats_a_window_until_the_limit() -> None:
    nights = recurring(16, 24, 24, until=60, reason="night")
    assert [(w.start, w.end) for w in nights] == [(16, 24), (40, 48)]
    assert {w.reason for w in nights} == {"night"}
    with pytest.raises(ProblemError, match="longer than its period"):
        recurring(0, 30, 24, until=100)
    with pytest.raises(ProblemError, match="must be positive"):
        recurring(0, 1, 0, until=100)
    # A request with huge durations must not expand into billions of windows (memory).
    with pytest.raises(ProblemError, match="repeats more than"):
        recurring(0, 1, 1, until=2 * 10**12)


def test_empty_window_is_rejected() -> None:
    with pytest.raises(ProblemError, match="empty"):
        Window(5, 5)


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (Job("a", (op((2, 1)),)), "machine index 2 is not in 0..1"),
        (Job("a", (op((0, -1)),)), "duration -1 is negative"),
        (Job("a", (Operation(()),)), "no eligible machine"),
        (Job("a", ()), "has no operations"),
        (Job("a", (op((0, 1)),), release=-3), "release -3 is negative"),
        (Job("a", (op((0, 1)),), priority=-1), "priority -1 is negative"),
    ],
)
def test_invalid_jobs_are_rejected_with_the_reason(job: Job, message: str) -> None:
    with pytest.raises(ProblemError, match=message):
        Problem(machines=(Machine("m0"), Machine("m1")), jobs=(job,))


def test_a_problem_needs_machines() -> None:
    with pytest.raises(ProblemError, match="no machines"):
        Problem(machines=(), jobs=())


def test_horizon_leaves_room_for_every_operation_after_windows_and_releases() -> None:
    problem = Problem(
        machines=(Machine("m0", (Window(0, 50),)), Machine("m1")),
        jobs=(
            Job("a", (op((0, 3), (1, 7)), op((1, 2))), release=10),
            Job("b", (op((0, 4)),), due=20),
        ),
    )
    # After the last window (50), the longest durations in series: 7 + 2 + 4.
    assert problem.horizon() == 63
    assert problem.horizon(earliest=100) == 113
    assert problem.is_flexible
    assert problem.jobs[0].operations[0].min_duration == 3
