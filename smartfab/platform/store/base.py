"""The storage interface. Every store (embedded DuckDB, PostgreSQL) implements it and passes the
same test suite; nothing above the platform layer knows which one it talks to.

All times are epoch microseconds (UTC). Query results are Arrow tables, so that a notebook can call
``.to_pandas()`` and the API can serialise columns without a Python object per row.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from smartfab.model.plant import ValueKind, value_kind
from smartfab.platform import counters
from smartfab.platform.order import has_unique_keys, sort_by_signal_ts, superseded
from smartfab.platform.points import (
    ARRAY_POINT_SCHEMA,
    POINT_SCHEMA,
    TEXT_POINT_SCHEMA,
    AnyPoints,
    ArrayBatch,
    EventBatch,
    PointBatch,
    TextBatch,
    now_us,
)


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
    # array: its number of elements; string: its most characters (None: MAX_STRING_LENGTH);
    # None for numbers.
    length: int | None = None


class StoreError(Exception):
    """A store operation failed; the message says what and why."""


# --- retention per signal class, one definition for every store ---------------------------------

RETENTION_SETTING = "retention"  # JSON {role or "*": days or null}
RETENTION_APPLIED = "retention_applied_us"  # when maintain() last applied it
RETENTION_EVERY_US = 3_600_000_000  # maintain() applies the policy at most hourly
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class RetentionReport:
    """What one application of the policy removed (partitions: PostgreSQL only)."""

    partitions_dropped: list[str] = field(default_factory=list)
    rows_deleted: int = 0


# Bounds of a retention period, checked before a policy is saved (API and command line alike):
# below a day, a slip of the finger (0.001 for 1000) deletes nearly every point at the next
# housekeeping; beyond a century, the cutoff leaves the range of a timestamp.
MIN_RETENTION_DAYS = 1.0
MAX_RETENTION_DAYS = 36_500.0


def check_retention(days: Mapping[str, float | None]) -> dict[str, float | None]:
    """The policy as the stores keep it, or StoreError naming the first bad entry: a role (or
    ``*`` for every role not named) maps to days from MIN_RETENTION_DAYS to MAX_RETENTION_DAYS,
    or None for ever."""
    out: dict[str, float | None] = {}
    for role, d in days.items():
        if not isinstance(role, str) or not role or len(role) > 200:
            raise StoreError(f"retention: class {role!r} must be a signal role or '*'")
        # bool is an int to Python, not a number of days; NaN fails the comparison; for ever
        # is None.
        if d is not None and (isinstance(d, bool) or not isinstance(d, int | float)
                              or not MIN_RETENTION_DAYS <= d <= MAX_RETENTION_DAYS):  # fmt: skip
            raise StoreError(
                f"retention of {role!r}: {d} days; give a positive number of days from "
                f"{MIN_RETENTION_DAYS:g} to {MAX_RETENTION_DAYS:g}, or None to keep for ever"
            )
        out[role] = d
    return out


def retention_cutoffs(
    policy: Mapping[str, float | None], roles: Sequence[str], now: int
) -> dict[str, int | None]:
    """Per role, the time (epoch us) before which its points go; None: kept for ever. A role
    the policy does not name falls under ``*``, and without ``*`` is kept for ever."""
    out: dict[str, int | None] = {}
    for role in roles:
        days = policy.get(role, policy.get("*"))
        out[role] = None if days is None else now - int(days * DAY_US)
    return out


_KIND_CODE: dict[str, int] = {"number": 0, "text": 1, "array": 2}
_KIND_OF_BATCH: dict[type, ValueKind] = {PointBatch: "number", TextBatch: "text",
                                         ArrayBatch: "array"}  # fmt: skip
KINDS: tuple[ValueKind, ...] = ("number", "text", "array")


def last_values_schema(kind: ValueKind) -> pa.Schema:
    """Of :meth:`Store.last_values`: the value typed as the kind's points hold it."""
    points = {"number": POINT_SCHEMA, "text": TEXT_POINT_SCHEMA, "array": ARRAY_POINT_SCHEMA}
    return pa.schema(
        [("signal_id", pa.int32()), ("bucket", pa.int64()), points[kind].field("value")]
    )


