"""The running server's late-order alarms: a round looks at every zone's live warehouse and raises
its orders expected late in the alarm engine (the one the alarm list shows)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.warehouse.alarms import LateOrderAlarms
from smartfab.model.plant import Plant
from smartfab.platform.catalog import register_plant
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.warehouse import warehouse_alarm_round
from smartfab.virtual.warehouse.live import LiveZones
from smartfab.virtual.warehouse.sim import CustomerOrder, OrderLine
from tests.virtual.warehouse.plants import light_demand

ZONE = "shenyang/logistics/central"


async def test_a_round_raises_the_late_orders_of_each_zone(
    tmp_path: Path, demo_plant: Plant
) -> None:
    plant = light_demand(demo_plant)
    now = datetime(2026, 12, 7, 11, 0, tzinfo=ZoneInfo(plant.site.timezone)).timestamp()
    zones = LiveZones(lambda: plant)
    assert zones.simulated() == [ZONE]
    sim = zones.get(ZONE, clock=lambda: now).sim
    # an order the warehouse cannot ship by its due time any more: due an hour ago
    sim.orders["SO-LATE"] = CustomerOrder(
        "SO-LATE", sim.now - 3 * 3600, sim.now - 3600, [OrderLine("BRG-6204", 5)], "chute-1"
    )
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        engine = AlarmEngine(plant, store, register_plant(store, plant))
        await engine.start(live=False)
        try:
            alarms = LateOrderAlarms(engine)
            raised = await warehouse_alarm_round(zones, alarms)
            assert "SO-LATE" in raised[ZONE]
            listed = {a.id: a for a in engine.alarms(under=ZONE)}
            assert f"{ZONE}:order_late:SO-LATE" in listed
            assert listed[f"{ZONE}:order_late:SO-LATE"].value >= 1.0  # at least an hour late
            assert len(listed) == len(raised[ZONE])
            # it ships: the next round clears its alarm
            sim.orders["SO-LATE"].shipped = sim.now
            sim._move("ship", "BRG-6204", 5, "SO-LATE", "chute-1", "out-1", "SO-LATE")
            assert "SO-LATE" not in (await warehouse_alarm_round(zones, alarms))[ZONE]
            assert not engine.status(f"{ZONE}:order_late:SO-LATE").active
        finally:
            await engine.stop()
