"""The plant file's checks of Modbus bindings: the four tables, bits, 64-bit types and unit ids,
each problem reported where it is, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartfab.model.loader import check_plant
from tests.model.test_loader import CONNECTIONS, SIGNALS, plant_yaml, write

SIZES = CONNECTIONS.replace(
    "holding_registers: 10", "holding_registers: 10, coils: 8, discrete_inputs: 4"
)


def reasons(tmp_path: Path, binding: str, extra: str = "") -> list[str]:
    signal = f"- {{name: x, unit: '1', {extra}source: {{modbus: {{connection: mb, {binding}}}}}}}\n"
    return [
        i.reason
        for i in check_plant(write(tmp_path, plant_yaml(SIGNALS + signal, connections=SIZES)))
    ]


@pytest.mark.parametrize(
    "binding",
    [
        "table: coil, register: 7",
        "table: discrete_input, register: 3",
        "register: 1, bit: 15",
        "register: 1, type: int64, bit: 63",
        "register: 1, type: uint64, word_order: little",
        "register: 1, unit: 5",
        "table: coil, register: 0, unit: 2",
    ],
)
def test_valid_bindings(tmp_path: Path, binding: str) -> None:
    assert reasons(tmp_path, binding) == []


@pytest.mark.parametrize(
    ("binding", "reason"),
    [
        ("table: coil, register: 8", "coil 8 is past the end of 'mb' (coils: 8)"),
        ("table: coil, register: 0, type: int16", "a coil is one bit, not a register layout"),
        ("table: discrete_input, register: 0, bit: 1", "bit: a discrete_input is one bit"),
        ("register: 1, type: float32, bit: 1", "bit needs an integer register type"),
        ("register: 1, bit: 16", "bit 16 is past the 16 bits of a uint16"),
        ("register: 1, bit: 2, scale: 2", "scale and offset do not apply to a bit"),
        ("register: 7, type: uint64", "uint64 needs registers 7-10, past the end of 'mb'"),
        ("table: coils, register: 1", "input should be 'coil', 'discrete_input', 'holding'"),
    ],
)
def test_invalid_bindings(tmp_path: Path, binding: str, reason: str) -> None:
    (problem,) = reasons(tmp_path, binding)
    assert reason in problem


def test_bits_of_one_register_share_it_but_not_with_a_value(tmp_path: Path) -> None:
    mb = "source: {{modbus: {{connection: mb, register: {r}, {b}}}}}"
    signals = "".join(
        f"- {{name: {n}, unit: '1', {mb.format(r=r, b=b)}}}\n"
        for n, r, b in [("b0", 1, "bit: 0"), ("b1", 1, "bit: 1"), ("b1_again", 1, "bit: 1"),
                        ("whole", 2, "type: uint32"), ("inside", 3, "bit: 0")]
    )  # fmt: skip
    issues = check_plant(write(tmp_path, plant_yaml(SIGNALS + signals, connections=SIZES)))
    assert [i.reason.split(" on line")[0] for i in issues] == [
        "bit 1 of register 1 is already read by s/a/l/c/e/b1",
        "bit 0 of register 3 is inside registers 2-3 of s/a/l/c/e/whole (127.0.0.1:502 unit 1, "
        "holding registers)",
    ]


def test_writable_coils_yes_register_bits_and_discrete_inputs_no(tmp_path: Path) -> None:
    writable = "writable: true, range: [0, 1], "
    assert reasons(tmp_path, "table: coil, register: 1", writable) == []
    (bit,) = reasons(tmp_path, "register: 1, bit: 0", writable)
    assert "a bit of a holding register cannot be written safely; bind a coil" in bit
    (di,) = reasons(tmp_path, "table: discrete_input, register: 1", writable)
    assert "discrete inputs are read-only" in di


@pytest.mark.parametrize(
    ("binding", "extra"),
    [
        ("register: 1", "type: string, length: 9, "),  # registers 1-5
        ("register: 1, byte_order: little", "type: string, length: 18, "),
        ("register: 2, type: float32, word_order: little", "type: array, length: 4, "),
        ("register: 1, type: int16, scale: 0.1", "type: array, length: 9, "),
        ("register: 3", "type: enum, values: {0: 'off', 1: 'on'}, "),
    ],
)
def test_valid_strings_arrays_and_enums(tmp_path: Path, binding: str, extra: str) -> None:
    assert reasons(tmp_path, binding, extra) == []


@pytest.mark.parametrize(
    ("binding", "extra", "reason"),
    [
        ("register: 1", "type: string, length: 20, ",
         "a string of 20 characters needs registers 1-10, past the end of 'mb' "
         "(holding_registers: 10)"),
        ("register: 4, type: float32", "type: array, length: 4, ",
         "an array of 4 float32 needs registers 4-11, past the end of 'mb'"),
        ("register: 1", "type: string, ",
         "a Modbus string needs length: the characters its registers hold, 2 each"),
        ("table: coil, register: 1", "type: string, length: 4, ",
         "a coil is one bit: a string needs holding or input registers"),
        ("table: discrete_input, register: 1", "type: array, length: 2, ",
         "a discrete_input is one bit: an array needs holding or input registers"),
        ("register: 1, bit: 3", "type: array, length: 2, ", "bit reads one bit, not an array"),
        ("register: 1, type: float64", "type: array, length: 32, ",
         "an array of 32 needs 128 registers, more than one read request may ask for (125)"),
        ("register: 1, type: uint16", "type: string, length: 4, ",
         "type: a string's registers hold characters, two each; byte_order says which"),
        ("register: 1, scale: 2", "type: string, length: 4, ", "scale: a string's registers"),
        ("register: 1, byte_order: little", "", "byte_order is for strings; the bytes of a float"),
        ("register: 1, type: float32", "type: enum, values: {0: 'off'}, ",
         "an enum's codes are whole numbers: bind an integer type, not float32"),
        ("table: coil, register: 1, byte_order: big", "type: string, length: 2, ",
         "byte_order: a coil is one bit, not a register layout"),
    ],
)  # fmt: skip
def test_invalid_strings_and_arrays(tmp_path: Path, binding: str, extra: str, reason: str) -> None:
    (problem,) = reasons(tmp_path, binding, extra)
    assert reason in problem


def test_a_string_or_array_overlapping_another_value_is_reported(tmp_path: Path) -> None:
    mb = "source: {{modbus: {{connection: mb, register: {r}{b}}}}}"
    signals = "".join(
        f"- {{name: {n}, unit: '1', {extra}{mb.format(r=r, b=b)}}}\n"
        for n, extra, r, b in [
            ("code", "type: string, length: 5, ", 1, ""),  # registers 1-3
            ("level", "", 3, ""),
            ("profile", "type: array, length: 2, ", 4, ", type: uint32"),  # registers 4-7
            ("flag", "", 7, ", bit: 1"),
        ]
    )
    issues = check_plant(write(tmp_path, plant_yaml(SIGNALS + signals, connections=SIZES)))
    assert [i.reason.split(" (127")[0] for i in issues] == [
        "registers 3-3 overlap registers 1-3 of s/a/l/c/e/code",
        "bit 1 of register 7 is inside registers 4-7 of s/a/l/c/e/profile",
    ]
