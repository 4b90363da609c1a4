"""The writer end to end: bus -> validation -> derivation -> a real DuckDB store.

Non-float values (strings, None) cannot exist in a float64 PointBatch; they are the connectors'
to reject and are tested there."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from smartfab.platform.bus import Bus, BusClosedError
from smartfab.platform.derive import EventDeriver
from smartfab.platform.ingest import Writer
from smartfab.platform.points import (
    ArrayBatch,
    EventBatch,
    EventKind,
    PointBatch,
    Quality,
    TextBatch,
    now_us,
)
from smartfab.platform.store.base import SignalInfo, StoreError
from smartfab.platform.store.duckdb import DuckDBStore

S = 1_000_000
T0 = (now_us() // S - 3600) * S  # an hour ago: plausible, not in the future
EQ = "site/area/line/cell/oven"


def signals() -> list[SignalInfo]:
    return [
        SignalInfo(f"{EQ}/temp", EQ, "temp", "degC", "float", low=0.0, high=100.0),
        SignalInfo(f"{EQ}/power", EQ, "power", "kW", "float"),
        SignalInfo(f"{EQ}/state", EQ, "state", "", "int", role="state"),
        SignalInfo(f"{EQ}/product", EQ, "product", "", "string", length=8),
        SignalInfo(f"{EQ}/lot", EQ, "lot", "", "string"),
        SignalInfo(f"{EQ}/profile", EQ, "profile", "mm", "array", length=3),
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "s.duckdb")
    s.register_signals(signals())
    yield s
    s.close()


@pytest.fixture
def ids(store: DuckDBStore) -> dict[str, int]:
    return {s.name: s.id for s in store.signals()}


def pts(
    secs: npt.ArrayLike, signal: npt.ArrayLike, value: npt.ArrayLike = 1.0, quality: int = 0
) -> PointBatch:
    t = T0 + np.atleast_1d(np.asarray(secs, np.int64)) * S
    return PointBatch.of(
        t, np.broadcast_to(signal, t.shape), np.broadcast_to(value, t.shape), quality
    )


def many(first: int, last: int, signal: int) -> PointBatch:
    """Points first..last-1 milliseconds after T0 (bulk tests stay clear of the future)."""
    t = T0 + np.arange(first, last, dtype=np.int64) * 1000
    return PointBatch.of(t, signal, np.ones(len(t)))


def deriver(ids: dict[str, int]) -> EventDeriver:
    sid = ids["state"]
    return EventDeriver(
        {sid: "state"}, {sid: EQ}, {sid: f"{EQ}/state"}, {sid: {1: "running", 2: "idle"}}, {}
    )


@pytest.fixture
async def running(store: DuckDBStore, ids: dict[str, int]) -> AsyncIterator[tuple[Bus, Writer]]:
    bus = Bus()
    writer = Writer(bus, store, deriver(ids), retry_initial_s=0.001)
    await writer.start()
    yield bus, writer
    await writer.stop()


def quality_events(store: DuckDBStore) -> list[tuple[str, str, float]]:
    """(code, equipment, value) of the stored QUALITY events."""
    ev = store.events(0, 2**62, kinds=[EventKind.QUALITY])
    cols = (ev.column(c).to_pylist() for c in ("code", "equipment", "value"))
    return sorted(zip(*cols, strict=True))


def stored(store: DuckDBStore, signal: int) -> pa.Table:
    return store.raw([signal], 0, 2**62)


def balanced(w: Writer) -> bool:
    """Every point received is accounted for exactly once."""
    s = w.stats
    return s.points_in == s.points_stored + s.points_already_stored + sum(s.rejected.values())


# --- validation --------------------------------------------------------------------------------


async def test_valid_points_are_stored(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(pts(range(10), ids["temp"], 20.0))
    await bus.publish_points(pts(range(10), ids["power"], 3.0))
    await writer.flush()
    assert store.count_points() == 20
    assert writer.stats.points_stored == 20 and writer.stats.rejected == {}
    assert writer.stats.batches >= 1 and balanced(writer)
    assert quality_events(store) == []


async def test_non_finite_values_are_rejected(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    values = [1.0, np.nan, 2.0, np.inf, -np.inf]
    await bus.publish_points(pts(range(5), ids["temp"], values))
    await bus.publish_points(pts(range(2), ids["power"], [np.nan, 5.0]))
    await writer.flush()
    assert stored(store, ids["temp"]).column("value").to_pylist() == [1.0, 2.0]
    assert stored(store, ids["power"]).column("value").to_pylist() == [5.0]
    assert writer.stats.rejected == {"not_finite": 4}
    assert quality_events(store) == [("not_finite", EQ, 1.0), ("not_finite", EQ, 3.0)]
    details = store.events(0, 2**62).column("detail").to_pylist()
    assert any(f"3 point(s) of {EQ}/temp" in d and "nan" in d for d in details)
    assert balanced(writer)


async def test_a_bad_point_without_a_value_is_stored_and_left_out_of_aggregates(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    values, quality = [1.0, 3.0, np.nan], [Quality.GOOD, Quality.GOOD, Quality.BAD]
    await bus.publish_points(PointBatch.of(T0 + np.arange(3) * S, ids["temp"], values, quality))
    await writer.flush()
    assert writer.stats.rejected == {} and store.count_points() == 3
    latest = store.latest([ids["temp"]]).to_pylist()[0]
    assert latest["quality"] == Quality.BAD and np.isnan(latest["value"])  # not a stale 3.0
    bucket = store.downsample(ids["temp"], T0, T0 + 10 * S, 10 * S).to_pylist()[0]
    assert (bucket["count"], bucket["avg"], bucket["last"]) == (2, 2.0, 3.0)


async def test_timestamps_far_in_the_future_or_before_2000_are_rejected(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    now = now_us()
    ts = [now + 200 * S, now + 400 * S, 946_684_799_000_000, 0, T0]
    await bus.publish_points(PointBatch.of(ts, ids["temp"], [1.0, 2.0, 3.0, 4.0, 5.0]))
    await writer.flush()
    assert stored(store, ids["temp"]).column("value").to_pylist() == [5.0, 1.0]
    assert writer.stats.rejected == {"future_timestamp": 1, "implausible_timestamp": 2}
    assert quality_events(store) == [
        ("future_timestamp", EQ, 1.0),
        ("implausible_timestamp", EQ, 2.0),
    ]


async def test_each_point_is_rejected_for_one_reason_only(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(PointBatch.of([now_us() + 10**9], ids["temp"], [np.nan]))
    await writer.flush()
    assert writer.stats.rejected == {"not_finite": 1}
    assert balanced(writer)


async def test_unknown_signals_are_rejected(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(pts([0, 0, 1], [ids["temp"], 999, 999]))
    await writer.flush()
    assert store.count_points() == 1
    assert writer.stats.rejected == {"unknown_signal": 2}
    assert quality_events(store) == [("unknown_signal", "", 2.0)]
    (detail,) = store.events(0, 2**62).column("detail").to_pylist()
    assert detail.startswith("2 point(s) of signal id 999 rejected")


async def test_signals_registered_after_start_are_accepted(
    running: tuple[Bus, Writer], store: DuckDBStore
) -> None:
    bus, writer = running
    new = store.register_signals([SignalInfo(f"{EQ}/door", EQ, "door", "", "bool")])
    await bus.publish_points(pts([0], new[f"{EQ}/door"]))
    await writer.flush()
    assert store.count_points() == 1 and writer.stats.rejected == {}


async def test_duplicates_keep_the_last_received(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    writer.max_delay_s = 10.0  # both publications land in one write
    await bus.publish_points(pts([0, 1, 0], ids["temp"], [1.0, 2.0, 3.0]))
    await bus.publish_points(pts([1], ids["temp"], [4.0]))
    await writer.flush()
    assert stored(store, ids["temp"]).column("value").to_pylist() == [3.0, 4.0]
    assert writer.stats.rejected == {"duplicate": 2}
    assert quality_events(store) == [("duplicate", EQ, 2.0)]
    assert balanced(writer)


async def test_points_already_stored_are_not_stored_twice(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(pts(range(5), ids["temp"]))
    await writer.flush()
    await bus.publish_points(pts(range(3, 8), ids["temp"]))  # a connector re-sends after a gap
    await writer.flush()
    assert store.count_points() == 8
    assert writer.stats.points_already_stored == 2 and balanced(writer)


async def test_out_of_order_points_are_stored_in_order(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(pts([5, 9, 7], ids["temp"], [5.0, 9.0, 7.0]))
    await writer.flush()
    await bus.publish_points(pts([1, 8, 3], ids["temp"], [1.0, 8.0, 3.0]))  # late
    await writer.flush()
    got = stored(store, ids["temp"])
    assert got.column("value").to_pylist() == [1.0, 3.0, 5.0, 7.0, 8.0, 9.0]
    assert writer.stats.rejected == {} and writer.stats.points_stored == 6


async def test_out_of_range_is_stored_uncertain_not_dropped(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    values = [50.0, 150.0, -5.0, 100.0, 250.0]
    quality = [Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.BAD]
    await bus.publish_points(PointBatch.of(T0 + np.arange(5) * S, ids["temp"], values, quality))
    await bus.publish_points(pts([0], ids["power"], 1e9))  # no range: anything goes
    await writer.flush()
    got = stored(store, ids["temp"])
    assert got.column("value").to_pylist() == values  # the over-temperature is kept
    assert got.column("quality").to_pylist() == [0, 1, 1, 0, 2]  # BAD stays BAD
    assert writer.stats.flagged == {"out_of_range": 3} and writer.stats.rejected == {}
    assert quality_events(store) == [("out_of_range", EQ, 3.0)]
    assert store.count_points() == 6


# --- texts and arrays ---------------------------------------------------------------------------


def texts(secs: npt.ArrayLike, signal: npt.ArrayLike, text: Sequence[object]) -> TextBatch:
    t = T0 + np.atleast_1d(np.asarray(secs, np.int64)) * S
    column = np.empty(len(text), object)
    column[:] = text
    return TextBatch(t, np.broadcast_to(np.asarray(signal, np.int32), t.shape).copy(), column,
                     np.zeros(len(t), np.uint8))  # fmt: skip


def arrays(
    secs: npt.ArrayLike, signal: npt.ArrayLike, rows: list[list[float]], quality: int = 0
) -> ArrayBatch:
    t = T0 + np.atleast_1d(np.asarray(secs, np.int64)) * S
    return ArrayBatch(
        t,
        np.broadcast_to(np.asarray(signal, np.int32), t.shape).copy(),
        np.array([x for r in rows for x in r], np.float64),
        np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64),
        np.broadcast_to(np.asarray(quality, np.uint8), t.shape).copy(),
    )


def details(store: DuckDBStore, reason: str) -> list[str]:
    ev = store.events(0, 2**62, kinds=[EventKind.QUALITY])
    return [d for d, c in zip(ev["detail"].to_pylist(), ev["code"].to_pylist(), strict=True)
            if c == reason]  # fmt: skip


async def test_texts_and_arrays_are_stored_with_the_numbers(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    writer.max_delay_s = 10.0  # one append for all three kinds
    await bus.publish_points(pts(range(3), ids["temp"], 20.0))
    await bus.publish_points(texts([0, 1], ids["product"], ["产品-17", "Партия"]))
    await bus.publish_points(arrays([0, 1], ids["profile"], [[1, 2, 3], [4, 5, 6]]))
    await writer.flush()
    assert store.count_points() == 7
    assert store.raw([ids["product"]], 0, 2**62, kind="text")["value"].to_pylist() == [
        "产品-17", "Партия"
    ]  # fmt: skip
    assert store.latest(kind="array")["value"].to_pylist() == [[4.0, 5.0, 6.0]]
    s = writer.stats
    assert (s.points_in, s.texts_in, s.arrays_in, s.points_stored) == (7, 2, 2, 7)
    assert s.batches == 1 and s.rejected == {} and balanced(writer)
    assert store.events(0, 2**62).num_rows == 0  # nothing derived from texts or arrays


async def test_texts_too_long_or_not_storable_are_rejected_point_by_point(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    product, lot = ids["product"], ids["lot"]
    # Refused besides the one too long: None, a NUL, a number, a lone surrogate (not UTF-8).
    given = ["ABCDEFGH", "ABCDEFGHI", "产品产品产品产品", None, "a\x00b", 5, "", "\ud800"]
    await bus.publish_points(texts(range(8), product, given))
    await bus.publish_points(texts([0, 1], lot, ["x" * 4096, "y" * 4097]))
    await writer.flush()
    got = store.raw([product, lot], 0, 2**62, kind="text")["value"].to_pylist()
    assert got == ["ABCDEFGH", "产品产品产品产品", "", "x" * 4096]
    assert writer.stats.rejected == {"too_long": 2, "invalid_text": 4} and balanced(writer)
    assert sorted(quality_events(store)) == [
        ("invalid_text", EQ, 4.0), ("too_long", EQ, 1.0), ("too_long", EQ, 1.0)
    ]  # fmt: skip
    long_lot = next(d for d in details(store, "too_long") if f"{EQ}/lot" in d)
    assert f"value '{'y' * 40}'... (4097 characters)" in long_lot  # shortened
    (invalid,) = details(store, "invalid_text")
    assert f"4 point(s) of {EQ}/product rejected" in invalid and "value None" in invalid


async def test_arrays_of_the_wrong_length_or_not_finite_are_rejected(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    profile = ids["profile"]
    await bus.publish_points(
        arrays(range(4), profile, [[1, 2, 3], [1, 2], [1, np.nan, 3], list(range(10))])
    )
    await bus.publish_points(arrays([4, 5], profile, [[], [np.nan] * 3], Quality.BAD))
    await writer.flush()
    got = store.raw([profile], 0, 2**62, kind="array")
    assert got["value"].to_pylist()[0] == [1.0, 2.0, 3.0]
    assert got["value"].to_pylist()[1] == []
    assert got["quality"].to_pylist() == [0, 2, 2]  # a BAD point may carry nothing, or NaN
    assert writer.stats.rejected == {"wrong_length": 2, "not_finite": 1} and balanced(writer)
    wrong = details(store, "wrong_length")[0]
    assert f"2 point(s) of {EQ}/profile rejected: the number of elements" in wrong
    assert "value [1.0, 2.0] (2 elements)" in wrong
    assert "[0.0, 1.0, 2.0, 3.0, 4.0, ...] (10 elements)" not in wrong  # the first example only
    assert "value [1.0, nan, 3.0] (3 elements)" in details(store, "not_finite")[0]


async def test_the_wrong_kind_is_rejected_and_the_rest_stored(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(texts([0, 1], [ids["temp"], ids["product"]], ["21.5", "A-1"]))
    await bus.publish_points(pts([0, 1], [ids["profile"], ids["temp"]], 7.0))
    await bus.publish_points(arrays(0, ids["lot"], [[1.0, 2.0, 3.0]]))
    await writer.flush()  # returns: not retried for ever against the store's refusal
    assert store.count_points() == 2 and writer.stats.retries == 0
    assert writer.stats.rejected == {"wrong_kind": 3} and balanced(writer)
    assert any("value '21.5'" in d for d in details(store, "wrong_kind"))


async def test_duplicate_texts_keep_the_last_received(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    writer.max_delay_s = 10.0
    await bus.publish_points(texts([0, 1, 0], ids["lot"], ["a", "b", "c"]))
    await bus.publish_points(arrays([0, 0], ids["profile"], [[1, 1, 1], [2, 2, 2]]))
    await writer.flush()
    assert store.raw([ids["lot"]], 0, 2**62, kind="text")["value"].to_pylist() == ["c", "b"]
    assert store.latest(kind="array")["value"].to_pylist() == [[2.0, 2.0, 2.0]]
    assert writer.stats.rejected == {"duplicate": 2} and balanced(writer)


# --- events ------------------------------------------------------------------------------------


async def test_events_are_derived_and_published_events_stored(
    running: tuple[Bus, Writer], store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus, writer = running
    await bus.publish_points(pts(range(4), ids["state"], [1, 1, 2, 2]))
    await bus.publish_events(EventBatch.of(T0 + S // 2, "opcua:plc", EventKind.GAP, "timeout", 2.0))
    await writer.flush()
    ev = store.events(0, 2**62)
    assert ev.column("kind").to_pylist() == ["state", "gap", "state"]
    assert ev.column("code").to_pylist() == ["running", "timeout", "idle"]
    assert writer.stats.events_derived == 2 and writer.stats.events_stored == 3


async def test_a_restarted_writer_does_not_repeat_state_events(
    store: DuckDBStore, ids: dict[str, int]
) -> None:
    for first in (0, 2):  # the second writer sees the state unchanged
        bus = Bus()
        writer = Writer(bus, store, deriver(ids))
        await writer.start()
        await bus.publish_points(pts([first, first + 1], ids["state"], [1, 1]))
        await writer.stop()
    assert store.events(0, 2**62).column("code").to_pylist() == ["running"]


async def test_invalid_published_events_are_rejected_not_retried_forever(
    running: tuple[Bus, Writer], store: DuckDBStore
) -> None:
    bus, writer = running
    codes = np.array(["ok", None], dtype=object)
    await bus.publish_events(EventBatch.of([T0, T0 + S], EQ, EventKind.GAP, codes))
    await writer.flush()
    assert writer.stats.rejected == {"invalid_event": 1}
    assert store.events(0, 2**62, kinds=[EventKind.GAP]).column("code").to_pylist() == ["ok"]
    assert quality_events(store) == [("invalid_event", "", 1.0)]


# --- delivery ----------------------------------------------------------------------------------


async def test_stop_stores_everything_acknowledged(store: DuckDBStore, ids: dict[str, int]) -> None:
    bus = Bus(capacity_points=5_000)
    writer = Writer(bus, store, max_points=2_000, max_delay_s=60.0)
    await writer.start()
    for i in range(50):
        await bus.publish_points(many(i * 300, (i + 1) * 300, ids["power"]))
    await writer.stop()  # no flush: stop alone must drain the bus and the buffer
    assert store.count_points() == 15_000
    with pytest.raises(BusClosedError):
        await bus.publish_points(pts([0], ids["power"]))


async def test_partial_batches_are_written_after_max_delay(
    store: DuckDBStore, ids: dict[str, int]
) -> None:
    bus = Bus()
    writer = Writer(bus, store, max_delay_s=0.02)
    await writer.start()
    await bus.publish_points(pts([0], ids["power"]))
    for _ in range(200):
        if store.count_points():
            break
        await asyncio.sleep(0.01)
    assert store.count_points() == 1
    await writer.stop()


async def test_array_points_weigh_their_elements_in_a_batch(
    store: DuckDBStore, ids: dict[str, int]
) -> None:
    """Three points of 3 elements fill a batch of 8: written without waiting for max_delay_s."""
    bus = Bus()
    writer = Writer(bus, store, max_points=8, max_delay_s=3600.0)
    await writer.start()
    await bus.publish_points(arrays([0, 1, 2], ids["profile"], [[1.0, 2.0, 3.0]] * 3))
    for _ in range(500):
        if store.count_points():
            break
        await asyncio.sleep(0.01)
    assert store.count_points() == 3 and writer.buffered_points == 0
    await writer.stop()


class FlakyStore(DuckDBStore):
    """A store whose appends fail the first times (a full disk, a lost connection to PostgreSQL
    ...; DuckDB on a healthy disk cannot be made to fail like that)."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        if self.failures:
            self.failures -= 1
            raise StoreError("disk full (simulated)")
        return super().append(points, events, texts, arrays)


