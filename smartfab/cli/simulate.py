"""`smartfab simulate`: write history from the virtual factory into the store."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from smartfab.cli.common import (
    ConfigOpt,
    ConsoleOutput,
    DataDirOpt,
    PlantOpt,
    SeedOpt,
    console,
    settings,
)
from smartfab.platform.queries import QueryError, to_us


def simulate(
    days: Annotated[
        float, typer.Option("--days", min=0.001, help="How many days of history to write.")
    ] = 30,
    end: Annotated[
        str | None,
        typer.Option(help="End of the history, ISO 8601 (UTC if no zone) [default: now]."),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    plant: PlantOpt = None,
    seed: SeedOpt = None,
) -> None:
    """Run the virtual factory DAYS into the past, much faster than real time, and store its
    points and events (states, counts, faults, failure ground truth). History continues the
    store: what it holds already (up to its newest point) is not simulated again."""
    from smartfab.runtime.backfill import DAY_US, newest_us, run_backfill
    from smartfab.runtime.system import plant_and_store

    s = settings(config, data_dir, plant, seed)
    try:
        end_us = to_us(end) if end else to_us(datetime.now(UTC))
    except QueryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--end") from None
    t0 = time.perf_counter()
    with plant_and_store(s, writes=True) as (the_plant, store):
        start_us = end_us - int(days * DAY_US)
        newest = newest_us(store)
        if newest is not None and newest >= start_us:
            # Events are derived from the signals' changes, so history must follow on from what
            # is stored; simulating before it would leave points without their state events.
            held = datetime.fromtimestamp(newest / 1e6, UTC).isoformat(timespec="seconds")
            if newest + 1_000_000 >= end_us:
                console.print(f"{s.store_name} holds history up to {held} already: nothing to do")
                return
            console.print(f"{s.store_name} holds history up to {held}: continuing from there")
            start_us = newest + 1_000_000
        stored = asyncio.run(
            run_backfill(the_plant, store, s.seed, start_us, end_us, ConsoleOutput())
        )
        total = store.count_points()
    seconds = time.perf_counter() - t0
    console.print(
        f"stored {stored:,} points in {seconds:.1f} s ({stored / seconds:,.0f} points/s); "
        f"{s.store_name} holds {total:,} points"
    )
