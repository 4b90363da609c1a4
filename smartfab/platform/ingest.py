"""The batching writer: the bus's one consumer and the store's one producer.

It gathers what the bus delivers into batches of up to ``max_points`` points (or whatever arrived
within ``max_delay_s``), validates them, derives events and appends both to the store. Validation,
derivation and the append run in a worker thread (NumPy and DuckDB release the GIL), so the event
loop keeps serving connectors and the API meanwhile, and connectors keep publishing into the bus.

Points of string and array signals (texts and arrays, ``TextBatch`` and ``ArrayBatch``) are
gathered beside the numbers and appended in the same transaction. Validation is vectorised over
the whole batch of each kind. A point gets the first reason that applies:

==========================  =====================================================================
unknown_signal              rejected: the signal id is not in the catalogue
wrong_kind                  rejected: a text or an array for a signal of another kind (a number
                            for a string signal, ...)
not_finite                  rejected: NaN or infinite value, or array element (unless the source
                            marked the point BAD)
invalid_text                rejected: a text no store can hold (not a str, or a NUL character)
too_long                    rejected: a text longer than its signal's ``length`` (default
                            MAX_STRING_LENGTH characters)
wrong_length                rejected: an array whose number of elements is not its signal's
                            ``length`` (a BAD point may have none)
implausible_timestamp       rejected: timestamp before 2000 (a device clock that was never set)
future_timestamp            rejected: timestamp more than ``max_future_s`` ahead of this host
duplicate                   dropped: the batch holds a later point with the same signal and ts
out_of_range                *stored*, quality at least UNCERTAIN: outside the expected range (as
                            OPC UA's Uncertain_EngineeringUnitsExceeded: a real over-temperature
                            must reach the store)
quality_range, stale,       *stored*, flagged BAD or UNCERTAIN by the signal's data-quality rules
flatline, spike             (the plant file's ``quality:``, see ``smartfab.platform.quality``)
==========================  =====================================================================

Each reason is counted in :class:`WriterStats`, logged, and stored as one QUALITY event per
(signal, reason) and batch, with the count as value and an example in the detail (a text or an
array shortened). The range, the quality rules and the derived events (state, count, fault) are
for numbers only: a string or array signal has none of them.

Nothing acknowledged is lost: when the store fails (StoreError, OSError: a full disk, a lost
database connection), the prepared batch is kept and the append retried with exponential backoff
until it succeeds, meanwhile the bus fills and back-pressure slows the connectors; ``flush`` and
``stop`` return only once everything is stored. Any other exception is a bug: it stops the writer
and is raised by ``flush`` and ``stop`` rather than retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from smartfab.errors import SmartfabError
from smartfab.model.plant import MAX_STRING_LENGTH, value_kind
from smartfab.platform.bus import Bus, BusItem, Subscription
from smartfab.platform.derive import EventDeriver, ObjectArray
from smartfab.platform.order import BoolArray
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    EventBatch,
    EventKind,
    Float64Array,
    Int32Array,
    Int64Array,
    PointBatch,
    Quality,
    TextBatch,
    now_us,
)
from smartfab.platform.quality import WHAT as QUALITY_RULES
from smartfab.platform.quality import QualityRules
from smartfab.platform.store.base import KINDS, SignalInfo, Store, StoreError, key_order, kind_of

log = logging.getLogger(__name__)
T = TypeVar("T")
B = TypeVar("B", PointBatch, TextBatch, ArrayBatch)

Y2000_US = 946_684_800_000_000

UNKNOWN_SIGNAL = "unknown_signal"
WRONG_KIND = "wrong_kind"
NOT_FINITE = "not_finite"
INVALID_TEXT = "invalid_text"
TOO_LONG = "too_long"
WRONG_LENGTH = "wrong_length"
IMPLAUSIBLE_TIMESTAMP = "implausible_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
DUPLICATE = "duplicate"
OUT_OF_RANGE = "out_of_range"
INVALID_EVENT = "invalid_event"

_WHAT = {
    UNKNOWN_SIGNAL: "rejected: the signal id is not in the catalogue",
    WRONG_KIND: "rejected: the signal holds another kind of value",
    NOT_FINITE: "rejected: the value is NaN or infinite",
    INVALID_TEXT: "rejected: not a text a store can hold (not a string, or a NUL character)",
    TOO_LONG: "rejected: the text is longer than the signal's length",
    WRONG_LENGTH: "rejected: the number of elements is not the signal's length",
    IMPLAUSIBLE_TIMESTAMP: "rejected: timestamp before 2000",
    FUTURE_TIMESTAMP: "rejected: timestamp too far in the future",
    DUPLICATE: "dropped: a later point of the batch has the same timestamp",
    OUT_OF_RANGE: "stored as UNCERTAIN: value outside the expected range",
    **QUALITY_RULES,
}
_FLAGGED = frozenset({OUT_OF_RANGE, *QUALITY_RULES})  # reasons of points stored, not rejected


@dataclass
class WriterStats:
    """What the writer did since it started."""

    points_in: int = 0  # received from the bus, of every kind (numbers, texts, arrays)
    points_stored: int = 0
    points_already_stored: int = 0  # valid, but the store held that (signal, ts) already
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> points (or events)
    flagged: dict[str, int] = field(default_factory=dict)  # reason -> points stored flagged
    events_in: int = 0  # received from the bus
    events_derived: int = 0
    events_stored: int = 0  # received, derived and QUALITY events
    texts_in: int = 0  # of points_in: texts
    arrays_in: int = 0  # of points_in: arrays
    batches: int = 0  # batches appended to the store
    retries: int = 0  # failed store appends, each retried
    last_error: str = ""


def _ts_text(us: int) -> str:
    # NumPy renders any int64 microsecond count, where datetime overflows outside years 1-9999
    return f"{np.datetime64(int(us), 'us')}Z"


@dataclass(frozen=True)
class _Catalogue:
    """The store's signals as arrays indexed by signal id, for vectorised lookups."""

    kind: npt.NDArray[np.int8]  # index in KINDS; -1: not catalogued
    length: Int64Array  # array: elements; string: most characters; number: 0
    low: Float64Array
    high: Float64Array
    path: ObjectArray
    equipment: ObjectArray

    @classmethod
    def of(cls, signals: Sequence[SignalInfo]) -> _Catalogue:
        # At least one row, so that lookups at an unknown id's placeholder 0 always work.
        size = max((s.id for s in signals), default=0) + 1
        cat = cls(
            np.full(size, -1, np.int8),
            np.zeros(size, np.int64),
            np.full(size, -np.inf),
            np.full(size, np.inf),
            np.full(size, "", object),
            np.full(size, "", object),
        )
        for s in signals:
            kind = value_kind(s.data_type)
            cat.kind[s.id] = KINDS.index(kind)
            default = MAX_STRING_LENGTH if kind == "text" else 0
            cat.length[s.id] = default if s.length is None else s.length
            cat.low[s.id] = -np.inf if s.low is None else s.low
            cat.high[s.id] = np.inf if s.high is None else s.high
            cat.path[s.id], cat.equipment[s.id] = s.path, s.equipment
        return cat

    def kinds(self, signal_id: Int32Array) -> npt.NDArray[np.int8]:
        """Each point's signal's kind (index in KINDS), -1 where the id is not catalogued: known
        and kind in one lookup, which a batch of numbers needs on every append."""
        if len(signal_id) and signal_id.min() >= 0 and signal_id.max() < len(self.kind):
            return self.kind[signal_id]
        inside = (signal_id >= 0) & (signal_id < len(self.kind))
        return np.where(inside, self.kind[np.where(inside, signal_id, 0)], np.int8(-1))


