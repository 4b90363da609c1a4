from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartfab.cli.plant import app
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import check_plant, load_plant
from smartfab.virtual.runner import RunnerProcess
from tests.conftest import free_port

# A wide terminal, so that rich does not wrap the tree and table these tests read.
runner = CliRunner(env={"COLUMNS": "200"})

BAD_PLANT = """\
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
          - {name: t, unit: degF, source: {modbus: {connection: mb, register: 9}}}
          - {name: t, unit: kW, source: {opcua: {connection: mb, node: "ns=2;s=x"}}}
connections:
- {name: mb, protocol: modbus, host: 127.0.0.1, holding_registers: 5}
"""


def test_check_demo_prints_a_summary() -> None:
    result = runner.invoke(app, ["check", str(DEMO_PLANT)])
    assert result.exit_code == 0, result.output
    plant = load_plant(DEMO_PLANT)
    n_cells = len({ref.path.rsplit("/", 1)[0] for ref in plant.iter_equipment()})
    n_equipment = len(list(plant.iter_equipment()))
    n_signals = len(list(plant.iter_signals()))
    n_opcua = sum(ref.signal.source.protocol == "opcua" for ref in plant.iter_signals())
    n_skus = len(plant.site.skus)
    n_zone_equipment = len(list(plant.iter_zone_equipment()))
    fleet = plant.zone("central").fleet
    assert fleet is not None
    n_agvs = len(fleet.agvs)
    assert result.output.splitlines() == [
        f"{DEMO_PLANT}: OK",
        f"  5 areas, 4 lines, {n_cells} cells, {n_equipment} equipment, {n_signals} signals",
        f"  1 storage zone, {n_skus} SKUs, {n_zone_equipment} zone equipment, {n_agvs} AGVs",
        "  3 connections: 2 modbus, 1 opcua",
        f"  signals by protocol: {n_signals - n_opcua} modbus, {n_opcua} opcua",
    ]


def test_check_reports_every_problem_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_PLANT, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    issues = check_plant(path)
    assert len(issues) == 4
    assert result.output.splitlines() == [*map(str, issues), f"4 problems in {path}"]
    assert f"{path}:12:29: " in result.output  # the unknown unit, at its value
    assert "unknown unit; did you mean 'degC'?" in result.output
    assert "past the end of 'mb' (holding_registers: 5)" in result.output
    assert "duplicate signal name, already used on line 12" in result.output
    assert "connection 'mb' is modbus, not opcua" in result.output


def test_check_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}: cannot read plant file: No such file or directory",
        f"1 problem in {path}",
    ]


