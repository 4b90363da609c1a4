"""Warehouse routes: the demo zone's layout from the plant model, its live state from the
virtual warehouse, the EPCIS export checked against the standard's schema, an AGV paused and
resumed over the real broker, and the permission and scope rules. The simulation itself is
tested in tests/virtual/warehouse."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from fastapi.testclient import TestClient

from smartfab.apps.warehouse.tracking import check_epcis
from smartfab.devices.vda5050 import messages as m
from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.vda5050 import ZoneBridge
from smartfab.web.api import create_app
from smartfab.web.server import ApiServer
from tests.devices.mqtt.broker import HOST, shared_broker_port
from tests.runtime.test_vda5050 import fleet_plant, started
from tests.web.conftest import bearer

ZONE = "shenyang/logistics/central"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory,
    demo_plant: Plant,
    security: Security,
    admin_headers: dict[str, str],
) -> TestClient:
    store = DuckDBStore(Path(tmp_path_factory.mktemp("warehouse")) / "s.duckdb")
    app = create_app(PlantData(store, demo_plant), security=security)
    return TestClient(app, headers=admin_headers)


def test_layout_is_the_plant_models_zone(client: TestClient, demo_plant: Plant) -> None:
    zones = client.get("/api/warehouse/zones").json()
    assert [z["path"] for z in zones] == [ZONE]
    body = client.get(f"/api/warehouse/layout/{ZONE}").json()
    zone = demo_plant.zone("central")
    assert body["floor"]["grid"] == zone.floor.grid
    assert [a["name"] for a in body["asrs"]] == [a.name for a in zone.asrs]
    assert [d["name"] for d in body["docks"]] == [d.name for d in zone.docks]
    assert zone.fleet is not None
    assert [a["serial"] for a in body["agvs"]] == [a.serial for a in zone.fleet.agvs]
    assert client.get("/api/warehouse/layout/shenyang/logistics/nowhere").status_code == 404


def test_state_has_agvs_occupancy_orders_and_kpis(client: TestClient, demo_plant: Plant) -> None:
    body = client.get(f"/api/warehouse/state/{ZONE}").json()
    zone = demo_plant.zone("central")
    assert zone.fleet is not None
    assert len(body["agvs"]) == len(zone.fleet.agvs)
    for agv in body["agvs"]:
        assert zone.floor.free((agv["x"], agv["y"]))
        assert 0 <= agv["battery"] <= 1
    aisle = body["occupancy"][0]
    assert (len(aisle["fill"]), len(aisle["fill"][0])) == (zone.asrs[0].levels, zone.asrs[0].bays)
    assert any(v > 0 for row in aisle["fill"] for v in row)  # the warehouse holds stock
    assert body["orders"] and {o["status"] for o in body["orders"]} <= {
        "open", "picking", "sorted", "shipped"
    }  # fmt: skip
    assert 0 <= body["kpis"]["otif"] <= 1
    assert body["kpis"]["orders"] >= len(body["orders"])
    assert body["vda5050"] is None  # no server bridge here: nothing of this zone on a broker


def test_epcis_export_is_a_valid_document(client: TestClient) -> None:
    doc = client.get(f"/api/warehouse/epcis/{ZONE}").json()
    check_epcis(doc)
    events = doc["epcisBody"]["eventList"]
    assert {"ObjectEvent", "AggregationEvent"} <= {e["type"] for e in events}


def test_viewers_read_engineers_restart(client: TestClient, security: Security) -> None:
    viewer = bearer(security, "viewer", name="wh-viewer")
    engineer = bearer(security, "engineer", name="wh-engineer")
    assert client.get(f"/api/warehouse/state/{ZONE}", headers=viewer).status_code == 200
    body = {"seed": 3, "optimised": False, "speed": 10}
    url = f"/api/warehouse/restart/{ZONE}"
    assert client.post(url, json=body, headers=viewer).status_code == 403
    restarted = client.post(url, json=body, headers=engineer).json()
    assert (restarted["seed"], restarted["optimised"]) == (3, False)
    elsewhere = bearer(security, "viewer", "shenyang/pressing", "wh-press")
    assert client.get(f"/api/warehouse/state/{ZONE}", headers=elsewhere).status_code == 403
    assert client.get("/api/warehouse/zones", headers=elsewhere).json() == []


def test_pausing_an_agv_needs_an_engineer_a_known_agv_and_a_broker(
    client: TestClient, security: Security, demo_plant: Plant
) -> None:
    zone = demo_plant.zone("central")
    assert zone.fleet is not None
    serial = zone.fleet.agvs[0].serial
    viewer = bearer(security, "viewer", name="wh-pause-viewer")
    engineer = bearer(security, "engineer", name="wh-pause-engineer")
    elsewhere = bearer(security, "engineer", "shenyang/pressing", "wh-pause-press")
    url = f"/api/warehouse/{ZONE}/agvs/{serial}"
    assert client.post(f"{url}/pause", headers=viewer).status_code == 403
    assert client.post(f"{url}/resume", headers=viewer).status_code == 403
    assert client.post(f"{url}/pause", headers=elsewhere).status_code == 403
    missing = client.post(f"/api/warehouse/{ZONE}/agvs/nobody/pause", headers=engineer)
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
    assert serial in missing.json()["detail"]  # what there is
    long = client.post(f"/api/warehouse/{ZONE}/agvs/{'x' * 5000}/pause", headers=engineer)
    assert long.status_code == 404 and len(long.json()["detail"]) < 400
    nozone = client.post(f"/api/warehouse/shenyang/logistics/nowhere/agvs/{serial}/pause",
                         headers=engineer)  # fmt: skip
    assert nozone.status_code == 404
    # no bridge to a broker in this app: the answer says what to do
    offline = client.post(f"{url}/pause", headers=engineer)
    assert offline.status_code == 409 and "broker" in offline.json()["detail"]


async def test_an_engineer_pauses_and_resumes_an_agv_over_the_broker(
    tmp_path: Path, demo_plant: Plant, security: Security
) -> None:
    """The route's instant action goes out over the real broker, the virtual AGV acts on it,
    its state comes back paused and the live state shows it; each command is audited."""
    port = shared_broker_port()
    manufacturer = f"t{uuid.uuid4().hex[:8]}"
    zones, live = started(fleet_plant(demo_plant, manufacturer))
    serial = live.sim.fleet_model.agvs[0].serial
    engineer = bearer(security, "engineer", name="wh-pause-engineer-2")
    url = f"/api/warehouse/{ZONE}/agvs/{serial}"
    states: list[m.Message] = []

    def paused_is(value: bool) -> bool:
        return bool(states) and states[-1]["paused"] is value

    with DuckDBStore(tmp_path / "s.duckdb") as store:
        app = create_app(PlantData(store, demo_plant), security=security, warehouses=zones)
        server = ApiServer(app, "127.0.0.1", 0)
        await server.start()
        bridge = asyncio.create_task(ZoneBridge(zones, ZONE, 0.3).run())
        try:
            async with (
                aiomqtt.Client(HOST, port) as mqtt,
                httpx.AsyncClient(base_url=server.url, headers=engineer, timeout=30) as c,
            ):
                await mqtt.subscribe(f"uagv/v2/{manufacturer}/{serial}/state", qos=1)

                async def until(value: bool) -> None:
                    async with asyncio.timeout(10):
                        async for msg in mqtt.messages:
                            states.append(m.decode("state", bytes(msg.payload)))  # type: ignore[arg-type]
                            if paused_is(value):
                                return

                async with asyncio.timeout(10):
                    while not (live.vda5050 or {}).get("connected"):
                        await asyncio.sleep(0.05)
                r = await c.post(f"{url}/pause")
                assert r.status_code == 202
                sent = r.json()["instantActions"]
                m.check("instantActions", sent)
                assert sent["actions"][0]["actionType"] == "startPause"
                await until(True)
                async with asyncio.timeout(10):
                    while True:
                        snap = (await c.get(f"/api/warehouse/state/{ZONE}")).json()
                        (agv,) = [a for a in snap["agvs"] if a["serial"] == serial]
                        if agv["paused"]:
                            break
                        await asyncio.sleep(0.1)
                assert agv["state"] in ("paused", "broken")  # a breakdown shows first
                assert (await c.post(f"{url}/resume")).status_code == 202
                await until(False)
        finally:
            bridge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bridge
            await server.stop()
            async with aiomqtt.Client(HOST, port) as mqtt:  # no retained goodbyes left behind
                for a in live.sim.fleet_model.agvs:
                    topic = m.topic_name("uagv", manufacturer, a.serial, "connection")
                    await mqtt.publish(topic, b"", qos=1, retain=True)
    audited = {e.action: e for e in security.audit.entries() if e.target == f"agv:{ZONE}/{serial}"}
    assert set(audited) == {"warehouse.agv.pause", "warehouse.agv.resume"}
    assert audited["warehouse.agv.pause"].after["actionType"] == "startPause"
    assert audited["warehouse.agv.resume"].after["actionType"] == "stopPause"


async def test_the_state_streams_as_server_sent_events(
    tmp_path: Path, demo_plant: Plant, security: Security, admin_headers: dict[str, str]
) -> None:
    """A state a second, the live warehouse's time moving on; the stream ends with the server."""
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        app = create_app(PlantData(store, demo_plant), security=security)
        server = ApiServer(app, "127.0.0.1", 0)
        await server.start()
        try:
            async with (
                httpx.AsyncClient(base_url=server.url, headers=admin_headers, timeout=60) as c,
                c.stream("GET", f"/api/warehouse/live/{ZONE}") as r,
            ):
                assert r.status_code == 200
                assert r.headers["content-type"].startswith("text/event-stream")
                events = _events(r.aiter_text())
                async with asyncio.timeout(60):
                    first = await anext(events)
                    second = await anext(events)
                assert first[0] == second[0] == "state"
                assert len(first[1]["agvs"]) == len(demo_plant.zone("central").fleet.agvs)  # type: ignore[union-attr]
                assert second[1]["time"] > first[1]["time"]  # on the clock: a second later
            missing = await httpx.AsyncClient(base_url=server.url, headers=admin_headers).get(
                "/api/warehouse/live/shenyang/logistics/nowhere"
            )
            assert missing.status_code == 404
        finally:
            async with asyncio.timeout(10):  # the open streams do not hold the server up
                await server.stop()


async def _events(chunks: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    buffer = ""
    async for chunk in chunks:
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            yield fields["event"], json.loads(fields["data"])
