"""`smartfab warehouse ...`: the virtual warehouse of a plant's storage zone, optimised or as the
plain baseline, with its logistics KPIs and its movements as GS1 EPCIS 2.0 events."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smartfab.cli.common import PlantOpt, console

app = typer.Typer(
    help="Warehouse and logistics: simulate the virtual warehouse, its KPIs and EPCIS events. "
    "See docs/warehouse.md.",
    no_args_is_help=True,
)


@app.command()
def simulate(
    plant: PlantOpt = None,
    zone: Annotated[str | None, typer.Option(help="Storage zone [default: the first].")] = None,
    days: Annotated[float, typer.Option(min=0.01, max=365, help="Simulated days.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of demand, trucks and breakdowns.")] = 1,
    baseline: Annotated[
        bool, typer.Option(help="Random storage, one order line per load, single cycles.")
    ] = False,
    lines_per_day: Annotated[
        float | None,
        typer.Option(min=1, help="Customer order lines a day [default: the zone's demand]."),
    ] = None,
    epcis: Annotated[
        Path | None, typer.Option(help="Write every movement as an EPCIS 2.0 document here.")
    ] = None,
) -> None:
    """Simulate the warehouse and print its KPIs; the last line is one JSON object."""
    from smartfab.apps.warehouse.tracking import epcis_document, epcis_event
    from smartfab.config import DEMO_PLANT
    from smartfab.model.loader import load_plant
    from smartfab.virtual.warehouse import VirtualWarehouse

    the_plant = load_plant(plant or DEMO_PLANT)
    warehouse = VirtualWarehouse(the_plant, zone, seed=seed, optimised=not baseline)
    if lines_per_day is not None:  # the zone's demand at another volume
        warehouse.demand = replace(warehouse.demand, lines_per_day=lines_per_day)
    metrics = warehouse.run(days)
    table = Table(title=f"{warehouse.zone.name}: {days:g} days, "
                  f"{'baseline' if baseline else 'optimised'}")  # fmt: skip
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.3f}")
    console.print(table)
    if epcis is not None:
        events = [epcis_event(m, warehouse.zone.name, warehouse.start_us)
                  for m in warehouse.movements]  # fmt: skip
        epcis.write_text(json.dumps(epcis_document(events)), encoding="utf-8")
        console.print(f"{len(events)} EPCIS events written to {epcis}")
    print(json.dumps(metrics))
