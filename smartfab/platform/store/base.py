"""The storage interface. Every store (embedded DuckDB, PostgreSQL) implements it and passes the
same test suite; nothing above the platform layer knows which one it talks to.

All times are epoch microseconds (UTC). Query results are Arrow tables, so that a notebook can call
``.to_pandas()`` and the API can serialise columns without a Python object per row.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from smartfab.platform.points import EventBatch, PointBatch


@dataclass(frozen=True, slots=True)
class SignalInfo:
    """A signal as the store catalogues it. ``path`` is unique and stable; ``id`` is assigned by the
    store on first registration and never changes afterwards."""

    path: str  # site/area/line/cell/equipment/signal
    equipment: str  # site/area/line/cell/equipment
    name: str
    unit: str
    data_type: str
    role: str = "measurement"
    low: float | None = None  # expected range
    high: float | None = None
    source: str = ""  # lineage: which connection produced it ("opcua:plc-1", "virtual", ...)
    id: int = -1


class StoreError(Exception):
    """A store operation failed; the message says what and why."""


def check_known(known: npt.NDArray[np.bool_], batch: PointBatch) -> None:
    """Raise unless every signal id of ``batch`` is marked in ``known`` (indexed by id): points of
    an unknown signal are a caller's error, and the whole batch is refused so that nothing is
    half-stored."""
    sid = batch.signal_id
    if len(batch) == 0:
        return
    if sid.min() < 0 or sid.max() >= len(known) or not known[sid].all():
        inside = (sid >= 0) & (sid < len(known))
        unknown = np.unique(sid[~inside | ~known[np.where(inside, sid, 0)]])
        raise StoreError(
            f"points for unknown signal ids {unknown[:10].tolist()}: register the signals "
            f"first; none of the {len(batch)} points was stored"
        )


class Store(ABC):
    """Time series, events, the signal catalogue and small persistent settings."""

    # --- catalogue -------------------------------------------------------------------------
    @abstractmethod
    def register_signals(self, signals: Sequence[SignalInfo]) -> dict[str, int]:
        """Add new signals, update the metadata of known ones; return path -> id for all given."""

    @abstractmethod
    def signals(self) -> list[SignalInfo]:
        """Every catalogued signal, with its id."""

    # --- writing ---------------------------------------------------------------------------
    @abstractmethod
    def append(self, points: PointBatch, events: EventBatch) -> tuple[int, int]:
        """Store points and events in one transaction: all of both, or nothing. A (signal, ts)
        already stored is not stored again; within the batch the last duplicate wins. Returns
        the numbers of points and events written."""

    def append_points(self, batch: PointBatch) -> int:
        return self.append(batch, EventBatch.empty())[0]

    def append_events(self, batch: EventBatch) -> int:
        return self.append(PointBatch.empty(), batch)[1]

    # --- reading ---------------------------------------------------------------------------
    @abstractmethod
    def raw(
        self, signal_ids: Sequence[int], start: int, end: int, limit: int | None = None
    ) -> pa.Table:
        """Points of the signals with start <= ts < end, ordered by signal, ts.
        Columns: ts, signal_id, value, quality."""

    @abstractmethod
    def downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        """Fixed-width buckets over [start, end): bucket (start time), min, max, avg, last, count
        of the points that are not BAD. Only buckets that hold such points are returned."""

    @abstractmethod
    def latest(self, signal_ids: Sequence[int] | None = None) -> pa.Table:
        """Newest point of each signal (all when None): ts, signal_id, value, quality."""

    @abstractmethod
    def events(
        self,
        start: int,
        end: int,
        equipment: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Events with start <= ts < end, ordered by ts; with ``limit``, the newest ``limit`` of
        them. ``equipment`` matches the path or any path below it (a line selects its
        equipment)."""

    @abstractmethod
    def state_durations(self, equipment: str, start: int, end: int) -> pa.Table:
        """Seconds spent in each state within [start, end), from the state events; the state in
        force at ``start`` counts from ``start``. Columns: equipment, state, seconds."""

    def maintain(self) -> int:
        """Housekeeping that keeps queries fast as data grows (the DuckDB store rolls up the
        points appended since the last call); returns how many points it processed. Safe to
        call at any time, from any thread; the writer calls it now and then."""
        return 0

    @abstractmethod
    def count_points(self) -> int:
        """How many points the store holds."""

    # --- settings that must survive a restart (connector configuration, ...) ------------------
    @abstractmethod
    def get_setting(self, key: str) -> str | None: ...

    @abstractmethod
    def set_setting(self, key: str, value: str) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
