"""Warehousing over HTTP: each storage zone's layout from the plant model, its live state from the
virtual warehouse (:mod:`smartfab.virtual.warehouse.live`: AGVs, rack occupancy, cranes, sorter,
orders with their ETA, OTIF and the logistics KPIs) and its movements as a GS1 EPCIS 2.0 document.

A zone is named by its path, ``site/area/zone``, so that a grant limited to part of the plant
reaches the zones inside it only. The live simulation of a zone starts on its first look (a few
seconds) and advances with the wall clock while it is looked at; an engineer may start it over
with another seed, speed or the baseline policies, and pause and resume an AGV: the fleet
manager sends it a VDA 5050 ``startPause`` or ``stopPause`` instant action over the fleet's
broker (the server's bridge, :mod:`smartfab.runtime.vda5050`), the AGV acts on it, and its state
says so (the AGV's ``paused`` in the live state, once the fleet side has read it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from smartfab.apps.warehouse import tracking
from smartfab.model.plant import StorageZone
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.virtual.warehouse.live import LiveWarehouse, LiveZones, VdaOffline
from smartfab.virtual.warehouse.sim import VirtualWarehouseError
from smartfab.web.auth import record_change, require

STREAM_S = 1.0  # a state a second: the AGVs move a cell a second at their speed
READ = require("warehouse.read")
OPERATE = require("warehouse.operate")


class RestartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    optimised: bool = Field(default=True, description="Slotting, batching and dual cycles")
    speed: float = Field(
        default=1.0, gt=0, le=3600, description="Simulated seconds a second (1: the plant's clock)"
    )


def router(
    data: PlantData,
    live: LiveZones | None = None,
    closing: Callable[[], bool] = lambda: False,
) -> APIRouter:
    """``live``: the zones' live warehouses, when the server shares them (with the late-order
    alarms); else the routes keep their own. ``closing``: the server is stopping, and the
    streams end."""
    api = APIRouter(prefix="/warehouse", tags=["warehouse"])
    running = live if live is not None else LiveZones(lambda: data.plant)

    def zones() -> dict[str, StorageZone]:
        if data.plant is None:
            raise HTTPException(409, "this server was started without a plant model")
        site = data.plant.site.name
        return {f"{site}/{a.name}/{z.name}": z for a, z in data.plant.iter_zones()}

    def zone_at(path: str) -> StorageZone:
        found = zones().get(path)
        if found is None:
            known = sorted(zones())
            raise HTTPException(404, f"no storage zone {_shown(path)}: known are {known}")
        return found

    def live_of(path: str, **options: Any) -> LiveWarehouse:
        zone_at(path)
        try:
            return running.get(path, **options)
        except VirtualWarehouseError as exc:
            raise HTTPException(409, str(exc)) from None

    @api.get("/zones", summary="The storage zones the caller may see")
    def list_zones(who: Annotated[Principal, READ]) -> list[dict[str, Any]]:
        return [
            {
                "path": p,
                "name": z.name,
                "title": z.title,
                "agvs": len(z.fleet.agvs) if z.fleet else 0,
            }
            for p, z in zones().items()
            if who.covers(p)
        ]

    @api.get("/layout/{path:path}", summary="A storage zone's floor and units")
    def layout(path: str, _: Annotated[Principal, READ]) -> dict[str, Any]:
        """The floor (grid rows of MovingAI characters or graph nodes and edges, the cell side in
        metres) and everything standing on it with its cell: racks, AS/RS aisles with their
        cranes, goods-to-person stations, sorters with their chutes, conveyors, docks, chargers
        and the AGVs' parking cells."""
        z = zone_at(path)
        fleet = z.fleet
        return {
            "path": path,
            "name": z.name,
            "title": z.title,
            "floor": z.floor.model_dump(mode="json"),
            "racks": [r.model_dump(mode="json") for r in z.racks],
            "asrs": [
                {**a.model_dump(mode="json", exclude={"crane"}), "crane": a.crane.name}
                for a in z.asrs
            ],
            "gtp_stations": [g.model_dump(mode="json") for g in z.gtp_stations],
            "sorters": [s.model_dump(mode="json", exclude={"equipment"}) for s in z.sorters],
            "conveyors": [c.model_dump(mode="json") for c in z.conveyors],
            "docks": [d.model_dump(mode="json") for d in z.docks],
            "chargers": [c.model_dump(mode="json") for c in fleet.chargers] if fleet else [],
            "agvs": [{"name": a.name, "serial": a.serial, "at": list(a.at)} for a in fleet.agvs]
            if fleet
            else [],
        }

    @api.get("/state/{path:path}", summary="A storage zone's live state")
    def state(path: str, _: Annotated[Principal, READ]) -> dict[str, Any]:
        """The virtual warehouse now: AGVs (cell, battery share, state: idle, moving, loaded,
        charging, broken), each unit's occupancy ([level][bay], the share of its locations
        holding a load), cranes and sorter chutes, the orders (open first) with status, due time
        and ETA, and the KPIs (OTIF, dock-to-stock minutes, inventory accuracy, travel metres per
        order line, utilisations)."""
        return live_of(path).snapshot()

    @api.get(
        "/live/{path:path}",
        response_class=StreamingResponse,
        summary="A storage zone's live state (server-sent events)",
        description=(
            "A `text/event-stream` of `state` events, each the JSON of `GET /warehouse/state`,"
            " one a second while the stream is open (the first once the zone's simulation has"
            " started, a few seconds on its first look); an `unavailable` event with `detail`"
            " when it cannot be simulated."
        ),
    )
    async def stream(path: str, _: Annotated[Principal, READ]) -> StreamingResponse:
        zone_at(path)  # 404 before the stream opens

        async def events() -> AsyncGenerator[str, None]:
            while not closing():
                try:
                    snap = await asyncio.to_thread(lambda: live_of(path).snapshot())
                except HTTPException as exc:
                    yield f"event: unavailable\ndata: {json.dumps({'detail': exc.detail})}\n\n"
                    return
                yield f"event: state\ndata: {json.dumps(snap, separators=(',', ':'))}\n\n"
                await asyncio.sleep(STREAM_S)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            # Proxies must pass each event on at once rather than buffer the stream.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @api.post("/restart/{path:path}", summary="Start a zone's live simulation over")
    def restart(path: str, body: RestartIn, _: Annotated[Principal, OPERATE]) -> dict[str, Any]:
        return live_of(path, **body.model_dump()).snapshot()

    def pause(
        request: Request, who: Principal, path: str, serial: str, paused: bool
    ) -> dict[str, Any]:
        zone = zone_at(path)
        serials = sorted(a.serial for a in zone.fleet.agvs) if zone.fleet else []
        if serial not in serials:
            raise HTTPException(404, f"no AGV {_shown(serial)} in {path}: known are {serials}")
        kind = "startPause" if paused else "stopPause"
        try:
            sent = live_of(path).instant_action(serial, kind)
        except VdaOffline as exc:
            raise HTTPException(409, str(exc)) from None
        action = "warehouse.agv.pause" if paused else "warehouse.agv.resume"
        record_change(request, who, action, f"agv:{path}/{serial}", None, sent["actions"][0])
        return {"serial": serial, "instantActions": sent}

    @api.post(
        "/{path:path}/agvs/{serial}/pause",
        status_code=202,
        summary="Pause an AGV (a VDA 5050 startPause instant action)",
    )
    def pause_agv(
        path: str, serial: str, request: Request, who: Annotated[Principal, OPERATE]
    ) -> dict[str, Any]:
        """The fleet manager sends the AGV a ``startPause`` instant action over the fleet's
        broker: it stops where it stands, keeping its task, until resumed; its state says
        ``paused`` (the live state's AGV, a round later). 409 when no bridge is connected to
        the broker; the answer is the ``instantActions`` message sent."""
        return pause(request, who, path, serial, True)

    @api.post(
        "/{path:path}/agvs/{serial}/resume",
        status_code=202,
        summary="Resume a paused AGV (a VDA 5050 stopPause instant action)",
    )
    def resume_agv(
        path: str, serial: str, request: Request, who: Annotated[Principal, OPERATE]
    ) -> dict[str, Any]:
        """As ``pause``, with a ``stopPause`` instant action: the AGV goes on with its task."""
        return pause(request, who, path, serial, False)

    @api.get("/epcis/{path:path}", summary="A storage zone's movements as an EPCIS document")
    def epcis(path: str, _: Annotated[Principal, READ]) -> dict[str, Any]:
        """The live simulation's movements of goods so far (the latest ``MAX_EPCIS_EVENTS``) as
        a GS1 EPCIS 2.0 EPCISDocument in JSON-LD, checked against the standard's schema."""
        return tracking.epcis_document(live_of(path).epcis_events())

    return api


def _shown(text: str, at_most: int = 80) -> str:
    """Quoted, and cut short: an answer does not echo whatever length a caller sent."""
    return repr(text if len(text) <= at_most else text[:at_most] + "…")
