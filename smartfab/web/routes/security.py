"""The security event log and the audit log, for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from smartfab.platform.queries import to_us
from smartfab.web.auth import guards, require
from smartfab.web.routes.users import iso
from smartfab.web.schemas import End, Start


class SecurityEventOut(BaseModel):
    id: int
    ts: str
    kind: str = Field(description="login, login_failed, locked_out, logout, unauthenticated, "
                      "denied, rate_limited, too_large or change")  # fmt: skip
    actor: str
    client: str
    detail: str


class AuditOut(BaseModel):
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str = Field(description="Note it elsewhere: it anchors the chain up to here")
    problems: list[str]


def router() -> APIRouter:
    api = APIRouter(tags=["security"], dependencies=[require("security.read")])

    @api.get(
        "/security/events", response_model=list[SecurityEventOut], summary="Security event log"
    )
    def events(
        request: Request,
        start: Start = None,
        end: End = None,
        kind: Annotated[list[str] | None, Query(description="Kinds (repeatable)")] = None,
        actor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[SecurityEventOut]:
        found = guards(request).security.events.query(
            None if start is None else to_us(start),  # naive times are UTC, as everywhere
            None if end is None else to_us(end),
            kind,
            actor,
            limit,
        )
        return [
            SecurityEventOut(
                id=e.id,
                ts=iso(e.ts_us) or "",
                kind=e.kind,
                actor=e.actor,
                client=e.client,
                detail=e.detail,
            )
            for e in found
        ]

    @api.get("/audit", response_model=list[AuditOut], summary="Audit log, newest entries")
    def audit(
        request: Request,
        actor: str | None = None,
        action: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> list[AuditOut]:
        return [
            AuditOut(
                seq=e.seq,
                ts=iso(e.ts_us) or "",
                actor=e.actor,
                action=e.action,
                target=e.target,
                before=e.before,
                after=e.after,
                hash=e.hash,
            )
            for e in guards(request).security.audit.entries(limit, actor, action)
        ]

    @api.get("/audit/verify", response_model=VerifyOut, summary="Check the audit log's chain")
    def verify(request: Request) -> VerifyOut:
        v = guards(request).security.audit.verify()
        return VerifyOut(
            ok=v.ok, entries=v.entries, head_seq=v.head_seq, head_hash=v.head_hash,
            problems=v.problems,
        )  # fmt: skip

    return api
