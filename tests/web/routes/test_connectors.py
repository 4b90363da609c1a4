"""Connector status through the running ingestion: what a user limited to part of the plant sees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from smartfab.model.loader import load_plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.web.api import create_app
from tests.conftest import demo_plant_on_free_ports
from tests.web.conftest import bearer


async def test_a_user_limited_to_an_area_sees_only_the_connectors_that_feed_it(
    tmp_path: Path, security: Security
) -> None:
    # The demo plant's devices on ports where nothing listens: the connectors keep retrying.
    plant = load_plant(demo_plant_on_free_ports(tmp_path))
    with DuckDBStore(tmp_path / "store.duckdb") as store:
        ingestion = Ingestion(plant, store)
        await ingestion.start()
        try:
            app = create_app(PlantData(store, plant), ingestion, security=security)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

                async def names(scope: str) -> list[str]:
                    headers = bearer(security, "viewer", scope, name=f"viewer {scope}")
                    r = await client.get("/api/connectors", headers=headers)
                    assert r.status_code == 200
                    return sorted(c["name"] for c in r.json())

                everything = ["modbus-packaging", "modbus-press", "opcua-factory"]
                assert await names("") == everything
                assert await names("shenyang/pressing") == ["modbus-press"]
                assert await names("shenyang/packaging") == ["modbus-packaging"]
                assert await names("shenyang/machining") == ["opcua-factory"]
        finally:
            await ingestion.stop()


async def test_settings_in_force_and_the_gap_a_stopped_outage_leaves(
    tmp_path: Path, security: Security
) -> None:
    """The settings of a connector as in force (the plant file's, then a change over them), and
    its outage, recorded as a gap event when an engineer disables it while its device is away:
    what the connectors page shows. A user whose part of the plant it does not feed is told it
    does not exist."""
    plant = load_plant(demo_plant_on_free_ports(tmp_path))
    with DuckDBStore(tmp_path / "store.duckdb") as store:
        ingestion = Ingestion(plant, store)
        await ingestion.start()
        try:
            app = create_app(PlantData(store, plant), ingestion, security=security)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                engineer = bearer(security, "engineer", name="engineer")

                async def settings() -> dict[str, dict[str, object]]:
                    r = await client.get("/api/connectors", headers=engineer)
                    return {c["name"]: c["settings"] for c in r.json()}

                port = plant.connection("modbus-press").port
                assert (await settings())["modbus-press"] == {
                    "enabled": True, "host": "127.0.0.1", "port": port, "poll_ms": 1000
                }  # fmt: skip
                assert set((await settings())["opcua-factory"]) == {
                    "enabled", "endpoint", "publishing_interval_ms"
                }  # fmt: skip
                gaps = "/api/connectors/modbus-press/gaps"
                assert (await client.get(gaps, headers=engineer)).json()["rows"] == 0

                r = await client.patch("/api/connectors/modbus-press", headers=engineer,
                                       json={"enabled": False, "poll_ms": 250})  # fmt: skip
                assert r.status_code == 200 and r.json()["state"] == "disabled"
                changed = (await settings())["modbus-press"]
                assert changed["enabled"] is False and changed["poll_ms"] == 250

                # The outage that was going on is stored once the bus has delivered it.
                found: dict[str, object] = {"rows": 0}
                for _ in range(200):
                    found = (await client.get(gaps, headers=engineer)).json()
                    if found["rows"]:
                        break
                    await asyncio.sleep(0.05)
                assert found["rows"] == 1, found
                columns = found["columns"]
                assert isinstance(columns, dict)
                assert columns["equipment"] == ["connector:modbus-press"]
                assert columns["code"] == ["connection_lost"]
                assert "still lost when the connector stopped" in columns["detail"][0]

                machining = bearer(security, "viewer", "shenyang/machining", name="machining")
                assert (await client.get(gaps, headers=machining)).status_code == 404
                pressing = bearer(security, "viewer", "shenyang/pressing", name="pressing")
                assert (await client.get(gaps, headers=pressing)).json()["rows"] == 1
                r = await client.get("/api/connectors/nowhere/gaps", headers=engineer)
                assert r.status_code == 404 and "unknown connector 'nowhere'" in r.text
        finally:
            await ingestion.stop()
