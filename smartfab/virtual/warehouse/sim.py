"""The virtual warehouse: one storage zone of a plant, simulated event by event with its ground
truth recorded.

What moves: inbound trucks bring totes to the inbound docks; AGVs (planned as a fleet, see
``smartfab.apps.warehouse.fleet``) carry them to the AS/RS input/output points or the racks;
stacker cranes store and retrieve (single or dual command cycles, ``kinematics``); retrieved totes
ride a conveyor to a goods-to-person station, whose picker takes the order line; the item rides
on to the cross-belt sorter (induction rate, a full chute sends it round again) and waits in its
order's chute until the order is complete and ships. Customer orders arrive with due dates. The
lines' materials are consumed by the good parts the virtual plant's machines count
(``smartfab.virtual.factory``), and a line-side stock at its reorder point calls for a
replenishment. AGVs drain their batteries, charge, and break down.

``optimised`` switches the warehouse's decisions from the plain baseline (random storage, one
order line per tote retrieval, single command cycles) to class-based slotting (A items nearest the
input/output point), batching (one tote retrieval serves every waiting line of its SKU) and dual
command cycles. Every movement of goods is a ``Movement`` in ``movements`` (the ground truth that
tracking turns into EPCIS events).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from smartfab.apps.warehouse.fleet import FleetManager, grid_of
from smartfab.apps.warehouse.mapf import FleetPlanner, Task
from smartfab.apps.warehouse.tracking import Movement, MovementKind
from smartfab.errors import SmartfabError
from smartfab.model.plant import (
    AgvFleet,
    Area,
    AsrsAisle,
    Dock,
    Equipment,
    Line,
    LineMaterial,
    Plant,
    Sku,
    StorageZone,
    WorkCell,
)
from smartfab.virtual.factory import VirtualFactory
from smartfab.virtual.warehouse import kinematics as kin
from smartfab.virtual.warehouse.demand import DAY_S, Demand, OrderDraw, draw_orders, expected_lines

Cell = tuple[int, int]
# (unit name, side, bay, level): a storage location
Loc = tuple[str, int, int, int]

TARGET_TOTES = {"A": 30, "B": 16, "C": 6}  # the stock an inbound truck fills up to, in loads
PUT_S = 10.0  # a chute's packer puts an item from the chute into its order's carton
PACK_S = (60.0, 15.0)  # and closes a complete order: seconds, and seconds a line
SAFETY = 1.3  # a truck fills up to what the customers order till the next one, times this
INBOUND_AT_S = (6 * 3600.0, 14 * 3600.0)  # truck arrivals each day
UNLOAD_S = 45.0  # a forklift unloads a load from a truck
MISPICK = 0.002  # a picker's count is off by one on this share of picks
AGV_MTBF_S = 120 * 3600.0
AGV_REPAIR_S = (900.0, 3600.0)
IDLE_W = 60.0


class VirtualWarehouseError(SmartfabError):
    """The plant's zone cannot be simulated (no fleet, no storage, ...)."""


@dataclass
class OrderLine:
    sku: str
    qty: int
    allocated: int = 0  # reserved from loads on their way
    sorted_qty: int = 0
    short: bool = False


@dataclass
class CustomerOrder:
    id: str
    created: float
    due: float
    lines: list[OrderLine]
    chute: str
    shipped: float | None = None
    packed: float | None = None  # packed and staged at its dock for the next departure
    pending: int = 0  # loads retrieved for it whose items are not in its carton yet

    @property
    def in_full(self) -> bool:
        return all(not li.short and li.sorted_qty >= li.qty for li in self.lines)

    @property
    def on_time(self) -> bool:
        return self.shipped is not None and self.shipped <= self.due


@dataclass
class _Agv:
    name: str
    battery_wh: float
    capacity_wh: float
    broken_until: float = 0.0
    next_failure: float = 0.0
    charging: bool = False
    plugged: bool = False
    moving_s: float = 0.0
    cells: int = 0


@dataclass
class _Crane:
    aisle: AsrsAisle
    stores: deque[tuple[Loc, Callable[[], None]]] = field(default_factory=deque)
    retrievals: deque[tuple[Loc, Callable[[], None]]] = field(default_factory=deque)
    busy_until: float = 0.0
    busy_s: float = 0.0
    travel_m: float = 0.0
    cycles: dict[str, int] = field(default_factory=lambda: {"single": 0, "dual": 0})


@dataclass
class _LineStock:
    line: str
    material: LineMaterial
    stock: float
    coming: float = 0.0
    used: float = 0.0  # consumed since the last record
    stockout_s: float = 0.0
    stockouts: int = 0
    out: bool = False


