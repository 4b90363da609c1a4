"""How fast dashboards answer on a store with a long history: a one-year trend of a 1 Hz signal in
about 1000 buckets against the same trend over one day, the latest values of 1000 signals, and the
OEE of a line over a month.

The store is filled by the virtual factory's fast backfill through the real ingestion path: a year
of three 1 Hz measurements of one CNC (about 95 million points), and the last 35 days of the state,
fault and part-counter signals of its whole line (whose derived events OEE reads), plus 1000 more
signals with a value each for the latest-values query. A year of the whole demo plant would be
6.7 billion points; what matters for these queries is the history of the signals they read.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from smartfab.apps.monitoring.production import asset_oee
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import load_plant
from smartfab.model.plant import Plant
from smartfab.platform.points import PointBatch
from smartfab.platform.queries import PlantData
from smartfab.platform.store import open_store
from smartfab.platform.store.base import SignalInfo, Store
from smartfab.runtime.ingestion import Ingestion
from smartfab.virtual.backfill import backfill
from smartfab.virtual.factory import VirtualFactory

LINE = "shenyang/machining/cnc-line-1"
MACHINE = f"{LINE}/cell-1/cnc-01"
TREND = f"{MACHINE}/spindle_power"
YEAR_SIGNALS = ("spindle_power", "vibration", "axis_load_x")
ROLES = ("state", "fault_code", "good_count", "scrap_count")
DAY_US = 86_400_000_000
END_US = 1_794_787_200_000_000  # 2026-11-16 00:00 UTC: a fixed end, so that a store is reusable
LATEST_SIGNALS = 1000
Progress = Callable[[str, float], None]  # (what, fraction done)


def _subplant(plant: Plant, keep: Callable[[str, str], bool]) -> Plant:
    """``plant`` cut down to the line of :data:`LINE` and the signals ``keep(equipment path,
    signal name)`` accepts (equipment left without signals is dropped)."""
    data = plant.model_dump(mode="json", exclude_none=True)
    site = data["site"]
    _, area_name, line_name = LINE.split("/")
    area = next(a for a in site["areas"] if a["name"] == area_name)
    line = next(li for li in area["lines"] if li["name"] == line_name)
    for cell in line["cells"]:
        for eq in cell["equipment"]:
            path = f"{LINE}/{cell['name']}/{eq['name']}"
            eq["signals"] = [s for s in eq["signals"] if keep(path, s["name"])]
            eq.pop("alarms", None)  # rules may name signals that are cut
            for s in eq["signals"]:
                s.pop("alarms", None)
        cell["equipment"] = [eq for eq in cell["equipment"] if eq["signals"]]
    line["cells"] = [c for c in line["cells"] if c["equipment"]]
    area["lines"], site["areas"] = [line], [area]
    data["connections"] = []
    for s in (s for c in line["cells"] for e in c["equipment"] for s in e["signals"]):
        s["source"] = {"virtual": True}
    return Plant.model_validate(data)


async def _fill(store: Store, days: float, progress: Progress) -> None:
    plant = load_plant(DEMO_PLANT)
    year = _subplant(plant, lambda eq, name: eq == MACHINE and name in YEAR_SIGNALS)
    month = _subplant(plant, lambda eq, name: name in ROLES)
    both = _subplant(
        plant, lambda eq, name: name in ROLES or (eq == MACHINE and name in YEAR_SIGNALS)
    )
    ingestion = Ingestion(both, store)
    await ingestion.start(connectors=False)
    try:
        for part, sub, span in ((0, year, days * DAY_US), (1, month, 35 * DAY_US)):
            start = END_US - int(span)
            factory = VirtualFactory(sub, ingestion.signal_ids, seed=11 + part, start_us=start)
            label = f"backfill {span / DAY_US:.0f} days of {len(list(sub.iter_signals()))} signals"

            def advanced(now: int, _points: int, label: str = label, start: int = start) -> None:
                progress(label, (now - start) / (END_US - start))

            await backfill(factory, ingestion.bus, END_US, chunk_us=6 * 3_600_000_000,
                           progress=advanced)  # fmt: skip
        progress("storing and rolling up", 1.0)
    finally:
        await ingestion.stop()
    infos = [
        SignalInfo(path, path.rpartition("/")[0], path.rpartition("/")[2], "1", "float")
        for path in _latest_paths()
    ]
    ids = store.register_signals(infos)
    sid = np.array([ids[i.path] for i in infos], np.int32)
    store.append_points(PointBatch.of(np.full(len(sid), END_US - 1), sid, np.arange(len(sid)), 0))


def _seconds(span_us: int) -> tuple[float, float]:
    """The ``span_us`` before the end, in the epoch seconds that PlantData takes."""
    return (END_US - span_us) / 1e6, END_US / 1e6


def _latest_paths() -> list[str]:
    return [f"bench/area/line/cell/m{i // 10:03d}/s{i % 10}" for i in range(LATEST_SIGNALS)]


def _timed(fn: Callable[[], object], runs: int) -> dict[str, float]:
    """Milliseconds of the first (cold) call and p50/p95 of ``runs`` more."""
    t = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "cold_ms": round(cold, 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
    }


def bench_monitoring(
    path: Path | str, days: float = 365, runs: int = 40, progress: Progress | None = None
) -> dict[str, Any]:
    """Fill the store at ``path`` (a DuckDB file, or a PostgreSQL URL: the same fill and queries
    on the server store) unless it holds the history already, then time the queries. Returns the
    figures."""
    report: Progress = progress or (lambda what, done: None)
    fill_s = 0.0
    with open_store(path) as store:
        if store.count_points() == 0:
            started = time.perf_counter()
            asyncio.run(_fill(store, days, report))
            fill_s = time.perf_counter() - started
        started = time.perf_counter()
        store.maintain()  # nothing left to do after a fill; a reused store may need it
        maintain_s = time.perf_counter() - started
        points = store.count_points()
        plant = load_plant(DEMO_PLANT)
        data = PlantData(store, plant)
        latest = _latest_paths()
        report("querying", 1.0)
        figures = {
            "trend_1y": _timed(lambda: data.history(TREND, *_seconds(365 * DAY_US)), runs),
            "trend_1d": _timed(lambda: data.history(TREND, *_seconds(DAY_US)), runs),
            "latest_1000": _timed(lambda: data.latest(latest), runs),
            "oee_month": _timed(
                lambda: asset_oee(store, plant, LINE, END_US - 30 * DAY_US, END_US), runs
            ),
        }
        buckets = data.history(TREND, *_seconds(365 * DAY_US)).num_rows
        # What the "one-year" trend really spans: a store filled with fewer --days holds less.
        first = store.earliest([data.signal(TREND).id]).column("ts").cast(pa.int64())
        trend_days = (END_US - first[0].as_py()) / DAY_US if len(first) else 0.0
        oee = float(asset_oee(store, plant, LINE, END_US - 30 * DAY_US, END_US).figures.oee[0])
    return {
        "points_in_store": points,
        "store_mb": round(path.stat().st_size / 2**20, 1) if isinstance(path, Path) else None,
        "fill_seconds": round(fill_s, 1),
        "maintain_seconds": round(maintain_s, 2),
        "trend_1y_p95_ms": figures["trend_1y"]["p95_ms"],
        "trend_1d_p95_ms": figures["trend_1d"]["p95_ms"],
        "trend_1y_to_1d": round(figures["trend_1y"]["p95_ms"] / figures["trend_1d"]["p95_ms"], 1),
        "latest_1000_p95_ms": figures["latest_1000"]["p95_ms"],
        "oee_month_p95_ms": figures["oee_month"]["p95_ms"],
        "trend_1y_buckets": buckets,
        "trend_history_days": round(trend_days, 2),
        "oee_month": round(oee, 4),
        "runs": runs,
        "queries": figures,
    }
