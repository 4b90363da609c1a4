"""Order batching for picker-to-parts picking, simulated over time to measure what it buys:
travel per order line, lines per hour, order lead time.

Orders arrive over time; a free picker takes work from the waiting orders:

- ``"single"`` (the baseline): the oldest order alone (pick by order);
- ``"seed"``: the oldest order as seed, then, while the cart has room, the waiting order that
  adds the fewest metres to the tour (seed batching with a route-length criterion, de Koster,
  van der Poort and Wolters 1999); an order larger than the cart goes alone.

Each tour is walked on the route of ``routing.ROUTERS`` chosen by the caller."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from smartfab.apps.warehouse.routing import ROUTERS, Block, Pick
from smartfab.errors import SmartfabError

POLICIES = ("single", "seed")


class BatchingError(SmartfabError):
    """A policy or a router that does not exist, or a cart that holds nothing."""


@dataclass(frozen=True)
class Order:
    id: str
    arrival: float
    lines: tuple[Pick, ...]


@dataclass(frozen=True)
class Picking:
    """The picking operation: its block, cart capacity (order lines per tour), walking speed,
    seconds per line picked and per tour (print, cart, drop off), number of pickers."""

    block: Block
    capacity: int = 24
    speed_m_s: float = 1.0
    pick_s: float = 12.0
    tour_s: float = 60.0
    pickers: int = 1


@dataclass(frozen=True)
class Tour:
    picker: int
    start: float
    end: float
    orders: tuple[str, ...]
    lines: int
    metres: float


@dataclass(frozen=True)
class PickingResult:
    tours: list[Tour]
    lead_times: dict[str, float]  # per order: completion of its tour minus arrival

    @property
    def lines(self) -> int:
        return sum(t.lines for t in self.tours)

    @property
    def metres_per_line(self) -> float:
        return sum(t.metres for t in self.tours) / self.lines if self.lines else 0.0

    @property
    def lines_per_hour(self) -> float:
        """Lines per hour of picker work: the pickers' throughput capacity."""
        busy = sum(t.end - t.start for t in self.tours)
        return 3600.0 * self.lines / busy if busy else 0.0

    @property
    def mean_lead_s(self) -> float:
        return float(np.mean(list(self.lead_times.values()))) if self.lead_times else 0.0


def _batch(
    seed: Order, waiting: list[Order], capacity: int, route: Callable[[list[Pick]], float]
) -> list[Order]:
    batch = [seed]
    picks = list(seed.lines)
    room = capacity - len(seed.lines)
    pool = [o for o in waiting if o is not seed]
    base = route(picks)
    while room > 0:
        fits = [o for o in pool if len(o.lines) <= room]
        if not fits:
            break
        added = [route(picks + list(o.lines)) - base for o in fits]
        best = int(np.argmin(added))
        order = fits[best]
        batch.append(order)
        picks += order.lines
        room -= len(order.lines)
        base += added[best]
        pool.remove(order)
    return batch


def simulate(
    orders: Sequence[Order],
    picking: Picking,
    policy: str = "seed",
    router: str = "largest_gap",
    candidates: int = 40,
) -> PickingResult:
    """Pick ``orders`` (by arrival) with the policy; ``candidates`` bounds the waiting orders
    considered for a batch (the oldest ones), which keeps a long queue cheap to batch."""
    if policy not in POLICIES:
        raise BatchingError(f"policy {policy!r}: expected one of {', '.join(POLICIES)}")
    if router not in ROUTERS:
        raise BatchingError(f"router {router!r}: expected one of {', '.join(ROUTERS)}")
    if picking.capacity < 1 or picking.pickers < 1:
        raise BatchingError("a cart holds at least one line and there is at least one picker")
    block = picking.block
    walk = ROUTERS[router]

    def route(picks: list[Pick]) -> float:
        return walk(block, picks)

    pending = sorted(orders, key=lambda o: (o.arrival, o.id))
    free = [(0.0, p) for p in range(picking.pickers)]  # (free from, picker)
    heapq.heapify(free)
    waiting: list[Order] = []
    tours: list[Tour] = []
    lead: dict[str, float] = {}
    k = 0
    while k < len(pending) or waiting:
        at, picker = heapq.heappop(free)
        if not waiting and pending[k].arrival > at:
            at = pending[k].arrival
        while k < len(pending) and pending[k].arrival <= at:
            waiting.append(pending[k])
            k += 1
        seed = waiting[0]
        if policy == "single" or len(seed.lines) >= picking.capacity:
            batch = [seed]
        else:
            batch = _batch(seed, waiting[:candidates], picking.capacity, route)
        picks = [p for o in batch for p in o.lines]
        metres = route(picks)
        seconds = picking.tour_s + metres / picking.speed_m_s + picking.pick_s * len(picks)
        end = at + seconds
        tours.append(Tour(picker, at, end, tuple(o.id for o in batch), len(picks), metres))
        for o in batch:
            lead[o.id] = end - o.arrival
            waiting.remove(o)
        heapq.heappush(free, (end, picker))
    return PickingResult(tours, lead)
