"""`smartfab demo`: the whole platform on the virtual factory, with one command."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, SeedOpt, console, settings
from smartfab.cli.serve import HostOpt, PortOpt, serve_until_stopped
from smartfab.cli.simulate import DAY_US, run_backfill
from smartfab.platform.points import now_us

if TYPE_CHECKING:  # the heavy modules are imported when a command runs, so --help is instant
    from smartfab.config import Settings
    from smartfab.model.plant import Plant
    from smartfab.platform.store.base import Store


async def _demo(s: Settings, plant: Plant, store: Store, days: float, host: str, port: int) -> None:
    from smartfab.devices.virtual.runner import RunnerProcess

    now = now_us()
    latest = store.latest().column("ts")
    newest = int(latest.cast("int64").to_numpy().max()) if len(latest) else 0
    # Continue where an earlier demo stopped, at most `days` back.
    start = max(now - int(days * DAY_US), newest + 1_000_000)
    # The devices' own factory replays the same history (same seed, same start) in its process
    # while this one stores it, so the live values continue the stored history seamlessly.
    devices = RunnerProcess(s.plant, seed=s.seed, start_us=start)
    ready = asyncio.create_task(asyncio.to_thread(devices.start))
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
        await serve_until_stopped(plant, store, host, port)
    finally:
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
    from smartfab.model.loader import load_plant
    from smartfab.platform.store.duckdb import DuckDBStore

    s = settings(config, data_dir, plant, seed)
    the_plant = load_plant(s.plant)
    s.store_path.parent.mkdir(parents=True, exist_ok=True)
    with DuckDBStore(s.store_path) as store:
        asyncio.run(_demo(s, the_plant, store, days, host or s.api_host, port or s.api_port))