@dataclass(frozen=True)
class _Batches:
    """What one append stores: points of each kind and events."""

    points: PointBatch
    texts: TextBatch
    arrays: ArrayBatch
    events: EventBatch


_SHOWN_CHARS, _SHOWN_ELEMENTS = 40, 5  # of a text or an array in a QUALITY event


def _example(points: AnyPoints, i: int) -> str:
    """Point i's value as a QUALITY event shows it: a long text or array shortened."""
    if isinstance(points, PointBatch):
        return repr(float(points.value[i]))
    if isinstance(points, TextBatch):
        text = points.text[i]
        if isinstance(text, str) and len(text) > _SHOWN_CHARS:
            return f"{text[:_SHOWN_CHARS]!r}... ({len(text)} characters)"
        return repr(text)[: 2 * _SHOWN_CHARS]
    row = points.row(i)
    shown = ", ".join(repr(float(x)) for x in row[:_SHOWN_ELEMENTS])
    return f"[{shown}{', ...' if len(row) > _SHOWN_ELEMENTS else ''}] ({len(row)} elements)"


def _texts(text: ObjectArray) -> tuple[pa.Array, BoolArray]:
    """Texts as Arrow strings, and which of them a store can hold: a str (not None, bytes or a
    number; encodable as UTF-8) without a NUL character. The others are "" in the result."""
    try:
        # From a list: pyarrow converts an object array of non-ASCII str 50 times slower.
        arrow = pa.array(text.tolist(), pa.string())
        fine = np.ones(len(text), np.bool_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        # Rare (a connector's bug): told apart one by one.
        fine = np.fromiter((isinstance(x, str) and _encodable(x) for x in text), np.bool_,
                           len(text))  # fmt: skip
        arrow = pa.array(np.where(fine, text, "").tolist(), pa.string())
    valid = pc.and_not(arrow.is_valid(), pc.match_substring(arrow, "\x00"))
    return arrow, fine & pc.fill_null(valid, False).to_numpy(zero_copy_only=False)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _points_of(table: pa.Table) -> PointBatch:
    return PointBatch(
        table.column("ts").cast(pa.int64()).to_numpy(),
        table.column("signal_id").to_numpy().astype(np.int32),
        table.column("value").to_numpy().astype(np.float64),
        table.column("quality").to_numpy().astype(np.uint8),
    )


class Writer:
    """Drains ``bus`` into ``store``; ``deriver`` (optional) adds state/fault/count events."""

    def __init__(
        self,
        bus: Bus,
        store: Store,
        deriver: EventDeriver | None = None,
        *,
        max_points: int = 500_000,  # > 4 DuckDB row groups: such appends skip the WAL, and fewer
        # commits per point (each also upserts `latest` and syncs the WAL)
        max_delay_s: float = 0.25,
        max_future_s: float = 300.0,
        retry_initial_s: float = 0.1,
        retry_max_s: float = 10.0,
        maintain_every_s: float = 30.0,
        quality: QualityRules | None = None,
    ) -> None:
        """``quality``: the plant's data-quality rules (``QualityRules.from_plant``), if any."""
        self.max_points = max_points
        self.max_delay_s = max_delay_s
        self.max_future_s = max_future_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.maintain_every_s = maintain_every_s
        self._maintaining: asyncio.Task[None] | None = None
        self.stats = WriterStats()
        self._bus = bus
        self._store = store
        self._deriver = deriver
        self._quality = quality
        # Held while a batch is prepared (in a worker thread) and while the rules change.
        self._rules = threading.Lock()
        self._catalogue = _Catalogue.of([])
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._points: list[PointBatch] = []
        self._texts: list[TextBatch] = []
        self._arrays: list[ArrayBatch] = []
        self._events: list[EventBatch] = []
        self._buffered_points = 0
        self._buffered_items = 0
        self._deadline = 0.0
        self._done = 0  # bus batches stored (or rejected): all of them, in bus order
        # The append in flight: while DuckDB stores one batch on one core, the next batch is
        # gathered, validated and derived on the other.
        self._appending: asyncio.Task[None] | None = None
        self._flush_target = 0
        self._progress = asyncio.Condition()

    @property
    def buffered_points(self) -> int:
        return self._buffered_points

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the bus, read the catalogue, and start writing in a background task."""
        if self._sub is not None:
            raise SmartfabError("the writer was started already")
        self._sub = self._bus.subscribe()
        await asyncio.to_thread(self._load)
        self._task = asyncio.create_task(self._run(), name="smartfab-writer")
        self._maintaining = asyncio.create_task(
            self._maintain_now_and_then(), name="smartfab-store-housekeeping"
        )

    def _load(self) -> None:
        self._catalogue = _Catalogue.of(self._store.signals())
        if self._deriver is not None:
            self._deriver.prime(_points_of(self._store.latest(self._deriver.signal_ids)))

    async def use_rules(self, deriver: EventDeriver | None, quality: QualityRules | None) -> None:
        """Derive events and flag points by the rules of an edited plant from the next batch on,
        each continuing from what the current ones knew of the signals both have; the signal
        catalogue (ranges, units) is read again."""
        if deriver is not None:
            await asyncio.to_thread(
                lambda: deriver.prime(_points_of(self._store.latest(deriver.signal_ids)))
            )
        signals = await asyncio.to_thread(self._store.signals)
        with self._rules:
            if deriver is not None and self._deriver is not None:
                deriver.carry(self._deriver)
            if quality is not None and self._quality is not None:
                quality.carry(self._quality)
            self._deriver, self._quality = deriver, quality
            self._catalogue = _Catalogue.of(signals)

    async def flush(self) -> None:
        """Return once everything published so far is stored."""
        task, sub = self._task, self._sub
        if task is None or sub is None:
            raise SmartfabError("the writer is not running: call start() first")
        target = self._bus.published_batches
        if self._done >= target:
            return
        self._flush_target = max(self._flush_target, target)
        await sub.wake()
        if not await self._reached(task, target):
            await task  # it ended early: raise its error
            raise SmartfabError("the writer stopped before storing everything published")

    async def stored(self, target: int) -> None:
        """Return once the first ``target`` bus batches (``Bus.published_batches`` when one was
        published) are stored, without hurrying the writer as ``flush`` does: the hook of
        connectors that acknowledge their source only for stored data (MQTT QoS 1)."""
        task = self._task
        if task is None:
            raise SmartfabError("the writer is not running: call start() first")
        if not await self._reached(task, target):
            raise SmartfabError("the writer stopped before storing the batch")

    async def _reached(self, task: asyncio.Task[None], target: int) -> bool:
        """Whether ``target`` bus batches were stored before the writer ended."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._done >= target or task.done())
        return self._done >= target

    async def stop(self) -> None:
        """Close the bus, store everything it acknowledged, do the store's housekeeping, and
        end."""
        await self._bus.close()
        if self._task is not None:
            await self._task
        if self._maintaining is not None:
            self._maintaining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintaining
            await asyncio.to_thread(self._maintain)

    async def _maintain_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(self.maintain_every_s)
            await asyncio.to_thread(self._maintain)

    def _maintain(self) -> None:
        # Housekeeping (rollups) keeps queries fast; when it fails, data is safe and queries are
        # only slower, so it is logged and tried again next time, never retried in a loop.
        try:
            self._store.maintain()
        except (StoreError, OSError) as exc:
            log.error("ingest: store housekeeping failed (tried again later): %s", exc)

    # --- the loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._sub is not None
        sub, loop = self._sub, asyncio.get_running_loop()
        try:
            while True:
                if self._appending is not None and self._appending.done():
                    await self._settle()  # raises the append's error, which ends the writer
                urgent = self._flush_target > self._done
                if not self._buffered_items:
                    timeout = None
                elif urgent:
                    timeout = 0.0
                else:
                    timeout = max(0.0, self._deadline - loop.time())
                item = await sub.get(timeout)
                if item is not None:
                    self._add(item, loop.time())
                    if self._buffered_points >= self.max_points:
                        await self._write()
                elif self._buffered_items:
                    if urgent or sub.drained or loop.time() >= self._deadline:
                        await self._write()
                elif sub.drained:
                    await self._settle()
                    return
        except Exception as exc:
            self.stats.last_error = f"writer stopped: {exc!r}"
            log.exception("ingest: the writer stopped")
            raise
        finally:
            if self._appending is not None:  # never leave a store append running unwatched
                await asyncio.gather(self._appending, return_exceptions=True)
            async with self._progress:
                self._progress.notify_all()

    def _add(self, item: BusItem, now: float) -> None:
        if not self._buffered_items:
            self._deadline = now + self.max_delay_s
        self._buffered_items += 1
        if isinstance(item, EventBatch):
            self._events.append(item)
            self.stats.events_in += len(item)
            return
        if isinstance(item, PointBatch):
            self._points.append(item)
        elif isinstance(item, TextBatch):
            self._texts.append(item)
            self.stats.texts_in += len(item)
        else:
            self._arrays.append(item)
            self.stats.arrays_in += len(item)
        # An array point weighs its elements: a batch of spectra is written before it fills
        # memory that max_points of numbers would not.
        weight = len(item.values) if isinstance(item, ArrayBatch) else 0
        self._buffered_points += max(len(item), weight)
        self.stats.points_in += len(item)

    async def _write(self) -> None:
        gathered = _Batches(
            PointBatch.concat(self._points),
            TextBatch.concat(self._texts),
            ArrayBatch.concat(self._arrays),
            EventBatch.concat(self._events),
        )
        items = self._buffered_items
        self._points, self._texts, self._arrays, self._events = [], [], [], []
        self._buffered_points = self._buffered_items = 0
        prepared = await asyncio.to_thread(self._prepare, gathered)
        await self._settle()  # the store takes batches one at a time, in bus order
        self._appending = asyncio.create_task(self._stored(prepared, items))

    async def _settle(self) -> None:
        """Wait for the append in flight (raising its error, if any)."""
        task, self._appending = self._appending, None
        if task is not None:
            await task

    async def _stored(self, batches: _Batches, items: int) -> None:
        try:
            await asyncio.to_thread(self._append, batches)
        except Exception:
            assert self._sub is not None
            await self._sub.wake()  # so that the loop sees the failure now, not at the next batch
            raise
        self._done += items
        async with self._progress:
            self._progress.notify_all()

    # --- in worker threads -----------------------------------------------------------------
    def _prepare(self, gathered: _Batches) -> _Batches:
        """Validated points of each kind, and the events to store with them (received, quality,
        derived)."""
        with self._rules:
            return self._prepare_by_rules(gathered)

    def _prepare_by_rules(self, gathered: _Batches) -> _Batches:
        now = now_us()
        issues: list[EventBatch] = []
        points = self._validate(gathered.points, now, issues)
        texts = self._validate(gathered.texts, now, issues)
        arrays = self._validate(gathered.arrays, now, issues)
        received = self._valid_events(gathered.events, now, issues)
        derived = self._deriver.derive(points) if self._deriver else EventBatch.empty()
        self.stats.events_derived += len(derived)
        return _Batches(points, texts, arrays, EventBatch.concat([received, *issues, derived]))

    def _append(self, b: _Batches) -> None:
        """Append points of every kind and events together, retried until the store takes them
        (and so appended once)."""
        n = len(b.points) + len(b.texts) + len(b.arrays)
        if n or len(b.events):
            stored, stored_events = self._retrying(
                f"storing {n} points and {len(b.events)} events",
                lambda: self._store.append(
                    b.points, b.events, b.texts if len(b.texts) else None,
                    b.arrays if len(b.arrays) else None,
                ),
            )  # fmt: skip
            self.stats.points_stored += stored
            self.stats.points_already_stored += n - stored
            self.stats.events_stored += stored_events
        self.stats.batches += 1

    def _retrying(self, what: str, action: Callable[[], T]) -> T:
        """``action()``, retried with exponential backoff while the store fails operationally
        (StoreError, OSError); any other exception is a bug and propagates."""
        delay = self.retry_initial_s
        while True:
            try:
                return action()
            except (StoreError, OSError) as exc:
                self.stats.retries += 1
                self.stats.last_error = f"{what} failed: {exc}"
                log.error("ingest: %s failed, retrying in %.1f s: %s", what, delay, exc)
                time.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    def _validate(self, batch: B, now: int, issues: list[EventBatch]) -> B:
        """The points to store; every other point is reported under its reason."""
        if not len(batch):
            return batch
        sid = batch.signal_id
        kinds = self._catalogue.kinds(sid)
        known = kinds >= 0
        if not known.all():  # perhaps registered since: look once more
            signals = self._retrying("reading the signal catalogue", self._store.signals)
            self._catalogue = _Catalogue.of(signals)
            kinds = self._catalogue.kinds(sid)
            known = kinds >= 0
        right_kind = kinds == KINDS.index(kind_of(batch))
        checks = [(UNKNOWN_SIGNAL, known), (WRONG_KIND, right_kind | ~known)]
        # Numbers have no length to check: their batches, the most frequent, skip that lookup.
        length = (
            None if isinstance(batch, PointBatch)
            else self._catalogue.length[np.where(known, sid, 0)]
        )  # fmt: skip
        checks += self._value_checks(batch, length)
        checks.append((IMPLAUSIBLE_TIMESTAMP, batch.ts >= Y2000_US))
        checks.append((FUTURE_TIMESTAMP, batch.ts <= now + int(self.max_future_s * 1e6)))
        ok = np.logical_and.reduce([fine for _, fine in checks])
        if not ok.all():
            left = np.ones(len(batch), np.bool_)
            for reason, fine in checks:
                hit = left & ~fine
                if hit.any():
                    issues.append(self._report(reason, batch.take(hit), now))
                    left &= fine
            batch = batch.take(ok)
        order = key_order(batch)
        if order is not None:
            keep, dup = order
            if len(dup):
                issues.append(self._report(DUPLICATE, batch.take(dup), now))
            batch = batch.take(keep)
        if isinstance(batch, PointBatch):
            batch = self._flag(batch, now, issues)
        return batch

    @staticmethod
    def _value_checks(batch: AnyPoints, length: Int64Array | None) -> list[tuple[str, BoolArray]]:
        """What each kind of value must be, as (reason, which points pass). ``length``: each
        point's signal's (for texts and arrays)."""
        bad = batch.quality == Quality.BAD
        if isinstance(batch, PointBatch):
            # A BAD point without a value (a failed sensor, no initial data yet) is stored as
            # NaN: the failure itself is information, and `latest` must not keep showing a
            # stale value.
            return [(NOT_FINITE, np.isfinite(batch.value) | bad)]
        assert length is not None  # texts and arrays are given their signals' lengths
        if isinstance(batch, TextBatch):
            text, valid = _texts(batch.text)
            chars = pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
            return [(INVALID_TEXT, valid), (TOO_LONG, chars <= length)]
        # Non-finite elements per point, from a running count over all elements (a point may
        # have none).
        running = np.concatenate([[0], np.cumsum(~np.isfinite(batch.values))])
        non_finite = running[batch.offsets[1:]] - running[batch.offsets[:-1]]
        lengths = batch.lengths
        return [
            (NOT_FINITE, (non_finite == 0) | bad),
            (WRONG_LENGTH, (lengths == length) | (bad & (lengths == 0))),
        ]

    def _flag(self, batch: PointBatch, now: int, issues: list[EventBatch]) -> PointBatch:
        """Numbers outside their signal's range made UNCERTAIN, then the quality rules."""
        sid, value = batch.signal_id, batch.value
        out = (value < self._catalogue.low[sid]) | (value > self._catalogue.high[sid])
        if out.any():
            issues.append(self._report(OUT_OF_RANGE, batch.take(out), now))
            flagged = np.where(out, np.maximum(batch.quality, Quality.UNCERTAIN), batch.quality)
            batch = PointBatch(batch.ts, sid, value, flagged.astype(np.uint8))
        if self._quality is not None:
            batch = self._quality.apply(
                batch, lambda reason, points: issues.append(self._report(reason, points, now))
            )
        return batch

    def _report(self, reason: str, points: AnyPoints, now: int) -> EventBatch:
        """Count, log and describe (one QUALITY event per signal) the points given a reason."""
        counter = self.stats.flagged if reason in _FLAGGED else self.stats.rejected
        counter[reason] = counter.get(reason, 0) + len(points)
        ids, first, counts = np.unique(points.signal_id, return_index=True, return_counts=True)
        cat = self._catalogue
        known = cat.kinds(ids) >= 0
        details = []
        for sid, i, n, k in zip(ids, first, counts, known, strict=True):
            name = cat.path[sid] if k else f"signal id {sid}"
            detail = (
                f"{n} point(s) of {name} {_WHAT[reason]}; "
                f"e.g. ts {_ts_text(points.ts[i])}, value {_example(points, int(i))}"
            )
            details.append(detail)
        # One line per reason and batch: a device sending garbage must not flood the log; the
        # per-signal details are in the QUALITY events.
        log.warning(
            "ingest: %d point(s) of %d signal(s) %s (%s), e.g. %s",
            len(points), len(ids), _WHAT[reason], reason, details[0],
        )  # fmt: skip
        equipment = np.where(known, cat.equipment[np.where(known, ids, 0)], "")
        return EventBatch.of(
            np.full(len(ids), now), equipment, EventKind.QUALITY, reason, counts,
            np.array(details, object),
        )  # fmt: skip

    def _valid_events(self, events: EventBatch, now: int, issues: list[EventBatch]) -> EventBatch:
        """Bus events whose text fields are all strings; the store would refuse the others and
        block every later batch behind them. Events are few: a loop is fine."""
        cols = (events.equipment, events.kind, events.code, events.detail)
        ok = np.ones(len(events), np.bool_)
        for col in cols:
            ok &= np.fromiter((isinstance(x, str) for x in col), np.bool_, len(col))
        if ok.all():
            return events
        n = int((~ok).sum())
        self.stats.rejected[INVALID_EVENT] = self.stats.rejected.get(INVALID_EVENT, 0) + n
        bad = int(np.flatnonzero(~ok)[0])
        detail = (
            f"{n} event(s) rejected: equipment, kind, code and detail must be text; e.g. "
            f"{[c[bad] for c in cols]!r} at {_ts_text(events.ts[bad])}"
        )
        log.warning("ingest: %s (%s)", detail, INVALID_EVENT)
        issues.append(EventBatch.of(now, "", EventKind.QUALITY, INVALID_EVENT, n, detail))
        return events.take(ok)
