"""The digital twin over HTTP: the line twins, their calibration from the stored history
(:mod:`smartfab.apps.twin.calibrate`) and what-if experiments comparing the line as it is with
one or more changed lines (:mod:`smartfab.apps.twin.whatif`).

Calibration and experiments run as jobs in a worker thread (see :mod:`smartfab.web.jobs`); an
experiment's replications run in worker processes. The twins start from the plant model's design
data; a calibration replaces them and is kept in the store's settings, so it survives a restart.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from smartfab.apps.twin.calibrate import calibrate
from smartfab.apps.twin.model import LineTwin, TwinError, TwinParams, twin_from_plant
from smartfab.apps.twin.whatif import (
    Change,
    Experiment,
    ExperimentResult,
    apply_changes,
    run_experiment,
)
from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData, TimeRange
from smartfab.platform.security.roles import Principal
from smartfab.platform.store.base import StoreError
from smartfab.web.auth import require
from smartfab.web.jobs import Job, Jobs
from smartfab.web.schemas import Window

log = logging.getLogger(__name__)

SETTING = "web.twin.params"
MAX_SCENARIOS = 6


class CalibrateIn(Window):
    model_config = ConfigDict(extra="forbid")
    days: float = Field(default=7.0, gt=0, le=366, description="Window length without a start")
    slack: float = Field(
        default=1.2, ge=1.0, le=100, description="Buffer sizes: this times the smallest"
    )


class ScenarioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    changes: list[Change] = Field(min_length=1, max_length=50)


class ExperimentIn(BaseModel):
    """Baseline against each scenario, with the same seeds (common random numbers)."""

    model_config = ConfigDict(extra="forbid")
    line: str
    scenarios: list[ScenarioIn] = Field(min_length=1, max_length=MAX_SCENARIOS)
    horizon_days: float = Field(default=28.0, gt=0, le=3660)
    warmup_days: float = Field(default=2.0, ge=0, le=366)
    replications: int = Field(default=10, ge=2, le=1000)
    seed: int = 0
    workers: int = Field(default=2, ge=1, le=16)


class Submitted(BaseModel):
    id: str
    state: str


def _line_out(line: LineTwin) -> dict[str, Any]:
    return {
        "line": line.line,
        "name": line.line.rsplit("/", 1)[-1],
        "stations": [
            {"name": s.name, "machines": s.machines, "cycle_s": s.cycle_s.mean,
             "cycle_cv": s.cycle_s.cv, "ideal_cycle_s": s.ideal_cycle_s, "scrap": s.scrap,
             "stops": len(s.stops),
             "buffer_after": line.buffers[i].capacity if i < len(line.buffers) else None}
            for i, s in enumerate(line.stations)
        ],
        "deterministic": line.deterministic(),
        "calendar": line.calendar.week,
        "timezone": line.calendar.timezone,
    }  # fmt: skip


def _experiment_out(
    line: LineTwin, names: list[str], results: list[ExperimentResult]
) -> dict[str, Any]:
    """The baseline once (every experiment ran it with the same seeds, so it is the same) and
    each scenario named as the user named it."""
    first = results[0].to_dict()
    return {
        "line": line.line,
        "stations": [s.name for s in line.stations],
        "deterministic": first["deterministic"],
        "baseline": first["baseline"],
        "scenarios": [
            {
                **r.to_dict()["scenario"],
                "name": name,
                "changes": r.experiment["changes"],
                "throughput_unchanged": r.throughput_unchanged,
            }
            for name, r in zip(names, results, strict=True)
        ],
    }


# Module level, where FastAPI resolves the annotations of the routes.
READ = require("twin.read")
RUN = require("twin.run")


def router(data: PlantData) -> APIRouter:
    api = APIRouter(prefix="/twin", tags=["twin"])
    jobs = Jobs("twin")
    lock = threading.Lock()
    state: dict[str, TwinParams | None] = {"params": None}

    def params() -> TwinParams:
        """The calibrated twins if any (kept in the store), else the plant's design data."""
        with lock:
            if state["params"] is not None:
                return state["params"]
            stored = data.store.get_setting(SETTING)
            if stored is not None:
                try:
                    loaded = state["params"] = TwinParams.model_validate_json(stored)
                    return loaded
                except ValidationError as exc:  # written by an older version: start over
                    log.warning("ignoring stored twin parameters: %s", exc)
            if data.plant is None:
                raise HTTPException(409, "this server was started without a plant model")
            try:
                return twin_from_plant(data.plant)
            except TwinError as exc:
                raise HTTPException(409, str(exc)) from None

    def line_of(name: str) -> LineTwin:
        try:
            return params().line(name)
        except TwinError as exc:
            raise HTTPException(404, str(exc)) from None

    @api.get(
        "/lines",
        summary="The line twins (of the caller's part of the plant) with their stations and "
        "where they come from",
    )
    def lines(who: Annotated[Principal, READ]) -> dict[str, Any]:
        p = params()
        info = p.calibrated_from
        return {
            "calibrated_from": info.model_dump() if info else None,
            "lines": [_line_out(li) for li in p.lines if who.covers(li.line)],
        }

    @api.post(
        "/calibrate", response_model=Submitted, status_code=202,
        summary="Fit every line twin to the stored history of a window", dependencies=[RUN],
    )  # fmt: skip
    def start_calibration(body: CalibrateIn) -> Submitted:
        if data.plant is None:
            raise HTTPException(409, "this server was started without a plant model")
        plant = data.plant
        end = body.end or datetime.now(UTC)
        r = TimeRange.of(body.start or end - timedelta(days=body.days), end)
        if r.start_us >= r.end_us or r.start_us > now_us():
            raise HTTPException(422, "the window must start before it ends, in the past")
        # Calibration folds the window onto a one-minute grid: centuries would not fit memory.
        if r.end_us - r.start_us > 366 * 86_400_000_000:
            raise HTTPException(422, "the window may span at most 366 days")
        total = sum(1 for _ in plant.iter_equipment())

        def work(job: Job) -> dict[str, Any]:
            done: list[str] = []

            def progress(path: str) -> None:
                done.append(path)
                job.report(done=len(done), total=total, equipment=path)

            fitted, notes = calibrate(
                plant, data.store, r.start_us, r.end_us, slack=body.slack,
                store_name="web", progress=progress,
            )  # fmt: skip
            with lock:
                state["params"] = fitted
            try:
                data.store.set_setting(SETTING, fitted.model_dump_json())
            except StoreError as exc:  # a read-only store: the calibration lives until restart
                log.warning("twin parameters not stored: %s", exc)
            info = fitted.calibrated_from
            return {
                "calibrated_from": info.model_dump() if info else None,
                "notes": [n.to_dict() for n in notes],
            }

        job = jobs.submit("calibration", work, errors=(TwinError, ValueError))
        return Submitted(id=job.id, state=job.state)

    @api.post(
        "/experiments", response_model=Submitted, status_code=202,
        summary="Run a what-if experiment: the baseline against each scenario",
        dependencies=[RUN],
    )  # fmt: skip
    def start_experiment(body: ExperimentIn) -> Submitted:
        line = line_of(body.line)
        try:
            experiments = [
                Experiment(
                    line=line.line, changes=s.changes, horizon_days=body.horizon_days,
                    warmup_days=body.warmup_days, replications=body.replications,
                    seed=body.seed, workers=body.workers,
                )
                for s in body.scenarios
            ]  # fmt: skip
            if body.warmup_days >= body.horizon_days:
                raise TwinError("the warm-up must be shorter than the horizon")
            for s in body.scenarios:
                apply_changes(line, s.changes)  # refuse a bad change now, not in the job
        except (TwinError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        per_run = 2 * body.replications
        total = per_run * len(experiments)

        def work(job: Job) -> dict[str, Any]:
            results = []
            for k, exp in enumerate(experiments):
                offset = k * per_run

                def progress(n: int, _: int, offset: int = offset) -> None:
                    # Raises Cancelled once cancelled: the pool stops after the runs under way.
                    job.report(done=offset + n, total=total)

                job.report(scenario=k, done=offset, total=total)
                results.append(run_experiment(line, exp, progress=progress))
            return _experiment_out(line, [s.name for s in body.scenarios], results)

        job = jobs.submit(
            "experiment", work, meta={"line": line.line}, errors=(TwinError, ValueError)
        )
        job.report(done=0, total=total)
        return Submitted(id=job.id, state=job.state)

    @api.get(
        "/jobs/{job_id}",
        summary="A calibration or experiment: state, progress, result",
        dependencies=[READ],
    )
    def get_job(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        return {**job.summary(), "result": job.result if job.state == "done" else None}

    @api.delete(
        "/jobs/{job_id}",
        summary="Cancel a job (after the replication under way)",
        dependencies=[RUN],
    )
    def cancel_job(job_id: str) -> dict[str, Any]:
        return jobs.cancel(job_id).summary()

    return api
