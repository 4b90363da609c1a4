"""The app factory: the REST API under /api (one route module per concept in
:mod:`smartfab.web.routes`) and the web app's static files at /. Routes only translate HTTP to
queries of the platform and the apps and back; no business logic lives here. OpenAPI docs are
served at /docs."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Protocol, runtime_checkable

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from smartfab import __version__
from smartfab.apps.maintenance.fleet import FleetAssessor
from smartfab.apps.maintenance.workorders import WorkOrders
from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.platform.dashboards.book import Dashboards
from smartfab.platform.ingest import WriterStats
from smartfab.platform.queries import PlantData, QueryError
from smartfab.platform.security import Security
from smartfab.platform.setpoints import SetpointTarget
from smartfab.virtual.warehouse.live import LiveZones
from smartfab.web import auth, schemas
from smartfab.web.auth import ApiLimits
from smartfab.web.live import LiveFeed
from smartfab.web.routes import (
    alarm_rules,
    alarms,
    commissioning,
    connectors,
    dashboards,
    energy,
    governance,
    live,
    maintenance,
    monitoring,
    plant,
    quality,
    scheduling,
    session,
    setpoints,
    transformation,
    twin,
    users,
    warehouse,
)
from smartfab.web.routes import security as security_log
from smartfab.web.routes.connectors import ConnectorControl
from smartfab.web.routes.plant_edit import PlantEditing
from smartfab.web.schemas import Columns, HistoryOut, columns

STATIC = Path(str(files("smartfab.web") / "static"))


class _Writer(Protocol):
    stats: WriterStats


@runtime_checkable
class _Ingesting(Protocol):
    writer: _Writer


def create_app(
    data: PlantData,
    control: ConnectorControl | None = None,
    *,
    security: Security,
    limits: ApiLimits | None = None,
    models_dir: Path | None = None,
    assessor: FleetAssessor | None = None,
    orders: WorkOrders | None = None,
    insights: Path | None = None,
    addresses: Sequence[tuple[str, str]] = (),
    editor: PlantEditing | None = None,
    warehouses: LiveZones | None = None,
) -> FastAPI:
    """The API over ``data``; ``control`` is the running ingestion, if this process runs one (it
    also tells the live feed when new data were stored, and holds the alarm engine). Every route
    needs a login or an API token of ``security`` and the permission it declares (see
    :mod:`smartfab.web.auth`). ``models_dir``: the maintenance model registry (<data-dir>/models;
    without it, models trained from the store last as long as the process). ``assessor`` and
    ``orders``: the maintenance assessor and work orders, when the periodic assessment shares
    them (one model cache, and orders it raises are the API's). ``insights``: the econ data
    folder of the national insights; ``addresses``: what the settings make smartfab talk to,
    for the sovereignty report (both from the settings, see :class:`smartfab.config.Settings`).
    ``editor``: the plant file's editor (``smartfab.runtime.plant_edit``), when this server's
    plant may be edited from the web app. ``warehouses``: the storage zones' live warehouses,
    when the server shares them with the late-order alarms."""
    app = FastAPI(
        title="smartfab",
        version=__version__,
        description="Plant assets, signals, live values, history, events and production "
        "monitoring of a smartfab plant.",
    )

    @app.exception_handler(QueryError)
    async def _query_error(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse(
            status_code=404 if "unknown" in str(exc) else 422, content={"detail": str(exc)}
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and why, never the value sent: it may be a password (a login with a misspelt
        # field echoed the whole body) or a token, and answers end up in logs and browsers.
        errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    writer = control.writer if isinstance(control, _Ingesting) else None
    engine = getattr(control, "alarms", None)
    engine = engine if isinstance(engine, AlarmEngine) else None
    feed = LiveFeed(data, (lambda: writer.stats.batches) if writer is not None else None)
    app.state.live = feed  # ApiServer.stop ends the streams, which would hold shutdown open

    # Every /api route must declare its permission; one that does not is closed (auth.install).
    # Every time window is bounded before any route works on it (schemas.window_guard).
    api = APIRouter(
        prefix="/api",
        dependencies=[Depends(auth.undeclared_guard), Depends(schemas.window_guard)],
    )
    api.include_router(session.router())
    api.include_router(plant.router(data, editor))
    api.include_router(commissioning.router(data))
    api.include_router(alarm_rules.router(data))
    api.include_router(monitoring.router(data))
    api.include_router(live.router(feed))
    api.include_router(alarms.router(engine))
    api.include_router(connectors.router(control, data))
    api.include_router(setpoints.router(control if isinstance(control, SetpointTarget) else None))
    # Planners change work orders on one page; plans respect their maintenance windows.
    orders = orders if orders is not None else WorkOrders(data.store)
    api.include_router(scheduling.router(data, orders))
    api.include_router(twin.router(data))
    api.include_router(maintenance.router(data, models_dir, engine, orders, assessor))
    api.include_router(energy.router(data))
    api.include_router(
        quality.router(
            data,
            control if isinstance(control, SetpointTarget) else None,
            models_dir / "quality" if models_dir is not None else None,
        )
    )
    api.include_router(users.router())
    api.include_router(security_log.router())
    api.include_router(governance.router(data))
    api.include_router(
        transformation.router(data, models_dir, insights=insights, addresses=addresses)
    )
    api.include_router(warehouse.router(data, warehouses, lambda: feed.closed))
    api.include_router(dashboards.router(data, Dashboards(security.db)))
    app.include_router(api)
    auth.install(app, security, limits or ApiLimits())
    # Last, so that /api and /docs win; html=True serves index.html at /.
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="web")
    return app


__all__ = ["ApiLimits", "Columns", "ConnectorControl", "HistoryOut", "columns", "create_app"]
