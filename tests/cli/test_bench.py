"""`smartfab bench ingest` ends with one JSON object carrying the figures scripts check."""

from __future__ import annotations

import json

from tests.cli.test_main import smartfab


def test_bench_ingest_prints_its_figures_as_json_last() -> None:
    r = smartfab(
        "bench", "ingest", "--points", "50000", "--repeat", "1",
        "--opcua-seconds", "1", "--opcua-nodes", "20", "--opcua-rate", "5",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("batch_points_per_s", "raw_append_points_per_s", "batch_to_raw_ratio",
                "mixed_batch_points_per_s", "mixed_raw_append_points_per_s",
                "mixed_batch_to_raw_ratio", "opcua_points_per_s", "peak_rss_mb"):  # fmt: skip
        assert figures[key] > 0, key
    # The same number of points through both mixes: numbers only, and with texts and arrays.
    for runs in (figures["batch_runs"], figures["mixed_batch_runs"]):
        assert runs[0]["points_stored"] == 50_000 and runs[0]["points_rejected"] == 0
    assert figures["mixed_batch_runs"][0]["points_by_kind"]["array"] == 2_500
    assert figures["opcua"]["points"] > 0 and figures["opcua"]["connector_errors"] == 0
