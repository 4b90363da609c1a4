"""`smartfab demo`: the whole platform on the virtual factory, with one command."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


# The line page shows OEE per shift over 3 days, and SPC, the twin's calibration and the
# maintenance models learn from the same history: 3 days of production, not of calendar.
WORKED_DAYS = 3


def history_start(plant: Plant, newest: int | None, end_us: int, days: float | None) -> int:
    """Where the demo's backfill up to ``end_us`` starts: ``days`` before it, by default at the
    first shift of the last WORKED_DAYS days the virtual plant worked (a weekend holds no
    production); after the ``newest`` stored point, when an earlier demo stored history."""
    from smartfab.devices.virtual.calendar import worked_days_start

    if days is None:
        try:
            zone = ZoneInfo(plant.site.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SmartfabError(
                f"site {plant.site.name}: unknown timezone {plant.site.timezone!r}"
            ) from None
        wanted = worked_days_start(zone, end_us, WORKED_DAYS)
    else:
        wanted = end_us - int(days * DAY_US)
    return max(wanted, (newest or 0) + 1_000_000)


async def _demo(
    s: Settings,
    plant: Plant,
    store: Store,
    sec: Security,
    days: float | None,
    host: str,
    port: int,
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
    start = history_start(plant, newest_us(store), now, days)
    # The devices' own factory replays the same history (same seed, same start) in its process
    # while this one stores it, so the live values continue the stored history seamlessly.
    devices = RunnerProcess(s.plant, seed=s.seed, start_us=start)
    # The replay costs about 1.3 s of CPU a day, but it shares the CPU with the backfill (and on
    # a busy machine with more): 4 days took over 80 s. The limit is only for a child that hangs;
    # one that fails exits, and is reported at once.
    replay_s = 300 + 30 * (now - start) / DAY_US
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
        # With the settings, as `serve` runs: models kept in <data-dir>/models, and the periodic
        # assessment, whose first round trains them in the background once the API serves.
        await serve_until_stopped(plant, store, host, port, s, security=sec)
    finally:
        with contextlib.suppress(Exception):  # its own error, if any, was raised above
            await ready
        devices.stop()


def demo(
    days: Annotated[
        float | None,
        typer.Option(
            "--days",
            min=0,
            help="Days of history to backfill first [default: back to the first shift of the "
            f"last {WORKED_DAYS} days the plant worked, a weekend not counted].",
        ),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
    seed: SeedOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
) -> None:
    """Backfill history from the virtual factory (progress bar), then run the virtual
    factory live behind real OPC UA and Modbus TCP servers in its own process, smartfab's
    connectors, ingestion into the embedded store, and the API. Ctrl-C stops it cleanly."""
    s = settings(config, data_dir, plant, seed)
    with plant_and_store(s, writes=True) as (the_plant, store), open_security(s) as sec:
        asyncio.run(_demo(s, the_plant, store, sec, days, host or s.api_host, port or s.api_port))
