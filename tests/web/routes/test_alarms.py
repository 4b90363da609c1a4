"""Alarm routes against the real alarm engine of an ingestion: a fault raises an alarm, the
operator acknowledges and shelves it over HTTP, the journal and the load see it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from smartfab.model.plant import Plant
from smartfab.platform.points import PointBatch, now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime import Ingestion
from smartfab.web.api import create_app

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"


@pytest.fixture
async def running(
    tmp_path: Path, demo_plant: Plant
) -> AsyncIterator[tuple[httpx.AsyncClient, Ingestion]]:
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        ingestion = Ingestion(demo_plant, store)
        await ingestion.start(connectors=False)
        app = create_app(PlantData(store, demo_plant), ingestion)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://smartfab") as c:
                yield c, ingestion
        finally:
            await ingestion.stop()


async def _alarm(client: httpx.AsyncClient, state: str) -> dict[str, object]:
    async with asyncio.timeout(10):
        while True:
            body = (await client.get("/api/alarms", params={"under": CNC})).json()
            found = [a for a in body["alarms"] if a["state"] == state]
            if found:
                return dict(found[0])
            await asyncio.sleep(0.05)


async def test_fault_alarm_acknowledge_shelve_unshelve(
    running: tuple[httpx.AsyncClient, Ingestion],
) -> None:
    client, ingestion = running
    fault = ingestion.signal_ids[f"{CNC}/fault_code"]
    await ingestion.bus.publish_points(PointBatch.of([now_us()], [fault], [201.0]))
    alarm = await _alarm(client, "unacknowledged")
    assert alarm["equipment"] == CNC and alarm["active"] and alarm["since"]

    r = await client.post("/api/alarms/acknowledge", json={"ids": [alarm["id"]], "user": ""})
    assert r.status_code == 422  # the engine wants to know who
    r = await client.post(
        "/api/alarms/acknowledge", json={"ids": [alarm["id"]], "user": "li", "comment": "seen"}
    )
    assert r.status_code == 200
    (acked,) = r.json()
    assert acked["state"] == "acknowledged" and acked["acked_by"] == "li" and acked["acked_at"]

    shelve = {"id": alarm["id"], "user": "li", "minutes": 30, "reason": "chip conveyor repair"}
    shelved = (await client.post("/api/alarms/shelve", json=shelve)).json()
    assert shelved["state"] == "shelved" and shelved["shelve_reason"] == "chip conveyor repair"
    back = (
        await client.post("/api/alarms/unshelve", json={"id": alarm["id"], "user": "li"})
    ).json()
    assert back["state"] == "unacknowledged"  # the fault is still there

    history = (await client.get("/api/alarms/history", params={"alarm": alarm["id"]})).json()
    assert [h["action"] for h in history] == ["activate", "acknowledge", "shelve", "unshelve"]
    load = (await client.get("/api/alarms/load", params={"under": CNC})).json()
    assert load["total"] == 1 and load["bad_actors"][0]["alarm_id"] == alarm["id"]

    missing = await client.post("/api/alarms/unshelve", json={"id": "no:such", "user": "li"})
    assert missing.status_code == 404


async def test_without_an_engine(filled_store: Path, demo_plant: Plant) -> None:
    with DuckDBStore(filled_store) as store:
        transport = httpx.ASGITransport(app=create_app(PlantData(store, demo_plant)))
        async with httpx.AsyncClient(transport=transport, base_url="http://smartfab") as client:
            assert (await client.get("/api/alarms")).json() == {"available": False, "alarms": []}
            r = await client.post("/api/alarms/acknowledge", json={"ids": ["x"], "user": "li"})
            assert r.status_code == 409
