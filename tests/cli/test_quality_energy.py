"""`smartfab quality ...` and `smartfab energy ...` on a store of a virtual CNC's parts."""

from __future__ import annotations

from pathlib import Path

from tests.apps.quality.plant import EQUIPMENT, filled
from tests.cli.test_main import smartfab

START = 1_767_571_200_000_000  # 2026-01-05


def test_evaluate_recommend_list_and_energy(tmp_path: Path) -> None:
    filled(tmp_path, START, days=40)
    (tmp_path / "q.duckdb").rename(tmp_path / "smartfab.duckdb")
    common = ["--data-dir", str(tmp_path), "--plant", str(tmp_path / "plant.yaml")]
    window = ["--start", "2026-01-05T00:00:00Z", "--end", "2026-02-16T00:00:00Z"]
    r = smartfab("quality", "evaluate", EQUIPMENT, *window, *common)
    assert r.returncode == 0, r.stderr
    assert "PR-AUC" in r.stdout and "chatter" in r.stdout
    r = smartfab("quality", "recommend", EQUIPMENT, *window, "--trials", "30", *common)
    assert r.returncode == 0, r.stderr
    assert "recommendation 1" in r.stdout and "feed_rate_sp" in r.stdout
    r = smartfab("quality", "list", *common)
    assert "proposed" in r.stdout
    r = smartfab("energy", "report", "s/a/l", *window, *common)
    assert r.returncode == 0, r.stderr
    assert "kWh per good part" in r.stdout and "CNY" in r.stdout and "CO2" in r.stdout
    r = smartfab("quality", "recommend", EQUIPMENT, "--start", "2026-01-05T00:00:00Z",
                 "--end", "2026-01-05T01:00:00Z", *common)  # fmt: skip
    assert r.returncode != 0 and "choose a longer period" in r.stdout + r.stderr
