"""The contract every Store implementation must meet. Add an implementation to STORES and it runs
the whole suite; expectations are computed by hand, not by another store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from smartfab.platform.points import EventBatch, EventKind, PointBatch, Quality
from smartfab.platform.store.base import SignalInfo, Store, StoreError
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.platform.store.postgres import PostgresStore
from tests.platform.store.points import EQ, T0, S, info, pts, ts_us

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
