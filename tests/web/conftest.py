"""Authentication for the web tests: every route needs a login or an API token, so the route
tests call the API as a real client would, with a token of a real security database; and the API
served over real HTTP for the tests that send it many requests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from smartfab.model.plant import Plant
from smartfab.platform.queries import PlantData
from smartfab.platform.security import Security
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.web.api import create_app
from smartfab.web.auth import ApiLimits
from smartfab.web.server import ApiServer


@pytest.fixture(scope="session")
def security(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Security]:
    with Security(tmp_path_factory.mktemp("security") / "security.sqlite") as sec:
        yield sec


def bearer(
    sec: Security, role: str = "admin", scope: str = "", name: str = "test"
) -> dict[str, str]:
    """Headers of a new API token with that grant."""
    _, secret = sec.tokens.create("test", name, role, scope, expires_days=1)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="session")
def admin_headers(security: Security) -> dict[str, str]:
    return bearer(security)


@dataclass
class Served:
    url: str
    store: DuckDBStore
    security: Security
    ingestion: Ingestion
    app: FastAPI


@asynccontextmanager
async def served_api(folder: Path, filled_store: Path, plant: Plant) -> AsyncIterator[Served]:
    """The API over a copy of the filled store, with ingestion (the alarm engine; no connectors),
    served over real HTTP on a free loopback port: what the permission, scope and generated
    request tests send their requests to. Rate limits are out of their way."""
    shutil.copy(filled_store, folder / "s.duckdb")
    with DuckDBStore(folder / "s.duckdb") as store, Security(folder / "sec.sqlite") as sec:
        ingestion = Ingestion(plant, store)
        await ingestion.start(connectors=False)
        limits = ApiLimits(requests_per_s=1e6, request_burst=1e6, login_burst=1e6)
        app = create_app(PlantData(store, plant), ingestion, security=sec, limits=limits)
        api = ApiServer(app, "127.0.0.1", 0)
        await api.start()
        try:
            yield Served(api.url, store, sec, ingestion, app)
        finally:
            await api.stop()
            await ingestion.stop()
