"""The running server's warehouse: every storage zone's live virtual warehouse is looked at every
so often, and its orders expected to ship late are raised in the alarm engine (and cleared when
they ship or are on time again), so that they are in the alarm list whether or not anyone has
the warehouse page open."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from smartfab.apps.warehouse.alarms import LateOrderAlarms
from smartfab.apps.warehouse.tracking import OrderStatus
from smartfab.platform.points import now_us
from smartfab.virtual.warehouse.live import LiveZones

log = logging.getLogger(__name__)


def _statuses(zones: LiveZones, path: str) -> list[OrderStatus]:
    return zones.get(path).order_statuses()


async def warehouse_alarm_round(zones: LiveZones, alarms: LateOrderAlarms) -> dict[str, set[str]]:
    """Advance each zone's live warehouse to now (starting it on the first round: seconds, in
    a thread) and bring its late-order alarms in step; the orders alarmed, by zone path."""
    out: dict[str, set[str]] = {}
    for path in zones.simulated():
        statuses = await asyncio.to_thread(partial(_statuses, zones, path))
        out[path] = await alarms.sync(path, statuses, now_us())
    return out


async def run_warehouse_alarms(
    zones: LiveZones, alarms: LateOrderAlarms, every_s: float = 30.0
) -> None:
    """A round every ``every_s`` until cancelled."""
    while True:
        try:
            await warehouse_alarm_round(zones, alarms)
        except Exception:  # a bug in one round must not end the alarms for good
            log.exception("late-order alarms of the warehouse failed")
        await asyncio.sleep(every_s)
