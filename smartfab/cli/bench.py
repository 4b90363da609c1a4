"""`smartfab bench ...`: benchmarks that print their figures; the last line is one JSON object."""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from smartfab.cli.common import console, progress_bar

app = typer.Typer(
    help="Benchmarks. Each prints a table for people, then its figures as one JSON object on the "
    "last line for scripts.",
    no_args_is_help=True,
)


def _report(title: str, figures: dict[str, Any]) -> None:
    """A table of the top-level figures for people, then every figure as JSON on the last line."""
    table = Table(title=title, show_header=False)
    for key, value in figures.items():
        if isinstance(value, dict | list):
            continue
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else f"{value}")
    console.print(table)
    print(json.dumps(figures), flush=True)


@app.command()
def ingest(
    points: Annotated[
        int, typer.Option(min=10_000, help="Points through the batch path.")
    ] = 5_000_000,
    batch_size: Annotated[int, typer.Option(min=100, help="Points per published batch.")] = 20_000,
    opcua_seconds: Annotated[
        float, typer.Option(min=1, help="How long to measure live OPC UA.")
    ] = 10,
    opcua_nodes: Annotated[int, typer.Option(min=1, help="OPC UA nodes subscribed.")] = 1500,
    opcua_rate: Annotated[
        float, typer.Option(min=0.1, help="Changes per node per second offered by the server.")
    ] = 10,
    repeat: Annotated[
        int, typer.Option(min=1, help="Runs of the batch path and raw appends; medians count.")
    ] = 3,
) -> None:
    """Ingestion speed: points/s through bus, writer and DuckDB store against DuckDB's raw Arrow
    append of the same table in the same run; and points/s through live OPC UA subscriptions with
    the virtual factory's server in its own process."""
    from smartfab.bench.ingest import bench_batch_path
    from smartfab.bench.opcua import bench_opcua_live

    runs = []
    for i in range(repeat):
        with (
            tempfile.TemporaryDirectory(prefix="smartfab-bench-") as tmp,
            console.status(f"run {i + 1}/{repeat}: bus -> writer -> DuckDB, then raw appends"),
        ):
            runs.append(bench_batch_path(tmp, points=points, batch_size=batch_size))
    with console.status(f"live OPC UA: {opcua_nodes} nodes at {opcua_rate:g} Hz ..."):
        opcua = bench_opcua_live(seconds=opcua_seconds, nodes=opcua_nodes, rate_hz=opcua_rate)
    batch_rate = statistics.median(r["batch_path_points_per_s"] for r in runs)
    # The raw limit is DuckDB's best way of appending the same points: the same batches, or
    # batches of the writer's size (row-group sized appends skip DuckDB's WAL and are faster).
    raw = statistics.median(
        max(r["raw_append_points_per_s"], r["raw_append_large_points_per_s"]) for r in runs
    )
    figures = {
        "batch_points_per_s": round(batch_rate),
        "raw_append_points_per_s": round(raw),
        "batch_to_raw_ratio": round(batch_rate / raw, 3),
        "opcua_points_per_s": round(opcua["points_per_s"]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "batch_runs": runs,
        "opcua": opcua,
    }
    _report("smartfab bench ingest", figures)


@app.command()
def scheduling(
    instances: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="Folder of instance files.")
    ],
    bounds: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="CSV with columns name, best_known_upper_bound."
        ),
    ],
    time_limit: Annotated[float, typer.Option(min=0.1, help="Seconds per instance.")] = 60,
    workers: Annotated[int, typer.Option(min=0, help="CP-SAT workers (0: one per core).")] = 0,
    flexible: Annotated[
        bool, typer.Option(help="Brandimarte (flexible job shop) files instead of OR-Library.")
    ] = False,
    names: Annotated[
        str | None, typer.Option(help="Comma-separated instance names (default: all).")
    ] = None,
) -> None:
    """Job-shop scheduling quality: solve every instance of a folder for its makespan with
    CP-SAT and report the gap to the best known upper bound of the bounds CSV (and to a published
    peer run where the CSV has one)."""
    from smartfab.bench.scheduling import bench_scheduling

    files = names.split(",") if names else None
    with progress_bar() as bar:
        task = bar.add_task("scheduling", total=None, detail="")

        def solved(figures: dict[str, Any]) -> None:
            gap = figures.get("gap")
            bar.update(task, advance=1, detail=f"{figures['name']}: {figures['makespan']}"
                       + (f" (gap {gap:.2%})" if gap is not None else ""))  # fmt: skip

        result = bench_scheduling(
            instances, bounds, time_limit, workers, flexible=flexible, names=files,
            progress=solved,
        )  # fmt: skip
    _report("smartfab bench scheduling", result)