async def test_store_failures_are_retried_without_loss_or_duplicates(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "f.duckdb", failures=5)
    ids = {n.split("/")[-1]: i for n, i in store.register_signals(signals()).items()}
    bus = Bus()
    writer = Writer(bus, store, deriver(ids), retry_initial_s=0.001)
    await writer.start()
    await bus.publish_points(pts(range(100), ids["temp"], np.arange(100.0)))
    await bus.publish_points(pts([0, 1], ids["state"], [1, 2]))
    await writer.stop()
    assert store.count_points() == 102
    assert store.events(0, 2**62).column("code").to_pylist() == ["running", "idle"]
    assert writer.stats.retries == 5 and "simulated" in writer.stats.last_error
    assert writer.stats.points_stored == 102 and balanced(writer)
    store.close()


class BrokenStore(DuckDBStore):
    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        raise RuntimeError("a bug, not an outage")


async def test_a_bug_stops_the_writer_loudly_instead_of_retrying(tmp_path: Path) -> None:
    store = BrokenStore(tmp_path / "b.duckdb")
    sid = store.register_signals(signals())[f"{EQ}/power"]
    bus = Bus()
    writer = Writer(bus, store)
    await writer.start()
    await bus.publish_points(pts([0], sid))
    with pytest.raises(RuntimeError, match="a bug"):
        await writer.flush()
    with pytest.raises(RuntimeError, match="a bug"):
        await writer.stop()
    assert writer.stats.retries == 0 and "a bug" in writer.stats.last_error
    store.close()


class SlowStore(DuckDBStore):
    def append(
        self,
        points: PointBatch,
        events: EventBatch,
        texts: TextBatch | None = None,
        arrays: ArrayBatch | None = None,
    ) -> tuple[int, int]:
        time.sleep(0.02)
        return super().append(points, events, texts, arrays)


async def test_back_pressure_bounds_memory(tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "slow.duckdb")
    sid = store.register_signals(signals())[f"{EQ}/power"]
    bus = Bus(capacity_points=5_000)
    writer = Writer(bus, store, max_points=2_000, max_delay_s=0.01)
    await writer.start()
    peak = 0
    done = threading.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, bus.pending_points + writer.buffered_points)
            await asyncio.sleep(0.001)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    for i in range(60):  # 60,000 points published far faster than the store takes them
        await bus.publish_points(many(i * 1000, (i + 1) * 1000, sid))
    publishing = time.perf_counter() - started
    done.set()
    await watcher
    await writer.stop()
    assert peak <= 5_000 + 2_000 + 1_000  # the bus's capacity plus the batch being gathered
    assert publishing > 0.02 * 10  # publishers waited for the store (>= ~25 slow appends)
    assert store.count_points() == 60_000
    store.close()
