"""`smartfab twin ...`: calibrate the discrete-event twin of each line from the stored history,
validate it against that history, and run what-if experiments on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
from smartfab.platform.queries import QueryError, to_us

app = typer.Typer(
    help="Discrete-event digital twin of each line: calibrate it from the stored history, "
    "validate it against that history, run what-if experiments. See docs/twin.md.",
    no_args_is_help=True,
)

ParamsOpt = Annotated[
    Path,
    typer.Option("--params", help="Twin parameter file (YAML) written by `twin calibrate`."),
]
StartOpt = Annotated[
    str | None, typer.Option(help="Start of the history window, ISO 8601 [default: end - days].")
]
EndOpt = Annotated[
    str | None, typer.Option(help="End of the history window, ISO 8601 [default: newest data].")
]
DaysOpt = Annotated[float, typer.Option(min=0.01, help="Length of the window when no --start.")]


def _window(store: object, start: str | None, end: str | None, days: float) -> tuple[int, int]:
    from smartfab.platform.store.base import Store
    from smartfab.runtime.backfill import newest_us

    assert isinstance(store, Store)
    try:
        if end is not None:
            end_us = to_us(end)
        else:
            newest = newest_us(store)
            if newest is None:
                raise typer.BadParameter("the store is empty: run `smartfab simulate` first")
            end_us = newest - newest % 60_000_000  # a whole minute
        start_us = to_us(start) if start else end_us - int(days * 86_400e6)
    except QueryError as exc:
        raise typer.BadParameter(str(exc)) from None
    if start_us >= end_us:
        raise typer.BadParameter("the window's start must be before its end")
    return start_us, end_us


def _iso(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / 1e6, UTC).isoformat(timespec="seconds")


@app.command()
def calibrate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the parameters.")] = Path(
        "twin.yaml"
    ),
    start: StartOpt = None,
    end: EndOpt = None,
    days: DaysOpt = 7,
    slack: Annotated[
        float, typer.Option(min=1.0, help="Buffer sizes: this times the smallest that fits.")
    ] = 1.2,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Fit every line twin to the stored history of its equipment: cycle times and their
    spread, scrap, stops (failures and minor stops per fault code, idling) with MTBF and MTTR,
    setups and lot sizes, buffers and the weekly shift calendar. Writes a YAML file to read and
    edit."""
    from smartfab.apps.twin.calibrate import calibrate as fit
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (the_plant, store):
        start_us, end_us = _window(store, start, end, days)
        n = sum(1 for _ in the_plant.iter_equipment())
        with progress_bar() as bar:
            task = bar.add_task("calibrating", total=n, detail="")
            params, notes = fit(
                the_plant, store, start_us, end_us, slack=slack, store_name=str(s.store_name),
                progress=lambda path: bar.update(task, advance=1, detail=path),
            )  # fmt: skip
    params.save(out)
    for note in notes:
        console.print(f"[yellow]note:[/yellow] {note.text}")
    table = Table(title=f"twin calibrated on {_iso(start_us)} .. {_iso(end_us)}")
    for col in ("line", "station", "cycle s (cv)", "scrap", "stops", "setup min / lot"):
        table.add_column(col)
    for li in params.lines:
        for st in li.stations:
            setup = (
                f"{st.setup.duration_s.mean / 60:.1f} / {st.setup.lot_parts.mean:.0f}"
                if st.setup else "-"
            )  # fmt: skip
            table.add_row(
                li.line.rsplit("/", 1)[-1], st.name, f"{st.cycle_s.mean:.2f} ({st.cycle_s.cv:.3f})",
                f"{st.scrap:.2%}", str(len(st.stops)), setup,
            )  # fmt: skip
    console.print(table)
    console.print(f"parameters written to {out}")


