"""The fleet assessed by itself: every ``every_s`` seconds, each equipment's health and remaining
useful life over the last ``period_days``, a work order for each failure predicted within
``horizon_h`` hours and the equipment's predicted-failure alarm raised or cleared, as a planner's
``POST /api/maintenance/assess`` does on demand. So a failure predicted at night has its order and
alarm waiting in the morning, not when somebody next presses the button.

An equipment with an open order gets no second one (:meth:`WorkOrders.raise_for`), so assessing
often repeats nothing; the first round runs when the server starts. Each round first replays the
work orders from the store, so that it sees orders raised or closed through another server
process; still, in a deployment of several workers, one of them is enough to assess (two rounds
at the same moment could both raise an order for one failure).
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel, ConfigDict, Field

from smartfab.apps.maintenance.fleet import FleetAssessor
from smartfab.apps.maintenance.workorders import WorkOrder, WorkOrders, act_on_predictions
from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.platform.points import now_us

log = logging.getLogger(__name__)
DAY_US = 86_400_000_000


class AssessmentSchedule(BaseModel):
    """How often the fleet is assessed by itself; on by default, every 15 minutes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    every_s: float = Field(default=900, gt=0)
    # The defaults of the API's assessment: a month of hourly rows, failures within a day.
    period_days: float = Field(default=30, gt=0, le=400)
    horizon_h: float = Field(default=24, gt=0, le=24 * 365)


async def assess_fleet(
    assessor: FleetAssessor,
    orders: WorkOrders,
    engine: AlarmEngine | None,
    schedule: AssessmentSchedule,
) -> list[WorkOrder]:
    """One round: assess every equipment up to now, then raise orders and alarms; the new
    orders."""
    # In worker threads: reading the store and training a first model take seconds.
    await asyncio.to_thread(orders.replay)
    end = now_us()
    start = end - round(schedule.period_days * DAY_US)
    found = await asyncio.to_thread(assessor.assess, start, end, schedule.horizon_h)
    return await act_on_predictions(found, orders, engine, schedule.horizon_h, end)


async def run_assessment_schedule(
    assessor: FleetAssessor,
    orders: WorkOrders,
    engine: AlarmEngine | None,
    schedule: AssessmentSchedule,
) -> None:
    """Assess the fleet every ``every_s`` until cancelled."""
    while True:
        try:
            for order in await assess_fleet(assessor, orders, engine, schedule):
                log.info("work order %s raised: %s predicted to fail in %.0f h", order.id,
                         order.equipment, order.evidence.rul_h)  # fmt: skip
        except Exception:  # a bug in one round must not end the schedule for good
            log.exception("scheduled maintenance assessment failed")
        await asyncio.sleep(schedule.every_s)
