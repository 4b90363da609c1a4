"""Plant assets, the signal catalogue, latest values, history, events and state durations: HTTP
translated to ``PlantData`` queries and back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from smartfab import __version__
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import require
from smartfab.web.schemas import (
    Columns,
    End,
    HistoryOut,
    Start,
    WithUnit,
    columns,
    table_out,
)


class AssetNode(BaseModel):
    path: str
    name: str
    title: str = ""
    level: str = Field(description="site, area, line, cell or equipment")
    model: str | None = None
    signals: int = 0
    children: list[AssetNode] = []


class SignalOut(WithUnit):
    path: str
    id: int
    equipment: str
    name: str
    data_type: str
    role: str
    low: float | None
    high: float | None
    source: str


class EquipmentSignal(WithUnit):
    name: str
    path: str
    role: str
    description: str
    low: float | None
    high: float | None
    sample_s: float = Field(description="How often the source updates the value")


class EquipmentOut(BaseModel):
    """One equipment as the plant file describes it: what its state and fault codes mean."""

    path: str
    name: str
    title: str
    model: str | None
    ideal_cycle_s: float | None
    states: dict[int, str]
    faults: dict[int, str]
    signals: list[EquipmentSignal]


# Module level, where FastAPI resolves the annotations of the routes.
READ = require("plant.read")


def router(data: PlantData) -> APIRouter:
    api = APIRouter(tags=["plant"])
    read, read_scoped = READ, require("plant.read", scoped=True)

    @api.get("/health", summary="Liveness and what this process holds", dependencies=[read])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "signals": len(data.signals())}

    @api.get(
        "/assets",
        response_model=AssetNode,
        summary="The ISA-95 hierarchy of the plant (of the caller's part of it, and the way there)",
    )
    def assets(who: Annotated[Principal, READ]) -> AssetNode:
        if data.plant is None:
            raise HTTPException(404, "this server was started without a plant model")
        return _asset_tree(data, who)

    @api.get(
        "/equipment/{path:path}",
        response_model=EquipmentOut,
        summary="An equipment: state and fault codes, signals with their sample intervals",
        dependencies=[read],
    )
    def equipment(path: str) -> EquipmentOut:
        if data.plant is None:
            raise HTTPException(404, "this server was started without a plant model")
        ref = next((e for e in data.plant.iter_equipment() if e.path == path.rstrip("/")), None)
        if ref is None:
            raise HTTPException(404, f"unknown equipment {path!r}")
        eq = ref.equipment
        return EquipmentOut(
            path=ref.path,
            name=eq.name,
            title=eq.title,
            model=eq.model,
            ideal_cycle_s=eq.ideal_cycle_s,
            states=eq.states,
            faults=eq.faults,
            signals=[
                EquipmentSignal(
                    name=s.name,
                    path=f"{ref.path}/{s.name}",
                    unit=s.unit,
                    role=s.role,
                    description=s.description,
                    low=s.range[0] if s.range else None,
                    high=s.range[1] if s.range else None,
                    sample_s=s.sample_s,
                )
                for s in eq.signals
            ],
        )

    @api.get(
        "/signals",
        response_model=list[SignalOut],
        summary="Signals, optionally below a path",
        dependencies=[read_scoped],
    )
    def signals(
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
    ) -> list[SignalOut]:
        return [SignalOut(**asdict(s)) for s in data.signals(under)]

    @api.get(
        "/latest",
        response_model=Columns,
        summary="Newest value of each signal",
        dependencies=[read_scoped],
    )
    def latest(
        signal: Annotated[list[str] | None, Query(description="Signal paths (repeatable)")] = None,
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
    ) -> Columns:
        return table_out(data.latest(signal, under))

    @api.get(
        "/history",
        response_model=HistoryOut,
        summary="History of one signal",
        dependencies=[read],
    )
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

    @api.get(
        "/events",
        response_model=Columns,
        summary="Events: states, counts, faults, gaps",
        dependencies=[read_scoped],
    )
    def events(
        start: Start = None,
        end: End = None,
        equipment: Annotated[str | None, Query(description="Asset path (or prefix)")] = None,
        kind: Annotated[list[str] | None, Query(description="Event kinds (repeatable)")] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Columns:
        t = data.events(start, end, equipment, kind, limit)
        return table_out(t, truncated=t.num_rows >= limit)

    @api.get(
        "/states",
        response_model=Columns,
        summary="Time spent in each machine state",
        dependencies=[read],
    )
    def states(
        equipment: Annotated[str, Query(description="Equipment path")],
        start: Start = None,
        end: End = None,
    ) -> Columns:
        return table_out(data.state_durations(equipment, start, end))

    return api


def _bucket_s(t: pa.Table) -> float:
    return int((t.schema.metadata or {})[b"bucket_us"]) / 1e6


def _asset_tree(data: PlantData, who: Principal) -> AssetNode:
    """The hierarchy as far as ``who`` may see it: its part of the plant and the nodes above it
    (without their other branches); signal counts of the signals in its part."""
    assert data.plant is not None
    counts: dict[str, int] = {}
    for s in data.signals():
        if not who.covers(s.path):
            continue
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

    def seen(path: str) -> bool:  # in the caller's part, or on the way to it
        return who.covers(path) or who.scope.startswith(path + "/")

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
                                    node(pe, eq, "equipment", [])
                                    for eq in cell.equipment
                                    for pe in [f"{pc}/{eq.name}"]
                                    if seen(pe)
                                ],
                            )
                            for cell in line.cells
                            for pc in [f"{pl}/{cell.name}"]
                            if seen(pc)
                        ],
                    )
                    for line in area.lines
                    for pl in [f"{pa_}/{line.name}"]
                    if seen(pl)
                ],
            )
            for area in site.areas
            for pa_ in [f"{site.name}/{area.name}"]
            if seen(pa_)
        ],
    )
