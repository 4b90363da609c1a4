"""`smartfab edge`: the store-and-forward agent next to the machines, and the plant file its
ingestion servers need."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from smartfab.cli.common import PlantOpt, console
from smartfab.errors import SmartfabError

app = typer.Typer(no_args_is_help=True, help="Edge agent: devices -> disk buffer -> MQTT broker.")

BrokerOpt = Annotated[
    str, typer.Option("--broker", "-b", help="The broker, HOST or HOST:PORT (default port 1883).")
]
EnterpriseOpt = Annotated[
    str | None,
    typer.Option("--enterprise", help="First level of the UNS topics (default: smartfab)."),
]


def _broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    try:
        return host, int(port)
    except ValueError:
        raise SmartfabError(f"--broker {text!r}: give HOST or HOST:PORT") from None


def _epoch_us(text: str, what: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SmartfabError(f"{what} {text!r}: not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise SmartfabError(f"{what} {text!r}: give the time zone, e.g. 2026-11-20T08:00:00Z")
    return int(moment.timestamp() * 1_000_000)


@app.command("run")
def run(
    broker: BrokerOpt,
    buffer: Annotated[
        Path, typer.Option("--buffer", help="Folder of the durable buffer (kept across restarts).")
    ] = Path("smartfab-edge"),
    plant: PlantOpt = None,
    max_buffer_mb: Annotated[
        float, typer.Option(help="Bound of the buffer; when full the oldest points are dropped.")
    ] = 1024.0,
    enterprise: EnterpriseOpt = None,
    client_id: Annotated[
        str | None, typer.Option(help="MQTT client id (default: smartfab-edge-HOSTNAME).")
    ] = None,
    virtual: Annotated[
        bool, typer.Option(help="Read the virtual factory instead of the plant's devices.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Virtual factory seed.")] = 42,
    start: Annotated[str | None, typer.Option(help="Virtual: first time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Virtual: last time (ISO 8601).")] = None,
    speed: Annotated[float, typer.Option(help="Virtual: simulated seconds per second.")] = 1.0,
    exit_when_done: Annotated[
        bool, typer.Option(help="Exit once the sources ended and the buffer is empty.")
    ] = False,
    drain_s: Annotated[
        float, typer.Option(help="On stop, forward the backlog this long before leaving it.")
    ] = 10.0,
) -> None:
    """Read the local devices of the plant file (OPC UA, Modbus) and publish their points to the
    broker as UNS JSON (QoS 1), buffering on disk while the broker is unreachable."""
    from smartfab.config import DEMO_PLANT
    from smartfab.devices.connector import Connector
    from smartfab.devices.edge.agent import EdgeAgent, EdgeOptions, cursor_key, edge_signal_ids
    from smartfab.devices.edge.buffer import DiskBuffer
    from smartfab.model.loader import load_plant
    from smartfab.virtual.source import VIRTUAL, VirtualSource

    the_plant = load_plant(plant or DEMO_PLANT)
    host, port = _broker(broker)
    options = EdgeOptions(host=host, port=port, drain_s=drain_s)
    if enterprise:
        options.enterprise = enterprise
    if client_id:
        options.client_id = client_id
    ids = edge_signal_ids(the_plant)
    disk = DiskBuffer(buffer, int(max_buffer_mb * (1 << 20)))
    sources: list[Connector]
    if virtual:
        if start is None or until is None:
            raise SmartfabError("--virtual needs --start and --until")
        # A restart continues after the last batch that reached the disk.
        resume = disk.get(cursor_key(VIRTUAL))
        src = VirtualSource(
            the_plant, ids, seed=seed, start_us=_epoch_us(start, "--start"),
            until_us=_epoch_us(until, "--until"), speed=speed,
            resume_us=int(resume) if resume else None,
        )  # fmt: skip
        sources = [src]
    else:
        sources = EdgeAgent.local_sources(the_plant, ids)
        if not sources:
            raise SmartfabError("the plant file declares no OPC UA or Modbus connection")
    agent = EdgeAgent(the_plant, disk, options, sources, ids)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, agent.stop)
        await agent.run(exit_when_done=exit_when_done)

    console.print(
        f"edge: {len(sources)} source(s) -> {buffer} ({disk.stats.points:,} points buffered) "
        f"-> mqtt://{host}:{port}"
    )
    try:
        asyncio.run(main())
    finally:
        disk.close()
    st = agent.stats
    console.print(
        f"edge: read {st.points_in:,} points, forwarded {st.points_forwarded:,} in "
        f"{st.messages:,} messages; {disk.stats.points:,} buffered, "
        f"{disk.stats.dropped_points:,} dropped (buffer full) so far"
    )


@app.command("server-plant")
def server_plant_cmd(
    broker: BrokerOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="The plant file to write.")],
    plant: PlantOpt = None,
    enterprise: EnterpriseOpt = None,
    shared_group: Annotated[
        str | None, typer.Option(help="MQTT 5 shared subscription group of the workers.")
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="Fixed client id; ${VAR} is read from each worker's environment."),
    ] = None,
    session_expiry_s: Annotated[
        int, typer.Option(help="Keep a worker's session and queue this long (needs client id).")
    ] = 0,
) -> None:
    """Write the plant file of the ingestion servers: the edge plant's signals bound to the UNS
    topics the agent publishes them on."""
    import yaml

    from smartfab.config import DEMO_PLANT
    from smartfab.devices.edge.agent import server_plant
    from smartfab.devices.mqtt.topics import DEFAULT_ENTERPRISE
    from smartfab.model.loader import load_plant

    host, port = _broker(broker)
    data = server_plant(
        load_plant(plant or DEMO_PLANT), host=host, port=port,
        enterprise=enterprise or DEFAULT_ENTERPRISE, shared_group=shared_group,
        client_id=client_id, session_expiry_s=session_expiry_s,
    )  # fmt: skip
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    console.print(f"wrote {out}")
