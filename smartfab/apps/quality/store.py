"""The parts table of an equipment from the store: one row per inspection result.

The equipment's ``process:`` block (plant file) names the signals. Each point of the inspection
signal is one part; the parameters, the context and the material lot are the values in force
when it was inspected (the last point at or before it); its energy is the increase of the
equipment's energy meter since the previous part, its cycle time the time since the previous
part. A part inspected more than ``STOP_TAKTS`` takts after the previous one followed a stop (a
break, a night, a repair): that time and energy are the stop's, not its cycle's, so the part is
left out, as the first part is.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from smartfab.apps.quality.parts import NotEnoughData, PartTable
from smartfab.errors import SmartfabError
from smartfab.model.plant import EquipmentRef, Plant, ProcessSettings
from smartfab.platform.points import Float64Array, Int64Array
from smartfab.platform.store.base import Store

STOP_TAKTS = 2.0


class ProcessConfigError(SmartfabError):
    """The equipment has no process block, or the store lacks its signals."""


def process_of(plant: Plant, equipment: str) -> tuple[EquipmentRef, ProcessSettings]:
    for ref in plant.iter_equipment():
        if ref.path == equipment.strip("/"):
            if ref.equipment.process is None:
                raise ProcessConfigError(
                    f"{ref.path}: no process block in the plant file (see docs/plant-file.md"
                    "#process-optimisation)"
                )
            return ref, ref.equipment.process
    raise ProcessConfigError(f"{equipment}: no such equipment")


def processes(plant: Plant) -> list[EquipmentRef]:
    """The equipment with a process block."""
    return [e for e in plant.iter_equipment() if e.equipment.process is not None]


def _ts(t: pa.Table) -> Int64Array:
    col = t.column("ts")
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.int64())
    return np.asarray(col.to_numpy(zero_copy_only=False), np.int64)


def _as_of(store: Store, sid: int, start: int, end: int, at: Int64Array, kind: str = "number"
           ) -> np.ndarray:  # type: ignore[type-arg]  # fmt: skip
    """The value in force at each of ``at`` (NaN, or "", before the first point)."""
    t = store.raw([sid], start, end, kind=kind)  # type: ignore[arg-type]
    ts = _ts(t)
    i = np.searchsorted(ts, at, "right") - 1
    if kind == "text":
        values = np.asarray([*t.column("value").to_pylist(), ""], object)
    else:
        values = np.r_[np.asarray(t.column("value").to_numpy(zero_copy_only=False), float), np.nan]
    return values[np.where(i >= 0, i, len(ts))]


def parts_from_store(
    store: Store, plant: Plant, equipment: str, start_us: int, end_us: int, lookback_us: int = 0
) -> PartTable:
    """The parts inspected in [start, end); values in force are looked for from ``start -
    lookback`` (a parameter is written rarely: its last write may lie long before)."""
    ref, pr = process_of(plant, equipment)
    ids = {s.path: s.id for s in store.signals()}

    def sid(name: str) -> int:
        path = f"{ref.path}/{name}"
        if path not in ids:
            raise ProcessConfigError(f"{path}: not in the store yet (no data collected)")
        return ids[path]

    from_us = start_us - (lookback_us or 30 * 86_400_000_000)
    insp = store.raw([sid(pr.inspection)], start_us, end_us)
    ts = _ts(insp)
    if len(ts) < 2:
        raise NotEnoughData(
            f"{ref.path}: {len(ts)} inspected parts between the times asked; choose a longer period"
        )
    defect = np.asarray(insp.column("value").to_numpy(zero_copy_only=False), float).astype(np.int64)
    values: dict[str, Float64Array] = {}
    names = [p.signal for p in pr.parameters]
    for name in [*names, *pr.context]:
        values[name] = np.asarray(_as_of(store, sid(name), from_us, end_us, ts), float)
    meter = next((s.name for s in ref.equipment.signals if s.role == "energy"), None)
    if meter is not None:
        cumulative = np.asarray(_as_of(store, sid(meter), from_us, end_us, ts), float)
        values["energy_kwh"] = np.r_[np.nan, np.maximum(np.diff(cumulative), 0.0)]
    values["cycle_s"] = np.r_[np.nan, np.diff(ts) / 1e6]
    if pr.characteristic is not None:
        values["characteristic"] = np.asarray(
            _as_of(store, sid(pr.characteristic), from_us, end_us, ts), float
        )
    lot = (np.asarray(_as_of(store, sid(pr.material_lot), from_us, end_us, ts, "text"), object)
           if pr.material_lot else np.full(len(ts), "", object))  # fmt: skip
    # The first part has no predecessor to difference against, a part after a stop has none
    # that ended its previous cycle, and a part made before a parameter was ever recorded has
    # no setting: they are left out.
    keep = np.ones(len(ts), bool)
    keep[0] = False
    keep[1:] &= np.diff(ts) <= STOP_TAKTS * pr.takt_s * 1e6
    for v in values.values():
        keep &= np.isfinite(v)
    enum = next(s for s in ref.equipment.signals if s.name == pr.inspection).values or {}
    table = PartTable(
        ts, tuple(names), values, lot, defect,
        {int(c): n for c, n in sorted(enum.items()) if c != 0},
    )  # fmt: skip
    return table.slice(np.flatnonzero(keep))
