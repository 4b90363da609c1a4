"""Planning one agent among others that keep their paths: a reservation table of everybody's
paths, (vertex, time) -> agent, and safe interval path planning against it (Phillips and
Likhachev, "SIPP: Safe interval path planning for dynamic environments", ICRA 2011).

A state is a vertex and one of its runs of free times, reached as early as possible; waiting
inside a run costs no expansion, which is what makes the long waits of dense floors cheap (a
space-time A* expands every waiting step). Moves are to a neighbour; a move is refused onto a
vertex somebody holds at the arrival time, and when somebody comes the other way (a swap)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse.mapf._jit import jit
from smartfab.apps.warehouse.mapf.core import Int32s, Tables

Int64s = npt.NDArray[np.int64]


@jit()
def _mark(
    occ: Int32s, ends: Int32s, last_free: Int32s, paths: Int32s, agents: Int32s, clear: bool
) -> None:
    """Write the agents' paths into the table (vertex, time) -> agent, or clear them, and keep
    ``ends`` (at a free (vertex, time), the last time of its run of free times) and
    ``last_free`` (each vertex's last free time, -1 if none) right."""
    horizon = occ.shape[1] - 1
    for i in agents:
        for k in range(horizon + 1):
            # Cleared latest first, so that a run that grows is rewritten once.
            t = horizon - k if clear else k
            v = paths[t, i]
            if clear:
                occ[v, t] = -1
                end = ends[v, t + 1] if t < horizon and occ[v, t + 1] < 0 else t
                last_free[v] = max(last_free[v], t)
            else:
                occ[v, t] = i
                end = t - 1
                if t == last_free[v]:
                    last = t - 1
                    while last >= 0 and occ[v, last] >= 0:
                        last -= 1
                    last_free[v] = last
            s = t - 1 if not clear else t
            while s >= 0 and occ[v, s] < 0:  # the run before t now ends at ``end``
                ends[v, s] = end
                s -= 1


@jit()
def _runs(occ: Int32s, ends: Int32s, last_free: Int32s) -> None:
    """``ends`` and ``last_free`` (as ``_mark`` keeps them) of a whole table."""
    horizon = occ.shape[1] - 1
    for v in range(occ.shape[0]):
        end = horizon
        last_free[v] = -1
        for t in range(horizon, -1, -1):
            if occ[v, t] >= 0:
                end = t - 1
            else:
                ends[v, t] = end
                last_free[v] = max(last_free[v], t)


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
def _sipp(
    start: int,
    goal: int,
    h: Tables,
    neighbours: Int32s,
    occ: Int32s,
    ends: Int32s,
    last_free: Int32s,
    seen: Int32s,
    stamp: int,
    arrival: Int32s,
    parent: Int32s,
    heap_key: Int64s,
    heap_item: Int64s,
    out: Int32s,
    budget: int,
) -> int:
    """The agent's earliest arrival at ``goal`` from ``start``, by ``budget``, avoiding the
    others in ``occ`` (V, T+1; ``ends`` and ``last_free`` as ``_mark`` keeps them) and staying
    at the goal to the end; its path is written into ``out`` (T+1,). Returns the arrival time,
    or -1 when there is none (or the heap overflowed). A state is numbered ``end * V + vertex``
    by the last time of its run; ``seen`` holds ``stamp`` for a state open in this search,
    ``-stamp`` once expanded."""
    horizon = occ.shape[1] - 1
    v_count = occ.shape[0]
    # The goal is free for good after the last time another agent is on it.
    last = -1
    for t in range(horizon, -1, -1):
        if occ[goal, t] >= 0:
            last = t
            break
    if last + 1 > budget or h[start] > budget or occ[start, 0] >= 0:
        return -1
    width = np.int64(horizon + 2)
    root = ends[start, 0] * v_count + start
    seen[root] = stamp
    arrival[root] = 0
    parent[root] = -1
    h0 = np.int64(h[start])
    # Order: the arrival at the goal at least (not before it is free for good), then the
    # distance left (heads for the goal among equals), then the later arrival.
    f0 = max(h0, np.int64(last + 1))
    size = _push(heap_key, heap_item, 0, (f0 * width + h0) * width + horizon, root)
    while size > 0:
        key = heap_key[0]
        state = heap_item[0]
        size = _pop(heap_key, heap_item, size)
        g = horizon - key % width
        if seen[state] != stamp or arrival[state] != g:
            continue  # expanded already, or reached earlier since this entry
        seen[state] = -stamp
        end = state // v_count
        v = state % v_count
        if v == goal and end == horizon:  # the goal's last free run begins after ``last``
            _trace(state, v_count, arrival, parent, out)
            for u in range(g + 1, horizon + 1):
                out[u] = goal
            return int(g)
        for k in range(4):
            u = neighbours[v, k]
            if u < 0:
                continue
            hu = np.int64(h[u])
            d = g  # leave v at time d, be on u at d + 1
            while d < min(end + 1, horizon):
                t = d + 1
                if t + hu > budget or t > last_free[u]:
                    break  # too late, or u is taken from t to the end (an agent at its goal)
                if occ[u, t] >= 0:
                    d += 1
                    continue
                b = occ[v, t]
                if b >= 0 and occ[u, d] == b:  # b comes from u to v: a swap
                    d += 1
                    continue
                stop = ends[u, t]
                child = stop * v_count + u
                # A state is (re)opened whenever it is reached earlier: among equal bounds,
                # the nearer to the goal goes first, so a state may be expanded before its
                # earliest arrival is known (and then again).
                if (seen[child] != stamp and seen[child] != -stamp) or arrival[child] > t:
                    seen[child] = stamp
                    arrival[child] = t
                    parent[child] = state
                    f = max(t + hu, last + 1)
                    size = _push(heap_key, heap_item, size,
                                 (f * width + hu) * width + (horizon - t), child)  # fmt: skip
                    if size < 0:
                        return -1
                d = stop + 1  # u is taken at stop + 1: the next run of u begins later
    return -1


@jit()
def _trace(state: int, v_count: int, arrival: Int32s, parent: Int32s, out: Int32s) -> None:
    """Write the path to ``state`` into ``out``: each state's vertex from its arrival, kept
    (waiting) until the arrival of the next."""
    s = state
    until = arrival[s] + 1
    while s >= 0:
        g = arrival[s]
        for t in range(g, until):
            out[t] = s % v_count
        until = g
        s = parent[s]


class Reservations:
    """Everybody's paths (T+1, N) in a table of who is where when (``table``, (V, T+1), -1
    where free; ``ends``: at a free entry, the last time of its run of free times), and the work
    space to plan one agent against the others, each plan ending by T (the makespan never
    grows)."""

    def __init__(self, paths: Int32s, vertices: int) -> None:
        horizon = paths.shape[0] - 1
        states = (horizon + 1) * vertices
        if states >= np.iinfo(np.int32).max:
            raise ValueError(f"{states} states of (vertex, time) do not fit 32-bit indices")
        self.horizon = horizon
        self.table = np.full((vertices, horizon + 1), -1, np.int32)
        self.ends = np.empty((vertices, horizon + 1), np.int32)
        self.last_free = np.empty(vertices, np.int32)
        times = np.arange(horizon + 1)[:, None]
        self.table[paths, times] = np.arange(paths.shape[1], dtype=np.int32)[None, :]
        _runs(self.table, self.ends, self.last_free)
        self._seen = np.zeros(states, np.int32)
        self._stamp = 0
        self._arrival = np.empty(states, np.int32)
        self._parent = np.empty(states, np.int32)
        self._heap_key = np.empty(1 << 20, np.int64)
        self._heap_item = np.empty(1 << 20, np.int64)
        self.path = np.empty(horizon + 1, np.int32)

    def reserve(self, paths: Int32s, agents: Int32s) -> None:
        """Enter the agents' paths (columns of ``paths``) into the table."""
        _mark(self.table, self.ends, self.last_free, paths, agents, False)

    def release(self, paths: Int32s, agents: Int32s) -> None:
        """Take the agents' paths out of the table."""
        _mark(self.table, self.ends, self.last_free, paths, agents, True)

    def plan(self, start: int, goal: int, h: Tables, neighbours: Int32s, budget: int) -> int:
        """The earliest time by ``budget`` from which an agent from ``start`` can stay at
        ``goal`` (``h``: the distance table to it), avoiding everybody in the table; its path in
        ``self.path`` (until the next call). -1 when there is none."""
        self._stamp += 1
        if self._stamp == np.iinfo(np.int32).max:  # the marks wrap around: start afresh
            self._seen[:] = 0
            self._stamp = 1
        return _sipp(start, goal, h, neighbours, self.table, self.ends, self.last_free,
                     self._seen, self._stamp, self._arrival, self._parent, self._heap_key,
                     self._heap_item, self.path, budget)  # fmt: skip
