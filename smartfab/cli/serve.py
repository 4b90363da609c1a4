"""`smartfab serve`: connectors of the plant file, ingestion and the API in one process."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from smartfab.cli.common import ConfigOpt, ConsoleOutput, DataDirOpt, PlantOpt, settings

PortOpt = Annotated[int | None, typer.Option("--port", help="API port [default: 8080].")]
HostOpt = Annotated[str | None, typer.Option("--host", help="API address [default: 127.0.0.1].")]


def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
) -> None:
    """Connect to the devices of the plant file, store their data and serve the API until
    Ctrl-C. For a first look without a plant, use `smartfab demo`."""
    from smartfab.runtime.serve import serve_until_stopped
    from smartfab.runtime.system import open_security, plant_and_store

    s, out = settings(config, data_dir, plant), ConsoleOutput()
    with plant_and_store(s) as (the_plant, store), open_security(s, out) as sec:
        asyncio.run(
            serve_until_stopped(
                the_plant, store, host or s.api_host, port or s.api_port, s, security=sec, out=out
            )
        )
