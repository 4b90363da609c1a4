"""Anytime refinement of a MAPF solution's sum of costs by large neighbourhood search (Li,
Chen, Harabor, Stuckey and Koenig, "Anytime multi-agent path finding via large neighborhood
search", IJCAI 2021): a few agents' paths are removed and planned again one by one, in random
order, around everybody else's (safe interval path planning, ``sipp``); the new paths are kept
when their costs sum to less.

The makespan never grows (new paths end by the current one), so every accepted change keeps the
solution valid: no vertex or swap conflict, each agent at its goal for good once it arrives."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse.mapf.core import Int32s, Tables
from smartfab.apps.warehouse.mapf.sipp import Reservations

Int64s = npt.NDArray[np.int64]


def arrivals(paths: Int32s, goals: Int32s) -> Int32s:
    """For each agent, the first time from which it stays at its goal."""
    away = paths != goals[None, :]
    last = away.shape[0] - np.argmax(away[::-1], axis=0)
    return np.where(away.any(axis=0), last, 0).astype(np.int32)


def refine(
    paths: Int32s,
    goals: Int32s,
    dist: Tables,
    neighbours: Int32s,
    seconds: float,
    seed: int = 0,
    size: int = 8,
    rounds: int | None = None,
) -> Int32s:
    """A solution of no greater sum of costs than ``paths`` (T+1, N), improved for ``seconds``
    (or ``rounds`` neighbourhoods, whichever ends first). ``dist[i]`` is agent i's distance
    table to its goal."""
    deadline = time.perf_counter() + seconds
    paths = paths.copy()
    horizon, n = paths.shape[0] - 1, paths.shape[1]
    if n < 2 or horizon < 1:
        return paths
    rng = np.random.default_rng(seed)
    try:
        table = Reservations(paths, neighbours.shape[0])
    except ValueError:
        return paths  # too long a plan for the planner's indices: left as it is
    costs = arrivals(paths, goals)
    lower = dist[np.arange(n), paths[0]].astype(np.int64)
    size = min(size, n)
    done = 0
    while time.perf_counter() < deadline and (rounds is None or done < rounds):
        done += 1
        delay = costs - lower
        if delay.sum() == 0:
            break
        group = _neighbourhood(rng, paths, table.table, dist, neighbours, delay, size)
        old = paths[:, group].copy()
        old_cost = int(costs[group].sum())
        table.release(paths, group)
        new_cost = 0
        planned: list[int] = []
        # What the agents not yet planned need at least: a new path must leave them room to
        # make the group cheaper than before.
        need = int(lower[group].sum())
        for i in rng.permutation(group):
            need -= int(lower[i])
            budget = min(table.horizon, old_cost - new_cost - need - 1)
            t = table.plan(int(paths[0, i]), int(goals[i]), dist[i], neighbours, budget)
            if t < 0:
                break
            paths[:, i] = table.path
            table.reserve(paths, np.array([i], np.int32))
            planned.append(int(i))
            new_cost += t
        if len(planned) == len(group) and new_cost < old_cost:
            costs[group] = arrivals(paths[:, group], goals[group])
            continue
        table.release(paths, np.array(planned, np.int32))
        paths[:, group] = old
        table.reserve(paths, group)
    return paths


def _neighbourhood(
    rng: np.random.Generator,
    paths: Int32s,
    occ: Int32s,
    dist: Tables,
    neighbours: Int32s,
    delay: Int64s,
    size: int,
) -> Int32s:
    """A delayed agent (drawn by its delay), the agents that stood on its goal after it first
    got there (they pushed it off), and those found on its shortest way at the times it would
    pass; topped up at random. ``occ`` is the reservation table, (V, T+1) -> agent."""
    n = paths.shape[1]
    a = int(rng.choice(n, p=delay / delay.sum()))
    group = [a]
    goal = int(paths[-1, a])
    on_goal = paths[:, a] == goal
    first = int(np.argmax(on_goal))
    for b in occ[goal, first:]:
        if len(group) >= size:
            break
        if b >= 0 and int(b) not in group:
            group.append(int(b))
    v = int(paths[0, a])
    row = dist[a]
    t = 0
    while row[v] > 0 and len(group) < size and t < occ.shape[1] - 1:
        t += 1
        v = min((int(u) for u in neighbours[v] if u >= 0), key=lambda u: int(row[u]))
        for s in (t - 1, t, t + 1):
            b = int(occ[v, s]) if s < occ.shape[1] else -1
            if b >= 0 and b not in group:
                group.append(b)
    while len(group) < size:
        b = int(rng.integers(n))
        if b not in group:
            group.append(b)
    return np.array(group[:size], np.int32)
