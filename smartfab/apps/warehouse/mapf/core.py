"""The numeric core: breadth-first distance tables and PIBT's one-step configuration generator
(Okumura et al., "Priority inheritance with backtracking for iterative multi-agent path
finding", AIJ 2022), over arrays so that Numba compiles them.

Vertices are ``0..V-1``; ``neighbours`` is (V, 4), -1 padded. A distance table is one row of a
(K, V) array of ``uint16`` (``int32`` on grids of 65,535 cells or more), ``unreached(dtype)`` where
the source cannot be reached."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from smartfab.apps.warehouse.mapf._jit import jit, prange

Int32s = npt.NDArray[np.int32]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float32]
Costs = npt.NDArray[np.uint8]
Tables = npt.NDArray[np.integer[Any]]  # uint16 or int32


def table_dtype(vertices: int) -> type[np.uint16] | type[np.int32]:
    """The narrowest type that holds every distance on a grid of ``vertices`` free cells."""
    return np.uint16 if vertices < np.iinfo(np.uint16).max else np.int32


def unreached(dtype: npt.DTypeLike) -> int:
    """The distance of a vertex that the source cannot reach."""
    return int(np.iinfo(dtype).max)


@jit()
def bfs(neighbours: Int32s, source: int, blocked: Bools, out: Tables, queue: Int32s) -> None:
    """Distances from ``source`` to every vertex into ``out``, not entering blocked vertices."""
    far = out.dtype.type(np.iinfo(out.dtype).max)
    out[:] = far
    if blocked[source]:
        return
    out[source] = 0
    queue[0] = source
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        d = out[v] + 1
        for k in range(4):
            u = neighbours[v, k]
            if u >= 0 and out[u] == far and not blocked[u]:
                out[u] = d
                queue[tail] = u
                tail += 1


@jit(parallel=True)
def bfs_many(neighbours: Int32s, sources: Int32s, blocked: Bools, out: Tables) -> None:
    """One distance table per source, ``out[k]`` from ``sources[k]``, in parallel."""
    n = neighbours.shape[0]
    for k in prange(sources.shape[0]):
        bfs(neighbours, sources[k], blocked, out[k], np.empty(n, np.int32))


@jit()
def _distance(neighbours: Int32s, source: int, target: int, out: Int32s, queue: Int32s) -> int:
    """The distance from ``source`` to ``target`` (-1 if unreachable), searching breadth first
    only as far as needed; ``out`` and ``queue`` (V) are work space."""
    out[:] = -1
    out[source] = 0
    queue[0] = source
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        if v == target:
            return int(out[v])
        for k in range(4):
            u = neighbours[v, k]
            if u >= 0 and out[u] < 0:
                out[u] = out[v] + 1
                queue[tail] = u
                tail += 1
    return -1


@jit(parallel=True)
def distances(neighbours: Int32s, sources: Int32s, targets: Int32s, out: Int32s) -> None:
    """``out[k]``: the distance from ``sources[k]`` to ``targets[k]``, -1 if unreachable."""
    n = neighbours.shape[0]
    for k in prange(sources.shape[0]):
        out[k] = _distance(
            neighbours, sources[k], targets[k], np.empty(n, np.int32), np.empty(n, np.int32)
        )


@jit()
def weighted(
    neighbours: Int32s,
    source: int,
    cost: Costs,
    out: Tables,
    heads: Int32s,
    links: Int32s,
    items: Int32s,
) -> None:
    """Path costs from every vertex to ``source`` into ``out``: a path pays ``cost[u]`` for each
    vertex ``u`` it enters (the first, a neighbour's own, is left out of its cost). Dial's bucket
    queue, the costs being small integers of at least 1: ``heads`` (highest cost + 1), ``links``
    and ``items`` (4 V + 1) are work space."""
    far = out.dtype.type(np.iinfo(out.dtype).max)
    out[:] = far
    out[source] = 0
    width = heads.shape[0]
    heads[:] = -1
    items[0] = source
    links[0] = -1
    heads[0] = 0
    used, pending, d = 1, 1, 0
    while pending > 0:
        b = d % width
        while heads[b] >= 0:
            e = heads[b]
            heads[b] = links[e]
            pending -= 1
            v = items[e]
            if out[v] != d:
                continue  # stale: v was reached cheaper since
            reach = d + int(cost[v])
            for k in range(4):
                u = neighbours[v, k]
                if u >= 0 and reach < out[u]:
                    out[u] = reach
                    items[used] = u
                    links[used] = heads[reach % width]
                    heads[reach % width] = used
                    used += 1
                    pending += 1
        d += 1


@jit(parallel=True)
def weighted_many(neighbours: Int32s, sources: Int32s, cost: Costs, out: Tables) -> None:
    """One table of path costs per source (``weighted``), ``out[k]`` to ``sources[k]``."""
    n = neighbours.shape[0]
    width = int(cost.max()) + 1
    for k in prange(sources.shape[0]):
        weighted(
            neighbours, sources[k], cost, out[k], np.empty(width, np.int32),
            np.empty(4 * n + 1, np.int32), np.empty(4 * n + 1, np.int32),
        )  # fmt: skip


@jit()
def _degree(neighbours: Int32s, blocked: Bools, v: int) -> int:
    n = 0
    for k in range(4):
        u = neighbours[v, k]
        if u >= 0 and not blocked[u]:
            n += 1
    return n


@jit()
def _pull_room(
    neighbours: Int32s,
    blocked: Bools,
    goal: Int32s,
    occ_now: Int32s,
    v_pusher: int,
    v_puller: int,
) -> tuple[int, int]:
    """Where the puller of a swap at ``v_puller`` could step aside (pushed from ``v_pusher``):
    the number of such cells and one of them. An agent parked at the goal of a dead end is no
    room."""
    n = 0
    other = -1
    for k in range(4):
        u = neighbours[v_puller, k]
        if u < 0 or blocked[u] or u == v_pusher:
            continue
        a = occ_now[u]
        if a >= 0 and goal[a] == u and _degree(neighbours, blocked, u) == 1:
            continue
        n += 1
        other = u
    return n, other


@jit()
def _swap_required(
    neighbours: Int32s,
    dist: Tables,
    slot: Int32s,
    blocked: Bools,
    goal: Int32s,
    occ_now: Int32s,
    pusher: int,
    puller: int,
    v_pusher: int,
    v_puller: int,
) -> bool:
    """Whether ``pusher`` and ``puller`` need to pass each other in a corridor: walking the
    corridor ahead of the pusher finds no place for the puller to step aside before the pusher
    is done, and the puller wants to go where the pusher comes from."""
    d_push = dist[slot[pusher]]
    d_pull = dist[slot[puller]]
    while d_push[v_puller] < d_push[v_pusher]:
        n, other = _pull_room(neighbours, blocked, goal, occ_now, v_pusher, v_puller)
        if n >= 2:
            return False
        if n <= 0:
            break
        v_pusher, v_puller = v_puller, other
    return bool(d_pull[v_pusher] < d_pull[v_puller]) and bool(
        d_push[v_pusher] == 0 or d_push[v_puller] < d_push[v_pusher]
    )


@jit()
def _swap_possible(
    neighbours: Int32s, blocked: Bools, goal: Int32s, occ_now: Int32s, v_pusher: int, v_puller: int
) -> bool:
    """Whether the corridor behind the puller widens somewhere (so the two can pass there)."""
    origin = v_pusher
    while v_puller != origin:
        n, other = _pull_room(neighbours, blocked, goal, occ_now, v_pusher, v_puller)
        if n >= 2:
            return True
        if n <= 0:
            return False
        v_pusher, v_puller = v_puller, other
    return False


@jit()
def _swap_partner(
    i: int,
    best: int,
    neighbours: Int32s,
    dist: Tables,
    slot: Int32s,
    pos: Int32s,
    nxt: Int32s,
    blocked: Bools,
    goal: Int32s,
    occ_now: Int32s,
) -> int:
    """The agent that ``i`` must swap places with, by backing up and pulling it along (the swap
    operation of LaCAM*, Okumura IJCAI 2023), or -1: the agent on ``i``'s best next cell facing
    it in a corridor, or a neighbour that ``i`` must let pass."""
    v = pos[i]
    if best == v:
        return -1
    j = occ_now[best]
    # Agents heading for one cell (a drop that is the next task's pickup) need no swap: the
    # first there is done and goes on.
    if (
        j >= 0
        and goal[j] != goal[i]
        and nxt[j] < 0
        and _swap_required(neighbours, dist, slot, blocked, goal, occ_now, i, j, v, best)
        and _swap_possible(neighbours, blocked, goal, occ_now, best, v)
    ):
        return int(j)
    for k in range(4):
        u = neighbours[v, k]
        if u < 0:
            continue
        a = occ_now[u]
        if a < 0 or best == u or goal[a] == goal[i]:
            continue
        if _swap_required(
            neighbours, dist, slot, blocked, goal, occ_now, a, i, v, best
        ) and _swap_possible(neighbours, blocked, goal, occ_now, best, v):
            return int(a)
    return -1


@jit()
def _rank(
    i: int,
    u: int,
    distance: Any,
    goal: Int32s,
    pos: Int32s,
    nxt: Int32s,
    occ_now: Int32s,
    tie: Floats,
    parked: float,
) -> float:
    """Agent ``i``'s preference for stepping to ``u``, lowest first: the distance from ``u`` to
    the goal, plus ``parked`` if another agent rests on its goal at ``u`` (and is not planned
    yet: pushed off, its cost becomes the time it comes back), plus a random tie-break."""
    key = float(distance) + float(tie[u])
    j = occ_now[u]
    if j >= 0 and j != i and nxt[j] < 0 and pos[j] == goal[j]:
        key += parked
    return key


@jit()
def _pibt(
    i: int,
    neighbours: Int32s,
    dist: Tables,
    slot: Int32s,
    goal: Int32s,
    pos: Int32s,
    nxt: Int32s,
    occ_now: Int32s,
    occ_next: Int32s,
    tie: Floats,
    blocked: Bools,
    cand: Int32s,
    parked: float,
) -> bool:
    """Plan agent ``i``'s next vertex, pushing the agent in its way (priority inheritance); False
    when ``i`` must stay where it is."""
    v = pos[i]
    if v == goal[i] and occ_next[v] < 0 and not blocked[v]:
        # Staying is the best there is (what the full choice below would find, without reading
        # the distance table: most agents are at their goals most of the time).
        occ_next[v] = i
        nxt[i] = v
        return True
    row = slot[i]
    k = 0
    for d in range(4):
        u = neighbours[v, d]
        if u >= 0 and not blocked[u]:
            cand[i, k] = u
            k += 1
    cand[i, k] = v
    k += 1
    # Nearest to the goal first, cells of agents resting on their goals after free ones as near;
    # random ties, so that repeated calls explore.
    for a in range(1, k):
        u = cand[i, a]
        key = _rank(i, u, dist[row, u], goal, pos, nxt, occ_now, tie, parked)
        b = a - 1
        while b >= 0:
            w = cand[i, b]
            if _rank(i, w, dist[row, w], goal, pos, nxt, occ_now, tie, parked) <= key:
                break
            cand[i, b + 1] = w
            b -= 1
        cand[i, b + 1] = u
    partner = _swap_partner(i, cand[i, 0], neighbours, dist, slot, pos, nxt, blocked, goal, occ_now)
    if partner >= 0:  # back up, away from the goal, and pull the partner along
        cand[i, :k] = cand[i, :k][::-1].copy()
    for a in range(k):
        u = cand[i, a]
        if occ_next[u] >= 0:
            continue
        j = occ_now[u]
        if j >= 0 and nxt[j] == v:  # a swap
            continue
        occ_next[u] = i
        nxt[i] = u
        if (
            j >= 0
            and j != i
            and nxt[j] < 0
            and not _pibt(
                j,
                neighbours,
                dist,
                slot,
                goal,
                pos,
                nxt,
                occ_now,
                occ_next,
                tie,
                blocked,
                cand,
                parked,
            )
        ):
            continue
        if a == 0 and partner >= 0 and nxt[partner] < 0 and occ_next[v] < 0:
            nxt[partner] = v
            occ_next[v] = partner
        return True
    occ_next[v] = i
    nxt[i] = v
    return False


@jit()
def next_config(
    neighbours: Int32s,
    dist: Tables,
    slot: Int32s,
    goal: Int32s,
    pos: Int32s,
    order: Int32s,
    fixed_who: Int32s,
    fixed_where: Int32s,
    blocked: Bools,
    tie: Floats,
    nxt: Int32s,
    occ_now: Int32s,
    occ_next: Int32s,
    cand: Int32s,
    parked: float,
) -> bool:
    """One step of every agent into ``nxt``: agent ``fixed_who[k]`` to ``fixed_where[k]`` (a
    constraint), the others by PIBT in ``order`` (highest priority first). Agent ``i`` heads for
    the source of ``dist[slot[i]]``, ``goal[i]``, and ranks a cell where another agent rests on
    its goal ``parked`` farther than it is (0: plain PIBT). ``occ_now``, ``occ_next`` (V) and
    ``cand`` (N, 5) are work space; the first two hold -1 on entry and on return. False when no step
    obeys the constraints (``nxt`` is then meaningless)."""
    n = pos.shape[0]
    for i in range(n):
        occ_now[pos[i]] = i
        nxt[i] = -1
    ok = True
    for k in range(fixed_who.shape[0]):
        i = fixed_who[k]
        u = fixed_where[k]
        if occ_next[u] >= 0:
            ok = False
            break
        j = occ_now[u]
        if j >= 0 and nxt[j] == pos[i]:
            ok = False
            break
        nxt[i] = u
        occ_next[u] = i
    if ok:
        for i in order:
            if nxt[i] < 0 and not _pibt(
                i,
                neighbours,
                dist,
                slot,
                goal,
                pos,
                nxt,
                occ_now,
                occ_next,
                tie,
                blocked,
                cand,
                parked,
            ):
                ok = False
                break
    for i in range(n):
        occ_now[pos[i]] = -1
    occ_next[:] = -1
    return ok
