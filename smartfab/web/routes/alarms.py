"""Alarms over HTTP: the operator's alarm list, acknowledge, shelve and unshelve (ISA-18.2), the
journal of transitions and the EEMUA 191 alarm load, all through the running
:class:`~smartfab.apps.monitoring.alarms.engine.AlarmEngine`. A server without one (a store
served read-only) answers the list with ``available: false`` and refuses actions with 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from smartfab.apps.monitoring.alarms.engine import AlarmEngine, UnknownAlarmError
from smartfab.apps.monitoring.alarms.lifecycle import AlarmStatus, Record
from smartfab.platform.queries import TimeRange
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import check_target, record_change, require
from smartfab.web.schemas import End, Start, finite


class AlarmOut(BaseModel):
    """An alarm's current status; times are ISO 8601 UTC, null when they did not happen."""

    id: str
    equipment: str
    priority: str
    message: str
    state: str = Field(
        description="normal, unacknowledged, acknowledged, cleared_unacknowledged or shelved"
    )
    active: bool
    since: str | None
    activated_at: str | None
    cleared_at: str | None
    value: float | None
    value_is_code: bool = Field(
        description="The value is a state or fault code: show it as a whole number"
    )
    acked_by: str
    acked_at: str | None
    ack_comment: str
    shelved_by: str
    shelved_until: str | None
    shelve_reason: str


class AlarmList(BaseModel):
    available: bool = Field(description="False when this server runs no alarm engine")
    alarms: list[AlarmOut]


class RecordOut(BaseModel):
    ts: str
    alarm_id: str
    equipment: str
    action: str
    state: str
    active: bool
    priority: str
    value: float | None
    user: str
    comment: str
    until: str | None


# ``user`` is kept for older clients and ignored: the acting user is the one logged in, whom a
# request cannot choose.
_USER = Field(default="", description="Ignored: the logged-in user acts")


class Acknowledge(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=10_000)
    user: str = _USER
    comment: str = Field(default="", max_length=2000)


class Shelve(BaseModel):
    id: str
    user: str = _USER
    # Shelving is temporary by nature (ISA-18.2): at most 30 days, then the alarm is back.
    minutes: float = Field(gt=0, le=30 * 24 * 60, description="How long the alarm stays shelved")
    reason: str


class Unshelve(BaseModel):
    id: str
    user: str = _USER


class BadActorOut(BaseModel):
    alarm_id: str
    count: int
    share: float


class LoadOut(BaseModel):
    """EEMUA 191 alarm load over the window, per operator position."""

    start: str
    end: str
    operators: int
    total: int
    average_per_10min: float
    peak_per_10min: float
    flood_percent: float
    per_period: list[int]
    bad_actors: list[BadActorOut]


MAX_LOAD_WINDOW_US = 366 * 86_400_000_000

# Module level, where FastAPI resolves the annotations of the routes.
ACK = require("alarms.ack")
READ_SCOPED = require("plant.read", scoped=True)


