"""`smartfab lineage`, `smartfab export` and `smartfab retention`: data governance on the machine
that holds the store (with the embedded store, while no server has it open)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smartfab.cli.common import (
    ConfigOpt,
    DataDirOpt,
    PlantOpt,
    console,
    progress_bar,
    settings,
)
from smartfab.errors import SmartfabError
from smartfab.platform.queries import PlantData
from smartfab.platform.store.base import StoreError

retention = typer.Typer(
    help="How long the points of each signal class (role) are kept; hourly rollups stay.",
    no_args_is_help=True,
)


@contextmanager
def _data(config: Path | None, data_dir: Path | None, plant: Path | None) -> Iterator[PlantData]:
    from smartfab.runtime.system import plant_and_store

    with plant_and_store(settings(config, data_dir, plant)) as (plant_model, store):
        yield PlantData(store, plant_model)


def lineage(
    under: Annotated[
        str | None, typer.Option(help="Only signals at or below this asset path.")
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Show where each stored series comes from: connection, device endpoint, node id, register
    or topic, and when it first and last delivered data."""
    from smartfab.platform.lineage import lineage as lineage_of

    with _data(config, data_dir, plant) as data:
        rows = lineage_of(data, under).to_pylist()
    table = Table("signal", "source", "endpoint", "address", "first seen", "last seen")
    for r in rows:
        seen = [
            f"{t:%Y-%m-%d %H:%M:%S}" if t else "never" for t in (r["first_seen"], r["last_seen"])
        ]
        table.add_row(r["path"], r["source"], r["endpoint"], r["address"], *seen)
    console.print(table)


def export(
    signal: Annotated[
        list[str], typer.Option("--signal", "-s", help="Signal path (repeat for several).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    start: Annotated[
        str | None, typer.Option(help="Start, ISO 8601 [default: end minus one day].")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="End, exclusive, ISO 8601 [default: now].")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="parquet or csv [default: by the file name].")
    ] = "",
    max_rows: Annotated[
        int, typer.Option(help="Refuse exports of more points than this.")
    ] = 1_000_000_000,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Write the stored points of signals in a time range to a Parquet or CSV file (columns
    path, ts, value, quality; text and array for string and array signals), with a progress
    bar."""
    from smartfab.platform.export import plan_export

    fmt = format or ("csv" if out.suffix.lower() == ".csv" else "parquet")
    with _data(config, data_dir, plant) as data:
        plan = plan_export(data, signal, start, end, fmt, max_rows)
        partial = out.with_name(out.name + ".partial")  # a failed export leaves no file
        try:
            with progress_bar() as bar, partial.open("wb") as sink:
                task = bar.add_task(f"export {plan.format}", total=plan.rows, detail=out.name)
                written = plan.write(sink, lambda n: bar.advance(task, n))
            partial.replace(out)
        except OSError as exc:
            raise SmartfabError(f"{out}: cannot write the export: {exc}") from None
        finally:
            partial.unlink(missing_ok=True)
    console.print(f"{out}: {written:,} points of {len(plan.signals)} signal(s)", highlight=False)


@retention.command("show")
def retention_show(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, plant: PlantOpt = None
) -> None:
    """Print the policy: days per class, '*' for every other class."""
    with _data(config, data_dir, plant) as data:
        policy = data.store.retention()
    if not policy:
        console.print("no retention policy: every point is kept")
    for role, days in sorted(policy.items()):
        console.print(f"{role}: {'for ever' if days is None else f'{days:g} days'}")


@retention.command("set")
def retention_set(
    classes: Annotated[
        list[str],
        typer.Argument(help="ROLE=DAYS pairs, e.g. measurement=90 '*=730' state=never."),
    ],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Set the policy (replacing the one before); applied by the running server hourly, or now
    with `smartfab retention apply`."""
    policy: dict[str, float | None] = {}
    for item in classes:
        role, sep, days = item.partition("=")
        try:
            policy[role] = None if days in ("never", "forever") else float(days)
        except ValueError:
            sep = ""
        if not sep or not role:
            raise SmartfabError(f"{item!r}: give ROLE=DAYS, e.g. measurement=90 or state=never")
    with _data(config, data_dir, plant) as data:
        try:
            data.store.set_retention(policy)
        except StoreError as exc:
            raise SmartfabError(str(exc)) from None
    console.print(f"retention set: {policy}", highlight=False)


@retention.command("apply")
def retention_apply(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, plant: PlantOpt = None
) -> None:
    """Delete the points older than their class's retention now."""
    with _data(config, data_dir, plant) as data:
        report = data.store.apply_retention()
    # A day has a partition per kind of point (numbers, texts, arrays).
    dropped = f", {len(report.partitions_dropped)} day partitions dropped (of every kind of point)"
    console.print(
        f"{report.rows_deleted:,} points deleted" + (dropped if report.partitions_dropped else "")
    )
