from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from smartfab.apps.warehouse.tracking import check_epcis
from smartfab.cli.main import _register, app

_register()


def test_warehouse_simulate_prints_kpis_and_writes_epcis(tmp_path: Path) -> None:
    out = tmp_path / "events.json"
    result = CliRunner().invoke(
        app, ["warehouse", "simulate", "--days", "0.1", "--seed", "4", "--epcis", str(out)]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output.strip().splitlines()[-1])
    assert {"otif", "travel_m_per_line", "crane_utilisation", "agv_utilisation"} <= set(metrics)
    doc = json.loads(out.read_text(encoding="utf-8"))
    check_epcis(doc)
    assert doc["epcisBody"]["eventList"]


def test_an_unknown_zone_is_a_clear_error() -> None:
    result = CliRunner().invoke(app, ["warehouse", "simulate", "--zone", "nowhere"])
    # the error travels to main(), which prints it as one line
    assert result.exit_code != 0 and "no storage zone 'nowhere'" in str(result.exception)


def test_the_demand_volume_can_be_scaled() -> None:
    def lines(per_day: str) -> float:
        result = CliRunner().invoke(
            app, ["warehouse", "simulate", "--days", "0.2", "--lines-per-day", per_day]
        )
        assert result.exit_code == 0, result.output
        return float(json.loads(result.output.strip().splitlines()[-1])["order_lines"])

    assert lines("4000") > 4 * lines("400") > 0
