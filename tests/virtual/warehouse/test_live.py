"""The live virtual warehouse runs on the plant's clock: its time is the wall-clock time now, its
days start at midnight in the site's time zone, and it advances with the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.virtual.warehouse.live import LiveWarehouse
from tests.virtual.warehouse.plants import light_demand

PLANT = light_demand(load_plant(DEMO_PLANT))  # the clock is under test, not the load
TZ = ZoneInfo(PLANT.site.timezone)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def test_the_live_warehouse_shows_the_plants_time_now() -> None:
    now = datetime(2026, 12, 7, 10, 30, tzinfo=TZ).timestamp()
    clock = Clock(now)
    live = LiveWarehouse(PLANT, "central", clock=clock)
    # its day began at the plant's midnight, and it has simulated up to now
    assert live.sim.start_us == round(datetime(2026, 12, 7, tzinfo=TZ).timestamp() * 1e6)
    snap = live.snapshot()
    assert snap["time"] == _iso(now) and snap["speed"] == 1.0
    assert snap["kpis"]["orders"] > 0  # the morning's orders are there
    clock.t += 90
    assert live.snapshot()["time"] == _iso(now + 90)


def test_in_the_first_hours_of_a_day_it_starts_the_day_before() -> None:
    now = datetime(2026, 12, 8, 2, 0, tzinfo=TZ).timestamp()
    live = LiveWarehouse(PLANT, "central", clock=Clock(now))
    assert live.sim.start_us == round(datetime(2026, 12, 7, tzinfo=TZ).timestamp() * 1e6)
    assert live.snapshot()["time"] == _iso(now)


def test_past_its_horizon_it_starts_over_on_the_clock_with_the_next_seed() -> None:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=TZ).timestamp()
    clock = Clock(now)
    live = LiveWarehouse(PLANT, "central", clock=clock, days=0.5)
    clock.t += 13 * 3600  # 23:00: the half day after the first look is over
    snap = live.snapshot()
    assert snap["seed"] == 1 and snap["time"] == _iso(clock.t)
    assert live.sim.start_us == round(datetime(2026, 12, 7, tzinfo=TZ).timestamp() * 1e6)


def test_order_ids_do_not_repeat_when_it_starts_over() -> None:
    clock = Clock(datetime(2026, 12, 7, 10, 30, tzinfo=TZ).timestamp())
    ids: list[set[str]] = []
    for _ in range(2):  # a run, then the same seed again a moment later (a restart)
        live = LiveWarehouse(PLANT, "central", clock=clock)
        prefix = f"s0.{round(clock.t * 1000):x}-"
        orders = []
        while not orders:
            clock.t += 1
            live.step()
            orders = live.sim.manager.orders()
        ids.append({o["orderId"] for _, o in orders})
        assert all(i.startswith(prefix) for i in ids[-1])
    assert not ids[0] & ids[1]
