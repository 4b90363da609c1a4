from __future__ import annotations

import itertools

import numpy as np
import pytest

from smartfab.apps.warehouse.slotting import (
    Demand,
    SlottingError,
    abc_classes,
    apply,
    class_based,
    cube_per_order_index,
    first_free,
    locations_of,
    random_storage,
    reslot,
    travel_per_line,
)


def demand(n: int, seed: int) -> list[Demand]:
    rng = np.random.default_rng(seed)
    lines = rng.pareto(1.2, n) + 0.1  # a few fast movers, many slow ones
    return [Demand(f"s{i}", float(lines[i]), int(rng.integers(1, 4))) for i in range(n)]


def test_abc_classes_follow_the_share_of_lines() -> None:
    d = [Demand("a", 70), Demand("b", 15), Demand("c", 10), Demand("d", 5)]
    assert abc_classes(d) == {"a": "A", "b": "A", "c": "B", "d": "C"}


def test_cube_per_order_index_is_optimal_for_one_location_per_sku() -> None:
    d = [Demand(f"s{i}", float(x)) for i, x in enumerate([3, 9, 1, 4, 7, 2])]
    costs = [5.0, 1.0, 8.0, 3.0, 2.0, 6.0, 9.0]
    best = min(
        travel_per_line(d, costs, [*p, None])  # type: ignore[list-item]
        for p in itertools.permutations([x.sku for x in d])
    )
    assert travel_per_line(d, costs, cube_per_order_index(d, costs)) == pytest.approx(best)


def test_policies_place_every_location_needed_and_beat_the_baselines() -> None:
    d = demand(120, seed=1)
    costs = list(np.random.default_rng(2).uniform(5, 120, 400))
    placements = {
        "first_free": first_free(d, costs),
        "random": random_storage(d, costs, seed=3),
        "class_based": class_based(d, costs, seed=3),
        "coi": cube_per_order_index(d, costs),
    }
    for assignment in placements.values():
        where = locations_of(assignment)
        assert {sku: len(locs) for sku, locs in where.items()} == {x.sku: x.locations for x in d}
    travel = {k: travel_per_line(d, costs, a) for k, a in placements.items()}
    assert travel["coi"] < travel["class_based"] < travel["random"]


def test_reslotting_proposals_each_save_and_move_a_location_once() -> None:
    d = demand(80, seed=4)
    costs = list(np.random.default_rng(5).uniform(5, 120, 300))
    current = random_storage(d, costs, seed=6)
    before = travel_per_line(d, costs, current)
    proposals = reslot(d, costs, current, moves=20)
    assert len(proposals) == 20
    touched = [i for e in proposals for i in (e.first, e.second)]
    assert len(touched) == len(set(touched))
    assert all(e.saving > 0 for e in proposals)
    savings = [e.saving for e in proposals]
    after = apply(current, proposals)
    lines = sum(x.lines for x in d)
    assert before - travel_per_line(d, costs, after) == pytest.approx(sum(savings) / lines)
    # Many rounds approach the cube-per-order-index placement.
    for _ in range(30):
        after = apply(after, reslot(d, costs, after, moves=50))
    coi = travel_per_line(d, costs, cube_per_order_index(d, costs))
    assert travel_per_line(d, costs, after) < coi * 1.1 < before


def test_bad_demand_is_refused() -> None:
    with pytest.raises(SlottingError, match="need 5 locations, there are 4"):
        cube_per_order_index([Demand("a", 1, 3), Demand("b", 1, 2)], [1.0] * 4)
    with pytest.raises(SlottingError, match="SKU 'a' appears twice"):
        first_free([Demand("a", 1), Demand("a", 2)], [1.0] * 4)
    with pytest.raises(SlottingError, match="without demand"):
        travel_per_line([Demand("a", 1)], [1.0, 2.0], ["a", "zz"])
