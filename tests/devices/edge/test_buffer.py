"""The edge agent's disk buffer: order, acknowledgement, durability across a kill, the bound;
texts and arrays beside numbers; events; files of the earlier formats, and one of a later format."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from smartfab.devices.edge.buffer import DiskBuffer
from smartfab.errors import SmartfabError
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    EventBatch,
    PointBatch,
    Quality,
    TextBatch,
)


def batch(first: int, n: int = 10) -> PointBatch:
    ts = np.arange(first, first + n, dtype=np.int64) * 1_000_000
    return PointBatch.of(ts, np.arange(n) % 3, np.arange(n) * 0.5, Quality.UNCERTAIN)


def texts(first: int) -> TextBatch:
    ts = np.arange(first, first + 3, dtype=np.int64) * 1_000_000
    return TextBatch.of(ts, [7, 8, 7], ["A-17", "", "Ä ✓ 𝄞 \x00"], [0, 2, 1])


def arrays(first: int) -> ArrayBatch:
    rows = ArrayBatch.of(first * 1_000_000, [9, 9], [[1.0, np.nan, -2.5], [0.0, 1e300, 3.0]])
    bad = ArrayBatch.of((first + 1) * 1_000_000, 9, np.empty((1, 0)), Quality.BAD)
    return ArrayBatch.concat([rows.take(np.array([1, 0])), bad])  # offsets not from 0 at row 0


def same(got: list[AnyPoints], expected: AnyPoints | list[AnyPoints]) -> bool:
    """``got`` holds the batches of ``expected``, column for column (NaN equal to NaN)."""
    want = expected if isinstance(expected, list) else [expected]
    return len(got) == len(want) and all(
        type(a) is type(b)
        and all(np.array_equal(getattr(a, c), getattr(b, c), equal_nan=c == "values")
                for c in a.__slots__)
        for a, b in zip(got, want, strict=True)
    )  # fmt: skip


def test_oldest_first_until_acknowledged(tmp_path: Path) -> None:
    buf = DiskBuffer(tmp_path)
    assert buf.peek(100) is None
    for i in range(3):
        buf.append(batch(i * 10))
    last, got = buf.peek(20)  # two batches fit in 20 points, not three
    assert same(got, PointBatch.concat([batch(0), batch(10)]))
    again = buf.peek(20)  # peeking takes nothing away
    assert again is not None and again[0] == last and same(again[1], got)
    buf.ack(last)
    assert buf.stats.points == 10 and buf.stats.batches == 1
    last, got = buf.peek(5)  # a batch larger than the limit still comes, alone
    assert same(got, batch(20))
    buf.ack(last)
    assert buf.peek(100) is None and buf.stats.bytes == 0


def test_texts_and_arrays_come_back_as_they_went_in_per_kind(tmp_path: Path) -> None:
    buf = DiskBuffer(tmp_path)
    for i in range(2):
        buf.append(texts(i * 10))
        buf.append(batch(i * 10, 2))
        buf.append(arrays(i * 10))
    assert buf.stats.points == 2 * (3 + 2 + 3)
    buf.close()
    buf = DiskBuffer(tmp_path)  # from the file
    last, got = buf.peek(100)  # type: ignore[misc]
    assert same(got, [PointBatch.concat([batch(0, 2), batch(10, 2)]),
                      TextBatch.concat([texts(0), texts(10)]),
                      ArrayBatch.concat([arrays(0), arrays(10)])])  # fmt: skip
    buf.ack(last)
    assert buf.peek(100) is None and buf.stats.bytes == 0


def test_a_lone_surrogate_is_stored_as_a_question_mark(tmp_path: Path) -> None:
    """Text that is no Unicode cannot be sent as UTF-8: stored as such it would block the queue."""
    buf = DiskBuffer(tmp_path)
    buf.append(TextBatch.of(0, 1, "a\udc80b"))
    got = buf.peek(10)
    assert got is not None and got[1][0].text.tolist() == ["a?b"]  # type: ignore[union-attr]


FIRST_FORMAT = """
CREATE TABLE batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    points INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    ts BLOB NOT NULL, signal_id BLOB NOT NULL, value BLOB NOT NULL, quality BLOB NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def test_a_buffer_of_the_first_format_is_read_and_upgraded(tmp_path: Path) -> None:
    """A buffer left by an agent from before texts and arrays: its batches are numbers."""
    old = batch(0, 4)
    db = sqlite3.connect(tmp_path / "buffer.sqlite")
    db.executescript(FIRST_FORMAT)
    cols = [old.ts.tobytes(), old.signal_id.tobytes(), old.value.tobytes(), old.quality.tobytes()]
    db.execute("INSERT INTO batches (points, bytes, ts, signal_id, value, quality) "
               "VALUES (4, 84, ?, ?, ?, ?)", cols)  # fmt: skip
    db.execute("INSERT INTO meta VALUES ('cursor:virtual', '123')")
    db.commit()
    db.close()
    buf = DiskBuffer(tmp_path)
    assert buf.stats.points == 4 and buf.get("cursor:virtual") == "123"
    buf.append(texts(10))
    _, got = buf.peek(100)  # type: ignore[misc]
    assert same(got, [old, texts(10)])
    buf.close()
    assert DiskBuffer(tmp_path).stats.points == 7  # upgraded once, opened as this format since


