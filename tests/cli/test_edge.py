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
    assert (conn.host, conn.port) == ("broker.plant.local", 1884)
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


KINDS_PLANT = """\
site:
  name: s
  areas:
  - name: a
    lines:
    - name: l
      cells:
      - name: c
        equipment:
        - name: e
          signals:
          - {name: temp, unit: degC, source: {opcua: {connection: ua, node: "ns=2;s=temp"}}}
          - {name: recipe, unit: "1", type: string, length: 20,
             source: {opcua: {connection: ua, node: "ns=2;s=recipe"}}}
          - {name: mode, unit: "1", type: enum, values: {0: "off", 1: run},
             source: {opcua: {connection: ua, node: "ns=2;s=mode"}}}
          - {name: profile, unit: mm, type: array, length: 8,
             source: {opcua: {connection: ua, node: "ns=2;s=profile"}}}
connections:
- {name: ua, protocol: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
"""


def test_server_plant_keeps_the_types_of_string_enum_and_array_signals(tmp_path: Path) -> None:
    edge_plant = tmp_path / "edge.yaml"
    edge_plant.write_text(KINDS_PLANT, encoding="utf-8")
    out = tmp_path / "server.yaml"
    result = runner.invoke(app, ["server-plant", "-b", "broker", "-o", str(out),
                                 "--plant", str(edge_plant)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert check_plant(out) == []
    served = {ref.signal.name: ref.signal for ref in load_plant(out).iter_signals()}
    edge = {ref.signal.name: ref.signal for ref in load_plant(edge_plant).iter_signals()}
    for name, signal in served.items():
        assert signal.source.protocol == "mqtt"
        assert (signal.type, signal.values, signal.length) == (
            edge[name].type, edge[name].values, edge[name].length
        )  # fmt: skip
    ids = {ref.path: i for i, ref in enumerate(load_plant(out).iter_signals())}
    by_kind = MqttConnector.from_plant(load_plant(out), "broker", ids).signal_ids
    assert by_kind.text.tolist() == [ids["s/a/l/c/e/recipe"]]
    assert by_kind.array.tolist() == [ids["s/a/l/c/e/profile"]]
