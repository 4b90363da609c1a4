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
    append of the same tables in the same run, for numbers only and for a mix with texts and
    arrays (90 % numbers, 5 % texts, 5 % arrays of 32); and points/s through live OPC UA
    subscriptions with the virtual factory's server in its own process."""
    from smartfab.bench.ingest import bench_batch_path
    from smartfab.bench.opcua import bench_opcua_live

    runs: dict[str, list[dict[str, Any]]] = {"numbers": [], "mixed": []}
    for i in range(repeat):
        # One mix after the other in each round, so that a busy spell of the machine weighs on
        # both alike.
        for mix, runs_of_mix in runs.items():
            with (
                tempfile.TemporaryDirectory(prefix="smartfab-bench-") as tmp,
                console.status(
                    f"run {i + 1}/{repeat}, {mix}: bus -> writer -> DuckDB, then raw appends"
                ),
            ):
                runs_of_mix.append(bench_batch_path(tmp, points, batch_size, mixed=mix == "mixed"))
    with console.status(f"live OPC UA: {opcua_nodes} nodes at {opcua_rate:g} Hz ..."):
        opcua = bench_opcua_live(seconds=opcua_seconds, nodes=opcua_nodes, rate_hz=opcua_rate)
    figures: dict[str, Any] = {}
    for mix, prefix in (("numbers", ""), ("mixed", "mixed_")):
        batch_rate = statistics.median(r["batch_path_points_per_s"] for r in runs[mix])
        # The raw limit is DuckDB's best way of appending the same points: the same batches, or
        # batches of the writer's size (row-group sized appends skip DuckDB's WAL and are
        # faster).
        raw = statistics.median(
            max(r["raw_append_points_per_s"], r["raw_append_large_points_per_s"]) for r in runs[mix]
        )
        figures |= {
            f"{prefix}batch_points_per_s": round(batch_rate),
            f"{prefix}raw_append_points_per_s": round(raw),
            f"{prefix}batch_to_raw_ratio": round(batch_rate / raw, 3),
        }
    figures |= {
        "opcua_points_per_s": round(opcua["points_per_s"]),
        "peak_rss_mb": max(r["peak_rss_mb"] for rs in runs.values() for r in rs),
        "batch_runs": runs["numbers"],
        "mixed_batch_runs": runs["mixed"],
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


@app.command()
def twin(
    days: Annotated[float, typer.Option(min=1, help="Simulated days of the speed run.")] = 365,
    stations: Annotated[int, typer.Option(min=2, help="Stations of the speed line.")] = 20,
    validate_days: Annotated[
        float, typer.Option(min=0, help="Days of virtual-factory history to validate on (0: skip).")
    ] = 7,
    replications: Annotated[int, typer.Option(min=1, help="Twin runs per line in validation.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the virtual factory and the twin.")] = 1,
) -> None:
    """Digital twin: seconds to simulate a year of a 20-station line with failures, minor stops,
    setups, scrap and shifts on one core, and events/s; then the error of a twin calibrated on
    the virtual factory's history against that history (throughput, OEE, state shares)."""
    from smartfab.bench.twin import bench_speed, bench_validation

    with console.status(f"simulating {days:g} days of a {stations}-station line ..."):
        figures: dict[str, Any] = {"speed": bench_speed(stations, days, seed)}
    # The target is per simulated year; a shorter run is scaled, and says so by its days.
    figures["seconds_per_simulated_year"] = round(figures["speed"]["seconds"] * 365 / days, 3)
    figures["events_per_s"] = figures["speed"]["events_per_s"]
    if validate_days > 0:
        figures["validation"] = bench_validation(validate_days, seed, replications)
        for key in ("max_throughput_error", "max_oee_error", "max_state_share_error_pp"):
            figures[key] = figures["validation"][key]
    _report("smartfab bench twin", figures)


@app.command()
def postgres(
    url: Annotated[
        str, typer.Option(help="PostgreSQL to measure (a schema of its own is made and dropped).")
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    points: Annotated[int, typer.Option(min=10_000, help="Points per run.")] = 2_000_000,
    batch_size: Annotated[int, typer.Option(min=100, help="Points per append.")] = 20_000,
    signals: Annotated[int, typer.Option(min=1, help="Signals sampled at 1 Hz.")] = 230,
    trend_days: Annotated[
        float, typer.Option(min=0.1, help="Days of 1 Hz history of the trend signal.")
    ] = 14,
    repeat: Annotated[
        int, typer.Option(min=1, help="Runs of store and raw COPY; medians count.")
    ] = 3,
) -> None:
    """PostgreSQL store: points/s through PostgresStore.append against raw binary COPY of the same
    rows in the same run, and the time of a long trend from rollups against raw points."""
    from smartfab.bench.postgres import bench_postgres

    with console.status(f"{repeat} runs of {points:,} points: store, then raw COPY ..."):
        figures = bench_postgres(url, points, batch_size, signals, trend_days, repeat)
    _report("smartfab bench postgres", figures)


@app.command()
def maintenance(
    cmapss_dir: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Folder of C-MAPSS files named as NASA names them (train_FD001.txt, ...).",
        ),
    ] = None,
    subsets: Annotated[str, typer.Option(help="Comma-separated C-MAPSS subsets.")] = "FD001,FD003",
    ai4i: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="The AI4I 2020 CSV file.")
    ] = None,
    folds: Annotated[int, typer.Option(min=2, help="AI4I cross-validation folds.")] = 5,
    factory_days: Annotated[
        float, typer.Option(min=0, help="Days of virtual factory to judge warnings on (0: skip).")
    ] = 90,
) -> None:
    """Predictive maintenance on public data: RUL RMSE and NASA score per C-MAPSS subset (train
    on train, last cycle of each test unit, targets capped at 125), AI4I 2020 F1 and PR-AUC of
    the failure class by stratified cross-validation, precision, recall and lead time of
    24-hour failure warnings on the virtual factory's recorded failures, and the training
    seconds. Without --cmapss-dir and --ai4i, the data sets in ../shared/data beside the
    project root."""
    from smartfab.apps.maintenance.training import DEFAULT_AI4I, DEFAULT_CMAPSS, parse_subsets
    from smartfab.bench.maintenance import bench_maintenance

    if cmapss_dir is None and ai4i is None:
        cmapss_dir, ai4i = DEFAULT_CMAPSS, DEFAULT_AI4I
    with console.status("predictive maintenance ...") as status:
        figures = bench_maintenance(
            cmapss_dir, parse_subsets(subsets), ai4i, folds=folds,
            progress=lambda what: status.update(what), factory_days=factory_days,
        )  # fmt: skip
    table = Table(title="predictive maintenance", show_header=False)
    for subset, f in figures.get("cmapss", {}).items():
        table.add_row(f"C-MAPSS {subset}", f"RMSE {f['rmse']:.2f}  NASA score {f['score']:.1f}")
    if "ai4i" in figures:
        f = figures["ai4i"]
        table.add_row("AI4I 2020", f"F1 {f['f1']:.3f}  PR-AUC {f['pr_auc']:.3f}")
    if "virtual_factory" in figures:
        f = figures["virtual_factory"]
        table.add_row("virtual factory", f"precision {f['precision']:.3f}  recall "
                      f"{f['recall']:.3f}  lead time {f['lead_time_h']:.1f} h")  # fmt: skip
    console.print(table)
    _report("smartfab bench maintenance", figures)


