"""Quality and process optimisation over HTTP: the equipment with a process block, their defect
Pareto, the predicted defect risk of the latest parts with its drivers, and recommendations of
operating parameters (viewers read; engineers ask for a recommendation, approve it, which writes
it through the audited setpoint path, reject it or roll it back). An applied recommendation is
measured of itself once enough parts were made under it: the list says how many were until then."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from smartfab.apps.quality.defects import DefectModel
from smartfab.apps.quality.optimise import Limits, recommend
from smartfab.apps.quality.parts import NotEnoughData, PartTable
from smartfab.apps.quality.recommendations import (
    Entry,
    Progress,
    Realised,
    RecommendationBook,
    RecommendationError,
    Write,
    measure,
    progress,
)
from smartfab.apps.quality.store import ProcessConfigError, parts_from_store, process_of, processes
from smartfab.apps.quality.surrogate import Surrogate
from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData, TimeRange
from smartfab.platform.security.roles import Principal
from smartfab.platform.setpoints import SetpointError, SetpointTarget, write_setpoint
from smartfab.web.auth import check_target, guards, require
from smartfab.web.schemas import End, Start, Window

LATEST_PARTS = 50


class ParameterOut(BaseModel):
    signal: str
    unit: str
    low: float
    high: float
    max_step: float


class ProcessOut(BaseModel):
    equipment: str
    parameters: list[ParameterOut]
    inspection: str  # the signal whose every point is one part inspected
    defects: dict[int, str]
    max_defect_rate: float
    takt_s: float
    risk_alarm: float | None


class ParetoOut(BaseModel):
    equipment: str
    parts: int
    defects: dict[str, int]  # defect type -> count, most frequent first
    rate: float


class DriverOut(BaseModel):
    feature: str
    value: float
    contribution: float


class PartRiskOut(BaseModel):
    ts: int
    risk: dict[str, float]
    drivers: list[DriverOut]  # of the riskiest defect type
    inspected: str  # the inspection result


class RiskOut(BaseModel):
    equipment: str
    trained_parts: int
    parts: list[PartRiskOut]


class RecommendIn(Window):
    model_config = ConfigDict(extra="forbid")
    equipment: str = Field(max_length=400)
    trials: int = Field(default=150, ge=10, le=2000)


class MeasuringOut(BaseModel):
    """Parts made so far on either side of an applied change whose result is not measured yet:
    it is measured once ``needed`` were made on both."""

    parts_before: int
    parts_after: int
    needed: int


class RecommendationOut(BaseModel):
    id: int
    equipment: str
    signals: list[str]
    status: str
    created_us: int
    recommendation: dict[str, Any]
    decided_by: str
    applied_us: int
    note: str
    realised: dict[str, Any] | None  # Realised's fields, and its saving (kWh, fraction)
    measuring: MeasuringOut | None = None


def _out(e: Entry, measuring: Progress | None = None) -> RecommendationOut:
    realised = e.realised
    if realised is not None:
        x = Realised(**realised)
        realised = realised | {"saving": x.saving, "saving_fraction": x.saving_fraction}
    return RecommendationOut(
        id=e.id, equipment=e.equipment, signals=e.signals, status=e.status,
        created_us=e.created_us, recommendation=e.recommendation, decided_by=e.decided_by,
        applied_us=e.applied_us, note=e.note, realised=realised,
        measuring=MeasuringOut(**asdict(measuring)) if measuring is not None else None,
    )  # fmt: skip


def router(
    data: PlantData, control: SetpointTarget | None, folder: Path | None = None
) -> APIRouter:
    api = APIRouter(tags=["quality"])
    book = RecommendationBook(folder or Path(tempfile.mkdtemp(prefix="smartfab-quality-")))
    models: dict[str, tuple[int, DefectModel]] = {}  # equipment -> (trained at, model)
    lock = threading.Lock()

    def plant() -> Plant:
        if data.plant is None:
            raise HTTPException(409, "the server runs without a plant file")
        return data.plant

    def table(equipment: str, start: int, end: int) -> PartTable:
        try:
            return parts_from_store(data.store, plant(), equipment, start, end)
        except ProcessConfigError as exc:
            raise HTTPException(404, str(exc)) from None
        except NotEnoughData as exc:
            raise HTTPException(422, str(exc)) from None

    @api.get("/quality/processes", response_model=list[ProcessOut],
             summary="Equipment whose process is modelled")  # fmt: skip
    def list_processes(who: Annotated[Principal, require("quality.read")]) -> list[ProcessOut]:
        out = []
        for ref in processes(plant()):
            if not who.covers(ref.path):
                continue
            pr = ref.equipment.process
            assert pr is not None
            sigs = {s.name: s for s in ref.equipment.signals}
            params = []
            for p in pr.parameters:
                s = sigs[p.signal]
                assert s.range is not None
                params.append(ParameterOut(signal=f"{ref.path}/{s.name}", unit=s.unit,
                                           low=s.range[0], high=s.range[1],
                                           max_step=p.max_step))  # fmt: skip
            enum = sigs[pr.inspection].values or {}
            out.append(ProcessOut(
                equipment=ref.path, parameters=params, inspection=f"{ref.path}/{pr.inspection}",
                defects={c: n for c, n in enum.items() if c != 0},
                max_defect_rate=pr.max_defect_rate, takt_s=pr.takt_s, risk_alarm=pr.risk_alarm,
            ))  # fmt: skip
        return out

    @api.get("/quality/pareto", response_model=ParetoOut, summary="Defects by type")
    def pareto(
        equipment: Annotated[str, Query(description="Equipment path")],
        who: Annotated[Principal, require("quality.read")],
        start: Start = None,
        end: End = None,
    ) -> ParetoOut:
        r = TimeRange.of(start, end, default=timedelta(days=1))
        t = table(equipment, r.start_us, r.end_us)
        counts = {n: int((t.defect == c).sum()) for c, n in t.defects.items()}
        counts = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
        return ParetoOut(equipment=equipment.strip("/"), parts=len(t), defects=counts,
                         rate=float(np.mean(t.defect != 0)) if len(t) else 0.0)  # fmt: skip

    @api.get("/quality/risk", response_model=RiskOut,
             summary="Predicted defect risk of the latest parts, with its drivers")  # fmt: skip
    def risk(
        equipment: Annotated[str, Query(description="Equipment path")],
        who: Annotated[Principal, require("quality.read")],
        days: Annotated[float, Query(gt=0, le=366, description="History to learn from")] = 30,
    ) -> RiskOut:
        end = now_us()
        t = table(equipment, end - int(days * 86_400e6), end)
        key = equipment.strip("/")
        with lock:
            cached = models.get(key)
        if cached is None or end - cached[0] > 3600e6:  # relearnt hourly at most
            try:
                model = DefectModel.fit(t.slice(slice(0, max(len(t) - LATEST_PARTS, 0))))
            except NotEnoughData as exc:
                raise HTTPException(422, str(exc)) from None
            with lock:
                models[key] = (end, model)
        else:
            model = cached[1]
        x = model.matrix(t)[-LATEST_PARTS:]
        p = model.predict_matrix(x)
        codes = list(model.defects)
        worst = np.argmax(p, axis=1)
        names = {0: "good", **t.defects}
        parts = []
        for i in range(len(x)):
            code = codes[int(worst[i])]
            drivers = model.drivers(x[i : i + 1], code)[0]
            parts.append(PartRiskOut(
                ts=int(t.ts[-len(x) + i]),
                risk={model.defects[c]: float(p[i, k]) for k, c in enumerate(codes)},
                drivers=[DriverOut(feature=d.feature, value=d.value, contribution=d.contribution)
                         for d in drivers],
                inspected=names.get(int(t.defect[-len(x) + i]), "unknown"),
            ))  # fmt: skip
        return RiskOut(equipment=key, trained_parts=len(t) - LATEST_PARTS, parts=parts)

    @api.get("/quality/recommendations", response_model=list[RecommendationOut],
             summary="Recommendations, newest first")  # fmt: skip
    def recommendations(
        who: Annotated[Principal, require("quality.read")],
        equipment: Annotated[str | None, Query(description="Equipment path")] = None,
    ) -> list[RecommendationOut]:
        entries = [e for e in book.entries(equipment) if who.covers(e.equipment)]
        return [_out(*_realised_when_due(e)) for e in reversed(entries)]

    def _realised_when_due(e: Entry) -> tuple[Entry, Progress | None]:
        """An applied change not measured yet is measured once enough parts were made on either
        side of it (and kept); until then, how many were."""
        if e.status != "applied" or e.realised is not None:
            return e, None
        end = now_us()
        try:
            t = parts_from_store(data.store, plant(), e.equipment, e.before_start_us, end)
        except (ProcessConfigError, NotEnoughData):
            return e, Progress(0, 0)
        so_far = progress(t, e.before_start_us, e.applied_us, end)
        if not so_far.done:
            return e, so_far
        try:
            return book.record_realised(
                e.id, measure(t, e.before_start_us, e.applied_us, end)
            ), None
        except RecommendationError:  # rolled back meanwhile: measured on request only
            return book.get(e.id), None

    @api.post("/quality/recommendations", response_model=RecommendationOut,
              summary="Recommend operating parameters from the history of a period")  # fmt: skip
    def create(
        body: RecommendIn, request: Request, who: Annotated[Principal, require("quality.approve")]
    ) -> RecommendationOut:
        check_target(request, who, body.equipment)
        r = TimeRange.of(body.start, body.end, default=timedelta(days=30))
        t = table(body.equipment, r.start_us, r.end_us)
        ref, pr = process_of(plant(), body.equipment)
        sigs = {s.name: s for s in ref.equipment.signals}
        ranges = [sigs[p.signal].range for p in pr.parameters]
        assert all(x is not None for x in ranges)
        limits = Limits(
            np.array([x[0] for x in ranges if x]), np.array([x[1] for x in ranges if x]),
            np.array([p.max_step for p in pr.parameters]), pr.max_defect_rate, pr.takt_s,
        )  # fmt: skip
        try:
            surrogate = Surrogate.fit(t)
        except NotEnoughData as exc:
            raise HTTPException(422, str(exc)) from None
        current = t.params()[-1]
        rec = recommend(surrogate, current, limits, trials=body.trials)
        signals = [f"{ref.path}/{p.signal}" for p in pr.parameters]
        # The realised result is measured against as long a stretch before as after, at most
        # the last day under the current settings.
        same = np.flatnonzero((t.params() != current).any(axis=1))
        since = int(t.ts[same[-1] + 1]) if len(same) else int(t.ts[0])
        before = max(since, int(t.ts[-1]) - int(86_400e6))
        return _out(book.propose(ref.path, signals, rec, before))

    def _writer(request: Request) -> Write:
        if control is None:
            raise HTTPException(409, "no connectors run in this process (read-only server)")
        target, audit = control, guards(request).security.audit

        async def write(signal: str, value: float, user: str) -> int:
            return (await write_setpoint(target, signal, value, user, audit)).audit_seq

        return write

    async def _act(
        rec_id: int, request: Request, who: Principal, change: Callable[[Entry], Awaitable[Entry]]
    ) -> RecommendationOut:
        """What every action on a recommendation shares: it must exist (404) and lie in the
        caller's part of the plant; a status that does not allow the action or a write the device
        refused is a conflict (409), too few parts to measure unprocessable (422)."""
        try:
            entry = book.get(rec_id)
        except RecommendationError as exc:
            raise HTTPException(404, str(exc)) from None
        check_target(request, who, entry.equipment)
        try:
            return _out(await change(entry))
        except NotEnoughData as exc:
            raise HTTPException(422, str(exc)) from None
        except (RecommendationError, SetpointError) as exc:
            raise HTTPException(409, str(exc)) from None

    def _measure(e: Entry) -> Entry:
        if not e.applied_us:
            raise RecommendationError(f"recommendation {e.id} was never applied")
        # Once rolled back, the parts after the roll-back no longer show the change.
        end = e.decided_us if e.status == "rolled_back" else now_us()
        t = table(e.equipment, e.before_start_us, end)
        return book.record_realised(e.id, measure(t, e.before_start_us, e.applied_us, end))

    @api.post("/quality/recommendations/{rec_id}/approve", response_model=RecommendationOut,
              summary="Approve: write the recommended values as setpoints")  # fmt: skip
    async def approve(
        rec_id: int, request: Request, who: Annotated[Principal, require("quality.approve")]
    ) -> RecommendationOut:
        return await _act(rec_id, request, who,
                          lambda e: book.approve(e.id, who.actor, _writer(request)))  # fmt: skip

    @api.post("/quality/recommendations/{rec_id}/reject", response_model=RecommendationOut,
              summary="Reject a proposed recommendation")  # fmt: skip
    async def reject(
        rec_id: int, request: Request, who: Annotated[Principal, require("quality.approve")]
    ) -> RecommendationOut:
        return await _act(rec_id, request, who,
                          lambda e: asyncio.to_thread(book.reject, e.id, who.actor))  # fmt: skip

    @api.post("/quality/recommendations/{rec_id}/rollback", response_model=RecommendationOut,
              summary="Roll back: write the values in force before it")  # fmt: skip
    async def rollback(
        rec_id: int, request: Request, who: Annotated[Principal, require("quality.approve")]
    ) -> RecommendationOut:
        return await _act(rec_id, request, who,
                          lambda e: book.roll_back(e.id, who.actor, _writer(request)))  # fmt: skip

    @api.post("/quality/recommendations/{rec_id}/measure", response_model=RecommendationOut,
              summary="Measure the realised saving and defect rate")  # fmt: skip
    async def realised(
        rec_id: int, request: Request, who: Annotated[Principal, require("quality.approve")]
    ) -> RecommendationOut:
        return await _act(rec_id, request, who, lambda e: asyncio.to_thread(_measure, e))

    return api
