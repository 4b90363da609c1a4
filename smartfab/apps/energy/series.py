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
    metered = [(eq, ids[m]) for eq in equipment if (m := _role(eq, "energy")) in ids]
    if not metered:
        raise EnergyDataError("no energy meter (a signal of role energy) under that asset")
    counter = {eq.path: ids[c] for eq, _ in metered if (c := _role(eq, "good_count")) in ids}
    code = {eq.path: ids[c] for eq, _ in metered if (c := _text(eq, "product_code")) in ids}
    # Every meter and counter in one query, every product code in another: a query per signal
    # scanned the range's points once each.
    rose = _per_interval(store, [*(m for _, m in metered), *counter.values()], start_us, end_us)
    products = _products(store, list(code.values()), start_us, end_us)
    return [
        Intervals(eq.path, starts, rose[meter],
                  rose[counter[eq.path]] if eq.path in counter else np.zeros(len(starts)),
                  products[code[eq.path]] if eq.path in code else np.full(len(starts), "", object))
        for eq, meter in metered
    ]  # fmt: skip


def _per_interval(store: Store, sids: list[int], start: int, end: int) -> dict[int, Float64Array]:
    """The increase of each counter in each interval of the grid of [start, end)."""
    n = len(grid(start, end))
    t = store.increases(sids, start, end, INTERVAL_US)
    sid = t.column("signal_id").to_numpy()
    at = t.column("bucket").to_numpy() // INTERVAL_US - start // INTERVAL_US
    rose = t.column("increase").to_numpy()
    out: dict[int, Float64Array] = {}
    for s in sids:
        kwh = out[s] = np.zeros(n)
        mine = sid == s
        kwh[at[mine]] = rose[mine]
    return out


def _products(store: Store, sids: list[int], start: int, end: int) -> dict[int, ObjectArray]:
    """The product code of each interval per product code signal: the last code set in the
    interval, or the one in force before it ("" before the first)."""
    n = len(grid(start, end))
    t = store.last_values(sids, start, end, INTERVAL_US, kind="text")
    sid = t.column("signal_id").to_numpy()
    at = t.column("bucket").to_numpy() // INTERVAL_US - start // INTERVAL_US
    values = np.asarray(t.column("value").to_pylist(), object)
    out: dict[int, ObjectArray] = {}
    for s in sids:
        product = np.full(n, "", object)
        mine = sid == s
        product[at[mine]] = values[mine]
        # an interval without a new code keeps the one in force
        filled = np.maximum.accumulate(np.where(product != "", np.arange(n), 0))
        out[s] = np.where(product != "", product, product[filled])
    return out
