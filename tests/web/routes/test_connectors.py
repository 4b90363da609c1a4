"""Connector status through the running ingestion: what a user limited to part of the plant sees."""

from __future__ import annotations

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
