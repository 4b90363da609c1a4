"""The contract every Store implementation must meet. Add an implementation to STORES and it runs
the whole suite; expectations are computed by hand, not by another store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from smartfab.platform.points import (
    ARRAY_POINT_SCHEMA,
    POINT_SCHEMA,
    TEXT_POINT_SCHEMA,
    EventBatch,
    EventKind,
    PointBatch,
    Quality,
)
from smartfab.platform.store.base import SignalInfo, Store, StoreError
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.platform.store.postgres import PostgresStore
from tests.platform.store.points import (
    EQ,
    T0,
    S,
    array_info,
    arrays,
    info,
    pts,
    text_info,
    texts,
    ts_us,
)

# Each opens "the same store" again when called again within one test.
STORES: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "duckdb": lambda request, tmp: DuckDBStore(tmp / "store.duckdb"),
    "postgres": lambda request, tmp: PostgresStore(*request.getfixturevalue("pg_schema")),
}

OpenStore = Callable[[], Store]


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.services] * (name == "postgres")) for name in STORES
    ]
)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the same store again on each call (close the previous one first)."""
    opened: list[Store] = []

    def open_() -> Store:
        s = STORES[request.param](request, tmp_path)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: OpenStore) -> Store:
    return open_store()


@pytest.fixture
def ids(store: Store) -> dict[str, int]:
    return store.register_signals([info("temp"), info("force"), info("speed")])


# --- catalogue ---------------------------------------------------------------------------------


def test_ids_are_assigned_once_and_survive_reopen(open_store: OpenStore) -> None:
    store = open_store()
    first = store.register_signals([info("a"), info("b")])
    assert len(set(first.values())) == 2
    store.close()

    store = open_store()
    again = store.register_signals([info("c"), info("a", unit="bar", low=0.0, high=5.0)])
    assert again[f"{EQ}/a"] == first[f"{EQ}/a"]
    assert again[f"{EQ}/c"] not in first.values()
    by_path = {s.path: s for s in store.signals()}
    assert {p: s.id for p, s in by_path.items()} == first | again
    a = by_path[f"{EQ}/a"]
    assert (a.unit, a.low, a.high) == ("bar", 0.0, 5.0)  # metadata updated, id kept


def test_registering_nothing_or_a_path_twice(store: Store) -> None:
    assert store.register_signals([]) == {}
    got = store.register_signals([info("x", unit="A"), info("x", unit="B")])
    assert list(got) == [f"{EQ}/x"]
    assert [s.unit for s in store.signals()] == ["B"]


# --- writing and idempotence -------------------------------------------------------------------


def test_same_batch_twice_is_stored_once(store: Store, ids: dict[str, int]) -> None:
    t = ids[f"{EQ}/temp"]
    batch = pts(np.arange(5), t, np.arange(5.0))
    assert store.append_points(batch) == 5
    assert store.append_points(batch) == 0
    assert store.count_points() == 5


def test_overlapping_batches_store_only_the_new_points(store: Store, ids: dict[str, int]) -> None:
    t, f = ids[f"{EQ}/temp"], ids[f"{EQ}/force"]
    store.append_points(pts(np.arange(0, 10), t, 1.0))
    overlap = PointBatch.concat(
        [
            pts(np.arange(5, 15), t, 2.0),  # 5 stored already, 5 new
            pts(np.arange(0, 3), f, 3.0),  # another signal: all new
        ]
    )
    assert store.append_points(overlap) == 8
    got = store.raw([t], T0, T0 + 100 * S)
    assert got.column("value").to_pylist() == [1.0] * 10 + [2.0] * 5  # the first write stays
    assert store.count_points() == 18


def test_a_late_point_that_is_new_is_stored(store: Store, ids: dict[str, int]) -> None:
    t = ids[f"{EQ}/temp"]
    store.append_points(pts([0, 2, 4], t))
    assert store.append_points(pts([1, 2, 3], t, 2.0)) == 2
    assert ts_us(store.raw([t], T0, T0 + 10 * S)) == [T0 + i * S for i in range(5)]


