"""How fast the energy page answers on the demo's history: the energy report of the whole site
(what ``/api/energy`` and ``/api/energy/load`` compute: the 15-minute intervals of every meter,
part counter and product code, energy per good part, load, profile, cost) over 7 and 30 days.

The store is filled as ``smartfab demo`` fills it: the whole demo plant backfilled through the
real ingestion path, 6.6 days by default (about 141 million points), up to a fixed end, so that a
store is reusable.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from pathlib import Path
from typing import Any

from smartfab.apps.energy.report import EnergyReport, energy_report
from smartfab.bench.monitoring import DAY_US, Progress, _timed
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.platform.store import open_store
from smartfab.runtime.backfill import run_backfill
from smartfab.runtime.output import LogOutput

END_US = 1_796_652_000_000_000  # 2026-12-07 14:00 UTC
DEMO_DAYS = 6.6  # what `smartfab demo` backfills: back to the first shift of 5 worked days
SEED = 42


def bench_energy_page(
    path: Path | str, days: float = DEMO_DAYS, runs: int = 10, progress: Progress | None = None
) -> dict[str, Any]:
    """Fill the store at ``path`` (a DuckDB file or a PostgreSQL URL) with ``days`` of the demo
    plant unless it holds points already, then time the site's energy report over 7 and 30
    days. Returns the figures."""
    report: Progress = progress or (lambda what, done: None)
    plant = load_plant(DEMO_PLANT)
    fill_s = 0.0
    with open_store(path) as store:
        if store.count_points() == 0:
            report(f"backfilling {days:g} days of the demo plant", 0.0)
            started = time.perf_counter()
            start = END_US - int(days * DAY_US)
            asyncio.run(run_backfill(plant, store, SEED, start, END_US, LogOutput()))
            fill_s = time.perf_counter() - started
        started = time.perf_counter()
        store.maintain()  # a store filled before the counters' runs catches up here
        maintain_s = time.perf_counter() - started
        report("querying", 1.0)
        site = plant.site.name

        def last(d: int) -> EnergyReport:
            return energy_report(store, plant, site, END_US - d * DAY_US, END_US)

        figures = {f"energy_{d}d": _timed(partial(last, d), runs) for d in (7, 30)}
        week = last(7)
        points = store.count_points()
    return {
        "points_in_store": points,
        "fill_seconds": round(fill_s, 1),
        "maintain_seconds": round(maintain_s, 2),
        "energy_7d_p50_ms": figures["energy_7d"]["p50_ms"],
        "energy_7d_p95_ms": figures["energy_7d"]["p95_ms"],
        "energy_30d_p50_ms": figures["energy_30d"]["p50_ms"],
        "energy_30d_p95_ms": figures["energy_30d"]["p95_ms"],
        "site_kwh_7d": round(week.kwh, 3),
        "site_good_7d": week.good,
        "runs": runs,
        "queries": figures,
    }
