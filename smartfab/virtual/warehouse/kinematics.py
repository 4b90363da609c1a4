"""Stacker crane kinematics: travel and lift move at once, each with a trapezoidal speed profile
(accelerate, cruise, brake), so a move takes the longer of the two; a single command cycle stores
or retrieves one load from the input/output point and back, a dual command cycle stores one and
retrieves another on the way back (FEM 9.851 cycle definitions)."""

from __future__ import annotations

import itertools
import math

from smartfab.model.plant import AsrsAisle


def axis_time(distance: float, speed: float, accel: float) -> float:
    """Seconds to cover ``distance`` metres from standstill to standstill."""
    if distance <= 0:
        return 0.0
    ramp = speed * speed / accel  # the distance of accelerating to full speed and braking
    if distance >= ramp:
        return distance / speed + speed / accel
    return 2.0 * math.sqrt(distance / accel)


def position(aisle: AsrsAisle, bay: int, level: int) -> tuple[float, float]:
    """(x, z) in metres of a location from the input/output point at bay 0, level 0."""
    return bay * aisle.bay_m, level * aisle.level_m


def move_time(aisle: AsrsAisle, a: tuple[int, int], b: tuple[int, int]) -> float:
    """Seconds the crane takes from location ``a`` to ``b`` ((bay, level) each)."""
    c = aisle.crane
    (xa, za), (xb, zb) = position(aisle, *a), position(aisle, *b)
    travel = axis_time(abs(xb - xa), c.travel_speed_m_s, c.travel_accel_m_s2)
    lift = axis_time(abs(zb - za), c.lift_speed_m_s, c.lift_accel_m_s2)
    return max(travel, lift)


IO = (0, 0)


def single_cycle(aisle: AsrsAisle, loc: tuple[int, int]) -> float:
    """Store or retrieve one load: there and back, with two fork movements."""
    return 2 * move_time(aisle, IO, loc) + 2 * aisle.crane.fork_s


def dual_cycle(aisle: AsrsAisle, store: tuple[int, int], retrieve: tuple[int, int]) -> float:
    """Store at ``store``, go on to ``retrieve`` and bring that load back: four fork movements."""
    moves = move_time(aisle, IO, store) + move_time(aisle, store, retrieve)
    return moves + move_time(aisle, retrieve, IO) + 4 * aisle.crane.fork_s


def travel_m(aisle: AsrsAisle, *locs: tuple[int, int]) -> float:
    """Metres travelled along the aisle from the I/O point through ``locs`` and back."""
    stops = [IO, *locs, IO]
    return sum(abs(b[0] - a[0]) * aisle.bay_m for a, b in itertools.pairwise(stops))
