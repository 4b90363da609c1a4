"""Plant assets, the signal catalogue, latest values, history, events and state durations: HTTP
translated to ``PlantData`` queries and back."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from smartfab import __version__
from smartfab.model.plant import Signal, ValueKind, value_kind
from smartfab.platform.queries import PlantData, TimeRange
from smartfab.platform.security.roles import Principal
from smartfab.platform.store.base import SignalInfo
from smartfab.web.auth import require
from smartfab.web.schemas import (
    MAX_SPAN,
    Columns,
    End,
    HistoryForm,
    HistoryOut,
    Start,
    WithUnit,
    columns,
    epoch_us,
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


def router(data: PlantData) -> APIRouter:
    api = APIRouter(tags=["plant"])
    read, read_scoped = READ, require("plant.read", scoped=True)
    values = Values(data)

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
                description=f"Raw points or changes at most (default {RAW_LIMIT:,}); arrays: "
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


RAW_LIMIT = 100_000  # raw points or changes of one answer, unless the request says
PROFILES = 500  # array points of one answer, unless the request says
MAX_ELEMENTS = 2_000_000  # numbers in one answer of profiles (about 20 MB of JSON)
CHANGES_READ = 2_000_000  # raw points read to find the changes of one answer
_CHUNK = 100_000  # raw array points read at once while sampling
_MINUTE_US = 60_000_000
# How far back the value in force at a range's start is looked for: the longest range.
_LOOKBACK_US = int(MAX_SPAN.total_seconds() * 1e6)


class Values:
    """Signal values as the API shows them: numbers, texts and arrays side by side, an enum's
    codes with their names (from the plant model)."""

    def __init__(self, data: PlantData) -> None:
        self.data = data
        self.model: dict[str, Signal] = (
            {r.path: r.signal for r in data.plant.iter_signals()} if data.plant else {}
        )

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

    # --- latest ------------------------------------------------------------------------------
    def latest(self, paths: list[str] | None, under: str | None) -> Columns:
        if paths is not None:
            infos = [self.data.signal(p) for p in paths]
        else:
            infos = self.data.signals(under)
        kinds = {value_kind(s.data_type) for s in infos}
        # Numbers as ever (all of them in one read when the whole plant is asked for).
        number = self.data.latest(paths, under)
        cols = columns(number)
        cols["kind"] = ["number"] * number.num_rows
        parts = [cols]
        by_id = {s.id: s for s in infos}
        for kind in ("text", "array"):
            if kind not in kinds:
                continue
            ids = [s.id for s in infos if value_kind(s.data_type) == kind]
            t = self.data.store.latest(ids, kind=kind)
            got = columns(t)
            got["path"] = [by_id[i].path for i in got["signal_id"]]
            got["unit"] = [by_id[i].unit for i in got["signal_id"]]
            got["kind"] = [kind] * t.num_rows
            parts.append(got)
        keys = list(cols)
        merged = {k: [v for p in parts for v in p[k]] for k in keys}
        order = sorted(range(len(merged["signal_id"])), key=merged["signal_id"].__getitem__)
        out = {k: [v[i] for i in order] for k, v in merged.items()}
        out["value_name"] = [
            self.name_of(p, v) for p, v in zip(out["path"], out["value"], strict=True)
        ]
        return Columns(rows=len(order), columns=out)

    # --- history -----------------------------------------------------------------------------
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
        bucket_s, truncated, stride = None, False, None
        form: HistoryForm
        if kind == "array":
            length: int = about["length"] or 1
            cap = min(buckets or limit or PROFILES, max(1, MAX_ELEMENTS // length))
            t, stride = self._profiles(info, start, end, cap)
            form = "profiles"
        elif kind == "text" or changes:
            if buckets is not None:
                what = "a text signal's history" if kind == "text" else "changes=true asks for"
                raise HTTPException(
                    422, f"{path}: {what} the changes of the value, which have no buckets"
                )
            t, truncated = self._changes(info, kind, start, end, limit or RAW_LIMIT)
            form = "changes"
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
            stride=stride,
            rows=t.num_rows,
            columns=cols,
            truncated=truncated,
        )

    def _changes(
        self, info: SignalInfo, kind: ValueKind, start: datetime | None, end: datetime | None,
        limit: int,
    ) -> tuple[pa.Table, bool]:  # fmt: skip
        """The value in force at the range's start (the last point before it, unless a point
        lies at the start) and the points of the range whose value or quality differs from the
        point before, at most ``limit``; and whether the answer was cut."""
        r = TimeRange.of(start, end)
        t = self.data.store.raw([info.id], r.start_us, r.end_us, CHANGES_READ, kind=kind)
        t = t.select(["ts", "value", "quality"])
        if t.num_rows == 0 or epoch_us(t.column("ts"))[0] > r.start_us:
            t = pa.concat_tables([self._in_force(info.id, kind, r.start_us), t])
        found = t.filter(pa.array(_changed(t)))
        return found.slice(0, limit), found.num_rows > limit or t.num_rows >= CHANGES_READ

    def _in_force(self, signal_id: int, kind: ValueKind, at: int) -> pa.Table:
        """The last point before ``at`` (no row if there is none within _LOOKBACK_US), looked
        for in windows that reach back from ``at``, a minute first, each 16 times the one
        before."""
        hi, width = at, _MINUTE_US
        while True:
            lo = max(0, hi - width)
            last = self._last(signal_id, kind, lo, hi)
            if last.num_rows or lo == 0 or at - lo >= _LOOKBACK_US:
                return last
            hi, width = lo, width * 16

    def _last(self, signal_id: int, kind: ValueKind, lo: int, hi: int) -> pa.Table:
        """The last point in [lo, hi) (no row if there is none), read CHANGES_READ at a time."""
        last = None
        while True:
            t = self.data.store.raw([signal_id], lo, hi, CHANGES_READ, kind=kind)
            t = t.select(["ts", "value", "quality"])
            if t.num_rows or last is None:
                last = t.slice(max(0, t.num_rows - 1))
            if t.num_rows < CHANGES_READ:
                return last
            lo = int(epoch_us(t.column("ts"))[-1]) + 1

    def _profiles(
        self, info: SignalInfo, start: datetime | None, end: datetime | None, cap: int
    ) -> tuple[pa.Table, int]:
        """The array points of the range, every stride-th so that at most ``cap`` remain; and
        the stride."""
        r = TimeRange.of(start, end)
        store = self.data.store
        n = store.count_points([info.id], r.start_us, r.end_us)
        stride = max(1, -(-n // cap))
        parts, seen, at = [], 0, r.start_us
        while at < r.end_us:  # in chunks, so that memory stays bounded however long the range
            t = store.raw([info.id], at, r.end_us, _CHUNK, kind="array")
            if t.num_rows == 0:
                break
            first = (-seen) % stride  # the chunk's first row whose overall index is a multiple
            parts.append(t.take(pa.array(np.arange(first, t.num_rows, stride))))
            seen += t.num_rows
            if t.num_rows < _CHUNK:
                break
            at = t["ts"][-1].cast(pa.int64()).as_py() + 1
        empty = pa.table({"ts": [], "value": [], "quality": []})
        out = pa.concat_tables(parts) if parts else empty
        return out.select(["ts", "value", "quality"]), stride


def _changed(t: pa.Table) -> npt.NDArray[np.bool_]:
    """Which rows differ in value or quality from the row before (the first row always)."""
    v = np.asarray(t["value"].to_numpy(zero_copy_only=False))
    q = np.asarray(t["quality"].to_numpy())
    keep = np.ones(len(v), np.bool_)
    if len(v) > 1:
        same = v[1:] == v[:-1]
        if v.dtype.kind == "f":  # a BAD number is NaN: two in a row are no change
            same |= np.isnan(v[1:]) & np.isnan(v[:-1])
        keep[1:] = ~(same & (q[1:] == q[:-1]))
    return keep


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
