"""Plant assets, the signal catalogue, latest values, history, events and state durations: HTTP
translated to ``PlantData`` queries and back."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from smartfab import __version__
from smartfab.model.plant import Signal, ValueKind, value_kind
from smartfab.platform.queries import CHANGES_LIMIT, PROFILES, PlantData
from smartfab.platform.security.roles import Principal
from smartfab.platform.store.base import SignalInfo
from smartfab.web.auth import require
from smartfab.web.routes.plant_edit import PlantEditing, edits
from smartfab.web.schemas import (
    Columns,
    End,
    HistoryForm,
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


class ValueType(BaseModel):
    """What one value of a signal is."""

    data_type: str = Field(description="float, int, bool, enum, string or array")
    kind: ValueKind = Field(description="How its values are stored: number, text or array")
    values: dict[int, str] | None = Field(
        default=None, description="Enum: the name of each code (the value is the code)"
    )
    length: int | None = Field(
        default=None, description="Array: its number of elements; string: its most characters"
    )


class SignalOut(WithUnit, ValueType):
    path: str
    id: int
    equipment: str
    name: str
    role: str
    low: float | None
    high: float | None
    source: str


class EquipmentSignal(WithUnit, ValueType):
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


def router(data: PlantData, editor: PlantEditing | None = None) -> APIRouter:
    api = APIRouter(tags=["plant"])
    read, read_scoped = READ, require("plant.read", scoped=True)
    values = Values(data)
    edits(api, data, editor)

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
                    data_type=s.type,
                    kind=s.kind,
                    values=s.values,
                    length=s.length,
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
        return [SignalOut(**(asdict(s) | values.type_of(s))) for s in data.signals(under)]

    @api.get(
        "/latest",
        response_model=Columns,
        summary="Newest value of each signal",
        description=(
            "Columns ts, signal_id, value, quality, path, unit, kind, value_name. `value` is a "
            "number, a text or a list of numbers as `kind` (number, text, array) says; "
            "`value_name` is an enum's name of its value, null for every other signal."
        ),
        dependencies=[read_scoped],
    )
    def latest(
        signal: Annotated[list[str] | None, Query(description="Signal paths (repeatable)")] = None,
        under: Annotated[str | None, Query(description="Asset path prefix")] = None,
    ) -> Columns:
        return values.latest(signal, under)

    @api.get(
        "/history",
        response_model=HistoryOut,
        summary="History of one signal",
        description=(
            "Numbers: raw points, or about `buckets` time buckets, or (`changes=true`) the "
            "changes of the value; text signals: the changes of the value; array signals: the "
            "points evenly sampled to at most `limit` (or `buckets`). `form` in the answer says "
            "which; see HistoryOut."
        ),
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
                description="Downsample to about this many buckets (arrays: profiles); omit "
                "for raw points",
            ),
        ] = None,
        limit: Annotated[
            int | None,
            Query(
                ge=1,
                le=1_000_000,
                description=f"Raw points (default {RAW_LIMIT:,}) or changes (default "
                f"{CHANGES_LIMIT:,}) at most; arrays: "
                f"profiles at most (default {PROFILES:,}, fewer when {MAX_ELEMENTS:,} numbers "
                "would not hold them)",
            ),
        ] = None,
        changes: Annotated[
            bool,
            Query(description="Numbers: each change of the value instead of every point"),
        ] = False,
    ) -> HistoryOut:
        return values.history(signal, start, end, buckets, limit, changes)

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


RAW_LIMIT = 100_000  # raw points of one answer, unless the request says
MAX_ELEMENTS = 2_000_000  # numbers in one answer of profiles (about 20 MB of JSON)


class Values:
    """Signal values as the API shows them: numbers, texts and arrays side by side, an enum's
    codes with their names (from the plant model)."""

    def __init__(self, data: PlantData) -> None:
        self.data = data
        self._model: tuple[object, dict[str, Signal]] = (None, {})

    @property
    def model(self) -> dict[str, Signal]:
        """The plant's signals by path, of the plant as it is now (an edit replaces it)."""
        plant = self.data.plant
        if self._model[0] is not plant:
            self._model = (plant, {r.path: r.signal for r in plant.iter_signals()} if plant else {})
        return self._model[1]

    def type_of(self, s: SignalInfo) -> dict[str, Any]:
        m = self.model.get(s.path)
        return {
            "kind": value_kind(s.data_type),
            "values": m.values if m is not None else None,
            "length": m.length if m is not None else s.length,
        }

    def name_of(self, path: str, value: Any) -> str | None:
        """The name of an enum signal's value (None for other signals, and unnamed codes)."""
        m = self.model.get(path)
        if m is None or m.values is None or not isinstance(value, int | float):
            return None
        return m.values.get(int(value))

    def latest(self, paths: list[str] | None, under: str | None) -> Columns:
        """The newest value of each signal, of every kind in one table ordered by signal id:
        the columns of ``PlantData.latest`` and ``kind``, ``value_name``."""
        parts = []
        for kind, table in self.data.latest_by_kind(paths, under).items():
            cols = columns(table)
            cols["kind"] = [kind] * table.num_rows
            parts.append(cols)
        if not parts:
            parts = [columns(self.data.latest(paths, under)) | {"kind": []}]
        merged = {k: [v for p in parts for v in p[k]] for k in parts[0]}
        order = sorted(range(len(merged["signal_id"])), key=merged["signal_id"].__getitem__)
        out = {k: [v[i] for i in order] for k, v in merged.items()}
        out["value_name"] = [
            self.name_of(p, v) for p, v in zip(out["path"], out["value"], strict=True)
        ]
        return Columns(rows=len(order), columns=out)

    def history(
        self,
        path: str,
        start: datetime | None,
        end: datetime | None,
        buckets: int | None,
        limit: int | None,
        changes: bool,
    ) -> HistoryOut:
        info = self.data.signal(path)
        kind = value_kind(info.data_type)
        about: dict[str, Any] = self.type_of(info)
        about |= {"signal": path, "unit": info.unit, "data_type": info.data_type}
        bucket_s, truncated, in_range = None, False, None
        form: HistoryForm
        if kind == "array":
            if changes:
                raise HTTPException(
                    422,
                    f"{path}: an array signal's history is its profiles, not changes; "
                    "leave out changes=true",
                )
            cap = min(buckets or limit or PROFILES, max(1, MAX_ELEMENTS // (about["length"] or 1)))
            t = self.data.profiles(path, start, end, cap)
            in_range, form = int(t.schema.metadata[b"in_range"]), "profiles"
        elif kind == "text" or changes:
            if buckets is not None:
                what = "a text signal's history is" if kind == "text" else "changes=true asks for"
                raise HTTPException(
                    422,
                    f"{path}: {what} the changes of its value, which have no buckets; "
                    "leave out buckets",
                )
            t = self.data.changes(path, start, end, limit or CHANGES_LIMIT)
            truncated, form = t.schema.metadata[b"truncated"] == b"true", "changes"
        elif buckets is None:
            lim = limit or RAW_LIMIT
            t = self.data.raw([path], start, end, lim).select(["ts", "value", "quality"])
            truncated, form = t.num_rows >= lim, "raw"
        else:
            t = self.data.history(path, start, end, buckets)
            bucket_s, form = _bucket_s(t), "buckets"
        cols = columns(t)
        if about["values"] is not None and form != "buckets":
            cols["value_name"] = [self.name_of(path, v) for v in cols["value"]]
        return HistoryOut(
            **about,
            form=form,
            bucket_s=bucket_s,
            in_range=in_range,
            rows=t.num_rows,
            columns=cols,
            truncated=truncated,
        )


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