@app.command()
def mqtt(
    messages: Annotated[int, typer.Option(min=100, help="Messages per measurement.")] = 20_000,
    records: Annotated[
        int, typer.Option(min=1, help="Sample times per message (each with 10 points).")
    ] = 5,
) -> None:
    """MQTT ingestion: points/s from a publisher through a private Mosquitto into MqttConnector
    workers (UNS JSON with 1 and 2 workers sharing a subscription, Sparkplug B with 1), against
    the messages/s a bare aiomqtt subscriber receives in the same run."""
    from smartfab.bench.mqtt import bench_mqtt

    with console.status(f"MQTT: {messages} messages per measurement ..."):
        figures = bench_mqtt(messages=messages, records=records)
    _report("smartfab bench mqtt", figures)


@app.command()
def edge(
    url: Annotated[
        str, typer.Option(help="PostgreSQL the workers store into (a schema of its own, dropped).")
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    minutes: Annotated[
        float, typer.Option(min=1, help="Minutes of the demo plant (~12,800 points each).")
    ] = 30,
) -> None:
    """End to end: points/s from an edge agent through a private Mosquitto and 1 or 2 ingestion
    workers (`smartfab serve`, shared subscription) into PostgreSQL."""
    from smartfab.bench.edge import bench_edge

    with console.status(f"edge -> broker -> workers -> PostgreSQL: {minutes} minutes of data ..."):
        figures = bench_edge(url, minutes=minutes)
    _report("smartfab bench edge", figures)


@app.command()
def server(
    url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL the workers store into (schemas and a database of its own, dropped)."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    points: Annotated[int, typer.Option(min=1_000, help="Points per end-to-end run.")] = 3_000_000,
    window_s: Annotated[
        int, typer.Option(min=1, help="Seconds of an equipment's data per message.")
    ] = 30,
    skip_trend: Annotated[
        bool, typer.Option("--skip-trend", help="Leave out the trend queries on PostgreSQL.")
    ] = False,
    trend_days: Annotated[
        float,
        typer.Option(min=1, help="Days of history for the trend queries (365: ~155M points)."),
    ] = 365,
) -> None:
    """Server ingestion end to end: points/s from an MQTT publisher through a private Mosquitto
    and 1 or 2 workers (`smartfab serve`) into PostgreSQL, against raw binary COPY of the same
    rows in the same run; CPU and memory per process; the monitoring trend queries on PostgreSQL."""
    from smartfab.bench.server import bench_server

    with console.status(f"publisher -> broker -> workers -> PostgreSQL: {points:,} points ..."):
        figures = bench_server(url, points, window_s, trend_days=None if skip_trend else trend_days)
    _report("smartfab bench server", figures)


@app.command()
def monitoring(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the filled store here and reuse it [default: a temporary one]."),
    ] = None,
    days: Annotated[float, typer.Option(min=2, help="Days of history of the trend signal.")] = 365,
    runs: Annotated[int, typer.Option(min=5, help="Timed runs of each query.")] = 40,
) -> None:
    """Dashboard queries on a long history: a one-year trend of a 1 Hz signal (about 1000
    buckets) against one day of it, the latest values of 1000 signals, and a line's OEE over a
    month, on a store the virtual factory fills with over 100 million points (a few minutes; with
    --data-dir the store is kept and later runs only query)."""
    from smartfab.bench.monitoring import bench_monitoring

    with tempfile.TemporaryDirectory(prefix="smartfab-bench-") as tmp:
        folder = data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with progress_bar() as bar:
            task = bar.add_task("filling the store", total=1.0, detail="")

            def progress(what: str, done: float) -> None:
                bar.update(task, description=what, completed=done)

            figures = bench_monitoring(folder / "bench-monitoring.duckdb", days, runs, progress)
    _report("smartfab bench monitoring", figures)


