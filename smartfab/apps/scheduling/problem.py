"""The scheduling problem: machines with unavailability windows, and jobs (work orders) whose
routing is a sequence of operations, each processable on one of several machines.

Times are integers in one unit chosen by the caller (minutes, seconds, ...): CP-SAT works on
integers, and the benchmark instances are integral. Machines and jobs are referred to by their
index in `Problem.machines` and `Problem.jobs`.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartfab.errors import SmartfabError


class ProblemError(SmartfabError):
    """A problem that cannot be scheduled as given (bad index, negative duration, ...)."""


@dataclass(frozen=True)
class Window:
    """A half-open time interval [start, end) during which a machine cannot work: a shift off,
    a maintenance, a breakdown. `reason` is for people reading the plan."""

    start: int
    end: int
    reason: str = ""

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ProblemError(f"window [{self.start}, {self.end}) is empty: start must be < end")


@dataclass(frozen=True)
class Machine:
    name: str
    unavailable: tuple[Window, ...] = ()

    def blocked(self) -> tuple[tuple[int, int], ...]:
        """The unavailability windows sorted and merged: overlapping or touching windows (a
        maintenance during a shift off) become one, because fixed intervals given to a
        no-overlap constraint must not overlap each other."""
        merged: list[tuple[int, int]] = []
        for w in sorted(self.unavailable, key=lambda w: (w.start, w.end)):
            if merged and w.start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], w.end))
            else:
                merged.append((w.start, w.end))
        return tuple(merged)


@dataclass(frozen=True)
class Alternative:
    """One way to process an operation: on `machine` (an index) for `duration` time units."""

    machine: int
    duration: int


@dataclass(frozen=True)
class Operation:
    alternatives: tuple[Alternative, ...]
    name: str = ""

    @property
    def min_duration(self) -> int:
        return min(a.duration for a in self.alternatives)

    @property
    def max_duration(self) -> int:
        return max(a.duration for a in self.alternatives)


@dataclass(frozen=True)
class Job:
    """A work order: its operations in routing order (each starts after the previous one
    ends), the earliest time the first one may start, an optional due date, and a priority used
    as the weight of its tardiness."""

    name: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    priority: int = 1


@dataclass(frozen=True)
class Problem:
    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    name: str = ""

    def __post_init__(self) -> None:
        m = len(self.machines)
        if m == 0:
            raise ProblemError(f"problem {self.name!r} has no machines")
        for job in self.jobs:
            where = f"job {job.name!r}"
            if job.release < 0:
                raise ProblemError(f"{where}: release {job.release} is negative")
            if job.priority < 0:
                raise ProblemError(f"{where}: priority {job.priority} is negative")
            if not job.operations:
                raise ProblemError(f"{where} has no operations")
            for k, op in enumerate(job.operations):
                if not op.alternatives:
                    raise ProblemError(f"{where}, operation {k}: no eligible machine")
                for alt in op.alternatives:
                    if not 0 <= alt.machine < m:
                        raise ProblemError(
                            f"{where}, operation {k}: machine index {alt.machine} is not in "
                            f"0..{m - 1}"
                        )
                    if alt.duration < 0:
                        raise ProblemError(
                            f"{where}, operation {k}: duration {alt.duration} is negative"
                        )

    @property
    def is_flexible(self) -> bool:
        return any(len(op.alternatives) > 1 for job in self.jobs for op in job.operations)

    def horizon(self, earliest: int = 0) -> int:
        """A time by which every operation can surely be finished: after every release,
        window and `earliest`, the operations one after the other at their longest duration."""
        last_window = max((w.end for mc in self.machines for w in mc.unavailable), default=0)
        last_release = max((job.release for job in self.jobs), default=0)
        work = sum(op.max_duration for job in self.jobs for op in job.operations)
        return max(last_window, last_release, earliest) + work


MAX_RECURRING = 100_000


def recurring(
    start: int, end: int, period: int, until: int, reason: str = ""
) -> tuple[Window, ...]:
    """The window [start, end) repeated every `period` until `until`: e.g. the night shift off
    every day, or a weekly maintenance."""
    if period <= 0:
        raise ProblemError(f"period {period} must be positive")
    if end - start > period:
        raise ProblemError(f"window [{start}, {end}) is longer than its period {period}")
    # A short period over a long horizon (huge durations) would exhaust memory: refuse it.
    if (until - start) // period >= MAX_RECURRING:
        raise ProblemError(
            f"a window every {period} until {until} repeats more than {MAX_RECURRING} times"
        )
    windows = []
    offset = 0
    while start + offset < until:
        windows.append(Window(start + offset, end + offset, reason))
        offset += period
    return tuple(windows)
