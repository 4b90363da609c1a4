"""The running data path: real virtual devices on loopback, real connectors, the DuckDB store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartfab.devices.virtual.runner import VirtualDevices
from smartfab.model.loader import load_plant
from smartfab.platform.store.duckdb import DuckDBStore
from smartfab.runtime import ConfigError, Ingestion
from tests.conftest import demo_plant_on_free_ports


async def _until(condition: object, timeout_s: float = 20.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_connectors_ingest_and_their_config_survives_a_restart(tmp_path: Path) -> None:
    plant = load_plant(demo_plant_on_free_ports(tmp_path))
    devices = VirtualDevices(plant, seed=3)
    await devices.start()
    stepper = asyncio.create_task(_step_forever(devices))
    try:
        with DuckDBStore(tmp_path / "s.duckdb") as store:
            ingestion = Ingestion(plant, store)
            await ingestion.start()
            try:
                by_name = {c.name: c for c in ingestion.connectors.values()}
                assert set(by_name) == {"opcua-factory", "modbus-press", "modbus-packaging"}
                await _until(lambda: all(c.status.points > 0 for c in by_name.values()))

                await ingestion.configure_connector("modbus-press", {"poll_ms": 250})
                press = ingestion.connectors["modbus-press"]
                await _until(lambda: press.status.state == "connected")
                await ingestion.configure_connector("modbus-packaging", {"enabled": False})
                assert "modbus-packaging" not in ingestion.connectors
                with pytest.raises(ConfigError, match="port"):
                    await ingestion.configure_connector("modbus-press", {"port": 70000})
                with pytest.raises(KeyError):
                    await ingestion.configure_connector("no-such", {"enabled": False})
            finally:
                await ingestion.stop()
            stats = ingestion.writer.stats
            assert stats.points_in >= sum(c.status.points for c in by_name.values()) > 0
            assert store.count_points() == stats.points_stored > 0

        # A new process on the same store: the changes made at run time are still in force.
        with DuckDBStore(tmp_path / "s.duckdb") as store:
            again = Ingestion(plant, store)
            await again.start()
            try:
                states = {s.name: s for s in again.connector_status()}
                assert states["modbus-packaging"].state == "disabled"
                press = again.connectors["modbus-press"]
                assert press.map.connection.poll_ms == 250  # type: ignore[attr-defined]
                await _until(lambda: press.status.points > 0)
            finally:
                await again.stop()
    finally:
        stepper.cancel()
        await devices.stop()


async def _step_forever(devices: VirtualDevices) -> None:
    from smartfab.platform.points import now_us

    while True:
        await devices.step(now_us())
        await asyncio.sleep(0.2)
