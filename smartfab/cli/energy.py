"""`smartfab energy ...`: energy of an asset (by asset, line, shift and product, peak demand,
cost and CO2) and its energy baseline with EnPI and cumulative savings. See
docs/energy-quality.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, console, settings
from smartfab.cli.twin import DaysOpt, EndOpt, StartOpt, _window
from smartfab.platform.queries import to_us

app = typer.Typer(
    help="Energy management (ISO 50001/50006): energy per good part, load, cost, CO2, baseline "
    "and savings. See docs/energy-quality.md.",
    no_args_is_help=True,
)
PathArg = Annotated[str, typer.Argument(help="Equipment, cell, line, area or site path.")]


def _iso(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / 1e6, UTC).isoformat(timespec="minutes")


def _kpg(kwh: float, good: float) -> str:
    return f"{kwh / good:.4f}" if good else "-"


@app.command()
def report(
    path: PathArg,
    start: StartOpt = None,
    end: EndOpt = None,
    days: DaysOpt = 1,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Energy and energy per good part by asset, line, shift and product; peak demand; cost
    under the plant file's tariff and CO2 from its emission factor."""
    from smartfab.apps.energy.report import energy_report
    from smartfab.runtime.system import plant_and_store

    with plant_and_store(settings(config, data_dir, plant)) as (the_plant, store):
        start_us, end_us = _window(store, start, end, days)
        rep = energy_report(store, the_plant, path, start_us, end_us)
    console.print(
        f"{rep.path}, {_iso(start_us)} .. {_iso(end_us)}: {rep.kwh:,.1f} kWh, "
        f"{rep.good:,.0f} good parts, {_kpg(rep.kwh, rep.good)} kWh per good part"
    )
    for title, rows in (("asset", rep.assets), ("line", rep.lines), ("shift", rep.shifts),
                        ("product", rep.products)):  # fmt: skip
        table = Table(title=f"by {title}")
        for col in (title, "kWh", "good parts", "kWh / good part"):
            table.add_column(col)
        for r in rows:
            table.add_row(r.key, f"{r.kwh:,.1f}", f"{r.good:,.0f}", _kpg(r.kwh, r.good))
        console.print(table)
    if len(rep.load.kw):
        at, kw = rep.load.peak
        console.print(f"peak demand {kw:,.1f} kW (15 minutes from {_iso(at)})")
    if rep.cost is not None:
        c = rep.cost
        parts = ", ".join(f"{k} {v:,.2f}" for k, v in c.by_period.items())
        console.print(f"cost {c.total:,.2f} {c.currency} (energy {c.energy:,.2f}: {parts}; "
                      f"demand {c.demand:,.2f})")  # fmt: skip
    if rep.co2_kg is not None:
        console.print(f"CO2 {rep.co2_kg:,.1f} kg")


@app.command()
def baseline(
    path: PathArg,
    baseline_start: Annotated[str, typer.Option(help="Start of the baseline period, ISO 8601.")],
    baseline_end: Annotated[str, typer.Option(help="End of the baseline period, ISO 8601.")],
    start: StartOpt = None,
    end: EndOpt = None,
    days: DaysOpt = 7,
    by: Annotated[str, typer.Option(help="Periods: day or shift.")] = "day",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Fit the energy baseline on the baseline period (energy per period against good parts and
    the product mix) and report each later period's expected and actual energy, EnPI and the
    cumulative savings (CUSUM)."""
    from smartfab.apps.energy.report import baseline_report
    from smartfab.runtime.system import plant_and_store

    if by not in ("day", "shift"):
        raise typer.BadParameter("--by: day or shift")
    with plant_and_store(settings(config, data_dir, plant)) as (the_plant, store):
        start_us, end_us = _window(store, start, end, days)
        rep = baseline_report(
            store, the_plant, path, (to_us(baseline_start), to_us(baseline_end)),
            (start_us, end_us), by,  # type: ignore[arg-type]
        )  # fmt: skip
    b = rep.baseline
    terms = " + ".join(f"{c:.4g} x {v}" for v, c in zip(b.variables, b.coef, strict=True))
    console.print(f"baseline: kWh = {b.intercept:.4g}{' + ' + terms if terms else ''} "
                  f"(R2 {b.r2:.3f}, CV(RMSE) {b.cv_rmse:.1%}, {b.periods} periods; not "
                  f"relevant: {', '.join(b.dropped) or '-'})")  # fmt: skip
    table = Table(title="performance against the baseline")
    for col in ("period", "actual kWh", "expected kWh", "EnPI", "CUSUM kWh"):
        table.add_column(col)
    perf = rep.performance
    for i, label in enumerate(rep.periods.label):
        table.add_row(str(label), f"{perf.actual[i]:,.1f}", f"{perf.expected[i]:,.1f}",
                      f"{perf.enpi[i]:.3f}", f"{perf.cusum[i]:,.1f}")  # fmt: skip
    console.print(table)
