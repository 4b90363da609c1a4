"""Late orders go through the alarm engine: raised while expected late, in the operators' alarm
list under the zone's path, cleared when shipped, and still followed after a restart."""

from __future__ import annotations

from pathlib import Path

from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.monitoring.alarms.lifecycle import State
from smartfab.apps.warehouse.alarms import LateOrderAlarms
from smartfab.apps.warehouse.tracking import OrderStatus
from smartfab.model.plant import Plant
from smartfab.platform.catalog import register_plant
from smartfab.platform.store.duckdb import DuckDBStore

ZONE = "shenyang/logistics/central"
NOW = 1_796_000_000_000_000


def _status(order: str, status: str, late: bool) -> OrderStatus:
    # due at 1 h, expected at 1.5 h when late
    return OrderStatus(order, 0.0, 3600.0, status, 2, 1, 5400.0 if late else 1800.0, late)  # type: ignore[arg-type]


async def test_late_orders_are_raised_listed_and_cleared(tmp_path: Path, demo_plant: Plant) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        ids = register_plant(store, demo_plant)
        engine = AlarmEngine(demo_plant, store, ids)
        await engine.start(live=False)
        try:
            alarms = LateOrderAlarms(engine)
            late = [_status("SO1", "picking", True), _status("SO2", "open", False),
                    _status("SO3", "shipped", True)]  # fmt: skip
            assert await alarms.sync(ZONE, late, NOW) == {"SO1"}
            listed = engine.alarms(under="shenyang/logistics")
            assert [a.id for a in listed] == [f"{ZONE}:order_late:SO1"]
            assert listed[0].state is State.UNACKNOWLEDGED and listed[0].priority == "high"
            assert "SO1" in listed[0].message and listed[0].value == 0.5
            assert engine.alarms(under="shenyang/machining") == []
            # still late: nothing new; shipped: cleared, to be acknowledged
            assert await alarms.sync(ZONE, late, NOW + 1) == {"SO1"}
            assert engine.stats.transitions == 1
            shipped = [_status("SO1", "shipped", True)]
            assert await alarms.sync(ZONE, shipped, NOW + 2) == set()
            status = engine.status(f"{ZONE}:order_late:SO1")
            assert not status.active and status.state is State.CLEARED_UNACKNOWLEDGED
            assert await alarms.sync(ZONE, [_status("SO4", "sorted", True)], NOW + 3) == {"SO4"}
        finally:
            await engine.stop()
        # after a restart the journal brings the active alarm back, and the first look clears
        # it when its order is no longer late
        engine = AlarmEngine(demo_plant, store, ids)
        await engine.start(live=False)
        try:
            assert engine.status(f"{ZONE}:order_late:SO4").active
            assert await LateOrderAlarms(engine).sync(ZONE, [], NOW + 4) == set()
            assert not engine.status(f"{ZONE}:order_late:SO4").active
        finally:
            await engine.stop()
