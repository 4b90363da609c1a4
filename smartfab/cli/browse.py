"""`smartfab browse`: what an OPC UA server offers, to write a plant file's bindings from."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from smartfab.cli.common import console
from smartfab.errors import SmartfabError


def browse(
    endpoint: Annotated[str, typer.Argument(help="Server URL, e.g. opc.tcp://10.0.0.5:4840/")],
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for answers.")] = 10,
) -> None:
    """List every variable of an OPC UA server (below its Objects folder, without the server's
    own diagnostics): node id, browse path and what it holds: its data type, an array's length
    (Double[32]; Double[] for any length) and an enumeration's value names. Copy a node id into
    a signal's `source: {opcua: {connection: ..., node: ...}}` binding."""
    from smartfab.devices.opcua.connector import OpcUaConnector
    from smartfab.model.plant import OpcUaConnection

    if not endpoint.startswith("opc.tcp://"):
        raise typer.BadParameter("an OPC UA endpoint starts with opc.tcp://", param_hint="ENDPOINT")
    connection = OpcUaConnection(name="browse", protocol="opcua", endpoint=endpoint)
    try:
        found = asyncio.run(OpcUaConnector(connection, [], timeout_s=timeout).browse())
    except (OSError, TimeoutError) as exc:
        raise SmartfabError(f"{endpoint}: cannot browse: {exc or type(exc).__name__}") from exc
    table = Table(title=f"{len(found)} variables on {endpoint}")
    for column in ("node", "path", "type"):
        # Folded, never cut short: a node id is to be copied whole.
        table.add_column(column, overflow="fold")
    for v in found:
        table.add_row(v.node, v.path, v.data_type)
    console.print(table)
