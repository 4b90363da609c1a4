from __future__ import annotations

import itertools

import numpy as np
import pytest

from smartfab.apps.warehouse.batching import BatchingError, Order, Picking, simulate
from smartfab.apps.warehouse.routing import Block

PICKING = Picking(Block(aisles=10, bays=20), capacity=20, pickers=2)


def orders(n: int, every_s: float, seed: int) -> list[Order]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        lines = int(rng.integers(1, 6))
        # Fast movers near the front of the first aisles, as slotting leaves them.
        picks = tuple(
            (int(min(9, rng.exponential(2.5))), int(min(19, rng.exponential(5))))
            for _ in range(lines)
        )
        out.append(Order(f"o{k}", k * every_s, picks))
    return out


def test_every_order_is_picked_once_within_the_cart() -> None:
    todo = orders(200, 40.0, seed=1)
    for policy in ("single", "seed"):
        result = simulate(todo, PICKING, policy=policy)
        picked = [o for t in result.tours for o in t.orders]
        assert sorted(picked) == sorted(o.id for o in todo)
        by_id = {o.id: o for o in todo}
        for tour in result.tours:
            assert tour.lines == sum(len(by_id[o].lines) for o in tour.orders)
            assert tour.lines <= PICKING.capacity or len(tour.orders) == 1
            assert all(by_id[o].arrival <= tour.start for o in tour.orders)
            assert result.lead_times[tour.orders[0]] == pytest.approx(
                tour.end - by_id[tour.orders[0]].arrival
            )
        # A picker never does two tours at once.
        for picker in range(PICKING.pickers):
            mine = sorted((t.start, t.end) for t in result.tours if t.picker == picker)
            assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(mine))
        if policy == "single":
            assert all(len(t.orders) == 1 for t in result.tours)


def test_batching_cuts_travel_and_lead_time_against_one_order_a_tour() -> None:
    todo = orders(300, 30.0, seed=2)
    single = simulate(todo, PICKING, policy="single", router="s_shape")
    batched = simulate(todo, PICKING, policy="seed", router="largest_gap")
    assert batched.metres_per_line < 0.6 * single.metres_per_line
    assert batched.lines_per_hour > single.lines_per_hour
    assert batched.mean_lead_s < single.mean_lead_s


def test_bad_options_are_refused() -> None:
    with pytest.raises(BatchingError, match="policy 'wave'"):
        simulate([], PICKING, policy="wave")
    with pytest.raises(BatchingError, match="router 'zigzag'"):
        simulate([], PICKING, router="zigzag")
