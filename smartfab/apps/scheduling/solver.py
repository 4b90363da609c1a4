"""Scheduling with OR-Tools CP-SAT.

The model: one start variable per operation; per eligible machine a fixed-size interval on
that start, optional with a presence literal when there are several machines (exactly one is
present); per machine a no-overlap constraint over its intervals and over fixed intervals for
its unavailability windows, so that an operation never spans one (operations are not
preemptive); each operation starts after the previous one of its job ends and not before the
job's release. The objective is the makespan, or the priority-weighted total tardiness with the
makespan as tie-breaker.

The search starts from the best dispatching-rule plan (see `dispatch`), whose makespan also
bounds every time variable: CP-SAT then only looks for better plans, in smaller domains. A
flexible problem that CP-SAT does not close in a sixth of the time limit is improved for the rest
by large neighbourhood search over machine choices (see `neighbourhood`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from smartfab.apps.scheduling.dispatch import best_dispatch, frozen_prefixes
from smartfab.apps.scheduling.neighbourhood import free_operations, restricted
from smartfab.apps.scheduling.problem import Problem
from smartfab.apps.scheduling.schedule import (
    Assignment,
    InvalidSchedule,
    Objective,
    Schedule,
    check_assignments,
    makespan,
    objective_value,
    on_time_ratio,
    weighted_tardiness,
)
from smartfab.errors import SmartfabError

# Share of the time limit, and its cap in seconds, spent on dispatching rules before CP-SAT.
HEURISTIC_SHARE = 0.05
HEURISTIC_CAP_S = 2.0
# Flexible problems: the share of the time limit CP-SAT gets on the whole problem, the time per
# neighbourhood afterwards, and the fewest neighbourhoods worth the switch (below, all goes to
# the whole problem). Tried on mk06, mk07 and mk10 (60 s, 2 workers): 10 s then 2 s rounds
# beat the whole minute on the whole problem by 3-10 units of makespan.
WHOLE_SHARE = 1 / 6
ROUND_S = 2.0
MIN_ROUNDS = 5


class SchedulingError(SmartfabError):
    """No schedule could be produced (infeasible fixed operations, or no plan in time)."""


@dataclass
class _OpVars:
    start: cp_model.IntVar
    size: cp_model.LinearExprT
    end: cp_model.LinearExprT
    # (machine, duration, presence literal or None when it is the only eligible machine)
    choices: list[tuple[int, int, cp_model.IntVar | None]]
    fixed: bool


@dataclass
class _Model:
    model: cp_model.CpModel
    ops: dict[tuple[int, int], _OpVars]
    makespan: cp_model.IntVar
    tardiness: list[tuple[int, cp_model.IntVar]]  # (job, tardiness) for jobs with a due date
    weight: int  # of the tardiness in a lexicographic objective; 1 for makespan


def _check_frozen(problem: Problem, frozen: Sequence[Assignment]) -> None:
    for a in frozen:
        if not 0 <= a.job < len(problem.jobs) or not 0 <= a.operation < len(
            problem.jobs[a.job].operations
        ):
            raise ValueError(f"fixed {a} names no operation of the problem")
        op = problem.jobs[a.job].operations[a.operation]
        if not any(
            alt.machine == a.machine and alt.duration == a.end - a.start for alt in op.alternatives
        ):
            raise ValueError(f"fixed {a} matches no (machine, duration) of its operation")


def _add_operations(
    model: cp_model.CpModel,
    problem: Problem,
    frozen: Sequence[Assignment],
    not_before: int,
    upper: int,
) -> dict[tuple[int, int], _OpVars]:
    """Variables, machine no-overlaps and routing precedences of every operation."""
    fixed = {(a.job, a.operation): a for a in frozen}
    prefix = frozen_prefixes(problem, frozen)
    per_machine: list[list[cp_model.IntervalVar]] = [[] for _ in problem.machines]
    for m, mc in enumerate(problem.machines):
        for off, on in mc.blocked():
            per_machine[m].append(model.new_fixed_size_interval_var(off, on - off, f"off{m}"))
    ops: dict[tuple[int, int], _OpVars] = {}
    for j, job in enumerate(problem.jobs):
        # Earliest and latest starts from the work before and after each operation at its
        # shortest: tighter domains than [0, upper] for free.
        tail = [0] * (len(job.operations) + 1)
        for k in range(len(job.operations) - 1, -1, -1):
            tail[k] = tail[k + 1] + job.operations[k].min_duration
        t = job.release if prefix[j] == 0 else not_before
        previous: _OpVars | None = None
        for k, op in enumerate(job.operations):
            name = f"j{j}o{k}"
            choices: list[tuple[int, int, cp_model.IntVar | None]]
            if (j, k) in fixed:
                a = fixed[j, k]
                start = model.new_constant(a.start)
                choices = [(a.machine, a.end - a.start, None)]
                t = a.end
            else:
                t = max(t, not_before)
                start = model.new_int_var(t, max(t, upper - tail[k]), name)
                if len(op.alternatives) == 1:
                    choices = [(op.alternatives[0].machine, op.alternatives[0].duration, None)]
                else:
                    choices = [
                        (alt.machine, alt.duration, model.new_bool_var(f"{name}m{alt.machine}"))
                        for alt in op.alternatives
                    ]
                t += op.min_duration
            for machine, duration, present in choices:
                if present is None:
                    interval = model.new_fixed_size_interval_var(start, duration, name)
                else:
                    interval = model.new_optional_fixed_size_interval_var(
                        start, duration, present, name
                    )
                per_machine[machine].append(interval)
            lits = [lit for _, _, lit in choices if lit is not None]
            size: cp_model.LinearExprT
            if lits:
                model.add_exactly_one(lits)
                size = sum(d * lit for _, d, lit in choices if lit is not None)
            else:
                size = choices[0][1]
            if previous is not None:
                model.add(start >= previous.end)
            previous = ops[j, k] = _OpVars(start, size, start + size, choices, (j, k) in fixed)
    for intervals in per_machine:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    return ops


def _add_energy_bound(
    model: cp_model.CpModel,
    problem: Problem,
    ops: dict[tuple[int, int], _OpVars],
    span: cp_model.IntVar,
) -> None:
    """Redundant for operations with a choice of machines, whose duration the per-machine
    no-overlaps see only once the choice is made: all the work fits in machines x makespan.
    (A cumulative over groups of linked machines, as in OR-Tools' job-shop example, bounds
    better but slowed the search on Brandimarte's mk10 more than it helped.)"""
    model.add(sum(op.size for op in ops.values()) <= len(problem.machines) * span)


def _build(
    problem: Problem,
    objective: Objective,
    frozen: Sequence[Assignment],
    not_before: int,
    upper: int,
) -> _Model:
    """The CP-SAT model with every time variable in [earliest, `upper`]."""
    model = cp_model.CpModel()
    ops = _add_operations(model, problem, frozen, not_before, upper)
    span = model.new_int_var(0, upper, "makespan")
    for j, job in enumerate(problem.jobs):
        model.add(span >= ops[j, len(job.operations) - 1].end)
    tardiness = []
    weight = 1
    if objective == "makespan":
        if problem.is_flexible:
            _add_energy_bound(model, problem, ops, span)
        model.minimize(span)
    else:
        for j, job in enumerate(problem.jobs):
            if job.due is not None and job.due < upper and job.priority > 0:
                late = model.new_int_var(0, upper - job.due, f"late{j}")
                model.add(late >= ops[j, len(job.operations) - 1].end - job.due)
                tardiness.append((j, late))
        # Lexicographic: any unit of tardiness outweighs the largest possible makespan.
        weight = upper + 1
        model.minimize(
            weight * sum(problem.jobs[j].priority * late for j, late in tardiness) + span
        )
    return _Model(model, ops, span, tardiness, weight)


def _add_hint(problem: Problem, built: _Model, hint: Sequence[Assignment]) -> None:
    for a in hint:
        op = built.ops.get((a.job, a.operation))
        # Fixed operations are constants, which CP-SAT shares: hinting them would repeat them.
        if op is None or op.fixed:
            continue
        built.model.add_hint(op.start, a.start)
        for machine, _, lit in op.choices:
            if lit is not None:
                built.model.add_hint(lit, machine == a.machine)
    if len(hint) == len(built.ops):
        built.model.add_hint(built.makespan, makespan(hint))
        done = {
            a.job: a.end for a in hint if a.operation == len(problem.jobs[a.job].operations) - 1
        }
        for j, late in built.tardiness:
            due = problem.jobs[j].due
            assert due is not None
            built.model.add_hint(late, max(0, done[j] - due))


def _extract(built: _Model, solver: cp_model.CpSolver) -> list[Assignment]:
    plan = []
    for (j, k), op in built.ops.items():
        start = solver.value(op.start)
        machine, duration = next(
            (m, d) for m, d, lit in op.choices if lit is None or solver.boolean_value(lit)
        )
        plan.append(Assignment(j, k, machine, start, start + duration))
    return plan


def _valid(problem: Problem, plan: Sequence[Assignment]) -> bool:
    try:
        check_assignments(problem, plan)
    except InvalidSchedule:
        return False
    return True


def _search(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    objective: Objective,
    seconds: float,
    workers: int,
    seed: int,
    log: Callable[[str], None] | None,
) -> cp_model.CpSolverStatus:
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    # As in OR-Tools' job-shop example: reason on the order of operations on each machine
    # during search, and pack solutions to the left (better neighbourhoods for LNS).
    solver.parameters.use_dynamic_precedence_in_disjunctive = True
    solver.parameters.push_all_tasks_toward_start = True
    if objective == "makespan":
        # The linear relaxation of a makespan over no-overlaps is empty for a job shop and only
        # slows the search down with machine choices (Brandimarte mk06, one worker, 10 s:
        # 71 with it, 63 without). So no LP in the main search and in LNS, and with few
        # workers the one complete search that CP-SAT keeps is its LP-free one.
        solver.parameters.linearization_level = 0
        solver.parameters.extra_subsolvers.append("no_lp")
    if log is not None:
        solver.parameters.log_search_progress = True
        solver.parameters.log_to_stdout = False
        solver.log_callback = log
    return solver.solve(model)


def solve(
    problem: Problem,
    objective: Objective = "makespan",
    *,
    time_limit_s: float = 10.0,
    workers: int = 0,
    hint: Sequence[Assignment] | None = None,
    frozen: Sequence[Assignment] = (),
    not_before: int = 0,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Schedule:
    """The best schedule CP-SAT finds within `time_limit_s` (wall time, heuristics included)
    with `workers` threads (0: one per core).

    `hint` is a plan to start from (complete or partial); without one, the best dispatching
    rule plan is used. `frozen` operations (a prefix of their job's routing, e.g. those already
    started) keep their machine and times; all others start at `not_before` or later. `log`
    receives CP-SAT's search log."""
    began = time.perf_counter()
    if time_limit_s <= 0:
        raise ValueError(f"time limit must be positive, got {time_limit_s}")
    whole_s = time_limit_s * WHOLE_SHARE
    if not problem.is_flexible or time_limit_s - whole_s < MIN_ROUNDS * ROUND_S:
        whole_s = time_limit_s
    best = _solve_whole(problem, objective, whole_s, workers, hint, frozen, not_before, seed, log)
    if best.proven_optimal or whole_s == time_limit_s:
        return best
    # Neighbourhood plans are optimal for restricted problems only: the bound stays the whole
    # problem's.
    bound = best.bound
    rng = random.Random(seed)
    rounds = 0
    while (left := time_limit_s - (time.perf_counter() - began)) > 0.05:
        rounds += 1
        free = free_operations(problem, best.assignments, rng)
        found = _solve_whole(
            restricted(problem, best.assignments, free), objective, min(ROUND_S, left),
            workers, best.assignments, frozen, not_before, seed + rounds, None,
        )  # fmt: skip
        # Equal plans are taken too: they move the search on across plateaus.
        if found.objective_value <= best.objective_value:
            if log is not None and found.objective_value < best.objective_value:
                log(f"neighbourhood {rounds}: {objective} {found.objective_value}")
            best = found
    return replace(
        best,
        bound=min(bound, best.objective_value),
        proven_optimal=bound >= best.objective_value,
        seconds=time.perf_counter() - began,
    )


def _solve_whole(
    problem: Problem,
    objective: Objective,
    time_limit_s: float,
    workers: int,
    hint: Sequence[Assignment] | None,
    frozen: Sequence[Assignment],
    not_before: int,
    seed: int,
    log: Callable[[str], None] | None,
) -> Schedule:
    """CP-SAT on the whole problem (see `solve`)."""
    began = time.perf_counter()
    _check_frozen(problem, frozen)
    earliest = max([not_before, *(a.end for a in frozen)])
    horizon = problem.horizon(earliest)
    if hint is None:
        budget = min(HEURISTIC_SHARE * time_limit_s, HEURISTIC_CAP_S)
        hint = best_dispatch(
            problem, objective, budget, seed=seed, frozen=frozen, not_before=not_before
        )
    complete = len(hint) == sum(len(job.operations) for job in problem.jobs) and _valid(
        problem, hint
    )
    # A complete valid plan bounds the makespan of anything better; for tardiness a better
    # plan may well end later, so only the horizon bounds it.
    upper = makespan(hint) if complete and objective == "makespan" else horizon
    built = _build(problem, objective, frozen, not_before, upper)
    _add_hint(problem, built, hint)

    solver = cp_model.CpSolver()
    left = time_limit_s - (time.perf_counter() - began)
    # The dispatching rules may have used up a very short time limit: then their plan stands.
    status = _search(solver, built.model, objective, left, workers, seed, log) if left > 0 else None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        plan = _extract(built, solver)
        combined_bound = math.ceil(solver.best_objective_bound - 1e-6)
        bound = combined_bound // built.weight
    elif status == cp_model.INFEASIBLE:
        raise SchedulingError(
            f"{problem.name or 'problem'}: no schedule respects the fixed operations"
        )
    elif status == cp_model.MODEL_INVALID:
        raise SchedulingError(f"invalid CP-SAT model: {built.model.validate()}")
    elif complete:
        plan = list(hint)
        bound = 0
    else:
        raise SchedulingError(
            f"{problem.name or 'problem'}: no schedule found in {time_limit_s:g} s"
        )
    plan.sort(key=lambda a: (a.job, a.operation))
    value = objective_value(problem, plan, objective)
    proven = status == cp_model.OPTIMAL or bound >= value
    return Schedule(
        assignments=tuple(plan),
        objective=objective,
        objective_value=value,
        bound=value if proven else min(bound, value),
        proven_optimal=proven,
        seconds=time.perf_counter() - began,
        makespan=makespan(plan),
        weighted_tardiness=weighted_tardiness(problem, plan),
        on_time_ratio=on_time_ratio(problem, plan),
    )
