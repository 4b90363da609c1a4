from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from smartfab.config import DEMO_PLANT
from smartfab.model.loader import PlantError, PlantIssue, check_plant, format_path, load_plant
from smartfab.model.plant import ModbusConnection, Plant

EQ = "site.areas[0].lines[0].cells[0].equipment[0]"

STATE_SIGNAL = """\
- name: state
  unit: "1"
  type: int
  role: state
  source: {modbus: {connection: mb, register: 0}}
"""
TEMP_SIGNAL = """\
- name: temp
  unit: degC
  source: {opcua: {connection: ua, node: "ns=2;s=e.temp"}}
"""
SIGNALS = STATE_SIGNAL + TEMP_SIGNAL

CONNECTIONS = """\
- {name: mb, protocol: modbus, host: 127.0.0.1, holding_registers: 10}
- {name: ua, protocol: opcua, endpoint: "opc.tcp://127.0.0.1:4840"}
- {name: mq, protocol: mqtt, host: 127.0.0.1}
"""


def plant_yaml(
    signals: str = SIGNALS,
    equipment: str = "",
    connections: str = CONNECTIONS,
    more_equipment: str = "",
    cells: str = "",
) -> str:
    """A small valid plant: ``signals`` and extra ``equipment`` fields of its first equipment,
    then ``more_equipment`` in its cell, ``cells`` after that cell, and ``connections``. Each
    argument is YAML written without indent."""
    text = textwrap.dedent(
        """\
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
                  ideal_cycle_s: 30
                  faults: {101: jam}
        """
    )
    text += textwrap.indent(equipment, " " * 10)
    text += "          signals:\n" + textwrap.indent(signals, " " * 10)
    text += textwrap.indent(more_equipment, " " * 8)
    text += textwrap.indent(cells, " " * 6)
    return text + "connections:\n" + connections


