from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.bench.ingest import bench_batch_path
from smartfab.platform.store.duckdb import DuckDBStore


@pytest.mark.parametrize("mixed", [False, True], ids=["numbers", "mixed"])
def test_bench_runs_small_and_reports_every_figure(tmp_path: Path, mixed: bool) -> None:
    got = bench_batch_path(tmp_path, points=24_000, batch_size=2_400, mixed=mixed)
    assert set(got) == {
        "points",
        "batch_size",
        "signals",
        "points_by_kind",
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
    # Numbers only: 230 signals; mixed: 200, of which a text and an array per machine, so that
    # 90 % of the points are numbers, 5 % texts and 5 % arrays.
    assert got["signals"] == (200 if mixed else 230)
    by_kind = got["points_by_kind"]
    assert by_kind == (
        {"number": 21_600, "text": 1_200, "array": 1_200}
        if mixed
        else {"number": 24_000, "text": 0, "array": 0}
    )
    # the generated data is valid and complete, and derivation found events in it
    assert got["points_stored"] == 24_000
    assert got["points_rejected"] == 0 and got["points_flagged"] == 0
    assert got["events_stored"] > 0
    assert all(got[k] > 0 for k in ("batch_path_points_per_s", "raw_append_points_per_s"))


def test_mixed_data_holds_texts_from_a_vocabulary_and_unique_lots(tmp_path: Path) -> None:
    """What the mixed run stores is what it meant to: product codes of a small vocabulary, lot
    ids that change every minute, and profiles of 32 elements."""
    bench_batch_path(tmp_path, points=200 * 1200, batch_size=20_000, mixed=True)  # 20 minutes
    with DuckDBStore(tmp_path / "batch-path.duckdb") as store:
        signals = {s.path: s.id for s in store.signals()}
        product = signals["bench/area/line/cell/m00/product"]
        lot = signals["bench/area/line/cell/m01/lot"]
        profile = signals["bench/area/line/cell/m00/profile"]
        start, end = 0, 2**62
        products = store.raw([product], start, end, kind="text").column("value").to_pylist()
        lots = store.raw([lot], start, end, kind="text").column("value").to_pylist()
        arrays = store.raw([profile], start, end, kind="array").column("value").to_pylist()
    assert len(products) == len(lots) == len(arrays) == 1200
    assert len(set(products)) == 2  # a product change every 10 minutes
    assert len(set(lots)) == 20  # a new lot every minute
    assert {len(a) for a in arrays} == {32}