class VirtualWarehouse:
    def __init__(
        self,
        plant: Plant,
        zone: str | None = None,
        *,
        seed: int = 0,
        optimised: bool = True,
        start_us: int = 1_767_225_600_000_000,  # 2026-01-01 00:00 UTC
        demand: Demand | None = None,
        run: str | None = None,
    ) -> None:
        """``run``: what the fleet manager's order ids begin with (default: the seed's)."""
        zones = [z for _, z in plant.iter_zones() if zone is None or z.name == zone]
        if not zones:
            raise VirtualWarehouseError(f"no storage zone {zone!r} in the plant")
        self.plant = plant
        self.zone: StorageZone = zones[0]
        if self.zone.fleet is None:
            raise VirtualWarehouseError(f"zone {self.zone.name!r} has no AGV fleet to simulate")
        if not self.zone.asrs and not self.zone.racks:
            raise VirtualWarehouseError(f"zone {self.zone.name!r} has no racks and no AS/RS")
        self.fleet_model: AgvFleet = self.zone.fleet
        self.optimised = optimised
        self.seed = seed
        self.start_us = start_us
        self.demand = demand if demand is not None else Demand.of(self.zone.demand)
        # One stream per source of chance, so that the baseline and the optimised warehouse see
        # the same orders, trucks and breakdowns whatever their decisions draw.
        streams = np.random.default_rng(seed).spawn(4)
        self.rng, self.demand_rng, self.fail_rng, self.pick_rng = streams
        self.now = 0.0
        self.movements: list[Movement] = []
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self.tick_s = self.zone.floor.cell_m / min(a.speed_m_s for a in self.fleet_model.agvs)
        # storage
        self.skus = {k.code: k for k in plant.site.skus}
        if not self.skus:
            raise VirtualWarehouseError("the site has no skus to store")
        self.cranes = {a.name: _Crane(a) for a in self.zone.asrs}
        self.unit_at: dict[str, Cell] = {u.name: u.at for _, _, u in self.zone.units()}
        self.locations = self._locations()
        self._access = {loc: self.access_s(loc) for loc in self.locations}
        # the locations nearest first, the AS/RS's and the racks' apart (slotting walks them)
        nearest = sorted(self.locations, key=lambda loc: (self._access[loc], loc))
        self._nearest = {small: [loc for loc in nearest if (loc[0] in self.cranes) == small]
                         for small in (True, False)}  # fmt: skip
        self.stock: dict[Loc, list[object]] = {}  # loc -> [sku, physical qty, recorded qty, load]
        self.free: set[Loc] = set(self.locations)
        self.by_sku: dict[str, set[Loc]] = defaultdict(set)
        self.reserved: set[Loc] = set()
        # the fleet
        self.planner = FleetPlanner(grid_of(self.zone), seed=seed)
        self.manager = FleetManager(self.zone, self.fleet_model, self.planner, run or f"s{seed}")
        # Set when the AGVs drive by VDA 5050 orders: the cell each may enter now (its next
        # released node, None: none); unset, they go where the planner sends them.
        self.motion_gate: Callable[[], Mapping[str, Cell | None]] | None = None
        self.agvs: dict[str, _Agv] = {}
        for a in self.fleet_model.agvs:
            self.planner.add_agent(a.name, a.at)
            agv = _Agv(a.name, a.battery_wh, a.battery_wh)
            agv.next_failure = float(self.fail_rng.exponential(AGV_MTBF_S))
            self.agvs[a.name] = agv
        self._tasks: dict[str, tuple[Callable[[], None], float]] = {}
        self._ticking = False
        self.unreachable: list[str] = []
        # picking, sorting, shipping
        self.gtp_free_at = {g.name: 0.0 for g in self.zone.gtp_stations}
        sorter = self.zone.sorters[0] if self.zone.sorters else None
        self.sorter = sorter
        self.chutes: dict[str, int] = {c.name: 0 for c in sorter.chutes} if sorter else {}
        self.chute_cycle = itertools.cycle(list(self.chutes) or ["-"])
        self.packer_free_at: dict[str, float] = defaultdict(float)  # one packer a chute
        self.induct_free_at = 0.0
        self.recirculations = 0
        self.orders: dict[str, CustomerOrder] = {}
        self.waiting: dict[str, list[tuple[CustomerOrder, OrderLine]]] = defaultdict(list)
        self.backlog: deque[CustomerOrder] = deque()  # the baseline's orders not released yet
        self.current: CustomerOrder | None = None  # the baseline's order being picked
        self.dock_to_stock: list[float] = []
        # the lines
        self.lines = [
            _LineStock(path, m, float(m.max_units))
            for path, line in self._supplied_lines()
            for m in line.materials
        ]

    # --- setup ------------------------------------------------------------------------------

    def _locations(self) -> list[Loc]:
        locs: list[Loc] = []
        for aisle in self.zone.asrs:
            locs += [(aisle.name, side, bay, level) for side in (0, 1)
                     for bay in range(aisle.bays) for level in range(aisle.levels)]  # fmt: skip
        for rack in self.zone.racks:
            locs += [(rack.name, 0, bay, level) for bay in range(rack.bays)
                     for level in range(rack.levels)]  # fmt: skip
        return locs

    def access_s(self, loc: Loc) -> float:
        """Seconds to reach a location from where its unit meets the floor: a crane's move, or
        a rack's bay walked along and its level lifted to."""
        crane = self.cranes.get(loc[0])
        if crane is not None:
            return kin.move_time(crane.aisle, kin.IO, (loc[2], loc[3]))
        return loc[2] * 1.0 + loc[3] * 2.0

    def _supplied_lines(self) -> list[tuple[str, Line]]:
        site = self.plant.site
        return [
            (f"{site.name}/{a.name}/{li.name}", li)
            for a in site.areas
            for li in a.lines
            if any(m.from_zone == self.zone.name for m in li.materials)
        ]

    def _consumption(self, days: float) -> dict[int, np.ndarray]:
        """Good parts per minute that consume each line material (by index in ``lines``), from
        the virtual plant's counter: the factory simulates only the counting machine and its
        good_count, sampled once a minute."""
        site = self.plant.site
        per_machine: dict[str, np.ndarray] = {}
        out: dict[int, np.ndarray] = {}
        minutes = math.ceil(days * 1440)
        for i, ls in enumerate(self.lines):
            area_name, line_name = ls.line.split("/")[1:3]
            area = next(a for a in site.areas if a.name == area_name)
            line = next(li for li in area.lines if li.name == line_name)
            counted = [(c, e) for c in line.cells for e in c.equipment
                       if any(s.role == "good_count" for s in e.signals)]  # fmt: skip
            name = ls.material.equipment
            cell, eq = next(((c, e) for c, e in counted if e.name == name), counted[-1])
            key = f"{ls.line}/{cell.name}/{eq.name}"
            if key not in per_machine:
                per_machine[key] = self._counts(area, line, cell, eq, minutes)
            out[i] = per_machine[key]
        return out

    def _counts(self, area: Area, line: Line, cell: WorkCell, eq: Equipment, minutes: int
                ) -> np.ndarray:  # fmt: skip
        good = next(s for s in eq.signals if s.role == "good_count")
        if eq.model is None or good.sim is None:  # real equipment: nothing to simulate
            return np.zeros(minutes)
        one = eq.model_copy(update={"signals": [good.model_copy(update={"sample_s": 60.0})]})
        small_line = line.model_copy(
            update={"cells": [cell.model_copy(update={"equipment": [one]})], "materials": []}
        )
        small_area = area.model_copy(update={"lines": [small_line], "storage_zones": []})
        small = self.plant.model_copy(
            update={"site": self.plant.site.model_copy(update={"areas": [small_area]})}
        )
        path = next(iter(small.iter_signals())).path
        factory = VirtualFactory(small, {path: 0}, seed=self.seed, start_us=self.start_us)
        points, _ = factory.advance(self.start_us + (minutes + 1) * 60 * 1_000_000)
        counter = np.asarray(points.value[: minutes + 1], np.float64)
        parts = np.diff(counter)
        return np.clip(np.pad(parts, (0, max(0, minutes - parts.size))), 0, None)

    # --- the event loop ---------------------------------------------------------------------

    def at(self, t: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (t, next(self._seq), action))

    def run(self, days: float) -> dict[str, float]:
        """Simulate ``days`` from the start and return the metrics (``metrics``)."""
        self.begin(days)
        self.advance(days * DAY_S)
        return self.metrics()

    def begin(self, days: float) -> None:
        """Set up ``days`` of trucks, orders and the lines' consumption; ``advance`` then runs
        them, at once or a piece at a time (a live view)."""
        end = days * DAY_S
        self.end = end
        per_minute = self._consumption(days)
        # what an inbound truck fills up to: a base by demand class, and for the lines'
        # materials what the lines use between two trucks
        self.target = {c: TARGET_TOTES[k.demand_class] for c, k in self.skus.items()}
        kinds = {c: (k.demand_class, k.per_tote) for c, k in self.skus.items()}
        per_sku = expected_lines(self.demand, kinds)
        # the customers order most between the trucks in the busiest part of the day
        peak = max(self.demand.share_between(INBOUND_AT_S))
        for code, sku in self.skus.items():  # and what the customers order between two trucks
            lines = per_sku[code]
            units = lines * (1 if sku.per_tote == 1 else (min(sku.per_tote, 20) + 1) / 2)
            self.target[code] += math.ceil(units * peak * SAFETY / sku.per_tote)
        for i, parts in per_minute.items():
            m = self.lines[i].material
            per_day = float(parts.mean()) * 1440 * m.per_part if parts.size else 0.0
            self.target[m.sku] += math.ceil(per_day / len(INBOUND_AT_S) / self.skus[m.sku].per_tote)
        self._fill_initial_stock()
        for i, parts in per_minute.items():
            self.at(60.0, partial(self._consume, i, parts, 0))
        for day in range(math.ceil(days)):
            for t in INBOUND_AT_S:
                if day * DAY_S + t < end:
                    self.at(day * DAY_S + t, self._inbound_truck)
        for draw in draw_orders(self.demand, kinds, days, self.demand_rng):
            self.at(draw.t, partial(self._new_order, draw))

    def advance(self, until_s: float) -> None:
        """Run every event up to ``until_s`` seconds from the start (at most the end ``begin``
        set)."""
        until = min(until_s, self.end)
        while self._events and self._events[0][0] <= until:
            t, _, action = heapq.heappop(self._events)
            self.now = t
            action()
        self.now = max(self.now, until)

    # --- storage ----------------------------------------------------------------------------

    def _load_id(self) -> str:
        return f"L{next(self._ids):08d}"

    def _is_small(self, sku: Sku) -> bool:
        """Small parts (many a tote) go to the miniload AS/RS, pallets of one to the racks."""
        return (sku.per_tote > 1 and bool(self.cranes)) or not self.zone.racks

    def _choose_slot(self, sku: Sku) -> Loc | None:
        free = [loc for loc in self._nearest[self._is_small(sku)]
                if loc in self.free and loc not in self.reserved]  # fmt: skip
        if not free:
            return None
        if not self.optimised:  # the baseline: any free location
            return free[int(self.rng.integers(len(free)))]
        # class-based slotting: A nearest the I/O point, C furthest, B in between
        share = {"A": 0.0, "B": 0.4, "C": 0.8}[sku.demand_class]
        return free[int(share * (len(free) - 1))]

    def _place(self, loc: Loc, sku: str, qty: int, load: str) -> None:
        self.free.discard(loc)
        self.reserved.discard(loc)
        self.stock[loc] = [sku, qty, qty, load]
        self.by_sku[sku].add(loc)

    def _fill_initial_stock(self) -> None:
        for sku in self.skus.values():
            for _ in range(self.target[sku.code] // 2):
                loc = self._choose_slot(sku)
                if loc is not None:
                    self._place(loc, sku.code, sku.per_tote, self._load_id())

    def recorded(self, sku: str) -> int:
        return sum(int(self.stock[loc][2]) for loc in self.by_sku[sku])  # type: ignore[call-overload]

    def _take_loc(self, sku: str) -> Loc | None:
        """A location holding ``sku`` not already being retrieved: the one reached first
        (optimised) or the first found (baseline)."""
        locs = [loc for loc in self.by_sku[sku] if loc not in self.reserved]
        if not locs:
            return None
        if self.optimised:
            return min(locs, key=lambda loc: (self._access[loc], loc))
        return min(locs)

    # --- cranes -----------------------------------------------------------------------------

    def _crane_job(self, loc: Loc, store: bool, done: Callable[[], None]) -> None:
        crane = self.cranes[loc[0]]
        (crane.stores if store else crane.retrievals).append((loc, done))
        self._crane_next(crane)

    def _crane_next(self, crane: _Crane) -> None:
        if crane.busy_until > self.now or not (crane.stores or crane.retrievals):
            return
        aisle = crane.aisle
        jobs: list[tuple[Loc, Callable[[], None]]]
        if self.optimised and crane.stores and crane.retrievals:
            s, r = crane.stores.popleft(), crane.retrievals.popleft()
            jobs = [s, r]
            secs = kin.dual_cycle(aisle, (s[0][2], s[0][3]), (r[0][2], r[0][3]))
            crane.travel_m += kin.travel_m(aisle, (s[0][2], s[0][3]), (r[0][2], r[0][3]))
            crane.cycles["dual"] += 1
        else:
            job = crane.retrievals.popleft() if crane.retrievals else crane.stores.popleft()
            jobs = [job]
            secs = kin.single_cycle(aisle, (job[0][2], job[0][3]))
            crane.travel_m += kin.travel_m(aisle, (job[0][2], job[0][3]))
            crane.cycles["single"] += 1
        crane.busy_until = self.now + secs
        crane.busy_s += secs

        def finish() -> None:
            for _, done in jobs:
                done()
            self._crane_next(crane)

        self.at(self.now + secs, finish)

    # --- AGVs -------------------------------------------------------------------------------

    def _transport(self, src: Cell, dst: Cell, done: Callable[[], None]) -> None:
        task_id = f"T{next(self._ids)}"
        self._tasks[task_id] = (done, self.now)
        self.planner.submit(Task(task_id, src, dst))
        self._tick_soon()

    def _tick_soon(self) -> None:
        if not self._ticking:
            self._ticking = True
            self.at(self.now + self.tick_s, self._tick)

    def _busy(self) -> bool:
        if self.planner.queued():
            return True
        return any(st.cell != st.goal and not st.broken and not st.held
                   for st in self.planner.agents())  # fmt: skip

    def _tick(self) -> None:
        before = {st.id: st.cell for st in self.planner.agents()}
        result = self.planner.step(self.motion_gate() if self.motion_gate else None)
        for name, cell in result.positions.items():
            agv = self.agvs[name]
            moved = cell != before[name]
            watts = self.fleet_model.agvs[0].drive_w if moved else IDLE_W
            agv.battery_wh = max(0.0, agv.battery_wh - watts * self.tick_s / 3600.0)
            if moved:
                agv.cells += 1
                agv.moving_s += self.tick_s
        for task_id in result.unreachable:
            self.unreachable.append(task_id)
            self._tasks.pop(task_id, None)
        for _, task_id in result.delivered:
            done, _ = self._tasks.pop(task_id)
            done()
        self._batteries_and_breakdowns()
        if self._busy():
            self.at(self.now + self.tick_s, self._tick)
        else:
            self._ticking = False

    def _batteries_and_breakdowns(self) -> None:
        chargers = self.fleet_model.chargers
        for st in self.planner.agents():
            agv = self.agvs[st.id]
            if st.broken:
                continue
            if agv.moving_s >= agv.next_failure:  # a breakdown after so much driving
                repair = float(self.fail_rng.uniform(*AGV_REPAIR_S))
                agv.next_failure = agv.moving_s + float(self.fail_rng.exponential(AGV_MTBF_S))
                self.planner.set_broken(st.id, True)
                agv.broken_until = self.now + repair
                self.at(self.now + repair, partial(self._repaired, st.id))
                continue
            low = agv.battery_wh < self.fleet_model.charge_below * agv.capacity_wh
            if chargers and low and st.task is None and not agv.charging:
                charger = min(chargers, key=lambda c: abs(c.at[0] - st.cell[0])
                              + abs(c.at[1] - st.cell[1]))  # fmt: skip
                self.planner.send(st.id, charger.at)
                agv.charging = True
            if agv.charging and not agv.plugged and st.cell == st.goal:
                at = next((c for c in chargers if c.at == st.cell), None)
                if at is not None:  # plugged in: full (95 %) after this long
                    agv.plugged = True
                    need = max(0.0, 0.95 * agv.capacity_wh - agv.battery_wh)
                    self.at(self.now + need / at.power_w * 3600.0, partial(self._charged, st.id))

    def _charged(self, name: str) -> None:
        agv = self.agvs[name]
        agv.battery_wh = 0.95 * agv.capacity_wh
        agv.charging = agv.plugged = False
        self.planner.send(name, None)
        self._tick_soon()

    def hold(self, name: str, held: bool) -> None:
        """Hold an AGV where it stands (paused, or without an order to drive) or let it go on
        with its task."""
        if self.planner.state(name).held != held:
            self.planner.set_held(name, held)
            if not held:
                self._tick_soon()

    def _repaired(self, name: str) -> None:
        self.planner.set_broken(name, False)
        self._tick_soon()

    # --- inbound ----------------------------------------------------------------------------

    def _inbound_truck(self) -> None:
        docks = [d for d in self.zone.docks if d.kind == "inbound"]
        if not docks:
            return
        dock = docks[int(self.demand_rng.integers(len(docks)))]
        arrived = self.now
        unloaded = itertools.count(1)
        for sku in self.skus.values():
            have = self.recorded(sku.code) // sku.per_tote
            for _ in range(max(0, self.target[sku.code] - have)):
                loc = self._choose_slot(sku)
                if loc is None:
                    break
                self.reserved.add(loc)
                load = self._load_id()
                self._move("receive", sku.code, sku.per_tote, load, "truck", dock.name)
                # the truck is unloaded a load at a time, each ready for an AGV
                put_away = partial(self._put_away, loc, sku, load, dock.at, arrived)
                self.at(arrived + UNLOAD_S * next(unloaded), put_away)

    def _put_away(self, loc: Loc, sku: Sku, load: str, src: Cell, arrived: float) -> None:
        unit = loc[0]

        def stored() -> None:
            self._place(loc, sku.code, sku.per_tote, load)
            self._move("store", sku.code, sku.per_tote, load, unit, _loc_name(loc))
            self.dock_to_stock.append(self.now - arrived)
            self._serve_waiting(sku.code)

        def at_unit() -> None:
            if unit in self.cranes:
                self._crane_job(loc, True, stored)
            else:
                stored()

        self._transport(src, self.unit_at[unit], at_unit)

    # --- customer orders --------------------------------------------------------------------

    def _new_order(self, draw: OrderDraw) -> None:
        lines = [OrderLine(sku, qty) for sku, qty in draw.lines]
        order = CustomerOrder(f"SO{next(self._ids):07d}", self.now, draw.due, lines,
                              next(self.chute_cycle))  # fmt: skip
        self.orders[order.id] = order
        self.at(order.due, lambda: self._due(order))
        if self.optimised:
            self._release(order)
        else:
            self.backlog.append(order)
            self._release_next()

    def _release_next(self) -> None:
        """The baseline releases one order at a time: the next in arrival order once the
        current one's items are all in its carton (or it waits for stock an inbound truck
        brings)."""
        while self.backlog and (self.current is None or self.current.pending == 0):
            order = self.backlog.popleft()
            if order.shipped is not None:  # its truck left before it was released
                continue
            self.current = order
            self._release(order)

    def _release(self, order: CustomerOrder) -> None:
        """Hand the order's lines to picking: each waits for a load of its SKU."""
        for line in order.lines:
            queue = self.waiting[line.sku]
            if self.optimised:  # earliest due date first; the baseline serves in arrival order
                at = len(queue)
                while at > 0 and queue[at - 1][0].due > order.due:
                    at -= 1
                queue.insert(at, (order, line))
            else:
                queue.append((order, line))
            self._serve_waiting(line.sku)

    def _serve_waiting(self, code: str) -> None:
        """Retrieve loads for the order lines waiting for ``code``: one load per line (the
        baseline), or one load for every waiting line it holds enough for (batching)."""
        while self.waiting[code]:
            loc = self._take_loc(code)
            if loc is None:
                return  # none in stock: the lines wait for the next inbound truck
            self.reserved.add(loc)
            have = int(self.stock[loc][1])  # type: ignore[call-overload]
            batch: list[tuple[CustomerOrder, OrderLine, int]] = []
            while self.waiting[code] and have > 0:
                order, line = self.waiting[code][0]
                need = line.qty - line.allocated
                if batch and (not self.optimised or need > have):
                    break
                take = min(need, have)
                have -= take
                line.allocated += take
                order.pending += 1  # an order has one line of a SKU: once a batch
                if line.allocated >= line.qty:  # else it waits for the next load
                    self.waiting[code].pop(0)
                batch.append((order, line, take))
                if not self.optimised:
                    break
            self._retrieve_for_orders(loc, batch)

    def _retrieve_for_orders(self, loc: Loc, batch: list[tuple[CustomerOrder, OrderLine, int]]
                             ) -> None:  # fmt: skip
        sku, _, _, load = self.stock[loc]
        unit = loc[0]
        self._move("retrieve", str(sku), 0, str(load), _loc_name(loc), unit)
        if unit in self.cranes:
            self._crane_job(loc, False, lambda: self._to_gtp(loc, batch))
        else:  # a rack's pallet: an AGV takes what the orders need to the sorter
            target = self.sorter.at if self.sorter else self._outbound().at
            self._transport(self.unit_at[unit], target, lambda: self._picked(loc, batch, unit))

    def _to_gtp(self, loc: Loc, batch: list[tuple[CustomerOrder, OrderLine, int]]) -> None:
        station = min(self.gtp_free_at, key=lambda g: self.gtp_free_at[g]) if self.gtp_free_at \
            else None  # fmt: skip
        conveyor = next((c for c in self.zone.conveyors if c.from_unit == loc[0]), None)
        ride = conveyor.length_m / conveyor.speed_m_s if conveyor else 30.0
        if station is None:
            self.at(self.now + ride, lambda: self._picked(loc, batch, loc[0]))
            return
        model = next(g for g in self.zone.gtp_stations if g.name == station)
        start = max(self.now + ride, self.gtp_free_at[station])
        done = start + len(batch) * 3600.0 / model.picks_per_hour
        self.gtp_free_at[station] = done
        self.at(done, lambda: self._picked(loc, batch, station))

    def _picked(self, loc: Loc, batch: list[tuple[CustomerOrder, OrderLine, int]], where: str
                ) -> None:  # fmt: skip
        entry = self.stock[loc]
        sku, load = str(entry[0]), str(entry[3])
        for order, line, take in batch:
            counted = take
            if take and self.pick_rng.random() < MISPICK:  # the picker's count is off by one
                counted = take + (1 if self.pick_rng.random() < 0.5 else -1)
            entry[1] = int(entry[1]) - counted  # type: ignore[call-overload]
            entry[2] = int(entry[2]) - take  # type: ignore[call-overload]
            self._move("pick", sku, take, load, where, order.chute, order.id)
            self._induct(order, line, take)
        if int(entry[2]) <= 0:  # type: ignore[call-overload]
            del self.stock[loc]
            self.by_sku[sku].discard(loc)
            self.reserved.discard(loc)
            self.free.add(loc)
            return
        if loc[0] in self.cranes:  # the rest of the tote goes back to its location
            self._crane_job(loc, True, lambda: self._returned(loc))
        else:
            self._returned(loc)

    def _returned(self, loc: Loc) -> None:
        self.reserved.discard(loc)
        self._serve_waiting(str(self.stock[loc][0]))

    def _induct(self, order: CustomerOrder, line: OrderLine, qty: int) -> None:
        """The sorter inducts at its rate; a carrier takes half a loop on average to the chute,
        a whole loop more each time the chute is full."""
        if self.sorter is None:
            self._sorted(order, line, qty)
            return
        start = max(self.now, self.induct_free_at)
        self.induct_free_at = start + 3600.0 / self.sorter.induction_per_hour
        loop = self.sorter.loop_m / self.sorter.speed_m_s
        self.at(start + loop / 2, lambda: self._to_chute(order, line, qty, loop))

    def _to_chute(self, order: CustomerOrder, line: OrderLine, qty: int, loop: float) -> None:
        chute = next(c for c in self.sorter.chutes if c.name == order.chute)  # type: ignore[union-attr]
        if order.shipped is not None or order.packed is not None:
            # the order left without it: the item goes to the dock as a back order
            self._move("ship", line.sku, qty, order.id, "sorter", self._outbound().name, order.id)
            self._done_with(order)
            return
        if self.chutes[chute.name] + 1 > chute.capacity:
            self.recirculations += 1
            self.at(self.now + loop, lambda: self._to_chute(order, line, qty, loop))
            return
        self.chutes[chute.name] += 1
        self._move("sort", line.sku, qty, order.id, "sorter", chute.name, order.id)
        # the chute buffers the items for its packer, who puts them into their orders' cartons
        start = max(self.now, self.packer_free_at[chute.name])
        self.packer_free_at[chute.name] = start + PUT_S
        self.at(start + PUT_S, partial(self._put, chute.name, order, line, qty))

    def _put(self, chute: str, order: CustomerOrder, line: OrderLine, qty: int) -> None:
        self.chutes[chute] -= 1
        self._sorted(order, line, qty)

    def _done_with(self, order: CustomerOrder) -> None:
        """A load's items for ``order`` are in its carton (or went after it)."""
        order.pending -= 1
        if not self.optimised:
            self._release_next()

    def _sorted(self, order: CustomerOrder, line: OrderLine, qty: int) -> None:
        line.sorted_qty += qty
        self._done_with(order)
        if (
            order.shipped is None
            and order.packed is None
            and all(li.sorted_qty >= li.qty or li.short for li in order.lines)
            and all(li.sorted_qty > 0 or li.short for li in order.lines)
        ):
            self._pack(order)

    def _pack(self, order: CustomerOrder) -> None:
        """The chute's packer closes the complete order and stages it at its dock; it leaves
        with the next departure."""
        order.packed = float("inf")  # being packed: no second packing, no short shipment
        start = max(self.now, self.packer_free_at[order.chute])
        done = start + PACK_S[0] + PACK_S[1] * len(order.lines)
        self.packer_free_at[order.chute] = done

        def staged() -> None:
            order.packed = self.now
            self.at(self.demand.departure_after(self.now), lambda: self._ship(order))

        self.at(done, staged)

    def _due(self, order: CustomerOrder) -> None:
        """Its truck leaves at the due time: an order not packed by then goes with what its
        chute holds, the rest is short."""
        if order.shipped is not None or order.packed is not None:
            return
        for line in order.lines:
            if line.sorted_qty < line.qty:
                line.short = True
        for code in {li.sku for li in order.lines}:
            self.waiting[code] = [(o, li) for o, li in self.waiting[code] if o is not order]
        self._ship(order)
        if not self.optimised:
            self._release_next()

    def _outbound(self) -> Dock:
        chute = next((c for c in self.sorter.chutes if c.dock), None) if self.sorter else None
        docks = [d for d in self.zone.docks if d.kind == "outbound"]
        return next((d for d in docks if chute and d.name == chute.dock), docks[0])

    def _ship(self, order: CustomerOrder) -> None:
        order.shipped = self.now
        dock = self._outbound().name if self.zone.docks else "dock"
        for line in order.lines:
            self._move("ship", line.sku, line.sorted_qty, order.id, order.chute, dock, order.id)

    # --- the lines --------------------------------------------------------------------------

    def _consume(self, i: int, parts: np.ndarray, minute: int) -> None:
        ls = self.lines[i]
        if minute < parts.size and parts[minute] > 0:
            need = float(parts[minute]) * ls.material.per_part
            used = min(need, ls.stock)
            ls.stock -= used
            if used < need:  # the line stands for want of material
                ls.stockout_s += 60.0 * (1 - used / need)
                if not ls.out:
                    ls.stockouts += 1
            ls.out = used < need
            ls.used += used
        if minute % 60 == 59 and ls.used >= 1:  # one consumption record an hour
            self._move("consume", ls.material.sku, round(ls.used), "", ls.line, ls.line)
            ls.used = 0.0
        if ls.stock + ls.coming <= ls.material.min_units:
            self._replenish(ls)
        if (minute + 1) * 60.0 < self.end:
            self.at(self.now + 60.0, lambda: self._consume(i, parts, minute + 1))

    def _replenish(self, ls: _LineStock) -> None:
        sku = self.skus[ls.material.sku]
        loads = math.ceil((ls.material.max_units - ls.stock - ls.coming) / sku.per_tote)
        for _ in range(loads):
            loc = self._take_loc(sku.code)
            if loc is None:
                return
            self.reserved.add(loc)
            entry = self.stock[loc]
            qty, load = int(entry[2]), str(entry[3])  # type: ignore[call-overload]
            ls.coming += qty
            self._move("retrieve", sku.code, 0, load, _loc_name(loc), loc[0])

            def delivered(loc: Loc = loc, qty: int = qty, load: str = load) -> None:
                ls.coming -= qty
                ls.stock += qty
                self._move("replenish", sku.code, qty, load, loc[0], ls.line)

            def carry(loc: Loc = loc, qty: int = qty) -> None:
                self._emptied(loc)
                self._transport(self.unit_at[loc[0]], ls.material.at, delivered)

            if loc[0] in self.cranes:
                self._crane_job(loc, False, carry)
            else:
                carry()

    def _emptied(self, loc: Loc) -> None:
        sku = str(self.stock.pop(loc)[0])
        self.by_sku[sku].discard(loc)
        self.reserved.discard(loc)
        self.free.add(loc)

    # --- ground truth and metrics -----------------------------------------------------------

    def _move(self, kind: MovementKind, sku: str, qty: int, load: str, src: str, dst: str,
              order: str = "") -> None:  # fmt: skip
        self.movements.append(Movement(self.now, kind, sku, qty, load, src, dst, order))

    def metrics(self) -> dict[str, float]:
        """OTIF, lead time, travel per order line, utilisation, stock-outs, dock-to-stock time,
        inventory accuracy, as of now."""
        due = [o for o in self.orders.values() if o.due <= self.now or o.shipped is not None]
        otif = sum(o.on_time and o.in_full for o in due) / len(due) if due else 1.0
        shipped = [o for o in self.orders.values() if o.shipped is not None]
        lead = [o.shipped - o.created for o in shipped]  # type: ignore[operator]
        lines = sum(len(o.lines) for o in shipped) + sum(
            1 for m in self.movements if m.kind == "replenish"
        )
        agv_m = sum(a.cells for a in self.agvs.values()) * self.zone.floor.cell_m
        crane_m = sum(c.travel_m for c in self.cranes.values())
        span = max(self.now, 1.0)
        counted = [e for e in self.stock.values()]
        accurate = sum(1 for e in counted if e[1] == e[2])
        return {
            "days": self.now / DAY_S,
            "orders": float(len(self.orders)),
            "orders_shipped": float(len(shipped)),
            "order_lines": float(sum(len(o.lines) for o in self.orders.values())),
            "otif": otif,
            "lead_time_h": float(np.mean(lead) / 3600.0) if lead else 0.0,
            "travel_m_per_line": (agv_m + crane_m) / lines if lines else 0.0,
            "throughput_lines_per_h": lines / (span / 3600.0),
            "crane_utilisation": float(np.mean([c.busy_s / span for c in self.cranes.values()]))
            if self.cranes
            else 0.0,
            "agv_utilisation": float(np.mean([a.moving_s / span for a in self.agvs.values()])),
            "dual_cycles": float(sum(c.cycles["dual"] for c in self.cranes.values())),
            "single_cycles": float(sum(c.cycles["single"] for c in self.cranes.values())),
            "line_stockouts": float(sum(ls.stockouts for ls in self.lines)),
            "line_stockout_h": sum(ls.stockout_s for ls in self.lines) / 3600.0,
            "dock_to_stock_min": float(np.mean(self.dock_to_stock) / 60.0)
            if self.dock_to_stock
            else 0.0,
            "inventory_accuracy": accurate / len(counted) if counted else 1.0,
            "recirculations": float(self.recirculations),
            "unreachable_tasks": float(len(self.unreachable)),
        }


def _loc_name(loc: Loc) -> str:
    return f"{loc[0]}-{loc[1]}-{loc[2]:03d}-{loc[3]:02d}"


def run_virtual_warehouse(
    days: float,
    seed: int,
    optimised: bool,
    plant: Plant | None = None,
    demand: Demand | None = None,
) -> dict[str, float]:
    """The metrics of ``days`` of the demo plant's warehouse (or ``plant``'s first zone)."""
    from smartfab.config import DEMO_PLANT
    from smartfab.model.loader import load_plant

    the_plant = plant if plant is not None else load_plant(DEMO_PLANT)
    warehouse = VirtualWarehouse(the_plant, seed=seed, optimised=optimised, demand=demand)
    return warehouse.run(days)
