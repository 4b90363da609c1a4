"""`smartfab plant`: check a plant file, show its hierarchy, list the units it may use."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from smartfab.model.loader import PlantError, PlantIssue, load_plant
from smartfab.model.plant import Plant
from smartfab.model.units import UNITS

if TYPE_CHECKING:
    from smartfab.devices.connector import Mismatch

app = typer.Typer(
    help=(
        "Plant files: the YAML that describes a site (areas > lines > cells > equipment > "
        "signals), the devices smartfab reads (connections) and where each signal comes from."
    ),
    no_args_is_help=True,
)
# No markup: file names and values may contain [ ]. No wrapping: one issue or node per line, so
# the output can be grepped and the file:line:column parts stay clickable.
console = Console(highlight=False, markup=False, soft_wrap=True)

PlantFile = Annotated[
    Path, typer.Argument(help="The plant file (YAML), e.g. smartfab/model/plants/demo.yaml.")
]


@app.command()
def check(
    file: PlantFile,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Also compare every binding with the live device: each OPC UA and Modbus "
            "connection that answers within --timeout.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds to check one device (--live).")
    ] = 10,
) -> None:
    """Check a plant file and print every problem: file:line:column, field, value and why.

    Checks the YAML, the schema, units, names, states and faults, and that every signal's source
    fits its connection (Modbus register ranges and overlaps, duplicate OPC UA nodes and MQTT
    topics). With --live, also connects to every reachable OPC UA server and Modbus device and
    reports each signal whose node is missing or holds another type, rank, array length or enum
    names, and each whose registers the device refuses; a device that does not answer is listed
    as not checked. Exits with status 1 if there is any problem; prints a summary otherwise.
    """
    plant = _load_or_exit(file)
    equipment = [ref.equipment for ref in plant.iter_equipment()]
    site = plant.site
    lines = [li for a in site.areas for li in a.lines]
    cells = [c for li in lines for c in li.cells]
    signals = [ref.signal for ref in plant.iter_signals()]
    console.print(Text.assemble((f"{file}: ", "bold"), ("OK", "bold green")))
    console.print(
        f"  {_count(len(site.areas), 'area')}, {_count(len(lines), 'line')}, "
        f"{_count(len(cells), 'cell')}, {len(equipment)} equipment, "
        f"{_count(len(signals), 'signal')}"
    )
    zones = [z for _, z in plant.iter_zones()]
    if zones:
        agvs = sum(len(z.fleet.agvs) for z in zones if z.fleet)
        console.print(
            f"  {_count(len(zones), 'storage zone')}, {_count(len(site.skus), 'SKU')}, "
            f"{len(list(plant.iter_zone_equipment()))} zone equipment, {_count(agvs, 'AGV')}"
        )
    connections = Counter(c.protocol for c in plant.connections)
    by_connection = ", ".join(f"{n} {protocol}" for protocol, n in sorted(connections.items()))
    console.print(f"  {_count(len(plant.connections), 'connection')}: {by_connection or 'none'}")
    sources = Counter(s.source.protocol for s in signals)
    by_source = ", ".join(f"{n} {protocol}" for protocol, n in sorted(sources.items()))
    console.print(f"  signals by protocol: {by_source}")
    if live:
        mismatches = 0
        for line, found in asyncio.run(_check_live(plant, timeout)):
            console.print(line)
            for m in found:
                console.print(Text.assemble(f"    {m.path}: {m.where}: ", (m.problem, "red")))
            mismatches += len(found)
        if mismatches:
            console.print(
                f"{_count(mismatches, 'mismatch')} with the live devices", style="bold red"
            )
            raise typer.Exit(1)


async def _check_live(plant: Plant, timeout_s: float) -> list[tuple[str, list[Mismatch]]]:
    """For each connection (all at once), a line saying how its live check went and the
    mismatches found."""
    from asyncua.ua.uaerrors import UaError

    from smartfab.devices.connector import Connector
    from smartfab.devices.modbus.connector import ModbusConnector
    from smartfab.devices.opcua.connector import OpcUaConnector
    from smartfab.errors import SmartfabError

    ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}

    async def one(name: str, protocol: str) -> tuple[str, list[Mismatch]]:
        connector: Connector
        if protocol == "opcua":
            connector = OpcUaConnector.from_plant(plant, name, ids, timeout_s=timeout_s)
        elif protocol == "modbus":
            connector = ModbusConnector.from_plant(plant, name, ids, timeout_s=timeout_s)
        else:
            return f"  live: {name} ({protocol}): not checked: only OPC UA and Modbus are", []
        head = f"  live: {name} {connector.status.endpoint}"
        try:
            found = await asyncio.wait_for(connector.check(), timeout_s)
        except (OSError, TimeoutError, UaError, SmartfabError) as exc:
            return f"{head}: not checked: {str(exc).strip() or type(exc).__name__}", []
        signals = connector.status.signals
        return f"{head}: {_count(signals, 'signal')}, {_count(len(found), 'mismatch')}", found

    return list(await asyncio.gather(*(one(c.name, c.protocol) for c in plant.connections)))


@app.command()
def show(
    file: PlantFile,
    signals: Annotated[
        bool, typer.Option("--signals", "-s", help="List every signal under its equipment too.")
    ] = False,
) -> None:
    """Show the plant's hierarchy as a tree, with the number of signals at every level."""
    plant = _load_or_exit(file)
    # Signals under every site/area/line/cell/equipment path, counted once.
    counts: Counter[str] = Counter()
    for ref in plant.iter_signals():
        parts = ref.path.split("/")
        counts.update("/".join(parts[:depth]) for depth in range(1, len(parts)))

    def label(path: str, title: str, detail: str = "") -> Text:
        name = path.rsplit("/", 1)[-1]
        about = (
            f"{detail}, {_count(counts[path], 'signal')}"
            if detail
            else _count(counts[path], "signal")
        )
        return Text.assemble((name, "bold"), f"  {title}" if title else "", (f"  ({about})", "dim"))

    site = plant.site
    tree = Tree(label(site.name, site.title, site.timezone))
    for area in site.areas:
        a_path = f"{site.name}/{area.name}"
        area_node = tree.add(label(a_path, area.title))
        for line in area.lines:
            l_path = f"{a_path}/{line.name}"
            line_node = area_node.add(label(l_path, line.title))
            for cell in line.cells:
                c_path = f"{l_path}/{cell.name}"
                cell_node = line_node.add(label(c_path, cell.title))
                for eq in cell.equipment:
                    sources = sorted({s.source.connection or "virtual" for s in eq.signals})
                    detail = ", ".join([eq.model, *sources] if eq.model else sources)
                    eq_node = cell_node.add(label(f"{c_path}/{eq.name}", eq.title, detail))
                    for sig in eq.signals if signals else ():
                        role = "" if sig.role == "measurement" else f", role {sig.role}"
                        about = f"  unit {sig.unit}{role}, {sig.source.protocol}"
                        eq_node.add(Text.assemble(sig.name, (about, "dim")))
    console.print(tree)


@app.command()
def units() -> None:
    """List the engineering units a plant file may use, with their UNECE codes (as OPC UA uses)."""
    table = Table("unit", "UNECE code", "symbol", "description")
    for unit in UNITS.values():
        table.add_row(unit.symbol, unit.code, unit.display, unit.description)
    console.print(table)


def _load_or_exit(file: Path) -> Plant:
    try:
        return load_plant(file)
    except PlantError as exc:
        for issue in exc.issues:
            console.print(_issue_text(issue))
        console.print(f"{_count(len(exc.issues), 'problem')} in {file}", style="bold red")
        raise typer.Exit(1) from None


def _issue_text(issue: PlantIssue) -> Text:
    text = Text.assemble((issue.location, "bold"), ": ")
    if issue.field:
        text.append(issue.field, "cyan")
        if issue.value is not None:
            text.append(" = ").append(issue.value, "magenta")
        text.append(": ")
    text.append(issue.reason, "red")
    return text.append(f" (see {issue.see})", "dim") if issue.see else text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith(('ch', 's')) else 's'}"
