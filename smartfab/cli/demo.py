"""`smartfab demo`: the whole platform on the virtual factory, with one command."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlparse

import typer

from smartfab.cli.common import (
    ConfigOpt,
    DataDirOpt,
    PlantOpt,
    SeedOpt,
    console,
    plant_and_store,
    settings,
)
from smartfab.cli.serve import HostOpt, PortOpt, open_security, serve_until_stopped
from smartfab.cli.simulate import DAY_US, newest_us, run_backfill
from smartfab.errors import SmartfabError
from smartfab.model.plant import ModbusConnection, OpcUaConnection
from smartfab.platform.points import now_us

if TYPE_CHECKING:  # the heavy modules are imported when a command runs, so --help is instant
    from smartfab.config import Settings
    from smartfab.model.plant import Plant
    from smartfab.platform.security import Security
    from smartfab.platform.store.base import Store


def _check_free(host: str, port: int, what: str) -> None:
    """Fail now, not after the backfill, when a port the demo needs is taken."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SmartfabError(
                f"{what} needs {host}:{port}, which is in use ({exc.strerror}); stop what uses "
                "it, or run with a plant file (--plant) or --port that moves it"
            ) from None


async def _demo(
    s: Settings, plant: Plant, store: Store, sec: Security, days: float, host: str, port: int
) -> None:
    from smartfab.devices.virtual.runner import RunnerProcess

    _check_free(host, port, "the API")
    for conn in plant.connections:
        if isinstance(conn, OpcUaConnection):
            url = urlparse(conn.endpoint)
            _check_free(url.hostname or "127.0.0.1", url.port or 4840, f"OPC UA {conn.name}")
        elif isinstance(conn, ModbusConnection):
            _check_free(conn.host, conn.port, f"Modbus {conn.name}")
    now = now_us()
    newest = newest_us(store)
    # Continue where an earlier demo stopped, at most `days` back.
    start = max(now - int(days * DAY_US), (newest or 0) + 1_000_000)
    # The devices' own factory replays the same history (same seed, same start) in its process
    # while this one stores it, so the live values continue the stored history seamlessly.
    devices = RunnerProcess(s.plant, seed=s.seed, start_us=start)
    replay_s = 60 + 5 * (now - start) / DAY_US  # the replay costs about 1.3 s of CPU a day
    ready = asyncio.create_task(asyncio.to_thread(devices.start, replay_s))
    try:
        if start < now:
            await run_backfill(plant, store, s.seed, start, None)
        endpoints = await ready
        console.print(
            "virtual factory: OPC UA "
            + ", ".join(endpoints.get("opcua", []))
            + "; Modbus TCP "
            + ", ".join(endpoints.get("modbus", []))
        )
        console.print(f"log in at http://{host}:{port}/login.html", highlight=False)
        await serve_until_stopped(plant, store, host, port, security=sec)
    finally:
        with contextlib.suppress(Exception):  # its own error, if any, was raised above
            await ready
        devices.stop()


def demo(
    days: Annotated[
        float, typer.Option("--days", min=0, help="Days of history to backfill first.")
    ] = 2,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
    seed: SeedOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
) -> None:
    """Backfill DAYS of history from the virtual factory (progress bar), then run the virtual
    factory live behind real OPC UA and Modbus TCP servers in its own process, smartfab's
    connectors, ingestion into the embedded store, and the API. Ctrl-C stops it cleanly."""
    s = settings(config, data_dir, plant, seed)
    with plant_and_store(s) as (the_plant, store), open_security(s) as sec:
        asyncio.run(_demo(s, the_plant, store, sec, days, host or s.api_host, port or s.api_port))
