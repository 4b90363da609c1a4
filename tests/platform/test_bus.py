from __future__ import annotations

import asyncio

import numpy as np
import pytest

from smartfab.errors import SmartfabError
from smartfab.platform.bus import Bus, BusClosedError
from smartfab.platform.points import EventBatch, EventKind, PointBatch


def points(n: int, first: int = 0) -> PointBatch:
    return PointBatch.of(np.arange(first, first + n), 1, np.zeros(n))


async def test_batches_arrive_in_publication_order() -> None:
    bus = Bus()
    sub = bus.subscribe()
    ev = EventBatch.of(5, "a/b", EventKind.GAP, "timeout", 1.0)
    await bus.publish_points(points(3))
    await bus.publish_events(ev)
    await bus.publish_points(PointBatch.empty())  # nothing to deliver: not queued
    await bus.publish_points(points(2, 10))
    assert bus.pending_points == 6 and bus.published_batches == 3
    await bus.close()
    got = [item async for item in sub]
    assert [len(b) for b in got] == [3, 1, 2]
    assert got[1] is ev
    assert bus.pending_points == 0 and sub.drained


async def test_a_full_bus_makes_publishers_wait() -> None:
    bus = Bus(capacity_points=1000)
    sub = bus.subscribe()
    for i in range(3):
        await bus.publish_points(points(300, i * 300))
    fourth = asyncio.create_task(bus.publish_points(points(300, 900)))
    await asyncio.sleep(0.05)
    assert not fourth.done()  # 1200 > 1000: back-pressure
    assert bus.pending_points == 900
    assert await sub.get() is not None  # the consumer makes room
    await asyncio.wait_for(fourth, 1)
    assert bus.pending_points == 900


async def test_a_batch_larger_than_the_capacity_passes_alone() -> None:
    bus = Bus(capacity_points=10)
    sub = bus.subscribe()
    await asyncio.wait_for(bus.publish_points(points(25)), 1)
    second = asyncio.create_task(bus.publish_points(points(1)))
    await asyncio.sleep(0.01)
    assert not second.done()
    assert await sub.get() is not None
    await asyncio.wait_for(second, 1)


async def test_close_refuses_new_batches_but_delivers_acknowledged_ones() -> None:
    bus = Bus(capacity_points=5)
    sub = bus.subscribe()
    await bus.publish_points(points(5))
    waiting = asyncio.create_task(bus.publish_points(points(5, 5)))
    await asyncio.sleep(0.01)
    await bus.close()
    with pytest.raises(BusClosedError):
        await waiting  # never acknowledged, and the publisher learns it
    with pytest.raises(BusClosedError):
        await bus.publish_points(points(1))
    assert [len(b) async for b in sub] == [5]


async def test_get_returns_none_on_timeout_and_on_wake() -> None:
    bus = Bus()
    sub = bus.subscribe()
    assert await sub.get(timeout=0.01) is None
    getter = asyncio.create_task(sub.get())
    await asyncio.sleep(0.01)
    await sub.wake()
    assert await asyncio.wait_for(getter, 1) is None
    assert not sub.drained
    await bus.publish_points(points(1))
    assert await sub.get(timeout=0) is not None


async def test_there_is_one_consumer() -> None:
    bus = Bus()
    bus.subscribe()
    with pytest.raises(SmartfabError, match="consumer"):
        bus.subscribe()


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Bus(capacity_points=0)
