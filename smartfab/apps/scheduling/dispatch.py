"""Dispatching-rule schedules: fast, feasible, reasonably good plans that the CP-SAT search
starts from (a good first solution and a tight horizon help it most on large instances), and
that remain a valid answer when the search finds nothing better in time.

The builder is Giffler and Thompson's: repeatedly take the operation that can finish first
among the next operation of every job, and among the operations competing for its machine
before that time, dispatch the one a priority rule prefers. Operations are placed in the
earliest gap of their machine that fits them, around unavailability windows and operations
fixed beforehand, so every plan it returns is feasible.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from smartfab.apps.scheduling.problem import Problem
from smartfab.apps.scheduling.schedule import Assignment, Objective, makespan, objective_value

Rule = Literal["mwkr", "mopnr", "spt", "edd", "slack", "order"]

RULES: dict[Objective, tuple[Rule, ...]] = {
    "makespan": ("mwkr", "mopnr", "spt"),
    "tardiness": ("slack", "edd", "mwkr"),
}

# Chance of passing over the preferred operation for the next one in randomized runs: small
# enough to stay close to the rule, large enough that runs differ.
SKIP_CHANCE = 0.3


class _Timeline:
    """The busy intervals of one machine, sorted and disjoint."""

    def __init__(self, busy: Sequence[tuple[int, int]]) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in sorted(b for b in busy if b[0] < b[1]):
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def earliest(self, ready: int, duration: int) -> int:
        """The earliest start at or after `ready` where `duration` fits between busy times."""
        t = ready
        i = bisect_right(self.ends, t)
        while i < len(self.starts) and self.starts[i] < t + duration:
            t = max(t, self.ends[i])
            i += 1
        return t

    def book(self, start: int, end: int) -> None:
        if start == end:
            return
        i = bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


def frozen_prefixes(problem: Problem, frozen: Sequence[Assignment]) -> list[int]:
    """Per job, how many leading operations are fixed; fixed operations must be a prefix of
    their routing (operations that have started), else the rest could not be planned."""
    fixed = {(a.job, a.operation) for a in frozen}
    prefixes = []
    for j, job in enumerate(problem.jobs):
        count = 0
        while count < len(job.operations) and (j, count) in fixed:
            count += 1
        if any(j == jj and k >= count for jj, k in fixed):
            raise ValueError(f"fixed operations of job {job.name!r} are not a routing prefix")
        prefixes.append(count)
    return prefixes


def dispatch(
    problem: Problem,
    rule: Rule = "mwkr",
    *,
    rng: random.Random | None = None,
    frozen: Sequence[Assignment] = (),
    not_before: int = 0,
    order: Mapping[tuple[int, int], int] | None = None,
) -> list[Assignment]:
    """One feasible plan built with `rule`: most work remaining (mwkr), most operations
    remaining (mopnr), shortest processing time (spt), earliest due date (edd), least slack
    to the due date (slack), or the given `order` (lower first: e.g. the start times of a
    previous plan, to repair it). With `rng`, choices are randomized around the rule.
    `frozen` operations keep their machine and times; the others start at `not_before` or
    later."""
    if rule == "order" and order is None:
        raise ValueError("rule 'order' needs an order")
    jobs = problem.jobs
    prefix = frozen_prefixes(problem, frozen)
    busy: list[list[tuple[int, int]]] = [list(m.blocked()) for m in problem.machines]
    for a in frozen:
        busy[a.machine].append((a.start, a.end))
    timelines = [_Timeline(b) for b in busy]
    # Work remaining from each operation to the end of its job, at the shortest durations.
    remaining = []
    for job in jobs:
        tail = [0] * (len(job.operations) + 1)
        for k in range(len(job.operations) - 1, -1, -1):
            tail[k] = tail[k + 1] + job.operations[k].min_duration
        remaining.append(tail)

    ends = {(a.job, a.operation): a.end for a in frozen}
    nxt = list(prefix)
    ready = [
        max(not_before, ends[j, prefix[j] - 1] if prefix[j] else job.release)
        for j, job in enumerate(jobs)
    ]
    inf = float("inf")

    def priority(j: int, start: int, duration: int) -> tuple[float, float]:
        k = nxt[j]
        due = jobs[j].due
        if rule == "mwkr":
            return (remaining[j][k], 0)
        if rule == "mopnr":
            return (len(jobs[j].operations) - k, remaining[j][k])
        if rule == "spt":
            return (-duration, remaining[j][k])
        if rule == "edd":
            return (-(due if due is not None else inf), jobs[j].priority)
        if rule == "slack":
            slack = due - start - remaining[j][k] if due is not None else inf
            return (-slack, jobs[j].priority)
        assert order is not None
        return (-order.get((j, k), 0), 0)

    # Per job, the best placement of its next operation: (completion, start, machine, duration).
    best: list[tuple[int, int, int, int] | None] = [None] * len(jobs)

    def evaluate(j: int) -> tuple[int, int, int, int]:
        options = []
        for alt in jobs[j].operations[nxt[j]].alternatives:
            s = timelines[alt.machine].earliest(ready[j], alt.duration)
            options.append((s + alt.duration, alt.duration, s, alt.machine))
        c, d, s, m = min(options)
        return c, s, m, d

    open_jobs = [j for j, job in enumerate(jobs) if nxt[j] < len(job.operations)]
    for j in open_jobs:
        best[j] = evaluate(j)
    placed: list[Assignment] = list(frozen)
    while open_jobs:
        c_star, _, m_star, _ = min(b for j in open_jobs if (b := best[j]) is not None)
        # Operations that would start on the same machine before the earliest one ends; the
        # earliest one itself may have zero duration and start when it ends.
        conflict = [
            (j, b)
            for j in open_jobs
            if (b := best[j]) is not None and b[2] == m_star and (b[1] < c_star or b[0] == c_star)
        ]
        conflict.sort(key=lambda jb: priority(jb[0], jb[1][1], jb[1][3]), reverse=True)
        pick = 0
        if rng is not None:
            while pick < len(conflict) - 1 and rng.random() < SKIP_CHANCE:
                pick += 1
        j, (_, s, m, d) = conflict[pick]
        placed.append(Assignment(j, nxt[j], m, s, s + d))
        timelines[m].book(s, s + d)
        ready[j] = s + d
        nxt[j] += 1
        if nxt[j] == len(jobs[j].operations):
            open_jobs.remove(j)
        for other in open_jobs:
            if other == j or any(
                alt.machine == m for alt in jobs[other].operations[nxt[other]].alternatives
            ):
                best[other] = evaluate(other)
    placed.sort(key=lambda a: (a.job, a.operation))
    return placed


def best_dispatch(
    problem: Problem,
    objective: Objective,
    budget_s: float,
    *,
    seed: int = 0,
    frozen: Sequence[Assignment] = (),
    not_before: int = 0,
    max_runs: int = 200,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Assignment]:
    """The best of the rules suited to `objective`, then of randomized runs around them while
    `budget_s` and `max_runs` last; plans are compared on the objective, then the makespan."""
    rng = random.Random(seed)
    rules = RULES[objective]
    deadline = clock() + budget_s
    best: list[Assignment] | None = None
    best_score = (0, 0)
    for run in range(max(max_runs, len(rules))):
        if run >= len(rules) and clock() >= deadline:
            break
        plan = dispatch(
            problem,
            rules[run % len(rules)],
            rng=rng if run >= len(rules) else None,
            frozen=frozen,
            not_before=not_before,
        )
        score = (objective_value(problem, plan, objective), makespan(plan))
        if best is None or score < best_score:
            best, best_score = plan, score
    assert best is not None
    return best
