"""Fixtures shared across the suite: a store filled by the real virtual factory."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime.ingestion import Ingestion
from smartfab.virtual.backfill import backfill
from smartfab.virtual.factory import VirtualFactory

# A fixed, past window so that every run sees the same data: Tuesday 2026-11-17, 06:00-12:00 UTC.
FILLED_START_US = 1_794_895_200_000_000
FILLED_END_US = FILLED_START_US + 6 * 3_600_000_000


BROWSER_TESTS = Path(__file__).parent / "web" / "browser"

# pytest-xdist's workers are started with COLUMNS=80 and LINES=24 in their environment; the
# command line's consoles, made when their module is imported, would keep that size for good, and
# the tests that widen them for one call (CliRunner(env={"COLUMNS": ...})) would see cut tables.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# The suite runs in two processes on two cores, so LightGBM's OpenMP threads share cores with the
# other worker's test; spinning while they wait (OpenMP's default) made its fits three to eight
# times slower (the steel protocols' test: 26 s against 3 s). Waiting threads sleep instead; the
# setting reaches the commands the tests start too. libgomp reads it when first loaded, later.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (scripts/test), the browser tests share one demo server, so they run
    on one worker, one after another (``--dist loadgroup``); the rest spread over the others."""
    for item in items:
        if BROWSER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def demo_plant() -> Plant:
    return load_plant(DEMO_PLANT)


async def fill(store: DuckDBStore, plant: Plant, start_us: int, end_us: int, seed: int = 7) -> None:
    ingestion = Ingestion(plant, store)
    await ingestion.start(connectors=False)
    try:
        factory = VirtualFactory(plant, ingestion.signal_ids, seed=seed, start_us=start_us)
        await backfill(factory, ingestion.bus, end_us)
    finally:
        await ingestion.stop()


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory: pytest.TempPathFactory, demo_plant: Plant) -> Iterator[Path]:
    """Path of a DuckDB store holding six hours of the demo plant (read it, do not write)."""
    path = tmp_path_factory.mktemp("filled") / "smartfab.duckdb"
    with DuckDBStore(path) as store:
        asyncio.run(fill(store, demo_plant, FILLED_START_US, FILLED_END_US))
    yield path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_plant_on_free_ports(folder: Path) -> Path:
    """A copy of the demo plant file whose connections point at free loopback ports, and whose
    AGV fleets have a manufacturer of their own (their VDA 5050 topics on the shared broker), so
    that a test's virtual factory never collides with a demo running on the same machine."""
    import yaml

    data = yaml.safe_load(DEMO_PLANT.read_text(encoding="utf-8"))
    opcua, modbus = free_port(), free_port()
    for conn in data["connections"]:
        if conn["protocol"] == "opcua":
            conn["endpoint"] = f"opc.tcp://127.0.0.1:{opcua}/smartfab/"
        elif conn["protocol"] == "modbus":
            conn["port"] = modbus
    own = uuid.uuid4().hex[:8]
    for area in data["site"]["areas"]:
        for zone in area.get("storage_zones") or []:
            if zone.get("fleet"):
                zone["fleet"]["manufacturer"] = f"{zone['fleet']['manufacturer']}-{own}"
    path = folder / "plant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
