"""The live feed: a snapshot first, then only changes, coalesced per browser, read from the store
after the writer appended; its SSE route through a real server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from smartfab.model.plant import Plant
from smartfab.platform.points import PointBatch, now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.web.api import create_app
from smartfab.web.live import LiveFeed
from smartfab.web.server import ApiServer

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"


def _message(chunk: str) -> dict[str, Any]:
    event, data = chunk.strip().split("\n")
    assert event == "event: update"
    return dict(json.loads(data.removeprefix("data: ")))


async def _next(stream: Any) -> dict[str, Any]:
    async with asyncio.timeout(10):
        return _message(await anext(stream))


async def test_snapshot_then_coalesced_changes(tmp_path: Path, demo_plant: Plant) -> None:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        ingestion = Ingestion(demo_plant, store)
        await ingestion.start(connectors=False)
        try:
            ids = ingestion.signal_ids
            t0 = now_us() - 10_000_000

            async def publish(t: int, **values: float) -> None:
                paths = [f"{CNC}/{name}" for name in values]
                await ingestion.bus.publish_points(
                    PointBatch.of([t] * len(paths), [ids[p] for p in paths], list(values.values()))
                )
                await ingestion.writer.flush()

            await publish(t0, power=10.0, state=1.0)
            data = PlantData(store, demo_plant)
            feed = LiveFeed(data, lambda: ingestion.writer.stats.batches, interval_s=0.05)
            stream = feed.stream()
            first = await _next(stream)
            assert first["values"][f"{CNC}/power"][1] == 10.0
            assert first["states"] == {CNC: "running"}

            # Three appends while the browser is not reading: one message with the newest value
            # of each signal that changed, and nothing about the others.
            await publish(t0 + 1_000_000, power=11.0)
            await publish(t0 + 2_000_000, power=12.0, state=5.0)
            await publish(t0 + 3_000_000, power=13.0)
            await asyncio.sleep(0.3)
            second = await _next(stream)
            assert set(second["values"]) == {f"{CNC}/power", f"{CNC}/state"}
            assert second["values"][f"{CNC}/power"][1] == 13.0
            assert second["states"] == {CNC: "unplanned_down"}
            assert feed.clients == 1
            await stream.aclose()
            assert feed.clients == 0
            await feed.close()
        finally:
            await ingestion.stop()


async def test_sse_route_through_a_real_server(
    filled_store: Path, demo_plant: Plant, security: Security, admin_headers: dict[str, str]
) -> None:
    """Without ingestion the feed polls; the stream ends when the server stops."""
    with DuckDBStore(filled_store) as store:
        app = create_app(PlantData(store, demo_plant), security=security)
        server = ApiServer(app, "127.0.0.1", 0)
        await server.start()
        try:
            async with (
                httpx.AsyncClient(base_url=server.url, headers=admin_headers) as client,
                client.stream("GET", "/api/live") as r,
            ):
                assert r.headers["content-type"].startswith("text/event-stream")
                chunks = r.aiter_text()
                first = await _next(chunks)
                assert len(first["values"]) == len(store.signals())
                assert len(first["states"]) == len(list(demo_plant.iter_equipment()))
        finally:
            await server.stop()


async def test_a_stream_under_an_asset_holds_nothing_else(
    tmp_path: Path, demo_plant: Plant
) -> None:
    """A browser watching one equipment (a grant limited to it) receives its values and state,
    and no message at all about changes elsewhere."""
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        ingestion = Ingestion(demo_plant, store)
        await ingestion.start(connectors=False)
        try:
            ids = ingestion.signal_ids
            press = "shenyang/pressing/press-line-1/cell-1/press-01"
            t0 = now_us() - 10_000_000

            async def publish(t: int, values: dict[str, float]) -> None:
                await ingestion.bus.publish_points(
                    PointBatch.of(
                        [t] * len(values), [ids[p] for p in values], list(values.values())
                    )
                )
                await ingestion.writer.flush()

            await publish(t0, {f"{CNC}/power": 10.0, f"{CNC}/state": 1.0, f"{press}/power": 5.0,
                               f"{press}/state": 1.0})  # fmt: skip
            feed = LiveFeed(PlantData(store, demo_plant), lambda: ingestion.writer.stats.batches,
                            interval_s=0.05)  # fmt: skip
            stream = feed.stream(CNC + "/")
            first = await _next(stream)
            assert set(first["values"]) == {f"{CNC}/power", f"{CNC}/state"}
            assert first["states"] == {CNC: "running"}
            await publish(t0 + 1_000_000, {f"{press}/power": 6.0, f"{press}/state": 5.0})
            await publish(t0 + 2_000_000, {f"{CNC}/power": 11.0})
            second = await _next(stream)
            assert second["values"].keys() == {f"{CNC}/power"} and second["states"] == {}
            await stream.aclose()
            await feed.close()
        finally:
            await ingestion.stop()
