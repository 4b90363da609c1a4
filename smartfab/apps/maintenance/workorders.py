"""Maintenance work orders: raised from a predicted failure, accepted, scheduled into a
maintenance window and closed by a planner.

Life cycle::

    open --accept--> accepted --schedule--> scheduled --close--> closed
      \\---------------schedule--------------^    (re-scheduling moves the window)
    any state but closed --close--> closed

Every change is journalled as an event of kind :attr:`EventKind.WORKORDER` (the store schema is
not extended; see :mod:`smartfab.platform.journal`): ``equipment`` is the order's equipment,
``code`` its id, ``value`` the predicted RUL in hours when it was raised, and ``detail`` the
change as JSON, ``{"a": "create", "u": "", "due": ..., "mode": ..., "evidence": {...}}``,
``{"a": "accept", "u": "li.wei"}``, ``{"a": "schedule", "u": ..., "start": ..., "end": ...}``,
``{"a": "close", "u": ..., "c": "replaced the spindle bearing"}``. Replaying the journal in
order rebuilds every order after a restart.

A scheduled order's window is the equipment's unavailability in production scheduling
(:func:`maintenance_windows`, :func:`respecting`). The same predictions raise the equipment's
predicted-failure alarm through the alarm engine (:func:`raise_alarms`).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from smartfab.apps.maintenance.fleet import Assessment
from smartfab.apps.monitoring.alarms.engine import AlarmEngine
from smartfab.apps.monitoring.alarms.lifecycle import AlarmStatus
from smartfab.apps.scheduling.problem import Problem, Window
from smartfab.errors import SmartfabError
from smartfab.platform import journal
from smartfab.platform.journal import JournalEntry
from smartfab.platform.points import EventKind, PointBatch, now_us
from smartfab.platform.store.base import Store

HOUR_US = 3_600_000_000


class WorkOrderError(SmartfabError):
    """A change the order's state does not allow, or bad input."""


class UnknownWorkOrderError(WorkOrderError, KeyError):
    pass


