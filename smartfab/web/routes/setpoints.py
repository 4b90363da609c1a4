"""Setpoint writes for engineers: :func:`smartfab.platform.setpoints.write_setpoint` over HTTP,
which checks the plant file allows the value, writes it through the signal's connector, reads it
back and records old and new value in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from smartfab.platform.security.roles import Principal
from smartfab.platform.setpoints import (
    SetpointError,
    SetpointTarget,
    UnknownSignalError,
    write_setpoint,
)
from smartfab.web.auth import check_target, guards, record_change, require


class SetpointIn(BaseModel):
    signal: str = Field(max_length=400, description="The writable signal's path")
    value: float = Field(allow_inf_nan=False)


class SetpointOut(BaseModel):
    signal: str
    old: float = Field(description="The value the device held before the write")
    new: float = Field(description="The value read back from the device after the write")
    unit: str
    audit_seq: int = Field(description="The audit log entry recording the change")


def router(control: SetpointTarget | None) -> APIRouter:
    api = APIRouter(tags=["setpoints"])

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
