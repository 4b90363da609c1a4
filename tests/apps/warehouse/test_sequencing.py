from __future__ import annotations

import numpy as np
import pytest

from smartfab.apps.warehouse.sequencing import (
    IO,
    Cycle,
    Loc,
    Request,
    SequencingError,
    simulate,
)

BAYS, LEVELS = 40, 12


def move(a: Loc, b: Loc) -> float:
    """Travel 0.5 s a bay, lift 1 s a level, at once (Chebyshev)."""
    return max(abs(a[0] - b[0]) * 0.5, abs(a[1] - b[1]) * 1.0)


def rack(seed: int, n: int, every_s: float) -> tuple[list[Request], list[Loc]]:
    rng = np.random.default_rng(seed)
    cells = [(b, lv) for b in range(BAYS) for lv in range(LEVELS)]
    full = [cells[i] for i in rng.permutation(len(cells))[: len(cells) // 2]]
    free = sorted(set(cells) - set(full))
    requests = []
    for k in range(n):
        if k % 2:
            requests.append(Request(k * every_s, "retrieve", full.pop()))
        else:
            requests.append(Request(k * every_s, "store"))
    return requests, free


def replay(requests: list[Request], free: list[Loc], result_cycles: list[Cycle]) -> None:
    """No load is stored on a full location nor retrieved from an empty one; cycles in turn."""
    empty = set(free)
    end = 0.0
    for c in result_cycles:
        assert c.start >= end - 1e-9
        end = c.end
        if c.store is not None:
            assert c.store in empty
            empty.discard(c.store)
        if c.retrieve is not None:
            assert c.retrieve not in empty
            empty.add(c.retrieve)


def test_dual_cycles_move_more_loads_an_hour_than_single_ones() -> None:
    requests, free = rack(1, 400, 20.0)
    single = simulate(requests, free, move, fork_s=4.0, policy="single")
    dual = simulate(requests, free, move, fork_s=4.0, policy="dual")
    for result in (single, dual):
        replay(requests, free, result.cycles)
        assert result.moves == len(requests)
        assert all(t > 0 for t in result.lead_times)
    assert all(c.store is None or c.retrieve is None for c in single.cycles)
    assert any(c.store and c.retrieve for c in dual.cycles)
    assert dual.moves_per_hour > 1.3 * single.moves_per_hour
    assert dual.mean_lead_s < single.mean_lead_s


def test_cycle_times_add_up_from_the_moves() -> None:
    requests = [Request(0.0, "store"), Request(0.0, "retrieve", (10, 3))]
    result = simulate(requests, [(2, 8), (20, 0)], move, fork_s=4.0, policy="dual")
    (cycle,) = result.cycles
    # Store at (2, 8) (8 s), on to (10, 3) (5 s), back (5 s), four fork movements.
    assert cycle.store == (2, 8) and cycle.retrieve == (10, 3)
    assert cycle.end - cycle.start == pytest.approx(8 + 5 + 5 + 16)
    # The other free place, (20, 0), would make it 10 + 5 + 5 s of moves instead of 18.
    assert move(IO, (20, 0)) + move((20, 0), (10, 3)) + move((10, 3), IO) == 20


def test_a_retrieval_from_an_empty_location_is_refused() -> None:
    with pytest.raises(SequencingError, match=r"from \(1, 1\): nothing is stored there"):
        simulate([Request(3.0, "retrieve", (1, 1))], [(1, 1)], move, 4.0)
    with pytest.raises(SequencingError, match="policy 'fifo'"):
        simulate([], [], move, 4.0, policy="fifo")
