"""Late orders as alarms: the orders a storage zone is expected to ship after their due time are
raised in the platform's alarm engine (one alarm per order, ``<zone path>:order_late:<order>``,
see :func:`smartfab.apps.monitoring.alarms.rules.predicted_late_alarm`), so that they are in the
operators' alarm list with its life cycle, journal and notifications; each clears when its order
ships or is expected on time again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.monitoring.alarms.rules import PREDICTED_LATE
from smartfab.apps.warehouse.tracking import OrderStatus, late_orders


@dataclass
class LateOrderAlarms:
    engine: AlarmEngine
    raised: dict[str, set[str]] = field(default_factory=dict)  # zone path -> orders alarmed

    async def sync(self, zone: str, statuses: Iterable[OrderStatus], ts: int) -> set[str]:
        """Raise the alarms of ``zone``'s late orders not raised yet and clear those no longer
        late, at ``ts`` (epoch microseconds); the orders alarmed now."""
        late = late_orders(statuses)
        mine = self.raised.get(zone)
        if mine is None:  # the first look: the zone's alarms still active (before a restart)
            prefix = f"{zone}:{PREDICTED_LATE}:"
            mine = self.raised[zone] = {
                s.id.removeprefix(prefix)
                for s in self.engine.alarms(under=zone, include_normal=True)
                if s.active and s.id.startswith(prefix)
            }
        for order, hours in late.items():
            if order not in mine:
                await self.engine.predict_late_order(zone, order, True, ts, hours)
                mine.add(order)
        for order in sorted(mine - late.keys()):
            await self.engine.predict_late_order(zone, order, False, ts, 0.0)
            mine.discard(order)
        return set(mine)
