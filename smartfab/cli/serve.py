"""`smartfab serve`: connectors of the plant file, ingestion and the API in one process."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, console, plant_and_store, settings

if TYPE_CHECKING:  # the heavy modules are imported when a command runs, so --help is instant
    from smartfab.config import Settings
    from smartfab.model.plant import Plant
    from smartfab.platform.store.base import Store

PortOpt = Annotated[int | None, typer.Option("--port", help="API port [default: 8080].")]
HostOpt = Annotated[str | None, typer.Option("--host", help="API address [default: 127.0.0.1].")]


async def serve_until_stopped(
    plant: Plant, store: Store, host: str, port: int, s: Settings | None = None
) -> None:
    """Run connectors, ingestion (with alarms) and the API until SIGINT/SIGTERM, and scheduled
    reports when ``s`` asks for them; then stop the connectors and store everything they
    delivered before returning."""
    from smartfab.apps.monitoring.report_schedule import run_report_schedule
    from smartfab.platform.queries import PlantData
    from smartfab.runtime import Ingestion
    from smartfab.web.api import create_app
    from smartfab.web.server import ApiServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    notify = s.notify_settings() if s is not None else None
    schedule = s.report_schedule() if s is not None else None
    ingestion = Ingestion(plant, store, notify=notify)
    reports = (
        asyncio.create_task(run_report_schedule(store, plant, schedule, notify))
        if schedule is not None and schedule.folder is not None
        else None
    )
    api = ApiServer(create_app(PlantData(store, plant), ingestion), host, port)
    try:
        await ingestion.start()
        await api.start()
        console.print(
            f"[green]smartfab is running[/green]: API {api.url}/api  docs {api.url}/docs\n"
            f"connectors: {', '.join(s.name for s in ingestion.connector_status()) or 'none'}\n"
            "press Ctrl-C to stop (everything received is stored first)"
        )
        await stop.wait()
    finally:
        if reports is not None:
            reports.cancel()
        console.print("stopping: connectors, then flushing to the store ...")
        await ingestion.stop()
        await api.stop()
        st = ingestion.writer.stats
        rejected = sum(st.rejected.values())
        console.print(
            f"received {st.points_in:,} points this run: stored {st.points_stored:,}, "
            f"already stored {st.points_already_stored:,}, rejected {rejected:,}; "
            f"{st.events_stored:,} events stored"
        )


def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
) -> None:
    """Connect to the devices of the plant file, store their data and serve the API until
    Ctrl-C. For a first look without a plant, use `smartfab demo`."""
    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store):
        asyncio.run(
            serve_until_stopped(the_plant, store, host or s.api_host, port or s.api_port, s)
        )