@app.command("energy-page")
def energy_page(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the filled store here and reuse it [default: a temporary one]."),
    ] = None,
    days: Annotated[
        float, typer.Option(min=0.01, help="Days of the demo plant's history to fill.")
    ] = 6.6,
    runs: Annotated[int, typer.Option(min=3, help="Timed runs of each query.")] = 10,
) -> None:
    """The energy page's report of the whole demo site over 7 and 30 days, on a store filled as
    `smartfab demo` fills it (6.6 days, about 141 million points, a few minutes; with --data-dir
    the store is kept and later runs only query)."""
    from smartfab.bench.energy_page import bench_energy_page

    with tempfile.TemporaryDirectory(prefix="smartfab-bench-") as tmp:
        folder = data_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with console.status("filling the store (a few minutes) and querying ..."):
            figures = bench_energy_page(folder / "smartfab.duckdb", days, runs)
    _report("smartfab bench energy-page", figures)


def _counts(text: str, option: str) -> list[int]:
    """Positive whole numbers separated by commas."""
    try:
        counts = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise typer.BadParameter(
            f"expected positive whole numbers separated by commas, got {text!r}",
            param_hint=option,
        )
    return counts


@app.command()
def warehouse(
    maps: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="Folder of MovingAI .map files.")
    ],
    scen: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="Folder of MovingAI .scen files."),
    ] = None,
    time_limit: Annotated[float, typer.Option(min=0.1, help="Seconds per MAPF instance.")] = 60,
    agents: Annotated[
        str, typer.Option(help="Comma-separated agent counts of the random instances.")
    ] = "100,250,500,750,1000",
    seeds: Annotated[int, typer.Option(min=0, help="Random instances per map and count.")] = 5,
    lifelong_steps: Annotated[
        int, typer.Option(min=0, help="Steps of each lifelong run (0: skip).")
    ] = 1000,
    lifelong_agents: Annotated[
        str, typer.Option(help="Comma-separated fleet sizes of the lifelong runs.")
    ] = "100,300,500",
    refine: Annotated[
        float,
        typer.Option(min=0, help="Seconds to improve each MAPF solution's cost, within the limit."),
    ] = 5,
    virtual_days: Annotated[
        float, typer.Option(min=0, help="Simulated days of the virtual warehouse (0: skip).")
    ] = 30,
) -> None:
    """Warehouse planning: MAPF on the MovingAI warehouse maps (random instances of 100 to 1,000
    agents with fixed seeds, and every scenario file whole), lifelong task throughput with 100,
    300 and 500 AGVs, slotting, batching, routing and crane sequencing against their plain
    baselines, and the virtual warehouse optimised against its baseline."""
    from smartfab.bench.warehouse import bench_lifelong, bench_mapf, bench_storage, bench_virtual

    counts = _counts(agents, "--agents")
    fleets = _counts(lifelong_agents, "--lifelong-agents")
    with progress_bar() as bar:
        task = bar.add_task("MAPF", total=None, detail="")

        def solved(row: dict[str, Any]) -> None:
            if "lifelong" in row:
                detail = f"lifelong, {row['agents']} AGVs: {row['throughput']} tasks/1000 steps"
            elif row["solved"]:
                detail = (f"{row['map']}, {row['agents']} agents: {row['seconds']:.2f} s, "
                          f"cost x{row['cost_ratio']:.3f}")  # fmt: skip
            else:
                detail = f"{row['map']}, {row['agents']} agents: unsolved"
            bar.update(task, advance=1, detail=detail)

        figures = bench_mapf(
            maps, scen, time_limit, counts, range(1, seeds + 1), solved, refine=refine
        )
        if lifelong_steps:
            bar.update(task, description="lifelong")
            figures |= bench_lifelong(maps, fleets, steps=lifelong_steps, progress=solved)
    with console.status("slotting, batching, routing, crane sequencing ..."):
        figures |= bench_storage()
    if virtual_days:
        with console.status(f"virtual warehouse: {virtual_days:g} days, optimised and baseline"):
            figures |= bench_virtual(virtual_days)
    figures["mapf.runs"] = figures.pop("mapf.runs")  # the long list last
    _report("smartfab bench warehouse", figures)


@app.command()
def energy(
    steel_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="Folder of the steel industry data (Steel_industry_data.csv); default: "
            "../shared/data/steel_industry beside the project root, skipped when absent.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the virtual process's hidden truth.")] = 0,
    rounds: Annotated[int, typer.Option(min=1, help="Recommendations in the closed loop.")] = 6,
) -> None:
    """Energy and quality: steel energy RMSE/MAE/R2 (time split with and without the co-measured
    columns, random split with all) and Load_Type accuracy; on the virtual process, defect
    prediction PR-AUC and F1 per defect type against the historical rate, and the closed-loop
    optimiser's realised share of the truly achievable saving and its constraint violations."""
    from smartfab.apps.maintenance.training import DEFAULT_DATA
    from smartfab.bench.energy import bench_energy

    if steel_dir is None and (DEFAULT_DATA / "steel_industry").is_dir():
        steel_dir = DEFAULT_DATA / "steel_industry"
    with console.status("energy and quality ...") as status:
        figures = bench_energy(steel_dir, seed, lambda s: status.update(s), rounds=rounds)
    _report("smartfab bench energy", figures)
