"""The virtual warehouse as a live view on the plant's clock: a simulation whose time is the
wall-clock time now (at ``speed`` 1), advanced whenever it is looked at, and a snapshot of what is
where.

Its days are the plant's days (midnight in the site's time zone), so that the order intake's
daily profile and the trucks fall on the hours they are planned for. It starts at the midnight
before now (the one before that in the first hours of a day, so that there is stock, traffic and
orders to see) and simulates up to now at once, a few seconds; at the end of its horizon it starts
over, on the clock again, with the next seed. Nothing runs between two looks: a server that
nobody asks spends nothing on it (the server's VDA 5050 bridge looks once a second while its
AGVs are on a broker, as real AGVs would not stop either, and at once when an instant action
comes in).

Each run's fleet manager names its orders with the run's seed and the wall-clock millisecond it
started, so that order ids do not repeat when the simulation starts over.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from smartfab.apps.warehouse import tracking
from smartfab.devices.vda5050.messages import Message, Topic
from smartfab.errors import SmartfabError
from smartfab.model.plant import AsrsAisle, Plant, Rack
from smartfab.virtual.warehouse.demand import DAY_S
from smartfab.virtual.warehouse.sim import VirtualWarehouse
from smartfab.virtual.warehouse.vda_agvs import VirtualAgvs

WARMUP_S = 9 * 3600.0  # at least this much simulated before the view: trucks, orders, traffic
MAX_ORDERS = 40  # the orders a snapshot lists: every open one first, then the latest shipped
MAX_EPCIS_EVENTS = 10_000  # the movements an export holds, the latest


class VdaOffline(SmartfabError):
    """No VDA 5050 bridge is connected to the fleet's broker: a command cannot reach the AGVs."""


@dataclass
class VdaInbox:
    """What came over the broker since the last round: for the AGVs, orders and instant
    actions (serial, message); for the fleet manager, the AGVs' latest states (serial ->
    state)."""

    orders: list[tuple[str, Message]] = field(default_factory=list)
    instant_actions: list[tuple[str, Message]] = field(default_factory=list)
    states: dict[str, Message] = field(default_factory=dict)


@dataclass
class VdaRound:
    """What a round sends: the run's AGVs (a new run has new ones), the fleet manager's
    messages (serial, topic, message: orders, and the operators' instant actions) and every
    AGV's state and visualization (serial, state, visualization)."""

    agvs: VirtualAgvs
    fleet: list[tuple[str, Topic, Message]]
    states: list[tuple[str, Message, Message]]


