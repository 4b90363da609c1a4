"""Whether a signal of the plant file can take what an OPC UA variable holds, and how that is
described (``ValueType``, no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from smartfab.devices.opcua.types import ValueType
from smartfab.model.plant import Signal

MODES = {0: "off", 1: "automatic"}


def signal(type: str, **fields: Any) -> Signal:
    return Signal.model_validate(
        {"name": "x", "unit": "1", "type": type, "source": {"virtual": True}, **fields}
    )


DOUBLE = ValueType("Double", "Double")
SPECTRUM = ValueType("Double", "Double", 1, (32,))
ANY_LENGTH = ValueType("Float", "Float", 1, (0,))
MODE = ValueType("ModeEnum", "Int32", enum={0: "off", 1: "auto"})
TEXT = ValueType("String", "String")
MATRIX = ValueType("Double", "Double", 2, (4, 8))


@pytest.mark.parametrize(
    ("value_type", "text"),
    [
        (DOUBLE, "Double"),
        (SPECTRUM, "Double[32]"),
        (ANY_LENGTH, "Float[]"),
        (MATRIX, "Double[4,8]"),
        (MODE, "ModeEnum (Int32 enumeration 0 off, 1 auto)"),
        (ValueType("UtcTime", "DateTime"), "UtcTime"),
        (ValueType("Double", "Double", -3), "Double (ValueRank -3)"),
    ],
)
def test_a_value_type_reads_as_a_data_type_with_rank_and_dimensions(
    value_type: ValueType, text: str
) -> None:
    assert str(value_type) == text


@pytest.mark.parametrize(
    ("declared", "value_type"),
    [
        (signal("float"), DOUBLE),
        (signal("int"), ValueType("UInt16", "UInt16")),
        (signal("bool"), ValueType("Boolean", "Boolean")),
        (signal("enum", values={0: "off", 1: "auto"}), MODE),
        (signal("enum", values=MODES), ValueType("Int32", "Int32")),  # the server names none
        (signal("string"), TEXT),
        (signal("string", length=8), ValueType("LocalizedText", "LocalizedText")),
        (signal("array", length=32), SPECTRUM),
        (signal("array", length=7), ANY_LENGTH),
        (signal("float"), ValueType("BaseDataType", "BaseDataType")),  # any: told by its values
    ],
)
def test_what_fits(declared: Signal, value_type: ValueType) -> None:
    assert value_type.problem(declared) is None


@pytest.mark.parametrize(
    ("declared", "value_type", "reason"),
    [
        (signal("float"), SPECTRUM, "the signal is float, the node holds Double[32], not one"),
        (signal("float"), TEXT, "the signal is float, the node holds String, not numbers"),
        (signal("string"), DOUBLE, "the signal is string, the node holds Double, not a String"),
        (signal("string"), ValueType("String", "String", 1), "holds String[], not one text"),
        (signal("array", length=16), SPECTRUM,
         "the signal is array of 16, the node holds 32 elements (Double[32])"),
        (signal("array", length=4), DOUBLE, "the node holds Double, not a 1-D array"),
        (signal("array", length=4), MATRIX, "the node holds Double[4,8], not a 1-D array"),
        (signal("array", length=4), ValueType("String", "String", 1, (4,)), "not numbers"),
        (signal("enum", values=MODES), DOUBLE, "the node holds Double, not whole numbers"),
        (signal("enum", values=MODES), MODE,
         "the enum's values differ from the server's: 1: automatic here, auto on the server"),
        (signal("enum", values={0: "off"}), MODE, "1: (none) here, auto on the server"),
    ],
)  # fmt: skip
def test_what_does_not_fit_says_both_sides(
    declared: Signal, value_type: ValueType, reason: str
) -> None:
    problem = value_type.problem(declared)
    assert problem is not None and reason in problem
