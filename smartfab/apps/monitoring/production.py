"""Production figures of any asset of the plant, read from the store: what the web app, the
reports and notebooks ask for ("OEE of line 1 per shift this week"), computed one way.

An asset is a path of the hierarchy (site, area, line, cell or equipment); its figures combine
those of the equipment below it that has an ideal cycle time (without one, performance and OEE
are not defined). Periods follow the asset's work calendar from the plant file: its shifts
(``by="shift"``), local days (``by="day"``) or the whole range; the calendar's planned stops
(time outside shifts, breaks, dated stops) are planned down time, as :mod:`.oee` explains.

Periods in progress and periods without data are answered the same way wherever they are asked
(API, pages, reports, CLI), because all of them come here. After ISO 22400, time that has not
happened is in no state: a range is cut at now, so a shift in progress has the figures of its time
so far. Time after the store's newest data (collection stopped, the demo was ended) is *unknown*,
as time before the first data is: it counts in ``unknown_s`` and in no ISO time, never as a loss.
A period of which nothing is known has ``no_data`` set and NaN KPIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from smartfab.apps.monitoring.oee import (
    DEFAULT_STARTUP_WINDOW_S,
    OeeFigures,
    combine,
    oee_from_events,
)
from smartfab.apps.monitoring.periods import (
    AnyShift,
    Periods,
    Shift,
    calendar_periods,
    planned_stops,
)
from smartfab.errors import SmartfabError
from smartfab.model.plant import EquipmentRef, Plant
from smartfab.platform.points import EventKind, now_us
from smartfab.platform.store.base import Store

PeriodKind = Literal["shift", "day", "range"]
_US = 1_000_000
# For an asset whose plant file declares no shifts, "per shift" means the common three shifts.
DEFAULT_SHIFTS: tuple[Shift, ...] = (
    ("early", "06:00", "14:00"),
    ("late", "14:00", "22:00"),
    ("night", "22:00", "06:00"),
)


class AssetError(SmartfabError):
    """The asset or range asked for does not allow production figures."""


@dataclass(frozen=True)
class AssetFigures:
    """OEE figures of ``path`` per period, and of each equipment that went into them."""

    path: str
    periods: Periods  # cut at now: the last one ends early when it is in progress
    figures: OeeFigures
    equipment: dict[str, OeeFigures]
    in_progress: bool  # the last period has not ended yet: its figures are of its time so far
    known_until: int | None  # where the store's data ends, when that is before the periods end


def equipment_below(plant: Plant, path: str) -> list[EquipmentRef]:
    """The equipment at or below ``path``, in plant order."""
    prefix = path.strip("/")
    refs = [
        e for e in plant.iter_equipment() if e.path == prefix or e.path.startswith(prefix + "/")
    ]
    if not refs:
        raise AssetError(f"no equipment at or below {path!r}")
    return refs


def periods(
    plant: Plant, path: str, start: int, end: int, by: PeriodKind, now: int | None = None
) -> Periods:
    """The reporting periods of ``path`` in [start, end) (epoch µs), cut at ``now``: time that
    has not happened yet belongs to no period."""
    if end <= start:
        raise AssetError(f"the range must end after it starts ({start} .. {end})")
    end = min(end, now_us() if now is None else now)
    if end <= start:
        raise AssetError("the range lies entirely in the future")
    if by == "range":
        return Periods.window(start, end, "range")
    calendar = plant.work_calendar(path.strip("/"))
    found = calendar_periods(
        start, end, calendar.timezone, shifts_of(plant, path) if by == "shift" else None
    )
    if len(found.start) == 0:
        raise AssetError(f"no {by} of {path!r} falls in the range")
    return found


def in_progress(plant: Plant, path: str, at: Periods, by: PeriodKind, end: int, now: int) -> bool:
    """Whether the last of ``at`` goes on after ``now``: a range asked for beyond now, or the
    shift or day that holds now (also when the range asked for ends at now, as a page asks)."""
    if by == "range":
        return end > now
    last = int(at.start[-1])
    calendar = plant.work_calendar(path.strip("/"))
    whole = calendar_periods(
        last,
        last + 2 * 86_400 * _US,
        calendar.timezone,
        shifts_of(plant, path) if by == "shift" else None,
    )
    return int(whole.end[0]) > now >= last


def shifts_of(plant: Plant, path: str) -> Sequence[AnyShift]:
    """The shifts of the asset's work calendar, or :data:`DEFAULT_SHIFTS` when it has none."""
    return plant.work_calendar(path.strip("/")).shifts or DEFAULT_SHIFTS


def data_until(store: Store, events: pa.Table) -> int | None:
    """Where the data ends: the newest point of the whole store, or the newest of ``events`` if
    that is later; None for a store without either. The whole store's points, not the asset's:
    a machine that reports only on change (or nothing while it runs steadily) is still known to
    be in its state as long as collection goes on."""
    newest = [
        pc.max(column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())).as_py()
        for column in (store.latest().column("ts"), events.column("ts"))
        if len(column)
    ]
    return max(newest) if newest else None


def asset_oee(
    store: Store,
    plant: Plant,
    path: str,
    start: int,
    end: int,
    by: PeriodKind = "range",
    now: int | None = None,
) -> AssetFigures:
    """OEE of the asset at ``path`` per period of ``by`` within [start, end), cut at ``now``
    (default: the clock), with time after the store's newest data unknown.

    Four reads serve any number of equipment: the state and count events of the whole asset from
    one start-up window before the first period (so that a setup ending just before it marks its
    start-up scrap), the state each equipment was in then, the planned stops of each work
    calendar, and the newest point of the store."""
    now = now_us() if now is None else now
    at = periods(plant, path, start, end, by, now)
    refs = [r for r in equipment_below(plant, path) if r.equipment.ideal_cycle_s is not None]
    if not refs:
        raise AssetError(f"no equipment below {path!r} has an ideal_cycle_s: OEE is not defined")
    asset = path.strip("/")
    first, last = int(at.start[0]), int(at.end[-1])
    since = first - int(DEFAULT_STARTUP_WINDOW_S * _US)
    events = store.events(since, last, asset, [EventKind.STATE, EventKind.COUNT], None)
    newest = data_until(store, events)
    known_until = newest if newest is not None and newest < last else None
    in_force = store.state_durations(asset, since - 1, since)
    initial = dict(
        zip(in_force.column("equipment").to_pylist(), in_force.column("state").to_pylist(),
            strict=True)
    )  # fmt: skip
    # Equipment as dictionary codes: one pass over the strings, then cheap masks per equipment.
    owner = pc.dictionary_encode(events.column("equipment")).combine_chunks()
    names = owner.dictionary.to_pylist()
    codes = owner.indices.to_numpy(zero_copy_only=False)
    planned: dict[str, Periods] = {}  # per line: lines may have calendars of their own
    per_equipment = {}
    for ref in refs:
        line = "/".join(ref.path.split("/")[:3])
        if line not in planned:
            planned[line] = planned_stops(first, last, plant.work_calendar(ref.path))
        ideal = ref.equipment.ideal_cycle_s
        assert ideal is not None
        per_equipment[ref.path] = oee_from_events(
            events.filter(codes == names.index(ref.path) if ref.path in names else codes < 0),
            at, ideal, initial.get(ref.path),
            planned=planned[line], known_until=known_until,
        )  # fmt: skip
    figures = combine(list(per_equipment.values()))
    running = in_progress(plant, path, at, by, end, now)
    return AssetFigures(asset, at, figures, per_equipment, running, known_until)
