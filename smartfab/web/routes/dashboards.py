"""Dashboards over HTTP: the caller's own and those shared with them, the default dashboard of
each line, and saving, sharing and deleting (:mod:`smartfab.platform.dashboards`).

Every role may keep dashboards of its own (``plant.read``); sharing one, and changing a shared
one, needs ``dashboards.share`` (engineers). A dashboard is answered without what lies outside
the caller's part of the plant; the data of its panels come from the routes that answer them
(history, latest, OEE, ...), which check the caller's part of the plant again. An import is a
``POST`` of an exported document: one of another version, or with a panel of an unknown type,
is refused with the error on its field and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from smartfab.errors import SmartfabError
from smartfab.platform.dashboards.book import Dashboards, Sharing, Stored, may_change
from smartfab.platform.dashboards.defaults import line_dashboard
from smartfab.platform.dashboards.paths import DashboardError, PlantIndex, check, narrowed
from smartfab.platform.dashboards.schema import Dashboard
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal, Role, check_scope
from smartfab.web.auth import record_change, require


class SharingIo(BaseModel):
    role: Role = Field(description="The least role that sees it")
    scope: str = Field(
        default="", max_length=400, description="The part of the plant; empty: the whole plant"
    )

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: str) -> str:
        try:
            return check_scope(v)
        except SmartfabError as exc:
            raise ValueError(str(exc)) from None


class Change(BaseModel):
    revision: int = Field(ge=1, description="The revision the change was made on")
    document: Dashboard


class ShareChange(BaseModel):
    revision: int = Field(ge=1)
    sharing: SharingIo | None = Field(description="null: back to being its owner's own")


class DashboardOut(BaseModel):
    id: str | None = Field(description="None for a line's default dashboard")
    line: str | None = Field(default=None, description="The line of a default dashboard")
    owner: str
    mine: bool
    sharing: SharingIo | None
    revision: int
    updated: str | None
    updated_by: str
    editable: bool = Field(description="The caller may save changes to it")
    shareable: bool = Field(description="The caller may share or unshare it")
    hidden: int = Field(description="Signals and assets left out: outside the caller's part")
    document: Dashboard


class Summary(BaseModel):
    id: str
    title: str
    owner: str
    mine: bool
    sharing: SharingIo | None
    panels: int
    updated: str


class LineOut(BaseModel):
    path: str
    title: str


class DashboardList(BaseModel):
    dashboards: list[Summary]
    lines: list[LineOut] = Field(description="Lines with a default dashboard, in the caller's part")


# Module level, where FastAPI resolves the annotations of the routes.
READ = require("plant.read")
SHARE = require("dashboards.share")
T = TypeVar("T")


def router(data: PlantData, book: Dashboards) -> APIRouter:
    api = APIRouter(tags=["dashboards"])
    cache: list[tuple[object, PlantIndex]] = []

    def index() -> PlantIndex:
        if data.plant is None:
            raise HTTPException(404, "this server was started without a plant model")
        if not cache or cache[0][0] is not data.plant:  # the plant file may change at run time
            cache[:] = [(data.plant, PlantIndex.of(data.plant))]
        return cache[0][1]

    def out(who: Principal, d: Stored) -> DashboardOut:
        doc, hidden = narrowed(d.document, index(), who)
        return DashboardOut(
            id=d.id,
            owner=d.owner,
            mine=d.owner == who.actor,
            sharing=_sharing(d.sharing),
            revision=d.revision,
            updated=_iso(d.updated_us),
            updated_by=d.updated_by,
            editable=may_change(who, d) and not hidden,
            shareable=may_change(who, d) and who.allows("dashboards.share") and not hidden,
            hidden=hidden,
            document=doc,
        )

    @api.get(
        "/dashboards",
        response_model=DashboardList,
        summary="The caller's dashboards, those shared with them and the lines' defaults",
    )
    def listed(who: Annotated[Principal, READ]) -> DashboardList:
        plant = index()
        titles = (
            {
                f"{data.plant.site.name}/{a.name}/{li.name}": li.title or li.name
                for a in data.plant.site.areas
                for li in a.lines
            }
            if data.plant
            else {}
        )
        return DashboardList(
            dashboards=[
                Summary(
                    id=d.id,
                    title=d.document.title,
                    owner=d.owner,
                    mine=d.owner == who.actor,
                    sharing=_sharing(d.sharing),
                    panels=len(narrowed(d.document, plant, who)[0].panels),
                    updated=_iso(d.updated_us),
                )
                for d in book.visible(who)
            ],
            lines=[LineOut(path=p, title=titles[p]) for p in plant.lines if who.covers(p)],
        )

    @api.post(
        "/dashboards",
        response_model=DashboardOut,
        status_code=201,
        summary="Save a new dashboard of one's own (also: import an exported one)",
        responses={
            403: {"description": "It names an asset outside the caller's part"},
            422: {"description": "Each error on its field; nothing is saved"},
        },
    )
    def create(body: Dashboard, request: Request, who: Annotated[Principal, READ]) -> DashboardOut:
        _checked(lambda: check(body, index(), who), ("body",))
        d = book.create(who, body)
        record_change(
            request, who, "dashboard.create", f"dashboard:{d.id}", None, None, audited=True
        )
        return out(who, d)

    @api.get(
        "/dashboards/line/{path:path}",
        response_model=DashboardOut,
        summary="The default dashboard of a line, from the plant model",
    )
    def default(path: str, who: Annotated[Principal, READ]) -> DashboardOut:
        plant = index()
        assert data.plant is not None
        doc = _checked(lambda: line_dashboard(data.plant, path.strip("/")), ())  # type: ignore[arg-type]
        shown, hidden = narrowed(doc, plant, who)
        return DashboardOut(
            id=None,
            line=path.strip("/"),
            owner="",
            mine=False,
            sharing=None,
            revision=0,
            updated=None,
            updated_by="",
            editable=False,
            shareable=False,
            hidden=hidden,
            document=shown,
        )

    @api.get("/dashboards/{dashboard_id}", response_model=DashboardOut, summary="A dashboard")
    def one(dashboard_id: str, who: Annotated[Principal, READ]) -> DashboardOut:
        return out(who, _checked(lambda: book.get(who, dashboard_id), ()))

    @api.put(
        "/dashboards/{dashboard_id}",
        response_model=DashboardOut,
        summary="Save changes to a dashboard",
        responses={409: {"description": "Somebody saved it since the revision named"}},
    )
    def change(
        dashboard_id: str, body: Change, request: Request, who: Annotated[Principal, READ]
    ) -> DashboardOut:
        d = _checked(lambda: book.get(who, dashboard_id), ())
        scope = d.sharing.scope if d.sharing else None
        _checked(lambda: check(body.document, index(), who, scope), ("body", "document"))
        d = _checked(lambda: book.replace(who, dashboard_id, body.revision, body.document), ())
        record_change(
            request, who, "dashboard.change", f"dashboard:{d.id}", None, None, audited=True
        )
        return out(who, d)

    @api.put(
        "/dashboards/{dashboard_id}/sharing",
        response_model=DashboardOut,
        summary="Share a dashboard with a role and a part of the plant, or unshare it",
    )
    def share(
        dashboard_id: str, body: ShareChange, request: Request, who: Annotated[Principal, SHARE]
    ) -> DashboardOut:
        d = _checked(lambda: book.get(who, dashboard_id), ())
        sharing = Sharing(body.sharing.role, body.sharing.scope) if body.sharing else None
        if sharing is not None:
            scope = sharing.scope
            _checked(lambda: check(d.document, index(), who, scope), ("body", "document"))
        d = _checked(lambda: book.share(who, dashboard_id, body.revision, sharing), ())
        record_change(
            request, who, "dashboard.share", f"dashboard:{d.id}", None, None, audited=True
        )
        return out(who, d)

    @api.delete("/dashboards/{dashboard_id}", status_code=204, summary="Delete a dashboard")
    def delete(
        dashboard_id: str,
        request: Request,
        who: Annotated[Principal, READ],
        revision: Annotated[int, Query(ge=1, description="The revision it is deleted at")],
    ) -> Response:
        _checked(lambda: book.delete(who, dashboard_id, revision), ())
        record_change(
            request, who, "dashboard.delete", f"dashboard:{dashboard_id}", None, None, audited=True
        )
        return Response(status_code=204)

    return api


def _checked(action: Callable[[], T], at: tuple[str, ...]) -> T:
    """``action``'s result; its :class:`DashboardError` as the HTTP error it says, each field
    error located in the request (``at``: where the document lies in it)."""
    try:
        return action()
    except DashboardError as exc:
        if exc.errors:
            detail = [{**e, "loc": [*at, *e["loc"]]} for e in exc.errors]
            raise HTTPException(exc.status, detail) from None
        raise HTTPException(exc.status, str(exc)) from None


def _sharing(s: Sharing | None) -> SharingIo | None:
    return SharingIo(role=s.role, scope=s.scope) if s else None


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()
