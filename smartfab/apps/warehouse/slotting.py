"""Slotting: which storage location holds which SKU.

A location has an access cost (seconds or metres from the input/output point or the depot, one
trip); an SKU has a demand (order lines per period) and needs some locations (its stock over a
location's volume). Policies, each giving one SKU (or None) per location:

- ``random_storage`` and ``first_free`` (locations in their given order): the baselines;
- ``class_based``: ABC classes (the SKUs making the first 80 % of the lines are A, the next 15 %
  B, the rest C) with the cheapest locations kept for A, then B, then C, random within a class;
- ``cube_per_order_index`` (Heskett 1963): SKUs by ascending COI, locations needed over order
  lines, onto the locations by ascending cost (optimal for single-command trips when the access
  cost does not depend on the SKU).

``travel_per_line`` is the measure (the expected one-way cost of an order line, a location of
its SKU picked at random), and ``reslot`` proposes the moves (pairwise exchanges of location
contents) that save the most, best first, for a warehouse that cannot be emptied to re-slot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError

Assignment = list[str | None]  # SKU code per location


class SlottingError(SmartfabError):
    """Demand that does not fit, or an assignment of another warehouse."""


@dataclass(frozen=True)
class Demand:
    """An SKU's order lines per period and the number of locations its stock needs."""

    sku: str
    lines: float
    locations: int = 1

    @property
    def cube_per_order_index(self) -> float:
        """Space needed per order line: small for fast movers of little volume."""
        return self.locations / self.lines if self.lines > 0 else float("inf")


def _check(demand: Sequence[Demand], costs: Sequence[float]) -> None:
    seen: set[str] = set()
    for d in demand:
        if d.sku in seen:
            raise SlottingError(f"SKU {d.sku!r} appears twice in the demand")
        if d.lines < 0 or d.locations < 1:
            raise SlottingError(
                f"SKU {d.sku!r}: lines must be >= 0 and locations >= 1, got {d.lines} and "
                f"{d.locations}"
            )
        seen.add(d.sku)
    needed = sum(d.locations for d in demand)
    if needed > len(costs):
        raise SlottingError(f"the SKUs need {needed} locations, there are {len(costs)}")


def abc_classes(demand: Sequence[Demand], a: float = 0.8, b: float = 0.95) -> dict[str, str]:
    """``"A"``, ``"B"`` or ``"C"`` per SKU by its share of order lines (Pareto: the fewest SKUs
    that make ``a`` of the lines are A, up to ``b`` B, the rest C)."""
    ranked = sorted(demand, key=lambda d: (-d.lines, d.sku))
    total = sum(d.lines for d in ranked) or 1.0
    classes: dict[str, str] = {}
    before = 0.0
    for d in ranked:
        classes[d.sku] = "A" if before < a * total else "B" if before < b * total else "C"
        before += d.lines
    return classes


def _fill(order: Sequence[Demand], locations: Sequence[int], size: int) -> Assignment:
    out: Assignment = [None] * size
    it = iter(locations)
    for d in order:
        for _ in range(d.locations):
            out[next(it)] = d.sku
    return out


def first_free(demand: Sequence[Demand], costs: Sequence[float]) -> Assignment:
    """Baseline: SKUs in the given order onto the locations in their given order."""
    _check(demand, costs)
    return _fill(demand, range(len(costs)), len(costs))


def random_storage(demand: Sequence[Demand], costs: Sequence[float], seed: int = 0) -> Assignment:
    """Baseline: every SKU's locations drawn at random."""
    _check(demand, costs)
    rng = np.random.default_rng(seed)
    return _fill(demand, [int(i) for i in rng.permutation(len(costs))], len(costs))


