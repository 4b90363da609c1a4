from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from smartfab.cli.edge import app
from smartfab.devices.mqtt.connector import MqttConnector
from smartfab.model.loader import check_plant, load_plant

runner = CliRunner(env={"COLUMNS": "200"})


def test_server_plant_binds_every_signal_to_its_uns_topic(tmp_path: Path) -> None:
    out = tmp_path / "server.yaml"
    result = runner.invoke(
        app,
        ["server-plant", "-b", "broker.plant.local:1884", "-o", str(out), "--enterprise", "acme",
         "--shared-group", "ingest", "--client-id", "ingest-${WORKER}",
         "--session-expiry-s", "600"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert check_plant(out) == []
    plant = load_plant(out)
    assert {ref.signal.source.protocol for ref in plant.iter_signals()} == {"mqtt"}
    conn = plant.connection("broker")
    assert (conn.host, conn.port) == ("broker.plant.local", 1884)  # type: ignore[union-attr]
    os.environ["WORKER"] = "2"
    try:
        ids = {ref.path: i for i, ref in enumerate(plant.iter_signals())}
        connector = MqttConnector.from_plant(plant, "broker", ids)
    finally:
        del os.environ["WORKER"]
    assert connector.client_id == "ingest-2"  # each worker its own id, from one plant file
    assert connector.options.shared_group == "ingest"
    assert connector.filters == ["acme/shenyang/#"]


def test_virtual_needs_a_time_range(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "-b", "127.0.0.1", "--buffer", str(tmp_path), "--virtual"])
    assert result.exit_code != 0
    assert "--virtual needs --start and --until" in str(result.exception)