def router(engine: AlarmEngine | None) -> APIRouter:
    api = APIRouter(prefix="/alarms", tags=["alarms"])

    def running() -> AlarmEngine:
        if engine is None:
            raise HTTPException(409, "no alarm engine runs in this process (read-only server)")
        return engine

    def acting(
        request: Request, who: Principal, ids: list[str]
    ) -> tuple[AlarmEngine, dict[str, Any]]:
        """The engine, once the caller's scope covers the equipment of every alarm; and the
        alarms' status before the change, for the audit log."""
        e = running()
        before: dict[str, Any] = {}
        for alarm_id in ids:
            try:
                status = e.status(alarm_id)
            except UnknownAlarmError:
                raise HTTPException(404, f"unknown alarm {alarm_id!r}") from None
            check_target(request, who, status.equipment)
            before[alarm_id] = _audited(status)
        return e, before

    def audit(
        request: Request,
        who: Principal,
        action: str,
        before: dict[str, Any],
        after: list[AlarmStatus],
    ) -> None:
        changed = {s.id: _audited(s) for s in after}
        for alarm_id, status in changed.items():
            record_change(request, who, action, f"alarm:{alarm_id}", before[alarm_id], status)

    @api.get(
        "",
        response_model=AlarmList,
        summary="The alarm list, most urgent first",
        dependencies=[READ_SCOPED],
    )
    def alarms(
        under: Annotated[str | None, Query(description="Asset path")] = None,
        state: Annotated[list[str] | None, Query(description="States (repeatable)")] = None,
        priority: Annotated[list[str] | None, Query(description="Priorities (repeatable)")] = None,
        include_normal: bool = False,
    ) -> AlarmList:
        if engine is None:
            return AlarmList(available=False, alarms=[])
        found = engine.alarms(
            under=under, states=state, priorities=priority, include_normal=include_normal
        )
        return AlarmList(available=True, alarms=[_alarm_out(s) for s in found])

    @api.post("/acknowledge", response_model=list[AlarmOut], summary="Acknowledge alarms")
    async def acknowledge(
        body: Acknowledge, request: Request, who: Annotated[Principal, ACK]
    ) -> list[AlarmOut]:
        e, before = acting(request, who, body.ids)
        done = await _acting(e.acknowledge(body.ids, who.name, body.comment))
        audit(request, who, "alarm.acknowledge", before, done)
        return [_alarm_out(s) for s in done]

    @api.post("/shelve", response_model=AlarmOut, summary="Shelve an alarm for some minutes")
    async def shelve(body: Shelve, request: Request, who: Annotated[Principal, ACK]) -> AlarmOut:
        e, before = acting(request, who, [body.id])
        until = datetime.now(UTC) + timedelta(minutes=body.minutes)
        done = await _acting(e.shelve(body.id, who.name, _us(until), body.reason))
        audit(request, who, "alarm.shelve", before, [done])
        return _alarm_out(done)

    @api.post("/unshelve", response_model=AlarmOut, summary="End an alarm's shelving now")
    async def unshelve(
        body: Unshelve, request: Request, who: Annotated[Principal, ACK]
    ) -> AlarmOut:
        e, before = acting(request, who, [body.id])
        done = await _acting(e.unshelve(body.id, who.name))
        audit(request, who, "alarm.unshelve", before, [done])
        return _alarm_out(done)

    @api.get(
        "/history",
        response_model=list[RecordOut],
        summary="Journal of alarm transitions",
        dependencies=[READ_SCOPED],
    )
    async def history(
        start: Start = None,
        end: End = None,
        under: Annotated[str | None, Query(description="Asset path")] = None,
        alarm: Annotated[str | None, Query(description="One alarm's id")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[RecordOut]:
        r = TimeRange.of(start, end, default=timedelta(days=1))
        records = await _acting(
            running().history(r.start_us, r.end_us, under=under, alarm_id=alarm, limit=limit)
        )
        return [_record_out(x) for x in records]

    @api.get(
        "/load",
        response_model=LoadOut,
        summary="EEMUA 191 alarm load",
        dependencies=[READ_SCOPED],
    )
    async def load(
        start: Start = None,
        end: End = None,
        under: Annotated[str | None, Query(description="Asset path")] = None,
        operators: Annotated[int, Query(ge=1, le=1000)] = 1,
    ) -> LoadOut:
        r = TimeRange.of(start, end, default=timedelta(days=1))
        # One count per 10 minutes of the window: an unbounded window would exhaust memory.
        if r.end_us - r.start_us > MAX_LOAD_WINDOW_US:
            raise HTTPException(422, "the window of the alarm load is at most 366 days")
        figures = await _acting(
            running().load(r.start_us, r.end_us, under=under, operators=operators)
        )
        return LoadOut(
            start=_iso(figures.start) or "",
            end=_iso(figures.end) or "",
            operators=figures.operators,
            total=figures.total,
            average_per_10min=figures.average_per_10min,
            peak_per_10min=figures.peak_per_10min,
            flood_percent=figures.flood_percent,
            per_period=figures.per_period.tolist(),
            bad_actors=[
                BadActorOut(alarm_id=b.alarm_id, count=b.count, share=b.share)
                for b in figures.bad_actors
            ],
        )

    return api


async def _acting(call: Any) -> Any:
    """Await an engine call, its refusals as HTTP errors: an unknown alarm is 404, a request the
    engine refuses (no user, no reason, shelving too long) 422."""
    try:
        return await call
    except UnknownAlarmError as exc:
        raise HTTPException(404, f"unknown alarm {exc.args[0]!r}") from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _audited(s: AlarmStatus) -> dict[str, Any]:
    return {"state": str(s.state), "acked_by": s.acked_by, "shelved_by": s.shelved_by,
            "shelved_until": _iso(s.shelved_until), "reason": s.shelve_reason}  # fmt: skip


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def _iso(us: int | None) -> str | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, UTC).isoformat()


def _alarm_out(s: AlarmStatus) -> AlarmOut:
    return AlarmOut(
        id=s.id,
        equipment=s.equipment,
        priority=s.priority,
        message=s.message,
        state=str(s.state),
        active=s.active,
        since=_iso(s.since),
        activated_at=_iso(s.activated_at),
        cleared_at=_iso(s.cleared_at),
        value=finite(s.value),
        value_is_code=s.value_is_code,
        acked_by=s.acked_by,
        acked_at=_iso(s.acked_at),
        ack_comment=s.ack_comment,
        shelved_by=s.shelved_by,
        shelved_until=_iso(s.shelved_until),
        shelve_reason=s.shelve_reason,
    )


def _record_out(r: Record) -> RecordOut:
    return RecordOut(
        ts=_iso(r.ts) or "",
        alarm_id=r.alarm_id,
        equipment=r.equipment,
        action=str(r.action),
        state=str(r.state),
        active=r.active,
        priority=r.priority,
        value=finite(r.value),
        user=r.user,
        comment=r.comment,
        until=_iso(r.until),
    )
