"""Metered energy as 15-minute intervals: the cumulative meter (the equipment's signal of role
``energy``, kWh) and part counter (role ``good_count``) of each equipment, differenced per
interval; the product made (the last product code of the interval) and the hall temperature when
the plant has them.

A counter that falls (a meter replaced, a PLC restarted) starts over: the fall is not counted as
negative energy, the interval takes what was counted after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from smartfab.errors import SmartfabError
from smartfab.model.plant import EquipmentRef, Plant
from smartfab.platform.points import Float64Array, Int64Array, ObjectArray
from smartfab.platform.store.base import Store

INTERVAL_US = 15 * 60 * 1_000_000  # the demand interval of electricity metering


class EnergyDataError(SmartfabError):
    """No meter, or no data, for what was asked."""


@dataclass(frozen=True)
class Intervals:
    """One equipment's energy per interval."""

    equipment: str
    start: Int64Array  # interval start, epoch µs
    kwh: Float64Array
    good: Float64Array  # good parts finished in the interval (0 without a counter)
    product: ObjectArray  # product code in the interval ("" unknown)

    @property
    def kw(self) -> Float64Array:
        """Mean demand over each interval."""
        out: Float64Array = self.kwh / (INTERVAL_US / 3.6e9)
        return out


def grid(start_us: int, end_us: int) -> Int64Array:
    first = start_us // INTERVAL_US * INTERVAL_US
    return np.arange(first, end_us, INTERVAL_US, dtype=np.int64)


def per_interval(ts: Int64Array, cumulative: Float64Array, starts: Int64Array) -> Float64Array:
    """The increase of a cumulative counter in each interval starting at ``starts``; a fall
    restarts the count."""
    out = np.zeros(len(starts))
    if len(ts) < 2:
        return out
    step = np.diff(cumulative)
    step = np.where(step < 0, np.maximum(cumulative[1:], 0.0), step)  # a reset: count from 0
    i = np.searchsorted(starts, ts[1:], "right") - 1
    ok = (i >= 0) & (i < len(starts))
    np.add.at(out, i[ok], step[ok])
    return out


def _role(eq: EquipmentRef, role: str) -> str | None:
    for s in eq.equipment.signals:
        if s.role == role:
            return f"{eq.path}/{s.name}"
    return None


def _text(eq: EquipmentRef, sim: str) -> str | None:
    for s in eq.equipment.signals:
        if s.kind == "text" and (s.sim == sim or s.name == sim):
            return f"{eq.path}/{s.name}"
    return None


def intervals(
    store: Store, plant: Plant, equipment: Sequence[EquipmentRef], start_us: int, end_us: int
) -> list[Intervals]:
    """The intervals of each metered equipment in [start, end); equipment without an energy
    meter is left out."""
    ids = {s.path: s.id for s in store.signals()}
    starts = grid(start_us, end_us)
    out = []
    for eq in equipment:
        meter = _role(eq, "energy")
        if meter is None or meter not in ids:
            continue
        kwh = per_interval(*_numbers(store, ids[meter], start_us, end_us), starts)
        counter = _role(eq, "good_count")
        good = (per_interval(*_numbers(store, ids[counter], start_us, end_us), starts)
                if counter in ids else np.zeros(len(starts)))  # fmt: skip
        product = np.full(len(starts), "", object)
        code = _text(eq, "product_code")
        if code in ids:
            t = store.raw([ids[code]], start_us, end_us, kind="text")
            ts = _ts(t)
            if len(ts):
                i = np.searchsorted(starts, ts, "right") - 1
                values = np.asarray(t.column("value").to_pylist(), object)
                ok = i >= 0
                product[i[ok]] = values[ok]  # the last of each interval wins (time order)
                # an interval without a new code keeps the one in force
                filled = np.maximum.accumulate(np.where(product != "", np.arange(len(starts)),
                                                        0))  # fmt: skip
                product = np.where(product != "", product, product[filled])
        out.append(Intervals(eq.path, starts, kwh, good, product))
    if not out:
        raise EnergyDataError("no energy meter (a signal of role energy) under that asset")
    return out


def _ts(t: pa.Table) -> Int64Array:
    col = t.column("ts")
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.int64())
    return np.asarray(col.to_numpy(zero_copy_only=False), np.int64)


def _numbers(store: Store, sid: int, start: int, end: int) -> tuple[Int64Array, Float64Array]:
    t = store.raw([sid], start, end)
    return _ts(t), np.asarray(t.column("value").to_numpy(zero_copy_only=False), np.float64)