def kind_of(batch: AnyPoints) -> ValueKind:
    """The kind of value a batch holds."""
    return _KIND_OF_BATCH[type(batch)]


def arrow_of(batch: AnyPoints) -> pa.RecordBatch:
    """A batch as Arrow, or StoreError naming the first value no store can hold: a text that is
    not a str (None, bytes), or that holds a NUL character (PostgreSQL's text cannot)."""
    kind = kind_of(batch)
    try:
        rows = batch.to_arrow()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"{kind} points: a value cannot be stored: {exc}") from exc
    value = rows.column("value")
    bad = value.is_null()
    if kind == "text":
        bad = pc.or_kleene(bad, pc.match_substring(value, "\x00"))
    if pc.any(bad).as_py():
        at = bad.index(True).as_py()
        raise StoreError(
            f"{kind} point of signal id {batch.signal_id[at]} at {batch.ts[at]} us: value "
            f"{value[at].as_py()!r:.80} cannot be stored (no value, or a NUL character; a BAD "
            "point carries an empty one)"
        )
    return rows


def key_order(batch: AnyPoints) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """None when no (signal, ts) of ``batch`` repeats; else the rows to keep, in (signal, ts)
    order, and the rows that a later row of the same (signal, ts) replaces. Found on the keys
    alone (their row numbers riding along as values), so one order serves every kind of batch."""
    n = len(batch)
    if n == 0 or has_unique_keys(batch):
        return None
    keys = PointBatch(batch.ts, batch.signal_id, np.arange(n, dtype=np.float64),
                      np.zeros(n, np.uint8))  # fmt: skip
    keys = sort_by_signal_ts(keys)
    dup = superseded(keys)
    at = keys.value.astype(np.intp)
    return at[~dup], at[dup]


class KnownSignals:
    """The catalogued signal ids and the kind of value each holds, as an array indexed by id
    (-1: not catalogued): what an append checks its batch against without a query. Every store
    keeps one and adds each registration to it."""

    def __init__(self) -> None:
        self.kind: npt.NDArray[np.int8] = np.zeros(0, np.int8)

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, signals: Iterable[tuple[int, str]]) -> None:
        """Add (id, data type) pairs."""
        pairs = list(signals)
        at = np.fromiter((i for i, _ in pairs), np.intp, len(pairs))
        size = int(at.max()) + 1 if len(at) else 0
        if size > len(self.kind):
            self.kind = np.concatenate([self.kind, np.full(size - len(self.kind), -1, np.int8)])
        self.kind[at] = [_KIND_CODE[value_kind(t)] for _, t in pairs]

    def check(self, batch: AnyPoints) -> None:
        """Raise unless every signal id of ``batch`` is catalogued and holds the batch's kind of
        value: points of an unknown signal, or text for a numeric one, are a caller's error, and
        the whole batch is refused so that nothing is half-stored."""
        sid, kinds = batch.signal_id, self.kind
        if len(batch) == 0:
            return
        want = _KIND_OF_BATCH[type(batch)]
        inside = (sid >= 0) & (sid < len(kinds))
        got = np.where(inside, kinds[np.where(inside, sid, 0)], -1)
        if (got == -1).any():
            unknown = np.unique(sid[got == -1])
            raise StoreError(
                f"points for unknown signal ids {unknown[:10].tolist()}: register the signals "
                f"first; none of the {len(batch)} points was stored"
            )
        wrong = got != _KIND_CODE[want]
        if wrong.any():
            ids = np.unique(sid[wrong])
            held = next(k for k, c in _KIND_CODE.items() if c == got[wrong][0])
            raise StoreError(
                f"{want} points for signal ids {ids[:10].tolist()}, which hold {held} values; "
                f"none of the {len(batch)} points was stored"
            )


