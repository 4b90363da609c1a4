"""`smartfab bench server` at a tiny size: publisher -> private Mosquitto -> 1 and 2 workers ->
the test PostgreSQL, and its last line is the JSON object issue 4 asks for."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from smartfab.cli.bench import app
from tests.platform.store.pg import postgres_url

pytestmark = pytest.mark.services


def test_bench_server_prints_the_figures() -> None:
    url = postgres_url()
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    result = CliRunner().invoke(app, ["server", "--url", url, "--points", "5000", "--skip-trend"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    for key in (
        "e2e_points_per_s_1_worker",
        "e2e_points_per_s_2_workers",
        "raw_copy_points_per_s",
        "raw_copy_pk_points_per_s",
        "store_append_points_per_s",
    ):
        assert figures[key] > 0, key
    best = max(figures["e2e_points_per_s_1_worker"], figures["e2e_points_per_s_2_workers"])
    ratio = best / figures["raw_copy_points_per_s"]
    assert figures["e2e_to_copy_ratio"] == pytest.approx(ratio, rel=0.01, abs=0.002)
    assert figures["trend_run"] is False and "trend" not in figures
    assert figures["points"] >= 5000 and figures["points_per_message"] >= 100
    for run in figures["runs"].values():
        assert {"publisher", "broker", "workers", "postgres_backends"} <= set(run["cpu_s"])
        assert run["peak_rss_mb"]["workers"] > 0
