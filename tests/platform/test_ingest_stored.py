"""The writer's ``stored`` hook: what MQTT's manual acknowledgement waits for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartfab.errors import SmartfabError
from smartfab.platform.bus import Bus
from smartfab.platform.ingest import Writer
from smartfab.platform.points import PointBatch, now_us
from smartfab.platform.store.base import SignalInfo
from smartfab.platform.store.duckdb import DuckDBStore

T0 = (now_us() // 1_000_000 - 3600) * 1_000_000


async def test_stored_completes_once_the_batch_is_in_the_store(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        (sid,) = store.register_signals(
            [SignalInfo("a/b/c/d/e/t", "a/b/c/d/e", "t", "degC", "float")]
        ).values()
        bus = Bus()
        writer = Writer(bus, store, max_delay_s=0.3)
        with pytest.raises(SmartfabError, match="not running"):
            await writer.stored(1)
        await writer.start()
        await bus.publish_points(PointBatch.of(T0, sid, 1.0))
        waiter = asyncio.ensure_future(writer.stored(bus.published_batches))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # it does not hurry the writer, unlike flush()
        await asyncio.wait_for(waiter, 5)
        assert store.count_points() == 1
        await writer.stop()
        with pytest.raises(SmartfabError, match="stopped before"):
            await writer.stored(bus.published_batches + 1)
