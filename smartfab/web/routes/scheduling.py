"""Production scheduling over HTTP: work orders with routings (or a benchmark instance file) and
machine availability in, a CP-SAT schedule out (:mod:`smartfab.apps.scheduling`), and a re-plan
when a machine goes down, keeping what has started.

A solve runs as a job in a worker thread (see :mod:`smartfab.web.jobs`): ``POST /plans`` answers
at once with the plan's id, ``GET /plans/{id}`` tells its state, the solver's progress (best plan
and bound so far, from CP-SAT's search log) and, once done, the schedule. Plans are kept in this
server's memory, the newest 50; a restart forgets them.

Times are integers in the plan's unit (``unit_s`` seconds, minutes by default), counted from the
plan's ``origin``: the solver works on integers, the page draws them on the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartfab.apps.maintenance.workorders import WorkOrders, respecting
from smartfab.apps.scheduling.formats import FormatError, parse_fjsp, parse_jsp
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
from smartfab.apps.scheduling.reschedule import Replan, reschedule
from smartfab.apps.scheduling.schedule import Assignment, Objective, Schedule
from smartfab.apps.scheduling.solver import SchedulingError, solve
from smartfab.platform.queries import PlantData, to_us
from smartfab.web.auth import require
from smartfab.web.jobs import Job as WorkJob
from smartfab.web.jobs import Jobs
from smartfab.web.schemas import Instant

# CP-SAT threads: the platform's target machine has two cores, and the server itself needs
# little while a solve runs (the solver releases the GIL).
WORKERS = 2
MAX_TIME_LIMIT_S = 600.0
# Benchmark files are small (Taillard's largest is ~60 kB); the API refuses bodies over 1 MiB.
MAX_INSTANCE_CHARS = 900_000
# Plan times, durations and weights: far beyond any plan (10^7 minutes are 19 years), and far
# below where the solver's 64-bit sums of them would overflow.
MAX_UNITS = 10_000_000
Units = Annotated[int, Field(ge=0, le=MAX_UNITS)]
REFUSED = (ProblemError, FormatError, SchedulingError, ValueError)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowIn(_In):
    """[start, end) in plan units, during which the machine cannot work."""

    start: Units
    end: int = Field(gt=0, le=MAX_UNITS)
    reason: str = ""


class RecurringIn(_In):
    """A window repeated every ``period`` (e.g. the night shift off every 1440 minutes),
    expanded far enough to cover any plan of the problem."""

    start: Units
    end: int = Field(gt=0, le=MAX_UNITS)
    period: int = Field(gt=0, le=MAX_UNITS)
    reason: str = ""


class MachineIn(_In):
    name: str = Field(min_length=1)
    unavailable: list[WindowIn] = Field(default_factory=list)
    recurring: list[RecurringIn] = Field(default_factory=list)


class AlternativeIn(_In):
    machine: str | int = Field(description="Machine name, or its index in `machines`")
    duration: Units


class OperationIn(_In):
    name: str = ""
    alternatives: list[AlternativeIn] = Field(min_length=1, description="Eligible machines")


class JobIn(_In):
    """A work order: its routing in order, release, due date and priority (tardiness weight)."""

    name: str = Field(min_length=1)
    operations: list[OperationIn] = Field(min_length=1)
    release: Units = 0
    due: Units | None = None
    priority: Units = 1


class InstanceIn(_In):
    """A benchmark file's text: OR-Library job shop (``jsp``) or Brandimarte flexible job shop
    (``fjsp``). Its machines are called m0, m1, ...; `machines` may add their availability."""

    format: Annotated[str, Field(pattern="^(jsp|fjsp)$")]
    text: str = Field(max_length=MAX_INSTANCE_CHARS)
    name: str = ""


class ProblemIn(_In):
    name: str = ""
    instance: InstanceIn | None = None
    machines: list[MachineIn] = Field(default_factory=list)
    jobs: list[JobIn] = Field(default_factory=list)
    objective: Objective = "makespan"
    time_limit_s: float = Field(default=10.0, gt=0, le=MAX_TIME_LIMIT_S)
    origin: Instant | None = Field(default=None, description="Time 0 of the plan (default now)")
    unit_s: float = Field(default=60.0, gt=0, le=3600, description="Seconds per plan time unit")

    @model_validator(mode="after")
    def _one_source(self) -> ProblemIn:
        if self.instance is None and not (self.machines and self.jobs):
            raise ValueError("give either an instance file or machines and jobs")
        if self.instance is not None and self.jobs:
            raise ValueError("give either an instance file or jobs, not both")
        return self


class MachineDownIn(_In):
    machine: str | int = Field(description="Machine name or index")
    at: Units = Field(description="When it went down, in plan units")
    duration: int = Field(gt=0, le=MAX_UNITS, description="For how long, in plan units")
    time_limit_s: float = Field(default=10.0, gt=0, le=MAX_TIME_LIMIT_S)


class Submitted(BaseModel):
    id: str
    state: str


def build_problem(body: ProblemIn) -> Problem:
    """The input as a :class:`Problem` (raises ProblemError/FormatError on bad input)."""
    if body.instance is not None:
        parse = parse_jsp if body.instance.format == "jsp" else parse_fjsp
        name = body.instance.name or body.name
        base = parse(body.instance.text, source=name or "upload", name=name)
        jobs = base.jobs
        by_name = {m.name: m for m in body.machines}
        unknown = set(by_name) - {m.name for m in base.machines}
        if unknown:
            raise ProblemError(f"the instance has no machine {sorted(unknown)[0]!r}")
        specs = [by_name.get(m.name, MachineIn(name=m.name)) for m in base.machines]
    else:
        specs = body.machines
        names = [m.name for m in specs]
        if len(set(names)) != len(names):
            raise ProblemError(f"machine names repeat: {names}")
        index = {n: i for i, n in enumerate(names)}
        jobs = tuple(_job(j, index) for j in body.jobs)
    machines = [Machine(m.name, tuple(Window(w.start, w.end, w.reason) for w in m.unavailable))
                for m in specs]  # fmt: skip
    if any(m.recurring for m in specs):
        # Shifts repeat for as long as a plan could last: the horizon without them, once more.
        until = 2 * Problem(tuple(machines), jobs, body.name).horizon()
        machines = [
            Machine(mc.name, mc.unavailable + tuple(
                w for r in spec.recurring
                for w in recurring(r.start, r.end, r.period, until, r.reason)
            ))
            for mc, spec in zip(machines, specs, strict=True)
        ]  # fmt: skip
    return Problem(
        tuple(machines), jobs, body.name or (body.instance.name if body.instance else "")
    )


def _job(j: JobIn, index: dict[str, int]) -> Job:
    def machine(ref: str | int) -> int:
        if isinstance(ref, int):
            return ref
        if ref not in index:
            raise ProblemError(f"job {j.name!r}: no machine {ref!r}")
        return index[ref]

    ops = tuple(
        Operation(tuple(Alternative(machine(a.machine), a.duration) for a in op.alternatives),
                  op.name)
        for op in j.operations
    )  # fmt: skip
    return Job(j.name, ops, j.release, j.due, j.priority)


# CP-SAT's progress lines: "#12  1.03s best:59  next:[47,58] ..." and "#Bound 1.2s best:59 ...".
_PROGRESS = re.compile(
    r"^#(?:\d+|Bound|Done|Model)?\s+([\d.]+)s\s+best:(-?[\d.e+]+)\s+next:\[(-?\d+)"
)


def _progress_log(job: WorkJob, objective: Objective) -> Any:
    """A CP-SAT log callback that keeps the best makespan and bound so far in the job's progress.
    (The tardiness objective is combined with the makespan inside the solver, so its log does
    not read in tardiness units: then the page shows the elapsed time only.)"""

    def log(line: str) -> None:
        m = _PROGRESS.match(line) if objective == "makespan" else None
        if m:
            job.progress.update(best=int(float(m.group(2))), bound=int(m.group(3)))

    return log


# Module level, where FastAPI resolves the annotations of the routes.
READ = require("scheduling.read")
PLAN = require("scheduling.plan")


class _Plan:
    """A solved (or solving) plan: the problem as scheduled and what came out."""

    def __init__(self, problem: Problem, body: dict[str, Any]) -> None:
        self.problem = problem
        self.body = body
        self.schedule: Schedule | None = None
        self.replan: Replan | None = None


def router(data: PlantData, orders: WorkOrders | None = None) -> APIRouter:
    """``orders``: maintenance work orders, whose scheduled windows new plans respect."""
    api = APIRouter(prefix="/scheduling", tags=["scheduling"])
    jobs = Jobs("scheduling")
    plans: dict[str, _Plan] = {}

    def start(plan: _Plan, work: Any) -> WorkJob:
        def run(job: WorkJob) -> None:
            job.progress.update(time_limit_s=plan.body["time_limit_s"])
            work(job)

        job = jobs.submit("plan", run, meta={"name": plan.problem.name}, errors=REFUSED)
        plans[job.id] = plan
        for gone in set(plans) - {j.id for j in jobs.all()}:
            del plans[gone]
        return job

    @api.post(
        "/plans", response_model=Submitted, status_code=202, summary="Schedule a problem",
        dependencies=[PLAN],
    )  # fmt: skip
    def submit(body: ProblemIn) -> Submitted:
        try:
            problem = build_problem(body)
        except (ProblemError, FormatError) as exc:
            raise HTTPException(422, str(exc)) from None
        origin = body.origin or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        if orders is not None:
            problem = respecting(problem, orders.orders(open_only=True), to_us(origin),
                                 body.unit_s)  # fmt: skip
        plan = _Plan(problem, {
            "objective": body.objective, "time_limit_s": body.time_limit_s,
            "origin": origin.isoformat(), "unit_s": body.unit_s, "parent": None, "down": None,
        })  # fmt: skip

        def work(job: WorkJob) -> None:
            plan.schedule = solve(
                problem, body.objective, time_limit_s=body.time_limit_s, workers=WORKERS,
                log=_progress_log(job, body.objective),
            )  # fmt: skip

        job = start(plan, work)
        return Submitted(id=job.id, state=job.state)

    @api.get("/plans", summary="Plans of this server, newest first", dependencies=[READ])
    def list_plans() -> list[dict[str, Any]]:
        out = []
        for job in reversed(jobs.all()):
            plan = plans.get(job.id)
            if plan is not None:
                out.append({**job.summary(), **_figures(plan), "parent": plan.body["parent"]})
        return out

    @api.get(
        "/plans/{plan_id}",
        summary="A plan: its state, progress and, once solved, the schedule",
        dependencies=[READ],
    )
    def get_plan(plan_id: str) -> dict[str, Any]:
        job = jobs.get(plan_id)
        plan = plans[job.id]
        return {**job.summary(), **plan.body, **_plan_out(plan)}

    @api.post(
        "/plans/{plan_id}/machine-down",
        response_model=Submitted,
        status_code=202,
        summary="Re-plan after a machine went down; started operations stay as they are",
        dependencies=[PLAN],
    )
    def machine_down(plan_id: str, body: MachineDownIn) -> Submitted:
        parent = plans.get(jobs.get(plan_id).id)
        if parent is None or parent.schedule is None:
            raise HTTPException(409, f"plan {plan_id} has no schedule (yet)")
        names = [m.name for m in parent.problem.machines]
        if isinstance(body.machine, int):
            if not 0 <= body.machine < len(names):
                raise HTTPException(
                    422, f"machine index {body.machine} is not in 0..{len(names) - 1}"
                )
            m = body.machine
        elif body.machine in names:
            m = names.index(body.machine)
        else:
            raise HTTPException(422, f"no machine {body.machine!r} (machines: {', '.join(names)})")
        problem, before = parent.problem, parent.schedule
        plan = _Plan(problem, {
            **parent.body, "time_limit_s": body.time_limit_s, "parent": plan_id,
            "down": {"machine": m, "start": body.at, "end": body.at + body.duration},
        })  # fmt: skip

        def work(job: WorkJob) -> None:
            replan = reschedule(
                problem, before, m, body.at, body.duration, time_limit_s=body.time_limit_s,
                workers=WORKERS, log=_progress_log(job, parent.body["objective"]),
            )  # fmt: skip
            plan.problem, plan.schedule, plan.replan = replan.problem, replan.schedule, replan

        job = start(plan, work)
        return Submitted(id=job.id, state=job.state)

    return api


def _figures(plan: _Plan) -> dict[str, Any]:
    s = plan.schedule
    if s is None:
        return {"makespan": None, "on_time_ratio": None, "objective_value": None}
    return {
        "makespan": s.makespan,
        "on_time_ratio": s.on_time_ratio,
        "objective_value": s.objective_value,
    }


def _assignment(a: Assignment, kept: set[Assignment]) -> dict[str, Any]:
    return {
        "job": a.job, "operation": a.operation, "machine": a.machine,
        "start": a.start, "end": a.end, "fixed": a in kept,
    }  # fmt: skip


def _plan_out(plan: _Plan) -> dict[str, Any]:
    p = plan.problem
    out: dict[str, Any] = {
        "name": p.name,
        "machines": [
            {"name": m.name,
             "unavailable": [{"start": w.start, "end": w.end, "reason": w.reason}
                             for w in m.unavailable]}
            for m in p.machines
        ],
        "jobs": [
            {"name": j.name, "release": j.release, "due": j.due, "priority": j.priority,
             "operations": [op.name for op in j.operations]}
            for j in p.jobs
        ],
        "schedule": None,
    }  # fmt: skip
    s = plan.schedule
    if s is None:
        return out
    kept = set(plan.replan.kept) if plan.replan else set()
    interrupted = plan.replan.interrupted if plan.replan else None
    done = {a.job: a.end for a in s.assignments if a.operation == len(p.jobs[a.job].operations) - 1}
    out["schedule"] = {
        "objective": s.objective,
        "objective_value": s.objective_value,
        "bound": s.bound,
        "proven_optimal": s.proven_optimal,
        # Relative gap to the proven bound: how far from optimal the plan can at most be.
        "gap": (s.objective_value - s.bound) / s.objective_value if s.objective_value else 0.0,
        "seconds": s.seconds,
        "makespan": s.makespan,
        "weighted_tardiness": s.weighted_tardiness,
        "on_time_ratio": s.on_time_ratio,
        "completion": [done.get(j) for j in range(len(p.jobs))],
        "assignments": [_assignment(a, kept) for a in s.assignments],
        "kept": len(kept),
        "interrupted": _assignment(interrupted, set()) if interrupted else None,
    }
    return out