def _asset(path: str) -> str:
    """An asset path as the stores match it: without a trailing slash (``a/b/`` is ``a/b``)."""
    return path.rstrip("/")


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
    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        """Store points (numbers, and the texts and arrays of string and array signals) and
        events in one transaction: all of them, or nothing. A (signal, ts) already stored is not
        stored again; within the batch the last duplicate wins. Returns the numbers of points (of
        every kind) and events written."""

    def append_points(self, batch: AnyPoints) -> int:
        """Store one batch of points of any kind."""
        if isinstance(batch, TextBatch):
            return self.append(PointBatch.empty(), EventBatch.empty(), texts=batch)[0]
        if isinstance(batch, ArrayBatch):
            return self.append(PointBatch.empty(), EventBatch.empty(), arrays=batch)[0]
        return self.append(batch, EventBatch.empty())[0]

    def append_events(self, batch: EventBatch) -> int:
        return self.append(PointBatch.empty(), batch)[1]

    # --- reading: the contract and its argument checks here, the queries in each store --------
    def raw(
        self,
        signal_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None = None,
        kind: ValueKind = "number",
    ) -> pa.Table:
        """Points of the signals with start <= ts < end, ordered by signal, ts; at most
        ``limit``. Columns: ts, signal_id, value, quality; ``value`` is a float64 for numeric
        signals, a string for ``kind="text"``, a list of float64 for ``kind="array"`` (the
        signals of one call hold one kind)."""
        if limit is not None and limit < 0:
            raise StoreError(f"raw: limit {limit} is negative")
        if kind not in _KIND_CODE:
            raise StoreError(f"raw: kind {kind!r} is none of {sorted(_KIND_CODE)}")
        lim = None if limit is None else int(limit)
        if kind == "number":
            return self._raw(signal_ids, int(start), int(end), lim)
        return self._raw_values(kind, signal_ids, int(start), int(end), lim)

    def downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table:
        """Fixed-width buckets over [start, end): bucket (start time), min, max, avg, last, count
        of the points that are not BAD. Only buckets that hold such points are returned."""
        if bucket_us <= 0:
            raise StoreError(f"downsample bucket of {bucket_us} us: must be positive")
        return self._downsample(int(signal_id), int(start), int(end), int(bucket_us))

    def increases(
        self, signal_ids: Sequence[int], start: int, end: int, bucket_us: int
    ) -> pa.Table:
        """How much each cumulative counter (energy meter, part counter) rose in fixed-width
        buckets (multiples of ``bucket_us`` since the epoch), from its points with start <= ts <
        end of any quality: the steps between consecutive points, in the bucket of the later
        one; a fall starts the count over (see :mod:`smartfab.platform.counters`). Columns:
        signal_id, bucket (epoch µs), increase, ordered by signal and bucket; every bucket that
        holds a point, and no other."""
        if bucket_us <= 0:
            raise StoreError(f"increases: bucket of {bucket_us} us: must be positive")
        if not signal_ids:
            return counters.INCREASE_SCHEMA.empty_table()
        return self._increases(
            sorted({int(i) for i in signal_ids}), int(start), int(end), int(bucket_us)
        )

    def last_values(
        self,
        signal_ids: Sequence[int],
        start: int,
        end: int,
        bucket_us: int,
        kind: ValueKind = "number",
    ) -> pa.Table:
        """The value of the newest point (of any quality) of each signal in each fixed-width
        bucket (multiples of ``bucket_us`` since the epoch) of [start, end) that holds one: what
        was set last, as a product code per interval. Columns: signal_id, bucket (epoch µs),
        value (typed as in :meth:`raw`), ordered by signal and bucket."""
        if bucket_us <= 0:
            raise StoreError(f"last_values: bucket of {bucket_us} us: must be positive")
        if kind not in _KIND_CODE:
            raise StoreError(f"last_values: kind {kind!r} is none of {sorted(_KIND_CODE)}")
        return self._last_values(
            sorted({int(i) for i in signal_ids}), int(start), int(end), int(bucket_us), kind
        )

    def latest(
        self, signal_ids: Sequence[int] | None = None, kind: ValueKind = "number"
    ) -> pa.Table:
        """Newest point of each signal of that kind (all when None): ts, signal_id, value,
        quality, with ``value`` typed as in :meth:`raw`."""
        if kind not in _KIND_CODE:
            raise StoreError(f"latest: kind {kind!r} is none of {sorted(_KIND_CODE)}")
        if kind == "number":
            return self._latest(signal_ids)
        return self._latest_values(kind, signal_ids)

    def earliest(self, signal_ids: Sequence[int], kind: ValueKind = "number") -> pa.Table:
        """Oldest stored point of each of the signals of that kind that has one (a series'
        "first seen"): ts, signal_id, value, quality, ordered by signal_id, ``value`` typed as
        in :meth:`raw`."""
        if kind not in _KIND_CODE:
            raise StoreError(f"earliest: kind {kind!r} is none of {sorted(_KIND_CODE)}")
        if kind == "number":
            return self._earliest(signal_ids)
        return self._earliest_values(kind, signal_ids)

    def events(
        self,
        start: int,
        end: int,
        equipment: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Events with start <= ts < end, ordered by ts (and, at the same ts, as appended); with
        ``limit``, the newest ``limit`` of them. ``equipment`` matches the path or any path below
        it (a line selects its equipment)."""
        if limit is not None and limit < 0:
            raise StoreError(f"events: limit {limit} is negative")
        return self._events(
            int(start),
            int(end),
            None if equipment is None else _asset(equipment),
            None if kinds is None else list(kinds),
            None if limit is None else int(limit),
        )

    def state_durations(self, equipment: str, start: int, end: int) -> pa.Table:
        """Seconds spent in each state within [start, end), from the state events; the state in
        force at ``start`` counts from ``start``. Columns: equipment, state, seconds."""
        return self._state_durations(_asset(equipment), int(start), int(end))

    # What each store implements, with arguments checked and normalised by the methods above.
    @abstractmethod
    def _raw(
        self, signal_ids: Sequence[int], start: int, end: int, limit: int | None
    ) -> pa.Table: ...

    @abstractmethod
    def _downsample(self, signal_id: int, start: int, end: int, bucket_us: int) -> pa.Table: ...

    def _increases_of_runs(
        self, runs: counters.Segments, signal_ids: list[int], start: int, end: int, bucket_us: int
    ) -> pa.Table:
        """Increases chained from ``runs`` (every run of [start, end) of the signals that have
        them), and from the points for the other signals and those whose runs interleave (a late
        point stored apart from its neighbours)."""
        redo = sorted((set(signal_ids) - set(runs.sid.tolist())) | set(runs.overlapping().tolist()))
        chained = runs.increases(bucket_us)
        if not redo:
            return chained
        kept = pc.invert(pc.is_in(chained.column("signal_id"), pa.array(redo, pa.int32())))
        # Store's own _increases: from the points, whatever the store overrides it with.
        both = pa.concat_tables(
            [chained.filter(kept), Store._increases(self, redo, start, end, bucket_us)]
        )
        return both.sort_by([("signal_id", "ascending"), ("bucket", "ascending")])

    def _last_values(
        self, signal_ids: list[int], start: int, end: int, bucket_us: int, kind: ValueKind
    ) -> pa.Table:
        """From the points (a store with something faster overrides it)."""
        t = self.raw(signal_ids, start, end, kind=kind)
        sid = t.column("signal_id").to_numpy()
        bucket = t.column("ts").cast(pa.int64()).to_numpy() // bucket_us * bucket_us
        last = np.ones(len(sid), bool)  # rows come ordered by signal and time
        last[:-1] = (sid[1:] != sid[:-1]) | (bucket[1:] != bucket[:-1])
        at = np.flatnonzero(last)
        return pa.table(
            [t.column("signal_id").take(at), pa.array(bucket[at]), t.column("value").take(at)],
            schema=last_values_schema(kind),
        )

    def _increases(self, signal_ids: list[int], start: int, end: int, bucket_us: int) -> pa.Table:
        """From the points (a store with something faster overrides it)."""
        t = self._raw(signal_ids, start, end, None)
        ts = t.column("ts").cast(pa.int64()).to_numpy()
        sid = t.column("signal_id").to_numpy().astype(np.int64)
        return counters.from_points(sid, ts, t.column("value").to_numpy(), bucket_us)

    @abstractmethod
    def _latest(self, signal_ids: Sequence[int] | None) -> pa.Table: ...

    # Text and array points ("text" or "array" for kind), in their own tables.
    @abstractmethod
    def _raw_values(
        self, kind: ValueKind, signal_ids: Sequence[int], start: int, end: int, limit: int | None
    ) -> pa.Table: ...

    @abstractmethod
    def _latest_values(self, kind: ValueKind, signal_ids: Sequence[int] | None) -> pa.Table: ...

    @abstractmethod
    def _earliest(self, signal_ids: Sequence[int]) -> pa.Table: ...

    @abstractmethod
    def _earliest_values(self, kind: ValueKind, signal_ids: Sequence[int]) -> pa.Table: ...

    @abstractmethod
    def _events(
        self,
        start: int,
        end: int,
        equipment: str | None,
        kinds: list[str] | None,
        limit: int | None,
    ) -> pa.Table: ...

    @abstractmethod
    def _state_durations(self, equipment: str, start: int, end: int) -> pa.Table: ...

    def maintain(self) -> int:
        """Housekeeping that keeps queries fast as data grows (the DuckDB store rolls up the
        points appended since the last call) and applies the retention policy when it is due;
        returns how many points it processed. Safe to call at any time, from any thread; the
        writer calls it now and then."""
        self.apply_retention_if_due()
        return 0

    # --- retention (the policy lives in the settings, so every worker sees the same) -----------
    def set_retention(self, days: Mapping[str, float | None]) -> None:
        """Keep points of signals whose role is the key for that many days (None: for ever);
        ``*`` applies to every role not named. Without ``*``, unnamed roles are kept for ever;
        an empty policy keeps everything."""
        self.set_setting(RETENTION_SETTING, json.dumps(check_retention(days), sort_keys=True))

    def retention(self) -> dict[str, float | None]:
        stored = self.get_setting(RETENTION_SETTING)
        return dict(json.loads(stored)) if stored else {}

    @abstractmethod
    def apply_retention(self, now: int | None = None) -> RetentionReport:
        """Delete the points of every kind (and 1-minute rollups) older than their class's
        retention; hourly rollups and events stay, so long trends outlive the raw points.
        Idempotent."""

    def apply_retention_if_due(self, now: int | None = None) -> RetentionReport | None:
        """Apply the policy if there is one and it was last applied over an hour ago: what
        ``maintain()`` calls, so that a running server keeps to it without a cron job."""
        now = now_us() if now is None else now
        last = self.get_setting(RETENTION_APPLIED)
        if not self.retention() or (last is not None and now - int(last) < RETENTION_EVERY_US):
            return None
        report = self.apply_retention(now)
        self.set_setting(RETENTION_APPLIED, str(now))
        return report

    @abstractmethod
    def count_points(
        self, signal_ids: Sequence[int] | None = None, start: int | None = None,
        end: int | None = None,
    ) -> int:  # fmt: skip
        """How many points (of every kind) the store holds; of those signals, with
        start <= ts < end."""

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