class LiveWarehouse:
    """One storage zone of ``plant`` simulated live; thread-safe (a lock around each step)."""

    def __init__(
        self,
        plant: Plant,
        zone: str,
        *,
        seed: int = 0,
        optimised: bool = True,
        speed: float = 1.0,
        days: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock``: the wall-clock time in epoch seconds; ``speed``: simulated seconds a
        second of it (1: the simulation shows the plant's time now; more runs ahead of it);
        ``days``: the horizon, from the first look on."""
        self.plant, self.zone_name = plant, zone
        self.optimised, self.speed, self.days = optimised, speed, days
        self._clock = clock
        self._tz = ZoneInfo(plant.site.timezone)
        self._lock = threading.Lock()
        # What goes over VDA 5050 about this zone (counts by topic, AGVs online), when the
        # server runs its bridge to the broker: shown with the snapshot.
        self.vda5050: dict[str, Any] | None = None
        # Set by the bridge: wakes it for a round now (callable from any thread).
        self.wake_vda5050: Callable[[], object] = lambda: None
        self._commands: list[tuple[str, Message]] = []  # the operators' instant actions
        self._start(seed)

    def _start(self, seed: int) -> None:
        self.seed = seed
        now = self._clock()
        local = datetime.fromtimestamp(now, self._tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if (local - midnight).total_seconds() < WARMUP_S:
            midnight -= timedelta(days=1)
        start = midnight.timestamp()
        self.sim = VirtualWarehouse(
            self.plant, self.zone_name, seed=seed, optimised=self.optimised,
            start_us=round(start * 1e6), run=f"s{seed}.{round(now * 1000):x}",
        )  # fmt: skip
        self._wall0, self._t0 = now, now - start
        self.sim.begin(self._t0 / DAY_S + self.days)  # ``days`` ahead of now
        self.sim.advance(self._t0)
        self.agvs = VirtualAgvs(self.sim)

    def step(self) -> VirtualWarehouse:
        """Advance to the clock's time; past the horizon, start over with the next seed."""
        with self._lock:
            t = self._t0 + (self._clock() - self._wall0) * self.speed
            if t >= self.sim.end:
                self._start(self.seed + 1)
            else:
                self.sim.advance(t)
            return self.sim

    def snapshot(self) -> dict[str, Any]:
        """Where the AGVs are and how they are, each storage unit's occupancy by bay and level,
        the cranes, the sorter's chutes, the orders with their status and ETA, the KPIs, and
        what goes over VDA 5050 (None when nothing does)."""
        sim = self.step()
        with self._lock:
            return {**_snapshot(sim, self.seed, self.speed, self.optimised),
                    "vda5050": self.vda5050}  # fmt: skip

    def vda5050_round(self, inbox: VdaInbox) -> VdaRound:
        """Take what came in since the last round (``_take``), advance to now, and return what
        goes out."""
        with self._lock:
            self._take(inbox)
            before = self.sim
        sim = self.step()
        with self._lock:
            if sim is not before:  # it started over: new AGVs, which have received nothing
                self._take(VdaInbox())
            states = self.agvs.messages(sim)
            commands, self._commands = self._commands, []
            # After the states: each route starts where its AGV's state says it stands.
            orders = sim.manager.orders()
            fleet: list[tuple[str, Topic, Message]] = [
                *((s, "instantActions", c) for s, c in commands),
                *((s, "order", o) for s, o in orders),
            ]
            return VdaRound(self.agvs, fleet, states)

    def _take(self, inbox: VdaInbox) -> None:
        """What came in, before the simulation moves on: the AGVs' orders and instant actions,
        and the fleet manager's reading of their states. From the first round on, the
        simulation's AGVs move as VDA 5050 AGVs do: the virtual ones only onto the nodes their
        orders release, real ones (``virtual_agvs: false``) to where their states report them."""
        sim, agvs = self.sim, self.agvs
        for serial, order in inbox.orders:
            agvs.take_order(serial, order)
        for serial, actions in inbox.instant_actions:
            agvs.take_instant_actions(serial, actions)
        for serial, state in inbox.states.items():
            sim.manager.on_state(serial, state)
        if sim.fleet_model.virtual_agvs:
            agvs.drive(sim)
        elif sim.motion_gate is None:
            sim.motion_gate = sim.manager.reported_moves

    def instant_action(self, serial: str, action_type: str) -> Message:
        """The fleet manager's ``instantActions`` message of one action to the AGV, sent at the
        bridge's next round (woken now). ``KeyError`` for a serial not in the fleet,
        ``VdaOffline`` when no bridge is connected to the broker."""
        if not (self.vda5050 or {}).get("connected"):
            raise VdaOffline(
                "the fleet's MQTT broker is not connected: start it (or fix the fleet's"
                " connection in the plant model) and try again"
            )
        with self._lock:
            message = self.sim.manager.instant_action(serial, action_type)
            self._commands.append((serial, message))
        self.wake_vda5050()
        return message

    def order_statuses(self) -> list[tracking.OrderStatus]:
        """Every order's status and ETA now (``tracking.order_status``)."""
        sim = self.step()
        with self._lock:
            return _statuses(sim)

    def epcis_events(self) -> list[dict[str, Any]]:
        """The latest ``MAX_EPCIS_EVENTS`` movements so far as EPCIS events."""
        sim = self.step()
        with self._lock:
            moves = sim.movements[-MAX_EPCIS_EVENTS:]
            return [tracking.epcis_event(m, sim.zone.name, sim.start_us) for m in moves]


def _iso(sim: VirtualWarehouse, t: float) -> str:
    us = sim.start_us + round(t * 1e6)
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def _statuses(sim: VirtualWarehouse) -> list[tracking.OrderStatus]:
    shipped = [o.shipped - o.created for o in sim.orders.values() if o.shipped is not None]
    lead_s = float(np.mean(shipped)) if shipped else sim.demand.departure_h * 3600.0
    return tracking.order_status(
        sim.movements,
        {o.id: (o.created, o.due, len(o.lines)) for o in sim.orders.values()},
        sim.now,
        lead_s,
    )


def _snapshot(sim: VirtualWarehouse, seed: int, speed: float, optimised: bool) -> dict[str, Any]:
    fleet = sim.fleet_model
    serial = {a.name: a.serial for a in fleet.agvs}
    agvs = []
    for st in sim.planner.agents():
        a = sim.agvs[st.id]
        paused = sim.manager.paused.get(st.id, False)  # as the AGV's state says
        if a.broken_until > sim.now:
            state = "broken"
        elif paused:
            state = "paused"
        elif a.charging:
            state = "charging"
        elif st.task is not None:
            state = "loaded" if st.loaded else "moving"
        else:
            state = "idle"
        agvs.append({"name": st.id, "serial": serial[st.id], "x": st.cell[0], "y": st.cell[1],
                     "goal": list(st.goal), "battery": a.battery_wh / a.capacity_wh,
                     "state": state, "paused": paused})  # fmt: skip
    occupancy = []
    units: list[AsrsAisle | Rack] = [*sim.zone.asrs, *sim.zone.racks]
    for unit in units:
        held = Counter((loc[2], loc[3]) for loc in sim.stock if loc[0] == unit.name)
        sides = 2 if unit.name in sim.cranes else 1
        occupancy.append({
            "unit": unit.name, "kind": "asrs" if sides == 2 else "rack", "bays": unit.bays,
            "levels": unit.levels, "sides": sides,
            # [level][bay]: occupied locations of the bay at that level, as a share
            "fill": [[held[(b, lv)] / sides for b in range(unit.bays)]
                     for lv in range(unit.levels)],
        })  # fmt: skip
    cranes = [
        {"name": c.aisle.crane.name, "aisle": c.aisle.name,
         "state": "busy" if c.busy_until > sim.now else "idle",
         "queued": len(c.stores) + len(c.retrievals),
         "utilisation": c.busy_s / max(sim.now, 1.0), "travel_m": c.travel_m, **c.cycles}
        for c in sim.cranes.values()
    ]  # fmt: skip
    sorter = None
    if sim.sorter is not None:
        chutes = [{"name": c.name, "items": sim.chutes[c.name], "capacity": c.capacity,
                   "dock": c.dock, "full": sim.chutes[c.name] >= c.capacity}
                  for c in sim.sorter.chutes]  # fmt: skip
        sorter = {"name": sim.sorter.name, "recirculations": sim.recirculations,
                  "state": "running" if sim.induct_free_at > sim.now else "idle",
                  "chutes": chutes}  # fmt: skip
    statuses = _statuses(sim)
    statuses.sort(key=lambda s: (s.status == "shipped", -s.created))
    orders = [
        {"id": s.id, "status": s.status, "lines": s.lines, "lines_done": s.lines_done,
         "created": _iso(sim, s.created), "due": _iso(sim, s.due), "eta": _iso(sim, s.eta),
         "late": s.late}
        for s in statuses[:MAX_ORDERS]
    ]  # fmt: skip
    metrics = sim.metrics()
    return {
        "zone": sim.zone.name,
        "time": _iso(sim, sim.now),
        "seed": seed,
        "speed": speed,
        "optimised": optimised,
        "agvs": agvs,
        "occupancy": occupancy,
        "cranes": cranes,
        "sorter": sorter,
        "orders": orders,
        "orders_open": sum(s.status != "shipped" for s in statuses),
        "orders_late": sum(s.late and s.status != "shipped" for s in statuses),
        "kpis": {k: metrics[k] for k in KPIS},
    }


KPIS = (
    "otif",
    "orders",
    "orders_shipped",
    "lead_time_h",
    "dock_to_stock_min",
    "inventory_accuracy",
    "travel_m_per_line",
    "throughput_lines_per_h",
    "crane_utilisation",
    "agv_utilisation",
    "line_stockouts",
)


class LiveZones:
    """The live warehouses of a plant's storage zones, by path (``site/area/zone``), each
    started on its first use: what the web app shows and the late-order alarms watch."""

    def __init__(self, plant: Callable[[], Plant | None]) -> None:
        self._plant = plant
        self._lock = threading.Lock()
        self._running: dict[str, LiveWarehouse] = {}

    def paths(self) -> dict[str, str]:
        """Zone path -> zone name, of the plant now (none without a plant)."""
        plant = self._plant()
        if plant is None:
            return {}
        site = plant.site.name
        return {f"{site}/{a.name}/{z.name}": z.name for a, z in plant.iter_zones()}

    def simulated(self) -> list[str]:
        """The paths of the zones the virtual warehouse can simulate (an AGV fleet and
        storage)."""
        plant = self._plant()
        if plant is None:
            return []
        return [
            p for p, name in self.paths().items()
            if (z := plant.zone(name)).fleet is not None and (z.asrs or z.racks)
        ]  # fmt: skip

    def get(self, path: str, **options: Any) -> LiveWarehouse:
        """The zone's live warehouse, started now (with ``options``: seed, optimised, speed)
        when it runs not yet or ``options`` are given. ``KeyError`` for an unknown path,
        ``VirtualWarehouseError`` for a zone it cannot simulate."""
        name = self.paths()[path]
        plant = self._plant()
        assert plant is not None
        with self._lock:  # one start per zone, even when the page and a client ask at once
            if options or path not in self._running:
                self._running[path] = LiveWarehouse(plant, name, **options)
            return self._running[path]

    def running(self, path: str) -> LiveWarehouse | None:
        """The zone's live warehouse if it has been started, without starting it (nor waiting
        for one being started: the event loop asks)."""
        return self._running.get(path)
