"""`smartfab report`: a shift or daily production report as PDF and XLSX."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from smartfab.cli.common import ConfigOpt, DataDirOpt, PlantOpt, console, settings
from smartfab.errors import SmartfabError


def report(
    kind: Annotated[
        str, typer.Argument(help="'shift' or 'day': one shift of the plant file, or a local day.")
    ] = "shift",
    asset: Annotated[
        str | None,
        typer.Option(help="Site, area, line or equipment path [default: the whole site]."),
    ] = None,
    day: Annotated[
        str | None,
        typer.Option(help="Local date YYYY-MM-DD [default: the last shift or day that has ended]."),
    ] = None,
    shift: Annotated[
        str | None, typer.Option(help="Shift name from the plant file, e.g. 'early'.")
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: pdf, xlsx.")
    ] = "pdf,xlsx",
    out: Annotated[Path, typer.Option(help="Folder to write the report files into.")] = Path(
        "reports"
    ),
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
) -> None:
    """Write a production report (OEE, output, losses, top alarms) of a shift or a day, computed
    from the stored history, as PDF and/or XLSX files; prints their paths."""
    from smartfab.apps.monitoring.reports import (
        ReportKind,
        build_report,
        oee_text,
        report_period,
        write_report,
    )
    from smartfab.runtime.system import plant_and_store

    if kind not in ("shift", "day"):
        raise SmartfabError(f"report kind {kind!r}: choose 'shift' or 'day'")
    which: ReportKind = "shift" if kind == "shift" else "day"
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        raise SmartfabError(f"--day {day!r}: give a date as YYYY-MM-DD") from None
    s = settings(config, data_dir, plant)
    with plant_and_store(s) as (plant_model, store):
        path = asset or plant_model.site.name
        start, end, label = report_period(plant_model, path, which, on, shift)
        with console.status(f"computing the {kind} report {label} of {path} ..."):
            built = build_report(store, plant_model, path, start, end, label, which)
            files = write_report(built, out, [f.strip() for f in formats.split(",") if f.strip()])
    t = built.total
    console.print(
        f"{label} {path}: OEE {oee_text(t)}, good {t.good:,.0f}, scrap {t.scrap:,.0f}, "
        f"{built.alarms.total} alarms; {built.span}",
        highlight=False,
        soft_wrap=True,  # one line per report, whatever the terminal's width
    )
    for f in files:
        print(f)
