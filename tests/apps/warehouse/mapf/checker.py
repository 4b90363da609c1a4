"""An independent check of multi-agent paths, from the map's text alone: it shares no code with
the planner (not even the vertex numbering), so a bug there cannot hide itself here."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FREE = ".GS"


def free_cells(rows: Sequence[str]) -> list[tuple[int, int]]:
    """The free cells ``(x, y)`` in row-major order: the planner's vertex ``k`` is the k-th."""
    return [(x, y) for y, row in enumerate(rows) for x, ch in enumerate(row) if ch in FREE]


def as_cells(rows: Sequence[str], vertices: npt.NDArray[np.int32]) -> list[list[tuple[int, int]]]:
    """Paths of vertices (T+1, N) as lists of cells per time."""
    cells = free_cells(rows)
    return [[cells[int(v)] for v in config] for config in vertices]


def check_step(
    rows: Sequence[str], before: Sequence[tuple[int, int]], after: Sequence[tuple[int, int]]
) -> None:
    """One step of every agent: onto a free cell, to a neighbour or staying, no two agents on one
    cell, no two agents swapping."""
    assert len(before) == len(after)
    for i, ((x0, y0), (x1, y1)) in enumerate(zip(before, after, strict=True)):
        assert 0 <= y1 < len(rows) and 0 <= x1 < len(rows[y1]), f"agent {i} off the map"
        assert rows[y1][x1] in FREE, f"agent {i} on a wall at {(x1, y1)}"
        assert abs(x1 - x0) + abs(y1 - y0) <= 1, f"agent {i} jumps {(x0, y0)} -> {(x1, y1)}"
    assert len(set(after)) == len(after), "two agents on one cell"
    moved_from = {b: i for i, (b, a) in enumerate(zip(before, after, strict=True)) if b != a}
    for i, (b, a) in enumerate(zip(before, after, strict=True)):
        j = moved_from.get(a)
        if j is not None and j != i:
            assert after[j] != b, f"agents {i} and {j} swap {b} <-> {a}"


def check_solution(
    rows: Sequence[str],
    starts: Sequence[tuple[int, int]],
    goals: Sequence[tuple[int, int]],
    paths: Sequence[Sequence[tuple[int, int]]],
) -> int:
    """Every agent starts at its start, ends at its goal, and every step is valid; returns the
    sum of costs (for each agent the time from which it stays at its goal)."""
    assert list(paths[0]) == list(starts), "not every agent starts at its start"
    assert list(paths[-1]) == list(goals), "not every agent ends at its goal"
    for before, after in itertools.pairwise(paths):
        check_step(rows, before, after)
    total = 0
    for i, goal in enumerate(goals):
        away = [t for t, config in enumerate(paths) if config[i] != goal]
        total += away[-1] + 1 if away else 0
    return total
