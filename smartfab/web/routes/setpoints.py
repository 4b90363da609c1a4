"""Setpoint writes for engineers: :func:`smartfab.platform.setpoints.write_setpoint` over HTTP,
which checks the plant file allows the value, writes it through the signal's connector, reads it
back and records old and new value in the audit log; and, for everyone who reads the plant, the
writable signals of their part of it and the history of writes (and refused attempts) there,
read from that audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from smartfab.platform.security.audit import AuditEntry
from smartfab.platform.security.roles import Principal
from smartfab.platform.setpoints import (
    REFUSED,
    WRITE,
    SetpointError,
    SetpointTarget,
    UnknownSignalError,
    write_setpoint,
)
from smartfab.web.auth import check_target, guards, record_change, require
from smartfab.web.routes.users import iso
from smartfab.web.schemas import WithUnit


class SetpointIn(BaseModel):
    signal: str = Field(max_length=400, description="The writable signal's path")
    value: float = Field(allow_inf_nan=False)


class SetpointOut(BaseModel):
    signal: str
    old: float = Field(description="The value the device held before the write")
    new: float = Field(description="The value read back from the device after the write")
    unit: str
    audit_seq: int = Field(description="The audit log entry recording the change")


class WritableOut(WithUnit):
    signal: str
    description: str
    low: float = Field(description="Least value that may be written (the signal's range)")
    high: float = Field(description="Greatest value that may be written")


class SetpointChangeOut(BaseModel):
    seq: int = Field(description="The audit log entry")
    ts: str
    actor: str
    signal: str
    written: bool = Field(description="False: the attempt was refused, and nothing changed")
    old: float | None = Field(description="The value before a write")
    new: float | None = Field(description="The value read back after a write")
    wanted: float | None = Field(description="The value a refused attempt asked for")
    reason: str = Field(description="Why an attempt was refused")


# Module level, where FastAPI resolves the annotations of the routes.
READ = require("plant.read")


def router(control: SetpointTarget | None) -> APIRouter:
    api = APIRouter(tags=["setpoints"])

    @api.get(
        "/setpoints",
        response_model=list[WritableOut],
        summary="Writable signals of the caller's part of the plant (none on a read-only server)",
    )
    def writable(who: Annotated[Principal, READ]) -> list[WritableOut]:
        if control is None:
            return []
        return [
            WritableOut(
                signal=ref.path,
                description=ref.signal.description,
                unit=ref.signal.unit,
                low=ref.signal.range[0],
                high=ref.signal.range[1],
            )
            for ref in control.plant.iter_signals()
            if ref.signal.writable and ref.signal.range is not None and who.covers(ref.path)
        ]

    @api.get(
        "/setpoints/history",
        response_model=list[SetpointChangeOut],
        summary="Setpoint writes and refused attempts, newest last, from the audit log",
    )
    def history(
        request: Request,
        who: Annotated[Principal, READ],
        signal: Annotated[str | None, Query(description="One signal's path")] = None,
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[SetpointChangeOut]:
        # The caller's part of the plant unless it names one (in it: the guard checked both).
        within = signal or under or who.scope or None
        entries = guards(request).security.audit.entries(limit, None, (WRITE, REFUSED), within)
        return [_change(e) for e in entries]

    @api.post("/setpoints", response_model=SetpointOut, summary="Write a setpoint to a device")
    async def write(
        body: SetpointIn,
        request: Request,
        who: Annotated[Principal, require("setpoints.write")],
    ) -> SetpointOut:
        if control is None:
            raise HTTPException(409, "no connectors run in this process (read-only server)")
        check_target(request, who, body.signal)
        audit = guards(request).security.audit
        try:
            done = await write_setpoint(control, body.signal, body.value, who.actor, audit)
        except UnknownSignalError as exc:
            raise HTTPException(404, str(exc)) from None
        except SetpointError as exc:
            raise HTTPException(422, str(exc)) from None
        record_change(
            request, who, "setpoint.write", body.signal,
            {"value": done.old}, {"value": done.new}, audited=True,
        )  # fmt: skip
        return SetpointOut(
            signal=done.signal, old=done.old, new=done.new, unit=done.unit,
            audit_seq=done.audit_seq,
        )  # fmt: skip

    return api


def _change(e: AuditEntry) -> SetpointChangeOut:
    written = e.action == WRITE
    return SetpointChangeOut(
        seq=e.seq,
        ts=iso(e.ts_us) or "",
        actor=e.actor,
        signal=e.target,
        written=written,
        old=_value(e.before) if written else None,
        new=_value(e.after) if written else None,
        wanted=None if written else _value(e.after),
        reason="" if written or not isinstance(e.after, dict) else str(e.after.get("reason", "")),
    )


def _value(entry: Any) -> float | None:
    """The number an audit entry's before or after records: {"value": 12.5}."""
    value = entry.get("value") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, int | float) else None
