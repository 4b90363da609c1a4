"""The plant file edited from the web app: read it, change it (validated as ``plant check``
validates, checked against the live devices, written back with its comments, audited, applied
without a restart), see the edits and undo one. Every change names the revision it was made on;
a change made on an older one is refused (409) with the changes made since.

Engineers edit (``plant.edit``; alarm rules also need ``alarms.rules``), within their part of
the plant: a change to a connection, or anything outside the hierarchy, needs a whole-plant
grant. Viewers read the assets as the file writes them."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from smartfab.errors import SmartfabError
from smartfab.model.edit import (
    Change,
    EditConflict,
    EditError,
    Operation,
    asset_location,
    value_at,
)
from smartfab.platform.queries import PlantData
from smartfab.platform.security.roles import Principal
from smartfab.web.auth import check_target, record_change, require

EDIT = require("plant.edit")
READ = require("plant.read")


class PlantEditing(Protocol):
    """What the API needs of the plant editor (``smartfab.runtime.plant_edit``)."""

    @property
    def name(self) -> str: ...

    def read(self) -> tuple[str, str]: ...

    async def edit(
        self, actor: str, base: str, ops: list[Operation], summary: str, *, devices: bool = True
    ) -> Change: ...

    async def undo(self, actor: str, base: str, seq: int) -> Change: ...

    def history(self, limit: int = 50) -> list[Change]: ...


class EditIn(BaseModel):
    revision: str = Field(description="The revision of the plant file the change was made on")
    ops: list[Operation] = Field(min_length=1, max_length=500)
    summary: str = Field(default="", max_length=300, description="What the change is, for people")
    check_devices: bool = Field(
        default=True,
        description="Check added and changed bindings against the live devices (node exists, "
        "type and unit fit, registers answer)",
    )


class UndoIn(BaseModel):
    revision: str = Field(description="The revision of the plant file the undo is made on")
    seq: int = Field(ge=1, description="The audit entry of the edit to undo")


class ChangeOut(BaseModel):
    seq: int
    ts_us: int
    actor: str
    summary: str
    base: str = Field(description="The revision the change was made on")
    revision: str = Field(description="The revision it made")
    diff: str = Field(description="Unified diff of the plant file")
    undo_of: int | None = None
    undone_by: int | None = None


class FileOut(BaseModel):
    file: str
    revision: str
    text: str


class AssetOut(BaseModel):
    revision: str
    path: str
    data: Any = Field(description="The asset or signal as the plant file writes it")


def edits(api: APIRouter, data: PlantData, editor: PlantEditing | None) -> None:
    """Add the plant file's routes to ``api``."""

    def the_editor() -> PlantEditing:
        if editor is None:
            raise HTTPException(
                409,
                "this server edits no plant file (a read-only server, or the built-in demo plant:"
                " start with --plant and a copy of it to edit it)",
            )
        return editor

    def whole(who: Principal, what: str) -> None:
        if who.scope:
            raise HTTPException(
                403, f"{what} spans the whole plant; your access is limited to {who.scope!r}"
            )

    @api.get("/plant/file", response_model=FileOut, summary="The plant file and its revision")
    def plant_file(who: Annotated[Principal, EDIT]) -> FileOut:
        whole(who, "the plant file")
        e = the_editor()
        text, rev = e.read()
        return FileOut(file=e.name, revision=rev, text=text)

    @api.get(
        "/plant/asset/{path:path}",
        response_model=AssetOut,
        summary="An asset or signal as the plant file writes it, with the file's revision",
        dependencies=[READ],
    )
    def asset(path: str) -> AssetOut:
        text, rev = the_editor().read()
        try:
            found = value_at(text, asset_location(path))
        except SmartfabError:
            raise HTTPException(404, f"unknown asset {path!r}") from None
        return AssetOut(revision=rev, path=path.strip("/"), data=found)

    @api.get("/plant/connections", summary="The plant's connections (without secrets)")
    def connections(who: Annotated[Principal, READ]) -> list[dict[str, Any]]:
        whole(who, "the list of connections")
        if data.plant is None:
            raise HTTPException(404, "this server was started without a plant model")
        return [
            c.model_dump(mode="json", exclude={"password"}, exclude_defaults=False)
            for c in data.plant.connections
        ]

    @api.get("/plant/edits", response_model=list[ChangeOut], summary="The newest edits")
    def history(
        who: Annotated[Principal, EDIT], limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> list[ChangeOut]:
        whole(who, "the history of edits")
        return [ChangeOut(**c.as_json()) for c in the_editor().history(limit)]

    @api.post("/plant/edits", response_model=ChangeOut, summary="Change the plant file")
    async def edit(change: EditIn, request: Request, who: Annotated[Principal, EDIT]) -> ChangeOut:
        for op in change.ops:
            _may(request, who, data, op)
        e = the_editor()
        try:
            done = await e.edit(
                who.actor, change.revision, change.ops, change.summary,
                devices=change.check_devices,
            )  # fmt: skip
        except (EditError, EditConflict) as exc:
            raise _refused(exc) from None
        _record(request, who, done)
        return ChangeOut(**done.as_json())

    @api.post("/plant/undo", response_model=ChangeOut, summary="Undo an edit of the plant file")
    async def undo(change: UndoIn, request: Request, who: Annotated[Principal, EDIT]) -> ChangeOut:
        # An undo may touch anything its edit touched: it needs the whole plant.
        whole(who, "undoing an edit")
        e = the_editor()
        try:
            done = await e.undo(who.actor, change.revision, change.seq)
        except (EditError, EditConflict) as exc:
            raise _refused(exc) from None
        except SmartfabError as exc:
            raise HTTPException(404, str(exc)) from None
        _record(request, who, done)
        return ChangeOut(**done.as_json())


def _may(request: Request, who: Principal, data: PlantData, op: Operation) -> None:
    """403 unless ``who`` may make ``op``: inside its part of the plant (connections and the
    site's own settings need the whole plant), and alarm rules need ``alarms.rules``."""
    steps = [op.at, *([op.to] if op.to else [])]
    if any("alarms" in s for s in steps) and not who.allows("alarms.rules"):
        raise HTTPException(403, f"alarms.rules is not granted to {who.actor}")
    for at in steps:
        path = _asset_path(data, at)
        if path is None:
            if who.scope:
                raise HTTPException(
                    403, f"a change outside the asset tree needs the whole plant; yours is "
                    f"{who.scope!r}",
                )  # fmt: skip
            continue
        check_target(request, who, path)


def _asset_path(data: PlantData, at: list[Any]) -> str | None:
    """The asset a location lies in (site/area/line/cell/equipment/signal), as far as its steps
    name it; None for a location outside the asset tree."""
    if at[0] != "site" or data.plant is None:
        return None
    parts = [data.plant.site.name]
    levels = ("areas", "lines", "cells", "equipment", "signals")
    for i, level in enumerate(levels):
        key, item = 1 + 2 * i, 2 + 2 * i
        if len(at) <= item or at[key] != level or not isinstance(at[item], dict):
            break
        parts.append(str(at[item].get("name", "")))
    if len(parts) == 1 and len(at) > 1 and at[1] not in ("areas", "name", "title"):
        return None  # the site's shifts, SKUs, ...: the whole plant's
    return "/".join(parts)


def _refused(exc: EditError | EditConflict) -> HTTPException:
    if isinstance(exc, EditConflict):
        return HTTPException(409, {
            "code": "plant_changed", "message": str(exc), "params": {},
            "current": exc.current, "changes": [c.as_json() for c in exc.changes],
        })  # fmt: skip
    return HTTPException(422, {
        "code": "invalid_edit", "message": str(exc), "params": {},
        "issues": [i.as_json() for i in exc.issues],
    })  # fmt: skip


def _record(request: Request, who: Principal, done: Change) -> None:
    # The editor wrote the audit entry (with the diff and the inverse); this logs the event.
    action = "plant.undo" if done.undo_of else "plant.edit"
    record_change(request, who, action, f"plant#{done.seq}", None, None, audited=True)
