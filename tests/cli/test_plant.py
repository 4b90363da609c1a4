from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from smartfab.cli.plant import app
from smartfab.config import DEMO_PLANT
from smartfab.model.loader import check_plant, load_plant

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
    assert result.output.splitlines() == [
        f"{DEMO_PLANT}: OK",
        f"  4 areas, 4 lines, {n_cells} cells, {n_equipment} equipment, {n_signals} signals",
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
    assert cnc.endswith("(cnc, opcua-factory, 18 signals)")
    assert any(line.endswith("Press shop  (52 signals)") for line in lines)
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
