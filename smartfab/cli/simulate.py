"""`smartfab simulate`: write history from the virtual factory into the store."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from smartfab.cli.common import (
    ConfigOpt,
    DataDirOpt,
    PlantOpt,
    SeedOpt,
    console,
    plant_and_store,
    progress_bar,
    settings,
)
from smartfab.platform.points import now_us
from smartfab.platform.queries import QueryError, to_us

if TYPE_CHECKING:  # the heavy modules are imported when a command runs, so --help is instant
    from smartfab.model.plant import Plant
    from smartfab.platform.store.base import Store

DAY_US = 86_400_000_000


def newest_us(store: Store) -> int | None:
    """Timestamp of the newest stored point, None for an empty store."""
    ts = store.latest().column("ts")
    return int(ts.cast("int64").to_numpy().max()) if len(ts) else None


async def run_backfill(
    plant: Plant, store: Store, seed: int, start_us: int, end_us: int | None
) -> int:
    """Simulate from ``start_us`` to ``end_us`` into ``store`` with a progress bar; with
    ``end_us=None``, chase the wall clock until less than a second is left to simulate. Returns
    the number of points stored."""
    from smartfab.devices.virtual.backfill import backfill
    from smartfab.devices.virtual.factory import VirtualFactory
    from smartfab.runtime import Ingestion

    ingestion = Ingestion(plant, store)
    factory = VirtualFactory(plant, ingestion.signal_ids, seed=seed, start_us=start_us)
    target = end_us if end_us is not None else now_us()
    await ingestion.start(connectors=False)
    with progress_bar() as bar:
        days = (target - start_us) / DAY_US
        task = bar.add_task(f"simulating {days:.3g} days", total=target - start_us, detail="0")
        done = 0  # points of the earlier passes when chasing the clock

        def advanced(now: int, points: int) -> None:
            day = datetime.fromtimestamp(now / 1e6, UTC).strftime("%Y-%m-%d %H:%M")
            detail = f"{day} UTC  {done + points:,} points"
            bar.update(task, completed=now - start_us, detail=detail)

        try:
            while True:
                done += await backfill(factory, ingestion.bus, target, progress=advanced)
                if end_us is not None or now_us() - target < 1_000_000:
                    break
                target = now_us()
                bar.update(task, total=target - start_us)
        finally:
            await ingestion.stop()
    return ingestion.writer.stats.points_stored


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
        stored = asyncio.run(run_backfill(the_plant, store, s.seed, start_us, end_us))
        total = store.count_points()
    seconds = time.perf_counter() - t0
    console.print(
        f"stored {stored:,} points in {seconds:.1f} s ({stored / seconds:,.0f} points/s); "
        f"{s.store_name} holds {total:,} points"
    )
