"""History from the virtual plant: simulated much faster than real time and stored through the
same ingestion as live data (validation, derived events, alarms judged on history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from smartfab.model.plant import Plant
from smartfab.platform.points import now_us
from smartfab.platform.store.base import Store
from smartfab.runtime.ingestion import Ingestion
from smartfab.runtime.output import Output
from smartfab.virtual.backfill import backfill
from smartfab.virtual.factory import VirtualFactory, Written

DAY_US = 86_400_000_000


def newest_us(store: Store) -> int | None:
    """Timestamp of the newest stored point, None for an empty store."""
    ts = store.latest().column("ts")
    return int(ts.cast("int64").to_numpy().max()) if len(ts) else None


async def run_backfill(
    plant: Plant,
    store: Store,
    seed: int,
    start_us: int,
    end_us: int | None,
    out: Output,
    writes: Sequence[Written] = (),
) -> int:
    """Simulate from ``start_us`` to ``end_us`` into ``store``, reporting progress to ``out``;
    with ``end_us=None``, chase the wall clock until less than a second is left to simulate.
    ``writes``: the setpoints written to the devices, which the virtual machines keep from then on.
    Returns the number of points stored."""
    ingestion = Ingestion(plant, store)
    factory = VirtualFactory(
        plant, ingestion.signal_ids, seed=seed, start_us=start_us, writes=writes
    )
    target = end_us if end_us is not None else now_us()
    await ingestion.start(connectors=False)
    days = (target - start_us) / DAY_US
    with out.progress(f"simulating {days:.3g} days", target - start_us) as advance:
        done = 0  # points of the earlier passes when chasing the clock

        def advanced(now: int, points: int) -> None:
            day = datetime.fromtimestamp(now / 1e6, UTC).strftime("%Y-%m-%d %H:%M")
            advance(now - start_us, target - start_us, f"{day} UTC  {done + points:,} points")

        try:
            while True:
                done += await backfill(factory, ingestion.bus, target, progress=advanced)
                if end_us is not None or now_us() - target < 1_000_000:
                    break
                target = now_us()
        finally:
            await ingestion.stop()
    return ingestion.writer.stats.points_stored
