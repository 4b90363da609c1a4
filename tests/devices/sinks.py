"""Run a connector in the background and keep what it emits, for connector tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
import numpy.typing as npt

from smartfab.devices.connector import Connector, SignalIds
from smartfab.platform.points import (
    AnyPoints,
    ArrayBatch,
    EventBatch,
    PointBatch,
    Quality,
    TextBatch,
)


class Collected:
    def __init__(self) -> None:
        self.batches: list[PointBatch] = []  # numbers
        self.text_batches: list[TextBatch] = []
        self.array_batches: list[ArrayBatch] = []
        self.events: list[EventBatch] = []
        # Cleared, the point sink waits like a full bus: the connector cannot hand a batch over.
        self.flowing = asyncio.Event()
        self.flowing.set()

    async def points_sink(self, batch: AnyPoints) -> None:
        await self.flowing.wait()
        if isinstance(batch, TextBatch):
            self.text_batches.append(batch)
        elif isinstance(batch, ArrayBatch):
            self.array_batches.append(batch)
        else:
            self.batches.append(batch)

    async def events_sink(self, batch: EventBatch) -> None:
        self.events.append(batch)

    @property
    def points(self) -> PointBatch:
        return PointBatch.concat(self.batches)

    @property
    def texts(self) -> TextBatch:
        return TextBatch.concat(self.text_batches)

    @property
    def arrays(self) -> ArrayBatch:
        return ArrayBatch.concat(self.array_batches)

    @property
    def gaps(self) -> EventBatch:
        events = EventBatch.concat(self.events)
        return events.take(events.kind == "gap")

    @property
    def good(self) -> PointBatch:
        points = self.points
        return points.take(points.quality == Quality.GOOD)

    def assert_one_outage(
        self, signal_ids: npt.ArrayLike | SignalIds, back_us: int | None = None
    ) -> None:
        """The way every outage is recorded: each of ``signal_ids`` (plain ids of numbers, or
        ``SignalIds``) got one BAD point without a value at the outage's start (a NaN, an empty
        text, an array of no elements), and one gap event from that start, shorter than a minute,
        that lasts at least until ``back_us``, when the source was started again (a connector
        cannot be back before its source; a wall-clock length would depend on the machine's
        load)."""
        gaps = self.gaps
        assert len(gaps) == 1, gaps.detail.tolist()
        assert gaps.code[0] == "connection_lost" and 0 <= gaps.value[0] < 60
        if back_us is not None:  # within a millisecond: the length is stored as seconds
            assert int(gaps.ts[0]) + gaps.value[0] * 1e6 >= back_us - 1_000
        ids = signal_ids if isinstance(signal_ids, SignalIds) else SignalIds.of(signal_ids)
        at_start = gaps.ts[0]

        # (A device may also deliver BAD points of its own, at other times.)
        def bad(batch: PointBatch | TextBatch | ArrayBatch) -> npt.NDArray[np.bool_]:
            at: npt.NDArray[np.bool_] = (batch.quality == Quality.BAD) & (batch.ts == at_start)
            return at

        numbers = self.points.take(bad(self.points))
        assert sorted(numbers.signal_id.tolist()) == sorted(ids.number.tolist())
        assert np.isnan(numbers.value).all()
        texts = self.texts.take(bad(self.texts))
        assert sorted(texts.signal_id.tolist()) == sorted(ids.text.tolist())
        assert (texts.text == "").all()
        arrays = self.arrays.take(bad(self.arrays))
        assert sorted(arrays.signal_id.tolist()) == sorted(ids.array.tolist())
        assert len(arrays.values) == 0

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