def test_a_buffer_of_a_later_format_is_refused(tmp_path: Path) -> None:
    DiskBuffer(tmp_path).close()
    db = sqlite3.connect(tmp_path / "buffer.sqlite")
    db.execute("PRAGMA user_version = 9")
    db.close()
    with pytest.raises(SmartfabError, match="edge buffer of format 9, written by a newer smartfab"):
        DiskBuffer(tmp_path)


def _append_and_die(folder: Path) -> None:
    buf = DiskBuffer(folder)
    buf.append(batch(0), {"cursor:virtual": "123"})
    buf.append(batch(10), {"cursor:virtual": "456"})
    os._exit(0)  # no close, no flush: as kill -9 would leave it


def test_appended_batches_survive_a_killed_process(tmp_path: Path) -> None:
    child = mp.get_context("spawn").Process(target=_append_and_die, args=(tmp_path,))
    child.start()
    child.join(30)
    buf = DiskBuffer(tmp_path)
    assert buf.stats.points == 20
    assert same(buf.peek(100)[1], PointBatch.concat([batch(0), batch(10)]))  # type: ignore[index]
    assert buf.get("cursor:virtual") == "456"  # kept in the transaction of its batch


def test_full_buffer_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    one = 10 * 21  # bytes of a 10-point batch: 8 + 4 + 8 + 1 a point
    buf = DiskBuffer(tmp_path, max_bytes=3 * one)
    for i in range(5):
        buf.append(batch(i * 10))
    assert buf.stats.dropped_points == 20 and buf.stats.points == 30
    assert same(buf.peek(100)[1], PointBatch.concat([batch(20), batch(30), batch(40)]))  # type: ignore[index]
    buf.close()
    assert DiskBuffer(tmp_path, max_bytes=3 * one).stats.dropped_points == 20  # kept on disk


def test_bound_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(SmartfabError, match="must be positive"):
        DiskBuffer(tmp_path, max_bytes=0)


def events(first: int) -> EventBatch:
    return EventBatch.of(
        [first, first + 5], ["connector:plc", "connector:cnc"], "gap", "connection_lost",
        [12.5, np.nan], ["Modbus connection 'plc' … timed out; back after 12.5 s", ""],
    )  # fmt: skip


def test_events_wait_beside_the_points_until_acknowledged(tmp_path: Path) -> None:
    buf = DiskBuffer(tmp_path)
    buf.append_events(events(1))
    buf.append(batch(0))
    buf.append_events(events(100))
    buf.close()
    buf = DiskBuffer(tmp_path)  # on disk, not in memory
    assert buf.stats.events == 4 and buf.stats.points == 10
    last, got = buf.peek_events(3)  # type: ignore[misc]
    want = EventBatch.concat([events(1), events(100).take(np.array([0]))])
    for column in ("ts", "equipment", "kind", "code", "detail"):
        assert getattr(got, column).tolist() == getattr(want, column).tolist()
    assert np.array_equal(got.value, want.value, equal_nan=True)
    buf.ack_events(last)
    assert buf.stats.events == 1 and buf.stats.points == 10  # the points wait for their own ack
    _, rest = buf.peek_events()  # type: ignore[misc]
    assert rest.ts.tolist() == [105]
    buf.close()


def test_a_buffer_of_the_format_without_events_is_upgraded(tmp_path: Path) -> None:
    buf = DiskBuffer(tmp_path)
    buf.append(texts(0))
    buf.close()
    db = sqlite3.connect(tmp_path / "buffer.sqlite")
    db.executescript("DROP TABLE events; PRAGMA user_version = 2;")
    db.close()
    buf = DiskBuffer(tmp_path)
    assert buf.stats.points == 3 and buf.peek_events() is None
    buf.append_events(events(1))
    assert buf.stats.events == 2
    _, got = buf.peek(100)  # type: ignore[misc]
    assert same(got, texts(0))