@app.command()
def validate(
    params: ParamsOpt = Path("twin.yaml"),
    start: StartOpt = None,
    end: EndOpt = None,
    days: DaysOpt = 7,
    replications: Annotated[int, typer.Option(min=1, help="Twin runs to average.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the first run.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Run the twin over the history window [default: the one it was calibrated on] and compare
    its throughput, OEE and state shares with the history; the target is within 5%."""
    from smartfab.apps.twin.model import TwinParams
    from smartfab.apps.twin.validate import validate_line
    from smartfab.runtime.system import plant_and_store

    twin = TwinParams.load(params)
    if start is None and end is None and twin.calibrated_from is not None:
        start, end = twin.calibrated_from.start, twin.calibrated_from.end
    s = settings(config, data_dir, plant)
    results = []
    with plant_and_store(s) as (_, store):
        start_us, end_us = _window(store, start, end, days)
        with progress_bar() as bar:
            task = bar.add_task("validating", total=len(twin.lines), detail="")
            for line in twin.lines:
                bar.update(task, detail=line.line)
                results.append(
                    validate_line(
                        line, store, start_us, end_us, replications=replications, seed=seed
                    )
                )
                bar.update(task, advance=1)
    if as_json:
        print(json.dumps([r.to_dict() for r in results]))
        return
    table = Table(title=f"twin vs history, {_iso(start_us)} .. {_iso(end_us)}")
    for col in ("line", "parts/h hist", "parts/h twin", "error", "OEE hist", "OEE twin",
                "error", "max state pp", "max station OEE pp"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in results:
        d = r.to_dict()
        table.add_row(
            r.line.rsplit("/", 1)[-1],
            f"{d['throughput_per_h']['history']:.1f}", f"{d['throughput_per_h']['twin']:.1f}",
            f"{r.throughput_error:.2%}", f"{r.history_oee:.1%}", f"{r.twin_oee:.1%}",
            f"{r.oee_error:.2%}", f"{r.max_share_error_pp:.2f}",
            f"{r.max_station_oee_error_pp:.2f}",
        )  # fmt: skip
    console.print(table)


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        name, sep, value = v.partition("=")
        if not sep:
            raise typer.BadParameter(f"{v!r}: expected STATION=VALUE", param_hint=option)
        out.append((name, value))
    return out


@app.command()
def whatif(
    params: ParamsOpt = Path("twin.yaml"),
    line: Annotated[str | None, typer.Option(help="Line (path or name) to experiment on.")] = None,
    cycle_time: Annotated[
        list[str],
        typer.Option(help="STATION=FACTOR: multiply the station's cycle time (0.9 = 10% faster)."),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    buffer: Annotated[
        list[str], typer.Option(help="STATION=N: add N slots to the buffer after the station.")
    ] = [],  # noqa: B006
    machine: Annotated[
        list[str], typer.Option(help="STATION=N: add N parallel machines to the station.")
    ] = [],  # noqa: B006
    shift: Annotated[
        list[str],
        typer.Option(help="Add a calendar window, e.g. 'Sat 06:00-14:00 production'."),
    ] = [],  # noqa: B006
    days: Annotated[float, typer.Option(min=0.1, help="Simulated days per replication.")] = 28,
    warmup: Annotated[float, typer.Option(min=0, help="Warm-up days not measured.")] = 2,
    replications: Annotated[int, typer.Option(min=2, help="Replications per scenario.")] = 10,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the first replication.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare the line as it is with the line changed: throughput, lead time and work in
    process with 95% confidence intervals over replications run in parallel (same seeds for
    both, so differences are sharp), and the bottleneck by the active-period method."""
    from smartfab.apps.twin.model import TwinParams
    from smartfab.apps.twin.whatif import Change, Experiment, run_experiment

    try:
        changes = [
            *(Change(kind="cycle_time", station=s, factor=float(v))
              for s, v in _pairs(cycle_time, "--cycle-time")),
            *(Change(kind="buffer", station=s, amount=int(v))
              for s, v in _pairs(buffer, "--buffer")),
            *(Change(kind="machine", station=s, amount=int(v))
              for s, v in _pairs(machine, "--machine")),
            *(Change(kind="shift", window=w) for w in shift),
        ]  # fmt: skip
        exp = Experiment(
            line=line, changes=changes, horizon_days=days, warmup_days=warmup,
            replications=replications, seed=seed, workers=workers,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    twin = TwinParams.load(params).line(line)
    with progress_bar() as bar:
        task = bar.add_task("replications", total=2 * replications, detail="")
        result = run_experiment(
            twin, exp, progress=lambda done, total: bar.update(task, completed=done)
        )
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    table = Table(title=f"what-if on {twin.line}: {len(changes)} change(s), {replications} reps")
    for col in ("KPI", "baseline (95% CI)", "scenario (95% CI)"):
        table.add_column(col)
    b, s = result.baseline, result.scenario
    for name, x, y in (
        ("throughput parts/h", b.throughput_per_h, s.throughput_per_h),
        ("lead time h", b.lead_time_h, s.lead_time_h),
        ("WIP parts", b.wip, s.wip),
    ):
        table.add_row(
            name, f"{x.mean:.2f} ± {x.half_width:.2f}", f"{y.mean:.2f} ± {y.half_width:.2f}"
        )
    table.add_row("bottleneck", str(b.bottleneck), str(s.bottleneck))
    console.print(table)
    if result.deterministic:
        console.print(
            "[yellow]note:[/yellow] the twin has no random element (fixed cycle times, no scrap, "
            "stops or setups), so every replication is the same and the intervals are zero wide; "
            "calibrate it from history (smartfab twin calibrate) to see the variation"
        )
    shares = Table(title="bottleneck shares (active-period method): sole + shifting")
    for col in ("station", "baseline", "scenario"):
        shares.add_column(col)
    for st, v in b.bottleneck_shares.items():
        w = s.bottleneck_shares.get(st, {"sole": 0.0, "shifting": 0.0})
        shares.add_row(
            st,
            f"{v['sole']:.1%} + {v['shifting']:.1%}",
            f"{w['sole']:.1%} + {w['shifting']:.1%}",
        )
    console.print(shares)
