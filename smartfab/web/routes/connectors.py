"""Connector status, outages (gaps) and run-time changes, through the running ingestion (absent
when a store is served read-only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from smartfab.devices.connector import ConnectorStatus
from smartfab.errors import SmartfabError
from smartfab.model.plant import Plant
from smartfab.platform.points import EventKind
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import record_change, require
from smartfab.web.schemas import Columns, End, Start, table_out


class ConnectorControl(Protocol):
    """What the API needs from the running ingestion (absent when serving a store read-only)."""

    @property
    def plant(self) -> Plant: ...

    def connector_status(self) -> list[ConnectorStatus]: ...

    def overrides(self, name: str) -> dict[str, Any]: ...

    async def configure_connector(self, name: str, changes: dict[str, Any]) -> ConnectorStatus: ...


class ConnectorChange(BaseModel):
    """Settings of a connector that can be changed at run time; they survive a restart."""

    enabled: bool | None = None
    endpoint: str | None = Field(default=None, description="OPC UA endpoint URL")
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    poll_ms: int | None = Field(default=None, ge=10)
    publishing_interval_ms: int | None = Field(default=None, ge=10)


# Module level, where FastAPI resolves the annotations of the routes.
READ = require("plant.read")


def router(control: ConnectorControl | None, data: PlantData) -> APIRouter:
    api = APIRouter(tags=["connectors"])

    def visible(who: Principal) -> list[ConnectorStatus]:
        if control is None:
            return []
        if not who.scope:
            return control.connector_status()
        # A user limited to part of the plant sees the connectors that feed that part.
        feeding = {
            ref.signal.source.connection
            for ref in control.plant.iter_signals()
            if who.covers(ref.path)
        }
        return [s for s in control.connector_status() if s.name in feeding]

    @api.get(
        "/connectors",
        summary="Status of each connector, with the settings that can be changed at run time",
    )
    def connectors(who: Annotated[Principal, READ]) -> list[dict[str, Any]]:
        return [{**asdict(s), "settings": settings(control, s.name)} for s in visible(who)]

    @api.get(
        "/connectors/{name}/gaps",
        response_model=Columns,
        summary="Outages of a connector (gap events): when, how long, what was lost and why",
    )
    def gaps(
        name: str,
        who: Annotated[Principal, READ],
        start: Start = None,
        end: End = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Columns:
        if all(s.name != name for s in visible(who)):
            raise HTTPException(404, f"unknown connector {name!r}")
        found = data.events(start, end, f"connector:{name}", [EventKind.GAP], limit)
        return table_out(found, truncated=found.num_rows >= limit)

    @api.patch("/connectors/{name}", summary="Change a connector; the change survives restarts")
    async def configure(
        name: str,
        change: ConnectorChange,
        request: Request,
        who: Annotated[Principal, require("connectors.configure")],
    ) -> dict[str, Any]:
        if control is None:
            raise HTTPException(409, "no connectors run in this process (read-only server)")
        before = next((asdict(s) for s in control.connector_status() if s.name == name), None)
        wanted = change.model_dump(exclude_none=True)
        try:
            status = await control.configure_connector(name, wanted)
        except KeyError:
            raise HTTPException(404, f"unknown connector {name!r}") from None
        except SmartfabError as exc:  # a change the connection's schema refuses
            raise HTTPException(422, str(exc)) from None
        after = asdict(status)
        record_change(
            request, who, "connector.configure", f"connector:{name}",
            {"status": _settings(before)}, {"status": _settings(after), "change": wanted},
        )  # fmt: skip
        return after

    return api


def settings(control: ConnectorControl | None, name: str) -> dict[str, Any]:
    """The settings of ``name`` that :class:`ConnectorChange` can change, as in force: the plant
    file's, with the changes made at run time over them."""
    if control is None:
        return {}
    conn = control.plant.connection(name).model_dump()
    changed = control.overrides(name)
    fields = ConnectorChange.model_fields
    return {
        "enabled": bool(changed.get("enabled", True)),
        **{k: changed.get(k, conn[k]) for k in fields if k != "enabled" and k in conn},
    }


def _settings(status: dict[str, Any] | None) -> dict[str, Any] | None:
    # The audit keeps what a person changes, not the counters that move every second.
    kept = ("name", "protocol", "endpoint", "state")
    return None if status is None else {k: status[k] for k in kept}
