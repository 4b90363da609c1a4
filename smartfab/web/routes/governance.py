"""Data governance over HTTP: lineage of each series, retention per signal class (admins), and
export of stored points to Parquet or CSV under the same permissions as reading them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from smartfab.platform.export import FORMATS, MAX_ROWS, MEDIA_TYPES, ExportTooLarge, plan_export
from smartfab.platform.lineage import lineage
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.platform.store.base import (
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    StoreError,
    check_retention,
    retention_cutoffs,
)
from smartfab.web.auth import record_change, require
from smartfab.web.schemas import End, Start


class LineageOut(BaseModel):
    path: str
    role: str
    source: str = Field(description="As catalogued: protocol:connection, or virtual")
    protocol: str
    connection: str
    endpoint: str = Field(description="Where the connection reaches the device (plant file)")
    address: str = Field(description="Node id, register or topic within the connection")
    first_seen: datetime | None = Field(description="Oldest stored point")
    last_seen: datetime | None = Field(description="Newest stored point")


Days = Annotated[float, Field(ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS)] | None


class RetentionIn(BaseModel):
    classes: dict[str, Days] = Field(
        description='Days to keep the points of each signal role; "*": every other role; '
        "null: for ever. Empty: keep everything.",
        examples=[{"measurement": 90, "*": 730}],
    )


class RetentionOut(BaseModel):
    # As stored: a policy saved before the bounds were checked is still shown, not a 500.
    classes: dict[str, float | None]
    roles: dict[str, float | None] = Field(description="What the policy means for each stored role")


# Module level: FastAPI resolves the (string) annotation of put_retention's ``who`` here.
MANAGE = require("retention.manage")


def router(data: PlantData) -> APIRouter:
    api = APIRouter(tags=["governance"])

    @api.get(
        "/lineage",
        response_model=list[LineageOut],
        summary="Which connection and device produced each series, first and last seen",
        dependencies=[require("plant.read", scoped=True)],
    )
    def get_lineage(
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
    ) -> list[LineageOut]:
        return [LineageOut(**row) for row in lineage(data, under).to_pylist()]

    def retention_out() -> RetentionOut:
        policy = data.store.retention()
        roles = sorted({s.role for s in data.signals()})
        # The days each role falls under, by the one rule the stores apply (cutoffs at now=0).
        days = {r: None if c is None else -c / 86_400_000_000
                for r, c in retention_cutoffs(policy, roles, 0).items()}  # fmt: skip
        return RetentionOut(classes=policy, roles=days)

    @api.get(
        "/retention",
        response_model=RetentionOut,
        summary="How long the points of each signal class are kept",
        dependencies=[MANAGE],
    )
    def get_retention() -> RetentionOut:
        return retention_out()

    @api.put("/retention", response_model=RetentionOut, summary="Set the retention policy")
    def put_retention(
        body: RetentionIn, request: Request, who: Annotated[Principal, MANAGE]
    ) -> RetentionOut:
        before = data.store.retention()
        try:
            data.store.set_retention(check_retention(body.classes))
        except StoreError as exc:
            raise HTTPException(422, str(exc)) from None
        record_change(request, who, "retention.set", "retention", before, body.classes)
        return retention_out()

    @api.get(
        "/export",
        summary="Stored points of signals as a Parquet or CSV file (streamed)",
        response_class=StreamingResponse,
        responses={
            200: {"content": {t: {} for t in MEDIA_TYPES.values()}},
            413: {"description": "More points than an export may hold"},
        },
        dependencies=[require("plant.read")],
    )
    def export(
        signal: Annotated[list[str], Query(description="Signal paths (repeatable)")],
        start: Start = None,
        end: End = None,
        format: Annotated[str, Query(pattern=f"^({'|'.join(FORMATS)})$")] = "parquet",
    ) -> StreamingResponse:
        try:
            plan = plan_export(data, signal, start, end, format, MAX_ROWS)
        except ExportTooLarge as exc:
            raise HTTPException(413, str(exc)) from None
        return StreamingResponse(
            plan.stream(),
            media_type=MEDIA_TYPES[plan.format],
            headers={
                "Content-Disposition": f'attachment; filename="{plan.filename}"',
                "X-Points": str(plan.rows),
            },
        )

    return api
