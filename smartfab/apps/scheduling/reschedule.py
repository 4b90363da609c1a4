"""Re-planning when a machine goes down: what has started stays as it is, the rest is planned
again around the new unavailability window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from smartfab.apps.scheduling.dispatch import dispatch
from smartfab.apps.scheduling.problem import Problem, ProblemError, Window
from smartfab.apps.scheduling.schedule import Assignment, Objective, Schedule
from smartfab.apps.scheduling.solver import solve


@dataclass(frozen=True)
class Replan:
    """The problem with the breakdown as an unavailability window, the new schedule, the
    operations kept as they were, and the one interrupted by the breakdown (if any)."""

    problem: Problem
    schedule: Schedule
    kept: tuple[Assignment, ...]
    interrupted: Assignment | None


def reschedule(
    problem: Problem,
    schedule: Schedule,
    machine: int,
    down_at: int,
    down_for: int,
    *,
    objective: Objective | None = None,
    time_limit_s: float = 10.0,
    workers: int = 0,
    reason: str = "breakdown",
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Replan:
    """Re-plan `schedule` after `machine` goes down at `down_at` for `down_for` time units.

    Operations that started before `down_at` keep their machine and times, except the one
    running on the failed machine, which cannot finish there: operations are not preemptive,
    so it is redone from its start, on any eligible machine, like the operations not yet
    started. Those all start at `down_at` or later. The search starts from the previous plan
    repaired in its own order, so the new plan stays close to it unless better is found.
    `objective` defaults to the one the schedule was made for."""
    if not 0 <= machine < len(problem.machines):
        raise ProblemError(f"machine index {machine} is not in 0..{len(problem.machines) - 1}")
    window = Window(down_at, down_at + down_for, reason)
    machines = list(problem.machines)
    machines[machine] = replace(
        machines[machine], unavailable=(*machines[machine].unavailable, window)
    )
    updated = replace(problem, machines=tuple(machines))

    started = [a for a in schedule.assignments if a.start < down_at]
    interrupted = next(
        (a for a in started if a.machine == machine and a.end > down_at and a.end > a.start),
        None,
    )
    kept = tuple(a for a in started if a is not interrupted)
    order = {(a.job, a.operation): a.start for a in schedule.assignments}
    repaired = dispatch(updated, "order", frozen=kept, not_before=down_at, order=order)
    new = solve(
        updated,
        objective or schedule.objective,
        time_limit_s=time_limit_s,
        workers=workers,
        hint=repaired,
        frozen=kept,
        not_before=down_at,
        seed=seed,
        log=log,
    )
    return Replan(problem=updated, schedule=new, kept=kept, interrupted=interrupted)
