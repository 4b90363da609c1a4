"""The digital twin's benchmark: simulation speed on a year of a 20-station line, and how well a
twin calibrated on the virtual factory's history reproduces that history.

The speed line is a flow line of 20 stations with cycle times of 55 to 65 s (cv 0.1), small
buffers, 1% scrap, a failure mode (MTBF 40 running hours, MTTR 1 h) and a minor stop (every 3 h,
3 min) per station, setups after lots of about 400 parts, and three shifts on weekdays with
handovers and breaks: every feature the twin simulates is in play.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from smartfab.apps.twin.model import Buffer, Dist, LineTwin, Setup, Station, Stop
from smartfab.apps.twin.sim import simulate

YEAR_S = 365 * 86_400.0


def speed_line(stations: int = 20) -> LineTwin:
    return LineTwin(
        line="bench/hall/line-20",
        stations=[
            Station(
                name=f"op{10 * (i + 1):03d}",
                ideal_cycle_s=55.0,
                cycle_s=Dist(mean=55.0 + (7 * i) % 11, cv=0.1),
                scrap=0.01,
                stops=[
                    Stop(name="failure", mtbf_h=40, duration_s=Dist(mean=3600, cv=0.5)),
                    Stop(name="minor stop", mtbf_h=3, duration_s=Dist(mean=180, cv=0.5)),
                ],
                setup=Setup(lot_parts=Dist(mean=400, cv=0.3), duration_s=Dist(mean=1800, cv=0.3)),
            )
            for i in range(stations)
        ],
        buffers=[Buffer(capacity=8, initial=4) for _ in range(stations - 1)],
    )


def bench_speed(stations: int = 20, days: float = 365, seed: int = 1) -> dict[str, Any]:
    """One run of the speed line, on this process's one core."""
    r = simulate(speed_line(stations), days * 86_400.0, seed=seed)
    return {
        "stations": stations,
        "simulated_days": days,
        "seconds": round(r.wall_s, 3),
        "events": r.events,
        "events_per_s": round(r.events / r.wall_s),
        "parts_out": r.good_out,
        "station_cycles": sum(s.produced for s in r.stations),
    }


def bench_validation(days: float, seed: int, replications: int) -> dict[str, Any]:
    """Backfill ``days`` of the demo plant's virtual factory into a temporary store, calibrate
    the twin on it and validate it over the same window."""
    from smartfab.apps.twin.calibrate import calibrate
    from smartfab.apps.twin.validate import validate_line
    from smartfab.model.loader import load_plant
    from smartfab.platform.store.duckdb import DuckDBStore
    from smartfab.runtime.backfill import run_backfill
    from smartfab.runtime.output import LogOutput

    plant = load_plant(Path(__file__).parents[1] / "model" / "plants" / "demo.yaml")
    # A fixed window (a whole number of weeks from a Monday) so that runs are comparable.
    end_us = 1_772_409_600_000_000  # 2026-03-02T00:00:00Z, a Monday
    start_us = end_us - int(days * 86_400e6)
    with (
        tempfile.TemporaryDirectory(prefix="smartfab-twin-") as tmp,
        DuckDBStore(Path(tmp) / "smartfab.duckdb") as store,
    ):
        asyncio.run(run_backfill(plant, store, seed, start_us, end_us, LogOutput()))
        params, _ = calibrate(plant, store, start_us, end_us)
        lines = [
            validate_line(line, store, start_us, end_us, replications=replications).to_dict()
            for line in params.lines
        ]
    for d in lines:
        d.pop("stations")
    return {
        "days": days,
        "lines": lines,
        "max_throughput_error": max(d["throughput_error"] for d in lines),
        "max_oee_error": max(d["oee_error"] for d in lines),
        "max_state_share_error_pp": max(d["max_state_share_error_pp"] for d in lines),
    }
