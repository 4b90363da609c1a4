"""The virtual warehouse as a live view: a simulation that advances with the wall clock (``speed``
simulated seconds a second) whenever it is looked at, and a snapshot of what is where.

It starts a few hours into its first day so that there is stock, traffic and orders to see, and
starts over with the next seed at the end of its horizon. Nothing runs between two looks: a
server that nobody asks spends nothing on it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np

from smartfab.apps.warehouse import tracking
from smartfab.model.plant import AsrsAisle, Plant, Rack
from smartfab.virtual.warehouse.sim import DAY_S, DUE_AFTER_S, VirtualWarehouse

WARMUP_S = 9 * 3600.0  # after the first truck and a few hours of orders
MAX_ORDERS = 40  # the orders a snapshot lists: every open one first, then the latest shipped
MAX_EPCIS_EVENTS = 10_000  # the movements an export holds, the latest


class LiveWarehouse:
    """One storage zone of ``plant`` simulated live; thread-safe (a lock around each step)."""

    def __init__(
        self,
        plant: Plant,
        zone: str,
        *,
        seed: int = 0,
        optimised: bool = True,
        speed: float = 30.0,
        days: float = 1.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.plant, self.zone_name = plant, zone
        self.optimised, self.speed, self.days = optimised, speed, days
        self._clock = clock
        self._lock = threading.Lock()
        self._start(seed)

    def _start(self, seed: int) -> None:
        self.seed = seed
        self.sim = VirtualWarehouse(self.plant, self.zone_name, seed=seed, optimised=self.optimised)
        self.sim.begin(self.days)
        self.sim.advance(WARMUP_S)
        self._wall0 = self._clock()

    def step(self) -> VirtualWarehouse:
        """Advance to the wall clock's time; past the horizon, start over with the next seed."""
        with self._lock:
            t = WARMUP_S + (self._clock() - self._wall0) * self.speed
            if t >= self.days * DAY_S:
                self._start(self.seed + 1)
            else:
                self.sim.advance(t)
            return self.sim

    def snapshot(self) -> dict[str, Any]:
        """Where the AGVs are and how they are, each storage unit's occupancy by bay and level,
        the cranes, the sorter's chutes, the orders with their status and ETA, and the KPIs."""
        sim = self.step()
        with self._lock:
            return _snapshot(sim, self.seed, self.speed, self.optimised)

    def epcis_events(self) -> list[dict[str, Any]]:
        """The latest ``MAX_EPCIS_EVENTS`` movements so far as EPCIS events."""
        sim = self.step()
        with self._lock:
            moves = sim.movements[-MAX_EPCIS_EVENTS:]
            return [tracking.epcis_event(m, sim.zone.name, sim.start_us) for m in moves]


def _iso(sim: VirtualWarehouse, t: float) -> str:
    us = sim.start_us + round(t * 1e6)
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat().replace("+00:00", "Z")


def _snapshot(sim: VirtualWarehouse, seed: int, speed: float, optimised: bool) -> dict[str, Any]:
    fleet = sim.fleet_model
    serial = {a.name: a.serial for a in fleet.agvs}
    agvs = []
    for st in sim.planner.agents():
        a = sim.agvs[st.id]
        if a.broken_until > sim.now:
            state = "broken"
        elif a.charging:
            state = "charging"
        elif st.task is not None:
            state = "loaded" if st.loaded else "moving"
        else:
            state = "idle"
        agvs.append({"name": st.id, "serial": serial[st.id], "x": st.cell[0], "y": st.cell[1],
                     "goal": list(st.goal), "battery": a.battery_wh / a.capacity_wh,
                     "state": state})  # fmt: skip
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
    shipped = [o.shipped - o.created for o in sim.orders.values() if o.shipped is not None]
    lead_s = float(np.mean(shipped)) if shipped else DUE_AFTER_S / 2
    statuses = tracking.order_status(
        sim.movements,
        {o.id: (o.created, o.due, len(o.lines)) for o in sim.orders.values()},
        sim.now,
        lead_s,
    )
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
