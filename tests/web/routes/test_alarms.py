"""Alarm routes against the real alarm engine of an ingestion: a fault raises an alarm, the
operator (logged in) acknowledges and shelves it over HTTP, the journal, the load and the audit
log see it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from smartfab.model.plant import Plant
from smartfab.platform.points import PointBatch, now_us
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.web.api import create_app

CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"


@pytest.fixture
async def running(
    tmp_path: Path, demo_plant: Plant
) -> AsyncIterator[tuple[httpx.AsyncClient, Ingestion, Security]]:
    with DuckDBStore(tmp_path / "s.duckdb") as store, Security(tmp_path / "sec.sqlite") as sec:
        sec.users.add("test", "li", "operator", "shenyang/machining", "li-password-1")
        ingestion = Ingestion(demo_plant, store)
        await ingestion.start(connectors=False)
        app = create_app(PlantData(store, demo_plant), ingestion, security=sec)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://smartfab") as c:
                login = {"user": "li", "password": "li-password-1"}
                assert (await c.post("/api/login", json=login)).status_code == 200
                yield c, ingestion, sec
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
    running: tuple[httpx.AsyncClient, Ingestion, Security],
) -> None:
    client, ingestion, sec = running
    fault = ingestion.signal_ids[f"{CNC}/fault_code"]
    await ingestion.bus.publish_points(PointBatch.of([now_us()], [fault], [201.0]))
    alarm = await _alarm(client, "unacknowledged")
    assert alarm["equipment"] == CNC and alarm["active"] and alarm["since"]

    # The logged-in user acts, whoever the body names.
    r = await client.post(
        "/api/alarms/acknowledge", json={"ids": [alarm["id"]], "user": "wang", "comment": "seen"}
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

    # li may see the machining hall only: the alarm's id names where it is.
    history = (await client.get("/api/alarms/history", params={"alarm": alarm["id"]})).json()
    assert [h["action"] for h in history] == ["activate", "acknowledge", "shelve", "unshelve"]
    load = (await client.get("/api/alarms/load", params={"under": CNC})).json()
    assert load["total"] == 1 and load["bad_actors"][0]["alarm_id"] == alarm["id"]

    missing = await client.post("/api/alarms/unshelve", json={"id": "no:such", "user": "li"})
    assert missing.status_code == 404
    elsewhere = {"alarm": "shenyang/pressing/x:high"}
    assert (await client.get("/api/alarms/history", params=elsewhere)).status_code == 403

    # Each change is in the audit log with the state before and after.
    entries = [e for e in sec.audit.entries() if e.target == f"alarm:{alarm['id']}"]
    assert [e.action for e in entries] == ["alarm.acknowledge", "alarm.shelve", "alarm.unshelve"]
    assert {e.actor for e in entries} == {"li"}
    assert entries[0].before["state"] == "unacknowledged"
    assert entries[0].after["state"] == "acknowledged"
    assert sec.audit.verify().ok


async def test_without_an_engine(
    filled_store: Path, demo_plant: Plant, security: Security, admin_headers: dict[str, str]
) -> None:
    with DuckDBStore(filled_store) as store:
        app = create_app(PlantData(store, demo_plant), security=security)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://smartfab", headers=admin_headers
        ) as client:
            assert (await client.get("/api/alarms")).json() == {"available": False, "alarms": []}
            r = await client.post("/api/alarms/acknowledge", json={"ids": ["x"], "user": "li"})
            assert r.status_code == 409
