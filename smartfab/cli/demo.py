"""`smartfab demo`: the whole platform on the virtual factory, with one command."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from smartfab.cli.common import ConfigOpt, ConsoleOutput, DataDirOpt, PlantOpt, SeedOpt, settings
from smartfab.cli.serve import HostOpt, PortOpt

# Days of production, not of calendar: the line page shows OEE per shift over 3 days, and the
# maintenance page needs a day of running rows per machine for a health figure and two failures
# of a kind for its RUL model (3 worked days left 9 of 17 machines unknown on a first start).
WORKED_DAYS = 5


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
    from smartfab.runtime.demo import editable_plant, run_demo
    from smartfab.runtime.system import open_security, plant_and_store

    out = ConsoleOutput()
    s = editable_plant(settings(config, data_dir, plant, seed), out)
    with plant_and_store(s, writes=True) as (the_plant, store), open_security(s, out) as sec:
        host, port = host or s.api_host, port or s.api_port
        asyncio.run(run_demo(s, the_plant, store, sec, days, WORKED_DAYS, host, port, out))
