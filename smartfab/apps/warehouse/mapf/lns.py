"""Anytime refinement of a MAPF solution's sum of costs by large neighbourhood search (Li,
Chen, Harabor, Stuckey and Koenig, "Anytime multi-agent path finding via large neighborhood
search", IJCAI 2021): a few agents' paths are removed and planned again one by one with
space-time A* around everybody else's; the new paths are kept when their costs sum to less.

The makespan never grows (new paths end by the current one), so every accepted change keeps the
solution valid: no vertex or swap conflict, each agent at its goal for good once it arrives."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse.mapf._jit import jit
from smartfab.apps.warehouse.mapf.core import Int32s, Tables

Int64s = npt.NDArray[np.int64]


@jit()
def _mark(occ: Int32s, paths: Int32s, agents: Int32s, clear: bool) -> None:
    """Write the agents' paths into the occupancy table (time, vertex) -> agent, or clear them."""
    for i in agents:
        for t in range(paths.shape[0]):
            occ[t, paths[t, i]] = -1 if clear else i


@jit()
def _push(key: Int64s, item: Int64s, size: int, k: int | np.int64, s: int | np.int64) -> int:
    """Add (k, s) to the binary heap of ``size`` items; the new size (-1 when full)."""
    if size >= key.shape[0]:
        return -1
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if key[parent] <= k:
            break
        key[i], item[i] = key[parent], item[parent]
        i = parent
    key[i], item[i] = k, s
    return size + 1


@jit()
def _pop(key: Int64s, item: Int64s, size: int) -> int:
    """Remove the smallest item of the heap (the caller read it at index 0); the new size."""
    size -= 1
    k, s = key[size], item[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and key[child + 1] < key[child]:
            child += 1
        if key[child] >= k:
            break
        key[i], item[i] = key[child], item[child]
        i = child
    key[i], item[i] = k, s
    return size


@jit()
def _astar(
    agent: int,
    start: int,
    goal: int,
    h: Tables,
    neighbours: Int32s,
    occ: Int32s,
    seen: Int32s,
    stamp: int,
    parent: Int32s,
    heap_key: Int64s,
    heap_item: Int64s,
    out: Int32s,
    budget: int,
) -> int:
    """The agent's earliest arrival at ``goal`` from ``start``, by ``budget``, avoiding the
    others in ``occ`` (T+1, V) and staying at the goal to the end; its path is written into
    ``out`` (T+1,). Returns the arrival time, or -1 when there is none (or the heap
    overflowed)."""
    horizon = occ.shape[0] - 1
    v_count = occ.shape[1]
    # The goal is free for good after the last time another agent is on it.
    last = -1
    for t in range(horizon, -1, -1):
        if occ[t, goal] >= 0 and occ[t, goal] != agent:
            last = t
            break
    width = np.int64(horizon + 2)
    # f = the arrival time at least: the distance left, and not before the goal is free for
    # good; ties go to the later time (deeper), so waiting for the goal costs few expansions.
    size = _push(heap_key, heap_item, 0, max(int(h[start]), last + 1) * width + horizon, start)
    seen[0, start] = stamp
    parent[start] = -1
    while size > 0:
        state = heap_item[0]
        size = _pop(heap_key, heap_item, size)
        t = state // v_count
        v = state % v_count
        if v == goal and t > last:
            arrival = t
            s = state
            while s >= 0:
                out[s // v_count] = s % v_count
                s = parent[s]
            for u in range(arrival + 1, horizon + 1):
                out[u] = goal
            return int(arrival)
        if t == horizon:
            continue
        for k in range(5):
            u = neighbours[v, k] if k < 4 else v
            if u < 0 or seen[t + 1, u] == stamp:
                continue
            if t + 1 + h[u] > budget:
                continue
            a = occ[t + 1, u]
            if a >= 0 and a != agent:
                continue
            b = occ[t + 1, v]  # who comes to v as we leave it: a swap if it comes from u
            if u != v and b >= 0 and b != agent and occ[t, u] == b:
                continue
            seen[t + 1, u] = stamp
            child = (t + 1) * v_count + u
            parent[child] = state
            f = max(t + 1 + np.int64(h[u]), last + 1)
            size = _push(heap_key, heap_item, size, f * width + (horizon - t - 1), child)
            if size < 0:
                return -1
    return -1


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
    v_count = neighbours.shape[0]
    rng = np.random.default_rng(seed)
    occ = np.full((horizon + 1, v_count), -1, np.int32)
    _mark(occ, paths, np.arange(n, dtype=np.int32), False)
    seen = np.zeros((horizon + 1, v_count), np.int32)
    if (horizon + 1) * v_count >= np.iinfo(np.int32).max:
        return paths  # too long a plan to index its states in 32 bits
    parent = np.empty((horizon + 1) * v_count, np.int32)
    heap_key = np.empty(1 << 20, np.int64)
    heap_item = np.empty(1 << 20, np.int64)
    out = np.empty(horizon + 1, np.int32)
    costs = arrivals(paths, goals)
    lower = dist[np.arange(n), paths[0]].astype(np.int64)
    stamp = 0
    size = min(size, n)
    done = 0
    while time.perf_counter() < deadline and (rounds is None or done < rounds):
        done += 1
        delay = costs - lower
        if delay.sum() == 0:
            break
        group = _neighbourhood(rng, paths, occ, dist, neighbours, delay, size)
        old = paths[:, group].copy()
        old_cost = int(costs[group].sum())
        _mark(occ, paths, group, True)
        new_cost = 0
        planned: list[int] = []
        # What the agents not yet planned need at least: a new path must leave them room to
        # make the group cheaper than before.
        need = int(lower[group].sum())
        for i in rng.permutation(group):
            need -= int(lower[i])
            budget = min(horizon, old_cost - new_cost - need - 1)
            stamp += 1
            if stamp == np.iinfo(np.int32).max:  # the marks wrap around: start afresh
                seen[:] = 0
                stamp = 1
            t = _astar(int(i), int(paths[0, i]), int(goals[i]), dist[i], neighbours, occ, seen,
                       stamp, parent, heap_key, heap_item, out, budget)  # fmt: skip
            if t < 0:
                break
            paths[:, i] = out
            _mark(occ, paths, np.array([i], np.int32), False)
            planned.append(int(i))
            new_cost += t
        if len(planned) == len(group) and new_cost < old_cost:
            costs[group] = arrivals(paths[:, group], goals[group])
            continue
        _mark(occ, paths, np.array(planned, np.int32), True)
        paths[:, group] = old
        _mark(occ, paths, group, False)
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
    pass; topped up at random."""
    n = paths.shape[1]
    a = int(rng.choice(n, p=delay / delay.sum()))
    group = [a]
    goal = int(paths[-1, a])
    on_goal = paths[:, a] == goal
    first = int(np.argmax(on_goal))
    for b in occ[first:, goal]:
        if len(group) >= size:
            break
        if b >= 0 and int(b) not in group:
            group.append(int(b))
    v = int(paths[0, a])
    row = dist[a]
    t = 0
    while row[v] > 0 and len(group) < size and t < occ.shape[0] - 1:
        t += 1
        v = min((int(u) for u in neighbours[v] if u >= 0), key=lambda u: int(row[u]))
        for s in (t - 1, t, t + 1):
            b = int(occ[s, v]) if s < occ.shape[0] else -1
            if b >= 0 and b not in group:
                group.append(b)
    while len(group) < size:
        b = int(rng.integers(n))
        if b not in group:
            group.append(b)
    return np.array(group[:size], np.int32)