def test_duplicates_inside_a_batch_keep_the_last(store: Store, ids: dict[str, int]) -> None:
    t = ids[f"{EQ}/temp"]
    batch = pts([0, 1, 0, 1, 0], t, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert store.append_points(batch) == 2
    assert store.raw([t], T0, T0 + 10 * S).column("value").to_pylist() == [5.0, 4.0]


def test_idempotence_holds_across_reopen(open_store: OpenStore) -> None:
    store = open_store()
    t = store.register_signals([info("temp")])[f"{EQ}/temp"]
    batch = pts(np.arange(3), t)
    store.append_points(batch)
    store.close()
    store = open_store()
    assert store.append_points(batch) == 0
    assert store.count_points() == 3


def test_out_of_order_points_come_back_ordered(store: Store, ids: dict[str, int]) -> None:
    t, f = ids[f"{EQ}/temp"], ids[f"{EQ}/force"]
    secs = np.array([7, 3, 9, 1, 5])
    store.append_points(pts(np.concatenate([secs, secs]), [f] * 5 + [t] * 5))
    got = store.raw([f, t], T0, T0 + 10 * S)
    assert got.column("signal_id").to_pylist() == sorted([f] * 5 + [t] * 5)
    expected = [T0 + s * S for s in sorted(secs)]
    assert ts_us(got) == expected * 2


def test_a_batch_with_an_unknown_signal_stores_nothing(store: Store, ids: dict[str, int]) -> None:
    t = ids[f"{EQ}/temp"]
    batch = pts([0, 0, 0], [t, 9999, -1])
    with pytest.raises(StoreError, match=r"unknown signal ids \[-1, 9999\]"):
        store.append_points(batch)
    assert store.count_points() == 0
    assert store.latest().num_rows == 0


def test_an_event_batch_with_a_missing_field_stores_nothing(store: Store) -> None:
    codes = np.array(["running", None], dtype=object)
    batch = EventBatch.of([T0, T0 + S], EQ, EventKind.STATE, codes)
    with pytest.raises(StoreError):
        store.append_events(batch)
    assert store.events(0, T0 * 2).num_rows == 0


def test_event_texts_and_values_come_back_exactly_in_batch_order(store: Store) -> None:
    # Texts a COPY stream must carry as they are: tab, newline, backslash, quotes, non-ASCII,
    # empty; events of one time keep their batch order.
    details = ["tab\there", "two\nlines", "back\\slash \\N", '"quoted", comma', "", "давление 压力"]
    values = [0.0, -1.5, 1e300, float("nan"), 42.0, 7.25]
    codes = [str(i) for i in range(6)]
    batch = EventBatch.of(np.full(6, T0 + S), EQ, EventKind.FAULT, codes, values, details)
    assert store.append_events(batch) == 6
    back = store.events(T0, T0 + 2 * S)
    assert back.column("code").to_pylist() == codes
    assert back.column("detail").to_pylist() == details
    assert back.column("equipment").to_pylist() == [EQ] * 6
    got = back.column("value").to_numpy()
    assert np.array_equal(got, values, equal_nan=True)


def test_empty_batches(store: Store) -> None:
    assert store.append_points(PointBatch.empty()) == 0
    assert store.append_events(EventBatch.empty()) == 0


# --- reading -----------------------------------------------------------------------------------


def test_raw_is_half_open_and_limited(store: Store, ids: dict[str, int]) -> None:
    t = ids[f"{EQ}/temp"]
    store.append_points(pts(np.arange(10), t, np.arange(10.0), Quality.BAD))
    got = store.raw([t], T0 + 2 * S, T0 + 5 * S)
    assert got.column_names == ["ts", "signal_id", "value", "quality"]
    assert got.column("value").to_pylist() == [2.0, 3.0, 4.0]
    assert got.column("quality").to_pylist() == [Quality.BAD] * 3
    assert store.raw([t], T0, T0 + 10 * S, limit=4).num_rows == 4
    assert store.raw([], T0, T0 + 10 * S).num_rows == 0


def test_downsample_buckets_by_hand(store: Store, ids: dict[str, int]) -> None:
    t, f = ids[f"{EQ}/temp"], ids[f"{EQ}/force"]
    # seconds 0..9 with values 0..9, appended newest first so that "last" must use ts
    secs = np.arange(10)[::-1]
    store.append_points(pts(secs, t, secs.astype(float)))
    store.append_points(pts(2, f, 100.0))  # another signal, not counted
    got = store.downsample(t, T0 + 1 * S, T0 + 9 * S, 3 * S)  # [1,4) [4,7) [7,9)
    assert ts_us(got, "bucket") == [T0 + 1 * S, T0 + 4 * S, T0 + 7 * S]
    assert got.column("min").to_pylist() == [1.0, 4.0, 7.0]
    assert got.column("max").to_pylist() == [3.0, 6.0, 8.0]
    assert got.column("avg").to_pylist() == [2.0, 5.0, 7.5]
    assert got.column("last").to_pylist() == [3.0, 6.0, 8.0]
    assert got.column("count").to_pylist() == [3, 3, 2]


def test_downsample_skips_empty_buckets_and_rejects_bad_width(
    store: Store, ids: dict[str, int]
) -> None:
    t = ids[f"{EQ}/temp"]
    store.append_points(pts([0, 50], t))
    assert ts_us(store.downsample(t, T0, T0 + 60 * S, 10 * S), "bucket") == [T0, T0 + 50 * S]
    with pytest.raises(StoreError, match="bucket"):
        store.downsample(t, T0, T0 + 60 * S, 0)


def test_long_range_buckets_are_exact_before_and_after_maintenance(
    store: Store, ids: dict[str, int]
) -> None:
    """Minute and hour buckets (what long trends ask for, and what rollups serve) give the same
    figures whether the points were rolled up or not, with late and BAD points in the mix."""
    t = ids[f"{EQ}/temp"]
    h0 = (T0 // 3_600_000_000 + 1) * 3_600_000_000  # the first whole hour after T0
    first = (h0 - T0) // S
    secs = first + np.arange(0, 3 * 3600, 10)  # 3 hours, every 10 s
    values = np.sin(np.arange(len(secs)) / 7.0) * 50
    store.append_points(pts(secs, t, values))
    store.append_points(pts([first + 5], t, 1000.0, Quality.BAD))  # never counted

    def by_hand(width_s: int) -> dict[str, list[float]]:
        order = np.argsort(secs, kind="stable")
        k, v = ((secs - first) // width_s)[order], values[order]
        groups = [v[k == i] for i in range(int(k.max()) + 1)]
        return {"min": [g.min() for g in groups], "max": [g.max() for g in groups],
                "avg": [g.mean() for g in groups], "last": [g[-1] for g in groups],
                "count": [float(len(g)) for g in groups]}  # fmt: skip

    def got(width_s: int) -> dict[str, list[float]]:
        table = store.downsample(t, h0, h0 + 3 * 3_600_000_000, width_s * S)
        assert ts_us(table, "bucket")[0] == h0
        return {c: [float(x) for x in table.column(c).to_pylist()] for c in by_hand(width_s)}

    def check() -> None:
        for width_s in (60, 600, 3600):
            have, want = got(width_s), by_hand(width_s)
            for column in want:
                assert have[column] == pytest.approx(want[column]), (width_s, column)

    check()
    store.maintain()
    check()
    # A late point (between two stored ones) after maintenance, then maintenance again.
    store.append_points(pts([first + 7205], t, -99.0))
    secs, values = np.append(secs, first + 7205), np.append(values, -99.0)
    check()
    store.maintain()
    check()


def test_counter_increases_by_hand_before_and_after_maintenance(
    store: Store, ids: dict[str, int]
) -> None:
    """A meter's increase per bucket (steps between consecutive points in the later point's
    bucket; a fall counts the value after it) from the range's points alone, the same for a
    counter (whose runs per minute a store may keep) and a measurement holding the same points,
    whether rolled up or not, with a late point that falls."""
    meter = store.register_signals([replace(info("energy"), role="energy")])[f"{EQ}/energy"]
    temp = ids[f"{EQ}/temp"]
    h0 = (T0 // 3_600_000_000 + 1) * 3_600_000_000  # a whole hour: buckets start on it
    points = {0: 100.0, 30: 101.0, 90: 103.0, 905: 104.0, 965: 0.5, 970: 2.0, 1850: 4.0}
    for sid in (meter, temp):  # the meter was replaced between 905 and 965 s
        store.append_points(
            pts((h0 - T0) // S + np.array(list(points)), sid, list(points.values()))
        )
    q = 15 * 60

    def by_hand(lo: int, hi: int, width: int) -> dict[int, float]:
        out: dict[int, float] = {}
        prev = None
        for t in sorted(x for x in points if lo <= x < hi):
            v = points[t]
            step = 0.0 if prev is None else v - prev if v >= prev else max(v, 0.0)
            at = (h0 + t * S) // (width * S) * (width * S) - h0  # multiples since the epoch
            out[at] = out.get(at, 0.0) + step
            prev = v
        return out

    def check() -> None:
        for sid in (meter, temp):
            # whole and partial minutes at the ends; 15 minutes, an hour, and 7 s buckets
            for lo, hi, width in [(0, 3600, q), (20, 1860, q), (31, 1849, q), (61, 3000, q),
                                  (0, 3600, 3600), (0, 100, 7), (966, 967, q)]:  # fmt: skip
                t = store.increases([sid], h0 + lo * S, h0 + hi * S, width * S)
                assert set(t.column("signal_id").to_pylist()) <= {sid}
                got = dict(zip([b - h0 for b in t.column("bucket").to_pylist()],
                               t.column("increase").to_pylist(), strict=True))  # fmt: skip
                assert got == pytest.approx(by_hand(lo, hi, width)), (sid, lo, hi, width)
        both = store.increases([temp, meter, meter], h0, h0 + 3600 * S, q * S)
        assert both.column("signal_id").to_pylist() == [temp] * 3 + [meter] * 3  # by id

    assert by_hand(0, 3600, q) == {0: 3.0, q * S: 1.0 + 0.5 + 1.5, 2 * q * S: 2.0}
    check()
    store.maintain()
    check()
    # Late, and a fall: 101 -> 50 counts 50, 50 -> 103 counts 53; and late inside a minute
    # already rolled up (965 and 970: the minute's runs interleave).
    for sid in (meter, temp):
        store.append_points(pts((h0 - T0) // S + np.array([60, 967]), sid, [50.0, 1.0]))
    points |= {60: 50.0, 967: 1.0}
    assert by_hand(0, 900, q) == {0: 1.0 + 50.0 + 53.0}
    check()
    store.maintain()
    check()
    # The measurement becomes a counter (a plant file corrected): its stored points count.
    store.register_signals([replace(info("temp"), role="good_count")])
    check()
    assert store.increases([], h0, h0 + S, q).num_rows == 0
    with pytest.raises(StoreError, match="must be positive"):
        store.increases([meter], h0, h0 + S, 0)


def test_last_value_of_each_bucket(store: Store, kinds: dict[str, int]) -> None:
    """The newest point of each bucket, of any quality, texts and numbers alike."""
    code, number = kinds["product"], kinds["temp"]
    h0 = (T0 // 3_600_000_000 + 1) * 3_600_000_000
    at = (h0 - T0) // S
    store.append_points(texts(at + np.array([0, 10, 905]), code, ["A", "B", "C"]))
    store.append_points(texts([at + 1000], code, "", Quality.BAD))
    store.append_points(pts(at + np.array([5, 1000]), number, [1.5, 2.5]))
    q = 15 * 60 * S
    t = store.last_values([code], h0, h0 + 3600 * S, q, kind="text")
    assert t.to_pylist() == [{"signal_id": code, "bucket": h0, "value": "B"},
                             {"signal_id": code, "bucket": h0 + q, "value": ""}]  # fmt: skip
    t = store.last_values([number], h0 + S, h0 + 3600 * S, q)
    assert t.column("value").to_pylist() == [1.5, 2.5]
    assert t.schema.field("value").type == pa.float64()
    assert store.last_values([], h0, h0 + S, q, kind="text").num_rows == 0


def test_latest_is_the_newest_point_not_the_last_written(
    open_store: OpenStore,
) -> None:
    store = open_store()
    ids = store.register_signals([info("temp"), info("force"), info("idle")])
    t, f = ids[f"{EQ}/temp"], ids[f"{EQ}/force"]
    store.append_points(pts([1, 5, 3], t, [1.0, 5.0, 3.0]))
    store.append_points(pts(2, t, 2.0))  # late: not the latest
    store.append_points(pts(4, f, 40.0, Quality.UNCERTAIN))

    def check(s: Store) -> None:
        got = s.latest()
        assert got.column_names == ["ts", "signal_id", "value", "quality"]
        assert got.column("signal_id").to_pylist() == [t, f]  # no row for the silent signal
        assert ts_us(got) == [T0 + 5 * S, T0 + 4 * S]
        assert got.column("value").to_pylist() == [5.0, 40.0]
        assert got.column("quality").to_pylist() == [Quality.GOOD, Quality.UNCERTAIN]
        assert s.latest([f]).column("value").to_pylist() == [40.0]
        assert s.latest([]).num_rows == 0

    check(store)
    store.close()
    check(open_store())


def events_fixture() -> EventBatch:
    line, other = "site/area/line1", "site/area/line10/cell/lathe"  # line10 is not below line1
    return EventBatch.of(
        T0 + np.array([3, 1, 2, 4, 5]) * S,
        [f"{line}/cell/press", f"{line}/cell/press", f"{line}/cell/robot", other, line],
        [EventKind.FAULT, EventKind.STATE, EventKind.COUNT, EventKind.STATE, EventKind.GAP],
        ["17", "running", "good", "idle", "timeout"],
        [np.nan, np.nan, 2.0, np.nan, 1.5],
        ["hydraulic pressure low", "", "", "", ""],
    )


def test_events_filter_by_time_equipment_subtree_and_kind(store: Store) -> None:
    assert store.append_events(events_fixture()) == 5
    everything = store.events(T0, T0 + 10 * S)
    assert ts_us(everything) == [T0 + i * S for i in range(1, 6)]
    assert everything.column_names == ["ts", "equipment", "kind", "code", "value", "detail"]
    line1 = store.events(T0, T0 + 10 * S, equipment="site/area/line1")
    assert line1.column("code").to_pylist() == ["running", "good", "17", "timeout"]
    press = store.events(T0, T0 + 10 * S, equipment="site/area/line1/cell/press")
    assert press.column("code").to_pylist() == ["running", "17"]
    assert press.column("detail").to_pylist() == ["", "hydraulic pressure low"]
    kinds = store.events(T0, T0 + 10 * S, kinds=[EventKind.STATE, EventKind.GAP])
    assert kinds.column("code").to_pylist() == ["running", "idle", "timeout"]
    assert store.events(T0 + 2 * S, T0 + 4 * S).column("code").to_pylist() == ["good", "17"]
    assert store.events(T0, T0 + 10 * S, limit=2).num_rows == 2


def test_state_durations_by_hand(store: Store) -> None:
    press, robot = f"{EQ}", "site/area/line1/cell/robot"
    store.append_events(
        EventBatch.of(
            T0 + np.array([0, 10, 25, 40, 5, 30, 100]) * S,
            [press, press, press, press, robot, robot, press],
            EventKind.STATE,
            ["idle", "running", "unplanned_down", "running", "running", "idle", "off"],
        )
    )
    store.append_events(EventBatch.of(T0 + 12 * S, press, EventKind.FAULT, "3"))  # not a state
    # window [20, 60): press idle->running at 10 (in force at 20), down at 25, running at 40
    got = store.state_durations(press, T0 + 20 * S, T0 + 60 * S)
    assert got.column_names == ["equipment", "state", "seconds"]
    states = got.column("state").to_pylist()
    assert dict(zip(states, got.column("seconds").to_pylist(), strict=True)) == {
        "running": 5.0 + 20.0,
        "unplanned_down": 15.0,
    }
    # the line selects both machines; the robot ran 5..30 and idled from 30
    line = store.state_durations("site/area/line1", T0 + 20 * S, T0 + 60 * S)
    rows = list(zip(*(line.column(c).to_pylist() for c in line.column_names), strict=True))
    assert rows == [
        (press, "running", 25.0),
        (press, "unplanned_down", 15.0),
        (robot, "idle", 30.0),
        (robot, "running", 10.0),
    ]
    assert store.state_durations("site/area/line2", T0, T0 + 60 * S).num_rows == 0


def test_count_points(store: Store, ids: dict[str, int]) -> None:
    assert store.count_points() == 0
    store.append_points(pts(np.arange(7), ids[f"{EQ}/temp"]))
    assert store.count_points() == 7


def test_reads_from_another_thread_while_writing(store: Store) -> None:
    import threading

    with store:
        t = store.register_signals([info("temp")])[f"{EQ}/temp"]
        counts: list[int] = []
        writing = threading.Event()
        done = threading.Event()

        def reader() -> None:
            writing.wait()
            while not done.is_set():
                counts.append(store.raw([t], 0, 2**62).num_rows)

        th = threading.Thread(target=reader)
        th.start()
        writing.set()
        for i in range(20):
            store.append_points(pts(np.arange(100) + 100 * i, t))
            time.sleep(0.002)  # give the reader a turn between appends
        done.set()
        th.join()
        assert len(set(counts)) > 1  # reads did happen between writes ...
        assert counts == sorted(counts)  # ... each saw a consistent, growing snapshot
        assert all(c % 100 == 0 for c in counts)  # never half a batch
        assert store.count_points() == 2000


# --- settings ----------------------------------------------------------------------------------


def test_settings_survive_reopen(open_store: OpenStore) -> None:
    store = open_store()
    assert store.get_setting("connectors") is None
    store.set_setting("connectors", '{"a": 1}')
    store.set_setting("connectors", '{"a": 2}')
    store.close()
    assert open_store().get_setting("connectors") == '{"a": 2}'


# --- DuckDB specifics --------------------------------------------------------------------------


def test_duckdb_batch_failing_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The points are inserted, then the latest-table update fails: the transaction must take the
    points back and the high-water marks must not move."""
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        t = store.register_signals([info("temp")])[f"{EQ}/temp"]
        batch = pts(np.arange(5), t)
        real_insert = DuckDBStore._insert

        def failing(cur: object, table: str, rows: pa.RecordBatch, verb: str = "") -> None:
            if table == "latest":
                raise StoreError("disk full (simulated)")
            real_insert(cur, table, rows, verb)  # type: ignore[arg-type]

        monkeypatch.setattr(DuckDBStore, "_insert", staticmethod(failing))
        with pytest.raises(StoreError, match="disk full"):
            store.append_points(batch)
        assert store.count_points() == 0
        monkeypatch.undo()
        assert store.append_points(batch) == 5
        assert ts_us(store.latest()) == [T0 + 4 * S]


def test_duckdb_texts_and_arrays_fail_with_the_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers, texts and arrays of one append are one transaction: the arrays' latest values
    failing takes back the numbers and texts inserted before them."""
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        got = store.register_signals([info("temp"), text_info("lot"), array_info("profile", 1)])
        t, lot, pr = got.values()
        real_insert = DuckDBStore._insert

        def failing(cur: object, table: str, rows: pa.RecordBatch, verb: str = "") -> None:
            if table == "array_latest":
                raise StoreError("disk full (simulated)")
            real_insert(cur, table, rows, verb)  # type: ignore[arg-type]

        monkeypatch.setattr(DuckDBStore, "_insert", staticmethod(failing))
        batches = (pts(0, t), EventBatch.empty(), texts(0, lot, "L1"), arrays(0, pr, [[1.0]]))
        with pytest.raises(StoreError, match="disk full"):
            store.append(*batches)
        assert store.count_points() == 0
        monkeypatch.undo()
        assert store.append(*batches) == (3, 0)


def test_duckdb_file_made_before_texts_and_arrays_gets_them(tmp_path: Path) -> None:
    """A store file of the schema before string and array signals (no text or array tables, no
    signal length) opens with its data, and then stores texts and arrays."""
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE SEQUENCE signal_ids START 2; CREATE TABLE signals (id INTEGER PRIMARY KEY, "
        "path VARCHAR NOT NULL UNIQUE, equipment VARCHAR NOT NULL, name VARCHAR NOT NULL, "
        "unit VARCHAR NOT NULL, data_type VARCHAR NOT NULL, role VARCHAR NOT NULL, low DOUBLE, "
        "high DOUBLE, source VARCHAR NOT NULL); CREATE TABLE points (ts TIMESTAMPTZ NOT NULL, "
        "signal_id INTEGER NOT NULL, value DOUBLE NOT NULL, quality UTINYINT NOT NULL); "
        "CREATE TABLE latest (signal_id INTEGER PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, "
        "value DOUBLE NOT NULL, quality UTINYINT NOT NULL);"
        f"INSERT INTO signals VALUES (1, '{EQ}/temp', '{EQ}', 'temp', 'degC', 'float', "
        "'measurement', 0, 100, 'virtual');"
        f"INSERT INTO points VALUES (make_timestamptz({T0}), 1, 42.0, 0);"
        f"INSERT INTO latest VALUES (1, make_timestamptz({T0}), 42.0, 0);"
    )
    con.close()
    with DuckDBStore(path) as store:
        assert [(s.path, s.id, s.length) for s in store.signals()] == [(f"{EQ}/temp", 1, None)]
        assert store.append_points(pts(0, 1, 42.0)) == 0  # its high-water mark came along
        got = store.register_signals([text_info("lot"), array_info("profile", 2)])
        lot, pr = got.values()
        assert store.append(
            pts(1, 1), EventBatch.empty(), texts(0, lot, "L1"), arrays(0, pr, [[1.0, 2.0]])
        ) == (3, 0)  # fmt: skip
        assert [s.length for s in store.signals()] == [None, None, 2]
    with DuckDBStore(path) as store:  # and again, now that it has them
        assert store.latest(kind="text").column("value").to_pylist() == ["L1"]
        assert store.count_points() == 4


# --- retention per signal class -------------------------------------------------------------------

DAY_US, HOUR_US = 86_400_000_000, 3_600_000_000


def test_retention_deletes_old_points_per_class_and_keeps_hourly_rollups(
    open_store: OpenStore,
) -> None:
    store = open_store()
    ids = store.register_signals(
        [info("temp"), SignalInfo(f"{EQ}/state", EQ, "state", "", "int", role="state")]
    )
    t, st = ids[f"{EQ}/temp"], ids[f"{EQ}/state"]
    # Every 5 s for 10 days, one signal after the other (a backfill): retention thins row groups.
    secs = np.arange(0, 10 * 86_400, 5)
    store.append_points(pts(secs, st, 1.0))
    store.append_points(pts(secs, t, secs % 7))
    for bad in (0, -1, float("nan"), float("inf"), True, "3"):
        with pytest.raises(StoreError, match="positive"):
            store.set_retention({"measurement": bad})  # type: ignore[dict-item]
    store.set_retention({"measurement": 3, "*": 6})
    assert store.retention() == {"measurement": 3, "*": 6}

    now = T0 + 10 * DAY_US  # kept: measurement from day 7 on, state from day 4 on
    hours = (T0 // HOUR_US * HOUR_US, now)
    before = store.downsample(t, *hours, HOUR_US)
    assert store.apply_retention_if_due(now) is not None
    assert store.apply_retention_if_due(now + HOUR_US // 2) is None  # at most hourly
    assert ts_us(store.raw([t], 0, 2**62))[0] == now - 3 * DAY_US
    assert ts_us(store.raw([st], 0, 2**62))[0] == now - 6 * DAY_US
    assert store.count_points() == 2 * len(secs) - 7 * 86_400 // 5 - 4 * 86_400 // 5
    assert store.apply_retention(now) == type(store.apply_retention(now))([], 0)  # idempotent
    # Hourly rollups outlive the points: the 10-day trend is unchanged.
    after = store.downsample(t, *hours, HOUR_US)
    for column in ("bucket", "min", "max", "count"):
        assert after.column(column).equals(before.column(column)), column

    # Rollups stay exact for points stored after retention, across a reopen (checkpoint).
    store.set_retention({})
    store.close()
    store = open_store()
    late = np.arange(10 * 86_400, 10 * 86_400 + 7200)
    store.append_points(pts(late, t, late % 11))
    store.maintain()
    m0 = -(-now // (60 * S)) * 60 * S  # the first whole minute of the new points
    minutes = store.downsample(t, m0, m0 + 3600 * S, 60 * S)
    assert minutes.column("count").to_pylist() == [60] * 60
    raw = store.raw([t], m0, m0 + 3600 * S).column("value").to_numpy()
    assert minutes.column("avg").to_numpy() == pytest.approx(raw.reshape(60, 60).mean(axis=1))


def test_earliest_and_counts_per_signal(store: Store, ids: dict[str, int]) -> None:
    t, f, sp = ids[f"{EQ}/temp"], ids[f"{EQ}/force"], ids[f"{EQ}/speed"]
    store.append_points(pts([50, 10, 7200], t, [5.0, 1.0, 72.0]))
    store.append_points(pts([3], f, float("nan"), Quality.BAD))  # only BAD: in no rollup
    store.maintain()
    store.append_points(pts([3600, 2], f, [36.0, 0.2]))  # after the roll-up, one before the rest
    got = store.earliest([t, f, sp])
    assert got.column("signal_id").to_pylist() == [t, f]  # speed has no points
    assert ts_us(got) == [T0 + 10 * S, T0 + 2 * S]
    assert got.column("value").to_pylist() == [1.0, 0.2]
    assert store.earliest([]).num_rows == 0
    assert store.count_points() == 6
    assert store.count_points([t]) == 3
    assert store.count_points([t, f], T0 + 3 * S, T0 + 3600 * S) == 3  # t at 10, 50 s; f at 3 s
    assert store.count_points([], T0, T0 + S) == 0


def test_housekeeping_applies_the_retention_policy(store: Store, ids: dict[str, int]) -> None:
    t = ids[f"{EQ}/temp"]
    store.append_points(pts(np.arange(0, 7200, 10), t))  # in 2023: older than a day
    store.maintain()  # no policy: nothing goes
    assert store.count_points() == 720
    store.set_retention({"measurement": 1})
    store.maintain()
    assert store.count_points() == 0
    hour = T0 // HOUR_US * HOUR_US
    assert sum(store.downsample(t, hour, hour + 4 * HOUR_US, HOUR_US)["count"].to_pylist()) == 720


# --- texts (string signals) and arrays (array signals) ------------------------------------------


@pytest.fixture
def kinds(store: Store) -> dict[str, int]:
    """A number, two string and two array signals (of different lengths)."""
    got = store.register_signals(
        [info("temp"), text_info("product"), text_info("lot", length=12),
         array_info("profile", 3), array_info("spectrum", 5)]
    )  # fmt: skip
    return {path.rpartition("/")[2]: i for path, i in got.items()}


# Texts a COPY stream or a CSV must carry as they are, in the plant's languages.
TEXTS = [
    "产品 A-17 批次",
    "Партия № 5 — сталь",
    "",
    "tab\there, two\nlines, back\\slash \\N, \"quoted\", 'single'",
    "压" * 4096,  # the longest a string signal holds, 3 bytes a character in UTF-8
    "ascii-only",
]


def test_texts_come_back_exactly(store: Store, kinds: dict[str, int]) -> None:
    p = kinds["product"]
    assert store.append_points(texts(np.arange(len(TEXTS)), p, TEXTS)) == len(TEXTS)
    got = store.raw([p], T0, T0 + 100 * S, kind="text")
    assert got.schema == TEXT_POINT_SCHEMA
    assert got.column("value").to_pylist() == TEXTS
    assert ts_us(got) == [T0 + i * S for i in range(len(TEXTS))]
    assert store.raw([p], T0, T0 + 100 * S).num_rows == 0  # no numbers for it
    assert [s.length for s in store.signals()] == [None, None, 12, 3, 5]


def test_arrays_of_different_lengths_in_one_batch(store: Store, kinds: dict[str, int]) -> None:
    pr, sp = kinds["profile"], kinds["spectrum"]
    rows = [[1.0, -0.0, 2.5], [1e300, -1e-300, 3.0, 4.0, 5.0], [7.0, 8.0, 9.0],
            [0.1, 0.2, 0.3, 0.4, 0.5]]  # fmt: skip
    batch = arrays([0, 0, 1, 1], [pr, sp, pr, sp], rows)
    assert store.append_points(batch) == 4
    got = store.raw([sp, pr], T0, T0 + 10 * S, kind="array")
    assert got.schema == ARRAY_POINT_SCHEMA
    assert got.column("signal_id").to_pylist() == [pr, pr, sp, sp]
    assert got.column("value").to_pylist() == [rows[0], rows[2], rows[1], rows[3]]
    assert np.signbit(got.column("value")[0].values.to_numpy()[1])  # -0.0 kept


def test_bad_texts_and_arrays_carry_no_value(store: Store, kinds: dict[str, int]) -> None:
    p, pr = kinds["product"], kinds["profile"]
    store.append_points(texts([0, 1], p, ["A-17", ""], [Quality.GOOD, Quality.BAD]))
    store.append_points(arrays([0, 1], pr, [[1.0, 2.0, 3.0], []], [Quality.GOOD, Quality.BAD]))
    text = store.latest([p], kind="text")
    assert (text.column("value").to_pylist(), text.column("quality").to_pylist()) == (
        [""], [Quality.BAD]
    )  # fmt: skip
    array = store.raw([pr], T0, T0 + 10 * S, kind="array")
    assert array.column("value").to_pylist() == [[1.0, 2.0, 3.0], []]
    assert array.column("quality").to_pylist() == [Quality.GOOD, Quality.BAD]


def test_latest_of_each_kind(open_store: OpenStore) -> None:
    store = open_store()
    got = store.register_signals(
        [info("temp"), text_info("product"), text_info("lot"), array_info("profile", 2)]
    )
    t, p, lot, pr = got.values()
    store.append(
        pts([1, 3], t, [1.0, 3.0]),
        EventBatch.empty(),
        texts=texts([5, 2, 9], [p, p, lot], ["B", "A", "L-9"]),
        arrays=arrays([4, 8], pr, [[1.0, 2.0], [3.0, 4.0]]),
    )
    store.append_points(texts(1, p, "late"))  # stored, not the latest
    store.append_points(arrays(6, pr, [[5.0, 6.0]]))  # late too

    def check(s: Store) -> None:
        number = s.latest()
        assert number.schema == POINT_SCHEMA
        assert (number.column("signal_id").to_pylist(), ts_us(number)) == ([t], [T0 + 3 * S])
        text = s.latest(kind="text")
        assert text.schema == TEXT_POINT_SCHEMA
        assert text.column("signal_id").to_pylist() == [p, lot]
        assert text.column("value").to_pylist() == ["B", "L-9"]
        assert ts_us(text) == [T0 + 5 * S, T0 + 9 * S]
        array = s.latest([pr, t], kind="array")
        assert array.schema == ARRAY_POINT_SCHEMA
        assert array.column("value").to_pylist() == [[3.0, 4.0]]
        assert s.latest([lot], kind="text").column("value").to_pylist() == ["L-9"]
        assert s.latest([], kind="array").schema == ARRAY_POINT_SCHEMA
        assert s.latest([t], kind="text").num_rows == 0

    check(store)
    store.close()
    check(open_store())


def test_raw_by_kind_is_half_open_and_limited(store: Store, kinds: dict[str, int]) -> None:
    p, lot, pr = kinds["product"], kinds["lot"], kinds["profile"]
    store.append_points(texts(np.arange(10), [p] * 5 + [lot] * 5, [str(i) for i in range(10)]))
    store.append_points(arrays(np.arange(5), pr, [[i, i, i] for i in range(5)]))
    got = store.raw([lot, p], T0 + 2 * S, T0 + 7 * S, kind="text")
    assert got.column("value").to_pylist() == ["2", "3", "4", "5", "6"]
    assert store.raw([p, lot], T0, T0 + 10 * S, limit=3, kind="text").num_rows == 3
    assert store.raw([pr], T0, T0 + 10 * S, limit=2, kind="array").column("value").to_pylist() == [
        [0.0] * 3, [1.0] * 3
    ]  # fmt: skip
    assert store.raw([], T0, T0 + 10 * S, kind="array").schema == ARRAY_POINT_SCHEMA
    with pytest.raises(StoreError, match="kind 'blob'"):
        store.raw([p], T0, T0 + S, kind="blob")  # type: ignore[arg-type]


def test_texts_and_arrays_are_stored_once(open_store: OpenStore) -> None:
    store = open_store()
    got = store.register_signals([text_info("product"), array_info("profile", 2)])
    p, pr = got.values()
    text = texts([0, 1, 2], p, ["a", "b", "c"])
    array = arrays([0, 1], pr, [[1.0, 1.0], [2.0, 2.0]])
    assert store.append_points(text) == 3
    assert store.append_points(array) == 2
    assert store.append_points(text) == 0  # the same batch again
    # Re-sent and new together: the first write stays, the new points go in.
    assert store.append_points(texts([1, 3, 2, 5], p, ["x", "d", "y", "e"])) == 2
    assert store.raw([p], T0, T0 + 10 * S, kind="text").column("value").to_pylist() == [
        "a", "b", "c", "d", "e"
    ]  # fmt: skip
    assert store.append_points(texts(4, p, "late, new")) == 1  # late but new
    # Within a batch the last of a (signal, ts) wins.
    assert store.append_points(arrays([5, 6, 5], pr, [[5.0, 5.0], [6.0, 6.0], [7.0, 7.0]])) == 2
    values = store.raw([pr], T0, T0 + 10 * S, kind="array").column("value").to_pylist()
    assert values == [[1.0, 1.0], [2.0, 2.0], [7.0, 7.0], [6.0, 6.0]]
    store.close()
    store = open_store()
    assert store.append_points(text) == store.append_points(array) == 0
    assert store.count_points() == 6 + 4


def test_the_wrong_kind_stores_nothing(store: Store, kinds: dict[str, int]) -> None:
    t, p, pr = kinds["temp"], kinds["product"], kinds["profile"]
    good_numbers, good_texts = pts([0, 1], t), texts([0, 1], p, ["a", "b"])
    with pytest.raises(StoreError, match=rf"text points for signal ids \[{t}\], which hold number"):
        store.append(good_numbers, EventBatch.empty(), texts=texts([0, 1], [p, t], ["a", "b"]))
    with pytest.raises(StoreError, match=rf"array points for signal ids \[{p}\]"):
        store.append(good_numbers, events_fixture(), texts=good_texts, arrays=arrays(0, p, [[1.0]]))
    with pytest.raises(StoreError, match=r"number points for signal ids \[" + str(pr)):
        store.append_points(pts(0, pr))
    with pytest.raises(StoreError, match="unknown signal ids"):
        store.append(PointBatch.empty(), EventBatch.empty(), texts=texts(0, 9999, "x"))
    with pytest.raises(StoreError, match="NUL"):
        store.append(good_numbers, EventBatch.empty(), texts=texts([0, 1], p, ["a", "b\x00"]))
    assert store.count_points() == 0
    assert store.events(0, 2**62).num_rows == 0
    assert store.latest().num_rows == store.latest(kind="text").num_rows == 0
    # All kinds together, all stored.
    assert store.append(
        good_numbers, events_fixture(), texts=good_texts, arrays=arrays(0, pr, [[1.0, 2.0, 3.0]])
    ) == (5, 5)  # fmt: skip


def test_earliest_of_each_kind(store: Store, kinds: dict[str, int]) -> None:
    p, lot, pr = kinds["product"], kinds["lot"], kinds["profile"]
    store.append_points(texts([5, 2, 9], [p, p, lot], ["B", "A", "L"]))
    store.append_points(arrays([4, 3], pr, [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))
    first = store.earliest([lot, p, kinds["temp"]], kind="text")
    assert first.schema == TEXT_POINT_SCHEMA
    assert first.column("signal_id").to_pylist() == [p, lot]
    assert first.column("value").to_pylist() == ["A", "L"]
    assert ts_us(first) == [T0 + 2 * S, T0 + 9 * S]
    array = store.earliest([pr, kinds["spectrum"]], kind="array")
    assert array.column("value").to_pylist() == [[2.0, 2.0, 2.0]]
    assert store.earliest([], kind="array").schema == ARRAY_POINT_SCHEMA
    assert store.earliest([p]).num_rows == 0  # numbers by default


def test_count_points_counts_every_kind(store: Store, kinds: dict[str, int]) -> None:
    t, p, pr = kinds["temp"], kinds["product"], kinds["profile"]
    store.append(
        pts(np.arange(4), t),
        EventBatch.empty(),
        texts=texts(np.arange(3), p, "x"),
        arrays=arrays(np.arange(2), pr, [[1.0] * 3] * 2),
    )
    assert store.count_points() == 9
    assert store.count_points([p, pr]) == 5
    assert store.count_points([t, p, pr], T0 + S, T0 + 3 * S) == 2 + 2 + 1
    assert store.count_points([kinds["lot"]]) == 0


def test_retention_removes_old_texts_and_arrays(store: Store, kinds: dict[str, int]) -> None:
    p, pr = kinds["product"], kinds["profile"]
    secs = np.arange(0, 4 * 86_400, 3600)  # hourly for 4 days
    store.append_points(texts(secs, p, [f"lot {s}" for s in secs]))
    store.append_points(arrays(secs, pr, [[float(s)] * 3 for s in secs]))
    store.set_retention({"measurement": 2})
    now = T0 + 4 * DAY_US
    store.apply_retention(now)  # PostgreSQL: whole days dropped, the rest deleted
    kept = int((T0 + secs * S >= now - 2 * DAY_US).sum())
    assert store.count_points() == 2 * kept
    assert ts_us(store.raw([p], 0, 2**62, kind="text"))[0] == now - 2 * DAY_US
    assert ts_us(store.raw([pr], 0, 2**62, kind="array"))[0] == now - 2 * DAY_US
    assert store.latest([p], kind="text").column("value").to_pylist() == [f"lot {secs[-1]}"]
