"""The edge agent's disk buffer: order, acknowledgement, durability across a kill, the bound."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest

from smartfab.devices.edge.buffer import DiskBuffer
from smartfab.errors import SmartfabError
from smartfab.platform.points import PointBatch, Quality


def batch(first: int, n: int = 10) -> PointBatch:
    ts = np.arange(first, first + n, dtype=np.int64) * 1_000_000
    return PointBatch.of(ts, np.arange(n) % 3, np.arange(n) * 0.5, Quality.UNCERTAIN)


def same(a: PointBatch, b: PointBatch) -> bool:
    return all(
        np.array_equal(getattr(a, c), getattr(b, c))
        for c in ("ts", "signal_id", "value", "quality")
    )


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