def class_based(
    demand: Sequence[Demand], costs: Sequence[float], seed: int = 0, a: float = 0.8, b: float = 0.95
) -> Assignment:
    """A SKUs on the cheapest locations, then B, then C; random within a class's zone."""
    _check(demand, costs)
    rng = np.random.default_rng(seed)
    classes = abc_classes(demand, a, b)
    by_cost = [int(i) for i in np.argsort(np.asarray(costs, np.float64), kind="stable")]
    out: Assignment = [None] * len(costs)
    start = 0
    for name in "ABC":
        members = [d for d in demand if classes[d.sku] == name]
        zone = by_cost[start : start + sum(d.locations for d in members)]
        start += len(zone)
        shuffled = [zone[int(i)] for i in rng.permutation(len(zone))]
        for i, sku in zip(shuffled, (d.sku for d in members for _ in range(d.locations)),
                          strict=True):  # fmt: skip
            out[i] = sku
    return out


def cube_per_order_index(demand: Sequence[Demand], costs: Sequence[float]) -> Assignment:
    """SKUs by ascending cube-per-order index onto locations by ascending cost."""
    _check(demand, costs)
    order = sorted(demand, key=lambda d: (d.cube_per_order_index, d.sku))
    by_cost = np.argsort(np.asarray(costs, np.float64), kind="stable")
    return _fill(order, [int(i) for i in by_cost], len(costs))


def _line_weights(demand: Sequence[Demand], assignment: Assignment) -> npt.NDArray[np.float64]:
    """Order lines per period that each location serves (an SKU's lines spread evenly over
    its locations)."""
    lines = {d.sku: d.lines for d in demand}
    held: dict[str, int] = {}
    for sku in assignment:
        if sku is not None:
            held[sku] = held.get(sku, 0) + 1
    unknown = set(held) - set(lines)
    if unknown:
        raise SlottingError(f"the assignment holds SKUs without demand: {sorted(unknown)[:5]}")
    return np.array(
        [lines[sku] / held[sku] if sku is not None else 0.0 for sku in assignment], np.float64
    )


def travel_per_line(
    demand: Sequence[Demand], costs: Sequence[float], assignment: Assignment
) -> float:
    """The mean access cost of an order line."""
    if len(assignment) != len(costs):
        raise SlottingError(f"an assignment of {len(assignment)} locations for {len(costs)}")
    weights = _line_weights(demand, assignment)
    total = weights.sum()
    return float(weights @ np.asarray(costs, np.float64) / total) if total else 0.0


@dataclass(frozen=True)
class Exchange:
    """Swap the contents of two locations (an SKU and an empty location, or two SKUs);
    ``saving`` is the access cost saved per period."""

    first: int
    second: int
    saving: float


def reslot(
    demand: Sequence[Demand],
    costs: Sequence[float],
    current: Assignment,
    moves: int,
    min_saving: float = 0.0,
) -> list[Exchange]:
    """At most ``moves`` exchanges, each saving more than ``min_saving`` (the cost of doing it),
    chosen greedily by saving and applied in order: the busiest misplaced locations change
    places with the cheapest under-used ones. Each location moves at most once."""
    if len(current) != len(costs):
        raise SlottingError(f"an assignment of {len(current)} locations for {len(costs)}")
    weights = _line_weights(demand, current)
    cost = np.asarray(costs, np.float64)
    used = np.zeros(len(costs), np.bool_)
    out: list[Exchange] = []
    # Busiest locations first; each trades with the cheapest unused location of lower weight.
    for i in np.argsort(-weights, kind="stable"):
        if len(out) >= moves or weights[i] <= 0:
            break
        if used[i]:
            continue
        saving = (weights[i] - weights) * (cost[i] - cost)
        saving[used] = -np.inf
        saving[i] = -np.inf
        j = int(np.argmax(saving))
        if saving[j] <= min_saving:
            continue
        used[i] = used[j] = True
        out.append(Exchange(int(i), j, float(saving[j])))
    return out


def apply(current: Assignment, exchanges: Sequence[Exchange]) -> Assignment:
    """The assignment after the exchanges."""
    out = list(current)
    for e in exchanges:
        out[e.first], out[e.second] = out[e.second], out[e.first]
    return out


def locations_of(assignment: Assignment) -> Mapping[str, list[int]]:
    """The locations of each SKU."""
    where: dict[str, list[int]] = {}
    for i, sku in enumerate(assignment):
        if sku is not None:
            where.setdefault(sku, []).append(i)
    return where
