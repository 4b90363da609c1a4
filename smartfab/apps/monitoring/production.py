"""Production figures of any asset of the plant, read from the store: what the web app, the
reports and notebooks ask for ("OEE of line 1 per shift this week"), computed one way.

An asset is a path of the hierarchy (site, area, line, cell or equipment); its figures combine
those of the equipment below it that has an ideal cycle time (without one, performance and OEE
are not defined). Periods follow the asset's work calendar from the plant file: its shifts
(``by="shift"``), local days (``by="day"``) or the whole range; the calendar's planned stops
(time outside shifts, breaks, dated stops) are planned down time, as :mod:`.oee` explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

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
from smartfab.platform.points import EventKind
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
    periods: Periods
    figures: OeeFigures
    equipment: dict[str, OeeFigures]


def equipment_below(plant: Plant, path: str) -> list[EquipmentRef]:
    """The equipment at or below ``path``, in plant order."""
    prefix = path.strip("/")
    refs = [
        e for e in plant.iter_equipment() if e.path == prefix or e.path.startswith(prefix + "/")
    ]
    if not refs:
        raise AssetError(f"no equipment at or below {path!r}")
    return refs


def periods(plant: Plant, path: str, start: int, end: int, by: PeriodKind) -> Periods:
    """The reporting periods of ``path`` in [start, end) (epoch µs)."""
    if end <= start:
        raise AssetError(f"the range must end after it starts ({start} .. {end})")
    if by == "range":
        return Periods.window(start, end, "range")
    calendar = plant.work_calendar(path.strip("/"))
    found = calendar_periods(
        start, end, calendar.timezone, shifts_of(plant, path) if by == "shift" else None
    )
    if len(found.start) == 0:
        raise AssetError(f"no {by} of {path!r} falls in the range")
    return found


def shifts_of(plant: Plant, path: str) -> Sequence[AnyShift]:
    """The shifts of the asset's work calendar, or :data:`DEFAULT_SHIFTS` when it has none."""
    return plant.work_calendar(path.strip("/")).shifts or DEFAULT_SHIFTS


def asset_oee(
    store: Store, plant: Plant, path: str, start: int, end: int, by: PeriodKind = "range"
) -> AssetFigures:
    """OEE of the asset at ``path`` per period of ``by`` within [start, end).

    Three reads serve any number of equipment: the state and count events of the whole asset from
    one start-up window before the first period (so that a setup ending just before it marks its
    start-up scrap), the state each equipment was in then, and the planned stops of each work
    calendar."""
    at = periods(plant, path, start, end, by)
    refs = [r for r in equipment_below(plant, path) if r.equipment.ideal_cycle_s is not None]
    if not refs:
        raise AssetError(f"no equipment below {path!r} has an ideal_cycle_s: OEE is not defined")
    asset = path.strip("/")
    first, last = int(at.start[0]), int(at.end[-1])
    since = first - int(DEFAULT_STARTUP_WINDOW_S * _US)
    events = store.events(since, last, asset, [EventKind.STATE, EventKind.COUNT], None)
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
            planned=planned[line],
        )  # fmt: skip
    return AssetFigures(asset, at, combine(list(per_equipment.values())), per_equipment)