class Status(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    CLOSED = "closed"


@dataclass(frozen=True)
class Evidence:
    """Why the order was raised: the model's view of the equipment at that time."""

    health: float  # 0-100
    rul_h: float
    rul_low_h: float
    rul_high_h: float
    anomalies: int  # anomalous rows in the assessed period
    model: str  # "<registry name>@v<version>"

    def as_dict(self) -> dict[str, Any]:
        return {"health": self.health, "rul_h": self.rul_h, "rul_low_h": self.rul_low_h,
                "rul_high_h": self.rul_high_h, "anomalies": self.anomalies,
                "model": self.model}  # fmt: skip


@dataclass(frozen=True)
class WorkOrder:
    id: str
    equipment: str
    created_us: int
    due_us: int  # when the failure is predicted: maintain before
    mode: str  # predicted failure mode ("" when the history names none)
    evidence: Evidence
    status: Status = Status.OPEN
    updated_us: int = 0
    accepted_by: str = ""
    window_start_us: int | None = None
    window_end_us: int | None = None
    scheduled_by: str = ""
    closed_by: str = ""
    comment: str = ""

    @property
    def is_open(self) -> bool:
        """Not closed yet: still needs a planner."""
        return self.status is not Status.CLOSED


def _apply(orders: dict[str, WorkOrder], e: JournalEntry) -> None:
    """Fold one journalled change into ``orders``. Changes of unknown orders are skipped (a
    journal cut by retention may have lost the creation)."""
    d, action = e.detail, e.detail["a"]
    if action == "create":
        ev = d["evidence"]
        orders[e.code] = WorkOrder(
            e.code, e.equipment, e.ts, int(d["due"]), d.get("mode", ""),
            Evidence(ev["health"], ev["rul_h"], ev["rul_low_h"], ev["rul_high_h"],
                     ev["anomalies"], ev["model"]),
            updated_us=e.ts,
        )  # fmt: skip
        return
    order = orders.get(e.code)
    if order is None:
        return
    user = d.get("u", "")
    if action == "accept":
        order = replace(order, status=Status.ACCEPTED, accepted_by=user)
    elif action == "schedule":
        order = replace(order, status=Status.SCHEDULED, scheduled_by=user,
                        window_start_us=int(d["start"]), window_end_us=int(d["end"]))  # fmt: skip
    elif action == "close":
        order = replace(order, status=Status.CLOSED, closed_by=user, comment=d.get("c", ""))
    orders[e.code] = replace(order, updated_us=e.ts)


class WorkOrders:
    """The work orders of one store, kept in memory and journalled on every change. Methods
    block on the store: call them from a worker thread in async code. Safe across threads."""

    def __init__(self, store: Store, clock: Any = now_us) -> None:
        self.store = store
        self._clock = clock
        self._lock = threading.RLock()  # changes read the order under it too
        self._orders: dict[str, WorkOrder] = {}
        self.replay()

    def replay(self) -> None:
        """Rebuild every order from the journal: done at construction, and again to see the
        changes of other processes that share the store."""
        # Read under the lock: a change committed between the read and the swap would be lost.
        with self._lock:
            table = self.store.events(0, journal.END_OF_TIME, None, [EventKind.WORKORDER], None)
            orders: dict[str, WorkOrder] = {}
            for entry in journal.entries(table, EventKind.WORKORDER):
                _apply(orders, entry)
            self._orders = orders

    # --- reading ------------------------------------------------------------------------------
    def get(self, order_id: str) -> WorkOrder:
        try:
            return self._orders[order_id]
        except KeyError:
            raise UnknownWorkOrderError(f"unknown work order {order_id!r}") from None

    def orders(self, *, equipment: str | None = None, open_only: bool = False) -> list[WorkOrder]:
        """Orders of ``equipment`` and below (all when None), by due date."""
        with self._lock:  # another thread may be adding one
            every = list(self._orders.values())
        return sorted(
            (o for o in every
             if (equipment is None or o.equipment == equipment
                 or o.equipment.startswith(equipment + "/"))
             and (o.is_open or not open_only)),
            key=lambda o: (o.due_us, o.id),
        )  # fmt: skip

    # --- changing -----------------------------------------------------------------------------
    def raise_for(
        self, equipment: str, due_us: int, mode: str, evidence: Evidence
    ) -> WorkOrder | None:
        """A new order for a predicted failure, unless the equipment has an open one already
        (then None): one failure prediction, one job for the planner, however often the
        model repeats it."""
        if not math.isfinite(evidence.rul_h):
            raise WorkOrderError("a work order needs a predicted remaining useful life")
        with self._lock:
            if any(o.equipment == equipment and o.is_open for o in self._orders.values()):
                return None
            now = self._clock()
            order_id = f"WO-{now // 1_000_000:x}"
            n = 1
            while order_id in self._orders:  # several orders raised in one second
                order_id, n = f"WO-{now // 1_000_000:x}-{n}", n + 1
            detail = {"a": "create", "u": "", "due": due_us, "mode": mode,
                      "evidence": evidence.as_dict()}  # fmt: skip
            return self._commit(now, equipment, order_id, evidence.rul_h, detail)

    def accept(self, order_id: str, user: str) -> WorkOrder:
        with self._lock:
            order = self.get(order_id)
            if order.status is not Status.OPEN:
                raise WorkOrderError(f"{order_id} is {order.status}: only open orders are accepted")
            return self._commit(self._clock(), order.equipment, order_id, math.nan,
                                {"a": "accept", "u": user})  # fmt: skip

    def schedule(self, order_id: str, user: str, start_us: int, end_us: int) -> WorkOrder:
        """Put the order into the maintenance window [start, end), or move it there."""
        if start_us >= end_us:
            raise WorkOrderError("a maintenance window must end after it starts")
        with self._lock:
            order = self.get(order_id)
            if order.status is Status.CLOSED:
                raise WorkOrderError(f"{order_id} is closed")
            detail = {"a": "schedule", "u": user, "start": start_us, "end": end_us}
            return self._commit(self._clock(), order.equipment, order_id, math.nan, detail)

    def close(self, order_id: str, user: str, comment: str = "") -> WorkOrder:
        with self._lock:
            order = self.get(order_id)
            if order.status is Status.CLOSED:
                raise WorkOrderError(f"{order_id} is closed already")
            return self._commit(self._clock(), order.equipment, order_id, math.nan,
                                {"a": "close", "u": user, "c": comment})  # fmt: skip

    def _commit(
        self, ts: int, equipment: str, order_id: str, value: float, detail: dict[str, Any]
    ) -> WorkOrder:
        """Journal the change, then apply it (under the lock): a store that fails changes
        nothing."""
        events = journal.to_events(EventKind.WORKORDER, [ts], [equipment], [order_id], [value],
                                   [detail])  # fmt: skip
        self.store.append(PointBatch.empty(), events)
        _apply(self._orders, JournalEntry(ts, equipment, order_id, value, detail))
        return self._orders[order_id]


def maintenance_windows(
    orders: Iterable[WorkOrder], origin_us: int, unit_s: float
) -> dict[str, tuple[Window, ...]]:
    """Per equipment path, the windows of its scheduled orders in a plan's time units (``unit_s``
    seconds from ``origin_us``), for :class:`~smartfab.apps.scheduling.problem.Machine`'s
    ``unavailable``. Windows over before the origin are left out; one that has begun starts at
    0. Bounds round outwards: a plan must not nibble at a maintenance."""
    unit_us = unit_s * 1_000_000
    out: dict[str, list[Window]] = {}
    for o in orders:
        if o.status is not Status.SCHEDULED or o.window_start_us is None:
            continue
        assert o.window_end_us is not None
        end = math.ceil((o.window_end_us - origin_us) / unit_us)
        if end <= 0:
            continue
        start = max(0, math.floor((o.window_start_us - origin_us) / unit_us))
        out.setdefault(o.equipment, []).append(Window(start, end, f"maintenance {o.id}"))
    return {eq: tuple(sorted(ws, key=lambda w: w.start)) for eq, ws in out.items()}


def raise_orders(
    assessments: Iterable[Assessment], orders: WorkOrders, horizon_h: float, now: int
) -> list[WorkOrder]:
    """A work order for each equipment whose failure is predicted within ``horizon_h`` hours
    and that has no open one yet; the new orders. Due when the failure is predicted."""
    new = []
    for a in assessments:
        if not a.failure_predicted(horizon_h):
            continue
        assert a.rul_h is not None and a.rul_low_h is not None and a.rul_high_h is not None
        assert a.ts is not None  # a RUL is predicted at a row
        evidence = Evidence(round(a.current_health, 1), round(a.rul_h, 1), round(a.rul_low_h, 1),
                            round(a.rul_high_h, 1), len(a.anomalies), a.model)  # fmt: skip
        # The prediction is from the last row; the planner's clock is now.
        due = max(now, a.ts + a.step_us) + round(a.rul_h * HOUR_US)
        order = orders.raise_for(a.equipment, due, a.mode, evidence)
        if order is not None:
            new.append(order)
    return new


async def raise_alarms(
    assessments: Iterable[Assessment], engine: AlarmEngine, horizon_h: float, now: int
) -> list[AlarmStatus]:
    """Raise the predicted-failure alarm of each equipment whose failure is predicted within
    ``horizon_h`` hours, and clear it where it is no longer; the alarms that exist after."""
    out = []
    for a in assessments:
        if a.rul_h is None:
            continue  # no RUL model: no prediction to raise or clear an alarm by
        status = await engine.predict_failure(a.equipment, a.failure_predicted(horizon_h), now,
                                              a.rul_h)  # fmt: skip
        if status is not None:
            out.append(status)
    return out


async def act_on_predictions(
    assessments: Iterable[Assessment], orders: WorkOrders, engine: AlarmEngine | None,
    horizon_h: float, now: int,
) -> list[WorkOrder]:  # fmt: skip
    """Work orders (:func:`raise_orders`, in a worker thread: it writes to the store) and, with
    an ``engine``, predicted-failure alarms (:func:`raise_alarms`) for failures predicted within
    ``horizon_h`` hours; the new orders."""
    found = list(assessments)
    new = await asyncio.to_thread(raise_orders, found, orders, horizon_h, now)
    if engine is not None:
        await raise_alarms(found, engine, horizon_h, now)
    return new


def respecting(problem: Problem, orders: Iterable[WorkOrder], origin_us: int,
               unit_s: float) -> Problem:  # fmt: skip
    """``problem`` with the maintenance windows of scheduled orders added to its machines'
    unavailability: a machine takes the windows of the equipment it is named after (its path,
    or the last part of it as on the shop floor: ``cnc-01``)."""
    windows = maintenance_windows(orders, origin_us, unit_s)
    if not windows:
        return problem
    by_name: dict[str, tuple[Window, ...]] = {}
    for equipment, ws in windows.items():
        for name in (equipment, equipment.rsplit("/", 1)[-1]):
            by_name[name] = by_name.get(name, ()) + ws
    machines = tuple(
        replace(m, unavailable=m.unavailable + by_name[m.name]) if m.name in by_name else m
        for m in problem.machines
    )
    return replace(problem, machines=machines)