def write(tmp_path: Path, text: str, name: str = "plant.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based number of the line holding the ``nth`` occurrence of ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth - 1]


def only_issue(path: Path) -> PlantIssue:
    issues = check_plant(path)
    assert len(issues) == 1, "\n".join(map(str, issues))
    return issues[0]


# --- the demo plant ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO_PLANT)


def test_demo_plant_has_no_issues() -> None:
    assert check_plant(DEMO_PLANT) == []


def test_demo_plant_size_and_line_types(demo: Plant) -> None:
    equipment = [ref.equipment for ref in demo.iter_equipment()]
    assert 15 <= len(equipment) <= 25
    assert 150 <= len(list(demo.iter_signals())) <= 350
    per_model = Counter(e.model for e in equipment)
    assert 5 <= per_model["cnc"] <= 6
    assert 4 <= per_model["assembly"] <= 5
    assert 2 <= per_model["press"] <= 3
    assert 3 <= per_model["packaging"] <= 4
    assert sum(per_model.values()) == len(equipment)


def test_every_demo_machine_has_a_mode_texts_and_a_spectrum(demo: Plant) -> None:
    for eq in demo.iter_equipment():
        types = {s.name: (s.type, s.length) for s in eq.equipment.signals}
        assert types["mode"] == ("enum", None), eq.path
        assert types["product_code"] == types["material_lot"] == ("string", 16), eq.path
        kind, bands = types["vibration_spectrum"]
        assert kind == "array" and bands is not None and 16 <= bands <= 32, eq.path


def test_demo_plant_connections(demo: Plant) -> None:
    protocols = {c.name: c.protocol for c in demo.connections}
    assert protocols == {
        "opcua-factory": "opcua",
        "modbus-press": "modbus",
        "modbus-packaging": "modbus",
    }
    units = {c.name: c.unit for c in demo.connections if isinstance(c, ModbusConnection)}
    assert units == {"modbus-press": 1, "modbus-packaging": 2}
    expected = {
        "cnc": "opcua-factory",
        "assembly": "opcua-factory",
        "press": "modbus-press",
        "packaging": "modbus-packaging",
    }
    for ref in demo.iter_signals():
        assert ref.signal.source.connection == expected[str(ref.owner.equipment.model)], ref.path


# The contract with the simulator: the virtual quantities every model serves, with their units.
COMMON_QUANTITIES = {
    "state": ("1", "state", "int"),
    "fault_code": ("1", "fault", "int"),
    "good_count": ("count", "good_count", "int"),
    "scrap_count": ("count", "scrap_count", "int"),
    "energy": ("kWh", "energy", "float"),
    "power": ("kW", "measurement", "float"),
    "cycle_time": ("s", "measurement", "float"),
}
MODEL_QUANTITIES = {
    "cnc": {
        "spindle_speed": "rpm",
        "spindle_power": "kW",
        "spindle_temp": "degC",
        "vibration": "mm/s",
        "coolant_temp": "degC",
        "feed_rate": "mm/min",
        "axis_load_x": "%",
        "axis_load_y": "%",
        "axis_load_z": "%",
        "coolant_pressure": "bar",
        "feed_override": "%",  # a setpoint
    },
    "press": {
        "running": "1",  # discrete inputs and a coil (sim: timeline bits)
        "faulted": "1",
        "auto_mode": "1",
        "ram_force": "kN",
        "stroke_rate": "1/min",
        "hydraulic_pressure": "bar",
        "oil_temp": "degC",
        "vibration": "mm/s",
        "motor_current": "A",
        "die_temp": "degC",
        "pressure_setpoint": "bar",  # a setpoint
    },
    "assembly": {
        "torque": "Nm",
        "robot_joint_temp": "degC",
        "air_pressure": "bar",
        "motor_current": "A",
        "vibration": "mm/s",
        "press_fit_force": "kN",
    },
    "packaging": {
        "conveyor_speed": "m/min",
        "motor_current": "A",
        "motor_temp": "degC",
        "vibration": "mm/s",
        "air_pressure": "bar",
        "seal_temp": "degC",
        "film_tension": "N",
    },
}


IDEAL_CYCLE_S = {"cnc": (40, 90), "press": (3, 4), "assembly": (25, 35), "packaging": (2, 6)}
FAULT_CODES = {
    "cnc": {101, 102, 201, 202},
    "press": {111, 112, 211, 212},
    "assembly": {121, 122, 221, 222},
    "packaging": {131, 132, 231, 232},
}


# Every machine's values that are not a measured number, and the quantity that feeds each.
OTHER_KINDS = {
    "mode": "mode", "product_code": "product_code", "material_lot": "material_lot",
    "vibration_spectrum": "spectrum",
}  # fmt: skip
# The process machines' own (docs/energy-quality.md#in-the-demo): the CNC's parameters with their
# units, sampled every 10 s, and what comes with each part.
PROCESS_UNITS = {"spindle_speed_sp": "rpm", "feed_rate_sp": "mm/min", "coolant_flow_sp": "l/min",
                 "inspection": "1", "roughness_ra": "um", "tool_count": "count",
                 "hall_temp": "degC"}  # fmt: skip


def test_demo_signals_use_the_simulator_quantities(demo: Plant) -> None:
    for eq in demo.iter_equipment():
        model = str(eq.equipment.model)
        signals = {s.name: s for s in eq.equipment.signals}
        for name, (unit, role, type_) in COMMON_QUANTITIES.items():
            sig = signals[name]
            assert (sig.unit, sig.role, sig.type) == (unit, role, type_), f"{eq.path}/{name}"
        for sig in eq.equipment.signals:
            if sig.name in OTHER_KINDS:
                assert sig.sim == OTHER_KINDS[sig.name], f"{eq.path}/{sig.name}"
                continue
            assert sig.sim == sig.name, f"{eq.path}/{sig.name}"
            if sig.name in PROCESS_UNITS:
                assert eq.equipment.process is not None, f"{eq.path}/{sig.name}"
                assert sig.unit == PROCESS_UNITS[sig.name], f"{eq.path}/{sig.name}"
                assert sig.sample_s == (10 if sig.name.endswith("_sp") else 60), sig.name
                continue
            if sig.name not in COMMON_QUANTITIES:
                assert MODEL_QUANTITIES[model][sig.name] == sig.unit, f"{eq.path}/{sig.name}"
            slow = (
                sig.unit == "degC"
            )  # temperatures change slowly, everything else is sampled at 1 s
            fastest, slowest = (5, 10) if slow else (1, 1)
            assert fastest <= sig.sample_s <= slowest, f"{eq.path}/{sig.name}"
        low, high = IDEAL_CYCLE_S[model]
        assert low <= (eq.equipment.ideal_cycle_s or 0) <= high, eq.path
        assert set(eq.equipment.faults) == FAULT_CODES[model], eq.path


MODBUS_TYPES = {
    "state": ("uint16", 1.0),
    "fault_code": ("uint16", 1.0),
    "good_count": ("uint32", 1.0),
    "scrap_count": ("uint32", 1.0),
    "energy": ("uint32", 0.01),
    "mode": ("uint16", 1.0),
    "product_code": ("uint16", 1.0),  # a string's registers have no numeric type: the default
    "material_lot": ("uint16", 1.0),
}


def test_demo_addresses_follow_the_convention(demo: Plant) -> None:
    blocks: dict[str, list[str]] = {}
    for ref in demo.iter_signals():
        source = ref.signal.source
        if source.opcua is not None:
            assert source.opcua.node == f"ns=2;s={ref.owner.path}.{ref.signal.name}"
        else:
            assert source.modbus is not None
            conn = str(source.connection)
            if ref.owner.path not in blocks.setdefault(conn, []):
                blocks[conn].append(ref.owner.path)
            index = blocks[conn].index(ref.owner.path)
            if source.modbus.table in ("coil", "discrete_input"):  # 16 bits per equipment
                assert 16 * index <= source.modbus.register < 16 * index + 16, ref.path
                continue
            base = 100 * (index + 1)
            assert base <= source.modbus.register < base + 100, ref.path
            type_, scale = MODBUS_TYPES.get(ref.signal.name, ("float32", 1.0))
            assert (source.modbus.type, source.modbus.scale) == (type_, scale), ref.path
    assert {c: len(paths) for c, paths in blocks.items()} == {
        "modbus-press": 3,
        "modbus-packaging": 4,
    }


# --- a valid file and the issue format --------------------------------------------------------


def test_small_plant_is_valid(tmp_path: Path) -> None:
    plant = load_plant(write(tmp_path, plant_yaml()))
    assert [ref.path for ref in plant.iter_signals()] == ["s/a/l/c/e/state", "s/a/l/c/e/temp"]


def test_issue_format() -> None:
    issue = PlantIssue("demo.yaml", 123, 7, "site.areas[0].x.unit", "'degF'", "unknown unit")
    assert str(issue) == "demo.yaml:123:7: site.areas[0].x.unit = 'degF': unknown unit"
    missing = PlantIssue("p.yaml", 4, 3, "site.name", None, "required field is missing")
    assert str(missing) == "p.yaml:4:3: site.name: required field is missing"
    assert str(PlantIssue("p.yaml", None, None, "", None, "gone")) == "p.yaml: gone"


def test_format_path() -> None:
    assert format_path(("site", "areas", 0, "lines", 1, "unit")) == "site.areas[0].lines[1].unit"
    assert format_path(("states", 3)) == "states[3]"
    assert format_path(("x", "two words")) == "x['two words']"


# --- semantic checks --------------------------------------------------------------------------


def test_unknown_unit(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("unit: degC", "unit: degF"))
    issue = only_issue(write(tmp_path, text))
    line = line_of(text, "degF")
    column = text.splitlines()[line - 1].index("degF") + 1
    assert str(issue) == (
        f"{tmp_path / 'plant.yaml'}:{line}:{column}: {EQ}.signals[1].unit = 'degF': "
        "unknown unit; did you mean 'degC'? (see docs/plant-file.md#signals)"
    )


def test_unit_alias_is_accepted(tmp_path: Path) -> None:
    assert check_plant(write(tmp_path, plant_yaml(SIGNALS.replace("degC", "°C")))) == []


def test_duplicate_signal_name(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS + TEMP_SIGNAL.replace("ns=2;s=e.temp", "ns=2;s=e.temp_b"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[2].name"
    assert issue.value == "'temp'"
    assert issue.line == line_of(text, "name: temp", nth=2)
    assert issue.reason == f"duplicate signal name, already used on line {line_of(text, 'temp')}"


OTHER_EQUIPMENT = "- name: e2\n  signals: [{name: x, unit: s, source: {virtual: true}}]\n"


def test_duplicate_equipment_name_in_a_cell(tmp_path: Path) -> None:
    text = plant_yaml(more_equipment=OTHER_EQUIPMENT.replace("name: e2", "name: e"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == "site.areas[0].lines[0].cells[0].equipment[1].name"
    assert issue.line == line_of(text, "- name: e", nth=2)
    assert "duplicate equipment name" in issue.reason


def test_same_equipment_name_in_other_cells_is_fine(tmp_path: Path) -> None:
    other_cell = "- name: c2\n  equipment:\n" + textwrap.indent(OTHER_EQUIPMENT, "  ")
    text = plant_yaml(cells=other_cell.replace("name: e2", "name: e"))
    assert check_plant(write(tmp_path, text)) == []


def test_duplicate_cell_name(tmp_path: Path) -> None:
    text = plant_yaml(cells="- name: c\n  equipment:\n" + textwrap.indent(OTHER_EQUIPMENT, "  "))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == "site.areas[0].lines[0].cells[1].name"
    assert issue.line == line_of(text, "- name: c", nth=2)


def test_duplicate_connection_name(tmp_path: Path) -> None:
    text = plant_yaml(connections=CONNECTIONS + "- {name: ua, protocol: mqtt, host: h}\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == "connections[3].name"
    assert issue.value == "'ua'"
    assert issue.line == line_of(text, "{name: ua, protocol: mqtt")
    first = line_of(text, "{name: ua,")
    assert issue.reason == f"duplicate connection name, already used on line {first}"


def test_binding_to_an_unknown_connection(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("connection: ua", "connection: uaa"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].source.opcua.connection"
    assert issue.value == "'uaa'"
    assert issue.line == line_of(text, "uaa")
    assert issue.reason == "no such connection; did you mean 'ua'?"


def test_binding_when_no_connection_of_its_protocol_exists(tmp_path: Path) -> None:
    mqtt = "- {name: m, unit: kW, source: {mqtt: {connection: broker, topic: t, field: v}}}\n"
    text = plant_yaml(SIGNALS + mqtt, connections=CONNECTIONS.replace("name: mq", "name: x"))
    text = text.replace("protocol: mqtt", "protocol: opcua, endpoint: 'opc.tcp://h'")
    text = text.replace("host: 127.0.0.1}\n", "}\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.reason == (
        "no such connection, and no mqtt connection is declared under connections:"
    )


def test_binding_to_a_connection_of_another_protocol(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("connection: ua", "connection: mq"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].source.opcua.connection"
    assert issue.reason == "connection 'mq' is mqtt, not opcua"


def modbus_signals(*bindings: str) -> str:
    return "".join(
        f"- name: m{i}\n  unit: kW\n  source: {{modbus: {{connection: mb, {b}}}}}\n"
        for i, b in enumerate(bindings)
    )


def test_modbus_register_past_the_end_of_the_table(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS + modbus_signals("register: 9, type: float32"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[2].source.modbus.register"
    assert issue.value == "9"
    assert issue.line == line_of(text, "register: 9")
    assert (
        issue.reason == "float32 needs registers 9-10, past the end of 'mb' (holding_registers: 10)"
    )


def test_modbus_input_table_is_checked_against_its_own_size(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS + modbus_signals("table: input, register: 0"))
    issue = only_issue(write(tmp_path, text))
    assert issue.reason == "uint16 needs registers 0-0, past the end of 'mb' (input_registers: 0)"


def test_modbus_last_register_of_the_table_is_fine(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS + modbus_signals("register: 8, type: float32"))
    assert check_plant(write(tmp_path, text)) == []


def test_overlapping_modbus_registers(tmp_path: Path) -> None:
    text = plant_yaml(
        SIGNALS + modbus_signals("register: 2, type: float32", "register: 3, type: uint16")
    )
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[3].source.modbus.register"
    assert issue.value == "3"
    assert issue.line == line_of(text, "register: 3")
    assert issue.reason == (
        "registers 3-3 overlap registers 2-3 of s/a/l/c/e/m0 "
        f"(127.0.0.1:502 unit 1, holding registers) on line {line_of(text, 'register: 2')}"
    )


def test_adjacent_modbus_registers_and_other_tables_do_not_overlap(tmp_path: Path) -> None:
    text = plant_yaml(
        SIGNALS
        + modbus_signals("register: 2, type: float32", "register: 4", "table: input, register: 2"),
        connections=CONNECTIONS.replace("holding_registers: 10", "input_registers: 10"),
    )
    assert check_plant(write(tmp_path, text)) == []


def test_overlap_is_found_across_connections_to_the_same_device(tmp_path: Path) -> None:
    text = plant_yaml(
        SIGNALS + "- name: x\n  unit: kW\n  source: {modbus: {connection: mb2, register: 0}}\n",
        connections=CONNECTIONS + "- {name: mb2, protocol: modbus, host: 127.0.0.1}\n",
    )
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[2].source.modbus.register"
    assert "overlap registers 0-0 of s/a/l/c/e/state" in issue.reason


def test_duplicate_opcua_node(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS + TEMP_SIGNAL.replace("name: temp", "name: temp2"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[2].source.opcua.node"
    assert issue.value == "'ns=2;s=e.temp'"
    assert issue.line == line_of(text, "ns=2;s=e.temp", nth=2)
    first = line_of(text, "ns=2;s=e.temp")
    assert issue.reason == f"node already read on this connection by s/a/l/c/e/temp on line {first}"


def test_duplicate_mqtt_topic_and_field(tmp_path: Path) -> None:
    mqtt = "- name: {}\n  unit: kW\n  source: {{mqtt: {{connection: mq, topic: t/1, field: {}}}}}\n"
    text = plant_yaml(
        SIGNALS + mqtt.format("a", "p") + mqtt.format("b", "q") + mqtt.format("c", "p")
    )
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[4].source.mqtt.field"
    assert issue.value == "'p'"
    assert issue.line == line_of(text, "- name: c", nth=2) + 2
    assert "topic and field already read on this connection by s/a/l/c/e/a" in issue.reason


def test_range_low_must_be_below_high(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("unit: degC", "unit: degC\n  range: [90, 90]"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].range"
    assert issue.value == "[90.0, 90.0]"
    assert issue.line == line_of(text, "range:")
    assert issue.reason == "low must be below high"


def test_unknown_state_name(tmp_path: Path) -> None:
    text = plant_yaml(equipment="states: {0: 'off', 1: runing}\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.states[1]"
    assert issue.value == "'runing'"
    assert issue.line == line_of(text, "runing")
    assert issue.reason == "unknown state; did you mean 'running'?"


def test_state_names_must_be_unique(tmp_path: Path) -> None:
    text = plant_yaml(equipment="states:\n  1: running\n  7: running\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.states[7]"
    assert issue.line == line_of(text, "7: running")
    assert issue.reason == "state 'running' already has code 1; one code per state"


@pytest.mark.parametrize("role", ["state", "fault", "good_count", "scrap_count"])
def test_at_most_one_signal_per_role(tmp_path: Path, role: str) -> None:
    extra = f"- name: a\n  unit: '1'\n  role: {role}\n  source: {{virtual: true}}\n"
    extra += f"- name: b\n  unit: '1'\n  role: {role}\n  source: {{virtual: true}}\n"
    text = plant_yaml(SIGNALS.replace("role: state", "role: measurement") + extra)
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[3].role"
    assert issue.line == line_of(text, f"role: {role}", nth=2)
    assert issue.reason == (
        f"at most one {role} signal per equipment, and 'a' is one on line "
        f"{line_of(text, f'role: {role}')}"
    )


def test_two_energy_signals_are_fine(tmp_path: Path) -> None:
    extra = "- {name: a, unit: kWh, role: energy, source: {virtual: true}}\n"
    text = plant_yaml(SIGNALS + extra + extra.replace("name: a", "name: b"))
    assert check_plant(write(tmp_path, text)) == []


def test_fault_signal_needs_faults(tmp_path: Path) -> None:
    extra = "- {name: fault_code, unit: '1', role: fault, source: {virtual: true}}\n"
    text = plant_yaml(SIGNALS + extra).replace("faults: {101: jam}", "faults: {}")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[2].role"
    assert issue.line == line_of(text, "role: fault")
    assert "needs the equipment's faults: table" in issue.reason


def test_good_count_needs_ideal_cycle(tmp_path: Path) -> None:
    extra = "- {name: good, unit: count, role: good_count, source: {virtual: true}}\n"
    text = plant_yaml(SIGNALS + extra).replace("          ideal_cycle_s: 30\n", "")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.ideal_cycle_s"
    assert issue.value is None
    assert issue.line == line_of(text, "- name: e")  # not in the file: its equipment's line
    assert issue.reason.startswith("required: signal 'good' counts good parts")


# --- schema errors ----------------------------------------------------------------------------


def test_unknown_field_suggests_the_closest(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("unit: degC", "unit: degC\n  sampl_s: 5"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].sampl_s"
    assert issue.value == "5"
    assert (issue.line, issue.column) == (line_of(text, "sampl_s"), 13)  # the key
    assert issue.reason == "unknown field; did you mean 'sample_s'?"


def test_unknown_field_of_a_connection(tmp_path: Path) -> None:
    text = plant_yaml(connections=CONNECTIONS.replace("host: 127.0.0.1,", "hots: 127.0.0.1,", 1))
    issues = check_plant(write(tmp_path, text))
    assert [(i.field, i.reason) for i in issues] == [
        ("connections[0].host", "required field is missing"),
        ("connections[0].hots", "unknown field; did you mean 'host'?"),
    ]
    assert {i.line for i in issues} == {line_of(text, "hots")}


def test_missing_field_points_at_its_mapping(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("  unit: degC\n", ""))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].unit"
    assert issue.value is None
    assert issue.line == line_of(text, "- name: temp")
    assert issue.reason == "required field is missing"


def test_invalid_name(tmp_path: Path) -> None:
    text = plant_yaml().replace("name: s\n", "name: Shenyang Works\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == "site.name"
    assert issue.value == "'Shenyang Works'"
    assert issue.line == 2
    assert issue.reason.startswith("not a valid name: use up to 63 lowercase letters")


def test_unquoted_off_is_explained(tmp_path: Path) -> None:
    text = plant_yaml(equipment="states: {0: off}\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.states[0]"
    assert issue.value == "False"
    assert issue.reason.endswith("YAML reads an unquoted off as a boolean, write 'off'")


def test_state_code_must_be_an_integer(tmp_path: Path) -> None:
    text = plant_yaml(equipment="states: {run: running}\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.states.run"
    assert issue.value == "'run'"
    assert issue.line == line_of(text, "states:")
    assert issue.reason.startswith("input should be a valid integer")


def test_unknown_protocol(tmp_path: Path) -> None:
    text = plant_yaml(connections=CONNECTIONS.replace("protocol: mqtt", "protocol: mqqt"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == "connections[2].protocol"
    assert issue.value == "'mqqt'"
    assert issue.line == line_of(text, "mqqt")
    assert issue.reason == "must be one of 'opcua', 'modbus', 'mqtt'"


def test_missing_protocol(tmp_path: Path) -> None:
    text = plant_yaml(connections=CONNECTIONS.replace("protocol: mqtt, ", ""))
    issue = only_issue(write(tmp_path, text))
    assert (issue.field, issue.value, issue.reason) == (
        "connections[2].protocol",
        None,
        "required field is missing",
    )
    assert issue.line == line_of(text, "{name: mq")


def test_unsupported_yaml_tags(tmp_path: Path) -> None:
    text = plant_yaml(equipment="title: !fancy Lathe\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.title"
    assert issue.value == "'Lathe'"
    assert issue.line == line_of(text, "!fancy")
    assert issue.reason.startswith("invalid YAML value: could not determine a constructor")


def test_source_needs_exactly_one_binding(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("source: {opcua:", "source: {virtual: true, opcua:"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].source"
    assert issue.reason == (
        "a source needs exactly one of opcua:, modbus:, mqtt: or virtual: true, "
        "not opcua and virtual"
    )


# --- YAML and file problems -------------------------------------------------------------------


def test_yaml_syntax_error_line(tmp_path: Path) -> None:
    text = plant_yaml().replace("name: s\n", "name: s: t\n", 1)
    issue = only_issue(write(tmp_path, text))
    assert (issue.line, issue.column) == (2, 10)
    assert issue.reason == "invalid YAML: mapping values are not allowed here"


def test_yaml_syntax_error_with_context(tmp_path: Path) -> None:
    text = plant_yaml() + "enterprise: [a, b\n"
    issue = only_issue(write(tmp_path, text))
    start = line_of(text, "enterprise")
    assert issue.line == start + 1  # where the file ended before the list did
    assert issue.reason == (
        f"invalid YAML: while parsing a flow sequence on line {start}: "
        "expected ',' or ']', but got '<stream end>'"
    )


def test_duplicate_keys(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("unit: degC", "unit: degC\n  unit: K"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1].unit"
    assert (issue.line, issue.column) == (line_of(text, "unit: K"), 13)  # the second key
    assert issue.reason == (
        f"duplicate key, already set on line {line_of(text, 'unit: degC')}; "
        "YAML would keep only one"
    )


def test_duplicate_top_level_key_is_reported_with_other_problems(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("degC", "degF")) + "site: {}\n"
    issues = check_plant(write(tmp_path, text))
    assert [(i.line, i.field) for i in issues] == [
        (line_of(text, "degF"), f"{EQ}.signals[1].unit"),
        (line_of(text, "site: {}"), "site"),
    ]


def test_merge_keys_and_aliases(tmp_path: Path) -> None:
    signal = "- <<: *temp\n  name: temp2\n  source: {virtual: true}\n"
    text = plant_yaml(SIGNALS.replace("- name: temp", "- &temp\n  name: temp") + signal)
    plant = load_plant(write(tmp_path, text))
    merged = plant.site.areas[0].lines[0].cells[0].equipment[0].signals[2]
    assert (merged.name, merged.unit, merged.source.protocol) == ("temp2", "degC", "virtual")


def test_recursive_alias(tmp_path: Path) -> None:
    text = "site: &s {name: s, areas: [*s]}\n"
    issues = check_plant(write(tmp_path, text))
    assert "recursive alias: this value contains itself" in [i.reason for i in issues]


def test_not_a_mapping(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, "- site\n- areas\n"))
    assert (issue.line, issue.reason) == (
        1,
        "a plant file must be a mapping (site:, connections:), not a list",
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    issue = only_issue(write(tmp_path, text))
    assert issue.line is None
    assert issue.reason.startswith("the file is empty")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(PlantError) as caught:
        load_plant(path)
    assert str(caught.value) == f"{path}: cannot read plant file: No such file or directory"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    issue = only_issue(tmp_path)
    assert issue.reason == "cannot read plant file: Is a directory"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("site:\n  title: Café\n".encode("latin-1"))
    with pytest.raises(PlantError) as caught:
        load_plant(path)
    assert str(caught.value) == (
        f"{path}:2:13: not UTF-8 text: byte 0xe9 cannot be decoded; save the file as UTF-8"
    )


def test_utf8_with_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + plant_yaml().encode())
    assert check_plant(path) == []


def test_control_character(tmp_path: Path) -> None:
    issue = only_issue(write(tmp_path, "site:\n  name: a\x07b\n"))
    assert (issue.line, issue.column) == (2, 10)
    assert issue.reason == "character #x0007 is not allowed in YAML"


# --- all problems at once ---------------------------------------------------------------------


def test_all_semantic_problems_are_reported_in_file_order(tmp_path: Path) -> None:
    text = plant_yaml(
        SIGNALS.replace("degC", "degF").replace("connection: ua", "connection: nope")
        + modbus_signals("register: 100"),
        equipment="states: {0: 'off', 1: runing}\n",
    )
    issues = check_plant(write(tmp_path, text))
    assert [i.field.removeprefix(EQ) for i in issues] == [
        ".states[1]",
        ".signals[1].unit",
        ".signals[1].source.opcua.connection",
        ".signals[2].source.modbus.register",
    ]
    assert [i.line for i in issues] == sorted(i.line or 0 for i in issues)


def test_problems_of_every_kind_are_reported_in_one_run(tmp_path: Path) -> None:
    """A file with independent problems of each kind (YAML structure, schema, units, references,
    registers, names) reports every one of them at once, not one kind per run."""
    press = textwrap.dedent(
        """\
        - name: press
          ideal_cycle_s: 10
          signals:
          - name: force
            unit: kN
            type: float65
            source: {opcua: {connection: ua, node: "ns=2;s=p.force"}}
        """
    )
    text = plant_yaml(
        STATE_SIGNAL
        + TEMP_SIGNAL.replace("degC", "degF")
        + modbus_signals("register: 9, type: float32")
        + '- name: temp\n  unit: degC\n  source: {opcua: {connection: uaa, node: "ns=2;s=t"}}\n',
        equipment="colour: red\n",  # unknown field: the rest of the equipment is still checked
        more_equipment=press,  # a bad type: only this equipment is left out of the other checks
        connections=CONNECTIONS + "- {name: mb, protocol: modbus, host: 127.0.0.2}\n",
    )
    text = text.replace("  name: s\n", "  name: s\n  name: t\n", 1)
    issues = check_plant(write(tmp_path, text))
    press_type = "site.areas[0].lines[0].cells[0].equipment[1].signals[0].type"
    assert [(i.field, i.line) for i in issues] == [
        ("site.name", 3),  # YAML structure: duplicate key
        (f"{EQ}.colour", line_of(text, "colour: red")),  # schema: unknown field
        (f"{EQ}.signals[1].unit", line_of(text, "degF")),  # unit
        (f"{EQ}.signals[2].source.modbus.register", line_of(text, "register: 9")),  # registers
        (f"{EQ}.signals[3].name", line_of(text, "name: temp", 2)),  # duplicate name
        (f"{EQ}.signals[3].source.opcua.connection", line_of(text, "uaa")),  # reference
        (press_type, line_of(text, "float65")),  # schema: bad value
        ("connections[3].name", line_of(text, "127.0.0.2")),  # duplicate connection
    ], "\n".join(map(str, issues))
    reasons = [i.reason for i in issues]
    assert reasons[0].startswith("duplicate key") and reasons[1].startswith("unknown field")
    assert reasons[2].startswith("unknown unit") and "past the end of 'mb'" in reasons[3]
    assert reasons[4].startswith("duplicate signal name")
    assert reasons[5] == "no such connection; did you mean 'ua'?"
    assert reasons[7].startswith("duplicate connection name")


def test_a_part_with_schema_errors_raises_no_follow_up_problems(tmp_path: Path) -> None:
    """A connection or a signal left out for its schema error is not reported again as missing
    by the checks that look for it (the binding's connection, the state alarm's state signal)."""
    text = plant_yaml(
        SIGNALS.replace("role: state", "role: state\n  sample_s: -1"),
        equipment="alarms: {states: {unplanned_down: {priority: high}}}\n",
        connections=CONNECTIONS.replace("endpoint:", "endpoint: 5, x:"),
    )
    issues = check_plant(write(tmp_path, text))
    assert [i.field for i in issues] == [
        f"{EQ}.signals[0].sample_s",
        "connections[1].endpoint",
        "connections[1].x",
    ], "\n".join(map(str, issues))


def test_load_plant_error_lists_every_issue_and_a_count(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("degC", "degF").replace("role: state", "role: stat"))
    path = write(tmp_path, text)
    with pytest.raises(PlantError) as caught:
        load_plant(path)
    issues = check_plant(path)
    # the schema error (role) and the unit of the other, valid signal, in one run
    assert [i.field.removeprefix(EQ) for i in issues] == [".signals[0].role", ".signals[1].unit"]
    assert caught.value.issues == tuple(issues)
    text2 = plant_yaml(SIGNALS.replace("degC", "degF").replace("register: 0", "register: 10"))
    path2 = write(tmp_path, text2, "two.yaml")
    with pytest.raises(PlantError) as caught:
        load_plant(path2)
    lines = str(caught.value).splitlines()
    assert lines == [*map(str, caught.value.issues), f"2 problems in {path2}"]


# --- shifts and planned stops ------------------------------------------------------------------


def with_site(text: str, site_fields: str) -> str:
    """``text`` with ``site_fields`` (YAML without indent) added to its site."""
    return text.replace("  name: s\n", "  name: s\n" + textwrap.indent(site_fields, "  "), 1)


SHIFTS = """\
timezone: Europe/Berlin
shifts:
- name: early
  start: "06:00"
  end: "14:00"
  days: [mon, tue, wed, thu, fri]
  breaks: [{name: lunch, start: "10:00", end: "10:30"}]
- name: night
  start: "22:00"
  end: "06:00"
  days: [sun, mon, tue, wed, thu]
  breaks: [{start: "02:00", end: "02:30"}]
planned_stops:
- {name: stock-taking, start: "2026-12-30 06:00", end: "2026-12-31 06:00"}
"""


def test_shifts_and_planned_stops_are_read(tmp_path: Path) -> None:
    plant = load_plant(write(tmp_path, with_site(plant_yaml(), SHIFTS)))
    cal = plant.work_calendar("s/a/l/c/e")
    assert [s.name for s in cal.shifts] == ["early", "night"]
    night = cal.shifts[1]
    assert night.minutes == (22 * 60, 30 * 60)
    assert night.break_minutes(night.breaks[0]) == (26 * 60, 26 * 60 + 30)  # the next night
    assert cal.planned_stops[0].name == "stock-taking"
    assert cal.timezone == "Europe/Berlin"


def test_a_line_overrides_the_site_calendar(tmp_path: Path) -> None:
    text = with_site(plant_yaml(), SHIFTS).replace(
        "    - name: l\n",
        '    - name: l\n      shifts: [{name: day, start: "08:00", end: "17:00"}]\n',
    )
    plant = load_plant(write(tmp_path, text))
    assert [s.name for s in plant.work_calendar("s/a/l").shifts] == ["day"]
    assert [s.name for s in plant.work_calendar("s/a").shifts] == ["early", "night"]
    assert plant.work_calendar("s/a/l").planned_stops[0].name == "stock-taking"  # not overridden
    with pytest.raises(KeyError):
        plant.work_calendar("s/a/no-such-line")


@pytest.mark.parametrize(
    ("fields", "needle", "field", "reason"),
    [
        (
            'shifts: [{name: a, start: "6:00", end: "14:00"}]',
            "6:00",
            "site.shifts[0].start",
            "string should match pattern",
        ),
        (
            'shifts: [{name: a, start: "06:00", end: 14:00}]',
            "14:00",
            "site.shifts[0].end",
            "reads an unquoted 14:00 as a number, write '14:00'",
        ),
        (
            'shifts: [{name: a, start: "06:00", end: "14:00", days: [mon, fri, mon]}]',
            "days",
            "site.shifts[0].days",
            "weekday listed twice",
        ),
        (
            'shifts: [{name: a, start: "06:00", end: "14:00", days: [monday]}]',
            "monday",
            "site.shifts[0].days[0]",
            "input should be 'mon'",
        ),
        (
            'shifts: [{name: a, start: "06:00", end: "14:00",'
            ' breaks: [{start: "13:45", end: "14:15"}]}]',
            "13:45",
            "site.shifts[0].breaks[0].start",
            "break 13:45-14:15 is not within shift 06:00-14:00",
        ),
        (
            'planned_stops: [{name: x, start: "2026-12-30 06:00", end: "2026-12-30 05:00"}]',
            "planned_stops",
            "site.planned_stops[0].end",
            "a planned stop must end after it starts",
        ),
        (
            'planned_stops: [{name: x, start: "2026-12-30T06:00+01:00", end: "2026-12-31 06:00"}]',
            "planned_stops",
            "site.planned_stops[0].start",
            "give the local time of the site",
        ),
        ("timezone: Mars/Olympus", "Mars", "site.timezone", "unknown time zone"),
    ],
)
def test_calendar_problems_are_reported_precisely(
    tmp_path: Path, fields: str, needle: str, field: str, reason: str
) -> None:
    text = with_site(plant_yaml(), fields + "\n")
    issue = only_issue(write(tmp_path, text))
    assert issue.field == field
    assert reason in issue.reason.lower() or reason in issue.reason
    assert issue.line == line_of(text, needle)


def test_overlapping_shifts_across_midnight_and_the_week(tmp_path: Path) -> None:
    fields = """\
shifts:
- {name: early, start: "06:00", end: "14:00", days: [mon]}
- {name: night, start: "22:00", end: "06:30", days: [sun]}
"""
    text = with_site(plant_yaml(), fields)
    issue = only_issue(write(tmp_path, text))
    # Sunday's night shift runs into Monday's early shift: the week wraps around.
    assert issue.reason.startswith("shifts overlap: early mon starts before night sun ends")


# --- alarm rules -------------------------------------------------------------------------------


def test_alarm_rules_are_checked(tmp_path: Path) -> None:
    temp = TEMP_SIGNAL + "  alarms:\n    high: {limit: 80}\n    high_high: {limit: 70}\n"
    fault = """\
- name: fault
  unit: "1"
  type: int
  role: fault
  source: {modbus: {connection: mb, register: 1}}
"""
    equipment = "alarms:\n  states: {broken: {}}\n  faults: {codes: [101, 999]}\n"
    text = plant_yaml(signals=STATE_SIGNAL + temp + fault, equipment=equipment)
    issues = check_plant(write(tmp_path, text))
    got = [(i.field, i.reason) for i in issues]
    assert (f"{EQ}.alarms.states.broken", "no such state of this equipment; its states: "
            "idle, off, planned_stop, running, setup, unplanned_down") in got  # fmt: skip
    assert (
        f"{EQ}.alarms.faults.codes[1]",
        "not a code of the equipment's faults: table (101)",
    ) in got
    limit = next(i for i in issues if i.field.endswith("high_high.limit"))
    high_at = line_of(text, "high: {limit: 80}")
    assert limit.reason == f"high_high limit must be above the high limit (80) on line {high_at}"
    assert len(issues) == 3


def test_alarm_rule_typos_name_the_allowed_fields(tmp_path: Path) -> None:
    temp = TEMP_SIGNAL + "  alarms:\n    high: {limit: 80, dead_band: 2}\n"
    issue = only_issue(write(tmp_path, plant_yaml(signals=STATE_SIGNAL + temp)))
    assert issue.reason == "unknown field; did you mean 'deadband'?"


# --- setpoints, data-quality rules and protocol security ----------------------------------------


def test_a_writable_signal_needs_a_range(tmp_path: Path) -> None:
    text = plant_yaml(SIGNALS.replace("  unit: degC\n", "  unit: degC\n  writable: true\n"))
    issue = only_issue(write(tmp_path, text))
    assert issue.field == f"{EQ}.signals[1]"
    assert issue.line == line_of(text, "name: temp")
    assert "a writable signal needs a range: [low, high] bounds every value written" in issue.reason


def test_only_opc_ua_and_modbus_holding_registers_are_writable(tmp_path: Path) -> None:
    mqtt = "- {name: m, unit: '1', writable: true, range: [0, 1], " \
        "source: {mqtt: {connection: mq, topic: t, field: v}}}\n"  # fmt: skip
    issue = only_issue(write(tmp_path, plant_yaml(SIGNALS + mqtt)))
    assert "only OPC UA and Modbus signals can be writable, not mqtt" in issue.reason
    inputs = "- {name: i, unit: '1', writable: true, range: [0, 1], " \
        "source: {modbus: {connection: mb, table: input, register: 0}}}\n"  # fmt: skip
    text = plant_yaml(SIGNALS + inputs, connections=CONNECTIONS.replace(
        "holding_registers: 10", "holding_registers: 10, input_registers: 2"))  # fmt: skip
    issue = only_issue(write(tmp_path, text))
    assert "a coil or in the holding registers: input registers are read-only" in issue.reason


def test_writable_signals_and_quality_rules_load(tmp_path: Path) -> None:
    rules = "  writable: true\n  range: [0, 120]\n  quality: {spike: {max_step: 5}, " \
        "flatline: {after_s: 60, tolerance: 0.1}}\n"  # fmt: skip
    text = plant_yaml(SIGNALS.replace("  unit: degC\n", "  unit: degC\n" + rules))
    signal = load_plant(write(tmp_path, text)).site.areas[0].lines[0].cells[0].equipment[0]
    temp = signal.signals[1]
    assert temp.writable and temp.quality is not None and temp.quality.spike is not None
    assert temp.setpoint_problem(121) == "121 degC is outside the writable range [0, 120]"
    assert temp.setpoint_problem(80) is None


def test_opc_ua_security_needs_its_certificates(tmp_path: Path) -> None:
    secure = CONNECTIONS.replace(
        'endpoint: "opc.tcp://127.0.0.1:4840"',
        'endpoint: "opc.tcp://127.0.0.1:4840", security_policy: Basic256Sha256, '
        "security_mode: SignAndEncrypt, certificate: c.der",
    )
    issue = only_issue(write(tmp_path, plant_yaml(connections=secure)))
    assert issue.field == "connections[1].opcua"
    assert issue.reason.endswith(
        "security_policy Basic256Sha256 needs private_key, trusted_certs: the client signs with "
        "its certificate and key and accepts only a trusted server"
    )
    no_mode = CONNECTIONS.replace(
        'endpoint: "opc.tcp://127.0.0.1:4840"',
        'endpoint: "opc.tcp://127.0.0.1:4840", security_policy: Basic256Sha256',
    )
    issue = only_issue(write(tmp_path, plant_yaml(connections=no_mode)))
    assert "needs security_mode Sign or SignAndEncrypt, not None" in issue.reason


def test_mqtt_tls_files_need_tls_and_the_password_stays_hidden(tmp_path: Path) -> None:
    mq = "{name: mq, protocol: mqtt, host: 127.0.0.1"
    bad = CONNECTIONS.replace(mq + "}", mq + ", ca: ca.pem}")
    issue = only_issue(write(tmp_path, plant_yaml(connections=bad)))
    assert "ca, cert and key are TLS settings: set tls: true too" in issue.reason
    ok = CONNECTIONS.replace(
        "{name: mq, protocol: mqtt, host: 127.0.0.1}",
        "{name: mq, protocol: mqtt, host: 127.0.0.1, tls: true, username: u, password: pw-123}",
    )
    plant = load_plant(write(tmp_path, plant_yaml(connections=ok)))
    assert "pw-123" not in repr(plant) and "pw-123" not in str(plant.model_dump())
