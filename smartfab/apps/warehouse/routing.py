"""Pick routing in a rectangular rack block (picker to parts): parallel aisles between a front
and a back cross aisle, the depot at the front of the first aisle.

Three routes for one tour's picks, measured in metres walked from the depot and back:
``s_shape`` (every aisle with a pick walked end to end, the last one entered and left from the
front when their number is odd), ``largest_gap`` (the first and last aisles walked through, the
others entered from both ends up to their largest gap between picks), and ``shortest`` (a tour
through the pick positions under the block's exact walking distance, nearest neighbour then
2-opt: the optimal-ish reference; a local optimum, the exact one needs Ratliff and Rosenthal's
method). ``s_shape`` is what pickers do without help; ``largest_gap`` is the heuristic that
warehouse systems print on pick lists."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartfab.errors import SmartfabError


class RoutingError(SmartfabError):
    """A location outside the block."""


@dataclass(frozen=True)
class Block:
    """``aisles`` aisles ``aisle_pitch`` metres apart, each with ``bays`` bays of ``bay_length``
    metres on both sides; aisle 0 starts at the depot."""

    aisles: int
    bays: int
    aisle_pitch: float = 3.0
    bay_length: float = 1.0

    @property
    def length(self) -> float:
        """The length of an aisle, cross aisle to cross aisle."""
        return self.bays * self.bay_length

    def position(self, aisle: int, bay: int) -> tuple[float, float]:
        """``(x, y)`` of a pick face: x across the aisles, y along its aisle from the front."""
        if not (0 <= aisle < self.aisles and 0 <= bay < self.bays):
            raise RoutingError(
                f"location (aisle {aisle}, bay {bay}) is outside the block of {self.aisles} "
                f"aisles of {self.bays} bays"
            )
        return aisle * self.aisle_pitch, (bay + 0.5) * self.bay_length


Pick = tuple[int, int]  # (aisle, bay)


def _by_aisle(block: Block, picks: Sequence[Pick]) -> dict[int, list[float]]:
    aisles: dict[int, list[float]] = {}
    for aisle, bay in picks:
        aisles.setdefault(aisle, []).append(block.position(aisle, bay)[1])
    return {a: sorted(ys) for a, ys in sorted(aisles.items())}


def s_shape(block: Block, picks: Sequence[Pick]) -> float:
    """Metres of the S-shape (traversal) route."""
    aisles = _by_aisle(block, picks)
    if not aisles:
        return 0.0
    x_far = max(aisles) * block.aisle_pitch
    walked = 2 * x_far + block.length * len(aisles)
    if len(aisles) % 2:  # the last aisle: in from the front and back out
        last = max(aisles)
        walked += 2 * aisles[last][-1] - block.length
    return walked


def largest_gap(block: Block, picks: Sequence[Pick]) -> float:
    """Metres of the largest-gap route."""
    aisles = _by_aisle(block, picks)
    if not aisles:
        return 0.0
    x_far = max(aisles) * block.aisle_pitch
    if len(aisles) == 1:
        (ys,) = aisles.values()
        return 2 * x_far + 2 * ys[-1]
    first, last = min(aisles), max(aisles)
    walked = 2 * x_far + 2 * block.length  # through the first and the last aisle
    for aisle, ys in aisles.items():
        if aisle in (first, last):
            continue
        stops = [0.0, *ys, block.length]
        gap = max(b - a for a, b in itertools.pairwise(stops))
        walked += 2 * (block.length - gap)
    return walked


def distances(block: Block, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Walking distances between points ``(x, y)`` of the block (rows): along an aisle when both
    are in one, else to a cross aisle (front or back, the shorter) and along it."""
    x, y = points[:, 0], points[:, 1]
    same = np.isclose(x[:, None], x[None, :])
    across = np.abs(x[:, None] - x[None, :]) + np.minimum(
        y[:, None] + y[None, :], 2 * block.length - y[:, None] - y[None, :]
    )
    return np.where(same, np.abs(y[:, None] - y[None, :]), across)


def shortest(block: Block, picks: Sequence[Pick]) -> float:
    """Metres of a short tour through the picks from the depot and back (nearest neighbour,
    then 2-opt until no exchange shortens it)."""
    unique = sorted(set(picks))
    if not unique:
        return 0.0
    points = np.array([(0.0, 0.0)] + [block.position(a, b) for a, b in unique])
    d = distances(block, points)
    n = len(points)
    tour = [0]
    left = set(range(1, n))
    while left:
        here = tour[-1]
        nearest = min(left, key=lambda j: (d[here, j], j))
        tour.append(nearest)
        left.remove(nearest)
    tour.append(0)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            a, b = tour[i - 1], tour[i]
            # Reversing tour[i..k] replaces edges (a, b) and (c, e) by (a, c) and (b, e).
            ks = np.arange(i + 1, n)
            c, e = np.array(tour)[ks], np.array(tour)[ks + 1]
            gain = d[a, b] + d[c, e] - d[a, c] - d[b, e]
            best = int(np.argmax(gain))
            if gain[best] > 1e-9:
                k = int(ks[best])
                tour[i : k + 1] = tour[i : k + 1][::-1]
                improved = True
    return float(sum(d[p, q] for p, q in itertools.pairwise(tour)))


ROUTERS = {"s_shape": s_shape, "largest_gap": largest_gap, "shortest": shortest}
