"""History from the virtual factory, much faster than real time: the factory is advanced in
chunks and each chunk (numbers, texts and arrays, a batch each) is published onto the bus, so
history takes the same way into the store as live data (validation, derived events, idempotent
appends)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from smartfab.platform.bus import Bus
from smartfab.virtual.factory import VirtualFactory

HOUR_US = 3_600_000_000


async def backfill(
    factory: VirtualFactory,
    bus: Bus,
    until_us: int,
    *,
    chunk_us: int = HOUR_US,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Advance ``factory`` to ``until_us`` and publish everything; ``progress(now_us, points)``
    is called after each chunk. Returns the number of points published."""
    published = 0
    while factory.now_us < until_us:
        step = min(factory.now_us + chunk_us, until_us)
        # The simulation runs in a thread (NumPy releases the GIL), so the writer stores the
        # previous chunk on the other core meanwhile.
        done = await asyncio.to_thread(factory.advance_all, step)
        for batch in (done.points, done.texts, done.arrays):
            if len(batch):
                await bus.publish_points(batch)
        if len(done.failures):
            await bus.publish_events(done.failures)
        published += len(done.points) + len(done.texts) + len(done.arrays)
        if progress is not None:
            progress(step, published)
    return published
