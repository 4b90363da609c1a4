"""The REST API. Routes only translate HTTP to ``PlantData`` queries and back; no business logic
lives here. Time series travel as columns (one JSON array per column), which is both compact and
what charting libraries want. OpenAPI docs are served at /docs."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Protocol

import pyarrow as pa
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from smartfab import __version__
from smartfab.devices.connector import ConnectorStatus
from smartfab.errors import SmartfabError
from smartfab.platform.queries import PlantData, QueryError

Start = Annotated[
    datetime | None, Query(description="Start (ISO 8601; default: end minus 1 h or 1 day)")
]
End = Annotated[datetime | None, Query(description="End, exclusive (ISO 8601; default: now)")]


class ConnectorControl(Protocol):
    """What the API needs from the running ingestion (absent when serving a store read-only)."""

    def connector_status(self) -> list[ConnectorStatus]: ...

    async def configure_connector(self, name: str, changes: dict[str, Any]) -> ConnectorStatus: ...


class AssetNode(BaseModel):
    path: str
    name: str
    title: str = ""
    level: str = Field(description="site, area, line, cell or equipment")
    model: str | None = None
    signals: int = 0
    children: list[AssetNode] = []


class SignalOut(BaseModel):
    path: str
    id: int
    equipment: str
    name: str
    unit: str
    data_type: str
    role: str
    low: float | None
    high: float | None
    source: str


class Columns(BaseModel):
    """A table as columns: ``{"columns": {"ts": [...], "value": [...]}, "rows": n}``. Times are
    ISO 8601 UTC strings; missing numbers are null. ``truncated`` says that the limit cut the
    answer (events then are the newest ones)."""

    rows: int
    columns: dict[str, list[Any]]
    truncated: bool = False


class HistoryOut(Columns):
    signal: str
    unit: str
    bucket_s: float | None = Field(description="Bucket width; null for raw points")


class ConnectorChange(BaseModel):
    """Settings of a connector that can be changed at run time; they survive a restart."""

    enabled: bool | None = None
    endpoint: str | None = Field(default=None, description="OPC UA endpoint URL")
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    poll_ms: int | None = Field(default=None, ge=10)
    publishing_interval_ms: int | None = Field(default=None, ge=10)


def columns(table: pa.Table) -> dict[str, list[Any]]:
    """Arrow columns to JSON-safe lists (NaN and inf become null, times ISO strings)."""
    out: dict[str, list[Any]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(col.type):
            out[name] = [None if v is None else v.isoformat() for v in col.to_pylist()]
        elif pa.types.is_floating(col.type):
            out[name] = [None if v is None or not math.isfinite(v) else v for v in col.to_pylist()]
        else:
            out[name] = col.to_pylist()
    return out


def _status_dict(s: ConnectorStatus) -> dict[str, Any]:
    return asdict(s)


def create_app(data: PlantData, control: ConnectorControl | None = None) -> FastAPI:
    app = FastAPI(
        title="smartfab",
        version=__version__,
        description="Plant assets, signals, live values, history and events of a smartfab plant.",
    )
    api = APIRouter(prefix="/api")

    @app.exception_handler(QueryError)
    async def _query_error(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse(
            status_code=404 if "unknown" in str(exc) else 422, content={"detail": str(exc)}
        )

    @api.get("/health", summary="Liveness and what this process holds")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "signals": len(data.signals())}

    @api.get("/assets", response_model=AssetNode, summary="The ISA-95 hierarchy of the plant")
    def assets() -> AssetNode:
        if data.plant is None:
            raise HTTPException(404, "this server was started without a plant model")
        return _asset_tree(data)

    @api.get("/signals", response_model=list[SignalOut], summary="Signals, optionally below a path")
    def signals(
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
    ) -> list[SignalOut]:
        return [SignalOut(**asdict(s)) for s in data.signals(under)]

    @api.get("/latest", response_model=Columns, summary="Newest value of each signal")
    def latest(
        signal: Annotated[list[str] | None, Query(description="Signal paths (repeatable)")] = None,
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
    ) -> Columns:
        t = data.latest(signal, under)
        return Columns(rows=t.num_rows, columns=columns(t))

    @api.get("/history", response_model=HistoryOut, summary="History of one signal")
    def history(
        signal: Annotated[str, Query(description="Signal path")],
        start: Start = None,
        end: End = None,
        buckets: Annotated[
            int | None,
            Query(
                ge=1,
                le=100_000,
                description="Downsample to about this many buckets; omit for raw points",
            ),
        ] = None,
        limit: Annotated[
            int, Query(ge=1, le=1_000_000, description="Raw points at most")
        ] = 100_000,
    ) -> HistoryOut:
        info = data.signal(signal)
        if buckets is None:
            t = data.raw([signal], start, end, limit).select(["ts", "value", "quality"])
            bucket_s = None
            truncated = t.num_rows >= limit
        else:
            t = data.history(signal, start, end, buckets)
            bucket_s, truncated = _bucket_s(t), False
        return HistoryOut(
            signal=signal,
            unit=info.unit,
            bucket_s=bucket_s,
            rows=t.num_rows,
            columns=columns(t),
            truncated=truncated,
        )

    @api.get("/events", response_model=Columns, summary="Events: states, counts, faults, gaps")
    def events(
        start: Start = None,
        end: End = None,
        equipment: Annotated[str | None, Query(description="Asset path (or prefix)")] = None,
        kind: Annotated[list[str] | None, Query(description="Event kinds (repeatable)")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Columns:
        t = data.events(start, end, equipment, kind, limit)
        return Columns(rows=t.num_rows, columns=columns(t), truncated=t.num_rows >= limit)

    @api.get("/states", response_model=Columns, summary="Time spent in each machine state")
    def states(
        equipment: Annotated[str, Query(description="Equipment path")],
        start: Start = None,
        end: End = None,
    ) -> Columns:
        t = data.state_durations(equipment, start, end)
        return Columns(rows=t.num_rows, columns=columns(t))

    @api.get("/connectors", summary="Status of each connector")
    def connectors() -> list[dict[str, Any]]:
        return [_status_dict(s) for s in control.connector_status()] if control else []

    @api.patch("/connectors/{name}", summary="Change a connector; the change survives restarts")
    async def configure(name: str, change: ConnectorChange) -> dict[str, Any]:
        if control is None:
            raise HTTPException(409, "no connectors run in this process (read-only server)")
        try:
            status = await control.configure_connector(name, change.model_dump(exclude_none=True))
        except KeyError:
            raise HTTPException(404, f"unknown connector {name!r}") from None
        except SmartfabError as exc:  # a change the connection's schema refuses
            raise HTTPException(422, str(exc)) from None
        return _status_dict(status)

    app.include_router(api)
    return app


def _bucket_s(t: pa.Table) -> float:
    return int((t.schema.metadata or {})[b"bucket_us"]) / 1e6


def _asset_tree(data: PlantData) -> AssetNode:
    assert data.plant is not None
    counts: dict[str, int] = {}
    for s in data.signals():
        parts = s.path.split("/")
        for i in range(1, len(parts)):
            key = "/".join(parts[:i])
            counts[key] = counts.get(key, 0) + 1

    def node(path: str, obj: Any, level: str, children: list[AssetNode]) -> AssetNode:
        return AssetNode(
            path=path,
            name=obj.name,
            title=obj.title,
            level=level,
            model=getattr(obj, "model", None),
            signals=counts.get(path, 0),
            children=children,
        )

    site = data.plant.site
    return node(
        site.name,
        site,
        "site",
        [
            node(
                pa_,
                area,
                "area",
                [
                    node(
                        pl,
                        line,
                        "line",
                        [
                            node(
                                pc,
                                cell,
                                "cell",
                                [
                                    node(f"{pc}/{eq.name}", eq, "equipment", [])
                                    for eq in cell.equipment
                                ],
                            )
                            for cell in line.cells
                            for pc in [f"{pl}/{cell.name}"]
                        ],
                    )
                    for line in area.lines
                    for pl in [f"{pa_}/{line.name}"]
                ],
            )
            for area in site.areas
            for pa_ in [f"{site.name}/{area.name}"]
        ],
    )
