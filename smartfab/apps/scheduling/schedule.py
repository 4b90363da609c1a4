"""A schedule: where and when each operation runs, its delivery figures, and `check_schedule`,
which verifies it against the problem independently of how it was produced."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from smartfab.apps.scheduling.problem import Problem
from smartfab.errors import SmartfabError

Objective = Literal["makespan", "tardiness"]


class InvalidSchedule(SmartfabError):
    """A schedule that violates a constraint of its problem."""


@dataclass(frozen=True)
class Assignment:
    """Operation `operation` of job `job` runs on `machine` over [start, end)."""

    job: int
    operation: int
    machine: int
    start: int
    end: int


@dataclass(frozen=True)
class Schedule:
    """A plan and how good it is. `objective_value` and `bound` are in the unit of `objective`
    (time for makespan, priority-weighted time for tardiness); `bound` is the best lower bound
    the solver proved, so `objective_value == bound` means the plan is optimal."""

    assignments: tuple[Assignment, ...]
    objective: Objective
    objective_value: int
    bound: int
    proven_optimal: bool
    seconds: float
    makespan: int
    weighted_tardiness: int
    on_time_ratio: float | None


def makespan(assignments: Iterable[Assignment]) -> int:
    return max((a.end for a in assignments), default=0)


def completions(problem: Problem, assignments: Iterable[Assignment]) -> list[int]:
    """The completion time of each job: the end of its last operation."""
    done = [job.release for job in problem.jobs]
    for a in assignments:
        if a.operation == len(problem.jobs[a.job].operations) - 1:
            done[a.job] = a.end
    return done


def weighted_tardiness(problem: Problem, assignments: Iterable[Assignment]) -> int:
    """Sum over jobs with a due date of priority x time finished after it."""
    return sum(
        job.priority * max(0, c - job.due)
        for job, c in zip(problem.jobs, completions(problem, assignments), strict=True)
        if job.due is not None
    )


def on_time_ratio(problem: Problem, assignments: Iterable[Assignment]) -> float | None:
    """Share of the jobs with a due date that finish by it; None when no job has one."""
    due = [
        (job, c)
        for job, c in zip(problem.jobs, completions(problem, assignments), strict=True)
        if job.due is not None
    ]
    if not due:
        return None
    return sum(1 for job, c in due if job.due is not None and c <= job.due) / len(due)


def objective_value(
    problem: Problem, assignments: Sequence[Assignment], objective: Objective
) -> int:
    if objective == "makespan":
        return makespan(assignments)
    return weighted_tardiness(problem, assignments)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    # Empty intervals overlap nothing, as in CP-SAT's no-overlap constraint.
    return max(a[0], b[0]) < min(a[1], b[1])


def check_assignments(problem: Problem, assignments: Sequence[Assignment]) -> None:
    """Raise InvalidSchedule on the first violated constraint: every operation exactly once,
    on an eligible machine for its duration there, not before its job's release nor before
    the previous operation of its job ends, never two at once on a machine, never during a
    machine's unavailability window."""
    seen: dict[tuple[int, int], Assignment] = {}
    for a in assignments:
        if not 0 <= a.job < len(problem.jobs) or not 0 <= a.operation < len(
            problem.jobs[a.job].operations
        ):
            raise InvalidSchedule(f"assignment {a} names no operation of the problem")
        if (a.job, a.operation) in seen:
            raise InvalidSchedule(f"operation {a.operation} of job {a.job} is scheduled twice")
        seen[a.job, a.operation] = a
    for j, job in enumerate(problem.jobs):
        previous_end = job.release
        for k, op in enumerate(job.operations):
            if (j, k) not in seen:
                raise InvalidSchedule(f"operation {k} of job {job.name!r} is not scheduled")
            a = seen[j, k]
            durations = [alt.duration for alt in op.alternatives if alt.machine == a.machine]
            if not durations:
                raise InvalidSchedule(f"{a}: machine {a.machine} is not eligible")
            if a.end - a.start not in durations:
                raise InvalidSchedule(
                    f"{a}: lasts {a.end - a.start}, the machine needs one of {durations}"
                )
            if a.start < previous_end:
                what = "its job's release" if k == 0 else "the previous operation ends"
                raise InvalidSchedule(f"{a}: starts at {a.start}, before {what} ({previous_end})")
            previous_end = a.end
    by_machine: dict[int, list[Assignment]] = {}
    for a in assignments:
        by_machine.setdefault(a.machine, []).append(a)
    for m, on_machine in by_machine.items():
        on_machine.sort(key=lambda a: (a.start, a.end))
        running: Assignment | None = None
        for a in on_machine:
            if a.start == a.end:
                continue
            if running is not None and running.end > a.start:
                raise InvalidSchedule(f"{running} and {a} overlap on machine {m}")
            running = a
        for w in problem.machines[m].unavailable:
            for a in on_machine:
                if _overlap((a.start, a.end), (w.start, w.end)):
                    raise InvalidSchedule(
                        f"{a} runs during unavailability [{w.start}, {w.end}) {w.reason}".rstrip()
                    )


def check_schedule(problem: Problem, schedule: Schedule) -> None:
    """Raise InvalidSchedule if the schedule breaks a constraint of the problem (see
    `check_assignments`) or if its figures do not match its assignments."""
    check_assignments(problem, schedule.assignments)
    figures = {
        "makespan": (schedule.makespan, makespan(schedule.assignments)),
        "weighted_tardiness": (
            schedule.weighted_tardiness,
            weighted_tardiness(problem, schedule.assignments),
        ),
        "on_time_ratio": (schedule.on_time_ratio, on_time_ratio(problem, schedule.assignments)),
        "objective_value": (
            schedule.objective_value,
            objective_value(problem, schedule.assignments, schedule.objective),
        ),
    }
    for name, (stated, actual) in figures.items():
        if stated != actual:
            raise InvalidSchedule(f"{name} is {stated} but the assignments give {actual}")
    if schedule.bound > schedule.objective_value:
        raise InvalidSchedule(
            f"bound {schedule.bound} exceeds the objective value {schedule.objective_value}"
        )
    if schedule.proven_optimal and schedule.bound != schedule.objective_value:
        raise InvalidSchedule(
            f"claimed optimal, but bound {schedule.bound} < {schedule.objective_value}"
        )