def test_show_demo_tree_with_signal_counts() -> None:
    result = runner.invoke(app, ["show", str(DEMO_PLANT)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    plant = load_plant(DEMO_PLANT)
    n_signals = len(list(plant.iter_signals()))
    assert lines[0].startswith(
        f"shenyang  Shenyang works (Tiexi district)  (Asia/Shanghai, {n_signals} signals)"
    )
    cnc = next(line for line in lines if "cnc-01" in line)
    assert cnc.endswith("(cnc, opcua-factory, 29 signals)")
    assert any(line.endswith("Press shop  (64 signals)") for line in lines)
    assert "spindle_speed" not in result.output


def test_show_signals_lists_them(tmp_path: Path) -> None:
    result = runner.invoke(app, ["show", "--signals", str(DEMO_PLANT)])
    assert result.exit_code == 0, result.output
    assert "spindle_speed  unit rpm, opcua" in result.output
    assert "state  unit 1, role state, modbus" in result.output


def test_show_invalid_plant_prints_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_PLANT, encoding="utf-8")
    result = runner.invoke(app, ["show", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"4 problems in {path}"


def test_units_lists_the_catalogue() -> None:
    result = runner.invoke(app, ["units"])
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if "degree Celsius" in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["degC", "CEL", "°C", "degree Celsius"]


def test_help_explains_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Plant files" in result.output
    for command in ("check", "show", "units"):
        assert command in result.output
    check_help = runner.invoke(app, ["check", "--help"]).output
    assert "every problem" in check_help


def test_check_reports_schema_and_semantic_problems_in_one_run(tmp_path: Path) -> None:
    """Schema errors (an unknown field, a bad port) do not hide the unit, register, name and
    reference problems of the rest of the file until they are fixed: one run shows them all."""
    path = tmp_path / "bad.yaml"
    text = BAD_PLANT.replace("register: 9}", "register: 9, role: state}")
    path.write_text(text + "- {name: mb2, protocol: modbus, host: h, port: x}\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert [line.split(": ", 1)[0] for line in lines[:-1]] == [
        f"{path}:12:29",  # unit
        f"{path}:12:79",  # register past the end
        f"{path}:12:82",  # unknown field (schema)
        f"{path}:13:20",  # duplicate name
        f"{path}:13:62",  # connection of another protocol
        f"{path}:16:48",  # port not a number (schema)
    ], result.output
    assert "source.modbus.role = 'state': unknown field" in lines[2]
    assert "connections[1].port = 'x': input should be a valid integer" in lines[5]
    assert lines[-1] == f"6 problems in {path}"


# --- plant check --live, against the virtual factory's real OPC UA and Modbus servers ----------

SERVED = """\
site:
  name: s
  areas:
  - name: a
    lines:
    - name: l
      cells:
      - name: c
        equipment:
        - name: cnc-1
          model: cnc
          signals:
          - {name: state, unit: "1", type: int, sim: state,
             source: {opcua: {connection: ua, node: "ns=2;s=cnc-1.state"}}}
          - {name: temp, unit: degC, sim: spindle_temp,
             source: {opcua: {connection: ua, node: "ns=2;s=cnc-1.temp"}}}
          - {name: mode, unit: "1", type: enum, sim: mode,
             values: {0: "off", 1: automatic, 2: setup, 3: maintenance},
             source: {opcua: {connection: ua, node: "ns=2;s=cnc-1.mode"}}}
          - {name: product, unit: "1", type: string, sim: product_code,
             source: {opcua: {connection: ua, node: "ns=2;s=cnc-1.product"}}}
          - {name: spectrum, unit: mm/s, type: array, length: 8, sim: spectrum,
             source: {opcua: {connection: ua, node: "ns=2;s=cnc-1.spectrum"}}}
          - {name: good, unit: count, type: int, sim: good_count,
             source: {modbus: {connection: plc, register: 2, type: uint32}}}
          - {name: lot, unit: "1", type: string, length: 16, sim: material_lot,
             source: {modbus: {connection: plc, register: 10}}}
connections:
- {name: ua, protocol: opcua, endpoint: "opc.tcp://127.0.0.1:OPCUA/"}
- {name: plc, protocol: modbus, host: 127.0.0.1, port: MODBUS, holding_registers: 20}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The virtual factory serving SERVED; yields the plant file's text with its ports."""
    text = SERVED.replace("OPCUA", str(free_port())).replace("MODBUS", str(free_port()))
    path = tmp_path_factory.mktemp("live") / "served.yaml"
    path.write_text(text, encoding="utf-8")
    with RunnerProcess(path, tick_ms=1000):
        yield text


def check_live(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", "--live", "--timeout", "5", str(path)])
    return result.exit_code, result.output.splitlines()


def test_live_check_of_the_plant_the_devices_serve_finds_nothing(
    served: str, tmp_path: Path
) -> None:
    code, lines = check_live(tmp_path, served)
    assert code == 0, lines
    assert [line for line in lines if "live:" in line] == [
        f"  live: ua {served.split('endpoint: ')[1].split(chr(34))[1]}: 5 signals, 0 mismatches",
        f"  live: plc modbus://127.0.0.1:{served.split('port: ')[1].split(',')[0]}/1: "
        "2 signals, 0 mismatches",
    ]


def test_live_check_reports_each_mismatch_with_both_types(served: str, tmp_path: Path) -> None:
    wrong = (
        served.replace("{name: temp, unit: degC,", "{name: temp, unit: degC, type: string,")
        .replace("length: 8, sim: spectrum", "length: 16, sim: spectrum")
        .replace("1: automatic, 2: setup", "1: auto, 2: setup")
        .replace('ns=2;s=cnc-1.state"', 'ns=2;s=cnc-1.gone"')
        .replace("register: 10}", "register: 14}")  # registers 14-21 of a device that has 20
        .replace("holding_registers: 20", "holding_registers: 30")
    )
    unreachable = free_port()
    wrong += (
        f"- {{name: far, protocol: modbus, host: 127.0.0.1, port: {unreachable}}}\n"
        "- {name: broker, protocol: mqtt, host: 127.0.0.1}\n"
    )
    code, lines = check_live(tmp_path, wrong)
    assert code == 1, lines
    text = "\n".join(lines)
    for expected in [
        "s/a/l/c/cnc-1/state: node ns=2;s=cnc-1.gone: no such node",
        "s/a/l/c/cnc-1/temp: node ns=2;s=cnc-1.temp: the signal is string, the node holds Double,"
        " not a String or LocalizedText",
        "s/a/l/c/cnc-1/spectrum: node ns=2;s=cnc-1.spectrum: the signal is array of 16, the node"
        " holds 8 elements (Double[8])",
        "s/a/l/c/cnc-1/mode: node ns=2;s=cnc-1.mode: the enum's values differ from the server's:"
        " 1: auto here, automatic on the server",
        "s/a/l/c/cnc-1/lot: unit 1 holding registers 14-21: the device refuses them: exception"
        " response 2 (illegal_address)",
        "5 signals, 4 mismatches",
        "2 signals, 1 mismatch",
        f"live: far modbus://127.0.0.1:{unreachable}/1: not checked: cannot connect",
        "live: broker (mqtt): not checked: only OPC UA and Modbus are",
    ]:
        assert expected in text, text
    assert lines[-1] == "5 mismatches with the live devices"
