from __future__ import annotations

import itertools

import numpy as np
import pytest

from smartfab.apps.warehouse.routing import (
    Block,
    RoutingError,
    largest_gap,
    s_shape,
    shortest,
)

BLOCK = Block(aisles=4, bays=10, aisle_pitch=3.0, bay_length=1.0)


def walk(a: tuple[float, float], b: tuple[float, float], length: float) -> float:
    """Walking distance in the block, written out apart from the module's."""
    (xa, ya), (xb, yb) = a, b
    if xa == xb:
        return abs(ya - yb)
    return abs(xa - xb) + min(ya + yb, 2 * length - ya - yb)


def optimum(block: Block, picks: list[tuple[int, int]]) -> float:
    points = [block.position(a, b) for a, b in sorted(set(picks))]
    best = float("inf")
    for tour in itertools.permutations(points):
        stops = [(0.0, 0.0), *tour, (0.0, 0.0)]
        best = min(best, sum(walk(p, q, block.length) for p, q in itertools.pairwise(stops)))
    return best


def test_one_pick_is_in_and_out_of_its_aisle() -> None:
    for route in (s_shape, largest_gap, shortest):
        assert route(BLOCK, [(0, 2)]) == pytest.approx(5.0)
        assert route(BLOCK, [(1, 0)]) == pytest.approx(2 * 3 + 1.0)
        assert route(BLOCK, []) == 0.0


def test_two_aisles_are_walked_through() -> None:
    # Up aisle 0, along the back, down aisle 2: 2 * 6 across plus two aisle lengths.
    for route in (s_shape, largest_gap, shortest):
        assert route(BLOCK, [(0, 2), (2, 7)]) == pytest.approx(32.0)


def test_s_shape_and_largest_gap_differ_as_their_definitions_say() -> None:
    picks = [(0, 5), (1, 0), (1, 9), (2, 1), (3, 8)]
    # S-shape: four aisles walked end to end, 2 * 9 across.
    assert s_shape(BLOCK, picks) == pytest.approx(18 + 40)
    # Largest gap: aisles 0 and 3 walked; aisle 1 picks at 0.5 and 9.5 (gap 9: 2 * 1 walked);
    # aisle 2 pick at 1.5 (largest gap 8.5, to the back: 2 * 1.5 walked).
    assert largest_gap(BLOCK, picks) == pytest.approx(18 + 20 + 2 + 3)


def test_routes_are_feasible_tours_and_shortest_is_near_the_optimum() -> None:
    rng = np.random.default_rng(7)
    ratio = []
    for _ in range(60):
        n = int(rng.integers(1, 7))
        picks = [(int(rng.integers(4)), int(rng.integers(10))) for _ in range(n)]
        best = optimum(BLOCK, picks)
        for route in (s_shape, largest_gap, shortest):
            assert route(BLOCK, picks) >= best - 1e-9, (route.__name__, picks)
        ratio.append(shortest(BLOCK, picks) / best)
    assert np.mean(ratio) < 1.02


def test_a_location_outside_the_block_is_refused() -> None:
    with pytest.raises(RoutingError, match=r"\(aisle 4, bay 0\) is outside the block of 4"):
        s_shape(BLOCK, [(4, 0)])
