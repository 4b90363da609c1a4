"""The periodic assessment on a real store: rounds run by themselves, raise a work order for the
failure they predict, and a new one after a planner closed it (on another server process) while
the prediction stands; its settings come from the config file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartfab.apps.maintenance.fleet import FleetAssessor
from smartfab.apps.maintenance.registry import ModelRegistry
from smartfab.apps.maintenance.schedule import AssessmentSchedule, run_assessment_schedule
from smartfab.apps.maintenance.workorders import WorkOrder, WorkOrders
from smartfab.config import load_settings
from smartfab.errors import SmartfabError
from smartfab.platform.points import now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.store.duckdb import DuckDBStore
from tests.apps.maintenance.synthetic import DAYS, LINE, H, fill_wearing_fleet


async def _next_order(orders: WorkOrders, seen: set[str]) -> WorkOrder:
    """The first order not in ``seen``, as soon as a round raised it."""
    async with asyncio.timeout(120):  # the first round trains the RUL model
        while True:
            new = [o for o in orders.orders() if o.id not in seen]
            if new:
                return new[0]
            await asyncio.sleep(0.05)


async def test_rounds_run_by_themselves(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        # The generated month ends in the last hour: rounds assess up to the real clock.
        fill_wearing_fleet(store, now_us() // H * H - DAYS * 24 * H)
        assessor = FleetAssessor(PlantData(store), ModelRegistry(tmp_path / "models"))
        orders = WorkOrders(store)
        schedule = AssessmentSchedule(every_s=0.2, horizon_h=24)
        task = asyncio.create_task(run_assessment_schedule(assessor, orders, None, schedule))
        try:
            first = await _next_order(orders, set())
            # m1 is 14 h from its failure; m2 (64 h) and the healthy machine raise nothing.
            assert first.equipment == f"{LINE}/m1" and first.evidence.rul_h < 24
            assert first.mode == "spindle_bearing"
            await asyncio.sleep(1.0)  # several rounds: one open order per equipment
            assert orders.orders() == [first]
            # Closed by a planner through another server process sharing the store, while the
            # failure is still predicted: a later round sees it closed and raises a new order.
            other = WorkOrders(store)
            await asyncio.to_thread(other.close, first.id, "li.wei", "not the bearing")
            second = await _next_order(orders, {first.id})
            assert second.equipment == first.equipment
        finally:
            task.cancel()
        # Journalled like any order: a restarted server has both.
        assert {o.id for o in WorkOrders(store).orders()} == {first.id, second.id}


def test_settings_turn_it_off_or_change_the_interval(tmp_path: Path) -> None:
    default = load_settings().section("assessment", AssessmentSchedule)
    assert default.enabled and default.every_s == 900  # on, every 15 minutes
    config = tmp_path / "smartfab.yaml"
    config.write_text("assessment:\n  enabled: false\n  every_s: 3600\n", encoding="utf-8")
    schedule = load_settings(config).section("assessment", AssessmentSchedule)
    assert (schedule.enabled, schedule.every_s) == (False, 3600)
    config.write_text("assessment:\n  every_s: 0\n", encoding="utf-8")
    with pytest.raises(SmartfabError, match=r"setting 'assessment\.every_s' = 0"):
        load_settings(config).section("assessment", AssessmentSchedule)
