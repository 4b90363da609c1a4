"""Stacker-crane (AS/RS) sequencing: in which order, and paired how, the crane of one aisle serves
its storage and retrieval requests.

A request arrives at a time: a load waiting at the input/output point to be stored (anywhere
free: the crane picks the location), or a load to be retrieved from its location. The crane
serves one cycle at a time:

- ``"single"`` (the baseline): the oldest request alone, a load stored at a random free location
  (random storage);
- ``"dual"``: when loads wait on both sides, the oldest retrieval paired with the oldest storage
  into one dual command cycle, the storage going to the free location that makes the cycle
  shortest (the nearest-neighbour rule of Han, McGinnis, Shieh and White 1987); a lone storage
  goes to the free location nearest the I/O point.

The crane's moves are the caller's (``move(a, b)`` seconds between two ``(bay, level)``
locations, the I/O point being ``(0, 0)``), so that its kinematics stay in one place."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from smartfab.errors import SmartfabError

Loc = tuple[int, int]  # (bay, level)
IO: Loc = (0, 0)
POLICIES = ("single", "dual")


class SequencingError(SmartfabError):
    """Requests that contradict the rack (a retrieval from an empty location, no room)."""


@dataclass(frozen=True)
class Request:
    """``kind`` "store" (``loc`` None: the crane chooses) or "retrieve" (from ``loc``)."""

    arrival: float
    kind: str
    loc: Loc | None = None


@dataclass(frozen=True)
class Cycle:
    """One crane cycle: its start and end, what it stored where, what it retrieved."""

    start: float
    end: float
    store: Loc | None
    retrieve: Loc | None


@dataclass(frozen=True)
class CraneResult:
    cycles: list[Cycle]
    lead_times: list[float]  # per request, in request order

    @property
    def moves(self) -> int:
        return sum((c.store is not None) + (c.retrieve is not None) for c in self.cycles)

    @property
    def busy_s(self) -> float:
        return sum(c.end - c.start for c in self.cycles)

    @property
    def moves_per_hour(self) -> float:
        """Loads moved per hour of crane work: the crane's throughput capacity."""
        return 3600.0 * self.moves / self.busy_s if self.busy_s else 0.0

    @property
    def mean_lead_s(self) -> float:
        return float(np.mean(self.lead_times)) if self.lead_times else 0.0


def simulate(
    requests: Sequence[Request],
    free: Sequence[Loc],
    move: Callable[[Loc, Loc], float],
    fork_s: float,
    policy: str = "dual",
    seed: int = 0,
) -> CraneResult:
    """Serve ``requests`` (by arrival time) with one crane, ``free`` the locations empty at the
    start; every location not free is taken."""
    if policy not in POLICIES:
        raise SequencingError(f"policy {policy!r}: expected one of {', '.join(POLICIES)}")
    rng = np.random.default_rng(seed)
    order = sorted(range(len(requests)), key=lambda i: requests[i].arrival)
    empty = set(free)
    stores: deque[int] = deque()
    retrievals: deque[int] = deque()
    lead = [0.0] * len(requests)
    cycles: list[Cycle] = []
    now = 0.0
    k = 0

    def single(loc: Loc) -> float:
        return 2 * move(IO, loc) + 2 * fork_s

    def dual(store: Loc, retrieve: Loc) -> float:
        return move(IO, store) + move(store, retrieve) + move(retrieve, IO) + 4 * fork_s

    while k < len(order) or stores or retrievals:
        while k < len(order) and requests[order[k]].arrival <= now:
            i = order[k]
            (stores if requests[i].kind == "store" else retrievals).append(i)
            k += 1
        if not stores and not retrievals:
            now = requests[order[k]].arrival
            continue
        oldest_store = requests[stores[0]].arrival if stores else np.inf
        oldest_retrieval = requests[retrievals[0]].arrival if retrievals else np.inf
        store_at: Loc | None = None
        retrieve_from: Loc | None = None
        served: list[int] = []
        if policy == "dual" and stores and retrievals and empty:
            r = retrievals.popleft()
            target = retrieve_from = _retrieval(requests[r], empty)
            store_at = min(empty, key=lambda loc: (dual(loc, target), loc))
            served = [stores.popleft(), r]
            seconds = dual(store_at, target)
        elif stores and (oldest_store <= oldest_retrieval):
            if not empty:
                raise SequencingError(f"no free location for the load arriving at {oldest_store}")
            if policy == "dual":
                store_at = min(empty, key=lambda loc: (move(IO, loc), loc))
            else:
                choices = sorted(empty)
                store_at = choices[int(rng.integers(len(choices)))]
            served = [stores.popleft()]
            seconds = single(store_at)
        else:
            r = retrievals.popleft()
            retrieve_from = _retrieval(requests[r], empty)
            served = [r]
            seconds = single(retrieve_from)
        if store_at is not None:
            empty.discard(store_at)
        if retrieve_from is not None:
            empty.add(retrieve_from)
        cycles.append(Cycle(now, now + seconds, store_at, retrieve_from))
        now += seconds
        for i in served:
            lead[i] = now - requests[i].arrival
    return CraneResult(cycles, lead)


def _retrieval(request: Request, empty: set[Loc]) -> Loc:
    if request.loc is None or request.loc in empty:
        raise SequencingError(
            f"retrieval arriving at {request.arrival} from {request.loc}: nothing is stored there"
        )
    return request.loc
