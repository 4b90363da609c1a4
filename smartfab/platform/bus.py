"""The in-process bus: connectors publish batches, the writer consumes them.

It is one bounded FIFO with a single consumer. The bound is in points (an event counts as one),
not in batches, so memory stays bounded whatever the batch sizes: a publisher that finds the bus
full waits (back-pressure reaches the connector, which then reads its device less eagerly) instead
of the process growing until it dies. A batch is *acknowledged* when ``publish_*`` returns; from
then on the consumer owns it, and ``close`` lets the consumer drain everything acknowledged.

Single consumer on purpose: the writer must see every batch, and fanning out to further consumers
would let the slowest of them throttle ingestion; live views read the store instead.
"""

from __future__ import annotations

import asyncio
from collections import deque

from smartfab.errors import SmartfabError
from smartfab.platform.points import AnyPoints, EventBatch

BusItem = AnyPoints | EventBatch


class BusClosedError(SmartfabError):
    """Published to a closed bus: the batch was not acknowledged."""


class Bus:
    """A bounded, many-producer single-consumer queue of point and event batches."""

    def __init__(self, capacity_points: int = 1_000_000) -> None:
        if capacity_points <= 0:
            raise ValueError(f"bus capacity of {capacity_points} points: must be positive")
        self.capacity_points = capacity_points
        self._items: deque[BusItem] = deque()
        self._pending = 0  # points (and events) queued, what the capacity bounds
        self._published = 0  # batches acknowledged so far
        self._closed = False
        self._subscribed = False
        self._changed = asyncio.Condition()

    @property
    def pending_points(self) -> int:
        return self._pending

    @property
    def published_batches(self) -> int:
        return self._published

    async def publish_points(self, batch: AnyPoints) -> None:
        await self._put(batch)

    async def publish_events(self, batch: EventBatch) -> None:
        await self._put(batch)

    async def _put(self, item: BusItem) -> None:
        n = len(item)
        if n == 0:
            return
        async with self._changed:
            # A batch larger than the whole capacity is let in alone rather than never.
            await self._changed.wait_for(
                lambda: (
                    self._closed or self._pending == 0 or self._pending + n <= self.capacity_points
                )
            )
            if self._closed:
                raise BusClosedError(f"the bus is closed: a batch of {n} was not accepted")
            self._items.append(item)
            self._pending += n
            self._published += 1
            self._changed.notify_all()

    def subscribe(self) -> Subscription:
        """The consumer's end of the bus; there is exactly one."""
        if self._subscribed:
            raise SmartfabError("the bus already has its consumer")
        self._subscribed = True
        return Subscription(self)

    async def close(self) -> None:
        """Refuse new batches; the consumer still receives everything acknowledged before."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class Subscription:
    """Receives the bus's batches in publication order. ``async for`` ends once the bus is closed
    and drained; :meth:`get` adds a timeout for consumers that also act on time."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._woken = False

    @property
    def drained(self) -> bool:
        """The bus is closed and every batch was received: nothing will ever come again."""
        return self._bus._closed and not self._bus._items

    async def get(self, timeout: float | None = None) -> BusItem | None:
        """The next batch; None when ``timeout`` seconds pass, when :meth:`wake` is called or when
        the bus is drained."""
        bus = self._bus
        async with bus._changed:
            try:
                async with asyncio.timeout(timeout):
                    await bus._changed.wait_for(
                        lambda: bool(bus._items) or bus._closed or self._woken
                    )
            except TimeoutError:
                return None
            self._woken = False
            if not bus._items:
                return None
            item = bus._items.popleft()
            bus._pending -= len(item)
            bus._changed.notify_all()
            return item

    async def wake(self) -> None:
        """Make a waiting :meth:`get` return None now (the consumer has something else to do)."""
        self._woken = True
        await self._bus._wake()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BusItem:
        while True:
            item = await self.get()
            if item is not None:
                return item
            if self.drained:
                raise StopAsyncIteration
