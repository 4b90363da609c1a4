from __future__ import annotations

from pathlib import Path

from smartfab.bench.ingest import bench_batch_path


def test_bench_runs_small_and_reports_every_figure(tmp_path: Path) -> None:
    got = bench_batch_path(tmp_path, points=23_000, batch_size=2_300)
    assert set(got) == {
        "points",
        "batch_size",
        "signals",
        "batch_path_points_per_s",
        "raw_append_points_per_s",
        "ratio",
        "raw_append_large_batch_size",
        "raw_append_large_points_per_s",
        "ratio_large",
        "peak_rss_mb",
        "dataset_mb",
        "points_stored",
        "points_rejected",
        "points_flagged",
        "events_stored",
        "store_batches",
        "rollup_points_per_s",
    }
    assert got["signals"] == 230
    # the generated data is valid and complete, and derivation found events in it
    assert got["points_stored"] == 23_000
    assert got["points_rejected"] == 0 and got["points_flagged"] == 0
    assert got["events_stored"] > 0
    assert all(got[k] > 0 for k in ("batch_path_points_per_s", "raw_append_points_per_s"))
