"""Predictive maintenance over HTTP: the fleet ranked by risk, one equipment's health trend, RUL
with its interval and anomalies (:mod:`smartfab.apps.maintenance.fleet`), and the work orders a
planner accepts, schedules and closes (:mod:`smartfab.apps.maintenance.workorders`). Viewers
read; engineers raise orders from the models' predictions and change them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from smartfab.apps.maintenance.fleet import Assessment, FleetAssessor, Note
from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.apps.maintenance.workorders import (
    UnknownWorkOrderError,
    WorkOrder,
    WorkOrderError,
    WorkOrders,
    act_on_predictions,
)
from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData, QueryError, TimeRange, to_us
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import check_target, record_change, require
from smartfab.web.schemas import End, Instant, Start, Window, finite

READ = require("maintenance.read")
READ_SCOPED = require("maintenance.read", scoped=True)
PLAN = require("maintenance.plan")
# The period the models look at by default: a month of hourly rows.
PERIOD = timedelta(days=30)
# Hourly rows of a longer period would not fit a request's time and memory.
LONGEST = timedelta(days=400)
Horizon = Annotated[
    float, Query(gt=0, le=24 * 365, description="Hours ahead a failure counts as predicted")
]


def _iso(t_us: int | None) -> str | None:
    return None if t_us is None else datetime.fromtimestamp(t_us / 1e6, UTC).isoformat()


class NoteOut(BaseModel):
    code: str = Field(description="running_data, failures, training or model_refused")
    text: str = Field(description="Why, and what is needed, in English")
    params: dict[str, Any] = Field(description="The figures of the text, for translations")


class EquipmentRisk(BaseModel):
    equipment: str
    ts: str | None = Field(description="Time of the last running row assessed")
    health: float | None = Field(
        description="Health index 0-100 at the last running row (null: unknown, see health_note)"
    )
    rul_h: float | None = Field(description="Remaining useful life, hours (null: no RUL model)")
    rul_low_h: float | None
    rul_high_h: float | None
    risk: float | None = Field(
        description="0-1: share of the RUL interval within the horizon, or the health lost "
        "(null: unknown)"
    )
    failure_predicted: bool
    anomalies: int
    model: str = Field(description='"<registry name>@v<version>", "baseline" or "" (unknown)')
    health_note: NoteOut | None = Field(description="Why health is unknown, and what it needs")
    rul_note: NoteOut | None = Field(description="Why there is no RUL, and what it needs")
    mode: str = Field(description="The failure mode recorded most often for this kind")
    open_orders: int


class Fleet(BaseModel):
    horizon_h: float
    training: bool = Field(description="Whether models are being trained in the background")
    start: str
    end: str
    equipment: list[EquipmentRisk]


class AnomalyOut(BaseModel):
    ts: str
    sensor: str
    score: float | None = Field(description="In chart standard deviations (null: beyond any)")


class EquipmentDetail(EquipmentRisk):
    step_s: float
    signals: list[str]
    times: list[str]
    health_trend: list[float]
    anomaly_list: list[AnomalyOut]
    orders: list[dict[str, Any]]


class WorkOrderOut(BaseModel):
    id: str
    equipment: str
    status: str = Field(description="open, accepted, scheduled or closed")
    created: str
    due: str
    mode: str
    evidence: dict[str, Any]
    updated: str
    accepted_by: str
    window_start: str | None
    window_end: str | None
    scheduled_by: str
    closed_by: str
    comment: str


class Assess(Window):
    under: str | None = Field(default=None, description="Asset path (default: the whole plant)")
    horizon_h: float = Field(default=24.0, gt=0, le=24 * 365)


class Schedule(BaseModel):
    start: Instant
    end: Instant


class Close(BaseModel):
    comment: str = Field(default="", max_length=2000)


def _order_out(o: WorkOrder) -> WorkOrderOut:
    return WorkOrderOut(
        id=o.id, equipment=o.equipment, status=o.status.value, created=_iso(o.created_us) or "",
        due=_iso(o.due_us) or "", mode=o.mode, evidence=o.evidence.as_dict(),
        updated=_iso(o.updated_us) or "", accepted_by=o.accepted_by,
        window_start=_iso(o.window_start_us), window_end=_iso(o.window_end_us),
        scheduled_by=o.scheduled_by, closed_by=o.closed_by, comment=o.comment,
    )  # fmt: skip


def _note(n: Note | None) -> NoteOut | None:
    return None if n is None else NoteOut(code=n.code, text=n.text, params=n.params)


def _risk(a: Assessment, horizon_h: float, orders: WorkOrders) -> dict[str, Any]:
    return {
        "equipment": a.equipment, "ts": _iso(a.ts), "health": finite(round(a.current_health, 1)),
        "rul_h": finite(a.rul_h), "rul_low_h": finite(a.rul_low_h),
        "rul_high_h": finite(a.rul_high_h),
        "risk": None if a.risk is None else round(a.risk, 3),
        "failure_predicted": a.failure_predicted(horizon_h),
        "anomalies": len(a.anomalies), "model": a.model, "mode": a.mode,
        "health_note": _note(a.health_note), "rul_note": _note(a.rul_note),
        "open_orders": len(orders.orders(equipment=a.equipment, open_only=True)),
    }  # fmt: skip


def router(
    data: PlantData, models: Path | None = None, engine: AlarmEngine | None = None,
    orders: WorkOrders | None = None, assessor: FleetAssessor | None = None,
) -> APIRouter:  # fmt: skip
    """``models``: the model registry's folder (<data-dir>/models); without one, models trained
    from the store live in a private temporary folder for this process only. ``engine``: the running
    alarm engine, which raises predicted-failure alarms (none on a read-only server). ``orders``:
    the work orders, when other routes share them (scheduling respects their windows).
    ``assessor``: the fleet assessor, when the periodic assessment shares it (then ``models``
    is its registry's)."""
    api = APIRouter(prefix="/maintenance", tags=["maintenance"])
    if assessor is None:
        assessor = FleetAssessor(data, ModelRegistry(models))
    orders = orders if orders is not None else WorkOrders(data.store)

    def period(start: datetime | None, end: datetime | None) -> TimeRange:
        r = TimeRange.of(start, end, default=PERIOD)
        if r.end_us - r.start_us > LONGEST.total_seconds() * 1e6:
            raise HTTPException(422, f"the period may span at most {LONGEST.days} days")
        return r

    async def assess(r: TimeRange, horizon_h: float, under: str | None) -> list[Assessment]:
        found = await asyncio.to_thread(assessor.assess, r.start_us, r.end_us, horizon_h, under)
        if under is not None and not found and under not in assessor.equipment():
            # Not one equipment: a line or an area, whose equipment are below it.
            found = await asyncio.to_thread(assessor.assess, r.start_us, r.end_us, horizon_h)
            found = [a for a in found if a.equipment.startswith(under.rstrip("/") + "/")]
        return found

    @api.get("/fleet", response_model=Fleet, summary="Equipment ranked by failure risk",
             dependencies=[READ_SCOPED])  # fmt: skip
    async def fleet(
        start: Start = None, end: End = None, horizon_h: Horizon = 24.0,
        under: Annotated[str | None, Query(description="Asset path")] = None,
    ) -> Fleet:  # fmt: skip
        r = period(start, end)
        found = await assess(r, horizon_h, under)
        ranked = [EquipmentRisk(**_risk(a, horizon_h, orders)) for a in found]
        return Fleet(horizon_h=horizon_h, training=assessor.training, start=_iso(r.start_us) or "",
                     end=_iso(r.end_us) or "", equipment=ranked)  # fmt: skip

    @api.get("/equipment/{path:path}", response_model=EquipmentDetail,
             summary="One equipment: health trend, RUL with interval, anomalies, open orders",
             dependencies=[READ])  # fmt: skip
    async def equipment(
        path: str, start: Start = None, end: End = None, horizon_h: Horizon = 24.0
    ) -> EquipmentDetail:
        r = period(start, end)
        found = await asyncio.to_thread(assessor.assess, r.start_us, r.end_us, horizon_h, path)
        if not found:
            raise QueryError(f"unknown equipment {path!r}, or no float measurements stored")
        a = found[0]
        return EquipmentDetail(
            **_risk(a, horizon_h, orders), step_s=a.step_us / 1e6, signals=list(a.signals),
            # The rows health is known for: running rows only, none while it is unknown.
            times=[_iso(int(t)) or "" for t in a.times[: len(a.health)]],
            health_trend=[round(float(h), 2) for h in a.health],
            anomaly_list=[AnomalyOut(ts=_iso(x.ts) or "", sensor=x.sensor,
                                     score=finite(round(x.score, 2))) for x in a.anomalies],
            orders=[_order_out(o).model_dump()
                    for o in orders.orders(equipment=a.equipment, open_only=True)],
        )  # fmt: skip

    @api.get("/workorders", response_model=list[WorkOrderOut], summary="Work orders by due date",
             dependencies=[READ_SCOPED])  # fmt: skip
    def list_orders(
        under: Annotated[str | None, Query(description="Asset path")] = None,
        open_only: bool = Query(default=False, alias="open"),
    ) -> list[WorkOrderOut]:
        return [_order_out(o) for o in orders.orders(equipment=under, open_only=open_only)]

    @api.post("/assess", response_model=list[WorkOrderOut],
              summary="Work orders and alarms for failures predicted in the horizon")  # fmt: skip
    async def raise_predicted(
        body: Assess, request: Request, who: Annotated[Principal, PLAN]
    ) -> list[WorkOrderOut]:
        if body.under is not None:
            check_target(request, who, body.under)
        r = period(body.start, body.end)
        found = [a for a in await assess(r, body.horizon_h, body.under) if who.covers(a.equipment)]
        new = await act_on_predictions(found, orders, engine, body.horizon_h, now_us())
        for o in new:
            record_change(request, who, "workorder.create", f"workorder:{o.id}", None, o.id)
        return [_order_out(o) for o in new]

    def acting(request: Request, who: Principal, order_id: str) -> WorkOrderOut:
        try:
            order = orders.get(order_id)
        except UnknownWorkOrderError as exc:
            raise HTTPException(404, str(exc)) from None
        check_target(request, who, order.equipment)
        return _order_out(order)

    async def change(request: Request, who: Principal, action: str, before: WorkOrderOut,
                     call: Any, *args: Any) -> WorkOrderOut:  # fmt: skip
        try:
            after = _order_out(await asyncio.to_thread(call, before.id, who.name, *args))
        except WorkOrderError as exc:
            raise HTTPException(409, str(exc)) from None
        record_change(request, who, f"workorder.{action}", f"workorder:{before.id}",
                      before.model_dump(), after.model_dump())  # fmt: skip
        return after

    @api.post("/workorders/{order_id}/accept", response_model=WorkOrderOut,
              summary="Accept an open work order")  # fmt: skip
    async def accept(
        order_id: str, request: Request, who: Annotated[Principal, PLAN]
    ) -> WorkOrderOut:
        before = acting(request, who, order_id)
        return await change(request, who, "accept", before, orders.accept)

    @api.post("/workorders/{order_id}/schedule", response_model=WorkOrderOut,
              summary="Put a work order into a maintenance window")  # fmt: skip
    async def schedule(
        order_id: str, body: Schedule, request: Request, who: Annotated[Principal, PLAN]
    ) -> WorkOrderOut:
        before = acting(request, who, order_id)
        window = (to_us(body.start), to_us(body.end))
        return await change(request, who, "schedule", before, orders.schedule, *window)

    @api.post("/workorders/{order_id}/close", response_model=WorkOrderOut,
              summary="Close a work order")  # fmt: skip
    async def close(
        order_id: str, body: Close, request: Request, who: Annotated[Principal, PLAN]
    ) -> WorkOrderOut:
        before = acting(request, who, order_id)
        return await change(request, who, "close", before, orders.close, body.comment)

    return api
