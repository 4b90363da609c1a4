"""Run a connector in the background and keep what it emits, for connector tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np

from smartfab.devices.connector import Connector
from smartfab.platform.points import EventBatch, PointBatch, Quality


class Collected:
    def __init__(self) -> None:
        self.batches: list[PointBatch] = []
        self.events: list[EventBatch] = []
        # Cleared, the point sink waits like a full bus: the connector cannot hand a batch over.
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def points_sink(self, batch: PointBatch) -> None:
        await self.flowing.wait()
        self.batches.append(batch)

    async def events_sink(self, batch: EventBatch) -> None:
        self.events.append(batch)

    @property
    def points(self) -> PointBatch:
        return PointBatch.concat(self.batches)

    @property
    def gaps(self) -> EventBatch:
        events = EventBatch.concat(self.events)
        return events.take(events.kind == "gap")

    @property
    def good(self) -> PointBatch:
        points = self.points
        return points.take(points.quality == Quality.GOOD)

    def assert_one_outage(self, signal_ids: object, back_us: int | None = None) -> None:
        """The way every outage is recorded: each of ``signal_ids`` got one BAD point without a
        value at the outage's start, and one gap event from that start, shorter than a minute,
        that lasts at least until ``back_us``, when the source was started again (a connector
        cannot be back before its source; a wall-clock length would depend on the machine's
        load)."""
        gaps = self.gaps
        assert len(gaps) == 1, gaps.detail.tolist()
        assert gaps.code[0] == "connection_lost" and 0 <= gaps.value[0] < 60
        if back_us is not None:  # within a millisecond: the length is stored as seconds
            assert int(gaps.ts[0]) + gaps.value[0] * 1e6 >= back_us - 1_000
        points = self.points
        # (A device may also deliver BAD points of its own, at other times.)
        bad = points.take((points.quality == Quality.BAD) & (points.ts == gaps.ts[0]))
        assert sorted(bad.signal_id.tolist()) == sorted(np.asarray(signal_ids).tolist())
        assert np.isnan(bad.value).all()

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout_s} s")
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running(connector: Connector) -> AsyncIterator[Collected]:
    """The connector running; stopped (and checked to have stopped cleanly) on exit."""
    collected = Collected()
    task = asyncio.create_task(connector.run(collected.points_sink, collected.events_sink))
    try:
        yield collected
    finally:
        connector.stop()
        await asyncio.wait_for(task, 15)
