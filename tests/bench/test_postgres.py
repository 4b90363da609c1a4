from __future__ import annotations

import pytest

from smartfab.bench.postgres import bench_postgres
from tests.platform.store.pg import postgres_url

pytestmark = pytest.mark.services


def test_bench_runs_small_and_reports_every_figure() -> None:
    got = bench_postgres(postgres_url(), points=23_000, batch_size=2_300, trend_days=0.5, repeat=2)
    assert {
        "store_points_per_s",
        "raw_copy_points_per_s",
        "store_to_copy_ratio",
        "raw_copy_pk_points_per_s",
        "trend_rollups_ms",
        "trend_raw_ms",
    } <= set(got)
    assert got["points"] == 23_000 and got["batch_size"] == 2_300
    # every run's points stored once: re-sending a quarter of them added nothing
    assert got["points_stored"] == 2 * 23_000
    assert got["trend_points"] == 43_200 and 0 < got["trend_buckets"] <= 1000
    assert all(got[k] > 0 for k in ("store_points_per_s", "raw_copy_points_per_s", "trend_raw_ms"))
    assert len(got["runs"]) == 2
