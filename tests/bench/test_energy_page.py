from __future__ import annotations

import json
from pathlib import Path

from smartfab.bench.energy_page import bench_energy_page


def test_the_energy_page_bench_fills_the_demo_plant_once_and_times_the_site_report(
    tmp_path: Path,
) -> None:
    figures = bench_energy_page(tmp_path / "s.duckdb", days=0.05, runs=3)
    json.dumps(figures)
    assert figures["points_in_store"] > 100_000 and figures["fill_seconds"] > 0
    assert figures["site_kwh_7d"] > 0
    assert 0 < figures["energy_7d_p50_ms"] <= figures["energy_7d_p95_ms"]
    again = bench_energy_page(tmp_path / "s.duckdb", days=0.05, runs=3)  # reused, not refilled
    assert again["fill_seconds"] == 0 and again["points_in_store"] == figures["points_in_store"]
    assert again["site_kwh_7d"] == figures["site_kwh_7d"]
