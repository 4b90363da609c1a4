"""Work orders on a real DuckDB store: raised from a predicted failure, accepted, scheduled and
closed; every change journalled and rebuilt by replay after a restart; scheduled windows as
scheduling windows; the predicted-failure alarm through the real alarm engine."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from smartfab.apps.maintenance.fleet import Anomaly, Assessment
from smartfab.apps.maintenance.workorders import (
    HOUR_US,
    Evidence,
    Status,
    UnknownWorkOrderError,
    WorkOrderError,
    WorkOrders,
    maintenance_windows,
    raise_alarms,
    raise_orders,
    respecting,
)
from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.monitoring.alarms.lifecycle import State
from smartfab.apps.scheduling.problem import Alternative, Job, Machine, Operation, Problem, Window
from smartfab.platform.catalog import register_plant
from smartfab.platform.points import EventKind
from smartfab.platform.store.duckdb import DuckDBStore

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
PRESS = "shenyang/pressing/press-line-1/cell-1/press-01"
T0 = 1_800_000_000_000_000


def _clock() -> itertools.count[int]:
    return itertools.count(T0, 1_000_000)  # one second per change


def _assessment(equipment: str, rul_h: float | None, health: float = 40.0) -> Assessment:
    times = T0 - np.arange(3, 0, -1, dtype=np.int64) * HOUR_US
    return Assessment(
        equipment, int(times[-1]), HOUR_US, ("spindle_temp",), times,
        np.array([90.0, 60.0, health]), rul_h, None if rul_h is None else rul_h / 2,
        None if rul_h is None else rul_h * 2, (Anomaly(int(times[1]), "spindle_temp", 5.2),),
        "rul-plant-x-60m@v1", "bearing_wear", 0.8,
    )  # fmt: skip


def test_life_cycle_is_journalled_and_replayed(tmp_path: Path) -> None:
    clock = _clock()
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        orders = WorkOrders(store, clock=lambda: next(clock))
        fleet = [_assessment(CNC, 10.0), _assessment(PRESS, 50.0), _assessment("x/y", None)]
        new = raise_orders(fleet, orders, horizon_h=24, now=T0)
        # Only the failure predicted within 24 h raises an order; it is due at the failure.
        assert [o.equipment for o in new] == [CNC]
        order = new[0]
        assert order.status is Status.OPEN and order.mode == "bearing_wear"
        assert order.due_us == T0 + 10 * HOUR_US
        assert order.evidence == Evidence(40.0, 10.0, 5.0, 20.0, 1, "rul-plant-x-60m@v1")
        # The model repeating itself raises nothing new while the order is open.
        assert raise_orders(fleet, orders, horizon_h=24, now=T0) == []

        assert orders.accept(order.id, "li.wei").status is Status.ACCEPTED
        with pytest.raises(WorkOrderError, match="only open orders"):
            orders.accept(order.id, "li.wei")
        start, end = T0 + 2 * HOUR_US, T0 + 6 * HOUR_US
        with pytest.raises(WorkOrderError, match="end after it starts"):
            orders.schedule(order.id, "li.wei", end, start)
        scheduled = orders.schedule(order.id, "li.wei", start, end)
        assert scheduled.status is Status.SCHEDULED
        assert (scheduled.window_start_us, scheduled.window_end_us) == (start, end)
        assert orders.orders(open_only=True) == [scheduled]
        with pytest.raises(UnknownWorkOrderError):
            orders.close("WO-none", "li.wei")

        # After a restart, replay gives the same orders.
        again = WorkOrders(store, clock=lambda: next(clock))
        assert again.orders() == orders.orders()
        closed = again.close(order.id, "zhang.min", "replaced the spindle bearing 主轴")
        assert closed.status is Status.CLOSED and not closed.is_open
        with pytest.raises(WorkOrderError, match="closed"):
            again.schedule(order.id, "li.wei", start, end)
        # A closed order lets the next prediction raise a new one.
        assert [o.equipment for o in raise_orders(fleet, again, 24, T0)] == [CNC]

        table = store.events(0, 2**62, CNC, [EventKind.WORKORDER], None)
        actions = [d.split('"a":"')[1].split('"')[0] for d in table.column("detail").to_pylist()]
        assert actions == ["create", "accept", "schedule", "close", "create"]
        assert math.isclose(table.column("value").to_pylist()[0], 10.0)
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        replayed = WorkOrders(store).get(order.id)
        assert replayed.comment == "replaced the spindle bearing 主轴"
        assert replayed.closed_by == "zhang.min" and replayed.accepted_by == "li.wei"


def test_scheduled_orders_are_machine_windows(tmp_path: Path) -> None:
    clock = _clock()
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        orders = WorkOrders(store, clock=lambda: next(clock))
        ev = Evidence(40.0, 10.0, 5.0, 20.0, 0, "m@v1")
        a = orders.raise_for(CNC, T0, "", ev)
        b = orders.raise_for(PRESS, T0, "", ev)
        c = orders.raise_for("x/old", T0, "", ev)
        assert a is not None and b is not None and c is not None
        orders.raise_for("x/open", T0, "", ev)  # not scheduled: no window
        origin = T0 + HOUR_US
        # 30 minutes into the plan for 1.5 h, in 15-minute units: [2, 8).
        orders.schedule(a.id, "p", origin + HOUR_US // 2, origin + 2 * HOUR_US)
        # Begun before the origin: starts at 0; bounds round outwards.
        orders.schedule(b.id, "p", origin - HOUR_US, origin + HOUR_US // 10)
        orders.schedule(c.id, "p", origin - 2 * HOUR_US, origin - HOUR_US)  # over already
        windows = maintenance_windows(orders.orders(), origin, unit_s=900)
    assert windows == {
        CNC: (Window(2, 8, f"maintenance {a.id}"),),
        PRESS: (Window(0, 1, f"maintenance {b.id}"),),
    }


async def test_predicted_failure_raises_and_clears_an_alarm(tmp_path: Path) -> None:
    from tests.apps.monitoring.alarms.conftest import EQ, plant

    p = plant({"high": {"limit": 80}}, None)
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        ids = register_plant(store, p)
        engine = AlarmEngine(p, store, ids, clock=lambda: T0 + 2 * HOUR_US)  # acks come after
        await engine.start(live=False)
        try:
            healthy = [_assessment(EQ, 60.0), _assessment(PRESS, None)]
            # Never predicted to fail: no alarm at all.
            assert await raise_alarms(healthy, engine, 24, T0) == []
            [raised] = await raise_alarms([_assessment(EQ, 10.0)], engine, 24, T0)
            assert raised.id == f"{EQ}:predicted_failure"
            assert (raised.state, raised.active, raised.value) == (State.UNACKNOWLEDGED, True, 10)
            assert raised.priority == "high" and "predicted" in raised.message.lower()
            [cleared] = await raise_alarms(healthy, engine, 24, T0 + HOUR_US)
            assert (cleared.state, cleared.active) == (State.CLEARED_UNACKNOWLEDGED, False)
            await engine.acknowledge([cleared.id], "li.wei")
        finally:
            await engine.stop()
        # Journalled like any alarm: a restarted engine knows it.
        again = AlarmEngine(p, store, ids)
        await again.start(live=False)
        try:
            assert again.status(f"{EQ}:predicted_failure").state is State.NORMAL
            assert again.status(f"{EQ}:predicted_failure").acked_by == "li.wei"
        finally:
            await again.stop()


def test_plans_respect_maintenance_windows(tmp_path: Path) -> None:
    clock = _clock()
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        orders = WorkOrders(store, clock=lambda: next(clock))
        order = orders.raise_for(CNC, T0, "", Evidence(40.0, 10.0, 5.0, 20.0, 0, "m@v1"))
        assert order is not None
        orders.schedule(order.id, "p", T0 + HOUR_US, T0 + 2 * HOUR_US)
        job = Job("J", (Operation((Alternative(0, 30),)),))
        shift = Window(0, 10, "shift")
        problem = Problem((Machine("cnc-01", (shift,)), Machine("cnc-02")), (job,))
        planned = respecting(problem, orders.orders(), T0, unit_s=60)
    # Named as on the shop floor: the leaf of the equipment path takes its windows.
    assert planned.machines[0].unavailable == (shift, Window(60, 120, f"maintenance {order.id}"))
    assert planned.machines[1] == problem.machines[1] and planned.jobs == problem.jobs
